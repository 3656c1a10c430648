//! Paying at the table: payment intents, the webhook secret, and the
//! signatures of webhooks already taken.

use restohub_protocol::api::checks::IntentStatus;

use super::super::{BeginWrite, Store};

/// A payment intent's row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct IntentRow {
    pub id: String,
    pub restaurant_id: i64,
    pub check_id: i64,
    pub part: Option<i64>,
    pub amount_cents: i64,
    pub tip_cents: i64,
    pub currency: String,
    #[sqlx(try_from = "String")]
    pub status: IntentStatus,
    pub payment_id: Option<i64>,
    pub idempotency_key: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
}

const INTENT_COLS: &str = "id, restaurant_id, check_id, part, amount_cents, tip_cents, currency, \
    status, payment_id, idempotency_key, created_by, created_at, expires_at";

impl Store {
    /// The secret payment webhooks are signed with.
    pub async fn webhook_secret(&self, r: i64) -> sqlx::Result<Option<String>> {
        let secret: Option<Option<String>> = on_db!(self, |pool| sqlx::query_scalar(
            "SELECT payment_webhook_secret FROM restaurants WHERE id = $1"
        )
        .bind(r)
        .fetch_optional(pool)
        .await)?;
        Ok(secret.flatten())
    }

    pub async fn set_webhook_secret(&self, r: i64, secret: &str) -> sqlx::Result<()> {
        on_writer!(self, |pool| sqlx::query(
            "UPDATE restaurants SET payment_webhook_secret = $2 WHERE id = $1"
        )
        .bind(r)
        .bind(secret)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Records a payment intent; the one this caller's key made before if
    /// there is one.
    pub async fn create_intent(&self, intent: &IntentRow) -> sqlx::Result<IntentRow> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let existing: Option<IntentRow> = sqlx::query_as(&format!(
                "SELECT {INTENT_COLS} FROM payment_intents WHERE restaurant_id = $1 \
                 AND idempotency_key = $2"
            ))
            .bind(intent.restaurant_id)
            .bind(&intent.idempotency_key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(existing) = existing {
                return Ok(existing);
            }
            sqlx::query(
                "INSERT INTO payment_intents (id, restaurant_id, check_id, part, amount_cents, \
                 tip_cents, currency, status, payment_id, idempotency_key, created_by, \
                 created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', NULL, \
                 $8, $9, $10, $11)",
            )
            .bind(&intent.id)
            .bind(intent.restaurant_id)
            .bind(intent.check_id)
            .bind(intent.part)
            .bind(intent.amount_cents)
            .bind(intent.tip_cents)
            .bind(&intent.currency)
            .bind(&intent.idempotency_key)
            .bind(&intent.created_by)
            .bind(intent.created_at)
            .bind(intent.expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(intent.clone())
        })
    }

    /// A payment intent by its id, in any restaurant (the webhook finds its
    /// restaurant through it).
    pub async fn intent(&self, id: &str) -> sqlx::Result<Option<IntentRow>> {
        on_db!(self, |pool| sqlx::query_as(&format!(
            "SELECT {INTENT_COLS} FROM payment_intents WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await)
    }

    /// Remembers a webhook's signature; `false` if it was seen before (a
    /// replay). Signatures older than `forget_before` are forgotten: their
    /// timestamps are refused as too old anyway.
    pub async fn remember_signature(
        &self,
        r: i64,
        signature: &str,
        now: i64,
        forget_before: i64,
    ) -> sqlx::Result<bool> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM webhook_signatures WHERE at < $1")
                .bind(forget_before)
                .execute(&mut *tx)
                .await?;
            let fresh = sqlx::query(
                "INSERT INTO webhook_signatures (restaurant_id, signature, at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(r)
            .bind(signature)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            tx.commit().await?;
            Ok(fresh)
        })
    }
}
