//! What owners and managers watch: the figures of `GET /analytics` over a
//! range of business days (the live dashboard is pushed by the node).

use restohub_protocol::api::analytics::Analytics;

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
