//! Sessions ending before their tokens expire, on every instance: the check
//! every request and hello makes, and this instance's tail of the
//! revocations that the use cases (logout, staff changes, a table's visit
//! ending) write in their transactions.

use restohub_protocol::ErrorCode;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The caller an access token names, if it is genuine, current and not
/// revoked: the one check REST requests and WebSocket hellos both make.
pub fn caller(state: &AppState, token: &str) -> ApiResult<Caller> {
    Caller::from_token(&state.tokens, &state.revoked, token, state.clock.now_ms())
}

/// An open socket's new access token: it must name the same identity (the
/// same account with the same role, or a guest at the same table), since
/// the socket's rooms were chosen for that identity.
pub fn renew(state: &AppState, current: &Caller, token: &str) -> ApiResult<Caller> {
    let next = caller(state, token)?;
    let same = next.restaurant_id == current.restaurant_id
        && next.role == current.role
        && next.user_id == current.user_id
        && next.table_id == current.table_id;
    if !same {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "the new token is for another account, role or table; reconnect with it",
        ));
    }
    Ok(next.calling_from(current.client))
}

/// How far back each read of the revocations looks again, for rows that
/// committed after a higher id had been read (and writers' clocks apart).
const LOOKBACK_MS: i64 = 10_000;

/// How often every instance reads new revocations: what bounds the time a
/// revoked token still works here when it was revoked on another instance.
pub const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Reads the revocations written since the last read (on any instance) into
/// this instance's index; open sockets they end are closed by their tasks.
/// Called after a use case here revokes something, so it holds here before
/// the reply, and every [`FOLLOW_EVERY`] by [`follow_revocations`].
pub async fn catch_up(state: &AppState) -> ApiResult<()> {
    let mut cursor = state.revoked.cursor().lock().await;
    let now = state.clock.now_ms();
    let rows = state
        .store
        .revocations_since(cursor.after_id, cursor.since)
        .await?;
    state.revoked.apply(&rows);
    if let Some(last) = rows.last() {
        // Rows come in id order. Until one is seen, only the time window counts.
        cursor.after_id = match cursor.after_id {
            i64::MAX => last.id,
            seen => seen.max(last.id),
        };
    }
    cursor.since = now - LOOKBACK_MS;
    Ok(())
}

/// After a use case here committed a revocation: this instance takes it in
/// before the reply. The change has happened either way, so a failed read
/// is logged, not returned; the tail takes it in within [`FOLLOW_EVERY`].
pub async fn settle(state: &AppState) {
    if let Err(e) = catch_up(state).await {
        tracing::warn!(error = %e, "cannot read revocations now; the tail will");
    }
}

/// The longest any token lives: revocations older than this end nothing.
fn longest_token_ms(state: &AppState) -> i64 {
    let settings = &state.settings;
    settings
        .access_token_ttl_ms
        .max(settings.guest_session_ttl_ms)
        + 60_000
}

/// Loads the revocations that could still end a token, before the
/// instance serves.
pub async fn load_revocations(state: &AppState) -> ApiResult<()> {
    state.revoked.cursor().lock().await.since = state.clock.now_ms() - longest_token_ms(state);
    catch_up(state).await
}

/// This instance's revocation tail (after [`load_revocations`]): follows,
/// forgetting (and pruning) what no token can need any more.
pub async fn follow_revocations(state: AppState) {
    let mut tick = tokio::time::interval(FOLLOW_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut rounds: u64 = 0;
    loop {
        tick.tick().await;
        if let Err(e) = catch_up(&state).await {
            tracing::warn!(error = %e, "cannot read revocations; retrying");
            continue;
        }
        rounds += 1;
        // About once a minute.
        if rounds % 240 == 0 {
            let before = state.clock.now_ms() - longest_token_ms(&state);
            state.revoked.forget_before(before);
            if let Err(e) = state.store.prune_revocations(before).await {
                tracing::warn!(error = %e, "cannot prune revocations");
            }
        }
    }
}
