//! The durable per-restaurant event log, and its room index: the seqs of
//! each room's events (`event_rooms`, written with every event), through
//! which a resume reads only what its rooms were sent.

use std::collections::{BTreeMap, BTreeSet};

use restohub_protocol::ws::Room;

use super::{BeginWrite, Store};
use crate::events::Event;

/// The restaurant's oldest event still in the log.
const OLDEST: &str = "SELECT min(seq) FROM events WHERE restaurant_id = $1";
/// The first `$5` seqs in `($3, $4]` of the room `$2`'s events: a range of
/// the index, read in order and cut at the limit.
const ROOM_SEQS: &str = "SELECT seq FROM event_rooms WHERE restaurant_id = $1 AND room = $2 \
    AND seq > $3 AND seq <= $4 ORDER BY seq LIMIT $5";
/// [`OLDEST`], [`ROOM_SEQS`] for each room of `$2` merged (the first `$5`
/// distinct seqs), and the events at the first `$6` of those seqs as one
/// array per column, in one statement: one snapshot, and one round trip for
/// a resume's reads (a reconnect storm's handshakes take turns at the
/// database, so each round trip a handshake saves is resumes per second).
const PG_ROOM_SEQS: &str = "WITH s AS (SELECT ARRAY(SELECT DISTINCT s.seq FROM \
    unnest($2::TEXT[]) AS r(room) CROSS JOIN LATERAL (SELECT seq FROM event_rooms \
    WHERE restaurant_id = $1 AND room = r.room AND seq > $3 AND seq <= $4 ORDER BY seq \
    LIMIT $5) AS s ORDER BY s.seq LIMIT $5) AS seqs), e AS (SELECT seq, kind, at, rooms, data \
    FROM events WHERE restaurant_id = $1 AND seq = ANY((SELECT seqs[1:$6] FROM s)::BIGINT[]) \
    ORDER BY seq) SELECT (SELECT min(seq) FROM events WHERE restaurant_id = $1), (SELECT seqs FROM s), \
    ARRAY(SELECT seq FROM e ORDER BY seq), ARRAY(SELECT kind FROM e ORDER BY seq), \
    ARRAY(SELECT at FROM e ORDER BY seq), ARRAY(SELECT rooms FROM e ORDER BY seq), \
    ARRAY(SELECT data FROM e ORDER BY seq)";
const SQLITE_EVENTS_AT: &str = "SELECT restaurant_id, seq, kind, at, rooms, data FROM events \
    WHERE restaurant_id = $1 AND seq IN (SELECT value FROM json_each($2)) ORDER BY seq";
const PG_EVENTS_AT: &str = "SELECT restaurant_id, seq, kind, at, rooms, data FROM events \
    WHERE restaurant_id = $1 AND seq = ANY($2) ORDER BY seq";
/// Retention: the events it removes, with what their index entries need.
const PRUNE_EVENTS: &str = "DELETE FROM events WHERE at < $1 RETURNING restaurant_id, seq, rooms";
const SQLITE_PRUNE_ROOM: &str = "DELETE FROM event_rooms WHERE restaurant_id = $1 \
    AND room = $2 AND seq IN (SELECT value FROM json_each($3))";
const PG_PRUNE_ROOMS: &str = "DELETE FROM event_rooms WHERE (restaurant_id, room, seq) IN \
    (SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::BIGINT[]))";
/// The entries of one event whose rooms cannot be read: a scan of the
/// restaurant's index, for a corrupt row only.
const PRUNE_UNREADABLE: &str = "DELETE FROM event_rooms WHERE restaurant_id = $1 AND seq = $2";

/// What a resume may read of the log, seen in one snapshot.
#[derive(Debug, Clone)]
pub struct RoomSeqs {
    /// The restaurant's oldest event still in the log (`None`: none is).
    /// Retention removes the oldest first, so a range that starts below it
    /// was pruned.
    pub oldest: Option<u64>,
    /// The seqs asked for, in order, each once, at most the limit.
    pub seqs: Vec<u64>,
    /// The events at the first seqs (as many as asked to read), in order;
    /// one the log no longer holds is missing.
    pub first: Vec<Event>,
}

/// The index entries of pruned events, as rows `(restaurant, room, seq)`,
/// and the events whose rooms cannot be read (logged as corrupt): their
/// entries are found by seq instead, so one bad row cannot stop retention.
type PrunedRooms = (Vec<(i64, String, i64)>, Vec<(i64, i64)>);

fn pruned_rooms(gone: Vec<(i64, i64, String)>) -> PrunedRooms {
    let mut keys = Vec::with_capacity(gone.len() * 2);
    let mut unreadable = Vec::new();
    for (restaurant, seq, rooms) in gone {
        let what = || format!("pruned event {seq} of restaurant {restaurant}");
        match super::decoded::<Vec<String>>(&rooms, "rooms", what) {
            Ok(rooms) => keys.extend(rooms.into_iter().map(|room| (restaurant, room, seq))),
            Err(_) => unreadable.push((restaurant, seq)),
        }
    }
    (keys, unreadable)
}

/// An event before it has a seq.
#[derive(Debug, Clone)]
pub struct EventDraft {
    pub kind: String,
    pub rooms: Vec<Room>,
    /// Serialized once, here: stored, sent and published as these bytes.
    pub data: Box<serde_json::value::RawValue>,
}

/// An event's data alone, serialized. Plain data structs serialize without
/// fail; were one ever to fail, the event carries `null` rather than none.
fn raw_data(event: &restohub_protocol::EventData) -> Box<serde_json::value::RawValue> {
    serde_json::value::to_raw_value(&event.data())
        .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned())
}

impl EventDraft {
    /// The draft of a typed event going to `rooms`: the only way the hub
    /// builds one, so every kind's data has the shape its type promises.
    pub fn new(rooms: Vec<Room>, event: impl Into<restohub_protocol::EventData>) -> EventDraft {
        let event = event.into();
        EventDraft {
            kind: event.kind().to_owned(),
            rooms,
            data: raw_data(&event),
        }
    }

    /// The event as logged with `seq` at `at`, each room named once (as
    /// [`Self::stored`] writes them, so a replay reads what went live).
    pub(super) fn logged(self, restaurant_id: i64, seq: i64, at: i64) -> Event {
        let mut rooms = self.rooms;
        name_once(&mut rooms);
        Event {
            restaurant_id,
            seq: seq as u64,
            kind: self.kind,
            at,
            rooms,
            data: self.data,
        }
    }

    /// Its rooms and data as stored (JSON text). A room named twice is
    /// stored once, as [`Self::logged`] keeps it: the room index has one row
    /// per (event, room), and PostgreSQL's write inserts them without a
    /// conflict check.
    pub(super) fn stored(&self) -> sqlx::Result<(String, String)> {
        let rooms = if has_repeats(&self.rooms) {
            let mut once = self.rooms.clone();
            name_once(&mut once);
            super::append::json(&once)?
        } else {
            super::append::json(&self.rooms)?
        };
        Ok((rooms, self.data.get().to_owned()))
    }
}

fn has_repeats(rooms: &[Room]) -> bool {
    rooms
        .iter()
        .enumerate()
        .any(|(i, room)| rooms[..i].contains(room))
}

/// Keeps the first of each room, in order (an event names a handful).
fn name_once(rooms: &mut Vec<Room>) {
    let mut i = 0;
    while i < rooms.len() {
        if rooms[..i].contains(&rooms[i]) {
            rooms.remove(i);
        } else {
            i += 1;
        }
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

    /// The seqs in `(after, up_to]` of the restaurant's events addressed to
    /// any of `rooms`, the first `limit` of them in order, read through the
    /// room index without reading an event: each room costs at most `limit`
    /// index entries, however long the log and however little of it is the
    /// rooms'. With them, the events at the first `read` of those seqs, and
    /// the oldest seq the log holds (so the caller can tell a pruned range
    /// from one with nothing for its rooms), all read in one snapshot.
    pub async fn room_seqs(
        &self,
        restaurant: i64,
        rooms: &[Room],
        after: u64,
        up_to: u64,
        limit: usize,
        read: usize,
    ) -> sqlx::Result<RoomSeqs> {
        let names: Vec<String> = rooms.iter().map(ToString::to_string).collect();
        let (oldest, seqs, rows) = match &self.db {
            super::Db::Sqlite { read: pool, .. } => {
                let mut tx = pool.begin_snapshot().await?;
                let oldest: Option<i64> = sqlx::query_scalar(OLDEST)
                    .bind(restaurant)
                    .fetch_one(&mut *tx)
                    .await?;
                // The first `limit` of the rooms' seqs merged: once that many
                // are known, a room's later seqs cannot be among them.
                let mut seqs = BTreeSet::new();
                let mut below = up_to as i64;
                for room in &names {
                    if below <= after as i64 || limit == 0 {
                        break;
                    }
                    let found: Vec<i64> = sqlx::query_scalar(ROOM_SEQS)
                        .bind(restaurant)
                        .bind(room)
                        .bind(after as i64)
                        .bind(below)
                        .bind(limit as i64)
                        .fetch_all(&mut *tx)
                        .await?;
                    seqs.extend(found);
                    while seqs.len() > limit {
                        seqs.pop_last();
                    }
                    if seqs.len() == limit {
                        below = seqs.last().map_or(below, |last| last - 1);
                    }
                }
                let seqs: Vec<i64> = seqs.into_iter().collect();
                let first = &seqs[..seqs.len().min(read)];
                let rows: Vec<Row> = if first.is_empty() {
                    Vec::new()
                } else {
                    sqlx::query_as(SQLITE_EVENTS_AT)
                        .bind(restaurant)
                        .bind(super::append::json(&first)?)
                        .fetch_all(&mut *tx)
                        .await?
                };
                tx.commit().await?;
                (oldest, seqs, rows)
            }
            super::Db::Postgres(pool) => {
                type Found = (
                    Option<i64>,
                    Vec<i64>,
                    Vec<i64>,
                    Vec<String>,
                    Vec<i64>,
                    Vec<String>,
                    Vec<String>,
                );
                let (oldest, seqs, at_seqs, kinds, ats, rooms, data): Found =
                    sqlx::query_as(PG_ROOM_SEQS)
                        .bind(restaurant)
                        .bind(&names)
                        .bind(after as i64)
                        .bind(up_to as i64)
                        .bind(limit as i64)
                        .bind(read as i64)
                        .fetch_one(pool)
                        .await?;
                let rows = at_seqs
                    .into_iter()
                    .zip(kinds)
                    .zip(ats)
                    .zip(rooms)
                    .zip(data)
                    .map(|((((seq, kind), at), rooms), data)| Row {
                        restaurant_id: restaurant,
                        seq,
                        kind,
                        at,
                        rooms,
                        data,
                    })
                    .collect();
                (oldest, seqs, rows)
            }
        };
        Ok(RoomSeqs {
            oldest: oldest.map(|s| s as u64),
            seqs: seqs.into_iter().map(|s| s as u64).collect(),
            first: rows
                .into_iter()
                .map(Row::into_event)
                .collect::<sqlx::Result<_>>()?,
        })
    }

    /// The restaurant's events with these seqs, in order; a seq the log no
    /// longer holds is missing from the answer.
    pub async fn events_at(&self, restaurant: i64, seqs: &[u64]) -> sqlx::Result<Vec<Event>> {
        let seqs: Vec<i64> = seqs.iter().map(|&s| s as i64).collect();
        let rows: Vec<Row> = match &self.db {
            super::Db::Sqlite { read, .. } => {
                sqlx::query_as(SQLITE_EVENTS_AT)
                    .bind(restaurant)
                    .bind(super::append::json(&seqs)?)
                    .fetch_all(read)
                    .await?
            }
            super::Db::Postgres(pool) => {
                sqlx::query_as(PG_EVENTS_AT)
                    .bind(restaurant)
                    .bind(&seqs)
                    .fetch_all(pool)
                    .await?
            }
        };
        rows.into_iter().map(Row::into_event).collect()
    }

    /// Retention: deletes events older than `before` (ms), and their rooms'
    /// index entries in the same transaction, found by key from the events'
    /// rooms rather than by scanning the index. The seq counter is
    /// untouched, so numbering continues without reuse.
    pub async fn prune_events(&self, before: i64) -> sqlx::Result<u64> {
        match &self.db {
            super::Db::Sqlite { write, .. } => {
                let mut tx = write.begin_write().await?;
                let gone: Vec<(i64, i64, String)> = sqlx::query_as(PRUNE_EVENTS)
                    .bind(before)
                    .fetch_all(&mut *tx)
                    .await?;
                let count = gone.len() as u64;
                let (keys, unreadable) = pruned_rooms(gone);
                // One statement per room, each a run of key lookups.
                let mut by_room: BTreeMap<(i64, String), Vec<i64>> = BTreeMap::new();
                for (restaurant, room, seq) in keys {
                    by_room.entry((restaurant, room)).or_default().push(seq);
                }
                for ((restaurant, room), seqs) in by_room {
                    sqlx::query(SQLITE_PRUNE_ROOM)
                        .bind(restaurant)
                        .bind(room)
                        .bind(super::append::json(&seqs)?)
                        .execute(&mut *tx)
                        .await?;
                }
                for (restaurant, seq) in unreadable {
                    sqlx::query(PRUNE_UNREADABLE)
                        .bind(restaurant)
                        .bind(seq)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(count)
            }
            super::Db::Postgres(pool) => {
                let mut tx = pool.begin_write().await?;
                let gone: Vec<(i64, i64, String)> = sqlx::query_as(PRUNE_EVENTS)
                    .bind(before)
                    .fetch_all(&mut *tx)
                    .await?;
                let count = gone.len() as u64;
                let (keys, unreadable) = pruned_rooms(gone);
                let restaurants: Vec<i64> = keys.iter().map(|k| k.0).collect();
                let seqs: Vec<i64> = keys.iter().map(|k| k.2).collect();
                let rooms: Vec<String> = keys.into_iter().map(|k| k.1).collect();
                sqlx::query(PG_PRUNE_ROOMS)
                    .bind(&restaurants)
                    .bind(&rooms)
                    .bind(&seqs)
                    .execute(&mut *tx)
                    .await?;
                for (restaurant, seq) in unreadable {
                    sqlx::query(PRUNE_UNREADABLE)
                        .bind(restaurant)
                        .bind(seq)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(count)
            }
        }
    }
}
