//! `GET/PATCH /restaurant`: the caller's own restaurant.

use std::str::FromStr;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use restohub_protocol::api::restaurant::{Restaurant, RestaurantPatch};

use super::extract::Json;
use super::reply::OrNotFound;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/restaurant", get(show).patch(update))
}

async fn show(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Restaurant>> {
    state
        .store
        .restaurant(caller.restaurant_id)
        .await?
        .or_not_found("restaurant")
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Json(mut patch): Json<RestaurantPatch>,
) -> ApiResult<axum::Json<Restaurant>> {
    caller.require_manager()?;
    if let Some(tz) = &patch.timezone {
        check_timezone(tz)?;
    }
    if let Some(currency) = &patch.currency {
        check_currency(currency)?;
    }
    patch.name = patch.name.map(|n| n.trim().to_owned());
    state
        .store
        .update_restaurant(caller.restaurant_id, &patch)
        .await?
        .or_not_found("restaurant")
}

pub fn check_timezone(tz: &str) -> Result<(), ApiError> {
    chrono_tz::Tz::from_str(tz).map(|_| ()).map_err(|_| {
        ApiError::invalid_field(
            "timezone",
            "timezone",
            "must be an IANA time zone such as Europe/Berlin",
        )
    })
}

pub fn check_currency(currency: &str) -> Result<(), ApiError> {
    if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "currency",
            "currency",
            "must be an ISO 4217 code such as EUR",
        ))
    }
}
