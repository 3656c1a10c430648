//! What logins and MFA codes share: how an email is compared, the reply to
//! bad credentials, and counting failures towards the lockout.

use restohub_protocol::{ErrorCode, Timestamp};
use serde_json::json;

use crate::auth::lockout::lock_duration_ms;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{LoginKey, LoginLock};

/// The same reply for an unknown restaurant, an unknown email and a wrong
/// password, so a caller cannot tell which accounts exist.
pub(super) fn bad_credentials() -> ApiError {
    ApiError::unauthorized("invalid restaurant, email or password")
}

pub(super) fn locked(until_ms: i64) -> ApiError {
    let until = Timestamp(until_ms);
    ApiError::with_details(
        ErrorCode::AccountLocked,
        format!(
            "too many failed logins; try again after {}",
            until.to_rfc3339()
        ),
        json!({ "unlocks_at": until }),
    )
}

/// Counts a failed login (or MFA code) for `email`: the failures so far,
/// and until when the account is locked if this locked it.
pub(super) async fn count_failure(
    state: &AppState,
    key: LoginKey<'_>,
    email: &str,
) -> ApiResult<LoginLock> {
    let now = state.clock.now_ms();
    let lock = state
        .store
        .record_login_failure(key, email, now, lock_duration_ms)
        .await?;
    tracing::info!(
        known_slug = matches!(key, LoginKey::Restaurant(_)),
        failures = lock.failures,
        "failed login"
    );
    Ok(lock)
}

pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}
