//! `item.set_status`, `item.void`, `order.set_status`, `order.cancel`: the
//! kitchen lifecycle of [`crate::app::kitchen`].

use restohub_protocol::ws::{
    AckResult, LineCommand, LineStatusCommand, OrderAck, OrderCommand, OrderStatusCommand,
};

use super::super::connection::Connection;
use crate::app::kitchen::{self, Action};
use crate::error::ApiResult;

pub async fn set_line_status(conn: &Connection, cmd: LineStatusCommand) -> ApiResult<AckResult> {
    let action = Action::SetLine {
        line_id: cmd.line_id,
        to: cmd.status,
    };
    act(conn, cmd.order_id, action)
        .await
        .map(AckResult::ItemSetStatus)
}

pub async fn void_line(conn: &Connection, cmd: LineCommand) -> ApiResult<AckResult> {
    let action = Action::Void {
        line_id: cmd.line_id,
    };
    act(conn, cmd.order_id, action)
        .await
        .map(AckResult::ItemVoid)
}

pub async fn set_order_status(conn: &Connection, cmd: OrderStatusCommand) -> ApiResult<AckResult> {
    let action = Action::SetOrder { to: cmd.status };
    let order =
        kitchen::act_with_reason(&conn.state, &conn.caller, cmd.order_id, action, cmd.reason)
            .await?;
    Ok(AckResult::OrderSetStatus(OrderAck { order }))
}

pub async fn cancel(conn: &Connection, cmd: OrderCommand) -> ApiResult<AckResult> {
    act(conn, cmd.order_id, Action::Cancel)
        .await
        .map(AckResult::OrderCancel)
}

async fn act(conn: &Connection, order_id: i64, action: Action) -> ApiResult<OrderAck> {
    let order = kitchen::act(&conn.state, &conn.caller, order_id, action).await?;
    Ok(OrderAck { order })
}
