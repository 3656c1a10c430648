//! `item.set_status`, `item.void`, `order.set_status`, `order.cancel`,
//! `order.fire_course`, `order.rush`: the kitchen lifecycle of
//! [`crate::app::kitchen`] and [`crate::app::expo`].

use restohub_protocol::ws::{
    AckResult, CancelOrderCommand, FireCourseCommand, LineStatusCommand, OrderAck,
    OrderStatusCommand, RushCommand, VoidLineCommand,
};

use super::super::connection::Connection;
use restohub_protocol::api::orders::{CancelOrder, VoidLine};

use crate::app::expo;
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

pub async fn void_line(conn: &Connection, cmd: VoidLineCommand) -> ApiResult<AckResult> {
    let req = VoidLine {
        reason: cmd.reason,
        approval: cmd.approval,
    };
    let order = expo::void_line(&conn.state, &conn.caller, cmd.order_id, cmd.line_id, req).await?;
    Ok(AckResult::ItemVoid(OrderAck { order }))
}

pub async fn set_order_status(conn: &Connection, cmd: OrderStatusCommand) -> ApiResult<AckResult> {
    let action = Action::SetOrder { to: cmd.status };
    let order =
        kitchen::act_with_reason(&conn.state, &conn.caller, cmd.order_id, action, cmd.reason)
            .await?;
    Ok(AckResult::OrderSetStatus(OrderAck { order }))
}

pub async fn cancel(conn: &Connection, cmd: CancelOrderCommand) -> ApiResult<AckResult> {
    let req = CancelOrder { reason: cmd.reason };
    let order = expo::cancel(&conn.state, &conn.caller, cmd.order_id, req).await?;
    Ok(AckResult::OrderCancel(OrderAck { order }))
}

pub async fn fire_course(conn: &Connection, cmd: FireCourseCommand) -> ApiResult<AckResult> {
    let order = expo::fire_course(&conn.state, &conn.caller, cmd.order_id, cmd.course).await?;
    Ok(AckResult::OrderFireCourse(OrderAck { order }))
}

pub async fn rush(conn: &Connection, cmd: RushCommand) -> ApiResult<AckResult> {
    let rush = cmd.rush.unwrap_or(true);
    let order = expo::rush(&conn.state, &conn.caller, cmd.order_id, rush).await?;
    Ok(AckResult::OrderRush(OrderAck { order }))
}

async fn act(conn: &Connection, order_id: i64, action: Action) -> ApiResult<OrderAck> {
    let order = kitchen::act(&conn.state, &conn.caller, order_id, action).await?;
    Ok(OrderAck { order })
}
