//! `/users`: the edge of [`crate::app::staff`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use restohub_protocol::api::staff::{NewStaffUser, StaffUser, StaffUserPatch};
use restohub_protocol::Page;

use super::extract::{Id, Json, Query};
use super::pagination::PageParams;
use super::reply::{created, no_content};
use crate::app::staff;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/{id}", get(show).patch(update).delete(remove))
        .route("/users/{id}/unlock", post(unlock))
        .route("/users/{id}/mfa", axum::routing::delete(reset_mfa))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> ApiResult<axum::Json<Page<StaffUser>>> {
    let rows = staff::users(&state, &caller, params.query()?).await?;
    Ok(axum::Json(params.page(rows, |u| u.id)))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(new): Json<NewStaffUser>,
) -> ApiResult<(StatusCode, axum::Json<StaffUser>)> {
    created(staff::create(&state, &caller, new).await?)
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<StaffUser>> {
    staff::user(&state, &caller, id).await.map(axum::Json)
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<StaffUserPatch>,
) -> ApiResult<axum::Json<StaffUser>> {
    staff::update(&state, &caller, id, patch)
        .await
        .map(axum::Json)
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    no_content(staff::delete(&state, &caller, id).await)
}

async fn unlock(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<StaffUser>> {
    staff::unlock(&state, &caller, id).await.map(axum::Json)
}

/// Turns another account's MFA off (a lost phone).
async fn reset_mfa(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    crate::app::mfa::reset(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
