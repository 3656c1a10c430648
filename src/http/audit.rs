//! `GET /audit`: the edge of [`crate::app::audit`].

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use restohub_protocol::api::audit::{AuditEntry, AuditQuery};
use restohub_protocol::Page;

use super::extract::Query;
use super::pagination::PageParams;
use crate::app::audit;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list))
}

/// `?action=&actor=&from=&to=&after=&limit=`; pages by `seq`.
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AuditQuery>,
) -> ApiResult<axum::Json<Page<AuditEntry>>> {
    let params = PageParams {
        limit: query.limit,
        after: query.after,
    };
    let rows = audit::entries(&state, &caller, &query, params.query()?).await?;
    Ok(axum::Json(params.page(rows, |e| e.seq)))
}
