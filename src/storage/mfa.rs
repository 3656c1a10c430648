//! MFA state of staff accounts: the TOTP secret (pending while enrolling),
//! the last accepted time step, and hashed recovery codes.

use super::{BeginWrite, Store};

/// An account's MFA as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MfaState {
    /// Base32 secret once MFA is on.
    pub secret: Option<String>,
    /// Base32 secret of an enrolment not yet confirmed.
    pub pending: Option<String>,
    /// The last TOTP time step a code was accepted for.
    pub last_step: i64,
}

impl Store {
    pub async fn mfa_state(&self, restaurant: i64, user: i64) -> sqlx::Result<Option<MfaState>> {
        on_db!(self, |pool| sqlx::query_as(
            "SELECT mfa_secret AS secret, mfa_pending_secret AS pending, \
             mfa_last_step AS last_step FROM users WHERE restaurant_id = $1 AND id = $2"
        )
        .bind(restaurant)
        .bind(user)
        .fetch_optional(pool)
        .await)
    }

    /// Starts (or restarts) an enrolment with `secret`; `false` if there is
    /// no such account.
    pub async fn set_mfa_pending(
        &self,
        restaurant: i64,
        user: i64,
        secret: &str,
    ) -> sqlx::Result<bool> {
        on_writer!(self, |pool| sqlx::query(
            "UPDATE users SET mfa_pending_secret = $3 WHERE restaurant_id = $1 AND id = $2"
        )
        .bind(restaurant)
        .bind(user)
        .bind(secret)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() > 0))
    }

    /// Turns MFA on with the pending secret `secret` (if it is still the
    /// pending one), accepted at `step`, replacing any recovery codes with
    /// `code_hashes`. `false` if the enrolment changed meanwhile.
    pub async fn confirm_mfa(
        &self,
        restaurant: i64,
        user: i64,
        secret: &str,
        step: i64,
        code_hashes: &[String],
    ) -> sqlx::Result<bool> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let confirmed = sqlx::query(
                "UPDATE users SET mfa_secret = $3, mfa_pending_secret = NULL, \
                 mfa_last_step = $4 WHERE restaurant_id = $1 AND id = $2 \
                 AND mfa_pending_secret = $3",
            )
            .bind(restaurant)
            .bind(user)
            .bind(secret)
            .bind(step)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            if !confirmed {
                return Ok(false);
            }
            sqlx::query("DELETE FROM mfa_recovery_codes WHERE restaurant_id = $1 AND user_id = $2")
                .bind(restaurant)
                .bind(user)
                .execute(&mut *tx)
                .await?;
            for hash in code_hashes {
                sqlx::query(
                    "INSERT INTO mfa_recovery_codes (restaurant_id, user_id, code_hash) \
                     VALUES ($1, $2, $3)",
                )
                .bind(restaurant)
                .bind(user)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Accepts a code for time step `step` once: `false` if a code for this
    /// step or a later one was already accepted (a replayed code).
    pub async fn use_mfa_step(&self, restaurant: i64, user: i64, step: i64) -> sqlx::Result<bool> {
        on_writer!(self, |pool| sqlx::query(
            "UPDATE users SET mfa_last_step = $3 WHERE restaurant_id = $1 AND id = $2 \
             AND mfa_last_step < $3"
        )
        .bind(restaurant)
        .bind(user)
        .bind(step)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() > 0))
    }

    /// Uses up the recovery code with hash `hash`: `false` if it is not one
    /// of the account's or was used already.
    pub async fn use_recovery_code(
        &self,
        restaurant: i64,
        user: i64,
        hash: &str,
        now: i64,
    ) -> sqlx::Result<bool> {
        on_writer!(self, |pool| sqlx::query(
            "UPDATE mfa_recovery_codes SET used_at = $4 WHERE restaurant_id = $1 \
             AND user_id = $2 AND code_hash = $3 AND used_at IS NULL"
        )
        .bind(restaurant)
        .bind(user)
        .bind(hash)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() > 0))
    }

    /// Turns MFA off and forgets its secret and recovery codes.
    pub async fn disable_mfa(&self, restaurant: i64, user: i64) -> sqlx::Result<bool> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let found = sqlx::query(
                "UPDATE users SET mfa_secret = NULL, mfa_pending_secret = NULL \
                 WHERE restaurant_id = $1 AND id = $2",
            )
            .bind(restaurant)
            .bind(user)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            sqlx::query("DELETE FROM mfa_recovery_codes WHERE restaurant_id = $1 AND user_id = $2")
                .bind(restaurant)
                .bind(user)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(found)
        })
    }
}
