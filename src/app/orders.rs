//! Orders as a whole: placing one (the placement is planned in
//! [`crate::orders`]) and reading one back.

use restohub_protocol::api::orders::{Order, PlaceOrder, Placed};
use restohub_protocol::Role;

use super::access::Operation;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub async fn place(state: &AppState, caller: &Caller, req: PlaceOrder) -> ApiResult<Placed> {
    crate::orders::place(state, caller, req).await
}

/// Staff see any order of the restaurant; a guest only its table's.
pub async fn order(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Order> {
    caller.may(Operation::ReadOrder)?;
    state
        .store
        .order(caller.restaurant_id, id)
        .await?
        .filter(|o| caller.role != Role::Guest || o.table_id == caller.table_id)
        .ok_or_else(|| ApiError::not_found("order"))
}
