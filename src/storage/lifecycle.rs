//! Changing an order after it is placed (bumps, serving, closing, cancelling,
//! voiding): lock the order, let the caller decide from its current state,
//! apply, append events — one transaction. Two stations racing on one line
//! are serialized by the lock; the second decides on the first's result.

use restohub_protocol::api::orders::{LineStatus, Order, OrderStatus};
use restohub_protocol::api::tables::TableStatus;

use super::orders::{assemble, LineRow, OrderRow, LINE_COLS, ORDER_COLS};
use super::revocations::Revoke;
use super::{Append, AppendAudit, AuditDraft, BeginWrite, EventDraft, Store};
use crate::events::Event;

/// A tracked item's stock as a change left it.
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

/// A table's status changed.
#[derive(Debug, Clone, PartialEq)]
pub struct TableChange {
    pub table_id: i64,
    pub from: TableStatus,
    pub to: TableStatus,
}

/// Stock to give back for a line that never reached the kitchen.
#[derive(Debug, Clone, PartialEq)]
pub struct StockReturn {
    pub menu_item_id: i64,
    pub qty: i64,
}

/// A line as a change leaves it: the columns a change may write.
#[derive(Debug, Clone, PartialEq)]
pub struct LineUpdate {
    pub id: i64,
    pub status: LineStatus,
    pub fired_at: Option<i64>,
    pub start_at: Option<i64>,
    pub started_at: Option<i64>,
    pub ready_at: Option<i64>,
    pub served_at: Option<i64>,
    pub void_reason: Option<String>,
}

/// What a command decided to change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderChange {
    pub order_status: Option<OrderStatus>,
    pub lines: Vec<LineUpdate>,
    /// The order's rush flag, when it changes.
    pub rush: Option<bool>,
    pub stock_returns: Vec<StockReturn>,
    /// The status the change would leave the order's table in; whether it
    /// does is [`TableRules::table_after`]'s call.
    pub table_status: Option<TableStatus>,
}

/// What an order change needs from the application: a pure decision from
/// the order as it is (under its lock), the rules for what it finds inside
/// the transaction (stock given back, the table's other orders), and the
/// events of what the change then did. Storage applies the decision, asks
/// these pure functions, and calls nothing above it.
pub trait OrderChangePlan: TableRules {
    type Refusal;
    fn decide(&self, order: &Order) -> Result<OrderChange, Self::Refusal>;
    /// Whether stock given back to an item that had `before` left and was
    /// `available` (or not) makes it available.
    fn restores_availability(&self, before: i64, available: bool) -> bool;
    fn events(&self, changed: &OrderChanged<'_>) -> Vec<EventDraft>;
    /// The audit entries of what the change did, written in its transaction.
    fn audit(&self, changed: &OrderChanged<'_>) -> Vec<AuditDraft> {
        let _ = changed;
        Vec::new()
    }
}

/// How a change that closes orders moves their table (the application's
/// rules; storage asks them inside the transaction).
pub trait TableRules {
    /// The table's status after the change, from the status the change
    /// wants for it, its status now and how many orders on it are open
    /// (not closed or cancelled) with this change made; `None`: unchanged.
    fn table_after(&self, wanted: TableStatus, now: TableStatus, open: i64) -> Option<TableStatus>;
    /// Whether the table going from `from` to `to` ends its party's visit
    /// (its guest tokens and code; see `end_visit`).
    fn ends_visit(&self, from: TableStatus, to: TableStatus) -> bool;
}

/// Moves table `$table` toward `$wanted` inside transaction `$tx` as the
/// [`TableRules`] `$rules` say, from its open orders and status now; the
/// change made, if any (ending the visit when the rules say so).
macro_rules! settle_table {
    ($tx:expr, $r:expr, $table:expr, $wanted:expr, $now:expr, $rules:expr) => {{
        let open: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM orders WHERE restaurant_id = $1 \
             AND table_id = $2 AND status NOT IN ('closed', 'cancelled')",
        )
        .bind($r)
        .bind($table)
        .fetch_one(&mut *$tx)
        .await?;
        let from: Option<String> = sqlx::query_scalar(
            "SELECT status FROM dining_tables WHERE restaurant_id = $1 \
             AND id = $2",
        )
        .bind($r)
        .bind($table)
        .fetch_optional(&mut *$tx)
        .await?;
        let from = from
            .map(|f| $crate::storage::placement::table_status($r, $table, f))
            .transpose()?;
        let to = from.and_then(|from| {
            $crate::storage::TableRules::table_after($rules, $wanted, from, open)
                .map(|to| (from, to))
        });
        match to {
            Some((from, to)) => {
                sqlx::query(
                    "UPDATE dining_tables SET status = $3 WHERE restaurant_id = $1 \
                     AND id = $2",
                )
                .bind($r)
                .bind($table)
                .bind(to.as_str())
                .execute(&mut *$tx)
                .await?;
                if $crate::storage::TableRules::ends_visit($rules, from, to) {
                    $tx.end_visit($r, $table, $now).await?;
                }
                Some($crate::storage::TableChange {
                    table_id: $table,
                    from,
                    to,
                })
            }
            None => None,
        }
    }};
}
pub(super) use settle_table;

/// What an order change did, for its events.
pub struct OrderChanged<'a> {
    pub before: &'a Order,
    pub after: &'a Order,
    pub stock: &'a [StockChange],
    pub table: Option<&'a TableChange>,
    /// The account that placed the order (`None`: a guest).
    pub placed_by_user: Option<i64>,
}

/// How a change decided under a row's lock ended.
#[derive(Debug)]
pub enum Changed<T, E> {
    /// No such row in the restaurant.
    NotFound,
    /// The decision refused; nothing changed.
    Refused(E),
    /// The row as it now is, and the events appended with the change.
    Done(T, Vec<Event>),
}

impl<T, E> Changed<T, E> {
    /// The row and events, if the change was made.
    pub fn done(self) -> Option<(T, Vec<Event>)> {
        match self {
            Changed::Done(row, events) => Some((row, events)),
            _ => None,
        }
    }

    /// The refusal, if the decision refused.
    pub fn refusal(self) -> Option<E> {
        match self {
            Changed::Refused(e) => Some(e),
            _ => None,
        }
    }
}

impl Store {
    /// Changes an order under its lock as `plan` decides from it, in one
    /// transaction with the events `plan` drafts from what changed.
    pub async fn change_order<P: OrderChangePlan>(
        &self,
        r: i64,
        order_id: i64,
        now: i64,
        plan: &P,
    ) -> sqlx::Result<Changed<Order, P::Refusal>> {
        let _turn = self.lane(r).await;
        let started = std::time::Instant::now();
        let result = on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let lock = format!(
                "SELECT {ORDER_COLS} FROM orders WHERE restaurant_id = $1 \
                 AND id = $2{}",
                super::lock_suffix(pool)
            );
            let row: Option<OrderRow> = sqlx::query_as(&lock)
                .bind(r)
                .bind(order_id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else {
                return Ok(Changed::NotFound);
            };
            let lines_sql = format!(
                "SELECT {LINE_COLS} FROM order_lines WHERE restaurant_id = $1 \
                 AND order_id = $2 ORDER BY id"
            );
            let lines: Vec<LineRow> = sqlx::query_as(&lines_sql)
                .bind(r)
                .bind(order_id)
                .fetch_all(&mut *tx)
                .await?;
            let (day, hour) = (row.business_day.clone(), row.hour_start);
            let placed_by_user = row.placed_by_user;
            let before = assemble(row, lines)?;
            let change = match plan.decide(&before) {
                Ok(change) => change,
                Err(e) => return Ok(Changed::Refused(e)),
            };
            for line in &change.lines {
                sqlx::query(
                    "UPDATE order_lines SET status = $4, fired_at = $5, start_at = $6, \
                     started_at = $7, ready_at = $8, served_at = $9, void_reason = $10 \
                     WHERE restaurant_id = $1 AND order_id = $2 AND id = $3",
                )
                .bind(r)
                .bind(order_id)
                .bind(line.id)
                .bind(line.status.as_str())
                .bind(line.fired_at)
                .bind(line.start_at)
                .bind(line.started_at)
                .bind(line.ready_at)
                .bind(line.served_at)
                .bind(&line.void_reason)
                .execute(&mut *tx)
                .await?;
            }
            if let Some(rush) = change.rush {
                sqlx::query("UPDATE orders SET rush = $3 WHERE restaurant_id = $1 AND id = $2")
                    .bind(r)
                    .bind(order_id)
                    .bind(rush)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(status) = change.order_status {
                let ready_at = crate::stats::ready_at(&before, status, now);
                sqlx::query(
                    "UPDATE orders SET status = $3, updated_at = $4, ready_at = $5 \
                     WHERE restaurant_id = $1 AND id = $2",
                )
                .bind(r)
                .bind(order_id)
                .bind(status.as_str())
                .bind(now)
                .bind(ready_at)
                .execute(&mut *tx)
                .await?;
            }
            let mut returns = change.stock_returns.clone();
            returns.sort_by_key(|s| s.menu_item_id);
            let mut stock = Vec::new();
            for back in returns {
                let row: Option<(i64, String, i64, bool)> = sqlx::query_as(
                    "UPDATE menu_items SET stock = stock + $3 WHERE restaurant_id = $1 \
                     AND id = $2 AND stock IS NOT NULL RETURNING stock, name, low_stock_threshold, \
                     available",
                )
                .bind(r)
                .bind(back.menu_item_id)
                .bind(back.qty)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((after, name, threshold, available)) = row else {
                    continue;
                };
                let before_qty = after - back.qty;
                let became_available = plan.restores_availability(before_qty, available);
                if became_available {
                    sqlx::query(
                        "UPDATE menu_items SET available = TRUE WHERE restaurant_id = $1 \
                         AND id = $2",
                    )
                    .bind(r)
                    .bind(back.menu_item_id)
                    .execute(&mut *tx)
                    .await?;
                }
                stock.push(StockChange {
                    menu_item_id: back.menu_item_id,
                    name,
                    before: before_qty,
                    after,
                    low_stock_threshold: threshold,
                    became_available,
                });
            }
            let mut table_change = None;
            if let (Some(to), Some(table)) = (change.table_status, before.table_id) {
                table_change = settle_table!(tx, r, table, to, now, plan);
            }
            let row: OrderRow = sqlx::query_as(&format!(
                "SELECT {ORDER_COLS} FROM orders WHERE restaurant_id = $1 \
                 AND id = $2"
            ))
            .bind(r)
            .bind(order_id)
            .fetch_one(&mut *tx)
            .await?;
            let lines: Vec<LineRow> = sqlx::query_as(&lines_sql)
                .bind(r)
                .bind(order_id)
                .fetch_all(&mut *tx)
                .await?;
            let after = assemble(row, lines)?;
            tx.record_stats(r, &day, hour, &crate::stats::delta(Some(&before), &after))
                .await?;
            let changed = OrderChanged {
                before: &before,
                after: &after,
                stock: &stock,
                table: table_change.as_ref(),
                placed_by_user,
            };
            let drafts = plan.events(&changed);
            tx.append_audit(r, &plan.audit(&changed)).await?;
            let appended = tx.append_events(r, drafts, now).await?;
            tx.commit().await?;
            Changed::Done(after, appended)
        });
        self.meters
            .took(crate::instruments::Transaction::ChangeOrder, started);
        Ok(result)
    }
}
