//! The placement on PostgreSQL, in as few round trips as it can: each one
//! wakes the database's backend and then the hub through the kernel's
//! network stack, and in a profile at 1,000 orders/s the kernel held about
//! half of PostgreSQL's samples (BENCHMARKS.md).
//!
//! An order that takes no stock and no table is two statements, each its own
//! transaction: a read ([`OPENING`]: the facts, and the order's and its
//! lines' ids drawn from their sequences), and a write ([`WRITE`]: the
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
//! The write binds its rows by name, not by position: the order and its
//! lines as JSON records of their tables (`jsonb_populate_record`), so a new
//! column is a field of [`NewOrder`] or [`super::NewLine`] and no
//! renumbering; the events as three arrays built from one list.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Serialize;
use sqlx::{Connection, PgConnection, PgPool};

use super::{
    ItemFacts, NewLine, NewOrder, PlaceOutcome, PlacementAsk, PlacementFacts, PlacementPlan, Step,
    Written, BY_KEY, CHANGE_TABLE, TAKE_STOCK,
};
use crate::storage::append::{self, json, PgEvents, PgStats};

/// [`super::OPENING`], with: the ids the order and its `$5` lines will have
/// (the read commits without waiting for the WAL flush a sequence's advance
/// would otherwise cost it every 32 ids: the write's commit flushes the
/// advance of the ids it uses, and ids no commit used need not survive a
/// crash), the asked table's status, the restaurant's table ids when a
/// wanted item is tracked (stock events reach the guests at every table),
/// and the wanted items: one row per item found, or one row without an item.
const OPENING: &str = "WITH ids AS (SELECT nextval('orders_id_seq') AS id, ARRAY(SELECT \
    nextval('order_lines_id_seq') FROM generate_series(1, $5::BIGINT)) AS lines, \
    set_config('synchronous_commit', 'off', true) AS no_flush) \
    SELECT ids.id AS order_id, ids.no_flush, ids.lines AS line_ids, r.timezone, o.id AS existing, \
    o.request_hash, t.status AS table_status, CASE WHEN EXISTS (SELECT 1 \
    FROM menu_items WHERE restaurant_id = $1 AND id = ANY($4) \
    AND stock IS NOT NULL) THEN ARRAY(SELECT id FROM dining_tables \
    WHERE restaurant_id = $1 ORDER BY id) END AS tables, m.id AS item, m.name, m.price_cents, \
    m.station_id, m.stock, m.low_stock_threshold, m.available \
    FROM ids, restaurants r LEFT JOIN orders o ON o.restaurant_id = r.id \
    AND o.idempotency_key = $2 LEFT JOIN dining_tables t \
    ON t.restaurant_id = r.id AND t.id = $3 LEFT JOIN menu_items m \
    ON m.restaurant_id = r.id AND m.id = ANY($4) WHERE r.id = $1";

/// The statistics (`$9` hours, `$10` items, JSON rows), then the seqs and
/// events (`$1`–`$6`, see [`append::pg_events_ctes`]), then the order (`$7`,
/// a JSON record of `orders` whose `placed_seq` is its event's seq) and its
/// lines (`$8`, JSON records of `order_lines`). Each waits for the one
/// before: an order change takes these rows in that order, so the two
/// cannot deadlock. Returns the seq before the first event.
static WRITE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH {}, {}, o AS (INSERT INTO orders SELECT x.* FROM s, \
         jsonb_populate_record(NULL::orders, $7::jsonb || jsonb_build_object('placed_seq', CASE \
         WHEN $6 > 0 THEN s.base + $6 ELSE 0 END)) AS x RETURNING id), l AS (INSERT INTO \
         order_lines SELECT x.* FROM o, jsonb_populate_recordset(NULL::order_lines, $8::jsonb) AS \
         x) SELECT base FROM s",
        append::pg_stats_ctes("$9", "$10"),
        append::pg_events_ctes("(SELECT count(*) FROM i) >= 0"),
    )
});

/// A row of [`OPENING`].
#[derive(sqlx::FromRow)]
struct OpeningRow {
    order_id: i64,
    line_ids: Vec<i64>,
    timezone: String,
    existing: Option<i64>,
    request_hash: Option<String>,
    table_status: Option<String>,
    tables: Option<Vec<i64>>,
    item: Option<i64>,
    name: Option<String>,
    price_cents: Option<i64>,
    station_id: Option<i64>,
    stock: Option<i64>,
    low_stock_threshold: Option<i64>,
    available: Option<bool>,
}

/// What the opening read found for an order that can be decided.
struct Opened {
    order_id: i64,
    line_ids: Vec<i64>,
    /// Empty when no wanted item is tracked.
    tables: Vec<i64>,
    facts: PlacementFacts,
}

/// The order's row as [`WRITE`] takes it.
#[derive(Serialize)]
struct OrderRecord<'a> {
    id: i64,
    #[serde(flatten)]
    order: &'a NewOrder,
}

/// A line's row as [`WRITE`] takes it.
#[derive(Serialize)]
struct LineRecord<'a> {
    id: i64,
    restaurant_id: i64,
    order_id: i64,
    #[serde(flatten)]
    line: &'a NewLine,
}

pub(super) async fn place<P: PlacementPlan, R>(
    pool: &PgPool,
    ask: &PlacementAsk<'_>,
    decide: impl FnOnce(&PlacementFacts) -> Result<P, R>,
) -> sqlx::Result<Step<R>> {
    let r = ask.restaurant_id;
    let mut conn = pool.acquire().await?;
    let opened = match open(&mut conn, ask).await? {
        Ok(opened) => opened,
        Err(step) => return Ok(step),
    };
    let plan = match decide(&opened.facts) {
        Ok(plan) => plan,
        Err(refused) => return Ok(Step::Done(PlaceOutcome::Refused(refused))),
    };
    let w = plan.write();
    let written = if w.take.is_empty() && w.table.is_none() {
        write(&mut conn, ask, &opened, &plan, &[], false).await
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
            return Ok(Step::Short(short));
        }
        let mut table_changed = false;
        if let Some(change) = &w.table {
            let hit: Option<i64> = sqlx::query_scalar(CHANGE_TABLE)
                .bind(r)
                .bind(change.table_id)
                .bind(change.from.as_str())
                .bind(change.to.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            table_changed = hit.is_some();
        }
        match write(&mut tx, ask, &opened, &plan, &stock_after, table_changed).await {
            Ok(outcome) => tx.commit().await.map(|()| outcome),
            Err(e) => {
                tx.rollback().await?;
                Err(e)
            }
        }
    };
    match written {
        Ok(outcome) => Ok(Step::Done(outcome)),
        // The same key, placed concurrently: theirs won.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            let (id, hash): (i64, String) = sqlx::query_as(BY_KEY)
                .bind(r)
                .bind(ask.idempotency_key)
                .fetch_one(&mut *conn)
                .await?;
            Ok(Step::Existing { id, hash })
        }
        Err(e) => Err(e),
    }
}

/// Runs [`OPENING`]: the facts and ids, or the step that ends the placement
/// (the key's order).
async fn open<R>(
    c: &mut PgConnection,
    ask: &PlacementAsk<'_>,
) -> sqlx::Result<Result<Opened, Step<R>>> {
    let r = ask.restaurant_id;
    let rows: Vec<OpeningRow> = sqlx::query_as(OPENING)
        .bind(r)
        .bind(ask.idempotency_key)
        .bind(ask.table_id)
        .bind(ask.item_ids)
        .bind(ask.line_count as i64)
        .fetch_all(c)
        .await?;
    let mut opened: Option<Opened> = None;
    let mut items = BTreeMap::new();
    for row in rows {
        if let (
            Some(id),
            Some(name),
            Some(price_cents),
            Some(low_stock_threshold),
            Some(available),
        ) = (
            row.item,
            row.name,
            row.price_cents,
            row.low_stock_threshold,
            row.available,
        ) {
            let item = ItemFacts {
                name,
                price_cents,
                station_id: row.station_id,
                stock: row.stock,
                low_stock_threshold,
                available,
            };
            items.insert(id, item);
        }
        if opened.is_none() {
            if let (Some(id), Some(hash)) = (row.existing, row.request_hash) {
                return Ok(Err(Step::Existing { id, hash }));
            }
            let table = match (ask.table_id, row.table_status) {
                (Some(t), Some(status)) => Some(super::table_status(r, t, status)?),
                _ => None,
            };
            opened = Some(Opened {
                order_id: row.order_id,
                line_ids: row.line_ids,
                // NULL when no wanted item is tracked: no stock events.
                tables: row.tables.unwrap_or_default(),
                facts: PlacementFacts {
                    timezone: row.timezone,
                    table,
                    items: BTreeMap::new(),
                },
            });
        }
    }
    let Some(mut opened) = opened else {
        return Err(sqlx::Error::RowNotFound);
    };
    opened.facts.items = items;
    Ok(Ok(opened))
}

/// Runs [`WRITE`] for the opened order with the events the plan builds from
/// what the statements before it found, stamped now.
async fn write<R>(
    c: &mut PgConnection,
    ask: &PlacementAsk<'_>,
    opened: &Opened,
    plan: &impl PlacementPlan,
    stock_after: &[i64],
    table_changed: bool,
) -> sqlx::Result<PlaceOutcome<R>> {
    let r = ask.restaurant_id;
    let w = plan.write();
    let tables: &[i64] = if w.take.is_empty() {
        &[]
    } else {
        &opened.tables
    };
    let placed = plan.placed(&Written {
        order_id: opened.order_id,
        line_ids: &opened.line_ids,
        stock_after,
        table_changed,
        tables,
    });
    let lines: Vec<LineRecord> = w
        .lines
        .iter()
        .zip(&opened.line_ids)
        .map(|(line, &id)| LineRecord {
            id,
            restaurant_id: r,
            order_id: opened.order_id,
            line,
        })
        .collect();
    let order = OrderRecord {
        id: opened.order_id,
        order: &w.order,
    };
    let stats = PgStats::new(r, &w.order.business_day, w.order.hour_start, &w.stats)?;
    let events = PgEvents::new(
        r,
        ask.clock.now_ms(),
        &placed.events,
        Some(placed.order_event),
    )?;
    let base = events
        .bind(&WRITE)
        .bind(json(&order)?)
        .bind(json(&lines)?)
        .bind(&stats.hours)
        .bind(&stats.items)
        .fetch_one(c)
        .await?;
    let mut order = placed.order;
    order.placed_seq = events.own_seq(base);
    let events = events.logged(placed.events, base);
    Ok(PlaceOutcome::Placed { order, events })
}
