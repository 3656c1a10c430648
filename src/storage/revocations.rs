//! Revocations: written in the transaction that causes them, read back by
//! every instance's tail.

use sqlx::{PgConnection, SqliteConnection};

use super::Store;
use crate::auth::revocation::{Revocation, Revoked};

const INSERT: &str = "INSERT INTO revocations (restaurant_id, kind, subject, below, at) \
                      VALUES ($1, $2, $3, $4, $5)";

/// The revocation statements inside an open transaction, on either backend.
pub(crate) trait Revoke {
    /// Records that `revoked` ends tokens of `restaurant` from `at` on.
    async fn revoke(&mut self, restaurant: i64, revoked: &Revoked, at: i64) -> sqlx::Result<()>;

    /// Runs `delete` (a DELETE of one row, bound to `$1` restaurant and `$2`
    /// id) and, if it deleted the row, records `revoked`: the tokens the row
    /// gave end with it. Whether a row was deleted.
    async fn delete_revoking(
        &mut self,
        delete: &str,
        restaurant: i64,
        id: i64,
        revoked: &Revoked,
        at: i64,
    ) -> sqlx::Result<bool>;

    /// Ends the table's visit: a new visit number and a new guest code (the
    /// one a guest may have photographed stops working), and the old
    /// visit's guest tokens revoked.
    async fn end_visit(&mut self, restaurant: i64, table: i64, at: i64) -> sqlx::Result<()>;
}

macro_rules! impl_revoke {
    ($conn:ty) => {
        impl Revoke for $conn {
            async fn revoke(
                &mut self,
                restaurant: i64,
                revoked: &Revoked,
                at: i64,
            ) -> sqlx::Result<()> {
                let (kind, subject, below) = revoked.parts();
                sqlx::query(INSERT)
                    .bind(restaurant)
                    .bind(kind)
                    .bind(subject)
                    .bind(below)
                    .bind(at)
                    .execute(&mut *self)
                    .await
                    .map(drop)
            }

            async fn delete_revoking(
                &mut self,
                delete: &str,
                restaurant: i64,
                id: i64,
                revoked: &Revoked,
                at: i64,
            ) -> sqlx::Result<bool> {
                let deleted = sqlx::query(delete)
                    .bind(restaurant)
                    .bind(id)
                    .execute(&mut *self)
                    .await?
                    .rows_affected()
                    > 0;
                if deleted {
                    self.revoke(restaurant, revoked, at).await?;
                }
                Ok(deleted)
            }

            async fn end_visit(
                &mut self,
                restaurant: i64,
                table: i64,
                at: i64,
            ) -> sqlx::Result<()> {
                let visit: i64 = sqlx::query_scalar(
                    "UPDATE dining_tables SET visit = visit + 1, guest_code = $3 \
                     WHERE restaurant_id = $1 AND id = $2 RETURNING visit",
                )
                .bind(restaurant)
                .bind(table)
                .bind(crate::auth::tokens::guest_code())
                .fetch_one(&mut *self)
                .await?;
                let revoked = Revoked::Table {
                    table_id: table,
                    below: visit,
                };
                self.revoke(restaurant, &revoked, at).await
            }
        }
    };
}

impl_revoke!(SqliteConnection);
impl_revoke!(PgConnection);

type Row = (i64, i64, String, String, i64, i64);

impl Store {
    /// Revocations with an id above `after_id` or written at `since` or
    /// later (the second catches rows that committed after a higher id was
    /// already read), in id order.
    pub async fn revocations_since(
        &self,
        after_id: i64,
        since: i64,
    ) -> sqlx::Result<Vec<Revocation>> {
        let rows: Vec<Row> = on_db!(self, |pool| sqlx::query_as(
            "SELECT id, restaurant_id, kind, subject, below, at FROM revocations \
             WHERE id > $1 OR at >= $2 ORDER BY id"
        )
        .bind(after_id)
        .bind(since)
        .fetch_all(pool)
        .await)?;
        rows.into_iter()
            .map(|(id, restaurant_id, kind, subject, below, at)| {
                let revoked = Revoked::from_parts(&kind, subject, below).ok_or_else(|| {
                    super::corrupt(format!("revocation {id}"), "kind", kind.clone())
                })?;
                Ok(Revocation {
                    id,
                    restaurant_id,
                    revoked,
                    at,
                })
            })
            .collect()
    }

    /// Deletes revocations written before `before`.
    pub async fn prune_revocations(&self, before: i64) -> sqlx::Result<u64> {
        on_writer!(self, |pool| sqlx::query(
            "DELETE FROM revocations WHERE at < $1"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
    }
}
