//! `/auth/*` and `/guest-sessions`.

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use restohub_protocol::api::auth::{
    GuestSession, GuestSessionRequest, LoginRequest, MfaCode, MfaEnrolment, MfaRecoveryCodes,
    RefreshRequest, Tokens, WhoAmI,
};
use tower_http::set_header::SetResponseHeaderLayer;

use super::client::ClientAddress;
use super::extract::Json;
use super::rate_limit::{self, AuthLimiter};
use crate::app::sessions;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

/// The endpoints that take credentials pass the rate limit, if any.
pub fn router(limiter: Option<AuthLimiter>) -> Router<AppState> {
    let mut credentials = Router::new()
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/guest-sessions", post(guest_session))
        .route("/auth/mfa/enrol", post(mfa_enrol))
        .route("/auth/mfa/confirm", post(mfa_confirm))
        .route("/auth/mfa/disable", post(mfa_disable));
    if let Some(limiter) = limiter {
        credentials = credentials.route_layer(axum::middleware::from_fn_with_state(
            limiter,
            rate_limit::limit,
        ));
    }
    // Responses that carry tokens must never be kept by a cache or proxy.
    let credentials = credentials.layer(SetResponseHeaderLayer::overriding(
        CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ));
    Router::new()
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me))
        .merge(credentials)
}

async fn login(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    Json(req): Json<LoginRequest>,
) -> ApiResult<axum::Json<Tokens>> {
    sessions::login(&state, req, client).await.map(axum::Json)
}

async fn refresh(
    State(state): State<AppState>,
    Json(req): Json<RefreshRequest>,
) -> ApiResult<axum::Json<Tokens>> {
    sessions::refresh(&state, &req.refresh_token)
        .await
        .map(axum::Json)
}

async fn logout(
    State(state): State<AppState>,
    Json(req): Json<RefreshRequest>,
) -> ApiResult<StatusCode> {
    sessions::logout(&state, &req.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<WhoAmI>> {
    sessions::me(&state, &caller).await.map(axum::Json)
}

async fn guest_session(
    State(state): State<AppState>,
    Json(req): Json<GuestSessionRequest>,
) -> ApiResult<(StatusCode, axum::Json<GuestSession>)> {
    let session = sessions::guest_session(&state, &req.table_code).await?;
    Ok((StatusCode::CREATED, axum::Json(session)))
}

async fn mfa_enrol(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<MfaEnrolment>> {
    crate::app::mfa::enrol(&state, &caller)
        .await
        .map(axum::Json)
}

async fn mfa_confirm(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<MfaCode>,
) -> ApiResult<axum::Json<MfaRecoveryCodes>> {
    crate::app::mfa::confirm(&state, &caller, &req.code)
        .await
        .map(axum::Json)
}

async fn mfa_disable(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<MfaCode>,
) -> ApiResult<StatusCode> {
    crate::app::mfa::disable(&state, &caller, &req.code).await?;
    Ok(StatusCode::NO_CONTENT)
}
