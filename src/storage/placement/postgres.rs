//! The placement on PostgreSQL, in as few round trips as it can: each one
//! wakes the database's backend and then the hub through the kernel's
//! network stack, and in a profile at 1,000 orders/s the kernel held about
//! half of PostgreSQL's samples (BENCHMARKS.md).
//!
//! An order that takes no stock and no table is two statements, each its own
//! transaction: a read ([`OPENING_LIVE`], or [`OPENING`] when the menu's
//! facts are not kept at the version read: see [`super::menus`]; with the
//! order's and its lines' ids drawn from their sequences), and a write ([`WRITE`]: the
//! statistics, the seqs, the order, its lines and its events). The read
//! needs no transaction around it: under READ COMMITTED each statement reads
//! a snapshot of its own anyway, and what must hold when the order is
//! written holds in the write (the idempotency key's unique index, the seq
//! row's lock, the conditional stock and table statements). Taking stock or
//! a table puts a transaction around the write: BEGIN, a statement per take
//! in item-id order, one for the table, the write, COMMIT, the order an
//! order change locks the same rows in. Ids drawn for an order that is then
//! refused are not reused (PostgreSQL's sequences never give ids back).
//!
//! The write binds the order's columns and the lines' arrays from one list
//! of names each ([`ORDER_COLUMNS`], [`LINE_COLUMNS`]) whose placeholders
//! are numbered when the statement is built, so a new column is a name in
//! the list and a bind beside it, never a renumbering; the events are three
//! arrays built from one list.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use sqlx::{Connection, PgConnection, PgPool};

use super::{
    ItemFacts, NewLine, NewOrder, PlaceOutcome, PlacementAsk, PlacementFacts, PlacementPlan, Step,
    Written, BY_KEY, CHANGE_TABLE, TAKE_STOCK,
};
use crate::stats::Delta;
use crate::storage::append::{self, json, PgEvents, PgStats};
use crate::storage::modifiers::{groups_from, GroupRow};
use crate::storage::stations::targets_from;
use crate::storage::{corrupt, decoded, Store, TableChange};
use restohub_protocol::api::modifiers::AllergenSet;

use super::menus::{stock_event_tables, LiveItem, Menus};
use super::StockTake;
use crate::events::Event;
use restohub_protocol::api::orders::Order;
use restohub_protocol::api::tables::TableStatus;

/// A decided placement waiting to be written.
pub(super) struct Queued {
    /// Its idempotency key.
    pub(super) key: String,
    pub(super) drawn: Drawn,
    pub(super) plan: Box<dyn PlacementPlan + Send + Sync>,
}

/// How a queued placement's write ended.
pub(super) enum Ran {
    Placed {
        order: Order,
        events: Vec<Event>,
        open_check: bool,
    },
    /// The key's order, placed concurrently.
    Existing { id: i64, hash: String },
    /// The takes short of stock; nothing was written.
    Short(Vec<StockTake>),
}

/// The start of both opening reads ([`OPENING`], [`OPENING_LIVE`]): the
/// ids the order and its `$5` lines will have (the read commits without
/// waiting for the WAL flush a sequence's advance would otherwise cost it
/// every 32 ids: the write's commit flushes the advance of the ids it uses,
/// and ids no commit used need not survive a crash), the restaurant's time
/// zone and menu version (see [`super::menus`]), the order already placed
/// with the key `$2`, the asked table's status, and per wanted item found
/// its live stock and availability: one row per item found, or one row
/// without an item.
macro_rules! opening_head {
    () => {
        "WITH ids AS (SELECT nextval('orders_id_seq') AS id, ARRAY(SELECT \
         nextval('order_lines_id_seq') FROM generate_series(1, $5::BIGINT)) AS lines, \
         set_config('synchronous_commit', 'off', true) AS no_flush) \
         SELECT ids.id AS order_id, ids.no_flush, ids.lines AS line_ids, r.timezone, \
         r.menu_version, o.id AS existing, o.request_hash, t.status AS table_status, \
         m.id AS item, m.stock, m.available"
    };
}

/// The tables both opening reads join, up to the wanted items.
macro_rules! opening_from {
    () => {
        " FROM ids, restaurants r LEFT JOIN orders o ON o.restaurant_id = r.id \
         AND o.idempotency_key = $2 LEFT JOIN dining_tables t \
         ON t.restaurant_id = r.id AND t.id = $3 LEFT JOIN menu_items m \
         ON m.restaurant_id = r.id AND m.id = ANY($4)"
    };
}

/// [`super::OPENING`], with what [`opening_head`] names, and the menu's
/// facts: the restaurant's table ids (stock events reach the guests at
/// every table), its stations' thresholds (`[id, then as in
/// stations::targets_from]`), and each wanted item's facts and modifier
/// groups. Run when the restaurant's menu is not kept at the version read.
const OPENING: &str = concat!(
    opening_head!(),
    ", ARRAY(SELECT id FROM dining_tables WHERE restaurant_id = $1 ORDER BY id) AS tables, \
     m.name, m.price_cents, m.station_id, m.low_stock_threshold, COALESCE(c.course, 1) AS course, \
     m.prep_seconds, m.allergens, (SELECT json_agg(json_build_array(s.id, s.caution_dine_in_s, \
     s.late_dine_in_s, s.caution_takeaway_s, s.late_takeaway_s, s.caution_qr_s, s.late_qr_s) \
     ORDER BY s.id) FROM stations s WHERE s.restaurant_id = $1)::TEXT AS stations, \
     (SELECT json_agg(json_build_array(g.id, g.menu_item_id, g.name, g.min_choices, \
     g.max_choices, g.position, o.id, o.name, o.price_delta_cents, o.allergens, o.position) \
     ORDER BY g.position, g.id, o.position, o.id) FROM modifier_groups g \
     LEFT JOIN modifier_options o ON o.restaurant_id = g.restaurant_id AND o.group_id = g.id \
     WHERE g.restaurant_id = $1 AND g.menu_item_id = m.id)::TEXT AS groups",
    opening_from!(),
    " LEFT JOIN menu_categories c ON c.restaurant_id = r.id AND c.id = m.category_id \
     WHERE r.id = $1"
);

/// The opening read when every wanted item's facts are kept: only what
/// [`opening_head`] names. Counted with callgrind, about a sixth fewer of
/// PostgreSQL's instructions per order than [`OPENING`] (BENCHMARKS.md).
const OPENING_LIVE: &str = concat!(opening_head!(), opening_from!(), " WHERE r.id = $1");

/// The order's columns, in the order [`bind_order`] binds their values
/// (from `$14`): a new column is a name here and a bind there.
const ORDER_COLUMNS: [&str; 16] = [
    "id",
    "restaurant_id",
    "table_id",
    "source",
    "status",
    "note",
    "total_cents",
    "placed_by_user",
    "placed_by_role",
    "idempotency_key",
    "request_hash",
    "created_at",
    "updated_at",
    "business_day",
    "hour_start",
    "ready_at",
];

/// The lines' columns and their array types, in the order [`bind_lines`]
/// binds one array each (after the order's values).
const LINE_COLUMNS: [(&str, &str); 18] = [
    ("id", "BIGINT"),
    ("restaurant_id", "BIGINT"),
    ("order_id", "BIGINT"),
    ("menu_item_id", "BIGINT"),
    ("station_id", "BIGINT"),
    ("name", "TEXT"),
    ("unit_price_cents", "BIGINT"),
    ("qty", "BIGINT"),
    ("note", "TEXT"),
    ("modifiers", "TEXT"),
    ("status", "TEXT"),
    ("seat", "BIGINT"),
    ("course", "BIGINT"),
    ("prep_seconds", "BIGINT"),
    ("fired_at", "BIGINT"),
    ("start_at", "BIGINT"),
    ("choices", "TEXT"),
    ("allergens", "BIGINT"),
];

/// The statistics (`$7`–`$13`, see [`append::pg_stats_ctes`]), then the seqs and
/// events (`$1`–`$6`, see [`append::pg_events_ctes`]), then the order (its
/// columns' values from `$14`, its `placed_seq` its event's seq) and its
/// lines (one array per column). Each waits for the one before: an order
/// change takes these rows in that order, so the two cannot deadlock.
/// Returns the seq before the first event, and whether the order's table
/// has an open check (which then takes the order in: see
/// [`PlaceOutcome::Placed`]).
///
/// The order and lines are bound as columns, not as JSON records: in
/// pgbench, filling them with `jsonb_populate_record` cost about 0.1 ms more
/// per placement (BENCHMARKS.md).
static WRITE: LazyLock<String> = LazyLock::new(|| {
    let first_line = 14 + ORDER_COLUMNS.len();
    let values: Vec<String> = (14..first_line).map(|n| format!("${n}")).collect();
    let arrays: Vec<String> = LINE_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, (_, ty))| format!("${}::{ty}[]", first_line + i))
        .collect();
    let line_names: Vec<&str> = LINE_COLUMNS.iter().map(|(name, _)| *name).collect();
    format!(
        "WITH {}, {}, o AS (INSERT INTO orders ({}, placed_seq) SELECT {}, CASE WHEN $6 > 0 \
         THEN s.base + $6 ELSE 0 END FROM s RETURNING id), l AS (INSERT INTO order_lines ({}) \
         SELECT x.* FROM o, unnest({}) AS x) SELECT base, EXISTS (SELECT 1 FROM checks \
         WHERE restaurant_id = $15 AND table_id = $16 AND table_id IS NOT NULL \
         AND status IN ('open', 'partially_paid')) FROM s",
        append::pg_stats_ctes(7),
        append::pg_events_ctes("(SELECT count(*) FROM i) >= 0"),
        ORDER_COLUMNS.join(", "),
        values.join(", "),
        line_names.join(", "),
        arrays.join(", "),
    )
});

type Write<'q> = append::PgQuery<'q, (i64, bool)>;

/// Binds the order's values in [`ORDER_COLUMNS`]' order.
fn bind_order<'q>(q: Write<'q>, id: i64, o: &'q NewOrder) -> Write<'q> {
    q.bind(id)
        .bind(o.restaurant_id)
        .bind(o.table_id)
        .bind(o.source.as_str())
        .bind(o.status.as_str())
        .bind(&o.note)
        .bind(o.total_cents)
        .bind(o.placed_by_user)
        .bind(o.placed_by_role.as_str())
        .bind(&o.idempotency_key)
        .bind(&o.request_hash)
        .bind(o.created_at)
        .bind(o.updated_at)
        .bind(&o.business_day)
        .bind(o.hour_start)
        .bind(o.ready_at)
}

/// The lines as one array per column, in [`LINE_COLUMNS`]' order.
struct LineArrays {
    id: Vec<i64>,
    restaurant_id: Vec<i64>,
    order_id: Vec<i64>,
    menu_item_id: Vec<i64>,
    station_id: Vec<Option<i64>>,
    name: Vec<String>,
    unit_price_cents: Vec<i64>,
    qty: Vec<i64>,
    note: Vec<String>,
    modifiers: Vec<String>,
    status: Vec<&'static str>,
    seat: Vec<Option<i64>>,
    course: Vec<i64>,
    prep_seconds: Vec<i64>,
    fired_at: Vec<Option<i64>>,
    start_at: Vec<Option<i64>>,
    choices: Vec<String>,
    allergens: Vec<i64>,
}

impl LineArrays {
    fn new(r: i64, order_id: i64, lines: &[NewLine], ids: &[i64]) -> sqlx::Result<LineArrays> {
        let modifiers = lines
            .iter()
            .map(|l| json(&l.modifiers))
            .collect::<sqlx::Result<_>>()?;
        Ok(LineArrays {
            id: ids.to_vec(),
            restaurant_id: vec![r; lines.len()],
            order_id: vec![order_id; lines.len()],
            menu_item_id: lines.iter().map(|l| l.menu_item_id).collect(),
            station_id: lines.iter().map(|l| l.station_id).collect(),
            name: lines.iter().map(|l| l.name.clone()).collect(),
            unit_price_cents: lines.iter().map(|l| l.unit_price_cents).collect(),
            qty: lines.iter().map(|l| l.qty).collect(),
            note: lines.iter().map(|l| l.note.clone()).collect(),
            modifiers,
            status: lines.iter().map(|l| l.status.as_str()).collect(),
            seat: lines.iter().map(|l| l.seat).collect(),
            course: lines.iter().map(|l| l.course).collect(),
            prep_seconds: lines.iter().map(|l| l.prep_seconds).collect(),
            fired_at: lines.iter().map(|l| l.fired_at).collect(),
            start_at: lines.iter().map(|l| l.start_at).collect(),
            choices: lines
                .iter()
                .map(|l| json(&l.choices))
                .collect::<sqlx::Result<_>>()?,
            allergens: lines.iter().map(|l| l.allergens.bits()).collect(),
        })
    }

    fn bind<'q>(&'q self, q: Write<'q>) -> Write<'q> {
        q.bind(&self.id)
            .bind(&self.restaurant_id)
            .bind(&self.order_id)
            .bind(&self.menu_item_id)
            .bind(&self.station_id)
            .bind(&self.name)
            .bind(&self.unit_price_cents)
            .bind(&self.qty)
            .bind(&self.note)
            .bind(&self.modifiers)
            .bind(&self.status)
            .bind(&self.seat)
            .bind(&self.course)
            .bind(&self.prep_seconds)
            .bind(&self.fired_at)
            .bind(&self.start_at)
            .bind(&self.choices)
            .bind(&self.allergens)
    }
}

/// A row of [`OPENING_LIVE`], and the start of one of [`OPENING`].
#[derive(sqlx::FromRow)]
struct LiveRow {
    order_id: i64,
    line_ids: Vec<i64>,
    timezone: String,
    menu_version: i64,
    existing: Option<i64>,
    request_hash: Option<String>,
    table_status: Option<String>,
    item: Option<i64>,
    stock: Option<i64>,
    available: Option<bool>,
}

/// A row of [`OPENING`].
#[derive(sqlx::FromRow)]
struct OpeningRow {
    #[sqlx(flatten)]
    live: LiveRow,
    tables: Vec<i64>,
    stations: Option<String>,
    name: Option<String>,
    price_cents: Option<i64>,
    station_id: Option<i64>,
    low_stock_threshold: Option<i64>,
    course: Option<i64>,
    prep_seconds: Option<i64>,
    allergens: Option<i64>,
    groups: Option<String>,
}

/// What the opening read found for an order that can be decided.
struct Opened {
    drawn: Drawn,
    facts: PlacementFacts,
}

/// The ids drawn for an order, and the tables its stock events reach.
pub(super) struct Drawn {
    pub(super) order_id: i64,
    pub(super) line_ids: Vec<i64>,
    /// Empty when no wanted item is tracked.
    pub(super) tables: Vec<i64>,
}

/// Reads the facts, decides, and leaves the write of an order that takes
/// stock or a table to the restaurant's queue ([`super::batch`]): the read
/// runs beside other placements, the write in turn.
pub(super) async fn place<P: PlacementPlan + Send + Sync + 'static, R>(
    store: &Store,
    pool: &PgPool,
    ask: &PlacementAsk<'_>,
    decide: impl FnOnce(&PlacementFacts) -> Result<P, R>,
) -> sqlx::Result<Step<R>> {
    let mut conn = pool.acquire().await?;
    let opened = match open(&mut conn, &store.menus, ask).await? {
        Ok(opened) => opened,
        Err(step) => return Ok(step),
    };
    let plan = match decide(&opened.facts) {
        Ok(plan) => plan,
        Err(refused) => return Ok(Step::Done(PlaceOutcome::Refused(refused))),
    };
    let member = Queued {
        key: ask.idempotency_key.to_owned(),
        drawn: opened.drawn,
        plan: Box::new(plan),
    };
    let w = member.plan.write();
    let (r, clock) = (ask.restaurant_id, ask.clock);
    let ran = if w.take.is_empty() && w.table.is_none() {
        // One statement that commits on its own, four of the restaurant's
        // at once (its lane), as before batches: such orders hold no row
        // across round trips, and whether batching them helps was not
        // settled by measurement (BENCHMARKS.md, "Hot item (issue 22)").
        // With a turn free now the write runs on the read's connection:
        // sqlx tests every connection given back to its pool with a round
        // trip, so giving it back and taking one again costs one; without,
        // the connection goes back while the order waits for its turn.
        match store.free_lane(r) {
            Some(_turn) => alone_on(&mut conn, r, clock.now_ms(), &member).await?,
            None => {
                drop(conn);
                let _turn = store.lane(r).await;
                alone(pool, r, clock.now_ms(), &member).await?
            }
        }
    } else {
        drop(conn);
        store.write_in_turn(ask, member).await?
    };
    Ok(match ran {
        Ran::Placed {
            order,
            events,
            open_check,
        } => Step::Done(PlaceOutcome::Placed {
            order,
            events,
            open_check,
        }),
        Ran::Existing { id, hash } => Step::Existing { id, hash },
        Ran::Short(short) => Step::Short(short),
    })
}

/// Writes one queued placement in a transaction of its own: the way every
/// placement ran before they were written together, and still the way a
/// placement alone in its restaurant's queue runs (or each of a batch whose
/// transaction failed: see [`super::batch`]).
pub(super) async fn alone(pool: &PgPool, r: i64, at: i64, m: &Queued) -> sqlx::Result<Ran> {
    alone_on(&mut *pool.acquire().await?, r, at, m).await
}

/// [`alone`] on the connection `conn`.
async fn alone_on(conn: &mut PgConnection, r: i64, at: i64, m: &Queued) -> sqlx::Result<Ran> {
    let w = m.plan.write();
    let written = if w.take.is_empty() && w.table.is_none() {
        let one = Together::default();
        write(conn, r, at, &m.drawn, &*m.plan, &one, true).await
    } else {
        let mut tx = conn.begin().await?;
        let mut stock_after = Vec::with_capacity(w.take.len());
        let mut short = Vec::new();
        for take in &w.take {
            let left: Option<i64> = sqlx::query_scalar(TAKE_STOCK)
                .bind(r)
                .bind(take.menu_item_id)
                .bind(take.qty)
                .fetch_optional(&mut *tx)
                .await?;
            match left {
                Some(after) => stock_after.push(after),
                None => short.push(take.clone()),
            }
        }
        if !short.is_empty() {
            tx.rollback().await?;
            return Ok(Ran::Short(short));
        }
        let mut table_changed = false;
        if let Some(change) = &w.table {
            table_changed = change_table(&mut tx, r, change).await?;
        }
        let found = Together {
            stock_after,
            table_changed,
        };
        match write(&mut tx, r, at, &m.drawn, &*m.plan, &found, true).await {
            Ok(outcome) => tx.commit().await.map(|()| outcome),
            Err(e) => {
                tx.rollback().await?;
                Err(e)
            }
        }
    };
    match written {
        Ok(ran) => Ok(ran),
        // The same key, placed concurrently: theirs won.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            let (id, hash): (i64, String) = sqlx::query_as(BY_KEY)
                .bind(r)
                .bind(&m.key)
                .fetch_one(&mut *conn)
                .await?;
            Ok(Ran::Existing { id, hash })
        }
        Err(e) => Err(e),
    }
}

/// Runs [`CHANGE_TABLE`]: whether the table still had the status the plan
/// saw, and now has the new one.
pub(super) async fn change_table(
    c: &mut PgConnection,
    r: i64,
    change: &TableChange,
) -> sqlx::Result<bool> {
    let hit: Option<i64> = sqlx::query_scalar(CHANGE_TABLE)
        .bind(r)
        .bind(change.table_id)
        .bind(change.from.as_str())
        .bind(change.to.as_str())
        .fetch_optional(c)
        .await?;
    Ok(hit.is_some())
}

/// Runs the opening read: [`OPENING_LIVE`] when `menus` keeps every
/// wanted item's facts and the version read is theirs, else [`OPENING`]
/// (whose facts `menus` then keeps). The facts and ids, or the step that
/// ends the placement (the key's order).
async fn open<R>(
    c: &mut PgConnection,
    menus: &Menus,
    ask: &PlacementAsk<'_>,
) -> sqlx::Result<Result<Opened, Step<R>>> {
    let r = ask.restaurant_id;
    if menus.version_with(r, ask.item_ids).is_some() {
        let rows: Vec<LiveRow> = bind_ask(sqlx::query_as(OPENING_LIVE), ask)
            .fetch_all(&mut *c)
            .await?;
        let found: Vec<LiveItem> = rows
            .iter()
            .filter_map(|row| {
                Some(LiveItem {
                    id: row.item?,
                    stock: row.stock,
                    available: row.available?,
                })
            })
            .collect();
        let Some(first) = rows.into_iter().next() else {
            return Err(sqlx::Error::RowNotFound);
        };
        if let Some(step) = existing(&first) {
            return Ok(Err(step));
        }
        // Served only while the kept menu's version is the one just read.
        if let Some(kept) = menus.facts(r, first.menu_version, ask.item_ids, &found) {
            return Ok(Ok(Opened {
                facts: PlacementFacts {
                    timezone: first.timezone,
                    table: table_of(ask, first.table_status)?,
                    items: kept.items,
                    stations: kept.stations,
                },
                drawn: Drawn {
                    order_id: first.order_id,
                    line_ids: first.line_ids,
                    tables: kept.tables,
                },
            }));
        }
        // The menu changed since its facts were kept (the ids just drawn
        // are left unused, as a refused order's are).
    }
    let rows: Vec<OpeningRow> = bind_ask(sqlx::query_as(OPENING), ask)
        .fetch_all(&mut *c)
        .await?;
    let mut items = BTreeMap::new();
    let mut first = None;
    for row in rows {
        if let (
            Some(id),
            Some(name),
            Some(price_cents),
            Some(low_stock_threshold),
            Some(available),
            Some(course),
            Some(prep_seconds),
            Some(allergens),
        ) = (
            row.live.item,
            row.name,
            row.price_cents,
            row.low_stock_threshold,
            row.live.available,
            row.course,
            row.prep_seconds,
            row.allergens,
        ) {
            let what = || format!("menu item {id}");
            let rows: Vec<GroupRow> = match &row.groups {
                Some(text) => decoded(text, "modifier groups", what)?,
                None => Vec::new(),
            };
            let item = ItemFacts {
                name,
                price_cents,
                station_id: row.station_id,
                stock: row.live.stock,
                low_stock_threshold,
                available,
                course,
                prep_seconds,
                allergens: AllergenSet::try_from(allergens)
                    .map_err(|e| corrupt(what(), "allergens", e))?,
                groups: groups_from(rows)?,
            };
            items.insert(id, item);
        }
        if first.is_none() {
            first = Some((row.live, row.tables, row.stations));
        }
    }
    let Some((first, tables, stations)) = first else {
        return Err(sqlx::Error::RowNotFound);
    };
    if let Some(step) = existing(&first) {
        return Ok(Err(step));
    }
    let stations: Vec<[i64; 7]> = match &stations {
        Some(text) => decoded(text, "stations", || format!("restaurant {r}"))?,
        None => Vec::new(),
    };
    let facts = PlacementFacts {
        timezone: first.timezone,
        table: table_of(ask, first.table_status)?,
        items,
        stations: stations
            .into_iter()
            .map(|[id, t @ ..]| (id, targets_from(t)))
            .collect(),
    };
    menus.keep(r, first.menu_version, &facts, &tables);
    Ok(Ok(Opened {
        drawn: Drawn {
            order_id: first.order_id,
            line_ids: first.line_ids,
            tables: stock_event_tables(&facts.items, || tables),
        },
        facts,
    }))
}

/// Binds what both opening reads ask for.
fn bind_ask<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    ask: &'q PlacementAsk<'_>,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    q.bind(ask.restaurant_id)
        .bind(ask.idempotency_key)
        .bind(ask.table_id)
        .bind(ask.item_ids)
        .bind(ask.line_count as i64)
}

/// The order already placed with the key, if the opening read found one.
fn existing<R>(row: &LiveRow) -> Option<Step<R>> {
    match (row.existing, &row.request_hash) {
        (Some(id), Some(hash)) => Some(Step::Existing {
            id,
            hash: hash.clone(),
        }),
        _ => None,
    }
}

/// The asked table's status as the opening read found it.
fn table_of(ask: &PlacementAsk<'_>, status: Option<String>) -> sqlx::Result<Option<TableStatus>> {
    match (ask.table_id, status) {
        (Some(t), Some(status)) => super::table_status(ask.restaurant_id, t, status).map(Some),
        _ => Ok(None),
    }
}

/// What the statements before an order's [`WRITE`] found for it.
#[derive(Debug, Default)]
pub(super) struct Together {
    /// Each take's stock after it.
    pub(super) stock_after: Vec<i64>,
    pub(super) table_changed: bool,
}

/// Runs [`WRITE`] for the drawn order with the events the plan builds from
/// what the statements before it `found`, stamped `at`; with the order's
/// statistics unless `stats` is false (a batch adds its orders' statistics
/// in one statement before their writes).
pub(super) async fn write(
    c: &mut PgConnection,
    r: i64,
    at: i64,
    drawn: &Drawn,
    plan: &(dyn PlacementPlan + Sync),
    found: &Together,
    stats: bool,
) -> sqlx::Result<Ran> {
    let w = plan.write();
    let tables: &[i64] = if w.take.is_empty() {
        &[]
    } else {
        &drawn.tables
    };
    let placed = plan.placed(&Written {
        order_id: drawn.order_id,
        line_ids: &drawn.line_ids,
        stock_after: &found.stock_after,
        table_changed: found.table_changed,
        tables,
    });
    let lines = LineArrays::new(r, drawn.order_id, &w.lines, &drawn.line_ids)?;
    let none = Delta::default();
    let delta = if stats { &w.stats } else { &none };
    let stats = PgStats::new(r, &w.order.business_day, w.order.hour_start, delta);
    let events = PgEvents::new(r, at, &placed.events, Some(placed.order_event))?;
    let write = stats.bind(events.bind(&WRITE));
    let (base, open_check) = lines
        .bind(bind_order(write, drawn.order_id, &w.order))
        .fetch_one(c)
        .await?;
    let mut order = placed.order;
    order.placed_seq = events.own_seq(base);
    let events = events.logged(placed.events, base);
    Ok(Ran::Placed {
        order,
        events,
        open_check,
    })
}
