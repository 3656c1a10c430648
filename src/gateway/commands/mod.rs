//! Client commands after `hello`, in one rhythm: parse → apply → reply,
//! with exactly one reply (ack or error) per command. [`dispatch`] is the
//! table from each command to the application function that decides it
//! (who may, validation, the transaction, the events); the files beside
//! this one group the commands by capability.

mod kitchen;
mod rooms;

use restohub_protocol::api::orders::PlaceOrder;
use restohub_protocol::ws::{AckResult, ClientMessage, PlaceOrderCommand, RequestId};
use restohub_protocol::ErrorCode;
use serde_json::Value;

use super::connection::Connection;
use super::reply::{ack_frame, error_frame};
use crate::app;
use crate::error::{ApiError, ApiResult};
use crate::input::from_value;

/// Splits a frame into its id (if any) and the parsed command.
fn parse(text: &str) -> Result<(RequestId, ClientMessage), (Option<RequestId>, ApiError)> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        (
            None,
            ApiError::new(
                ErrorCode::MalformedJson,
                format!("frame is not valid JSON: {e}"),
            ),
        )
    })?;
    let id = value
        .get("id")
        .and_then(|id| serde_json::from_value::<RequestId>(id.clone()).ok());
    let fail = |e: ApiError| (id.clone(), e);
    let kind = match value.get("type") {
        Some(Value::String(kind)) => kind.clone(),
        Some(_) => {
            return Err(fail(ApiError::invalid_field(
                "type",
                "type",
                "must be a string",
            )))
        }
        None if value.is_object() => {
            return Err(fail(ApiError::invalid_field(
                "type",
                "required",
                "missing field `type`",
            )))
        }
        None => {
            return Err(fail(ApiError::invalid_field(
                "body",
                "type",
                "must be a JSON object",
            )))
        }
    };
    if !ClientMessage::TYPES.contains(&kind.as_str()) {
        return Err(fail(ApiError::new(
            ErrorCode::UnknownCommand,
            format!(
                "unknown command {kind:?}; known: {}",
                ClientMessage::TYPES.join(", ")
            ),
        )));
    }
    let message = if kind == "order.place" {
        // Parsed on its own: through serde's flatten the failing field's
        // path would be lost.
        let mut body = value;
        if let Some(map) = body.as_object_mut() {
            map.remove("type");
            map.remove("id");
        }
        let order = from_value::<PlaceOrder>(body).map_err(fail)?;
        match id.clone() {
            Some(id) => ClientMessage::OrderPlace(PlaceOrderCommand { id, order }),
            None => {
                return Err((
                    None,
                    ApiError::invalid_field("id", "required", "every command needs an id"),
                ))
            }
        }
    } else {
        from_value::<ClientMessage>(value).map_err(fail)?
    };
    if let ClientMessage::Hello(_) = message {
        return Err(fail(ApiError::conflict(
            "already authenticated; hello is the first frame only",
        )));
    }
    match id {
        Some(id) => Ok((id, message)),
        None => Err((
            None,
            ApiError::invalid_field("id", "required", "every command needs an id"),
        )),
    }
}

/// Runs one command frame and returns the reply frame.
pub(super) async fn run(conn: &mut Connection, text: &str) -> String {
    let (id, message) = match parse(text) {
        Ok(parsed) => parsed,
        Err((id, error)) => return error_frame(id, error),
    };
    match dispatch(conn, message).await {
        Ok(result) => ack_frame(id, result),
        Err(error) => error_frame(Some(id), error),
    }
}

/// Each command to the function that applies it.
async fn dispatch(conn: &mut Connection, message: ClientMessage) -> ApiResult<AckResult> {
    let (state, caller) = (&conn.state, &conn.caller);
    use ClientMessage::*;
    match message {
        Subscribe(cmd) => rooms::subscribe(conn, &cmd.room).await,
        Unsubscribe(cmd) => rooms::unsubscribe(conn, &cmd.room),
        Presence(cmd) => rooms::presence(conn, &cmd.room).await,
        Ping(_) => Ok(rooms::ping(conn)),
        OrderPlace(cmd) => app::orders::place(state, caller, cmd.order)
            .await
            .map(AckResult::OrderPlace),
        ItemSetStatus(cmd) => kitchen::set_line_status(conn, cmd).await,
        ItemVoid(cmd) => kitchen::void_line(conn, cmd).await,
        OrderSetStatus(cmd) => kitchen::set_order_status(conn, cmd).await,
        OrderCancel(cmd) => kitchen::cancel(conn, cmd).await,
        MenuSetStock(cmd) => {
            app::menu::set_stock(state, caller, cmd.menu_item_id, cmd.stock.flatten())
                .await
                .map(|item| AckResult::MenuSetStock { item })
        }
        MenuSetAvailable(cmd) => {
            app::menu::set_available(state, caller, cmd.menu_item_id, cmd.available)
                .await
                .map(|item| AckResult::MenuSetAvailable { item })
        }
        TableCallWaiter(cmd) => app::floor::call_waiter(state, caller, cmd.table_id)
            .await
            .map(|table_id| AckResult::TableCallWaiter { table_id }),
        TableSetStatus(cmd) => app::floor::set_status(state, caller, cmd.table_id, cmd.status)
            .await
            .map(|table| AckResult::TableSetStatus { table }),
        KitchenSnapshot(cmd) => {
            app::stations::kitchen_snapshot(state, caller, cmd.station_id).await
        }
        TableSnapshot(cmd) => app::floor::snapshot(state, caller, cmd.table_id).await,
        MenuSnapshot(_) => app::menu::snapshot(state, caller).await,
        AuthRefresh(cmd) => {
            conn.caller = app::revocations::renew(state, caller, &cmd.access_token)?;
            Ok(AckResult::AuthRefresh {
                expires_at: restohub_protocol::Timestamp(conn.caller.expires_at),
            })
        }
        Hello(_) => Err(ApiError::conflict("already authenticated")),
    }
}
