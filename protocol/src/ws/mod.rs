//! The WebSocket protocol on `GET /ws`: JSON text frames, one message each.
//!
//! The client speaks first with [`Hello`]; the hub answers [`Welcome`] or
//! closes with a [`close`] code. Every later command carries a client-chosen
//! `id` and gets exactly one [`Ack`] or [`ErrorReply`] with that id. Events
//! arrive as [`EventFrame`]s in the order of their per-restaurant `seq`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::events::EventData;
use crate::{ErrorCode, Role, Timestamp};

pub mod close;
mod room;

pub use room::{Room, RoomError};

/// A command id chosen by the client: a number or a string, echoed back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RequestId {
    Number(i64),
    Text(String),
}

/// Everything a client may send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Hello(Hello),
    Subscribe(RoomCommand),
    Unsubscribe(RoomCommand),
    Presence(RoomCommand),
    Ping(Ping),
    #[serde(rename = "order.place")]
    OrderPlace(PlaceOrderCommand),
    #[serde(rename = "item.set_status")]
    ItemSetStatus(LineStatusCommand),
    #[serde(rename = "item.void")]
    ItemVoid(VoidLineCommand),
    #[serde(rename = "order.set_status")]
    OrderSetStatus(OrderStatusCommand),
    #[serde(rename = "order.cancel")]
    OrderCancel(CancelOrderCommand),
    #[serde(rename = "order.fire_course")]
    OrderFireCourse(FireCourseCommand),
    #[serde(rename = "order.rush")]
    OrderRush(RushCommand),
    #[serde(rename = "menu.set_stock")]
    MenuSetStock(MenuStockCommand),
    #[serde(rename = "menu.set_available")]
    MenuSetAvailable(MenuAvailableCommand),
    #[serde(rename = "table.call_waiter")]
    TableCallWaiter(TableCommand),
    #[serde(rename = "table.set_status")]
    TableSetStatus(TableStatusCommand),
    #[serde(rename = "kitchen.snapshot")]
    KitchenSnapshot(KitchenSnapshotCommand),
    #[serde(rename = "table.snapshot")]
    TableSnapshot(TableCommand),
    #[serde(rename = "menu.snapshot")]
    MenuSnapshot(Ping),
    #[serde(rename = "auth.refresh")]
    AuthRefresh(AuthRefreshCommand),
    #[serde(rename = "check.open")]
    CheckOpen(CheckOpenCommand),
    #[serde(rename = "check.get")]
    CheckGet(CheckCommand),
    #[serde(rename = "check.discount")]
    CheckDiscount(CheckDiscountCommand),
    #[serde(rename = "check.split")]
    CheckSplit(CheckSplitCommand),
    #[serde(rename = "check.set_covers")]
    CheckSetCovers(CheckCoversCommand),
    #[serde(rename = "check.close")]
    CheckClose(CheckCommand),
    #[serde(rename = "check.void")]
    CheckVoid(CheckReasonCommand),
    #[serde(rename = "check.reopen")]
    CheckReopen(CheckReasonCommand),
    #[serde(rename = "payment.record")]
    PaymentRecord(PaymentCommand),
    #[serde(rename = "payment.refund")]
    PaymentRefund(RefundCommand),
    #[serde(rename = "payment.intent")]
    PaymentIntent(IntentCommand),
    #[serde(rename = "screen.seen")]
    ScreenSeen(ScreenSeenCommand),
    #[serde(rename = "table.accept_call")]
    TableAcceptCall(AcceptCallCommand),
}

impl ClientMessage {
    /// The `type` strings, for telling an unknown command from a bad one.
    pub const TYPES: [&'static str; 33] = [
        "hello",
        "subscribe",
        "unsubscribe",
        "presence",
        "ping",
        "order.place",
        "item.set_status",
        "item.void",
        "order.set_status",
        "order.cancel",
        "order.fire_course",
        "order.rush",
        "menu.set_stock",
        "menu.set_available",
        "table.call_waiter",
        "table.set_status",
        "kitchen.snapshot",
        "table.snapshot",
        "menu.snapshot",
        "auth.refresh",
        "check.open",
        "check.get",
        "check.discount",
        "check.split",
        "check.set_covers",
        "check.close",
        "check.void",
        "check.reopen",
        "payment.record",
        "payment.refund",
        "payment.intent",
        "screen.seen",
        "table.accept_call",
    ];

    /// The commands whose body (besides `type` and `id`, and `check_id`
    /// where they have one) is a REST request type: the hub parses that body
    /// on its own so that a failing field keeps its path.
    pub const WITH_BODY: [&'static str; 7] = [
        "order.place",
        "check.open",
        "check.discount",
        "check.split",
        "payment.record",
        "payment.refund",
        "payment.intent",
    ];
}

/// Sets a menu item's stock; `null` stops tracking it. Required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MenuStockCommand {
    pub id: RequestId,
    pub menu_item_id: i64,
    /// Required; `null` stops tracking.
    #[serde(deserialize_with = "crate::api::nullable")]
    pub stock: Option<Option<i64>>,
}

/// 86es an item (`false`) or brings it back (`true`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MenuAvailableCommand {
    pub id: RequestId,
    pub menu_item_id: i64,
    pub available: bool,
}

/// `screen.seen`: a station screen has rendered everything up to `seq`
/// (coalesce: send the latest seq, a few times a second at most). It counts
/// for every station room the session is in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScreenSeenCommand {
    pub id: RequestId,
    pub seq: u64,
    /// The screen's name (1-64 characters), stable across reconnects; the
    /// session id when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen: Option<String>,
}

/// `table.accept_call`: a waiter takes a table's open call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AcceptCallCommand {
    pub id: RequestId,
    pub table_id: i64,
}

/// A table; a guest's own table when omitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TableCommand {
    pub id: RequestId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TableStatusCommand {
    pub id: RequestId,
    pub table_id: i64,
    pub status: crate::api::tables::TableStatus,
}

/// Open tickets, of one station or the whole kitchen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KitchenSnapshotCommand {
    pub id: RequestId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station_id: Option<i64>,
}

/// An open order as a kitchen screen draws it. Rushed tickets come first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ticket {
    pub order: crate::api::orders::Order,
    /// Milliseconds since it was placed.
    pub age_ms: i64,
    /// Its clock at each station it shows at (one for a station's snapshot),
    /// in station id order.
    pub timers: Vec<crate::api::stations::TicketTimer>,
    /// The stations holding the order up: those with lines of it not yet
    /// ready (held lines count), ascending.
    pub holding: Vec<i64>,
    /// For a station's snapshot, the other stations with lines of the
    /// order; for the whole kitchen, every station with lines of it.
    pub also_at: Vec<i64>,
}

/// A table with its open orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TableView {
    pub table: crate::api::tables::Table,
    pub orders: Vec<crate::api::orders::Order>,
}

/// A station bumps a line forward one step, or recalls it back one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LineStatusCommand {
    pub id: RequestId,
    pub order_id: i64,
    pub line_id: i64,
    pub status: crate::api::orders::LineStatus,
}

/// Voids a line: `reason` is required; a line already fired needs a
/// manager's `approval` unless a manager or owner voids it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VoidLineCommand {
    pub id: RequestId,
    pub order_id: i64,
    pub line_id: i64,
    #[serde(default)]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<crate::api::checks::Approval>,
}

/// Cancels an order; `reason` is required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CancelOrderCommand {
    pub id: RequestId,
    pub order_id: i64,
    #[serde(default)]
    pub reason: String,
}

/// Fires a held course of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FireCourseCommand {
    pub id: RequestId,
    pub order_id: i64,
    pub course: i64,
}

/// Rushes an order (`rush` omitted: true), or takes the rush off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RushCommand {
    pub id: RequestId,
    pub order_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rush: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderStatusCommand {
    pub id: RequestId,
    pub order_id: i64,
    pub status: crate::api::orders::OrderStatus,
    /// Why a manager closes an order whose check is not paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The check as the command left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckAck {
    pub check: crate::api::checks::Check,
}

/// The order after a lifecycle command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderAck {
    pub order: crate::api::orders::Order,
}

/// A check, by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckCommand {
    pub id: RequestId,
    pub check_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckOpenCommand {
    pub id: RequestId,
    #[serde(flatten)]
    pub open: crate::api::checks::OpenCheck,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckDiscountCommand {
    pub id: RequestId,
    pub check_id: i64,
    #[serde(flatten)]
    pub discount: crate::api::checks::AddDiscount,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckSplitCommand {
    pub id: RequestId,
    pub check_id: i64,
    #[serde(flatten)]
    pub split: crate::api::checks::SplitCheck,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckCoversCommand {
    pub id: RequestId,
    pub check_id: i64,
    pub covers: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckReasonCommand {
    pub id: RequestId,
    pub check_id: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentCommand {
    pub id: RequestId,
    pub check_id: i64,
    #[serde(flatten)]
    pub payment: crate::api::checks::RecordPayment,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RefundCommand {
    pub id: RequestId,
    #[serde(flatten)]
    pub refund: crate::api::checks::Refund,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntentCommand {
    pub id: RequestId,
    pub check_id: i64,
    #[serde(flatten)]
    pub intent: crate::api::checks::CreateIntent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlaceOrderCommand {
    pub id: RequestId,
    #[serde(flatten)]
    pub order: crate::api::orders::PlaceOrder,
}

/// The first frame. `token` is the access token (staff or guest); a client
/// that sent `Authorization: Bearer` on the upgrade request omits it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Hello {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The last `seq` this client has seen; the hub then sends what came after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
    /// The restaurant the client means to join; if the token belongs to
    /// another one, the hub closes with `FORBIDDEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restaurant_id: Option<i64>,
    /// Rooms to join before the welcome (and before any replay), besides the
    /// role's own: a station screen names its station here so that what it
    /// missed there is replayed too. A room it may not join closes with
    /// `FORBIDDEN`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rooms: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoomCommand {
    pub id: RequestId,
    /// A room name such as `kitchen:1:3` (see [`Room`]).
    pub room: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ping {
    pub id: RequestId,
}

/// `auth.refresh`: a new access token for the same identity (account and
/// role, or guest at the same table), so an open socket outlives the token
/// it said hello with. Without one, the socket closes with `TOKEN_EXPIRED`
/// when its token expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuthRefreshCommand {
    pub id: RequestId,
    pub access_token: String,
}

/// Everything the hub sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type")]
pub enum ServerMessage {
    #[serde(rename = "welcome")]
    Welcome(Welcome),
    #[serde(rename = "ack")]
    Ack(Ack),
    #[serde(rename = "error")]
    Error(ErrorReply),
    #[serde(rename = "event")]
    Event(EventFrame),
    #[serde(rename = "presence.joined")]
    PresenceJoined(PresenceChange),
    #[serde(rename = "presence.left")]
    PresenceLeft(PresenceChange),
    #[serde(rename = "resumed")]
    Resumed(Resumed),
    /// The live statistics, to sessions in `dashboard:{r}`: one on joining,
    /// then a fresh one after changes (a few per second at most).
    #[serde(rename = "dashboard")]
    Dashboard(Box<crate::api::analytics::DashboardStats>),
    /// A station's all-day counts, to its `station` room and the expo's
    /// `kitchen` room: after changes (coalesced), only when they changed.
    #[serde(rename = "kitchen.all_day")]
    KitchenAllDay(AllDayFrame),
}

/// `kitchen.all_day`: one station's counts now (state, not history: a
/// newer frame replaces an older one; none is replayed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AllDayFrame {
    pub station_id: i64,
    /// Every event up to this seq is counted, and none after it.
    pub seq: u64,
    /// The hub's clock when the counts were read.
    pub hub_time: crate::Timestamp,
    /// By item id; an item with none left is absent.
    pub items: Vec<crate::api::stations::AllDayCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Welcome {
    pub session_id: String,
    pub restaurant_id: i64,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// A guest's table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_id: Option<i64>,
    /// Rooms the session was placed in because of its role.
    pub rooms: Vec<String>,
    /// The restaurant's latest event `seq` at the moment of joining.
    pub seq: u64,
    /// The hub pings this often; a peer silent for three intervals is dropped.
    pub heartbeat_interval_ms: u64,
    /// The hello's `since` is older than the event log reaches back (or too
    /// far behind to replay): nothing is replayed; redraw from snapshots and
    /// continue from `seq`.
    #[serde(default)]
    pub resync_required: bool,
}

/// After a hello with `since`, the events between `since` and the welcome's
/// `seq` that the session's rooms allow have been replayed (as ordinary
/// event frames); live events follow, the first with `prev` = `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Resumed {
    pub since: u64,
    pub seq: u64,
    pub replayed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ack {
    pub id: RequestId,
    #[serde(flatten)]
    pub result: AckResult,
}

/// What a command did; `command` names the command acknowledged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum AckResult {
    Subscribe {
        room: String,
    },
    Unsubscribe {
        room: String,
    },
    Presence {
        room: String,
        members: Vec<Member>,
    },
    Ping {
        server_time: Timestamp,
    },
    #[serde(rename = "order.place")]
    OrderPlace(crate::api::orders::Placed),
    #[serde(rename = "item.set_status")]
    ItemSetStatus(OrderAck),
    #[serde(rename = "item.void")]
    ItemVoid(OrderAck),
    #[serde(rename = "order.set_status")]
    OrderSetStatus(OrderAck),
    #[serde(rename = "order.cancel")]
    OrderCancel(OrderAck),
    #[serde(rename = "order.fire_course")]
    OrderFireCourse(OrderAck),
    #[serde(rename = "order.rush")]
    OrderRush(OrderAck),
    #[serde(rename = "menu.set_stock")]
    MenuSetStock {
        item: crate::api::menu::MenuItem,
    },
    #[serde(rename = "menu.set_available")]
    MenuSetAvailable {
        item: crate::api::menu::MenuItem,
    },
    #[serde(rename = "table.call_waiter")]
    TableCallWaiter {
        table_id: i64,
        /// The table's call was already open (made less than two minutes
        /// ago and not yet accepted): nobody was called again.
        #[serde(default)]
        already_called: bool,
    },
    #[serde(rename = "table.accept_call")]
    TableAcceptCall {
        table_id: i64,
    },
    /// The acknowledgement was taken for these stations (the session's
    /// station rooms).
    #[serde(rename = "screen.seen")]
    ScreenSeen {
        seq: u64,
        screen: String,
        station_ids: Vec<i64>,
    },
    #[serde(rename = "table.set_status")]
    TableSetStatus {
        table: crate::api::tables::Table,
    },
    /// The socket now lives until the new token expires.
    #[serde(rename = "auth.refresh")]
    AuthRefresh {
        expires_at: Timestamp,
    },
    #[serde(rename = "check.open")]
    CheckOpen(CheckAck),
    #[serde(rename = "check.get")]
    CheckGet(CheckAck),
    #[serde(rename = "check.discount")]
    CheckDiscount(CheckAck),
    #[serde(rename = "check.split")]
    CheckSplit(CheckAck),
    #[serde(rename = "check.set_covers")]
    CheckSetCovers(CheckAck),
    #[serde(rename = "check.close")]
    CheckClose(CheckAck),
    #[serde(rename = "check.void")]
    CheckVoid(CheckAck),
    #[serde(rename = "check.reopen")]
    CheckReopen(CheckAck),
    #[serde(rename = "payment.refund")]
    PaymentRefund(CheckAck),
    #[serde(rename = "payment.record")]
    PaymentRecord(crate::api::checks::PaymentRecorded),
    #[serde(rename = "payment.intent")]
    PaymentIntent {
        intent: crate::api::checks::PaymentIntent,
    },
    /// Each snapshot is consistent with `seq`: apply events after it.
    #[serde(rename = "kitchen.snapshot")]
    KitchenSnapshot {
        seq: u64,
        station_id: Option<i64>,
        tickets: Vec<Ticket>,
        /// The hub's clock when it read the snapshot: screens count ticket
        /// times from it, not from their own clocks.
        hub_time: crate::Timestamp,
        /// Items queued or preparing, per station and item (the station's
        /// only, for a station's snapshot).
        all_day: Vec<crate::api::stations::AllDayCount>,
    },
    #[serde(rename = "table.snapshot")]
    TableSnapshot {
        seq: u64,
        tables: Vec<TableView>,
    },
    #[serde(rename = "menu.snapshot")]
    MenuSnapshot {
        seq: u64,
        categories: Vec<crate::api::menu::Category>,
        items: Vec<crate::api::menu::MenuItem>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorReply {
    /// The failed command's id; absent when the frame had none (e.g. not JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RequestId>,
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// A durable event. `seq` numbers the restaurant's events without gaps;
/// `prev` is the `seq` of the event this session was sent before this one
/// (or, for the first, the `since` of its hello, else the welcome's `seq`).
/// A client that last saw `prev` has missed nothing meant for it.
///
/// `kind` and `data` come from [`EventData`], flattened into the frame: a
/// frame parses only when its data is what its kind promises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventFrame {
    pub prev: u64,
    pub seq: u64,
    /// When the change was committed.
    pub at: Timestamp,
    /// `"kind"` (e.g. `order.placed`, `menu.stock_changed`) and `"data"`.
    #[serde(flatten)]
    pub event: EventData,
}

/// Somebody connected to, or left, a room (not durable, no `seq`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PresenceChange {
    pub room: String,
    pub member: Member,
}

/// One connected session, as others in a room see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Member {
    pub session_id: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_id: Option<i64>,
}
