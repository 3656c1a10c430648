//! `/menu/items/{id}/modifier-groups`, `/menu/modifier-groups/{id}` and
//! `/menu/modifier-options/{id}`: the edge of [`crate::app::modifiers`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{patch, post};
use axum::Router;
use restohub_protocol::api::modifiers::{
    ModifierGroup, ModifierGroupPatch, ModifierOptionPatch, NewModifierGroup, NewModifierOption,
};

use super::extract::{Id, Json};
use super::reply::{created, no_content};
use crate::app::modifiers;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/menu/items/{id}/modifier-groups", post(create_group))
        .route(
            "/menu/modifier-groups/{id}",
            patch(update_group).delete(remove_group),
        )
        .route("/menu/modifier-groups/{id}/options", post(create_option))
        .route(
            "/menu/modifier-options/{id}",
            patch(update_option).delete(remove_option),
        )
}

async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    Id(item): Id,
    Json(new): Json<NewModifierGroup>,
) -> ApiResult<(StatusCode, axum::Json<ModifierGroup>)> {
    created(modifiers::create_group(&state, &caller, item, new).await?)
}

async fn update_group(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<ModifierGroupPatch>,
) -> ApiResult<axum::Json<ModifierGroup>> {
    modifiers::update_group(&state, &caller, id, patch)
        .await
        .map(axum::Json)
}

async fn remove_group(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    no_content(modifiers::delete_group(&state, &caller, id).await)
}

async fn create_option(
    State(state): State<AppState>,
    caller: Caller,
    Id(group): Id,
    Json(new): Json<NewModifierOption>,
) -> ApiResult<(StatusCode, axum::Json<ModifierGroup>)> {
    created(modifiers::create_option(&state, &caller, group, new).await?)
}

async fn update_option(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<ModifierOptionPatch>,
) -> ApiResult<axum::Json<ModifierGroup>> {
    modifiers::update_option(&state, &caller, id, patch)
        .await
        .map(axum::Json)
}

async fn remove_option(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    no_content(modifiers::delete_option(&state, &caller, id).await)
}
