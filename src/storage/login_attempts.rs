//! Failed-login counting and account locks, per (restaurant, email).
//!
//! Kept in the database so a lock holds across instances and restarts. Rows
//! exist for emails with no account too, and for restaurant slugs that do
//! not exist, so lockout gives away nothing about which accounts or
//! restaurants exist.

use super::{BeginWrite, Store};

/// Whose login attempts: a restaurant's, or those made at a slug that names
/// no restaurant (kept apart, counted the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginKey<'a> {
    Restaurant(i64),
    UnknownSlug(&'a str),
}

impl LoginKey<'_> {
    /// The table and its key column.
    fn table(self) -> (&'static str, &'static str) {
        match self {
            LoginKey::Restaurant(_) => ("login_attempts", "restaurant_id"),
            LoginKey::UnknownSlug(_) => ("unknown_login_attempts", "slug"),
        }
    }
}

/// Binds the key as the query's next parameter.
macro_rules! bind_key {
    ($query:expr, $key:expr) => {
        match $key {
            LoginKey::Restaurant(id) => $query.bind(id),
            LoginKey::UnknownSlug(slug) => $query.bind(slug),
        }
    };
}

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
        key: LoginKey<'_>,
        email: &str,
        now: i64,
    ) -> sqlx::Result<Option<i64>> {
        let (table, column) = key.table();
        let sql = format!(
            "SELECT locked_until FROM {table} WHERE {column} = $1 \
             AND email = $2 AND locked_until > $3"
        );
        on_db!(self, |pool| bind_key!(sqlx::query_scalar(&sql), key)
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
        key: LoginKey<'_>,
        email: &str,
        now: i64,
        lock_for: fn(i64) -> Option<i64>,
    ) -> sqlx::Result<LoginLock> {
        let (table, column) = key.table();
        let count = format!(
            "INSERT INTO {table} ({column}, email, failures) \
             VALUES ($1, $2, 1) ON CONFLICT ({column}, email) \
             DO UPDATE SET failures = {table}.failures + 1 \
             RETURNING failures"
        );
        let lock = format!(
            "UPDATE {table} SET locked_until = $3 \
             WHERE {column} = $1 AND email = $2"
        );
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let failures: i64 = bind_key!(sqlx::query_scalar(&count), key)
                .bind(email)
                .fetch_one(&mut *tx)
                .await?;
            let locked_until = lock_for(failures).map(|ms| now + ms);
            if let Some(until) = locked_until {
                bind_key!(sqlx::query(&lock), key)
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
    pub async fn clear_login_failures(&self, key: LoginKey<'_>, email: &str) -> sqlx::Result<()> {
        let (table, column) = key.table();
        let sql = format!("DELETE FROM {table} WHERE {column} = $1 AND email = $2");
        on_writer!(self, |pool| bind_key!(sqlx::query(&sql), key)
            .bind(email)
            .execute(pool)
            .await
            .map(|_| ()))
    }
}
