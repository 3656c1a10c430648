//! `/users`: staff accounts, managed by owners and managers.
//!
//! Managers manage waiters, chefs and cashiers; only owners create, change
//! or remove owners and managers. Nobody changes their own role or deletes
//! their own account, so a restaurant always keeps an owner.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use restohub_protocol::api::staff::{NewStaffUser, StaffUser, StaffUserPatch};
use restohub_protocol::{Page, Role};

use super::extract::{Id, Json, Query};
use super::pagination::PageParams;
use super::reply::{created, deleted, OrNotFound};
use crate::auth::sessions::normalise_email;
use crate::auth::Caller;
use crate::error::{on_constraint, ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{NewUser, UserChanges};

const DUPLICATE: &str = "a user with this email already exists";
const IN_USE: &str = "user is still referenced";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/{id}", get(show).patch(update).delete(remove))
        .route("/users/{id}/unlock", post(unlock))
}

/// May `caller` act on accounts with `role`?
fn may_manage(caller: &Caller, role: Role) -> ApiResult<()> {
    caller.require_manager()?;
    if role.is_manager() && caller.role != Role::Owner {
        return Err(ApiError::new(
            restohub_protocol::ErrorCode::Forbidden,
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

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> ApiResult<axum::Json<Page<StaffUser>>> {
    caller.require_manager()?;
    let rows = state
        .store
        .users(caller.restaurant_id, params.query()?, state.clock.now_ms())
        .await?;
    Ok(axum::Json(params.page(rows, |u| u.id)))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(new): Json<NewStaffUser>,
) -> ApiResult<(StatusCode, axum::Json<StaffUser>)> {
    may_manage(&caller, staff_role(new.role)?)?;
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
    created(user)
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<StaffUser>> {
    caller.require_manager()?;
    target(&state, &caller, id).await.map(axum::Json)
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<StaffUserPatch>,
) -> ApiResult<axum::Json<StaffUser>> {
    caller.require_manager()?;
    let user = target(&state, &caller, id).await?;
    may_manage(&caller, user.role)?;
    if let Some(role) = patch.role {
        may_manage(&caller, staff_role(role)?)?;
        if caller.user_id == Some(id) && role != user.role {
            return Err(ApiError::new(
                restohub_protocol::ErrorCode::Forbidden,
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
    state
        .store
        .update_user(caller.restaurant_id, id, &changes, state.clock.now_ms())
        .await
        .map_err(on_constraint(DUPLICATE, IN_USE))?
        .or_not_found("user")
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    caller.require_manager()?;
    let user = target(&state, &caller, id).await?;
    may_manage(&caller, user.role)?;
    if caller.user_id == Some(id) {
        return Err(ApiError::new(
            restohub_protocol::ErrorCode::Forbidden,
            "you cannot delete your own account",
        ));
    }
    deleted(
        state.store.delete_user(caller.restaurant_id, id).await?,
        "user",
    )
}

/// Lifts a lockout and resets the failure count.
async fn unlock(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<StaffUser>> {
    caller.require_manager()?;
    let user = target(&state, &caller, id).await?;
    state
        .store
        .clear_login_failures(caller.restaurant_id, &user.email)
        .await?;
    target(&state, &caller, id).await.map(axum::Json)
}
