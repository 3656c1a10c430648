//! Reading checks and payments back outside a change.

use restohub_protocol::api::checks::{Check, CheckStatus, Split};

use super::super::orders::{OrderRow, ORDER_COLS};
use super::super::snapshots::{group, OwnedLine};
use super::super::{BeginWrite, PageQuery, Store};
use super::{
    tax_rate, CheckFacts, CheckRow, DiscountRow, MoneySettings, PaymentRow, TaxRateRow, CHECK_COLS,
    MONEY_SETTINGS, PAYMENT_COLS, TAX_RATES,
};

impl Store {
    /// A check's facts, read in one snapshot (no orders join it).
    pub async fn check_facts(&self, r: i64, id: i64) -> sqlx::Result<Option<CheckFacts>> {
        let facts = on_db!(self, |pool| {
            let mut tx = pool.begin_snapshot().await?;
            let found: Option<i64> =
                sqlx::query_scalar("SELECT id FROM checks WHERE restaurant_id = $1 AND id = $2")
                    .bind(r)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            match found {
                Some(id) => {
                    let key: Option<&str> = None;
                    let facts = check_facts!(tx, r, id, key);
                    tx.commit().await?;
                    Some(facts)
                }
                None => None,
            }
        });
        Ok(facts)
    }

    /// One page of the ids of a restaurant's checks, optionally only those
    /// of one status or table.
    pub async fn check_ids(
        &self,
        r: i64,
        status: Option<CheckStatus>,
        table_id: Option<i64>,
        page: PageQuery,
    ) -> sqlx::Result<Vec<i64>> {
        on_db!(self, |pool| sqlx::query_scalar(
            "SELECT id FROM checks WHERE restaurant_id = $1 AND ($2 IS NULL \
             OR status = $2) AND ($3 IS NULL OR table_id = $3) AND id > $4 \
             ORDER BY id LIMIT $5"
        )
        .bind(r)
        .bind(status.map(|s| s.as_str()))
        .bind(table_id)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(pool)
        .await)
    }

    /// The live (open or partially paid) check of a table, if any.
    pub async fn open_check_of_table(&self, r: i64, table: i64) -> sqlx::Result<Option<i64>> {
        on_db!(self, |pool| sqlx::query_scalar(
            "SELECT id FROM checks WHERE restaurant_id = $1 AND table_id = $2 \
             AND status IN ('open', 'partially_paid')"
        )
        .bind(r)
        .bind(table)
        .fetch_optional(pool)
        .await)
    }

    /// The status of the check an order belongs to, if it has one.
    pub async fn order_check_status(
        &self,
        r: i64,
        order_id: i64,
    ) -> sqlx::Result<Option<CheckStatus>> {
        let status: Option<String> = on_db!(self, |pool| sqlx::query_scalar(
            "SELECT c.status FROM orders o JOIN checks c ON c.restaurant_id = o.restaurant_id \
             AND c.id = o.check_id WHERE o.restaurant_id = $1 AND o.id = $2"
        )
        .bind(r)
        .bind(order_id)
        .fetch_optional(pool)
        .await)?;
        status
            .map(|s| {
                CheckStatus::try_from(s).map_err(|e| {
                    super::super::corrupt(format!("check of order {order_id}"), "status", e)
                })
            })
            .transpose()
    }

    /// The payment a key recorded, anywhere in the restaurant.
    pub async fn payment_by_key(&self, r: i64, key: &str) -> sqlx::Result<Option<PaymentRow>> {
        on_db!(self, |pool| sqlx::query_as(&format!(
            "SELECT {PAYMENT_COLS} FROM payments WHERE restaurant_id = $1 AND idempotency_key = $2"
        ))
        .bind(r)
        .bind(key)
        .fetch_optional(pool)
        .await)
    }

    /// The check a payment belongs to.
    pub async fn payment_check(&self, r: i64, payment_id: i64) -> sqlx::Result<Option<i64>> {
        on_db!(self, |pool| sqlx::query_scalar(
            "SELECT check_id FROM payments WHERE restaurant_id = $1 AND id = $2"
        )
        .bind(r)
        .bind(payment_id)
        .fetch_optional(pool)
        .await)
    }

    /// A table's label (for a receipt).
    pub async fn table_label(&self, r: i64, table: i64) -> sqlx::Result<Option<String>> {
        on_db!(self, |pool| sqlx::query_scalar(
            "SELECT label FROM dining_tables WHERE restaurant_id = $1 AND id = $2"
        )
        .bind(r)
        .bind(table)
        .fetch_optional(pool)
        .await)
    }
}
