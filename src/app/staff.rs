//! Staff accounts, managed by owners and managers.
//!
//! Managers manage waiters, chefs and cashiers; only owners create, change
//! or remove owners and managers. Nobody changes their own role or deletes
//! their own account, so a restaurant always keeps an owner.

use restohub_protocol::api::staff::{NewStaffUser, StaffUser, StaffUserPatch};
use restohub_protocol::{ErrorCode, Role};

use super::access::Operation;
use crate::app::credentials::normalise_email;
use crate::auth::Caller;
use crate::error::{on_constraint, ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{LoginKey, NewUser, PageQuery, UserChanges};

const DUPLICATE: &str = "a user with this email already exists";
const IN_USE: &str = "user is still referenced";

/// May `caller` act on accounts with `role`?
pub(super) fn may_manage(caller: &Caller, role: Role) -> ApiResult<()> {
    caller.may(Operation::ManageStaff)?;
    if role.is_manager() && caller.role != Role::Owner {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "only an owner manages owner and manager accounts",
        ));
    }
    Ok(())
}

fn staff_role(role: Role) -> ApiResult<Role> {
    if role.is_staff() {
        Ok(role)
    } else {
        Err(ApiError::invalid_field(
            "role",
            "role",
            "guest is not a staff role",
        ))
    }
}

async fn target(state: &AppState, caller: &Caller, id: i64) -> ApiResult<StaffUser> {
    state
        .store
        .user(caller.restaurant_id, id, state.clock.now_ms())
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
}

pub async fn users(
    state: &AppState,
    caller: &Caller,
    page: PageQuery,
) -> ApiResult<Vec<StaffUser>> {
    caller.may(Operation::ManageStaff)?;
    Ok(state
        .store
        .users(caller.restaurant_id, page, state.clock.now_ms())
        .await?)
}

pub async fn user(state: &AppState, caller: &Caller, id: i64) -> ApiResult<StaffUser> {
    caller.may(Operation::ManageStaff)?;
    target(state, caller, id).await
}

pub async fn create(state: &AppState, caller: &Caller, new: NewStaffUser) -> ApiResult<StaffUser> {
    may_manage(caller, staff_role(new.role)?)?;
    let password_hash = state.passwords.hash(new.password).await?;
    let user = state
        .store
        .create_user(
            caller.restaurant_id,
            &NewUser {
                email: &normalise_email(&new.email),
                name: new.name.trim(),
                role: new.role,
                password_hash: &password_hash,
            },
            state.clock.now_ms(),
        )
        .await
        .map_err(on_constraint(DUPLICATE, IN_USE))?;
    Ok(user)
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: i64,
    patch: StaffUserPatch,
) -> ApiResult<StaffUser> {
    caller.may(Operation::ManageStaff)?;
    let user = target(state, caller, id).await?;
    may_manage(caller, user.role)?;
    if let Some(role) = patch.role {
        may_manage(caller, staff_role(role)?)?;
        if caller.user_id == Some(id) && role != user.role {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "you cannot change your own role",
            ));
        }
    }
    let password_hash = match patch.password {
        Some(p) => Some(state.passwords.hash(p).await?),
        None => None,
    };
    let email = patch.email.as_deref().map(normalise_email);
    let changes = UserChanges {
        email: email.as_deref(),
        name: patch.name.as_deref().map(str::trim),
        role: patch.role,
        password_hash: password_hash.as_deref(),
    };
    let updated = state
        .store
        .update_user(caller.restaurant_id, id, &changes, state.clock.now_ms())
        .await
        .map_err(on_constraint(DUPLICATE, IN_USE))?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if changes.role.is_some() || changes.password_hash.is_some() {
        crate::app::revocations::catch_up(state).await?;
    }
    Ok(updated)
}

pub async fn delete(state: &AppState, caller: &Caller, id: i64) -> ApiResult<()> {
    caller.may(Operation::ManageStaff)?;
    let user = target(state, caller, id).await?;
    may_manage(caller, user.role)?;
    if caller.user_id == Some(id) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "you cannot delete your own account",
        ));
    }
    let now = state.clock.now_ms();
    if state
        .store
        .delete_user(caller.restaurant_id, id, now)
        .await?
    {
        crate::app::revocations::catch_up(state).await
    } else {
        Err(ApiError::not_found("user"))
    }
}

/// Lifts a lockout and resets the failure count.
pub async fn unlock(state: &AppState, caller: &Caller, id: i64) -> ApiResult<StaffUser> {
    caller.may(Operation::ManageStaff)?;
    let user = target(state, caller, id).await?;
    state
        .store
        .clear_login_failures(LoginKey::Restaurant(caller.restaurant_id), &user.email)
        .await?;
    target(state, caller, id).await
}
