//! Stable, machine-readable error codes and the one error shape.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A stable error code. The string form (`SCREAMING_SNAKE_CASE`) never
/// changes once released; clients branch on it, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The body is not well-formed JSON (or not JSON at all).
    MalformedJson,
    /// The request was understood but some fields are invalid;
    /// `details.fields` maps each offending field to its problems.
    ValidationFailed,
    /// The body's content type is not `application/json`.
    UnsupportedMediaType,
    /// The body exceeds the size limit.
    PayloadTooLarge,
    /// Missing, malformed, expired or revoked credentials.
    Unauthorized,
    /// Authenticated, but the role does not allow this.
    Forbidden,
    /// No such thing in the caller's restaurant (including things that exist
    /// in another restaurant: those are indistinguishable from absent ones).
    NotFound,
    /// The HTTP method is not supported on this path.
    MethodNotAllowed,
    /// A WebSocket frame whose `type` is not a known command.
    UnknownCommand,
    /// The change conflicts with existing data (a duplicate name, a row
    /// still referenced elsewhere).
    Conflict,
    /// The order or line is not in a state that allows this;
    /// `details.current` is the state it is in.
    InvalidTransition,
    /// Some items of an order are short; `details.items` lists each with
    /// what is left. Nothing was taken.
    OutOfStock,
    /// Too many failed logins; `details.unlocks_at` says when to retry.
    AccountLocked,
    /// The password was right; the account also needs its authenticator
    /// code: send the login again with `otp`.
    MfaRequired,
    /// The restaurant requires MFA for owners and managers and this account
    /// has none yet: only enrolling (`/auth/mfa/...`) is allowed.
    MfaSetupRequired,
    /// A discount or comp above the restaurant's limit needs a manager's
    /// approval in the same request, or the approval given was refused.
    ApprovalRequired,
    /// A payment webhook's signature is missing, wrong, or its timestamp
    /// is more than 5 minutes off.
    SignatureInvalid,
    /// A payment webhook with this very signature was already received.
    WebhookReplayed,
    /// Too many requests; retry later.
    RateLimited,
    /// A dependency (database, Redis) is unavailable.
    Unavailable,
    /// An unexpected server error. The cause is logged, never sent.
    Internal,
}

impl ErrorCode {
    /// The string form, as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "MALFORMED_JSON",
            ErrorCode::ValidationFailed => "VALIDATION_FAILED",
            ErrorCode::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::UnknownCommand => "UNKNOWN_COMMAND",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::InvalidTransition => "INVALID_TRANSITION",
            ErrorCode::OutOfStock => "OUT_OF_STOCK",
            ErrorCode::AccountLocked => "ACCOUNT_LOCKED",
            ErrorCode::MfaRequired => "MFA_REQUIRED",
            ErrorCode::MfaSetupRequired => "MFA_SETUP_REQUIRED",
            ErrorCode::ApprovalRequired => "APPROVAL_REQUIRED",
            ErrorCode::SignatureInvalid => "SIGNATURE_INVALID",
            ErrorCode::WebhookReplayed => "WEBHOOK_REPLAYED",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// The HTTP status the REST API uses for this code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::MalformedJson => 400,
            ErrorCode::ValidationFailed => 422,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::UnknownCommand => 400,
            ErrorCode::Conflict => 409,
            ErrorCode::InvalidTransition => 409,
            ErrorCode::OutOfStock => 409,
            ErrorCode::AccountLocked => 423,
            ErrorCode::MfaRequired => 401,
            ErrorCode::MfaSetupRequired => 403,
            ErrorCode::ApprovalRequired => 403,
            ErrorCode::SignatureInvalid => 401,
            ErrorCode::WebhookReplayed => 409,
            ErrorCode::RateLimited => 429,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    pub code: ErrorCode,
    /// For humans; may change between releases.
    pub message: String,
    /// Structured context, e.g. `{"fields": {"name": [{"code": "length", ...}]}}`
    /// for `VALIDATION_FAILED` or `{"unlocks_at": "..."}` for `ACCOUNT_LOCKED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// How the REST API wraps an error: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}
