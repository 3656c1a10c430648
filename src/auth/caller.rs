//! The `Caller`: the verified identity behind an access token (a request's
//! `Authorization: Bearer`, or a WebSocket's hello).

use std::net::IpAddr;

use restohub_protocol::Role;

use super::revocation::RevocationIndex;
use super::tokens::{Claims, TokenError, TokenKeys};
use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct Caller {
    pub restaurant_id: i64,
    pub role: Role,
    /// Staff account id; `None` for guests.
    pub user_id: Option<i64>,
    /// The table a guest is scoped to; `None` for staff.
    pub table_id: Option<i64>,
    /// Who placed it, as the token names them: `user:<id>` for a staff
    /// account, `guest:<uuid>` for one guest session.
    pub subject: String,
    /// A staff token's login session (refresh-token family).
    pub session: Option<String>,
    /// The account's session version (staff) or the table's visit (guest)
    /// the token was issued for.
    pub version: i64,
    /// When the token expires (ms).
    pub expires_at: i64,
    /// Only MFA enrolment is allowed until a refresh after it.
    pub mfa_setup: bool,
    /// The address the request or WebSocket came from, when the edge that
    /// received it knows: what the audit trail records.
    pub client: Option<IpAddr>,
}

impl Caller {
    /// The caller an access token names, if it is genuine, current and
    /// not revoked.
    pub fn from_token(
        tokens: &TokenKeys,
        revoked: &RevocationIndex,
        token: &str,
        now_ms: i64,
    ) -> Result<Caller, ApiError> {
        let claims = tokens.verify(token, now_ms).map_err(|e| match e {
            TokenError::Expired => ApiError::unauthorized("access token expired; refresh it"),
            TokenError::Invalid => invalid_token(),
        })?;
        let caller = Caller::from_claims(&claims)?;
        if !revoked.admits(&caller) {
            return Err(ApiError::unauthorized(REVOKED));
        }
        Ok(caller)
    }

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
            subject: claims.sub.clone(),
            session: claims.sid.clone(),
            version: claims.ver,
            expires_at: claims.exp.saturating_mul(1000),
            mfa_setup: claims.mfa_setup,
            client: None,
        })
    }

    /// The same caller, calling from `client`.
    pub fn calling_from(mut self, client: Option<IpAddr>) -> Caller {
        self.client = client;
        self
    }
}

/// Why a revoked token is refused.
pub const REVOKED: &str = "this session has ended (logout, a role or password change, a removed \
                           account or the table's visit is over); refresh or log in again";

fn invalid_token() -> ApiError {
    ApiError::unauthorized("invalid access token")
}
