//! Liveness and readiness, with per-component status and since when
//! (tracked in [`crate::readiness`]).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use restohub_protocol::api::health::{ComponentState, Health};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
}

async fn live() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        components: BTreeMap::new(),
    })
}

async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let components = crate::readiness::check(&state.dependencies()).await;
    let all_up = components
        .values()
        .all(|c| c.status != ComponentState::Down);
    let (status, word) = if all_up {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "degraded")
    };
    (
        status,
        Json(Health {
            status: word.into(),
            components,
        }),
    )
}
