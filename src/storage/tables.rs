//! Dining tables and their guest codes.

use restohub_protocol::api::tables::{Table, TablePatch};

use restohub_protocol::api::tables::TableStatus;

use super::revocations::Revoke;
use super::{Append, BeginWrite, EventDraft, PageQuery, Store};
use crate::auth::revocation::Revoked;
use crate::events::Event;

macro_rules! cols {
    () => {
        "id, label, seats, status, guest_code"
    };
}

/// A table together with the restaurant it belongs to (for guest logins,
/// which start from a code and no restaurant).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GuestTable {
    pub restaurant_id: i64,
    /// The party's visit, which its guest tokens name.
    pub visit: i64,
    #[sqlx(flatten)]
    pub table: Table,
}

impl Store {
    pub async fn create_table(
        &self,
        restaurant: i64,
        label: &str,
        seats: i64,
        guest_code: &str,
    ) -> sqlx::Result<Table> {
        on_writer!(self, |pool| sqlx::query_as(concat!(
            "INSERT INTO dining_tables (restaurant_id, label, seats, guest_code) \
             VALUES ($1, $2, $3, $4) ",
            "RETURNING ",
            cols!()
        ))
        .bind(restaurant)
        .bind(label)
        .bind(seats)
        .bind(guest_code)
        .fetch_one(pool)
        .await)
    }

    pub async fn table(&self, restaurant: i64, id: i64) -> sqlx::Result<Option<Table>> {
        on_db!(self, |pool| sqlx::query_as(concat!(
            "SELECT ",
            cols!(),
            " FROM dining_tables WHERE restaurant_id = $1 AND id = $2"
        ))
        .bind(restaurant)
        .bind(id)
        .fetch_optional(pool)
        .await)
    }

    pub async fn tables(&self, restaurant: i64, page: PageQuery) -> sqlx::Result<Vec<Table>> {
        on_db!(self, |pool| sqlx::query_as(concat!(
            "SELECT ",
            cols!(),
            " FROM dining_tables WHERE restaurant_id = $1 AND id > $2 \
             ORDER BY id LIMIT $3"
        ))
        .bind(restaurant)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(pool)
        .await)
    }

    pub async fn table_by_guest_code(&self, code: &str) -> sqlx::Result<Option<GuestTable>> {
        on_db!(self, |pool| sqlx::query_as(concat!(
            "SELECT restaurant_id, visit, ",
            cols!(),
            " FROM dining_tables WHERE guest_code = $1"
        ))
        .bind(code)
        .fetch_optional(pool)
        .await)
    }

    /// Changes a table (label, seats, status) in one transaction with the
    /// events `events` drafts from the table before and after, and ends its
    /// visit (see [`Revoke::end_visit`]) when `ends_visit` says the status
    /// change does; `None` if there is no such table.
    pub async fn change_table(
        &self,
        restaurant: i64,
        id: i64,
        patch: &TablePatch,
        now: i64,
        ends_visit: impl FnOnce(TableStatus, TableStatus) -> bool,
        events: impl FnOnce(&Table, &Table) -> Vec<EventDraft>,
    ) -> sqlx::Result<Option<(Table, Vec<Event>)>> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let lock = format!(
                concat!(
                    "SELECT ",
                    cols!(),
                    " FROM dining_tables WHERE restaurant_id = $1 \
                     AND id = $2{}"
                ),
                super::lock_suffix(pool)
            );
            let before: Option<Table> = sqlx::query_as(&lock)
                .bind(restaurant)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(before) = before else {
                return Ok(None);
            };
            let after: Table = sqlx::query_as(concat!(
                "UPDATE dining_tables SET label = COALESCE($3, label), seats = COALESCE($4, \
                 seats), ",
                "status = COALESCE($5, status) WHERE restaurant_id = $1 \
                 AND id = $2 RETURNING ",
                cols!()
            ))
            .bind(restaurant)
            .bind(id)
            .bind(&patch.label)
            .bind(patch.seats)
            .bind(patch.status.map(|s| s.as_str()))
            .fetch_one(&mut *tx)
            .await?;
            let mut after = after;
            if ends_visit(before.status, after.status) {
                tx.end_visit(restaurant, id, now).await?;
                after = sqlx::query_as(&lock)
                    .bind(restaurant)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
            }
            let drafts = events(&before, &after);
            let appended = if drafts.is_empty() {
                Vec::new()
            } else {
                tx.append_events(restaurant, drafts, now).await?
            };
            tx.commit().await?;
            Ok(Some((after, appended)))
        })
    }

    /// A new QR code secret and a new visit: the old card stops working and
    /// the guests who scanned it must scan the new one.
    pub async fn rotate_guest_code(
        &self,
        restaurant: i64,
        id: i64,
        now: i64,
    ) -> sqlx::Result<Option<Table>> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let exists: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM dining_tables WHERE restaurant_id = $1 AND id = $2",
            )
            .bind(restaurant)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if exists.is_none() {
                return Ok(None);
            }
            tx.end_visit(restaurant, id, now).await?;
            tx.commit().await?;
        });
        self.table(restaurant, id).await
    }

    /// Deletes a table; its guests' tokens end with it.
    pub async fn delete_table(&self, restaurant: i64, id: i64, now: i64) -> sqlx::Result<bool> {
        let revoked = Revoked::Table {
            table_id: id,
            below: i64::MAX,
        };
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let deleted = tx
                .delete_revoking(
                    "DELETE FROM dining_tables WHERE restaurant_id = $1 AND id = $2",
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
