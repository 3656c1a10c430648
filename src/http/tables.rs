//! `/tables`: dining tables. Managers configure and see the QR secrets;
//! staff read (and will change status through orders and commands).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use restohub_protocol::api::tables::{NewTable, Table, TablePatch};
use restohub_protocol::Page;

use super::extract::{Id, Json, Query};
use super::pagination::PageParams;
use super::reply::{created, deleted, OrNotFound};
use crate::auth::Caller;
use crate::error::{on_constraint, ApiError, ApiResult};
use crate::state::AppState;

const DUPLICATE: &str = "a table with this label already exists";
const IN_USE: &str = "table is still referenced";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tables", get(list).post(create))
        .route("/tables/{id}", get(show).patch(update).delete(remove))
        .route("/tables/{id}/guest-code", post(rotate_code))
}

/// 10 characters from 31 unambiguous symbols: about 50 bits, unguessable
/// at any rate the hub will answer.
pub fn new_guest_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Only managers see the code that lets a phone order for the table.
fn for_caller(caller: &Caller, mut table: Table) -> Table {
    if !caller.role.is_manager() {
        table.guest_code = None;
    }
    table
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> ApiResult<axum::Json<Page<Table>>> {
    caller.require_staff()?;
    let rows = state
        .store
        .tables(caller.restaurant_id, params.query()?)
        .await?;
    let rows = rows.into_iter().map(|t| for_caller(&caller, t)).collect();
    Ok(axum::Json(params.page(rows, |t| t.id)))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(new): Json<NewTable>,
) -> ApiResult<(StatusCode, axum::Json<Table>)> {
    caller.require_manager()?;
    let table = state
        .store
        .create_table(
            caller.restaurant_id,
            new.label.trim(),
            new.seats,
            &new_guest_code(),
        )
        .await
        .map_err(on_constraint(DUPLICATE, IN_USE))?;
    created(table)
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<Table>> {
    caller.require_staff()?;
    state
        .store
        .table(caller.restaurant_id, id)
        .await?
        .map(|t| axum::Json(for_caller(&caller, t)))
        .ok_or_else(|| ApiError::not_found("table"))
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(mut patch): Json<TablePatch>,
) -> ApiResult<axum::Json<Table>> {
    caller.require_manager()?;
    patch.label = patch.label.map(|l| l.trim().to_owned());
    state
        .store
        .update_table(caller.restaurant_id, id, &patch)
        .await
        .map_err(on_constraint(DUPLICATE, IN_USE))?
        .or_not_found("table")
}

/// A new QR secret; the old printed card stops working.
async fn rotate_code(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<Table>> {
    caller.require_manager()?;
    state
        .store
        .set_guest_code(caller.restaurant_id, id, &new_guest_code())
        .await?
        .or_not_found("table")
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    caller.require_manager()?;
    let deleted_any = state
        .store
        .delete_table(caller.restaurant_id, id)
        .await
        .map_err(on_constraint(DUPLICATE, IN_USE))?;
    deleted(deleted_any, "table")
}
