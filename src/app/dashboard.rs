//! What owners and managers watch: the figures of `GET /analytics` over a
//! range of business days, and today's live figures a dashboard first
//! draws (later snapshots are pushed by the gateway's refresher).

use restohub_protocol::api::analytics::{Analytics, DashboardStats};

use super::access::Operation;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::AnalyticsRange;

pub async fn analytics(
    state: &AppState,
    caller: &Caller,
    range: &AnalyticsRange,
) -> ApiResult<Analytics> {
    caller.may(Operation::WatchDashboard)?;
    state
        .store
        .analytics(caller.restaurant_id, range)
        .await?
        .ok_or_else(|| ApiError::not_found("restaurant"))
}

/// Today's live figures of `caller`'s restaurant, as a dashboard that just
/// joined `dashboard:{r}` first draws them (`None`: no such restaurant).
pub async fn live(state: &AppState, caller: &Caller) -> ApiResult<Option<DashboardStats>> {
    caller.may(Operation::WatchDashboard)?;
    Ok(state
        .store
        .dashboard(caller.restaurant_id, state.clock.now_ms())
        .await?)
}
