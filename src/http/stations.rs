//! `/stations`: the edge of [`crate::app::stations`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use restohub_protocol::api::stations::{NewStation, Station, StationPatch};
use restohub_protocol::Page;

use super::extract::{Id, Json, Query};
use super::pagination::PageParams;
use super::reply::{created, no_content};
use crate::app::stations;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stations", get(list).post(create))
        .route("/stations/{id}", get(show).patch(update).delete(remove))
        .route("/stations/{id}/screens", get(screens))
}

/// The station's screens: what each last acknowledged, and when.
async fn screens(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<Vec<restohub_protocol::api::stations::StationScreen>>> {
    let rows = crate::app::screens::station_screens(&state, &caller, id).await?;
    Ok(axum::Json(rows))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> ApiResult<axum::Json<Page<Station>>> {
    let rows = stations::stations(&state, &caller, params.query()?).await?;
    Ok(axum::Json(params.page(rows, |s| s.id)))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(new): Json<NewStation>,
) -> ApiResult<(StatusCode, axum::Json<Station>)> {
    created(stations::create(&state, &caller, new).await?)
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<Station>> {
    stations::station(&state, &caller, id).await.map(axum::Json)
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<StationPatch>,
) -> ApiResult<axum::Json<Station>> {
    stations::update(&state, &caller, id, patch)
        .await
        .map(axum::Json)
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    no_content(stations::delete(&state, &caller, id).await)
}
