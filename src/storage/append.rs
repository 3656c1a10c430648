//! What write transactions share: appending events to the log (taking the
//! restaurant's next seqs, and indexing each event's rooms) and adding a
//! change's increments to the statistics. Each exists once per backend: on
//! SQLite as rusqlite calls on the writer's handle (the placement's direct
//! path, and sqlx transactions through [`direct::within`]); on PostgreSQL as
//! statement fragments that the placement's single write composes and that
//! stand alone for other transactions ([`Append`]). This module never
//! decides what to append.

use std::sync::LazyLock;

use serde::Serialize;
use sqlx::{PgConnection, SqliteConnection};

use super::direct;
use super::EventDraft;
use crate::events::Event;
use crate::stats::Delta;

/// Takes the restaurant's next `$2` event seqs; returns the last.
pub(super) const NEXT_SEQS: &str =
    "UPDATE restaurants SET event_seq = event_seq + $2 WHERE id = $1 \
     RETURNING event_seq";
pub(super) const INSERT_EVENT: &str =
    "INSERT INTO events (restaurant_id, seq, kind, at, rooms, data) \
     VALUES ($1, $2, $3, $4, $5, $6)";
/// An event's entry in the room index (see [`super::events`]); a room named
/// twice in one event is indexed once.
pub(super) const INSERT_EVENT_ROOM: &str =
    "INSERT INTO event_rooms (restaurant_id, room, seq) VALUES ($1, $2, $3) \
     ON CONFLICT DO NOTHING";

/// How an hour's or an item's row takes an increment: each counter adds up.
const ADD_HOURLY: &str = "ON CONFLICT (restaurant_id, hour_start) DO \
    UPDATE SET orders = hourly_stats.orders + excluded.orders, booked_cents = \
    hourly_stats.booked_cents + excluded.booked_cents, closed_orders = hourly_stats.closed_orders \
    + excluded.closed_orders, closed_cents = hourly_stats.closed_cents + excluded.closed_cents, \
    cancelled = hourly_stats.cancelled + excluded.cancelled, cancelled_cents = \
    hourly_stats.cancelled_cents + excluded.cancelled_cents, voided = hourly_stats.voided + \
    excluded.voided, voided_cents = hourly_stats.voided_cents + excluded.voided_cents";
const ADD_ITEM: &str = "ON CONFLICT (restaurant_id, business_day, menu_item_id) \
    DO UPDATE SET qty = item_stats.qty + excluded.qty, revenue_cents = item_stats.revenue_cents + \
    excluded.revenue_cents";

/// SQLite: an hour's increment, one row.
pub(super) static SQLITE_ADD_HOURLY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO hourly_stats (restaurant_id, hour_start, business_day, orders, booked_cents, \
         closed_orders, closed_cents, cancelled, cancelled_cents, voided, voided_cents) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) {ADD_HOURLY}"
    )
});
/// SQLite: an item's increment, one row.
pub(super) static SQLITE_ADD_ITEM: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO item_stats (restaurant_id, business_day, menu_item_id, qty, revenue_cents) \
         VALUES ($1, $2, $3, $4, $5) {ADD_ITEM}"
    )
});

/// The key of the placed order's `placed_seq` in its event's data: the
/// event that carries the order records its own seq there (see
/// [`super::Placed::order_event`]).
pub(super) const OWN_SEQ_KEY: &str = "placed_seq";
/// How the order's event holds its `placed_seq` until the seq is drawn;
/// PostgreSQL's write replaces this text (a key and a number: JSON escapes
/// the quotes of any string value, so it occurs nowhere else). Data without
/// it is left as it is, as [`carry_own_seq`] does on SQLite. Setting the
/// key with `jsonb_set` instead parsed the whole order: about 0.07 ms more
/// per placement in pgbench.
const OWN_SEQ_PLACEHOLDER: &str = "\"placed_seq\":0";

/// Writes `seq` into an event's data as the order's `placed_seq`.
pub(super) fn carry_own_seq(data: &mut Box<serde_json::value::RawValue>, seq: i64) {
    let text = data.get();
    if text.contains(OWN_SEQ_PLACEHOLDER) {
        let carried = text.replace(OWN_SEQ_PLACEHOLDER, &format!("\"{OWN_SEQ_KEY}\":{seq}"));
        if let Ok(carried) = serde_json::value::RawValue::from_string(carried) {
            *data = carried;
        }
    }
}

/// A statistics increment as PostgreSQL's statements bind it
/// ([`pg_stats_ctes`]): the hour's counters as one array (empty: no hour
/// row) and the items as three arrays. Bound as arrays, not JSON rows: in
/// pgbench, filling the rows from JSON cost about 0.05 ms per placement.
pub(super) struct PgStats {
    restaurant: i64,
    hour: i64,
    day: String,
    /// In [`crate::stats::Counters::columns`] order.
    counters: Vec<i64>,
    items: Vec<i64>,
    qtys: Vec<i64>,
    cents: Vec<i64>,
}

impl PgStats {
    pub(super) fn new(restaurant: i64, day: &str, hour: i64, delta: &Delta) -> PgStats {
        let counters = if delta.counters.is_zero() {
            Vec::new()
        } else {
            delta.counters.columns().to_vec()
        };
        PgStats {
            restaurant,
            hour,
            day: day.to_owned(),
            counters,
            items: delta.items.iter().map(|i| i.0).collect(),
            qtys: delta.items.iter().map(|i| i.1).collect(),
            cents: delta.items.iter().map(|i| i.2).collect(),
        }
    }

    /// `q` with the seven values of [`pg_stats_ctes`] bound next.
    pub(super) fn bind<'q, O>(&'q self, q: PgQuery<'q, O>) -> PgQuery<'q, O> {
        q.bind(self.restaurant)
            .bind(self.hour)
            .bind(&self.day)
            .bind(&self.counters)
            .bind(&self.items)
            .bind(&self.qtys)
            .bind(&self.cents)
    }
}

/// A PostgreSQL statement returning rows of type `O`.
pub(super) type PgQuery<'q, O> =
    sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>;

/// `value` as JSON text to bind.
pub(super) fn json(value: &impl Serialize) -> sqlx::Result<String> {
    serde_json::to_string(value).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

/// PostgreSQL's CTEs `h` and `i`: the statistics increment bound from
/// `$first` on ([`PgStats::bind`]: restaurant, hour, business day, the
/// hour's counters, then the items' ids, quantities and revenue). `i` waits
/// for `h`: an order change takes the hour's row, then its items', then the
/// seq, in that order everywhere, so two transactions cannot deadlock.
pub(super) fn pg_stats_ctes(first: usize) -> String {
    let p = |i: usize| format!("${}", first + i);
    let counters: Vec<String> = (1..=8).map(|i| format!("c[{i}]")).collect();
    format!(
        "h AS (INSERT INTO hourly_stats (restaurant_id, hour_start, business_day, orders, \
         booked_cents, closed_orders, closed_cents, cancelled, cancelled_cents, voided, \
         voided_cents) SELECT {r}, {hour}, {day}, {counters} FROM (SELECT {c}::BIGINT[] AS c) \
         AS x WHERE cardinality(c) = 8 {ADD_HOURLY} RETURNING 1), i AS (INSERT INTO item_stats \
         (restaurant_id, business_day, menu_item_id, qty, revenue_cents) SELECT {r}, {day}, \
         x.item, x.qty, x.cents FROM unnest({items}::BIGINT[], {qtys}::BIGINT[], \
         {cents}::BIGINT[]) AS x(item, qty, cents) WHERE (SELECT count(*) FROM h) >= 0 \
         {ADD_ITEM} RETURNING 1)",
        r = p(0),
        hour = p(1),
        day = p(2),
        counters = counters.join(", "),
        c = p(3),
        items = p(4),
        qtys = p(5),
        cents = p(6),
    )
}

/// PostgreSQL's CTEs `s`, `e` and `er`: take the restaurant `$1`'s next
/// seqs once `after` holds (an expression naming the CTEs to wait for), then
/// insert the events `$3` (kinds), `$4` (rooms), `$5` (data) at `$2`, and
/// each event's rooms into the room index; the event at (1-based) position
/// `$6` records its own seq as the order's. `s.base` is the seq before the
/// first. The index rows come from the rooms' JSON in the same statement, so
/// a placement stays one round trip.
pub(super) fn pg_events_ctes(after: &str) -> String {
    format!(
        "s AS (UPDATE restaurants SET event_seq = event_seq + cardinality($3::TEXT[]) \
         WHERE id = $1 AND {after} RETURNING event_seq - cardinality($3::TEXT[]) AS base), e AS \
         (INSERT INTO events (restaurant_id, seq, kind, at, rooms, data) \
         SELECT $1, s.base + x.n, x.kind, $2, x.rooms, CASE WHEN x.n = $6 THEN \
         replace(x.data, '{OWN_SEQ_PLACEHOLDER}', '\"{OWN_SEQ_KEY}\":' || (s.base + x.n)) \
         ELSE x.data END FROM s, unnest($3::TEXT[], $4::TEXT[], $5::TEXT[]) \
         WITH ORDINALITY AS x(kind, rooms, data, n)), er AS (INSERT INTO event_rooms \
         (restaurant_id, room, seq) SELECT $1, r.room, s.base + x.n FROM s, \
         unnest($4::TEXT[]) WITH ORDINALITY AS x(rooms, n), \
         json_array_elements_text(x.rooms::json) AS r(room))"
    )
}

/// Appends events on their own; returns the seq before the first.
static PG_APPEND_EVENTS: LazyLock<String> =
    LazyLock::new(|| format!("WITH {} SELECT base FROM s", pg_events_ctes("TRUE")));
/// Adds a statistics increment on its own.
static PG_RECORD_STATS: LazyLock<String> =
    LazyLock::new(|| format!("WITH {} SELECT (SELECT count(*) FROM i)", pg_stats_ctes(1)));

/// Event drafts as PostgreSQL's statements bind them ([`pg_events_ctes`]'s
/// `$1`–`$6`): three arrays built from the one list, each draft's rooms and
/// data as stored.
pub(super) struct PgEvents {
    restaurant: i64,
    at: i64,
    /// The (1-based) position of the event that carries the order; 0: none.
    own_position: i64,
    kinds: Vec<String>,
    rooms: Vec<String>,
    data: Vec<String>,
}

impl PgEvents {
    /// `own_seq`: the draft that records its own seq as the order's.
    pub(super) fn new(
        restaurant: i64,
        at: i64,
        drafts: &[EventDraft],
        own_seq: Option<usize>,
    ) -> sqlx::Result<PgEvents> {
        let mut out = PgEvents {
            restaurant,
            at,
            own_position: own_seq
                .filter(|&i| i < drafts.len())
                .map_or(0, |i| i as i64 + 1),
            kinds: Vec::with_capacity(drafts.len()),
            rooms: Vec::with_capacity(drafts.len()),
            data: Vec::with_capacity(drafts.len()),
        };
        for draft in drafts {
            let (rooms, data) = draft.stored()?;
            out.kinds.push(draft.kind.clone());
            out.rooms.push(rooms);
            out.data.push(data);
        }
        Ok(out)
    }

    /// `sql` with `$1`–`$6` bound; its row starts with the seq before the
    /// first event.
    pub(super) fn bind<'q, O>(&'q self, sql: &'q str) -> PgQuery<'q, O>
    where
        O: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        sqlx::query_as(sql)
            .bind(self.restaurant)
            .bind(self.at)
            .bind(&self.kinds)
            .bind(&self.rooms)
            .bind(&self.data)
            .bind(self.own_position)
    }

    /// The seq of the order's event after the seq `base`; 0: none.
    pub(super) fn own_seq(&self, base: i64) -> u64 {
        match self.own_position {
            0 => 0,
            n => (base + n) as u64,
        }
    }

    /// The drafts as logged after the seq `base`, as the statement wrote them.
    pub(super) fn logged(&self, drafts: Vec<EventDraft>, base: i64) -> Vec<Event> {
        drafts
            .into_iter()
            .enumerate()
            .map(|(i, mut draft)| {
                let seq = base + 1 + i as i64;
                if i as i64 + 1 == self.own_position {
                    carry_own_seq(&mut draft.data, seq);
                }
                draft.logged(self.restaurant, seq, self.at)
            })
            .collect()
    }
}

/// [`Append::record_stats`] on the writer's handle.
pub(super) fn sqlite_record_stats(
    conn: &rusqlite::Connection,
    restaurant: i64,
    day: &str,
    hour: i64,
    delta: &crate::stats::Delta,
) -> rusqlite::Result<()> {
    let c = delta.counters;
    if !c.is_zero() {
        let counters = c.columns();
        let mut args: Vec<&dyn rusqlite::ToSql> = vec![&restaurant, &hour, &day];
        args.extend(counters.iter().map(|v| v as &dyn rusqlite::ToSql));
        direct::execute(conn, &SQLITE_ADD_HOURLY, &args)?;
    }
    for (item, qty, cents) in &delta.items {
        direct::execute(
            conn,
            &SQLITE_ADD_ITEM,
            &[&restaurant, &day, item, qty, cents],
        )?;
    }
    Ok(())
}

/// [`Append::append_events`] on the writer's handle; the
/// draft at `own_seq` (if any) records its own seq as the order's.
pub(super) fn sqlite_append_events(
    conn: &rusqlite::Connection,
    restaurant: i64,
    drafts: Vec<super::EventDraft>,
    at: i64,
    own_seq: Option<usize>,
) -> rusqlite::Result<Vec<crate::events::Event>> {
    let count = drafts.len() as i64;
    let last: i64 = direct::one(conn, NEXT_SEQS, &[&restaurant, &count], |row| row.get(0))?;
    let first = last - count + 1;
    let mut events = Vec::with_capacity(drafts.len());
    for (i, mut draft) in drafts.into_iter().enumerate() {
        let seq = first + i as i64;
        if own_seq == Some(i) {
            carry_own_seq(&mut draft.data, seq);
        }
        let (rooms, data) = draft
            .stored()
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        direct::execute(
            conn,
            INSERT_EVENT,
            &[&restaurant, &seq, &draft.kind, &at, &rooms, &data],
        )?;
        for room in &draft.rooms {
            let room = room.to_string();
            direct::execute(conn, INSERT_EVENT_ROOM, &[&restaurant, &room, &seq])?;
        }
        events.push(draft.logged(restaurant, seq, at));
    }
    Ok(events)
}

/// The shared statements inside an open sqlx transaction, whichever the
/// backend (the bodies of `on_db!` call these on either connection type).
pub(crate) trait Append {
    /// Takes the restaurant's next seqs (its row lock orders concurrent
    /// writers, so seq follows commit order) and writes each event.
    async fn append_events(
        &mut self,
        restaurant: i64,
        drafts: Vec<EventDraft>,
        at: i64,
    ) -> sqlx::Result<Vec<Event>>;

    /// Adds a [`Delta`] to the hour `hour` of business day `day` and to its
    /// items' rows of that day.
    async fn record_stats(
        &mut self,
        restaurant: i64,
        day: &str,
        hour: i64,
        delta: &Delta,
    ) -> sqlx::Result<()>;
}

impl Append for SqliteConnection {
    async fn append_events(
        &mut self,
        restaurant: i64,
        drafts: Vec<EventDraft>,
        at: i64,
    ) -> sqlx::Result<Vec<Event>> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        direct::within(self, |c| {
            sqlite_append_events(c, restaurant, drafts, at, None)
        })
        .await
    }

    async fn record_stats(
        &mut self,
        restaurant: i64,
        day: &str,
        hour: i64,
        delta: &Delta,
    ) -> sqlx::Result<()> {
        direct::within(self, |c| {
            sqlite_record_stats(c, restaurant, day, hour, delta)
        })
        .await
    }
}

impl Append for PgConnection {
    async fn append_events(
        &mut self,
        restaurant: i64,
        drafts: Vec<EventDraft>,
        at: i64,
    ) -> sqlx::Result<Vec<Event>> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        let events = PgEvents::new(restaurant, at, &drafts, None)?;
        let (base,): (i64,) = events.bind(&PG_APPEND_EVENTS).fetch_one(self).await?;
        Ok(events.logged(drafts, base))
    }

    async fn record_stats(
        &mut self,
        restaurant: i64,
        day: &str,
        hour: i64,
        delta: &Delta,
    ) -> sqlx::Result<()> {
        if delta.counters.is_zero() && delta.items.is_empty() {
            return Ok(());
        }
        let stats = PgStats::new(restaurant, day, hour, delta);
        stats
            .bind(sqlx::query_as::<_, (i64,)>(&PG_RECORD_STATS))
            .fetch_one(self)
            .await
            .map(drop)
    }
}
