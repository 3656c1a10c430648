//! Logging in, rotating refresh tokens, logging out, and guest sessions.

use restohub_protocol::api::auth::{GuestSession, LoginRequest, Tokens, WhoAmI};
use restohub_protocol::api::staff::StaffUser;
use restohub_protocol::{Role, Timestamp};

use super::credentials::{bad_credentials, count_failure, locked, normalise_email};
use crate::app::audit::{self, Actor};
use crate::auth::tokens::{random_token, sha256_hex, Claims};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{LoginKey, NewRefreshToken, Rotation};

pub async fn login(
    state: &AppState,
    req: LoginRequest,
    client: Option<std::net::IpAddr>,
) -> ApiResult<Tokens> {
    let email = normalise_email(&req.email);
    let slug = req.restaurant.trim();
    let restaurant = state.store.restaurant_by_slug(slug).await?;
    // A slug that names no restaurant is counted and locked like a real one,
    // so neither the replies nor a lockout tell which slugs exist.
    let key = match &restaurant {
        Some(r) => LoginKey::Restaurant(r.id),
        None => LoginKey::UnknownSlug(slug),
    };
    let now = state.clock.now_ms();
    if let Some(until) = state.store.login_lock(key, &email, now).await? {
        return Err(locked(until));
    }
    let credentials = match &restaurant {
        Some(r) => state.store.user_credentials(r.id, &email).await?,
        None => None,
    };
    let (user_id, hash) = match credentials {
        Some(c) => (Some(c.id), Some(c.password_hash)),
        None => (None, None),
    };
    let verified = state.passwords.verify(req.password, hash).await?;
    let now = state.clock.now_ms();
    let (Some(restaurant), Some(user_id)) = (restaurant, user_id.filter(|_| verified)) else {
        let lock = count_failure(state, key, &email).await?;
        if let LoginKey::Restaurant(r) = key {
            let entries = audit::login_failed(&email, user_id, &lock);
            audit::record(state, Actor::anonymous(r, client), entries).await;
        }
        return Err(match lock.locked_until {
            Some(until) => locked(until),
            None => bad_credentials(),
        });
    };
    let (user, version) = state
        .store
        .user_for_token(restaurant.id, user_id, now)
        .await?
        .ok_or_else(bad_credentials)?;
    let mfa_on =
        super::mfa::second_factor(state, &restaurant, &user, req.otp.as_deref(), client).await?;
    state.store.clear_login_failures(key, &email).await?;
    let mfa_setup = !mfa_on && restaurant.require_mfa && user.role.is_manager();
    let actor = Actor::user(restaurant.id, user_id, user.role, client);
    audit::record(state, actor, [audit::login_succeeded(user_id)]).await;
    let family = uuid::Uuid::new_v4().to_string();
    let refresh_token = random_token();
    let refresh_expires_at = now + state.settings.refresh_token_ttl_ms;
    state
        .store
        .insert_refresh_token(
            &NewRefreshToken {
                restaurant_id: restaurant.id,
                user_id,
                family: &family,
                token_hash: &sha256_hex(&refresh_token),
                expires_at: refresh_expires_at,
            },
            now,
        )
        .await?;
    issue(
        state,
        Session {
            user,
            version,
            family,
            restaurant_id: restaurant.id,
            mfa_setup,
        },
        refresh_token,
        refresh_expires_at,
        now,
    )
}

/// Uses a refresh token once and returns a new pair. Presenting a token that
/// was already used revokes its whole family: one of the two holders is a
/// thief, and both must log in again.
pub async fn refresh(state: &AppState, refresh_token: &str) -> ApiResult<Tokens> {
    let now = state.clock.now_ms();
    let new_token = random_token();
    let expires_at = now + state.settings.refresh_token_ttl_ms;
    let rotation = state
        .store
        .rotate_refresh_token(
            &sha256_hex(refresh_token),
            &sha256_hex(&new_token),
            now,
            expires_at,
        )
        .await?;
    match rotation {
        Rotation::Rotated {
            restaurant_id,
            user_id,
            family,
        } => {
            let (user, version) = state
                .store
                .user_for_token(restaurant_id, user_id, now)
                .await?
                .ok_or_else(|| ApiError::unauthorized("account no longer exists"))?;
            let mfa_setup = super::mfa::setup_required(state, restaurant_id, &user).await?;
            let session = Session {
                user,
                version,
                family,
                restaurant_id,
                mfa_setup,
            };
            issue(state, session, new_token, expires_at, now)
        }
        Rotation::Reused => {
            tracing::warn!("refresh token reused; its session family is revoked");
            Err(ApiError::unauthorized(
                "refresh token was already used; the session is revoked, log in again",
            ))
        }
        Rotation::Invalid => Err(ApiError::unauthorized(
            "refresh token is invalid, expired or revoked",
        )),
    }
}

/// Ends the session the refresh token belongs to: its refresh tokens, its
/// access tokens and its sockets, on every instance. Idempotent.
pub async fn logout(state: &AppState, refresh_token: &str) -> ApiResult<()> {
    let now = state.clock.now_ms();
    let ended = state
        .store
        .revoke_refresh_family(&sha256_hex(refresh_token), now)
        .await?;
    if ended {
        super::revocations::settle(state).await;
    }
    Ok(())
}

/// A token for the customers at one table, from the code on its QR card.
pub async fn guest_session(state: &AppState, table_code: &str) -> ApiResult<GuestSession> {
    let table = state
        .store
        .table_by_guest_code(table_code.trim())
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown table code"))?;
    let now = state.clock.now_ms();
    let expires_at = now + state.settings.guest_session_ttl_ms;
    let claims = Claims {
        sub: format!("guest:{}", uuid::Uuid::new_v4()),
        rid: table.restaurant_id,
        role: Role::Guest,
        tbl: Some(table.table.id),
        iat: now / 1000,
        exp: expires_at / 1000,
        jti: uuid::Uuid::new_v4().to_string(),
        sid: None,
        ver: table.visit,
        mfa_setup: false,
    };
    Ok(GuestSession {
        access_token: state.tokens.sign(&claims)?,
        token_type: "Bearer".into(),
        expires_at: Timestamp(claims.exp * 1000),
        restaurant_id: table.restaurant_id,
        table_id: table.table.id,
        table_label: table.table.label,
    })
}

/// A staff login session about to get tokens.
struct Session {
    user: StaffUser,
    /// The account's session version.
    version: i64,
    /// The refresh-token family.
    family: String,
    restaurant_id: i64,
    /// The token only allows enrolling in MFA.
    mfa_setup: bool,
}

fn issue(
    state: &AppState,
    session: Session,
    refresh_token: String,
    refresh_expires_at: i64,
    now: i64,
) -> ApiResult<Tokens> {
    let Session {
        user,
        version,
        family,
        restaurant_id,
        mfa_setup,
    } = session;
    let access_expires_at = now + state.settings.access_token_ttl_ms;
    let claims = Claims {
        sub: format!("user:{}", user.id),
        rid: restaurant_id,
        role: user.role,
        tbl: None,
        iat: now / 1000,
        exp: access_expires_at / 1000,
        jti: uuid::Uuid::new_v4().to_string(),
        sid: Some(family),
        ver: version,
        mfa_setup,
    };
    Ok(Tokens {
        access_token: state.tokens.sign(&claims)?,
        token_type: "Bearer".into(),
        access_expires_at: Timestamp(claims.exp * 1000),
        refresh_token,
        refresh_expires_at: Timestamp(refresh_expires_at),
        user,
        mfa_setup_required: mfa_setup,
    })
}

/// Who the caller is: its restaurant, role, account (staff) or table (guest).
pub async fn me(state: &AppState, caller: &Caller) -> ApiResult<WhoAmI> {
    let user = match caller.user_id {
        Some(id) => Some(
            state
                .store
                .user(caller.restaurant_id, id, state.clock.now_ms())
                .await?
                .ok_or_else(|| ApiError::unauthorized("account no longer exists"))?,
        ),
        None => None,
    };
    Ok(WhoAmI {
        restaurant_id: caller.restaurant_id,
        role: caller.role,
        user,
        table_id: caller.table_id,
    })
}

/// A WebSocket session about to start for `caller`: its member name (a
/// staff account's; `None` for a guest), once it is checked that the
/// account, or the guest's table, still exists. A gone table is NOT_FOUND,
/// a gone account UNAUTHORIZED.
pub async fn connecting(state: &AppState, caller: &Caller) -> ApiResult<Option<String>> {
    match (caller.role, caller.user_id, caller.table_id) {
        (Role::Guest, _, Some(table)) => {
            state
                .store
                .table(caller.restaurant_id, table)
                .await?
                .ok_or_else(|| ApiError::not_found("table"))?;
            Ok(None)
        }
        (_, Some(user), _) => {
            let user = state
                .store
                .user(caller.restaurant_id, user, state.clock.now_ms())
                .await?
                .ok_or_else(|| ApiError::unauthorized("account no longer exists"))?;
            Ok(Some(user.name))
        }
        _ => Err(ApiError::unauthorized("invalid token")),
    }
}
