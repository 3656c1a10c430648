//! Staff accounts, managed by owners and managers.
//!
//! Managers manage waiters, chefs and cashiers; only owners create, change
//! or remove owners and managers. Nobody changes their own role or deletes
//! their own account, so a restaurant always keeps an owner.

use restohub_protocol::api::staff::{NewStaffUser, StaffUser, StaffUserPatch};
use restohub_protocol::{ErrorCode, Role};
use serde_json::json;

use super::access::Operation;
use super::audit::{self, Action, Entry};
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
    let entry = Entry::new(Action::StaffCreated)
        .target("user", user.id)
        .after(account(&user));
    audit::record(state, caller, [entry]).await;
    Ok(user)
}

/// An account's fields as the audit trail shows them.
fn account(user: &StaffUser) -> serde_json::Value {
    json!({ "email": user.email, "name": user.name, "role": user.role })
}

/// What an update changed: name and email, the password (never its
/// value), the role.
fn account_changes(before: &StaffUser, after: &StaffUser, password: bool) -> Vec<Entry> {
    let id = after.id;
    let mut entries: Vec<Entry> = Entry::new(Action::StaffUpdated)
        .target("user", id)
        .changed([
            ("name", json!(before.name), json!(after.name)),
            ("email", json!(before.email), json!(after.email)),
        ])
        .into_iter()
        .collect();
    if password {
        entries.push(Entry::new(Action::StaffPasswordChanged).target("user", id));
    }
    entries.extend(
        Entry::new(Action::StaffRoleChanged)
            .target("user", id)
            .changed([("role", json!(before.role), json!(after.role))]),
    );
    entries
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
    let password_set = patch.password.is_some();
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
        crate::app::revocations::settle(state).await;
    }
    audit::record(
        state,
        caller,
        account_changes(&user, &updated, password_set),
    )
    .await;
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
    if !state
        .store
        .delete_user(caller.restaurant_id, id, now)
        .await?
    {
        return Err(ApiError::not_found("user"));
    }
    let entry = Entry::new(Action::StaffDeleted)
        .target("user", id)
        .before(account(&user));
    audit::record(state, caller, [entry]).await;
    crate::app::revocations::settle(state).await;
    Ok(())
}

/// Lifts a lockout and resets the failure count.
pub async fn unlock(state: &AppState, caller: &Caller, id: i64) -> ApiResult<StaffUser> {
    caller.may(Operation::ManageStaff)?;
    let user = target(state, caller, id).await?;
    state
        .store
        .clear_login_failures(LoginKey::Restaurant(caller.restaurant_id), &user.email)
        .await?;
    let entry = Entry::new(Action::AccountUnlocked)
        .target("user", id)
        .before(json!({ "locked_until": user.locked_until }))
        .after(json!({ "locked_until": null }));
    audit::record(state, caller, [entry]).await;
    target(state, caller, id).await
}
