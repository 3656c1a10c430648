//! Events: every kind of durable change a restaurant announces, one type per
//! kind with its data.
//!
//! Each kind's name (`order.placed`, ...) is written once, in the
//! `event_kinds!` list below; [`EventData::kind`], [`EventData::KINDS`],
//! each data type's `KIND` and the serde tag all come from it. On the wire an
//! event frame carries the pair as `"kind": "...", "data": {...}`
//! ([`crate::ws::EventFrame`]), so a frame parses only when its data is what
//! its kind promises. Which rooms an event goes to is the hub's business and
//! is documented in PROTOCOL.md §9.4; this module holds data shapes only.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize, Serializer};

use crate::api::checks::{Check, Payment};
use crate::api::orders::{LineStatus, Order, OrderLine, OrderSource, OrderStatus};
use crate::api::stations::TicketTimer;
use crate::api::tables::TableStatus;
use crate::{Role, Timestamp};

/// Declares [`EventData`] and everything derived from the kind names, so
/// that each name is written exactly once.
macro_rules! event_kinds {
    ($( $(#[$doc:meta])* $kind:literal => $variant:ident($data:ident), )*) => {
        /// One event's kind and data. Serialized as
        /// `{"kind": "order.placed", "data": {...}}`; flattened into
        /// [`crate::ws::EventFrame`].
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "kind", content = "data")]
        pub enum EventData {
            $( $(#[$doc])* #[serde(rename = $kind)] $variant($data), )*
        }

        impl EventData {
            /// Every kind, in declaration order.
            pub const KINDS: &'static [&'static str] = &[$($kind),*];

            /// The `kind` on the wire, e.g. `order.placed`.
            pub fn kind(&self) -> &'static str {
                match self {
                    $( EventData::$variant(_) => $kind, )*
                }
            }

            /// The data of a stored `(kind, data)` pair; an unknown kind or
            /// data that does not fit it is an error.
            pub fn from_parts(kind: &str, data: serde_json::Value) -> serde_json::Result<Self> {
                match kind {
                    $( $kind => serde_json::from_value(data).map(EventData::$variant), )*
                    other => Err(serde::de::Error::unknown_variant(other, Self::KINDS)),
                }
            }

            fn serialize_data<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( EventData::$variant(data) => data.serialize(s), )*
                }
            }
        }

        $(
            impl $data {
                /// This event's `kind` on the wire.
                pub const KIND: &'static str = $kind;
            }

            impl From<$data> for EventData {
                fn from(data: $data) -> Self {
                    EventData::$variant(data)
                }
            }
        )*
    };
}

event_kinds! {
    /// A new order, to the expo, the waiters, the dashboard and its table.
    "order.placed" => OrderPlaced(OrderPlaced),
    /// One station's part of a new order, to that station.
    "ticket.placed" => TicketPlaced(TicketPlaced),
    /// A tracked item's stock changed.
    "menu.stock_changed" => StockChanged(StockChanged),
    /// A tracked item's stock crossed down to its low-stock threshold.
    "menu.stock_low" => StockLow(StockLow),
    /// An item sold out or was 86'd, or came back.
    "menu.availability_changed" => AvailabilityChanged(AvailabilityChanged),
    /// A table's status changed.
    "table.status_changed" => TableStatusChanged(TableStatusChanged),
    /// A guest (or staff for a table) called for a waiter.
    "table.waiter_called" => WaiterCalled(WaiterCalled),
    /// One order line moved through the kitchen, or was voided.
    "order.line_status_changed" => LineStatusChanged(LineStatusChanged),
    /// An order's status changed (other than to cancelled).
    "order.status_changed" => OrderStatusChanged(OrderStatusChanged),
    /// An order was cancelled.
    "order.cancelled" => OrderCancelled(OrderCancelled),
    /// A check was opened for a table or a takeaway order.
    "check.opened" => CheckOpened(CheckOpened),
    /// A check changed: its lines, discounts, split, totals or status.
    "check.updated" => CheckUpdated(CheckUpdated),
    /// A payment was recorded against a check.
    "payment.recorded" => PaymentRecorded(PaymentRecordedEvent),
    /// Money was given back on a payment.
    "payment.refunded" => PaymentRefunded(PaymentRefunded),
    /// A paid check was closed, or a check was voided.
    "check.closed" => CheckClosed(CheckClosed),
    /// A ticket passed its due time while not ready, to the expo and the
    /// dashboard; once per ticket.
    "ticket.late" => TicketLate(TicketLate),
    /// A held course was fired: one station's lines of it, to that station,
    /// the expo and the table.
    "ticket.fired" => TicketFired(TicketFired),
    /// An order was rushed (or the rush taken off), to every station of it.
    "order.rushed" => OrderRushed(OrderRushed),
    /// Orders newly on screen at a station (proof of display), to the expo
    /// and the waiters who placed them.
    "ticket.seen" => TicketSeen(TicketSeen),
    /// A station with open tickets has had no screen connected.
    "station.unattended" => StationUnattended(StationUnattended),
    /// An unattended station has a screen again, or no open tickets.
    "station.attended" => StationAttended(StationAttended),
    /// A connected screen has not acknowledged a ticket in time.
    "screen.behind" => ScreenBehind(ScreenBehind),
    /// A screen flagged behind acknowledged, or left.
    "screen.caught_up" => ScreenCaughtUp(ScreenCaughtUp),
    /// An order is ready, to the waiter who placed it.
    "order.ready" => OrderReady(OrderReady),
    /// A waiter took a table's call, to the waiters and the table.
    "table.call_accepted" => CallAccepted(CallAccepted),
}

impl EventData {
    /// Only the data, serialized without the kind: what the event log stores
    /// beside the kind, and what goes under `"data"` on the wire.
    pub fn data(&self) -> Data<'_> {
        Data(self)
    }

    /// [`Self::data`] as a JSON value.
    pub fn data_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self.data())
    }
}

/// An event's data alone (see [`EventData::data`]).
#[derive(Debug, Clone, Copy)]
pub struct Data<'a>(&'a EventData);

impl Serialize for Data<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_data(s)
    }
}

/// `order.placed`: the whole order as placed. Its `placed_seq` equals the
/// `seq` of this very event (the order is announced by the event that
/// numbers it), so a client may store the order as it arrives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct OrderPlaced {
    pub order: Order,
}

impl OrderPlaced {
    /// The event for `order`, once the event's `seq` is known: sets the
    /// order's `placed_seq` to it.
    pub fn new(mut order: Order, seq: u64) -> Self {
        order.placed_seq = seq;
        OrderPlaced { order }
    }
}

/// `ticket.placed`: the lines of a new order that one station prepares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TicketPlaced {
    pub order_id: i64,
    pub station_id: i64,
    /// Absent (`null`) for a takeaway.
    pub table_id: Option<i64>,
    /// The order's note.
    pub note: String,
    /// When the order was placed.
    pub created_at: Timestamp,
    /// Only this station's lines (held ones with `fired_at: null`).
    pub lines: Vec<OrderLine>,
    /// The ticket's clock at this station (absent while its clock has not
    /// started). The frame's `at` is the hub's time it was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer: Option<TicketTimer>,
    /// The other stations with lines of the same order.
    pub also_at: Vec<i64>,
    pub rush: bool,
}

impl TicketPlaced {
    /// `order`'s ticket for `station`: only that station's lines.
    pub fn for_station(order: &Order, station_id: i64) -> Self {
        TicketPlaced {
            order_id: order.id,
            station_id,
            table_id: order.table_id,
            note: order.note.clone(),
            created_at: order.created_at,
            lines: order
                .lines
                .iter()
                .filter(|l| l.station_id == Some(station_id))
                .cloned()
                .collect(),
            timer: None,
            also_at: also_at(order, Some(station_id)),
            rush: order.rush,
        }
    }
}

/// The stations other than `station` with lines of `order` not voided,
/// each once, ascending.
pub fn also_at(order: &Order, station: Option<i64>) -> Vec<i64> {
    let mut stations: Vec<i64> = order
        .lines
        .iter()
        .filter(|l| l.status != LineStatus::Voided)
        .filter_map(|l| l.station_id)
        .filter(|s| Some(*s) != station)
        .collect();
    stations.sort_unstable();
    stations.dedup();
    stations
}

/// `ticket.fired`: one station's lines of a course just fired (by a person,
/// by the course before it being served, or by time). `station_id` is
/// `null` for lines no station prepares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TicketFired {
    pub order_id: i64,
    pub station_id: Option<i64>,
    pub table_id: Option<i64>,
    pub course: i64,
    pub fired_at: Timestamp,
    /// What fired it: `person`, `served` or `timer`.
    pub by: FiredBy,
    /// This station's lines of the course, as fired (with `start_at`).
    pub lines: Vec<OrderLine>,
    /// The other stations with lines of the same order.
    pub also_at: Vec<i64>,
    pub rush: bool,
    /// The ticket's clock at this station now that it has fired lines
    /// (absent for lines no station prepares).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer: Option<crate::api::stations::TicketTimer>,
}

/// What fired a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FiredBy {
    /// A waiter, the expo or a manager (`order.fire_course`).
    Person,
    /// The course before it was served (or it became the first course left).
    Served,
    /// The restaurant's `fire_after_ready_minutes` passed.
    Timer,
}

/// `order.rushed`: the order goes to the top of every station (`rush`
/// false: back in its place).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderRushed {
    pub order_id: i64,
    pub table_id: Option<i64>,
    pub rush: bool,
    /// The stations with lines of it.
    pub stations: Vec<i64>,
}

/// `menu.stock_changed`: an item's stock now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StockChanged {
    pub menu_item_id: i64,
    pub name: String,
    /// `null` when the item is no longer tracked.
    pub stock: Option<i64>,
}

/// `menu.stock_low`: stock went down to (or past) the item's low-stock
/// threshold, but not to zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StockLow {
    pub menu_item_id: i64,
    pub name: String,
    pub stock: i64,
}

/// `menu.availability_changed`: `false` when the item sold out or was 86'd,
/// `true` when it can be ordered again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AvailabilityChanged {
    pub menu_item_id: i64,
    pub name: String,
    pub available: bool,
}

/// `table.status_changed`: from one status to another (never to the same).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TableStatusChanged {
    pub table_id: i64,
    pub from: TableStatus,
    pub status: TableStatus,
}

/// `table.waiter_called`: somebody at a table wants a waiter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WaiterCalled {
    pub table_id: i64,
    /// The table's label, e.g. `T7`.
    pub label: String,
    /// Who called: `guest` from the table, or a staff role.
    pub by: Role,
}

/// `order.line_status_changed`: one line's step in the kitchen, or its void.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LineStatusChanged {
    pub order_id: i64,
    pub line_id: i64,
    /// `null` for an item no station prepares.
    pub station_id: Option<i64>,
    /// `null` for a takeaway.
    pub table_id: Option<i64>,
    pub name: String,
    pub qty: i64,
    pub from: LineStatus,
    pub status: LineStatus,
    /// Voided after the kitchen had started it: recorded as waste, no
    /// stock back.
    pub wasted: bool,
    /// Why it was voided (voids only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Set when a ready or served line was recalled (back to preparing): its
    /// timer restarted then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
}

/// `order.status_changed`: the order moved (it follows its lines, or was
/// served or closed as a whole).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderStatusChanged {
    pub order_id: i64,
    pub table_id: Option<i64>,
    pub from: OrderStatus,
    pub status: OrderStatus,
}

/// `order.cancelled`: the whole order is off; its stock went back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderCancelled {
    pub order_id: i64,
    pub table_id: Option<i64>,
    pub from: OrderStatus,
    /// Why it was cancelled.
    #[serde(default)]
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn samples() -> Vec<EventData> {
        vec![
            StockChanged {
                menu_item_id: 3,
                name: "Fries".into(),
                stock: None,
            }
            .into(),
            StockLow {
                menu_item_id: 3,
                name: "Fries".into(),
                stock: 2,
            }
            .into(),
            TableStatusChanged {
                table_id: 7,
                from: TableStatus::Free,
                status: TableStatus::Occupied,
            }
            .into(),
            WaiterCalled {
                table_id: 7,
                label: "T7".into(),
                by: Role::Guest,
            }
            .into(),
            OrderCancelled {
                order_id: 55,
                table_id: None,
                from: OrderStatus::Placed,
                reason: "changed their mind".into(),
            }
            .into(),
        ]
    }

    #[test]
    fn the_kind_is_the_serde_tag() {
        for event in samples() {
            let json = serde_json::to_value(&event).unwrap();
            assert_eq!(json["kind"], event.kind());
            assert!(EventData::KINDS.contains(&event.kind()));
            assert_eq!(json["data"], event.data_value().unwrap());
            let back = EventData::from_parts(event.kind(), json["data"].clone()).unwrap();
            assert_eq!(back, event);
        }
    }

    #[test]
    fn data_is_written_as_it_always_was() {
        let event = EventData::from(TableStatusChanged {
            table_id: 7,
            from: TableStatus::Free,
            status: TableStatus::Occupied,
        });
        assert_eq!(
            event.data_value().unwrap(),
            json!({ "table_id": 7, "from": "free", "status": "occupied" })
        );
        assert_eq!(TableStatusChanged::KIND, "table.status_changed");
        let stock = EventData::from(StockChanged {
            menu_item_id: 3,
            name: "Fries".into(),
            stock: None,
        });
        assert_eq!(
            stock.data_value().unwrap(),
            json!({ "menu_item_id": 3, "name": "Fries", "stock": null })
        );
    }

    #[test]
    fn data_that_does_not_fit_its_kind_is_refused() {
        let wrong = json!({ "table_id": 7, "from": "free", "status": "eaten" });
        assert!(EventData::from_parts("table.status_changed", wrong).is_err());
        let data = json!({ "menu_item_id": 3, "name": "Fries", "stock": 2 });
        assert!(EventData::from_parts("menu.stock_low", data.clone()).is_ok());
        assert!(EventData::from_parts("menu.stock_update", data).is_err());
    }
}

/// `check.opened`: the check as opened. Check events go to the cashiers,
/// the waiters, the dashboard and the check's table; they never carry a
/// payment's `reference`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct CheckOpened {
    pub check: Check,
}

/// `check.updated`: the whole check as it now is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct CheckUpdated {
    pub check: Check,
}

/// `check.closed`: the check as closed (status `closed`) or voided
/// (status `void`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct CheckClosed {
    pub check: Check,
}

/// `payment.recorded`: the payment (without its reference) and what is
/// still due on its check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentRecordedEvent {
    pub payment: Payment,
    pub due_cents: i64,
}

/// `payment.refunded`: a refund on a payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentRefunded {
    pub payment_id: i64,
    pub check_id: i64,
    pub amount_cents: i64,
    /// All refunded on the payment so far.
    pub refunded_cents: i64,
    pub reason: String,
}

/// `ticket.late`: one order's ticket at one station passed its due time
/// with lines still queued or preparing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TicketLate {
    pub order_id: i64,
    pub station_id: i64,
    /// `null` for a takeaway.
    pub table_id: Option<i64>,
    pub source: OrderSource,
    pub timer: TicketTimer,
    /// Lines still queued or preparing at `late_at`.
    pub open_lines: i64,
    /// When the hub noticed (at or after `timer.due_at`).
    pub late_at: Timestamp,
}

/// `ticket.seen`: a screen at `station_id` acknowledged the seq of these
/// orders' tickets: they are on screen there since `seen_at`. Each order is
/// announced once per station, however many screens and instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TicketSeen {
    pub station_id: i64,
    /// The station's name.
    pub station: String,
    /// When the acknowledgement reached the hub.
    pub seen_at: Timestamp,
    /// The highest seq acknowledged at the station.
    pub seen_seq: u64,
    /// The orders newly on screen (at most 200; more follow in another
    /// event).
    pub order_ids: Vec<i64>,
}

/// `station.unattended`: the station has open tickets and no screen
/// connected on any instance, for the configured time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StationUnattended {
    pub station_id: i64,
    pub station: String,
    /// Its open tickets (orders with lines it has not finished).
    pub open_tickets: i64,
}

/// `station.attended`: clears `station.unattended`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StationAttended {
    pub station_id: i64,
    pub station: String,
}

/// `screen.behind`: a connected screen has not acknowledged a ticket of its
/// station placed more than the configured time ago.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScreenBehind {
    pub station_id: i64,
    /// The screen's name (or its session id when it gave none).
    pub screen: String,
    /// The last seq it acknowledged, and when.
    pub seen_seq: u64,
    pub seen_at: Timestamp,
    /// The seq of the newest ticket it should have shown by now.
    pub due_seq: u64,
}

/// `screen.caught_up`: clears `screen.behind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScreenCaughtUp {
    pub station_id: i64,
    pub screen: String,
    pub seen_seq: u64,
    /// True when the screen disconnected instead (the station may then be
    /// flagged unattended).
    pub gone: bool,
}

/// `order.ready`: "your order is ready", to `user:{u}` of the waiter who
/// placed it (orders placed by guests have nobody to tell).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderReady {
    pub order_id: i64,
    pub table_id: Option<i64>,
}

/// `table.call_accepted`: a waiter is on the way; the call is no longer
/// open for the other waiters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CallAccepted {
    pub table_id: i64,
    pub label: String,
    pub by_user: i64,
}
