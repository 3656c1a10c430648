//! `GET/PATCH /restaurant`: the edge of [`crate::app::accounts`].

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use restohub_protocol::api::restaurant::{Restaurant, RestaurantPatch};

use super::extract::Json;
use crate::app::accounts;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/restaurant", get(show).patch(update))
}

async fn show(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Restaurant>> {
    accounts::restaurant(&state, &caller).await.map(axum::Json)
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Json(patch): Json<RestaurantPatch>,
) -> ApiResult<axum::Json<Restaurant>> {
    accounts::update_restaurant(&state, &caller, patch)
        .await
        .map(axum::Json)
}
