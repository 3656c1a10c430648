//! `/orders`: placing an order (the same placement as the WebSocket
//! `order.place`), reading it, and the kitchen lifecycle (the same use cases
//! as `item.set_status`, `item.void`, `order.set_status`, `order.cancel`,
//! `order.fire_course`, `order.rush`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use restohub_protocol::api::orders::{
    CancelOrder, FireCourse, Order, PlaceOrder, Placed, RushOrder, SetLineStatus, SetOrderStatus,
    VoidLine,
};

use super::extract::{Id, Json};
use crate::app::expo;
use crate::app::kitchen::{self, Action};
use crate::app::orders;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders", post(place))
        .route("/orders/{id}", get(show))
        .route("/orders/{id}/status", post(set_status))
        .route("/orders/{id}/cancel", post(cancel))
        .route("/orders/{id}/fire", post(fire_course))
        .route("/orders/{id}/rush", post(rush))
        .route("/orders/{id}/lines/{line_id}/status", post(set_line_status))
        .route("/orders/{id}/lines/{line_id}/void", post(void_line))
}

/// 201 for a new order, 200 for a retry that returned the original.
async fn place(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<PlaceOrder>,
) -> ApiResult<(StatusCode, axum::Json<Placed>)> {
    let placed = orders::place(&state, &caller, req).await?;
    let status = if placed.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, axum::Json(placed)))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<Order>> {
    orders::order(&state, &caller, id).await.map(axum::Json)
}

async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(body): Json<SetOrderStatus>,
) -> ApiResult<axum::Json<Order>> {
    let action = Action::SetOrder { to: body.status };
    kitchen::act_with_reason(&state, &caller, id, action, body.reason)
        .await
        .map(axum::Json)
}

async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(body): Json<CancelOrder>,
) -> ApiResult<axum::Json<Order>> {
    expo::cancel(&state, &caller, id, body)
        .await
        .map(axum::Json)
}

async fn fire_course(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(body): Json<FireCourse>,
) -> ApiResult<axum::Json<Order>> {
    expo::fire_course(&state, &caller, id, body.course)
        .await
        .map(axum::Json)
}

async fn rush(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(body): Json<RushOrder>,
) -> ApiResult<axum::Json<Order>> {
    expo::rush(&state, &caller, id, body.rush)
        .await
        .map(axum::Json)
}

async fn set_line_status(
    State(state): State<AppState>,
    caller: Caller,
    LineId(id, line_id): LineId,
    Json(body): Json<SetLineStatus>,
) -> ApiResult<axum::Json<Order>> {
    let action = Action::SetLine {
        line_id,
        to: body.status,
    };
    act(&state, &caller, id, action).await
}

async fn void_line(
    State(state): State<AppState>,
    caller: Caller,
    LineId(id, line_id): LineId,
    Json(body): Json<VoidLine>,
) -> ApiResult<axum::Json<Order>> {
    expo::void_line(&state, &caller, id, line_id, body)
        .await
        .map(axum::Json)
}

async fn act(
    state: &AppState,
    caller: &Caller,
    id: i64,
    action: Action,
) -> ApiResult<axum::Json<Order>> {
    kitchen::act(state, caller, id, action)
        .await
        .map(axum::Json)
}

/// `{id}/lines/{line_id}`, both positive integers.
struct LineId(i64, i64);

impl axum::extract::FromRequestParts<AppState> for LineId {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let Path((id, line)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("order line"))?;
        match (id.parse::<i64>(), line.parse::<i64>()) {
            (Ok(id), Ok(line)) if id > 0 && line > 0 => Ok(LineId(id, line)),
            _ => Err(ApiError::not_found("order line")),
        }
    }
}
