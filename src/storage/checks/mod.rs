//! Checks and payments: one transaction per change of a check, in the same
//! rhythm as an order change (`lifecycle.rs`). Storage locks the check (or
//! opens one), lets the table's new orders join it, reads the facts the
//! application decides from, applies the decided [`CheckWrite`] with
//! conditional statements, and appends the events and audit entries the
//! plan drafts from the check before and after. It computes no amount and
//! decides nothing: every figure arrives in the write.
//!
//! Two guards hold even if a decision were made from stale facts: money is
//! added to a check only while `paid_cents` stays within `total_cents`, and
//! refunded to a payment only while its refunds stay within what it took —
//! both as conditional updates inside the transaction.

use std::collections::HashMap;

use restohub_protocol::api::checks::{
    Check, CheckStatus, DiscountKind, PaymentMethod, Split, TaxRate,
};
use restohub_protocol::api::orders::{Order, OrderStatus};
use restohub_protocol::Role;

pub use intents::IntentRow;
pub use settings::TaxedThing;

use super::lifecycle::{settle_table, Changed, TableChange, TableRules};
use super::orders::{OrderRow, ORDER_COLS};
use super::revocations::Revoke;
use super::snapshots::{group, OwnedLine};
use super::{Append, AppendAudit, AuditDraft, BeginWrite, EventDraft, Store};

/// Which check a change is for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CheckTarget {
    Id(i64),
    /// The table's open (or partially paid) check.
    Table(i64),
    /// The takeaway order's check (not void).
    Order(i64),
}

/// A check's row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CheckRow {
    pub id: i64,
    pub table_id: Option<i64>,
    pub order_id: Option<i64>,
    #[sqlx(try_from = "String")]
    pub status: CheckStatus,
    pub covers: i64,
    /// JSON, as the application wrote it.
    pub split: Option<String>,
    pub subtotal_cents: i64,
    pub discount_cents: i64,
    pub comp_cents: i64,
    pub service_cents: i64,
    pub tax_cents: i64,
    pub total_cents: i64,
    pub paid_cents: i64,
    pub tip_cents: i64,
    pub refunded_cents: i64,
    pub receipt_no: Option<i64>,
    pub void_reason: Option<String>,
    pub opened_by: Option<i64>,
    pub opened_at: i64,
    pub updated_at: i64,
    pub paid_at: Option<i64>,
    pub paid_day: Option<String>,
    pub closed_at: Option<i64>,
    /// The check as it was when it stopped being open (JSON, the
    /// application's); `None` while open.
    pub frozen: Option<String>,
}

const CHECK_COLS: &str = "id, table_id, order_id, status, covers, split, subtotal_cents, \
    discount_cents, comp_cents, service_cents, tax_cents, total_cents, paid_cents, tip_cents, \
    refunded_cents, receipt_no, void_reason, opened_by, opened_at, updated_at, paid_at, \
    paid_day, closed_at, frozen";

/// What the restaurant configures for its checks.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MoneySettings {
    pub name: String,
    pub currency: String,
    pub timezone: String,
    pub service_charge_bp: i64,
    pub service_charge_min_covers: i64,
    pub discount_limit_cents: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DiscountRow {
    pub id: i64,
    pub line_id: Option<i64>,
    #[sqlx(try_from = "String")]
    pub kind: DiscountKind,
    pub value: i64,
    pub comp: bool,
    pub reason: String,
    pub by_user: Option<i64>,
    pub approved_by: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PaymentRow {
    pub id: i64,
    pub check_id: i64,
    pub part: Option<i64>,
    #[sqlx(try_from = "String")]
    pub method: PaymentMethod,
    pub amount_cents: i64,
    pub tip_cents: i64,
    pub tendered_cents: Option<i64>,
    pub change_cents: i64,
    pub refunded_cents: i64,
    pub reference: Option<String>,
    pub idempotency_key: String,
    pub request_hash: String,
    pub by_user: Option<i64>,
    pub by_role: String,
    pub created_at: i64,
}

/// The restaurant's check settings.
const MONEY_SETTINGS: &str = "SELECT name, currency, timezone, service_charge_bp, \
    service_charge_min_covers, discount_limit_cents FROM restaurants WHERE id = $1";
/// The restaurant's tax rates, as [`TaxRateRow`]s.
const TAX_RATES: &str =
    "SELECT id, name, rate_bp, included FROM tax_rates WHERE restaurant_id = $1 ORDER BY id";
type TaxRateRow = (i64, String, i64, bool);

fn tax_rate((id, name, rate_bp, included): TaxRateRow) -> TaxRate {
    TaxRate {
        id,
        name,
        rate_bp,
        included,
    }
}

const PAYMENT_COLS: &str = "id, check_id, part, method, amount_cents, tip_cents, \
    tendered_cents, change_cents, refunded_cents, reference, idempotency_key, request_hash, \
    by_user, by_role, created_at";

/// Everything a check change is decided from, read under the check's lock.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckFacts {
    pub check: CheckRow,
    pub settings: MoneySettings,
    /// Its orders (cancelled ones included; the application leaves them out).
    pub orders: Vec<Order>,
    pub rates: Vec<TaxRate>,
    /// Each ordered item's tax rate: its own, else its category's.
    pub item_rates: HashMap<i64, i64>,
    pub discounts: Vec<DiscountRow>,
    pub payments: Vec<PaymentRow>,
    /// The payment already recorded with the plan's idempotency key.
    pub existing_payment: Option<PaymentRow>,
    /// [`CheckRow::frozen`], read back.
    pub frozen: Option<Check>,
    /// [`CheckRow::split`], read back.
    pub split: Option<Split>,
    /// The change being decided opened the check.
    pub just_opened: bool,
}

/// A check to open when the target has no live one.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOpen {
    pub covers: i64,
    pub opened_by: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewDiscount {
    pub line_id: Option<i64>,
    pub kind: DiscountKind,
    pub value: i64,
    pub comp: bool,
    pub reason: String,
    pub by_user: Option<i64>,
    pub approved_by: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewPayment {
    pub part: Option<i64>,
    pub method: PaymentMethod,
    pub amount_cents: i64,
    pub tip_cents: i64,
    pub tendered_cents: Option<i64>,
    pub change_cents: i64,
    pub reference: Option<String>,
    pub idempotency_key: String,
    pub request_hash: String,
    pub by_user: Option<i64>,
    pub by_role: Role,
    /// The payment intent it settles (pay at the table).
    pub intent_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewRefund {
    pub payment_id: i64,
    pub amount_cents: i64,
    pub reason: String,
    pub by_user: Option<i64>,
}

/// The check's figures as the application computed them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckAmounts {
    pub subtotal_cents: i64,
    pub discount_cents: i64,
    pub comp_cents: i64,
    pub service_cents: i64,
    pub tax_cents: i64,
    pub total_cents: i64,
}

/// What a check change writes, decided before any of it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckWrite {
    pub status: CheckStatus,
    pub covers: i64,
    pub split: Option<String>,
    pub amounts: CheckAmounts,
    pub void_reason: Option<String>,
    /// Give it the restaurant's next receipt number if it has none.
    pub receipt: bool,
    /// It became paid now: `paid_at`, `paid_day`.
    pub paid_day: Option<String>,
    pub closed: bool,
    /// Its reopening clears `paid_at` and `closed_at` (the receipt number stays).
    pub reopened: bool,
    pub discount: Option<NewDiscount>,
    pub payment: Option<NewPayment>,
    pub refund: Option<NewRefund>,
    /// Served orders of the check to close.
    pub close_orders: Vec<i64>,
    /// The business day payments and refunds count for.
    pub business_day: String,
}

/// What a check change did, for its events and audit entries.
pub struct CheckChanged<'a> {
    pub before: &'a CheckFacts,
    pub after: &'a CheckFacts,
    /// Whether this change opened the check.
    pub opened: bool,
    pub payment: Option<&'a PaymentRow>,
    pub refund: Option<&'a NewRefund>,
    /// Orders closed with it, as they were and are.
    pub closed_orders: &'a [(Order, Order)],
    pub table: Option<&'a TableChange>,
}

/// A check change as the application decides it (see the module doc).
pub trait CheckPlan: TableRules {
    type Refusal;
    /// A check to open if the target has no live one; `None`: not found.
    fn opens(&self) -> Option<CheckOpen> {
        None
    }
    /// The idempotency key whose earlier payment the facts should carry.
    fn payment_key(&self) -> Option<&str> {
        None
    }
    fn decide(&self, facts: &CheckFacts) -> Result<CheckWrite, Self::Refusal>;
    /// The refusal when a conditional statement found the check or the
    /// payment changed under the decision (more paid or refunded than due).
    fn overdrawn(&self) -> Self::Refusal;
    /// What a check that is no longer open keeps as its figures, from the
    /// check just after the change that closed it to changes (see
    /// [`CheckRow::frozen`]).
    fn frozen(&self, after: &CheckFacts) -> Option<Check>;
    fn events(&self, changed: &CheckChanged<'_>) -> Vec<EventDraft>;
    fn audit(&self, changed: &CheckChanged<'_>) -> Vec<AuditDraft>;
}

/// A change's outcome: the check's facts after it, and its new payment.
#[derive(Debug)]
pub struct CheckDone {
    pub facts: CheckFacts,
    pub payment: Option<PaymentRow>,
    /// This change opened the check.
    pub opened: bool,
}

/// Reads a check's facts inside a transaction (the same statements before
/// and after a change).
macro_rules! check_facts {
    ($tx:expr, $r:expr, $id:expr, $key:expr) => {{
        let check: CheckRow = sqlx::query_as(&format!(
            "SELECT {CHECK_COLS} FROM checks WHERE restaurant_id = $1 AND id = $2"
        ))
        .bind($r)
        .bind($id)
        .fetch_one(&mut *$tx)
        .await?;
        let settings: MoneySettings = sqlx::query_as(MONEY_SETTINGS)
            .bind($r)
            .fetch_one(&mut *$tx)
            .await?;
        let orders: Vec<OrderRow> = sqlx::query_as(&format!(
            "SELECT {ORDER_COLS} FROM orders WHERE restaurant_id = $1 AND check_id = $2 \
             ORDER BY id"
        ))
        .bind($r)
        .bind($id)
        .fetch_all(&mut *$tx)
        .await?;
        let lines: Vec<OwnedLine> = sqlx::query_as(&format!(
            "SELECT order_id, {} FROM order_lines WHERE restaurant_id = $1 \
             AND order_id IN (SELECT id FROM orders WHERE restaurant_id = $1 \
             AND check_id = $2) ORDER BY id",
            $crate::storage::orders::LINE_COLS
        ))
        .bind($r)
        .bind($id)
        .fetch_all(&mut *$tx)
        .await?;
        let orders = group(orders, lines)?;
        let rates: Vec<TaxRateRow> = sqlx::query_as(TAX_RATES)
            .bind($r)
            .fetch_all(&mut *$tx)
            .await?;
        let item_rates: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT i.id, COALESCE(i.tax_rate_id, c.tax_rate_id) FROM menu_items i \
             LEFT JOIN menu_categories c ON c.restaurant_id = i.restaurant_id \
             AND c.id = i.category_id WHERE i.restaurant_id = $1 \
             AND COALESCE(i.tax_rate_id, c.tax_rate_id) IS NOT NULL AND i.id IN \
             (SELECT l.menu_item_id FROM order_lines l JOIN orders o ON o.id = l.order_id \
             WHERE o.restaurant_id = $1 AND o.check_id = $2)",
        )
        .bind($r)
        .bind($id)
        .fetch_all(&mut *$tx)
        .await?;
        let discounts: Vec<DiscountRow> = sqlx::query_as(
            "SELECT id, line_id, kind, value, comp, reason, by_user, approved_by, created_at \
             FROM check_discounts WHERE restaurant_id = $1 AND check_id = $2 ORDER BY id",
        )
        .bind($r)
        .bind($id)
        .fetch_all(&mut *$tx)
        .await?;
        let payments: Vec<PaymentRow> = sqlx::query_as(&format!(
            "SELECT {PAYMENT_COLS} FROM payments WHERE restaurant_id = $1 AND check_id = $2 \
             ORDER BY id"
        ))
        .bind($r)
        .bind($id)
        .fetch_all(&mut *$tx)
        .await?;
        let existing_payment: Option<PaymentRow> = match $key {
            Some(key) => {
                sqlx::query_as(&format!(
                    "SELECT {PAYMENT_COLS} FROM payments WHERE restaurant_id = $1 \
                     AND idempotency_key = $2"
                ))
                .bind($r)
                .bind(key)
                .fetch_optional(&mut *$tx)
                .await?
            }
            None => None,
        };
        let frozen = match &check.frozen {
            Some(text) => Some($crate::storage::decoded::<Check>(text, "frozen", || {
                format!("check {} of restaurant {}", check.id, $r)
            })?),
            None => None,
        };
        let split = match &check.split {
            Some(text) => Some($crate::storage::decoded::<Split>(text, "split", || {
                format!("check {} of restaurant {}", check.id, $r)
            })?),
            None => None,
        };
        CheckFacts {
            split,
            just_opened: false,
            frozen,
            check,
            settings,
            orders,
            rates: rates.into_iter().map(tax_rate).collect(),
            item_rates: item_rates.into_iter().collect(),
            discounts,
            payments,
            existing_payment,
        }
    }};
}

// After the macro: the reads use it too.
mod intents;
mod reads;
mod settings;

impl Store {
    /// Changes a check as `plan` decides, in one transaction under the
    /// check's lock (see the module doc). A table's open check first takes
    /// in the table's orders that have no check yet.
    pub async fn change_check<P: CheckPlan>(
        &self,
        r: i64,
        target: CheckTarget,
        now: i64,
        plan: &P,
    ) -> sqlx::Result<Changed<CheckDone, P::Refusal>> {
        let _turn = self.lane(r).await;
        let started = std::time::Instant::now();
        let result = on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let lock = super::lock_suffix(pool);
            let found: Option<i64> = match target {
                CheckTarget::Id(id) => {
                    sqlx::query_scalar(&format!(
                        "SELECT id FROM checks WHERE restaurant_id = $1 AND id = $2{lock}"
                    ))
                    .bind(r)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                }
                CheckTarget::Table(table) => {
                    sqlx::query_scalar(&format!(
                        "SELECT id FROM checks WHERE restaurant_id = $1 AND table_id = $2 \
                         AND status IN ('open', 'partially_paid'){lock}"
                    ))
                    .bind(r)
                    .bind(table)
                    .fetch_optional(&mut *tx)
                    .await?
                }
                CheckTarget::Order(order) => {
                    sqlx::query_scalar(&format!(
                        "SELECT id FROM checks WHERE restaurant_id = $1 AND order_id = $2 \
                         AND status <> 'void'{lock}"
                    ))
                    .bind(r)
                    .bind(order)
                    .fetch_optional(&mut *tx)
                    .await?
                }
            };
            let mut opened = false;
            let id = match (found, plan.opens()) {
                (Some(id), _) => id,
                (None, Some(open)) => {
                    let (table_id, order_id) = match target {
                        CheckTarget::Table(t) => (Some(t), None),
                        CheckTarget::Order(o) => (None, Some(o)),
                        CheckTarget::Id(_) => return Ok(Changed::NotFound),
                    };
                    let exists: bool =
                        match target {
                            CheckTarget::Table(t) => sqlx::query_scalar(
                                "SELECT COUNT(*) > 0 FROM dining_tables WHERE restaurant_id = $1 \
                             AND id = $2",
                            )
                            .bind(r)
                            .bind(t)
                            .fetch_one(&mut *tx)
                            .await?,
                            _ => {
                                sqlx::query_scalar(
                                    "SELECT COUNT(*) > 0 FROM orders WHERE restaurant_id = $1 \
                             AND id = $2 AND table_id IS NULL AND status <> 'cancelled'",
                                )
                                .bind(r)
                                .bind(order_id)
                                .fetch_one(&mut *tx)
                                .await?
                            }
                        };
                    if !exists {
                        return Ok(Changed::NotFound);
                    }
                    opened = true;
                    sqlx::query_scalar(
                        "INSERT INTO checks (restaurant_id, table_id, order_id, status, covers, \
                         opened_by, opened_at, updated_at) VALUES ($1, $2, $3, 'open', $4, $5, \
                         $6, $6) RETURNING id",
                    )
                    .bind(r)
                    .bind(table_id)
                    .bind(order_id)
                    .bind(open.covers)
                    .bind(open.opened_by)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?
                }
                (None, None) => return Ok(Changed::NotFound),
            };
            // New orders join the open check: a table's that have none, or
            // the takeaway order itself — found by key, never by scanning
            // the restaurant's orders.
            let (table_id, order_id, status): (Option<i64>, Option<i64>, String) = sqlx::query_as(
                "SELECT table_id, order_id, status FROM checks WHERE restaurant_id = $1 \
                     AND id = $2",
            )
            .bind(r)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            if matches!(status.as_str(), "open" | "partially_paid") {
                let (column, key) = match (table_id, order_id) {
                    (Some(t), _) => ("table_id", t),
                    (None, Some(o)) => ("id", o),
                    (None, None) => ("id", 0),
                };
                sqlx::query(&format!(
                    "UPDATE orders SET check_id = $2 WHERE restaurant_id = $1 AND {column} = $3 \
                     AND check_id IS NULL AND status NOT IN ('closed', 'cancelled')"
                ))
                .bind(r)
                .bind(id)
                .bind(key)
                .execute(&mut *tx)
                .await?;
            }
            let key = plan.payment_key();
            let mut before = check_facts!(tx, r, id, key);
            before.just_opened = opened;
            let write = match plan.decide(&before) {
                Ok(write) => write,
                Err(e) => return Ok(Changed::Refused(e)),
            };
            if let Some(d) = &write.discount {
                sqlx::query(
                    "INSERT INTO check_discounts (restaurant_id, check_id, line_id, kind, value, \
                     comp, reason, by_user, approved_by, created_at) VALUES ($1, $2, $3, $4, $5, \
                     $6, $7, $8, $9, $10)",
                )
                .bind(r)
                .bind(id)
                .bind(d.line_id)
                .bind(d.kind.as_str())
                .bind(d.value)
                .bind(d.comp)
                .bind(&d.reason)
                .bind(d.by_user)
                .bind(d.approved_by)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            let mut payment = None;
            let (mut paid, mut tip, mut refunded) = (0, 0, 0);
            if let Some(p) = &write.payment {
                let row: PaymentRow = sqlx::query_as(&format!(
                    "INSERT INTO payments (restaurant_id, check_id, part, method, amount_cents, \
                     tip_cents, tendered_cents, change_cents, reference, idempotency_key, \
                     request_hash, by_user, by_role, created_at, business_day) VALUES ($1, $2, \
                     $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                     RETURNING {PAYMENT_COLS}"
                ))
                .bind(r)
                .bind(id)
                .bind(p.part)
                .bind(p.method.as_str())
                .bind(p.amount_cents)
                .bind(p.tip_cents)
                .bind(p.tendered_cents)
                .bind(p.change_cents)
                .bind(&p.reference)
                .bind(&p.idempotency_key)
                .bind(&p.request_hash)
                .bind(p.by_user)
                .bind(p.by_role.as_str())
                .bind(now)
                .bind(&write.business_day)
                .fetch_one(&mut *tx)
                .await?;
                if let Some(intent) = &p.intent_id {
                    sqlx::query(
                        "UPDATE payment_intents SET status = 'succeeded', payment_id = $3 \
                         WHERE restaurant_id = $1 AND id = $2",
                    )
                    .bind(r)
                    .bind(intent)
                    .bind(row.id)
                    .execute(&mut *tx)
                    .await?;
                }
                (paid, tip) = (p.amount_cents, p.tip_cents);
                payment = Some(row);
            }
            if let Some(refund) = &write.refund {
                // Never more back than the payment took, whatever was decided.
                let done = sqlx::query(
                    "UPDATE payments SET refunded_cents = refunded_cents + $3 \
                     WHERE restaurant_id = $1 AND id = $2 \
                     AND refunded_cents + $3 <= amount_cents + tip_cents",
                )
                .bind(r)
                .bind(refund.payment_id)
                .bind(refund.amount_cents)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(Changed::Refused(plan.overdrawn()));
                }
                sqlx::query(
                    "INSERT INTO refunds (restaurant_id, payment_id, check_id, amount_cents, \
                     reason, by_user, created_at, business_day) VALUES ($1, $2, $3, $4, $5, $6, \
                     $7, $8)",
                )
                .bind(r)
                .bind(refund.payment_id)
                .bind(id)
                .bind(refund.amount_cents)
                .bind(&refund.reason)
                .bind(refund.by_user)
                .bind(now)
                .bind(&write.business_day)
                .execute(&mut *tx)
                .await?;
                refunded = refund.amount_cents;
            }
            let a = &write.amounts;
            // The conditional update: money is added only while the paid
            // amount stays within the total.
            let done = sqlx::query(
                "UPDATE checks SET status = $3, covers = $4, split = $5, subtotal_cents = $6, \
                 discount_cents = $7, comp_cents = $8, service_cents = $9, tax_cents = $10, \
                 total_cents = $11, paid_cents = paid_cents + $12, tip_cents = tip_cents + $13, \
                 refunded_cents = refunded_cents + $14, void_reason = COALESCE($15, void_reason), \
                 updated_at = $16, \
                 paid_at = CASE WHEN $17 THEN NULL WHEN $18 IS NOT NULL \
                   THEN COALESCE(paid_at, $16) ELSE paid_at END, \
                 paid_day = CASE WHEN $17 THEN NULL ELSE COALESCE(paid_day, $18) END, \
                 closed_at = CASE WHEN $17 THEN NULL WHEN $19 THEN $16 ELSE closed_at END, \
                 frozen = CASE WHEN $17 THEN NULL ELSE frozen END \
                 WHERE restaurant_id = $1 AND id = $2 AND paid_cents + $12 <= $11",
            )
            .bind(r)
            .bind(id)
            .bind(write.status.as_str())
            .bind(write.covers)
            .bind(&write.split)
            .bind(a.subtotal_cents)
            .bind(a.discount_cents)
            .bind(a.comp_cents)
            .bind(a.service_cents)
            .bind(a.tax_cents)
            .bind(a.total_cents)
            .bind(paid)
            .bind(tip)
            .bind(refunded)
            .bind(&write.void_reason)
            .bind(now)
            .bind(write.reopened)
            .bind(&write.paid_day)
            .bind(write.closed)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(Changed::Refused(plan.overdrawn()));
            }
            if write.receipt {
                let next: i64 = sqlx::query_scalar(
                    "INSERT INTO receipt_counters (restaurant_id, last_no) VALUES ($1, 1) \
                     ON CONFLICT (restaurant_id) DO UPDATE \
                     SET last_no = receipt_counters.last_no + 1 RETURNING last_no",
                )
                .bind(r)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE checks SET receipt_no = $3 WHERE restaurant_id = $1 AND id = $2 \
                     AND receipt_no IS NULL",
                )
                .bind(r)
                .bind(id)
                .bind(next)
                .execute(&mut *tx)
                .await?;
            }
            let mut closed_orders = Vec::new();
            for order_id in &write.close_orders {
                let Some(before_order) = before.orders.iter().find(|o| o.id == *order_id) else {
                    continue;
                };
                let row: Option<(String, i64)> = sqlx::query_as(
                    "UPDATE orders SET status = 'closed', updated_at = $3 WHERE restaurant_id = $1 \
                     AND id = $2 AND status = 'served' RETURNING business_day, hour_start",
                )
                .bind(r)
                .bind(order_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((day, hour)) = row else { continue };
                let mut after_order = before_order.clone();
                after_order.status = OrderStatus::Closed;
                tx.record_stats(
                    r,
                    &day,
                    hour,
                    &crate::stats::delta(Some(before_order), &after_order),
                )
                .await?;
                closed_orders.push((before_order.clone(), after_order));
            }
            let mut table = None;
            if let (Some(t), false) = (before.check.table_id, closed_orders.is_empty()) {
                table = settle_table!(
                    tx,
                    r,
                    t,
                    restohub_protocol::api::tables::TableStatus::Cleaning,
                    now,
                    plan
                );
            }
            let mut after = check_facts!(tx, r, id, key);
            if !after.check.status.is_open() && after.check.frozen.is_none() {
                let frozen = plan.frozen(&after);
                let text = frozen.as_ref().map(super::append::json).transpose()?;
                sqlx::query("UPDATE checks SET frozen = $3 WHERE restaurant_id = $1 AND id = $2")
                    .bind(r)
                    .bind(id)
                    .bind(&text)
                    .execute(&mut *tx)
                    .await?;
                after.check.frozen = text;
                after.frozen = frozen;
            }
            // A void check lets go of its open orders: the table's next
            // check takes them (its figures stay frozen with it).
            if after.check.status == CheckStatus::Void {
                sqlx::query(
                    "UPDATE orders SET check_id = NULL WHERE restaurant_id = $1 \
                     AND check_id = $2 AND status NOT IN ('closed', 'cancelled')",
                )
                .bind(r)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            let changed = CheckChanged {
                before: &before,
                after: &after,
                opened,
                payment: payment.as_ref(),
                refund: write.refund.as_ref(),
                closed_orders: &closed_orders,
                table: table.as_ref(),
            };
            let drafts = plan.events(&changed);
            tx.append_audit(r, &plan.audit(&changed)).await?;
            let appended = tx.append_events(r, drafts, now).await?;
            tx.commit().await?;
            Changed::Done(
                CheckDone {
                    facts: after,
                    payment,
                    opened,
                },
                appended,
            )
        });
        self.meters
            .took(crate::instruments::Transaction::ChangeCheck, started);
        Ok(result)
    }
}
