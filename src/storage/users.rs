//! Staff accounts and their password hashes.

use restohub_protocol::api::staff::StaffUser;
use restohub_protocol::Role;

use super::revocations::Revoke;
use super::{BeginWrite, PageQuery, Store};
use crate::auth::revocation::Revoked;

/// The user columns plus the current lock, if any, from `login_attempts`.
/// `$1` is the restaurant, `$2` the current time.
macro_rules! select_users {
    () => {
        concat!(
            "SELECT u.id, u.email, u.name, u.role, ",
            "CASE WHEN a.locked_until > $2 THEN a.locked_until END AS locked_until, u.created_at ",
            "FROM users u LEFT JOIN login_attempts a ",
            "ON a.restaurant_id = u.restaurant_id AND a.email = u.email ",
            "WHERE u.restaurant_id = $1 "
        )
    };
}

pub struct NewUser<'a> {
    /// Already normalised (trimmed, lower case).
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
}

/// `None` leaves a field as it is.
#[derive(Default)]
pub struct UserChanges<'a> {
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
    pub role: Option<Role>,
    pub password_hash: Option<&'a str>,
}

/// What a login checks.
#[derive(Debug, sqlx::FromRow)]
pub struct Credentials {
    pub id: i64,
    pub password_hash: String,
}

impl Store {
    pub async fn create_user(
        &self,
        restaurant: i64,
        user: &NewUser<'_>,
        now: i64,
    ) -> sqlx::Result<StaffUser> {
        let id: i64 = on_writer!(self, |pool| sqlx::query_scalar(
            "INSERT INTO users (restaurant_id, email, name, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
        )
        .bind(restaurant)
        .bind(user.email)
        .bind(user.name)
        .bind(user.role.as_str())
        .bind(user.password_hash)
        .bind(now)
        .fetch_one(pool)
        .await)?;
        self.user(restaurant, id, now)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    pub async fn user(
        &self,
        restaurant: i64,
        id: i64,
        now: i64,
    ) -> sqlx::Result<Option<StaffUser>> {
        on_db!(self, |pool| sqlx::query_as(concat!(
            select_users!(),
            "AND u.id = $3"
        ))
        .bind(restaurant)
        .bind(now)
        .bind(id)
        .fetch_optional(pool)
        .await)
    }

    pub async fn users(
        &self,
        restaurant: i64,
        page: PageQuery,
        now: i64,
    ) -> sqlx::Result<Vec<StaffUser>> {
        on_db!(self, |pool| sqlx::query_as(concat!(
            select_users!(),
            "AND u.id > $3 ORDER BY u.id LIMIT $4"
        ))
        .bind(restaurant)
        .bind(now)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(pool)
        .await)
    }

    pub async fn user_credentials(
        &self,
        restaurant: i64,
        email: &str,
    ) -> sqlx::Result<Option<Credentials>> {
        on_db!(self, |pool| sqlx::query_as(
            "SELECT id, password_hash FROM users WHERE restaurant_id = $1 \
             AND email = $2"
        )
        .bind(restaurant)
        .bind(email)
        .fetch_optional(pool)
        .await)
    }

    /// A new password also revokes every refresh token of the user, so other
    /// devices must log in again.
    /// An account with the session version its new tokens carry.
    pub async fn user_for_token(
        &self,
        restaurant: i64,
        id: i64,
        now: i64,
    ) -> sqlx::Result<Option<(StaffUser, i64)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: StaffUser,
            session_version: i64,
        }
        let row: Option<Row> = on_db!(self, |pool| sqlx::query_as(concat!(
            "SELECT u.id, u.email, u.name, u.role, ",
            "CASE WHEN a.locked_until > $2 THEN a.locked_until END AS locked_until, ",
            "u.created_at, u.session_version ",
            "FROM users u LEFT JOIN login_attempts a ",
            "ON a.restaurant_id = u.restaurant_id AND a.email = u.email ",
            "WHERE u.restaurant_id = $1 AND u.id = $3"
        ))
        .bind(restaurant)
        .bind(now)
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|r| (r.user, r.session_version)))
    }

    /// Changes an account. A new role or password moves its session version
    /// on and revokes the tokens issued before (a new password also ends
    /// every login session), in the same transaction.
    pub async fn update_user(
        &self,
        restaurant: i64,
        id: i64,
        changes: &UserChanges<'_>,
        now: i64,
    ) -> sqlx::Result<Option<StaffUser>> {
        let updated = on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let role: Option<String> = sqlx::query_scalar(&format!(
                "SELECT role FROM users WHERE restaurant_id = $1 AND id = $2{}",
                super::lock_suffix(pool)
            ))
            .bind(restaurant)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(role) = role else {
                return Ok(None);
            };
            let new_role = changes.role.is_some_and(|r| r.as_str() != role);
            let revokes = new_role || changes.password_hash.is_some();
            let version: i64 = sqlx::query_scalar(
                "UPDATE users SET email = COALESCE($3, email), name = COALESCE($4, name), role = \
                 COALESCE($5, role), password_hash = COALESCE($6, password_hash), \
                 session_version = session_version + $7 \
                 WHERE restaurant_id = $1 AND id = $2 RETURNING session_version",
            )
            .bind(restaurant)
            .bind(id)
            .bind(changes.email)
            .bind(changes.name)
            .bind(changes.role.map(Role::as_str))
            .bind(changes.password_hash)
            .bind(i64::from(revokes))
            .fetch_one(&mut *tx)
            .await?;
            if changes.password_hash.is_some() {
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $3 WHERE restaurant_id = $1 \
                     AND user_id = $2 AND revoked_at IS NULL",
                )
                .bind(restaurant)
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            if revokes {
                let revoked = Revoked::Account {
                    user_id: id,
                    below: version,
                };
                tx.revoke(restaurant, &revoked, now).await?;
            }
            tx.commit().await?;
            true
        });
        if !updated {
            return Ok(None);
        }
        self.user(restaurant, id, now).await
    }

    /// Deletes an account and revokes every token it holds.
    pub async fn delete_user(&self, restaurant: i64, id: i64, now: i64) -> sqlx::Result<bool> {
        let revoked = Revoked::Account {
            user_id: id,
            below: i64::MAX,
        };
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let deleted = tx
                .delete_revoking(
                    "DELETE FROM users WHERE restaurant_id = $1 AND id = $2",
                    restaurant,
                    id,
                    &revoked,
                    now,
                )
                .await?;
            tx.commit().await?;
            Ok(deleted)
        })
    }
}
