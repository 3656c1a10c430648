//! Client commands after `hello`: parse → authorize → apply → reply, with
//! exactly one reply (ack or error) per command.

use restohub_protocol::api::orders::PlaceOrder;
use restohub_protocol::ws::{
    AckResult, ClientMessage, OrderAck, PlaceOrderCommand, RequestId, Room,
};
use restohub_protocol::{ErrorCode, Timestamp};
use serde_json::Value;

use super::reply::{ack_frame, error_frame};
use super::rooms::{check_room, parse_room};
use super::session::Connection;
use crate::error::ApiError;
use crate::http::extract::from_value;
use crate::orders::lifecycle::{self, Action};

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

impl Connection {
    /// Queues a dashboard snapshot for a session that just joined
    /// `dashboard:{r}`; if it cannot be read, the refresher sends one soon.
    pub(super) async fn send_first_dashboard(&self, r: i64) {
        let now = self.state.clock.now_ms();
        match self.state.store.dashboard(r, now).await {
            Ok(Some(stats)) => self.gateway.send_dashboard(&self.session, stats),
            _ => self.gateway.dashboard_changed(r),
        }
    }

    /// Runs one command and returns the reply frame.
    pub(super) async fn command(&mut self, text: &str) -> String {
        let (id, message) = match parse(text) {
            Ok(parsed) => parsed,
            Err((id, error)) => return error_frame(id, error),
        };
        match self.apply(message).await {
            Ok(result) => ack_frame(id, result),
            Err(error) => error_frame(Some(id), error),
        }
    }

    async fn apply(&mut self, message: ClientMessage) -> Result<AckResult, ApiError> {
        match message {
            ClientMessage::Subscribe(cmd) => {
                let room = self.permitted_room(&cmd.room).await?;
                if self.rooms.insert(room) {
                    self.node.join(room, &self.session);
                    if let Room::Dashboard(r) = room {
                        // Queued: it follows the ack.
                        self.send_first_dashboard(r).await;
                    }
                }
                Ok(AckResult::Subscribe {
                    room: room.to_string(),
                })
            }
            ClientMessage::Unsubscribe(cmd) => {
                let room = parse_room(&cmd.room)?;
                if self.rooms.remove(&room) {
                    self.node.leave(room, &self.session);
                }
                Ok(AckResult::Unsubscribe {
                    room: room.to_string(),
                })
            }
            ClientMessage::Presence(cmd) => {
                let room = self.permitted_room(&cmd.room).await?;
                let mut members = self.node.watch(room, &self.session);
                members.extend(self.node.remote_members(room).await);
                members.sort_by(|a, b| a.session_id.cmp(&b.session_id));
                self.watching.insert(room);
                Ok(AckResult::Presence {
                    room: room.to_string(),
                    members,
                })
            }
            ClientMessage::Ping(_) => Ok(AckResult::Ping {
                server_time: Timestamp(self.state.clock.now_ms()),
            }),
            ClientMessage::OrderPlace(cmd) => {
                let placed = crate::orders::place(&self.state, &self.caller, cmd.order).await?;
                Ok(AckResult::OrderPlace(placed))
            }
            ClientMessage::ItemSetStatus(cmd) => {
                let action = Action::SetLine {
                    line_id: cmd.line_id,
                    to: cmd.status,
                };
                Ok(AckResult::ItemSetStatus(
                    self.act(cmd.order_id, action).await?,
                ))
            }
            ClientMessage::ItemVoid(cmd) => {
                let action = Action::Void {
                    line_id: cmd.line_id,
                };
                Ok(AckResult::ItemVoid(self.act(cmd.order_id, action).await?))
            }
            ClientMessage::OrderSetStatus(cmd) => {
                let action = Action::SetOrder { to: cmd.status };
                Ok(AckResult::OrderSetStatus(
                    self.act(cmd.order_id, action).await?,
                ))
            }
            ClientMessage::OrderCancel(cmd) => Ok(AckResult::OrderCancel(
                self.act(cmd.order_id, Action::Cancel).await?,
            )),
            ClientMessage::MenuSetStock(cmd) => {
                self.set_stock(cmd.menu_item_id, cmd.stock.flatten()).await
            }
            ClientMessage::MenuSetAvailable(cmd) => {
                self.set_available(cmd.menu_item_id, cmd.available).await
            }
            ClientMessage::TableCallWaiter(cmd) => self.call_waiter(cmd.table_id).await,
            ClientMessage::TableSetStatus(cmd) => {
                self.set_table_status(cmd.table_id, cmd.status).await
            }
            ClientMessage::KitchenSnapshot(cmd) => self.kitchen_snapshot(cmd.station_id).await,
            ClientMessage::TableSnapshot(cmd) => self.table_snapshot(cmd.table_id).await,
            ClientMessage::MenuSnapshot(_) => self.menu_snapshot().await,
            ClientMessage::Hello(_) => Err(ApiError::conflict("already authenticated")),
        }
    }

    async fn act(&self, order_id: i64, action: Action) -> Result<OrderAck, ApiError> {
        let order = lifecycle::act(&self.state, &self.caller, order_id, action).await?;
        Ok(OrderAck { order })
    }

    /// A room this session may be in, that exists.
    async fn permitted_room(&self, name: &str) -> Result<Room, ApiError> {
        check_room(&self.state, &self.caller, name).await
    }
}
