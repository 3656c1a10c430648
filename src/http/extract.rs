//! Request extractors whose rejections use our error shape: a bad body,
//! path or query string is a 4xx `{"error": {...}}`, never axum's plain text.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::StatusCode;
use restohub_protocol::ErrorCode;
use serde::de::DeserializeOwned;
use validator::Validate;

use crate::auth::Caller;
use crate::error::{validation_failed, ApiError};
use crate::state::AppState;

/// A JSON body that parsed and passed its `validator` rules.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "expected Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorCode::PayloadTooLarge, "request body is too large")
            } else {
                ApiError::new(ErrorCode::MalformedJson, "could not read the request body")
            }
        })?;
        let value = parse_json::<T>(&bytes)?;
        value.validate().map_err(|e| validation_failed(&e))?;
        Ok(Json(value))
    }
}

/// Parses JSON, telling syntax errors (MALFORMED_JSON) from well-formed JSON
/// of the wrong shape (VALIDATION_FAILED naming the field).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first, so a truncated body is MALFORMED_JSON even when its
    // first field already has the wrong type.
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::MalformedJson,
            format!("request body is not valid JSON: {e}"),
        )
    })?;
    crate::input::from_value(value)
}

/// A numeric id in the path. Anything else cannot name an existing row.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::not_found("resource"))?;
        raw.parse::<i64>()
            .map(Id)
            .map_err(|_| ApiError::not_found("resource"))
    }
}

/// A query string; a bad one is VALIDATION_FAILED.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(Query)
            .map_err(|e| ApiError::invalid_field("query", "type", &e.to_string()))
    }
}

/// The caller behind the request's `Authorization: Bearer` access token,
/// calling from the request's client address. A middleware that already
/// resolved it (the write limit) left it in the request's extensions.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match parts.extensions.get::<Caller>() {
            Some(caller) => Ok(caller.clone()),
            None => caller_of(parts, state),
        }
    }
}

/// Who a request's bearer token names: genuine, current, not revoked, and
/// (a token that must enrol in MFA first) only on `/auth/...`.
pub fn caller_of(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer token"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::unauthorized("Authorization must be \"Bearer <token>\""))?;
    let caller = crate::app::revocations::caller(state, token.trim())?;
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(parts.uri.path(), |uri| uri.0.path());
    if caller.mfa_setup && !path.starts_with("/api/v1/auth/") {
        return Err(crate::app::access::mfa_setup_required());
    }
    Ok(caller.calling_from(super::client::ClientAddress::of(parts).0))
}
