//! Failed-login counting and account locks, per (restaurant, email).
//!
//! Kept in the database so a lock holds across instances and restarts. Rows
//! exist for emails with no account too, so lockout gives away nothing about
//! which accounts exist.

use super::{BeginWrite, Store};

/// The state after a failed login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLock {
    /// Consecutive failures since the last success or unlock.
    pub failures: i64,
    /// Set when this failure locked the account.
    pub locked_until: Option<i64>,
}

impl Store {
    /// When the account is locked at `now`, until when.
    pub async fn login_lock(
        &self,
        restaurant: i64,
        email: &str,
        now: i64,
    ) -> sqlx::Result<Option<i64>> {
        on_db!(self, |pool| sqlx::query_scalar(
            "SELECT locked_until FROM login_attempts WHERE restaurant_id = $1 \
             AND email = $2 AND locked_until > $3"
        )
        .bind(restaurant)
        .bind(email)
        .bind(now)
        .fetch_optional(pool)
        .await)
        .map(Option::flatten)
    }

    /// Counts a failure atomically; `lock_for(failures)` says how long (ms)
    /// the account is then locked, if at all.
    pub async fn record_login_failure(
        &self,
        restaurant: i64,
        email: &str,
        now: i64,
        lock_for: fn(i64) -> Option<i64>,
    ) -> sqlx::Result<LoginLock> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let failures: i64 = sqlx::query_scalar(
                "INSERT INTO login_attempts (restaurant_id, email, failures) \
                 VALUES ($1, $2, 1) ON CONFLICT (restaurant_id, email) \
                 DO UPDATE SET failures = login_attempts.failures + 1 \
                 RETURNING failures",
            )
            .bind(restaurant)
            .bind(email)
            .fetch_one(&mut *tx)
            .await?;
            let locked_until = lock_for(failures).map(|ms| now + ms);
            if let Some(until) = locked_until {
                sqlx::query(
                    "UPDATE login_attempts SET locked_until = $3 \
                     WHERE restaurant_id = $1 AND email = $2",
                )
                .bind(restaurant)
                .bind(email)
                .bind(until)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(LoginLock {
                failures,
                locked_until,
            })
        })
    }

    /// After a successful login, or when a manager unlocks the account.
    pub async fn clear_login_failures(&self, restaurant: i64, email: &str) -> sqlx::Result<()> {
        on_writer!(self, |pool| sqlx::query(
            "DELETE FROM login_attempts WHERE restaurant_id = $1 \
             AND email = $2"
        )
        .bind(restaurant)
        .bind(email)
        .execute(pool)
        .await
        .map(|_| ()))
    }
}
