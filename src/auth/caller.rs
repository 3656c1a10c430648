//! The `Caller` extractor: the verified identity behind a request's
//! `Authorization: Bearer` access token.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use restohub_protocol::Role;

use super::tokens::{Claims, TokenError};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct Caller {
    pub restaurant_id: i64,
    pub role: Role,
    /// Staff account id; `None` for guests.
    pub user_id: Option<i64>,
    /// The table a guest is scoped to; `None` for staff.
    pub table_id: Option<i64>,
}

impl Caller {
    pub fn from_claims(claims: &Claims) -> Result<Caller, ApiError> {
        let user_id = match claims.sub.strip_prefix("user:") {
            Some(id) => Some(id.parse().map_err(|_| invalid_token())?),
            None => None,
        };
        let valid = match claims.role {
            Role::Guest => claims.tbl.is_some() && user_id.is_none(),
            _ => user_id.is_some(),
        };
        if !valid {
            return Err(invalid_token());
        }
        Ok(Caller {
            restaurant_id: claims.rid,
            role: claims.role,
            user_id,
            table_id: claims.tbl,
        })
    }
}

fn invalid_token() -> ApiError {
    ApiError::unauthorized("invalid access token")
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer token"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthorized("Authorization must be \"Bearer <token>\""))?;
        let claims = state
            .tokens
            .verify(token.trim(), state.clock.now_ms())
            .map_err(|e| match e {
                TokenError::Expired => ApiError::unauthorized("access token expired; refresh it"),
                TokenError::Invalid => invalid_token(),
            })?;
        Caller::from_claims(&claims)
    }
}
