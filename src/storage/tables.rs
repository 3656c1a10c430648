//! Dining tables and their guest codes.

use restohub_protocol::api::tables::{Table, TablePatch};

use super::{Append, BeginWrite, EventDraft, PageQuery, Store};
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
            "SELECT restaurant_id, ",
            cols!(),
            " FROM dining_tables WHERE guest_code = $1"
        ))
        .bind(code)
        .fetch_optional(pool)
        .await)
    }

    /// Changes a table (label, seats, status) in one transaction with the
    /// events `events` drafts from the table before and after; `None` if
    /// there is no such table.
    pub async fn change_table(
        &self,
        restaurant: i64,
        id: i64,
        patch: &TablePatch,
        now: i64,
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

    /// Replaces the QR code secret, so old printed cards stop working.
    pub async fn set_guest_code(
        &self,
        restaurant: i64,
        id: i64,
        guest_code: &str,
    ) -> sqlx::Result<Option<Table>> {
        on_writer!(self, |pool| sqlx::query_as(concat!(
            "UPDATE dining_tables SET guest_code = $3 WHERE restaurant_id = $1 \
             AND id = $2 RETURNING ",
            cols!()
        ))
        .bind(restaurant)
        .bind(id)
        .bind(guest_code)
        .fetch_optional(pool)
        .await)
    }

    pub async fn delete_table(&self, restaurant: i64, id: i64) -> sqlx::Result<bool> {
        on_writer!(self, |pool| sqlx::query(
            "DELETE FROM dining_tables WHERE restaurant_id = $1 \
             AND id = $2"
        )
        .bind(restaurant)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() > 0))
    }
}
