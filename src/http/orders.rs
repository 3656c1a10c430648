//! `POST /orders` (the same placement as the WebSocket `order.place`, for
//! integrations) and `GET /orders/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use restohub_protocol::api::orders::{Order, PlaceOrder, Placed};
use restohub_protocol::Role;

use super::extract::{Id, Json};
use super::reply::OrNotFound;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders", post(place))
        .route("/orders/{id}", get(show))
}

/// 201 for a new order, 200 for a retry that returned the original.
async fn place(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<PlaceOrder>,
) -> ApiResult<(StatusCode, axum::Json<Placed>)> {
    let placed = crate::orders::place(&state, &caller, req).await?;
    let status = if placed.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, axum::Json(placed)))
}

/// Staff see any order of the restaurant; a guest only its table's.
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<Order>> {
    let order = state
        .store
        .order(caller.restaurant_id, id)
        .await?
        .filter(|o| caller.role != Role::Guest || o.table_id == caller.table_id);
    order.or_not_found("order")
}
