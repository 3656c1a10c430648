//! Kitchen stations.

use restohub_protocol::api::stations::{Station, StationPatch};

use super::{PageQuery, Store};

impl Store {
    pub async fn create_station(&self, restaurant: i64, name: &str) -> sqlx::Result<Station> {
        on_writer!(self, |pool| sqlx::query_as(
            "INSERT INTO stations (restaurant_id, name) VALUES ($1, $2) \
             RETURNING id, name"
        )
        .bind(restaurant)
        .bind(name)
        .fetch_one(pool)
        .await)
    }

    pub async fn station(&self, restaurant: i64, id: i64) -> sqlx::Result<Option<Station>> {
        on_db!(self, |pool| sqlx::query_as(
            "SELECT id, name FROM stations WHERE restaurant_id = $1 AND id = $2"
        )
        .bind(restaurant)
        .bind(id)
        .fetch_optional(pool)
        .await)
    }

    pub async fn stations(&self, restaurant: i64, page: PageQuery) -> sqlx::Result<Vec<Station>> {
        on_db!(self, |pool| sqlx::query_as(
            "SELECT id, name FROM stations WHERE restaurant_id = $1 \
             AND id > $2 ORDER BY id LIMIT $3"
        )
        .bind(restaurant)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(pool)
        .await)
    }

    pub async fn update_station(
        &self,
        restaurant: i64,
        id: i64,
        patch: &StationPatch,
    ) -> sqlx::Result<Option<Station>> {
        on_writer!(self, |pool| sqlx::query_as(
            "UPDATE stations SET name = COALESCE($3, name) WHERE restaurant_id = $1 \
             AND id = $2 RETURNING id, name"
        )
        .bind(restaurant)
        .bind(id)
        .bind(&patch.name)
        .fetch_optional(pool)
        .await)
    }

    /// Fails with a foreign-key violation while menu items still use it.
    pub async fn delete_station(&self, restaurant: i64, id: i64) -> sqlx::Result<bool> {
        on_writer!(self, |pool| sqlx::query(
            "DELETE FROM stations WHERE restaurant_id = $1 AND id = $2"
        )
        .bind(restaurant)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() > 0))
    }
}
