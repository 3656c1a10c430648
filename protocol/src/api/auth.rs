//! Logging in, refreshing, logging out, and guest sessions at a table.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::staff::StaffUser;
use crate::{Role, Timestamp};

/// `POST /api/v1/auth/login`. Emails are unique per restaurant, so the
/// restaurant (its slug) is part of the login.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[validate(length(min = 1, max = 64))]
    pub restaurant: String,
    #[validate(length(min = 3, max = 254))]
    pub email: String,
    #[validate(length(min = 1, max = 1024))]
    pub password: String,
    /// The authenticator's current code, or one unused recovery code, for
    /// an account with MFA (section 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 6, max = 64))]
    pub otp: Option<String>,
}

/// `POST /api/v1/auth/refresh` and `POST /api/v1/auth/logout`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[validate(length(min = 1, max = 256))]
    pub refresh_token: String,
}

/// The reply to a login or a refresh. The access token goes in
/// `Authorization: Bearer ...`; the refresh token is single-use: each refresh
/// returns a new one, and presenting a used one revokes the whole session.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: String,
    pub access_expires_at: Timestamp,
    pub refresh_token: String,
    pub refresh_expires_at: Timestamp,
    pub user: StaffUser,
    /// The restaurant requires MFA of this account and it has none: the
    /// access token only allows enrolling, until a refresh after it.
    pub mfa_setup_required: bool,
}

/// `POST /api/v1/auth/mfa/enrol`: a new TOTP secret to confirm.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MfaEnrolment {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// The same as an `otpauth://totp/...` URI, for a QR code.
    pub otpauth_uri: String,
}

/// A code from the authenticator (or a recovery code, where allowed).
#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaCode {
    #[validate(length(min = 6, max = 64))]
    pub code: String,
}

/// `POST /api/v1/auth/mfa/confirm`: MFA is on; these one-time recovery
/// codes are shown once and stored only hashed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MfaRecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// `POST /api/v1/guest-sessions`: the code printed on a table's QR card.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuestSessionRequest {
    #[validate(length(min = 1, max = 64))]
    pub table_code: String,
}

/// A token for one table's customers (role `guest`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GuestSession {
    pub access_token: String,
    pub token_type: String,
    pub expires_at: Timestamp,
    pub restaurant_id: i64,
    pub table_id: i64,
    pub table_label: String,
}

/// `GET /api/v1/auth/me`: who this token is.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct WhoAmI {
    pub restaurant_id: i64,
    pub role: Role,
    /// The staff account, absent for guests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<StaffUser>,
    /// The table a guest is scoped to, absent for staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_id: Option<i64>,
}
