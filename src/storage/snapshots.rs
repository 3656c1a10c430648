//! What a screen draws before live events: open tickets, tables with their
//! orders, the menu — each read in one snapshot together with the seq it is
//! consistent with. Also stand-alone events.

use std::collections::HashMap;

use restohub_protocol::api::menu::{Category, MenuItem};
use restohub_protocol::api::orders::Order;
use restohub_protocol::api::stations::AllDayCount;
use restohub_protocol::api::tables::Table;

use super::modifiers::{self, GroupRow, GROUP_ROWS, IN_ORDER};
use super::orders::{assemble, LineRow, OrderRow, LINE_COLS, ORDER_COLS};
use super::timers::{all_day, AllDayRow, ALL_DAY};
use super::{Append, BeginWrite, EventDraft, Store};
use crate::events::Event;

/// What a kitchen screen draws first, consistent with `seq`.
pub struct KitchenSnapshot {
    pub seq: u64,
    pub orders: Vec<Order>,
    pub all_day: Vec<AllDayCount>,
}

const OPEN: &str = "('placed', 'in_progress', 'ready', 'served')";
const IN_KITCHEN: &str = "('placed', 'in_progress', 'ready')";

#[derive(sqlx::FromRow)]
pub(super) struct OwnedLine {
    order_id: i64,
    #[sqlx(flatten)]
    line: LineRow,
}

pub(super) fn group(orders: Vec<OrderRow>, lines: Vec<OwnedLine>) -> sqlx::Result<Vec<Order>> {
    let mut by_order: HashMap<i64, Vec<LineRow>> = HashMap::new();
    for l in lines {
        by_order.entry(l.order_id).or_default().push(l.line);
    }
    orders
        .into_iter()
        .map(|o| {
            // An order without lines reads as one.
            let lines = by_order.remove(&o.id).unwrap_or_default();
            assemble(o, lines)
        })
        .collect()
}

/// Reads the seq, then orders matching `filter` with their lines, in one
/// snapshot. `$1` is the restaurant.
macro_rules! orders_in_snapshot {
    ($tx:expr, $r:expr, $filter:expr, $bind:expr) => {{
        let seq: i64 = sqlx::query_scalar("SELECT event_seq FROM restaurants WHERE id = $1")
            .bind($r)
            .fetch_optional(&mut *$tx)
            .await?
            .unwrap_or(0);
        let orders: Vec<OrderRow> = sqlx::query_as(&format!(
            "SELECT {ORDER_COLS} FROM orders WHERE restaurant_id = $1 \
             AND {} ORDER BY created_at, id",
            $filter
        ))
        .bind($r)
        .bind($bind)
        .fetch_all(&mut *$tx)
        .await?;
        let lines: Vec<OwnedLine> = sqlx::query_as(&format!(
            "SELECT order_id, {LINE_COLS} FROM order_lines WHERE restaurant_id = $1 \
             AND order_id IN (SELECT id FROM orders WHERE restaurant_id = $1 \
             AND {}) ORDER BY id",
            $filter
        ))
        .bind($r)
        .bind($bind)
        .fetch_all(&mut *$tx)
        .await?;
        (seq as u64, group(orders, lines)?)
    }};
}

impl Store {
    /// Orders still in the kitchen (placed, in progress, ready), oldest
    /// first, with the all-day counts of the same snapshot.
    pub async fn kitchen_snapshot(&self, r: i64) -> sqlx::Result<KitchenSnapshot> {
        let filter = format!("status IN {IN_KITCHEN} AND $2 = $2");
        on_db!(self, |pool| {
            let mut tx = pool.begin_snapshot().await?;
            let (seq, orders) = orders_in_snapshot!(tx, r, filter, 0_i64);
            let counts: Vec<AllDayRow> =
                sqlx::query_as(ALL_DAY).bind(r).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok(KitchenSnapshot {
                seq,
                orders,
                all_day: all_day(counts),
            })
        })
    }

    /// Tables (one, or all) with their open orders.
    pub async fn table_snapshot(
        &self,
        r: i64,
        table: Option<i64>,
    ) -> sqlx::Result<(u64, Vec<Table>, Vec<Order>)> {
        let filter = format!("status IN {OPEN} AND ($2 = 0 OR table_id = $2)");
        let only = table.unwrap_or(0);
        on_db!(self, |pool| {
            let mut tx = pool.begin_snapshot().await?;
            let (seq, orders) = orders_in_snapshot!(tx, r, filter, only);
            let tables: Vec<Table> = sqlx::query_as(
                "SELECT id, label, seats, status, guest_code FROM dining_tables \
                 WHERE restaurant_id = $1 AND ($2 = 0 OR id = $2) \
                 ORDER BY id",
            )
            .bind(r)
            .bind(only)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok((seq, tables, orders))
        })
    }

    /// The whole menu with stock and availability.
    pub async fn menu_snapshot(&self, r: i64) -> sqlx::Result<(u64, Vec<Category>, Vec<MenuItem>)> {
        on_db!(self, |pool| {
            let mut tx = pool.begin_snapshot().await?;
            let seq: i64 = sqlx::query_scalar("SELECT event_seq FROM restaurants WHERE id = $1")
                .bind(r)
                .fetch_optional(&mut *tx)
                .await?
                .unwrap_or(0);
            let categories: Vec<Category> = sqlx::query_as(
                "SELECT id, name, position, course FROM menu_categories \
                 WHERE restaurant_id = $1 ORDER BY position, id",
            )
            .bind(r)
            .fetch_all(&mut *tx)
            .await?;
            // The same columns as every other item read (a column added
            // to items is added there once).
            let mut items: Vec<MenuItem> = sqlx::query_as(concat!(
                "SELECT ",
                item_cols!(),
                " FROM menu_items WHERE restaurant_id = $1 ORDER BY id"
            ))
            .bind(r)
            .fetch_all(&mut *tx)
            .await?;
            let groups: Vec<GroupRow> = sqlx::query_as(&format!("{GROUP_ROWS}{IN_ORDER}"))
                .bind(r)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            modifiers::attach(&mut items, modifiers::groups_from(groups)?);
            Ok((seq as u64, categories, items))
        })
    }

    /// Appends events that record no other change (a call for a waiter).
    pub async fn append_events(
        &self,
        r: i64,
        drafts: Vec<EventDraft>,
        now: i64,
    ) -> sqlx::Result<Vec<Event>> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let appended = tx.append_events(r, drafts, now).await?;
            tx.commit().await?;
            Ok(appended)
        })
    }
}
