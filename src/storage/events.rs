//! The durable per-restaurant event log.

use restohub_protocol::ws::Room;

use super::Store;
use crate::events::Event;

/// An event before it has a seq.
#[derive(Debug, Clone)]
pub struct EventDraft {
    pub kind: String,
    pub rooms: Vec<Room>,
    pub data: serde_json::Value,
}

impl EventDraft {
    /// The draft of a typed event going to `rooms`: the only way the hub
    /// builds one, so every kind's data has the shape its type promises.
    pub fn new(rooms: Vec<Room>, event: impl Into<restohub_protocol::EventData>) -> EventDraft {
        let event = event.into();
        EventDraft {
            kind: event.kind().to_owned(),
            rooms,
            // Serializing plain data structs to a Value cannot fail.
            data: event.data_value().unwrap_or(serde_json::Value::Null),
        }
    }

    /// The event as logged with `seq` at `at`.
    pub(super) fn logged(self, restaurant_id: i64, seq: i64, at: i64) -> Event {
        Event {
            restaurant_id,
            seq: seq as u64,
            kind: self.kind,
            at,
            rooms: self.rooms,
            data: self.data,
        }
    }

    /// Its rooms and data as stored (JSON text).
    pub(super) fn stored(&self) -> sqlx::Result<(String, String)> {
        let rooms = super::append::json(&self.rooms)?;
        Ok((rooms, self.data.to_string()))
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    restaurant_id: i64,
    seq: i64,
    kind: String,
    at: i64,
    rooms: String,
    data: String,
}

impl Row {
    /// The event; a row whose rooms or data do not parse is an error (it
    /// would otherwise go nowhere, or carry nothing, without a word).
    fn into_event(self) -> sqlx::Result<Event> {
        let what = || format!("event {} of restaurant {}", self.seq, self.restaurant_id);
        let rooms = super::decoded(&self.rooms, "rooms", what)?;
        let data = super::decoded(&self.data, "data", what)?;
        Ok(Event {
            restaurant_id: self.restaurant_id,
            seq: self.seq as u64,
            kind: self.kind,
            at: self.at,
            rooms,
            data,
        })
    }
}

impl Store {
    /// The restaurant's last committed seq (0 before its first event).
    pub async fn current_seq(&self, restaurant: i64) -> sqlx::Result<u64> {
        let seq: Option<i64> = on_db!(self, |pool| sqlx::query_scalar(
            "SELECT event_seq FROM restaurants WHERE id = $1"
        )
        .bind(restaurant)
        .fetch_optional(pool)
        .await)?;
        Ok(seq.unwrap_or(0) as u64)
    }

    /// The last committed seq of each of `restaurants` that exists, in one
    /// query: the log poller's periodic pass asks this for every restaurant
    /// an instance serves, and a query per restaurant made each pass a burst
    /// of round trips that took the pool from placements.
    pub async fn current_seqs(&self, restaurants: &[i64]) -> sqlx::Result<Vec<(i64, u64)>> {
        let rows: Vec<(i64, i64)> = match &self.db {
            super::Db::Sqlite { read, .. } => {
                let ids = super::append::json(&restaurants)?;
                sqlx::query_as(
                    "SELECT id, event_seq FROM restaurants WHERE id IN (SELECT value \
                     FROM json_each($1))",
                )
                .bind(ids)
                .fetch_all(read)
                .await?
            }
            super::Db::Postgres(pool) => {
                sqlx::query_as("SELECT id, event_seq FROM restaurants WHERE id = ANY($1)")
                    .bind(restaurants)
                    .fetch_all(pool)
                    .await?
            }
        };
        Ok(rows.into_iter().map(|(id, seq)| (id, seq as u64)).collect())
    }

    /// Events with seq in `(after, up_to]`, in order, at most `limit`.
    pub async fn events_between(
        &self,
        restaurant: i64,
        after: u64,
        up_to: u64,
        limit: i64,
    ) -> sqlx::Result<Vec<Event>> {
        let rows: Vec<Row> = on_db!(self, |pool| sqlx::query_as(
            "SELECT restaurant_id, seq, kind, at, rooms, data \
             FROM events WHERE restaurant_id = $1 AND seq > $2 \
             AND seq <= $3 ORDER BY seq LIMIT $4"
        )
        .bind(restaurant)
        .bind(after as i64)
        .bind(up_to as i64)
        .bind(limit)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(Row::into_event).collect()
    }

    /// Retention: deletes events older than `before` (ms). The seq counter
    /// is untouched, so numbering continues without reuse.
    pub async fn prune_events(&self, before: i64) -> sqlx::Result<u64> {
        on_writer!(self, |pool| sqlx::query("DELETE FROM events WHERE at < $1")
            .bind(before)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
    }
}
