//! `/stations`: kitchen stations. Managers configure; all staff read.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use restohub_protocol::api::stations::{NewStation, Station, StationPatch};
use restohub_protocol::Page;

use super::extract::{Id, Json, Query};
use super::pagination::PageParams;
use super::reply::{created, deleted, OrNotFound};
use crate::auth::Caller;
use crate::error::{on_constraint, ApiResult};
use crate::state::AppState;

const DUPLICATE: &str = "a station with this name already exists";
const IN_USE: &str = "station is still used by menu items";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stations", get(list).post(create))
        .route("/stations/{id}", get(show).patch(update).delete(remove))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> ApiResult<axum::Json<Page<Station>>> {
    caller.require_staff()?;
    let rows = state
        .store
        .stations(caller.restaurant_id, params.query()?)
        .await?;
    Ok(axum::Json(params.page(rows, |s| s.id)))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(new): Json<NewStation>,
) -> ApiResult<(StatusCode, axum::Json<Station>)> {
    caller.require_manager()?;
    let station = state
        .store
        .create_station(caller.restaurant_id, new.name.trim())
        .await
        .map_err(on_constraint(DUPLICATE, IN_USE))?;
    created(station)
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<Station>> {
    caller.require_staff()?;
    state
        .store
        .station(caller.restaurant_id, id)
        .await?
        .or_not_found("station")
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(mut patch): Json<StationPatch>,
) -> ApiResult<axum::Json<Station>> {
    caller.require_manager()?;
    patch.name = patch.name.map(|n| n.trim().to_owned());
    state
        .store
        .update_station(caller.restaurant_id, id, &patch)
        .await
        .map_err(on_constraint(DUPLICATE, IN_USE))?
        .or_not_found("station")
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    caller.require_manager()?;
    let deleted_any = state
        .store
        .delete_station(caller.restaurant_id, id)
        .await
        .map_err(on_constraint(DUPLICATE, IN_USE))?;
    deleted(deleted_any, "station")
}
