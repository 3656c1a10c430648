//! `GET /analytics?from=&to=&group_by=hour|day`: the dashboard's figures over
//! any range of business days, for owners and managers.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use chrono::NaiveDate;
use restohub_protocol::api::analytics::{Analytics, AnalyticsQuery};

use super::extract::Query;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::AnalyticsRange;

/// The longest range one request may cover.
pub const MAX_DAYS: i64 = 366;

pub fn router() -> Router<AppState> {
    Router::new().route("/analytics", get(analytics))
}

async fn analytics(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AnalyticsQuery>,
) -> ApiResult<axum::Json<Analytics>> {
    let range = range(&query)?;
    crate::app::dashboard::analytics(&state, &caller, &range)
        .await
        .map(axum::Json)
}

fn date(field: &str, value: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| ApiError::invalid_field(field, "date", "must be a date such as 2026-11-21"))
}

fn range(q: &AnalyticsQuery) -> Result<AnalyticsRange, ApiError> {
    let (from, to) = (date("from", &q.from)?, date("to", &q.to)?);
    if to < from {
        return Err(ApiError::invalid_field(
            "to",
            "range",
            "must not be before from",
        ));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::invalid_field(
            "to",
            "range",
            &format!("a range covers at most {MAX_DAYS} days"),
        ));
    }
    let limit = super::pagination::page_size(q.limit)?;
    Ok(AnalyticsRange {
        from,
        to,
        group_by: q.group_by,
        after: q.after.map(|t| t.millis()),
        limit: limit as usize,
    })
}
