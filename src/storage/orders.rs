//! Placing an order in one transaction, and reading orders back.
//!
//! Stock is taken with a conditional atomic decrement per item, in item-id
//! order (so concurrent placements cannot deadlock), never an optimistic
//! "version changed" retry: under contention an order fails only when stock
//! is really short. The order, its lines, the table's status and the events
//! are written in the same transaction.

use restohub_protocol::api::orders::{
    LineStatus, Order, OrderLine, OrderSource, OrderStatus, ShortItem,
};
use restohub_protocol::{Role, Timestamp};

use std::collections::{BTreeMap, HashMap};

use sqlx::{Connection, PgConnection, PgPool};

use super::direct::{self, End};
use super::{Db, EventDraft, Store};
use crate::clock::Clock;
use crate::events::Event;

/// One line to place (identical lines already merged).
#[derive(Debug, Clone, PartialEq)]
pub struct LineRequest {
    pub menu_item_id: i64,
    pub qty: i64,
    pub note: String,
    pub modifiers: Vec<String>,
}

pub struct Placement<'a> {
    pub restaurant_id: i64,
    pub table_id: Option<i64>,
    pub source: OrderSource,
    pub note: &'a str,
    pub lines: &'a [LineRequest],
    pub placed_by_user: Option<i64>,
    pub placed_by_role: Role,
    pub idempotency_key: &'a str,
    /// Fingerprint of the request, to tell a retry from a different order
    /// reusing the key.
    pub request_hash: &'a str,
    /// When the hub took the order: its `created_at` and business hour.
    pub now: i64,
    /// Read again for the events' `at`, as they are appended just before
    /// the commit (after any wait for the restaurant's lane or the writer).
    pub clock: &'a dyn Clock,
}

/// A tracked item's stock as this placement changed it.
#[derive(Debug, Clone, PartialEq)]
pub struct StockChange {
    pub menu_item_id: i64,
    pub name: String,
    pub before: i64,
    pub after: i64,
    pub low_stock_threshold: i64,
    /// Stock came back to a sold-out item, which is orderable again.
    pub became_available: bool,
}

/// The table went from free to occupied.
#[derive(Debug, Clone, PartialEq)]
pub struct TableChange {
    pub table_id: i64,
    pub from: String,
    pub to: String,
}

/// A line or the table that cannot be ordered: (field path, code, message).
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid(pub String, pub &'static str, pub String);

#[derive(Debug)]
pub enum PlaceOutcome {
    Placed {
        order: Order,
        events: Vec<Event>,
    },
    /// The key was used before with the same request: the original order.
    Existing(Order),
    /// The key was used before with a different request.
    KeyReused,
    OutOfStock(Vec<ShortItem>),
    Invalid(Invalid),
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    name: String,
    price_cents: i64,
    station_id: Option<i64>,
    stock: Option<i64>,
    low_stock_threshold: i64,
    available: bool,
}

#[derive(sqlx::FromRow)]
pub(super) struct OrderRow {
    pub(super) id: i64,
    table_id: Option<i64>,
    #[sqlx(try_from = "String")]
    source: OrderSource,
    #[sqlx(try_from = "String")]
    status: OrderStatus,
    note: String,
    total_cents: i64,
    created_at: i64,
    placed_seq: i64,
    ready_at: Option<i64>,
    pub(super) business_day: String,
    pub(super) hour_start: i64,
}

#[derive(sqlx::FromRow)]
pub(super) struct LineRow {
    id: i64,
    menu_item_id: i64,
    station_id: Option<i64>,
    name: String,
    unit_price_cents: i64,
    qty: i64,
    note: String,
    modifiers: String,
    #[sqlx(try_from = "String")]
    status: LineStatus,
}

pub(super) fn assemble(order: OrderRow, lines: Vec<LineRow>) -> Order {
    Order {
        id: order.id,
        table_id: order.table_id,
        source: order.source,
        status: order.status,
        note: order.note,
        total_cents: order.total_cents,
        created_at: Timestamp(order.created_at),
        placed_seq: order.placed_seq as u64,
        ready_at: order.ready_at.map(Timestamp),
        lines: lines
            .into_iter()
            .map(|l| OrderLine {
                id: l.id,
                menu_item_id: l.menu_item_id,
                station_id: l.station_id,
                name: l.name,
                unit_price_cents: l.unit_price_cents,
                qty: l.qty,
                note: l.note,
                modifiers: serde_json::from_str(&l.modifiers).unwrap_or_default(),
                status: l.status,
            })
            .collect(),
    }
}

pub(super) const ORDER_COLS: &str =
    "id, table_id, source, status, note, total_cents, created_at, placed_seq, ready_at, business_day, hour_start";

impl Store {
    pub async fn order(&self, restaurant: i64, id: i64) -> sqlx::Result<Option<Order>> {
        let row: Option<OrderRow> = on_db!(self, pool => sqlx::query_as(&format!(
            "SELECT {ORDER_COLS} FROM orders WHERE restaurant_id = $1 AND id = $2"))
            .bind(restaurant).bind(id).fetch_optional(pool).await)?;
        let Some(row) = row else { return Ok(None) };
        let lines: Vec<LineRow> = on_db!(self, pool => sqlx::query_as(
            "SELECT id, menu_item_id, station_id, name, unit_price_cents, qty, note, modifiers, status \
             FROM order_lines WHERE restaurant_id = $1 AND order_id = $2 ORDER BY id")
            .bind(restaurant).bind(id).fetch_all(pool).await)?;
        Ok(Some(assemble(row, lines)))
    }

    /// How many orders the restaurant has (for tests and statistics).
    pub async fn order_count(&self, restaurant: i64) -> sqlx::Result<i64> {
        on_db!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE restaurant_id = $1")
            .bind(restaurant).fetch_one(pool).await)
    }

    /// Ids of the restaurant's tables (availability events go to each).
    pub async fn table_ids(&self, restaurant: i64) -> sqlx::Result<Vec<i64>> {
        on_db!(self, pool => sqlx::query_scalar(TABLE_IDS)
            .bind(restaurant).fetch_all(pool).await)
    }

    /// Places an order in one transaction. `events` builds the event drafts
    /// from the new order, what it changed and, when it changed stock, the
    /// restaurant's table ids (guests see availability); they get their seqs and are
    /// written in the same transaction, stamped with `p.clock` as they are
    /// appended (just before the commit).
    pub async fn place_order(
        &self,
        p: &Placement<'_>,
        events: impl FnOnce(&Order, &[StockChange], Option<&TableChange>, &[i64]) -> Vec<EventDraft>,
    ) -> sqlx::Result<PlaceOutcome> {
        let r = p.restaurant_id;
        let _turn = self.lane(r).await;
        let step = match &self.db {
            Db::Sqlite { write, .. } => {
                direct::write(write, |c| place_direct(c, p, events)).await?
            }
            Db::Postgres(pool) => place_pg(pool, p, events).await?,
        };
        match step {
            Step::Done(outcome) => Ok(outcome),
            Step::Existing { id, hash } => self.existing(r, id, &hash, p.request_hash).await,
            Step::Short(short) => self.shortages(r, short).await,
        }
    }

    async fn existing(
        &self,
        r: i64,
        id: i64,
        hash: &str,
        request_hash: &str,
    ) -> sqlx::Result<PlaceOutcome> {
        if hash != request_hash {
            return Ok(PlaceOutcome::KeyReused);
        }
        let order = self.order(r, id).await?.ok_or(sqlx::Error::RowNotFound)?;
        Ok(PlaceOutcome::Existing(order))
    }

    async fn shortages(
        &self,
        r: i64,
        short: Vec<(i64, String, i64)>,
    ) -> sqlx::Result<PlaceOutcome> {
        let mut items = Vec::with_capacity(short.len());
        for (id, name, requested) in short {
            let left: Option<i64> = on_db!(self, pool => sqlx::query_scalar(
                "SELECT stock FROM menu_items WHERE restaurant_id = $1 AND id = $2")
                .bind(r).bind(id).fetch_one(pool).await)?;
            items.push(ShortItem {
                menu_item_id: id,
                name,
                requested,
                available: left.unwrap_or(0),
            });
        }
        Ok(PlaceOutcome::OutOfStock(items))
    }
}

/// What the placement transaction decided; an `Existing` order or the
/// shortages are read after it ends.
enum Step {
    Done(PlaceOutcome),
    Existing {
        id: i64,
        hash: String,
    },
    /// (item, name, quantity wanted) of each item short of stock.
    Short(Vec<(i64, String, i64)>),
}

// The placement's statements, the same text on both backends.
/// The restaurant's timezone, and the order already placed with this key.
const OPENING: &str = "SELECT r.timezone, o.id, o.request_hash FROM restaurants r \
     LEFT JOIN orders o ON o.restaurant_id = r.id AND o.idempotency_key = $2 WHERE r.id = $1";
const BY_KEY: &str =
    "SELECT id, request_hash FROM orders WHERE restaurant_id = $1 AND idempotency_key = $2";
const TABLE_STATUS: &str = "SELECT status FROM dining_tables WHERE restaurant_id = $1 AND id = $2";
const OCCUPY_TABLE: &str =
    "UPDATE dining_tables SET status = 'occupied' WHERE restaurant_id = $1 AND id = $2";
const ITEM: &str = "SELECT name, price_cents, station_id, stock, low_stock_threshold, available \
     FROM menu_items WHERE restaurant_id = $1 AND id = $2";
/// Takes stock if there is enough; the item sells out (`available` off)
/// when it reaches zero. SET reads the row's old values on both backends.
const TAKE_STOCK: &str =
    "UPDATE menu_items SET stock = stock - $3, available = available AND stock > $3 \
     WHERE restaurant_id = $1 AND id = $2 AND stock >= $3 RETURNING stock";
/// Inserts the order with the id `$id` (`NULL`: the next) and `placed_seq`
/// `$placed_seq` (a macro, so PostgreSQL's placement shares its text).
macro_rules! insert_order {
    ($id:literal, $placed_seq:literal) => {
        concat!(
            "INSERT INTO orders (id, restaurant_id, table_id, source, status, note, total_cents, \
             placed_by_user, placed_by_role, idempotency_key, request_hash, placed_seq, \
             created_at, updated_at, business_day, hour_start) \
             VALUES (",
            $id,
            ", $1, $2, $3, 'placed', $4, $5, $6, $7, $8, $9, ",
            $placed_seq,
            ", $10, $10, $11, $12) RETURNING id"
        )
    };
}
const INSERT_ORDER: &str = insert_order!("NULL", "0");
const INSERT_LINE: &str = "INSERT INTO order_lines (restaurant_id, order_id, menu_item_id, \
     station_id, name, unit_price_cents, qty, note, modifiers, status) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued') RETURNING id";
const TABLE_IDS: &str = "SELECT id FROM dining_tables WHERE restaurant_id = $1 ORDER BY id";
const SET_PLACED_SEQ: &str =
    "UPDATE orders SET placed_seq = $3 WHERE restaurant_id = $1 AND id = $2";

/// Quantities wanted per item, in item-id order (the order stock is taken in).
fn wanted(lines: &[LineRequest]) -> BTreeMap<i64, i64> {
    let mut wanted = BTreeMap::new();
    for line in lines {
        *wanted.entry(line.menu_item_id).or_default() += line.qty;
    }
    wanted
}

/// The item if it can be ordered.
fn admit(p: &Placement<'_>, id: i64, item: Option<ItemRow>) -> Result<ItemRow, Invalid> {
    // The field path is built only for a refusal, not for every line placed.
    let field = || {
        let index = p
            .lines
            .iter()
            .position(|l| l.menu_item_id == id)
            .unwrap_or(0);
        format!("lines[{index}].menu_item_id")
    };
    match item {
        None => Err(Invalid(field(), "not_found", "no such menu item".into())),
        // Sold out (stock 0) is OUT_OF_STOCK; only an item 86'd by hand is
        // "unavailable".
        Some(item) if !item.available && item.stock != Some(0) => Err(Invalid(
            field(),
            "unavailable",
            format!("{} is not available", item.name),
        )),
        Some(item) => Ok(item),
    }
}

fn taken(id: i64, item: &ItemRow, qty: i64, after: i64) -> StockChange {
    StockChange {
        menu_item_id: id,
        name: item.name.clone(),
        before: after + qty,
        after,
        low_stock_threshold: item.low_stock_threshold,
        became_available: false,
    }
}

fn modifiers(line: &LineRequest) -> String {
    serde_json::to_string(&line.modifiers).unwrap_or_else(|_| "[]".into())
}

/// The placed order, from its id, its lines' ids and the items they order.
fn placed(
    p: &Placement<'_>,
    id: i64,
    items: &HashMap<i64, ItemRow>,
    line_ids: impl IntoIterator<Item = i64>,
) -> Order {
    let lines: Vec<OrderLine> = p
        .lines
        .iter()
        .zip(line_ids)
        .map(|(line, id)| {
            let item = &items[&line.menu_item_id];
            OrderLine {
                id,
                menu_item_id: line.menu_item_id,
                station_id: item.station_id,
                name: item.name.clone(),
                unit_price_cents: item.price_cents,
                qty: line.qty,
                note: line.note.clone(),
                modifiers: line.modifiers.clone(),
                status: LineStatus::Queued,
            }
        })
        .collect();
    Order {
        id,
        table_id: p.table_id,
        source: p.source,
        status: OrderStatus::Placed,
        note: p.note.to_owned(),
        total_cents: total(p, items),
        lines,
        created_at: Timestamp(p.now),
        placed_seq: 0,
        ready_at: None,
    }
}

fn total(p: &Placement<'_>, items: &HashMap<i64, ItemRow>) -> i64 {
    p.lines
        .iter()
        .map(|l| items[&l.menu_item_id].price_cents * l.qty)
        .sum()
}

// PostgreSQL takes the placement in as few round trips as it can: each one
// wakes the database's backend and then the hub through the kernel's network
// stack, and in a profile at 1,000 orders/s the kernel held about half of
// PostgreSQL's samples (BENCHMARKS.md). An order that takes no stock and no
// table is two statements, each its own transaction: a read, which also
// draws the order's and its lines' ids from their sequences, and a write of
// the order, its lines, statistics and events with their seqs. The read
// needs no transaction around it: under READ COMMITTED each statement reads
// a snapshot of its own anyway, and what must hold when the order is written
// holds in the write (the idempotency key's unique index, the seq row's
// lock). Taking stock or a table puts a transaction around the write: BEGIN,
// a statement per tracked item in item-id order, one for the table, the
// write, COMMIT, the order an order change locks the same rows in. Ids drawn
// for an order that is then refused are not reused (PostgreSQL's sequences
// never give ids back). Arrays and data-modifying CTEs are PostgreSQL's own;
// SQLite runs the statements above one at a time on its writer, where a
// statement costs no round trip.

/// [`OPENING`], with: the ids the order and its `$5` lines will have (the
/// read commits without waiting for the WAL flush a sequence's advance
/// would otherwise cost it every 32 ids: the write's commit flushes the
/// advance of the ids it uses, and ids no commit used need not survive a
/// crash), the
/// asked table's status, the restaurant's table ids when a wanted item is
/// tracked (stock events reach the guests at every table), and the wanted
/// items: one row per item found, or one row without an item.
const PG_OPENING: &str = "WITH ids AS (SELECT nextval('orders_id_seq') AS id, \
     ARRAY(SELECT nextval('order_lines_id_seq') FROM generate_series(1, $5::BIGINT)) AS lines, \
     set_config('synchronous_commit', 'off', true) AS no_flush) \
     SELECT ids.id AS order_id, ids.no_flush, ids.lines AS line_ids, r.timezone, o.id AS existing, \
     o.request_hash, t.status AS table_status, \
     CASE WHEN EXISTS (SELECT 1 FROM menu_items WHERE restaurant_id = $1 AND id = ANY($4) \
     AND stock IS NOT NULL) \
     THEN ARRAY(SELECT id FROM dining_tables WHERE restaurant_id = $1 ORDER BY id) END AS tables, \
     m.id AS item, m.name, m.price_cents, m.station_id, m.stock, m.low_stock_threshold, m.available \
     FROM ids, restaurants r \
     LEFT JOIN orders o ON o.restaurant_id = r.id AND o.idempotency_key = $2 \
     LEFT JOIN dining_tables t ON t.restaurant_id = r.id AND t.id = $3 \
     LEFT JOIN menu_items m ON m.restaurant_id = r.id AND m.id = ANY($4) \
     WHERE r.id = $1";

/// [`ADD_HOURLY_STATS`], then [`ADD_ITEM_STATS`], then [`NEXT_SEQS`] (each
/// waits for the one before: an order change takes these rows in that order,
/// so the two cannot deadlock), then [`INSERT_ORDER`] with the ids drawn and
/// its first event's seq, [`INSERT_LINE`] for each line and [`INSERT_EVENT`]
/// for each event. Returns the first seq taken.
const PG_WRITE: &str = concat!(
    "WITH h AS (",
    add_hourly_stats!("VALUES ($1, $12, $11, $20, $21, $22, $23, $24, $25, $26, $27)"),
    " RETURNING 1), i AS (",
    add_item_stats!(
        "SELECT $1, $11, x.item, x.qty, x.cents \
         FROM unnest($28::BIGINT[], $29::BIGINT[], $30::BIGINT[]) AS x(item, qty, cents) \
         WHERE (SELECT count(*) FROM h) > 0"
    ),
    " RETURNING 1), s AS (UPDATE restaurants SET event_seq = event_seq + $33 \
     WHERE id = $1 AND (SELECT count(*) FROM i) >= 0 RETURNING event_seq - $33 AS base), o AS (",
    insert_order!("$31", "CASE WHEN $33 > 0 THEN (SELECT base + 1 FROM s) ELSE 0 END"),
    "), l AS (INSERT INTO order_lines (id, restaurant_id, order_id, menu_item_id, station_id, \
     name, unit_price_cents, qty, note, modifiers, status) \
     SELECT x.id, $1, o.id, x.item, x.station, x.name, x.price, x.qty, x.note, x.modifiers, \
     'queued' FROM o, unnest($32::BIGINT[], $13::BIGINT[], $14::BIGINT[], $15::TEXT[], \
     $16::BIGINT[], $17::BIGINT[], $18::TEXT[], $19::TEXT[]) \
     AS x(id, item, station, name, price, qty, note, modifiers)), \
     e AS (INSERT INTO events (restaurant_id, seq, kind, at, rooms, data) \
     SELECT $1, s.base + x.n, x.kind, $34, x.rooms, x.data \
     FROM s, unnest($35::TEXT[], $36::TEXT[], $37::TEXT[]) WITH ORDINALITY AS x(kind, rooms, data, n)) \
     SELECT base + 1 FROM s"
);

/// One field of each row, as an array parameter.
fn column<'a, T, U>(rows: &'a [T], field: impl Fn(&'a T) -> U) -> Vec<U> {
    rows.iter().map(field).collect()
}

/// A row of [`PG_OPENING`].
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

/// What PostgreSQL's opening read found for an order that can be written.
struct Opened {
    order_id: i64,
    line_ids: Vec<i64>,
    timezone: String,
    table_status: Option<String>,
    tables: Vec<i64>,
    items: HashMap<i64, ItemRow>,
}

/// The placement on PostgreSQL.
async fn place_pg(
    pool: &PgPool,
    p: &Placement<'_>,
    events: impl FnOnce(&Order, &[StockChange], Option<&TableChange>, &[i64]) -> Vec<EventDraft>,
) -> sqlx::Result<Step> {
    let r = p.restaurant_id;
    let wanted = wanted(p.lines);
    let mut conn = pool.acquire().await?;
    let opened = match open_pg(&mut conn, p, &wanted).await? {
        Ok(opened) => opened,
        Err(step) => return Ok(step),
    };
    let tracked: Vec<(i64, i64)> = wanted
        .into_iter()
        .filter(|(id, _)| opened.items[id].stock.is_some())
        .collect();
    let occupy = p
        .table_id
        .filter(|_| opened.table_status.as_deref() == Some("free"));
    let written = if tracked.is_empty() && occupy.is_none() {
        write_pg(&mut conn, p, &opened, &[], None, events).await
    } else {
        let mut tx = conn.begin().await?;
        let mut changes = Vec::new();
        let mut short = Vec::new();
        for (id, qty) in tracked {
            let item = &opened.items[&id];
            let left: Option<i64> = sqlx::query_scalar(TAKE_STOCK)
                .bind(r)
                .bind(id)
                .bind(qty)
                .fetch_optional(&mut *tx)
                .await?;
            match left {
                Some(after) => changes.push(taken(id, item, qty, after)),
                None => short.push((id, item.name.clone(), qty)),
            }
        }
        if !short.is_empty() {
            tx.rollback().await?;
            return Ok(Step::Short(short));
        }
        let mut table_change = None;
        if let Some(table) = occupy {
            sqlx::query(OCCUPY_TABLE)
                .bind(r)
                .bind(table)
                .execute(&mut *tx)
                .await?;
            table_change = Some(occupied(table, "free".into()));
        }
        match write_pg(&mut tx, p, &opened, &changes, table_change.as_ref(), events).await {
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
                .bind(p.idempotency_key)
                .fetch_one(&mut *conn)
                .await?;
            Ok(Step::Existing { id, hash })
        }
        Err(e) => Err(e),
    }
}

/// Runs [`PG_OPENING`] and decides from it: the order to write, or the
/// step that ends the placement (the key's order, or an invalid request).
async fn open_pg(
    c: &mut PgConnection,
    p: &Placement<'_>,
    wanted: &BTreeMap<i64, i64>,
) -> sqlx::Result<Result<Opened, Step>> {
    let ids: Vec<i64> = wanted.keys().copied().collect();
    let rows: Vec<OpeningRow> = sqlx::query_as(PG_OPENING)
        .bind(p.restaurant_id)
        .bind(p.idempotency_key)
        .bind(p.table_id)
        .bind(&ids)
        .bind(p.lines.len() as i64)
        .fetch_all(c)
        .await?;
    let mut opened = None;
    let mut found = HashMap::new();
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
            let item = ItemRow {
                name,
                price_cents,
                station_id: row.station_id,
                stock: row.stock,
                low_stock_threshold,
                available,
            };
            found.insert(id, item);
        }
        if opened.is_none() {
            if let (Some(id), Some(hash)) = (row.existing, row.request_hash) {
                return Ok(Err(Step::Existing { id, hash }));
            }
            opened = Some(Opened {
                order_id: row.order_id,
                line_ids: row.line_ids,
                timezone: row.timezone,
                table_status: row.table_status,
                tables: row.tables.unwrap_or_default(),
                items: HashMap::new(),
            });
        }
    }
    let Some(mut opened) = opened else {
        return Err(sqlx::Error::RowNotFound);
    };
    if p.table_id.is_some() && opened.table_status.is_none() {
        return Ok(Err(Step::Done(no_table())));
    }
    for &id in &ids {
        match admit(p, id, found.remove(&id)) {
            Ok(item) => opened.items.insert(id, item),
            Err(invalid) => return Ok(Err(Step::Done(PlaceOutcome::Invalid(invalid)))),
        };
    }
    Ok(Ok(opened))
}

/// Runs [`PG_WRITE`] for the opened order, with the events `events` drafts
/// from it and what the placement changed, stamped now.
async fn write_pg(
    c: &mut PgConnection,
    p: &Placement<'_>,
    opened: &Opened,
    changes: &[StockChange],
    table_change: Option<&TableChange>,
    events: impl FnOnce(&Order, &[StockChange], Option<&TableChange>, &[i64]) -> Vec<EventDraft>,
) -> sqlx::Result<PlaceOutcome> {
    let r = p.restaurant_id;
    let (day, hour) = crate::stats::business_hour(crate::stats::zone(&opened.timezone), p.now);
    let mut order = placed(
        p,
        opened.order_id,
        &opened.items,
        opened.line_ids.iter().copied(),
    );
    let delta = crate::stats::delta(None, &order);
    let tables: &[i64] = if changes.is_empty() {
        &[]
    } else {
        &opened.tables
    };
    let drafts = events(&order, changes, table_change, tables);
    let stored: Vec<(String, String)> = drafts.iter().map(EventDraft::stored).collect();
    let at = p.clock.now_ms();
    let mut write = sqlx::query_scalar(PG_WRITE)
        .bind(r)
        .bind(p.table_id)
        .bind(p.source.as_str())
        .bind(p.note)
        .bind(order.total_cents)
        .bind(p.placed_by_user)
        .bind(p.placed_by_role.as_str())
        .bind(p.idempotency_key)
        .bind(p.request_hash)
        .bind(p.now)
        .bind(&day)
        .bind(hour)
        .bind(column(&order.lines, |l| l.menu_item_id))
        .bind(column(&order.lines, |l| l.station_id))
        .bind(column(&order.lines, |l| l.name.as_str()))
        .bind(column(&order.lines, |l| l.unit_price_cents))
        .bind(column(&order.lines, |l| l.qty))
        .bind(column(&order.lines, |l| l.note.as_str()))
        .bind(column(p.lines, modifiers));
    for value in delta.counters.columns() {
        write = write.bind(value);
    }
    let first: i64 = write
        .bind(column(&delta.items, |i| i.0))
        .bind(column(&delta.items, |i| i.1))
        .bind(column(&delta.items, |i| i.2))
        .bind(opened.order_id)
        .bind(&opened.line_ids)
        .bind(drafts.len() as i64)
        .bind(at)
        .bind(column(&drafts, |d| d.kind.as_str()))
        .bind(column(&stored, |s| s.0.as_str()))
        .bind(column(&stored, |s| s.1.as_str()))
        .fetch_one(c)
        .await?;
    if !drafts.is_empty() {
        order.placed_seq = first as u64;
    }
    let events = drafts
        .into_iter()
        .enumerate()
        .map(|(i, draft)| draft.logged(r, first + i as i64, at))
        .collect();
    Ok(PlaceOutcome::Placed { order, events })
}

/// The same placement on SQLite's writer, run directly (see [`direct`]).
fn place_direct(
    c: &rusqlite::Connection,
    p: &Placement<'_>,
    events: impl FnOnce(&Order, &[StockChange], Option<&TableChange>, &[i64]) -> Vec<EventDraft>,
) -> rusqlite::Result<End<Step>> {
    let r = p.restaurant_id;
    let (timezone, id, hash): (String, Option<i64>, Option<String>) =
        direct::one(c, OPENING, &[&r, &p.idempotency_key], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
    if let (Some(id), Some(hash)) = (id, hash) {
        return Ok(End::Rollback(Step::Existing { id, hash }));
    }
    let (day, hour) = crate::stats::business_hour(crate::stats::zone(&timezone), p.now);
    let mut table_change = None;
    if let Some(table) = p.table_id {
        let status: Option<String> =
            direct::optional(c, TABLE_STATUS, &[&r, &table], |row| row.get(0))?;
        match status {
            None => return Ok(End::Rollback(Step::Done(no_table()))),
            Some(s) if s == "free" => {
                direct::execute(c, OCCUPY_TABLE, &[&r, &table])?;
                table_change = Some(occupied(table, s));
            }
            Some(_) => {}
        }
    }
    let wanted = wanted(p.lines);
    let mut items = HashMap::new();
    for &id in wanted.keys() {
        let item = direct::optional(c, ITEM, &[&r, &id], |row| {
            Ok(ItemRow {
                name: row.get(0)?,
                price_cents: row.get(1)?,
                station_id: row.get(2)?,
                stock: row.get(3)?,
                low_stock_threshold: row.get(4)?,
                available: row.get(5)?,
            })
        })?;
        match admit(p, id, item) {
            Ok(item) => items.insert(id, item),
            Err(invalid) => return Ok(End::Rollback(Step::Done(PlaceOutcome::Invalid(invalid)))),
        };
    }
    let mut changes = Vec::new();
    let mut short = Vec::new();
    for (&id, &qty) in wanted.iter().filter(|(id, _)| items[id].stock.is_some()) {
        let left: Option<i64> =
            direct::optional(c, TAKE_STOCK, &[&r, &id, &qty], |row| row.get(0))?;
        match left {
            Some(after) => changes.push(taken(id, &items[&id], qty, after)),
            None => short.push((id, items[&id].name.clone(), qty)),
        }
    }
    if !short.is_empty() {
        return Ok(End::Rollback(Step::Short(short)));
    }
    let order_id: i64 = direct::one(
        c,
        INSERT_ORDER,
        &[
            &r,
            &p.table_id,
            &p.source.as_str(),
            &p.note,
            &total(p, &items),
            &p.placed_by_user,
            &p.placed_by_role.as_str(),
            &p.idempotency_key,
            &p.request_hash,
            &p.now,
            &day,
            &hour,
        ],
        |row| row.get(0),
    )?;
    let mut line_ids = Vec::with_capacity(p.lines.len());
    for line in p.lines {
        let item = &items[&line.menu_item_id];
        let args: [&dyn rusqlite::ToSql; 9] = [
            &r,
            &order_id,
            &line.menu_item_id,
            &item.station_id,
            &item.name,
            &item.price_cents,
            &line.qty,
            &line.note,
            &modifiers(line),
        ];
        line_ids.push(direct::one(c, INSERT_LINE, &args, |row| row.get(0))?);
    }
    let mut order = placed(p, order_id, &items, line_ids);
    direct::record_stats(c, r, &day, hour, &crate::stats::delta(None, &order))?;
    let tables = if changes.is_empty() {
        Vec::new()
    } else {
        direct::all(c, TABLE_IDS, &[&r], |row| row.get(0))?
    };
    let drafts = events(&order, &changes, table_change.as_ref(), &tables);
    let appended = direct::append_events(c, r, drafts, p.clock.now_ms())?;
    order.placed_seq = appended.first().map_or(0, |e| e.seq);
    direct::execute(
        c,
        SET_PLACED_SEQ,
        &[&r, &order_id, &(order.placed_seq as i64)],
    )?;
    Ok(End::Commit(Step::Done(PlaceOutcome::Placed {
        order,
        events: appended,
    })))
}

fn no_table() -> PlaceOutcome {
    PlaceOutcome::Invalid(Invalid(
        "table_id".into(),
        "not_found",
        "no such table".into(),
    ))
}

fn occupied(table_id: i64, from: String) -> TableChange {
    TableChange {
        table_id,
        from,
        to: "occupied".into(),
    }
}
