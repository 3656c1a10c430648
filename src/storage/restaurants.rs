//! Restaurants: the tenant every other row belongs to.

use restohub_protocol::api::restaurant::{Restaurant, RestaurantPatch};

use super::Store;

macro_rules! cols {
    () => {
        "id, slug, name, timezone, currency, require_mfa, created_at, fire_next_on, \
         fire_after_ready_minutes, recall_window_minutes"
    };
}

impl Store {
    pub async fn create_restaurant(
        &self,
        slug: &str,
        name: &str,
        timezone: &str,
        currency: &str,
        now: i64,
    ) -> sqlx::Result<Restaurant> {
        on_writer!(self, |pool| sqlx::query_as(concat!(
            "INSERT INTO restaurants (slug, name, timezone, currency, created_at) ",
            "VALUES ($1, $2, $3, $4, $5) RETURNING ",
            cols!()
        ))
        .bind(slug)
        .bind(name)
        .bind(timezone)
        .bind(currency)
        .bind(now)
        .fetch_one(pool)
        .await)
    }

    pub async fn restaurant(&self, id: i64) -> sqlx::Result<Option<Restaurant>> {
        on_db!(self, |pool| sqlx::query_as(concat!(
            "SELECT ",
            cols!(),
            " FROM restaurants WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await)
    }

    pub async fn restaurant_by_slug(&self, slug: &str) -> sqlx::Result<Option<Restaurant>> {
        on_db!(self, |pool| sqlx::query_as(concat!(
            "SELECT ",
            cols!(),
            " FROM restaurants WHERE slug = $1"
        ))
        .bind(slug)
        .fetch_optional(pool)
        .await)
    }

    pub async fn update_restaurant(
        &self,
        id: i64,
        patch: &RestaurantPatch,
    ) -> sqlx::Result<Option<Restaurant>> {
        on_writer!(self, |pool| sqlx::query_as(concat!(
            "UPDATE restaurants SET name = COALESCE($2, name), timezone = COALESCE($3, timezone), ",
            "currency = COALESCE($4, currency), require_mfa = COALESCE($5, require_mfa), ",
            "fire_next_on = COALESCE($6, fire_next_on), ",
            "fire_after_ready_minutes = CASE WHEN $7 THEN $8 ELSE fire_after_ready_minutes END, ",
            "recall_window_minutes = COALESCE($9, recall_window_minutes) ",
            "WHERE id = $1 RETURNING ",
            cols!()
        ))
        .bind(id)
        .bind(&patch.name)
        .bind(&patch.timezone)
        .bind(&patch.currency)
        .bind(patch.require_mfa)
        .bind(patch.fire_next_on.map(|f| f.as_str()))
        .bind(patch.fire_after_ready_minutes.is_some())
        .bind(patch.fire_after_ready_minutes.flatten())
        .bind(patch.recall_window_minutes)
        .fetch_optional(pool)
        .await)
    }
}
