//! A manager's approval given with a request that needs it (a discount or
//! comp above the restaurant's limit): their email and password or PIN,
//! checked like a login and audited when refused.

use restohub_protocol::api::checks::Approval;
use restohub_protocol::{ErrorCode, Role};
use validator::Validate;

use crate::app::audit::{self, Action as Audited, Entry};
use crate::auth::Caller;
use crate::error::{validation_failed, ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::LoginKey;

/// Checks a manager's approval given with a request: their email and
/// password or PIN, in the caller's restaurant. Failures count toward that
/// account's login lockout (so a PIN cannot be guessed at the till) and are
/// audited. The approving manager's id.
pub async fn approve(state: &AppState, caller: &Caller, approval: &Approval) -> ApiResult<i64> {
    approval.validate().map_err(|e| validation_failed(&e))?;
    let r = caller.restaurant_id;
    let email = crate::app::credentials::normalise_email(&approval.email);
    let key = LoginKey::Restaurant(r);
    let now = state.clock.now_ms();
    if let Some(until) = state.store.login_lock(key, &email, now).await? {
        return Err(crate::app::credentials::locked(until));
    }
    let user = state.store.pin_hash(r, &email).await?;
    let manager = user
        .as_ref()
        .filter(|(_, role, _)| matches!(Role::parse(role), Some(Role::Owner | Role::Manager)));
    let verified = match (manager, &approval.password, &approval.pin) {
        (Some((_, _, pin_hash)), None, Some(pin)) => {
            state
                .passwords
                .verify(pin.clone(), pin_hash.clone())
                .await?
        }
        (Some(_), Some(password), None) => {
            let hash = state
                .store
                .user_credentials(r, &email)
                .await?
                .map(|c| c.password_hash);
            state.passwords.verify(password.clone(), hash).await?
        }
        (_, Some(_), Some(_)) | (_, None, None) => {
            return Err(ApiError::invalid_field(
                "approval",
                "exclusive",
                "give the manager's password or PIN",
            ))
        }
        (None, _, _) => {
            // Hash anyway so that an unknown approver takes as long.
            let secret = approval.password.clone().or(approval.pin.clone());
            state
                .passwords
                .verify(secret.unwrap_or_default(), None)
                .await?;
            false
        }
    };
    if !verified {
        // Only a manager's account counts failures toward its lockout: a
        // waiter typing a colleague's email must not lock them out.
        let failures = match manager {
            Some(_) => Some(
                crate::app::credentials::count_failure(state, key, &email)
                    .await?
                    .failures,
            ),
            None => None,
        };
        audit::record(
            state,
            caller,
            [Entry::new(Audited::ApprovalRefused)
                .after(serde_json::json!({ "approver": email, "failures": failures }))],
        )
        .await;
        return Err(ApiError::new(
            ErrorCode::ApprovalRequired,
            "the approval was refused: not a manager of this restaurant, or a wrong password or PIN",
        ));
    }
    let (id, _, _) =
        user.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the approver vanished")))?;
    Ok(id)
}
