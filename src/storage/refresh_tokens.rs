//! Refresh tokens: single use, rotated within a family, with reuse detection.

use super::revocations::Revoke;
use super::{BeginWrite, Store};
use crate::auth::revocation::Revoked;

pub struct NewRefreshToken<'a> {
    pub restaurant_id: i64,
    pub user_id: i64,
    pub family: &'a str,
    /// SHA-256 of the token; the token itself is never stored.
    pub token_hash: &'a str,
    pub expires_at: i64,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// It was live: it is now used, and `new_hash` is the family's live token.
    Rotated {
        restaurant_id: i64,
        user_id: i64,
        /// The login session, which the new access token names.
        family: String,
    },
    /// It had been used before: a copy is in someone else's hands, so the
    /// whole family is now revoked.
    Reused,
    /// Unknown, expired or revoked.
    Invalid,
}

impl Store {
    pub async fn insert_refresh_token(
        &self,
        token: &NewRefreshToken<'_>,
        now: i64,
    ) -> sqlx::Result<()> {
        on_writer!(self, |pool| sqlx::query(
            "INSERT INTO refresh_tokens (restaurant_id, user_id, family, token_hash, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(token.restaurant_id)
        .bind(token.user_id)
        .bind(token.family)
        .bind(token.token_hash)
        .bind(now)
        .bind(token.expires_at)
        .execute(pool)
        .await
        .map(|_| ()))
    }

    /// Marks `old_hash` used and stores `new_hash` in its family, in one
    /// transaction; of two concurrent rotations of one token only one wins.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> sqlx::Result<Rotation> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let live: Option<(i64, i64, String)> = sqlx::query_as(
                "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 \
                 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
                 RETURNING restaurant_id, user_id, family",
            )
            .bind(old_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let rotation = if let Some((restaurant_id, user_id, family)) = live {
                sqlx::query(
                    "INSERT INTO refresh_tokens (restaurant_id, user_id, family, token_hash, \
                     created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(restaurant_id)
                .bind(user_id)
                .bind(&family)
                .bind(new_hash)
                .bind(now)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
                Rotation::Rotated {
                    restaurant_id,
                    user_id,
                    family,
                }
            } else {
                let used_family: Option<(i64, String)> = sqlx::query_as(
                    "SELECT restaurant_id, family FROM refresh_tokens WHERE token_hash = $1 \
                     AND used_at IS NOT NULL",
                )
                .bind(old_hash)
                .fetch_optional(&mut *tx)
                .await?;
                match used_family {
                    Some((restaurant, family)) => {
                        sqlx::query(
                            "UPDATE refresh_tokens SET revoked_at = $2 \
                             WHERE family = $1 AND revoked_at IS NULL",
                        )
                        .bind(&family)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        tx.revoke(restaurant, &Revoked::Session { id: family }, now)
                            .await?;
                        Rotation::Reused
                    }
                    None => Rotation::Invalid,
                }
            };
            tx.commit().await?;
            Ok(rotation)
        })
    }

    /// Logout: revokes the token's whole family. False if the token is unknown.
    /// Ends the login session the refresh token belongs to: its refresh
    /// tokens and its access tokens. `false` if the token is unknown or its
    /// session already ended.
    pub async fn revoke_refresh_family(&self, token_hash: &str, now: i64) -> sqlx::Result<bool> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let session: Option<(i64, String)> = sqlx::query_as(
                "SELECT restaurant_id, family FROM refresh_tokens WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((restaurant, family)) = session else {
                return Ok(false);
            };
            let ended = sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL \
                 AND family = $1",
            )
            .bind(&family)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            if ended {
                tx.revoke(restaurant, &Revoked::Session { id: family }, now)
                    .await?;
            }
            tx.commit().await?;
            Ok(ended)
        })
    }
}
