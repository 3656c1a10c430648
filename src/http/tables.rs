//! `/tables`: the edge of [`crate::app::floor`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use restohub_protocol::api::tables::{NewTable, Table, TablePatch};
use restohub_protocol::Page;

use super::extract::{Id, Json, Query};
use super::pagination::PageParams;
use super::reply::{created, no_content};
use crate::app::floor;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tables", get(list).post(create))
        .route("/tables/{id}", get(show).patch(update).delete(remove))
        .route("/tables/{id}/guest-code", post(rotate_code))
        .route("/tables/{id}/call-waiter", post(call_waiter))
        .route("/tables/{id}/accept-call", post(accept_call))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> ApiResult<axum::Json<Page<Table>>> {
    let rows = floor::tables(&state, &caller, params.query()?).await?;
    Ok(axum::Json(params.page(rows, |t| t.id)))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(new): Json<NewTable>,
) -> ApiResult<(StatusCode, axum::Json<Table>)> {
    created(floor::create_table(&state, &caller, new).await?)
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<Table>> {
    floor::table(&state, &caller, id).await.map(axum::Json)
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<TablePatch>,
) -> ApiResult<axum::Json<Table>> {
    floor::update_table(&state, &caller, id, patch)
        .await
        .map(axum::Json)
}

async fn rotate_code(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<Table>> {
    floor::rotate_guest_code(&state, &caller, id)
        .await
        .map(axum::Json)
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    no_content(floor::delete_table(&state, &caller, id).await)
}

/// The same call as `table.call_waiter`; 204 once the waiters are told
/// (or when the table's call was already open).
async fn call_waiter(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    no_content(
        floor::call_waiter(&state, &caller, Some(id))
            .await
            .map(|_| ()),
    )
}

/// The same as `table.accept_call`: 204 once the other waiters are told.
async fn accept_call(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    no_content(floor::accept_call(&state, &caller, id).await.map(|_| ()))
}
