//! The floor: dining tables, their status and QR codes, calling a waiter,
//! and the tables snapshot. A status change is one use case whichever edge
//! asks (`PATCH /tables/{id}`, `table.set_status`), with the same event.

use restohub_protocol::api::tables::{NewTable, Table, TablePatch, TableStatus};
use restohub_protocol::events::{CallAccepted, TableStatusChanged, WaiterCalled};
use restohub_protocol::ws::{AckResult, Room, TableView};
use restohub_protocol::Role;

use super::access::Operation;
use crate::auth::tokens::guest_code;
use crate::auth::Caller;
use crate::error::{on_constraint, ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{EventDraft, PageQuery};

const DUPLICATE: &str = "a table with this label already exists";
const IN_USE: &str = "table is still referenced";

/// Only managers see the code that lets a phone order for the table.
fn for_caller(caller: &Caller, mut table: Table) -> Table {
    if !caller.role.is_manager() {
        table.guest_code = None;
    }
    table
}

pub async fn tables(state: &AppState, caller: &Caller, page: PageQuery) -> ApiResult<Vec<Table>> {
    caller.may(Operation::ReadFloor)?;
    let rows = state.store.tables(caller.restaurant_id, page).await?;
    Ok(rows.into_iter().map(|t| for_caller(caller, t)).collect())
}

pub async fn table(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Table> {
    caller.may(Operation::ReadFloor)?;
    state
        .store
        .table(caller.restaurant_id, id)
        .await?
        .map(|t| for_caller(caller, t))
        .ok_or_else(|| ApiError::not_found("table"))
}

pub async fn create_table(state: &AppState, caller: &Caller, new: NewTable) -> ApiResult<Table> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    let table = state
        .store
        .create_table(
            caller.restaurant_id,
            new.label.trim(),
            new.seats,
            &guest_code(),
        )
        .await
        .map_err(on_constraint(DUPLICATE, IN_USE))?;
    Ok(table)
}

/// Label, seats and status by a manager; a status change is announced as
/// `table.status_changed`, as from [`set_status`].
pub async fn update_table(
    state: &AppState,
    caller: &Caller,
    id: i64,
    mut patch: TablePatch,
) -> ApiResult<Table> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    patch.label = patch.label.map(|l| l.trim().to_owned());
    change(state, caller, id, &patch).await
}

/// A table marked free, occupied, reserved or cleaning by any staff member.
pub async fn set_status(
    state: &AppState,
    caller: &Caller,
    id: i64,
    status: TableStatus,
) -> ApiResult<Table> {
    caller.may(Operation::SetTableStatus)?;
    let patch = TablePatch {
        status: Some(status),
        ..Default::default()
    };
    change(state, caller, id, &patch).await
}

async fn change(
    state: &AppState,
    caller: &Caller,
    id: i64,
    patch: &TablePatch,
) -> ApiResult<Table> {
    let r = caller.restaurant_id;
    let (table, events) = state
        .store
        .change_table(
            r,
            id,
            patch,
            state.clock.now_ms(),
            ends_visit,
            |before, after| status_changed(r, before, after).into_iter().collect(),
        )
        .await
        .map_err(on_constraint(DUPLICATE, IN_USE))?
        .ok_or_else(|| ApiError::not_found("table"))?;
    state.publish(events).await;
    if patch.status.is_some() {
        crate::app::revocations::settle(state).await;
    }
    Ok(for_caller(caller, table))
}

/// A party's visit ends when its table goes from taken (occupied or
/// reserved) to cleaning or free: its guest tokens end and the table gets a
/// new guest code, so a photo of the old one cannot order from home.
pub fn ends_visit(from: TableStatus, to: TableStatus) -> bool {
    use TableStatus::*;
    matches!(from, Occupied | Reserved) && matches!(to, Cleaning | Free)
}

/// `table.status_changed` to all staff and the table, when it changed.
fn status_changed(r: i64, before: &Table, after: &Table) -> Option<EventDraft> {
    (before.status != after.status)
        .then(|| table_status_changed(r, after.id, before.status, after.status))
}

/// `table.status_changed` to all staff and the table: the one place it is
/// built, for a status set by hand and for one an order changes.
pub fn table_status_changed(
    r: i64,
    table_id: i64,
    from: TableStatus,
    status: TableStatus,
) -> EventDraft {
    let change = TableStatusChanged {
        table_id,
        from,
        status,
    };
    EventDraft::new(vec![Room::Restaurant(r), Room::Table(r, table_id)], change)
}

/// A new QR secret and a new visit: the old code stops working and the
/// guests who used it must scan the new one.
pub async fn rotate_guest_code(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Table> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    let table = state
        .store
        .rotate_guest_code(caller.restaurant_id, id, state.clock.now_ms())
        .await?
        .ok_or_else(|| ApiError::not_found("table"))?;
    crate::app::revocations::settle(state).await;
    Ok(table)
}

pub async fn delete_table(state: &AppState, caller: &Caller, id: i64) -> ApiResult<()> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    let deleted = state
        .store
        .delete_table(caller.restaurant_id, id, state.clock.now_ms())
        .await
        .map_err(on_constraint(DUPLICATE, IN_USE))?;
    if deleted {
        crate::app::revocations::settle(state).await;
        Ok(())
    } else {
        Err(ApiError::not_found("table"))
    }
}

/// Calls from one table within this long of an open call are that call.
pub const REPEAT_CALL_MS: i64 = 2 * 60 * 1000;

/// A waiter call: whether it was already open (then nobody is called again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub table_id: i64,
    pub already_called: bool,
}

/// Table `id` of restaurant `r`, or NOT_FOUND.
async fn table_in(state: &AppState, r: i64, id: i64) -> ApiResult<Table> {
    state
        .store
        .table(r, id)
        .await?
        .ok_or_else(|| ApiError::not_found("table"))
}

/// Where a table's calls are heard: the waiters and the table.
fn call_rooms(r: i64, table: i64) -> Vec<Room> {
    vec![Room::Role(r, Role::Waiter), Room::Table(r, table)]
}

/// `table.waiter_called` to the waiters and the table; a guest calls to
/// its own table. A call while the table's last one is open (not accepted)
/// and less than two minutes old is that call: no second event.
pub async fn call_waiter(
    state: &AppState,
    caller: &Caller,
    table_id: Option<i64>,
) -> ApiResult<Call> {
    caller.may(Operation::CallWaiter)?;
    let Some(table_id) = caller.which_table(table_id)? else {
        return Err(ApiError::invalid_field(
            "table_id",
            "required",
            "which table?",
        ));
    };
    let r = caller.restaurant_id;
    let table = table_in(state, r, table_id).await?;
    let call = WaiterCalled {
        table_id: table.id,
        label: table.label,
        by: caller.role,
    };
    let call = EventDraft::new(call_rooms(r, table.id), call);
    let now = state.clock.now_ms();
    let opened = state
        .store
        .call_table(r, table_id, now, now - REPEAT_CALL_MS, call)
        .await?;
    let already_called = opened.is_none();
    state.publish(opened.unwrap_or_default()).await;
    Ok(Call {
        table_id,
        already_called,
    })
}

/// `table.call_accepted` to the waiters and the table: a waiter takes the
/// table's open call, so the others need not.
pub async fn accept_call(state: &AppState, caller: &Caller, table_id: i64) -> ApiResult<i64> {
    caller.may(Operation::AcceptCall)?;
    let Some(user) = caller.user_id else {
        return Err(ApiError::forbidden());
    };
    let r = caller.restaurant_id;
    let table = table_in(state, r, table_id).await?;
    let accepted = CallAccepted {
        table_id,
        label: table.label,
        by_user: user,
    };
    let accepted = EventDraft::new(call_rooms(r, table_id), accepted);
    let events = state
        .store
        .accept_call(r, table_id, user, state.clock.now_ms(), accepted)
        .await?
        .ok_or_else(|| ApiError::conflict("the table has no open call"))?;
    state.publish(events).await;
    Ok(table_id)
}

/// Tables (one, or all) with their open orders; a guest sees only its own.
pub async fn snapshot(
    state: &AppState,
    caller: &Caller,
    table_id: Option<i64>,
) -> ApiResult<AckResult> {
    caller.may(Operation::WatchTables)?;
    let table_id = caller.which_table(table_id)?;
    let (seq, tables, orders) = state
        .store
        .table_snapshot(caller.restaurant_id, table_id)
        .await?;
    if table_id.is_some() && tables.is_empty() {
        return Err(ApiError::not_found("table"));
    }
    let tables = tables
        .into_iter()
        .map(|table| {
            let orders = orders
                .iter()
                .filter(|o| o.table_id == Some(table.id))
                .cloned()
                .collect();
            TableView {
                table: for_caller(caller, table),
                orders,
            }
        })
        .collect();
    Ok(AckResult::TableSnapshot { seq, tables })
}

/// The table takes the status an order's end wants for it (cleaning after
/// closing, free after cancelling) only once no order on it is open.
pub fn table_after(wanted: TableStatus, now: TableStatus, open: i64) -> Option<TableStatus> {
    (open == 0 && now != wanted).then_some(wanted)
}
