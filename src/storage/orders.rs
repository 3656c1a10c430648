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

use super::{BeginWrite, EventDraft, Store};
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
    pub now: i64,
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
        on_db!(self, pool => sqlx::query_scalar("SELECT id FROM dining_tables WHERE restaurant_id = $1 ORDER BY id")
            .bind(restaurant).fetch_all(pool).await)
    }

    /// Places an order in one transaction. `events` builds the event drafts
    /// from the new order and what it changed; they get their seqs and are
    /// written in the same transaction.
    pub async fn place_order(
        &self,
        p: &Placement<'_>,
        events: impl FnOnce(&Order, &[StockChange], Option<&TableChange>) -> Vec<EventDraft>,
    ) -> sqlx::Result<PlaceOutcome> {
        let r = p.restaurant_id;
        let _turn = self.lane(r).await;
        let outcome = on_db!(self, write pool => {
            let mut tx = pool.begin_write().await?;
            let timezone: String = sqlx::query_scalar("SELECT timezone FROM restaurants WHERE id = $1")
                .bind(r).fetch_one(&mut *tx).await?;
            let (day, hour) = crate::stats::business_hour(crate::stats::zone(&timezone), p.now);
            let existing: Option<(i64, String)> = sqlx::query_as(
                "SELECT id, request_hash FROM orders WHERE restaurant_id = $1 AND idempotency_key = $2")
                .bind(r).bind(p.idempotency_key).fetch_optional(&mut *tx).await?;
            if let Some((id, hash)) = existing {
                tx.rollback().await?;
                return self.existing(r, id, &hash, p.request_hash).await;
            }
            let mut table_change = None;
            if let Some(table) = p.table_id {
                let status: Option<String> = sqlx::query_scalar(
                    "SELECT status FROM dining_tables WHERE restaurant_id = $1 AND id = $2")
                    .bind(r).bind(table).fetch_optional(&mut *tx).await?;
                match status {
                    None => return Ok(PlaceOutcome::Invalid(Invalid("table_id".into(), "not_found", "no such table".into()))),
                    Some(s) if s == "free" => {
                        sqlx::query("UPDATE dining_tables SET status = 'occupied' WHERE restaurant_id = $1 AND id = $2")
                            .bind(r).bind(table).execute(&mut *tx).await?;
                        table_change = Some(TableChange { table_id: table, from: s, to: "occupied".into() });
                    }
                    Some(_) => {}
                }
            }
            // Items, in id order; quantities summed per item.
            let mut wanted: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
            for line in p.lines {
                *wanted.entry(line.menu_item_id).or_default() += line.qty;
            }
            let mut items = std::collections::HashMap::new();
            for &id in wanted.keys() {
                let item: Option<ItemRow> = sqlx::query_as(
                    "SELECT name, price_cents, station_id, stock, low_stock_threshold, available \
                     FROM menu_items WHERE restaurant_id = $1 AND id = $2")
                    .bind(r).bind(id).fetch_optional(&mut *tx).await?;
                let index = p.lines.iter().position(|l| l.menu_item_id == id).unwrap_or(0);
                let field = format!("lines[{index}].menu_item_id");
                match item {
                    None => return Ok(PlaceOutcome::Invalid(Invalid(field, "not_found", "no such menu item".into()))),
                    // Sold out (stock 0) is OUT_OF_STOCK below; only an item
                    // 86'd by hand is "unavailable".
                    Some(item) if !item.available && item.stock != Some(0) => {
                        return Ok(PlaceOutcome::Invalid(Invalid(field, "unavailable", format!("{} is not available", item.name))))
                    }
                    Some(item) => { items.insert(id, item); }
                }
            }
            let mut changes = Vec::new();
            let mut short = Vec::new();
            for (&id, &qty) in &wanted {
                let item = &items[&id];
                if item.stock.is_none() {
                    continue;
                }
                let left: Option<i64> = sqlx::query_scalar(
                    "UPDATE menu_items SET stock = stock - $3 \
                     WHERE restaurant_id = $1 AND id = $2 AND stock >= $3 RETURNING stock")
                    .bind(r).bind(id).bind(qty).fetch_optional(&mut *tx).await?;
                match left {
                    Some(after) => changes.push(StockChange {
                        menu_item_id: id,
                        name: item.name.clone(),
                        before: after + qty,
                        after,
                        low_stock_threshold: item.low_stock_threshold,
                        became_available: false,
                    }),
                    None => short.push((id, item.name.clone(), qty)),
                }
            }
            if !short.is_empty() {
                tx.rollback().await?;
                return self.shortages(r, short).await;
            }
            for change in changes.iter().filter(|c| c.after == 0) {
                sqlx::query("UPDATE menu_items SET available = FALSE WHERE restaurant_id = $1 AND id = $2")
                    .bind(r).bind(change.menu_item_id).execute(&mut *tx).await?;
            }
            let total: i64 = p.lines.iter().map(|l| items[&l.menu_item_id].price_cents * l.qty).sum();
            let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
                "INSERT INTO orders (restaurant_id, table_id, source, status, note, total_cents, placed_by_user, \
                 placed_by_role, idempotency_key, request_hash, placed_seq, created_at, updated_at, business_day, hour_start) \
                 VALUES ($1, $2, $3, 'placed', $4, $5, $6, $7, $8, $9, 0, $10, $10, $11, $12) RETURNING id")
                .bind(r).bind(p.table_id).bind(p.source.as_str()).bind(p.note).bind(total)
                .bind(p.placed_by_user).bind(p.placed_by_role.as_str()).bind(p.idempotency_key)
                .bind(p.request_hash).bind(p.now).bind(&day).bind(hour)
                .fetch_one(&mut *tx).await;
            let order_id = match inserted {
                Ok(id) => id,
                // The same key, placed concurrently: theirs won.
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    tx.rollback().await?;
                    let (id, hash): (i64, String) = sqlx::query_as(
                        "SELECT id, request_hash FROM orders WHERE restaurant_id = $1 AND idempotency_key = $2")
                        .bind(r).bind(p.idempotency_key).fetch_one(pool).await?;
                    return self.existing(r, id, &hash, p.request_hash).await;
                }
                Err(e) => return Err(e),
            };
            let mut lines = Vec::with_capacity(p.lines.len());
            for line in p.lines {
                let item = &items[&line.menu_item_id];
                let modifiers = serde_json::to_string(&line.modifiers).unwrap_or_else(|_| "[]".into());
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO order_lines (restaurant_id, order_id, menu_item_id, station_id, name, \
                     unit_price_cents, qty, note, modifiers, status) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued') RETURNING id")
                    .bind(r).bind(order_id).bind(line.menu_item_id).bind(item.station_id).bind(&item.name)
                    .bind(item.price_cents).bind(line.qty).bind(&line.note).bind(&modifiers)
                    .fetch_one(&mut *tx).await?;
                lines.push(OrderLine {
                    id,
                    menu_item_id: line.menu_item_id,
                    station_id: item.station_id,
                    name: item.name.clone(),
                    unit_price_cents: item.price_cents,
                    qty: line.qty,
                    note: line.note.clone(),
                    modifiers: line.modifiers.clone(),
                    status: LineStatus::Queued,
                });
            }
            let mut order = Order {
                id: order_id,
                table_id: p.table_id,
                source: p.source,
                status: OrderStatus::Placed,
                note: p.note.to_owned(),
                total_cents: total,
                lines,
                created_at: Timestamp(p.now),
                placed_seq: 0,
                ready_at: None,
            };
            record_stats!(tx, r, &day, hour, &crate::stats::delta(None, &order));
            let drafts = events(&order, &changes, table_change.as_ref());
            let appended = append_events!(tx, r, drafts, p.now);
            order.placed_seq = appended.first().map_or(0, |e| e.seq);
            sqlx::query("UPDATE orders SET placed_seq = $3 WHERE restaurant_id = $1 AND id = $2")
                .bind(r).bind(order_id).bind(order.placed_seq as i64).execute(&mut *tx).await?;
            tx.commit().await?;
            PlaceOutcome::Placed { order, events: appended }
        });
        Ok(outcome)
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
