//! Client commands after `hello`, in one rhythm: parse → apply → reply,
//! with exactly one reply (ack or error) per command. [`dispatch`] is the
//! table from each command to the application function that decides it
//! (who may, validation, the transaction, the events); the files beside
//! this one group the commands by capability.

mod checks;
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
    let message = if ClientMessage::WITH_BODY.contains(&kind.as_str()) {
        // Parsed on its own: through serde's flatten the failing field's
        // path would be lost, and unknown fields would pass.
        let Some(id) = id.clone() else {
            return Err((
                None,
                ApiError::invalid_field("id", "required", "every command needs an id"),
            ));
        };
        with_body(&kind, id, value).map_err(fail)?
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

/// A command whose body is a REST request type: `type`, `id` and (where it
/// has one) `check_id` come off, the rest parses as that type.
fn with_body(kind: &str, id: RequestId, mut value: Value) -> ApiResult<ClientMessage> {
    let check_id = match value.as_object_mut() {
        Some(map) => {
            map.remove("type");
            map.remove("id");
            map.remove("check_id")
        }
        None => None,
    };
    let check_id = || -> ApiResult<i64> {
        match &check_id {
            Some(v) => v
                .as_i64()
                .ok_or_else(|| ApiError::invalid_field("check_id", "type", "must be an integer")),
            None => Err(ApiError::invalid_field(
                "check_id",
                "required",
                "missing field `check_id`",
            )),
        }
    };
    use restohub_protocol::ws as w;
    Ok(match kind {
        "order.place" => ClientMessage::OrderPlace(PlaceOrderCommand {
            id,
            order: from_value::<PlaceOrder>(value)?,
        }),
        "check.open" => ClientMessage::CheckOpen(w::CheckOpenCommand {
            id,
            open: from_value(value)?,
        }),
        "check.discount" => ClientMessage::CheckDiscount(w::CheckDiscountCommand {
            id,
            check_id: check_id()?,
            discount: from_value(value)?,
        }),
        "check.split" => ClientMessage::CheckSplit(w::CheckSplitCommand {
            id,
            check_id: check_id()?,
            split: from_value(value)?,
        }),
        "payment.record" => ClientMessage::PaymentRecord(w::PaymentCommand {
            id,
            check_id: check_id()?,
            payment: from_value(value)?,
        }),
        "payment.refund" => ClientMessage::PaymentRefund(w::RefundCommand {
            id,
            refund: from_value(value)?,
        }),
        "payment.intent" => ClientMessage::PaymentIntent(w::IntentCommand {
            id,
            check_id: check_id()?,
            intent: from_value(value)?,
        }),
        other => {
            return Err(ApiError::new(
                ErrorCode::UnknownCommand,
                format!("{other} has no body"),
            ))
        }
    })
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
        OrderFireCourse(cmd) => kitchen::fire_course(conn, cmd).await,
        OrderRush(cmd) => kitchen::rush(conn, cmd).await,
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
            .map(|call| AckResult::TableCallWaiter {
                table_id: call.table_id,
                already_called: call.already_called,
            }),
        TableAcceptCall(cmd) => app::floor::accept_call(state, caller, cmd.table_id)
            .await
            .map(|table_id| AckResult::TableAcceptCall { table_id }),
        ScreenSeen(cmd) => app::screens::seen(
            state,
            caller,
            &conn.session,
            conn.rooms.iter().copied(),
            cmd.seq,
            cmd.screen.as_deref(),
        ),
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
        CheckOpen(_) | CheckGet(_) | CheckDiscount(_) | CheckSplit(_) | CheckSetCovers(_)
        | CheckClose(_) | CheckVoid(_) | CheckReopen(_) | PaymentRecord(_) | PaymentRefund(_)
        | PaymentIntent(_) => checks::dispatch(state, caller, message).await,
        Hello(_) => Err(ApiError::conflict("already authenticated")),
    }
}
