//! Orders: placing one (WebSocket `order.place` or `POST /api/v1/orders`),
//! and what the hub sends back.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::modifiers::{AllergenSet, ChosenOption, MAX_CHOICES};
use crate::Timestamp;

pub const MAX_LINES: u64 = 50;
pub const MAX_QTY: i64 = 99;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderSource {
    DineIn,
    Takeaway,
    /// From a guest's phone at the table.
    Qr,
}

impl OrderSource {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderSource::DineIn => "dine_in",
            OrderSource::Takeaway => "takeaway",
            OrderSource::Qr => "qr",
        }
    }
}

impl TryFrom<String> for OrderSource {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        [OrderSource::DineIn, OrderSource::Takeaway, OrderSource::Qr]
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown order source {s:?}"))
    }
}

/// A placement. The same `idempotency_key` again returns the original order
/// and changes nothing; with a different body it is `CONFLICT`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    /// Chosen by the client, unique per order it means to place.
    #[validate(length(min = 1, max = 100))]
    pub idempotency_key: String,
    /// Required for `dine_in` and `qr`; guests may only use their own table.
    #[serde(default)]
    pub table_id: Option<i64>,
    pub source: OrderSource,
    #[validate(length(min = 1, max = MAX_LINES), nested)]
    pub lines: Vec<NewLine>,
    #[serde(default)]
    #[validate(length(max = 500))]
    pub note: String,
}

/// Identical lines (same item, note, modifiers, seat and choices) are merged
/// into one with the summed quantity; lines of one item that differ stay separate, and
/// stock is checked for their total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLine {
    pub menu_item_id: i64,
    #[validate(range(min = 1, max = MAX_QTY))]
    pub qty: i64,
    #[serde(default)]
    #[validate(length(max = 200))]
    pub note: String,
    #[serde(default)]
    #[validate(length(max = 10))]
    pub modifiers: Vec<String>,
    /// The seat it is for (1–500), for splitting the check by seat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(range(min = 1, max = 500))]
    pub seat: Option<i64>,
    /// The course it is served in (1–9); omitted: its category's course.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(range(min = 1, max = MAX_COURSE))]
    pub course: Option<i64>,
    /// Option ids from the item's modifier groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[validate(length(max = MAX_CHOICES))]
    pub choices: Vec<i64>,
}

/// Courses are numbered 1 to this.
pub const MAX_COURSE: i64 = 9;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Placed,
    InProgress,
    Ready,
    Served,
    Closed,
    Cancelled,
}

impl OrderStatus {
    /// Its name on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::InProgress => "in_progress",
            OrderStatus::Ready => "ready",
            OrderStatus::Served => "served",
            OrderStatus::Closed => "closed",
            OrderStatus::Cancelled => "cancelled",
        }
    }
}

impl TryFrom<String> for OrderStatus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(s)).map_err(|e| e.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    Queued,
    Preparing,
    Ready,
    Served,
    Voided,
}

impl LineStatus {
    /// Its name on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            LineStatus::Queued => "queued",
            LineStatus::Preparing => "preparing",
            LineStatus::Ready => "ready",
            LineStatus::Served => "served",
            LineStatus::Voided => "voided",
        }
    }
}

impl TryFrom<String> for LineStatus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(s)).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod status_names {
    use super::{LineStatus, OrderStatus};

    #[test]
    fn as_str_is_the_serde_name() {
        let lines = [
            LineStatus::Queued,
            LineStatus::Preparing,
            LineStatus::Ready,
            LineStatus::Served,
            LineStatus::Voided,
        ];
        for s in lines {
            assert_eq!(serde_json::json!(s), s.as_str());
        }
        let orders = [
            OrderStatus::Placed,
            OrderStatus::InProgress,
            OrderStatus::Ready,
            OrderStatus::Served,
            OrderStatus::Closed,
            OrderStatus::Cancelled,
        ];
        for s in orders {
            assert_eq!(serde_json::json!(s), s.as_str());
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderLine {
    pub id: i64,
    pub menu_item_id: i64,
    pub station_id: Option<i64>,
    /// Name and price as they were when ordered; the price includes the
    /// chosen options' deltas.
    pub name: String,
    pub unit_price_cents: i64,
    pub qty: i64,
    pub note: String,
    pub modifiers: Vec<String>,
    pub status: LineStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat: Option<i64>,
    /// The course it is served in (1–9).
    pub course: i64,
    /// The item's preparation time when ordered.
    pub prep_seconds: i64,
    /// When its course was fired; `null`: held (the station waits for it,
    /// no timer runs).
    pub fired_at: Option<Timestamp>,
    /// When the station should start it so that the lines of its course
    /// finish together (`fired_at` plus the course's longest prep minus its
    /// own); `null` while held.
    pub start_at: Option<Timestamp>,
    /// When it last went to preparing (a recall restarts it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// When it last became ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<Timestamp>,
    /// When it was served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_at: Option<Timestamp>,
    /// Why it was voided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub void_reason: Option<String>,
    /// The options chosen, as they were (their deltas are in the unit price).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<ChosenOption>,
    /// The item's and the chosen options' allergens.
    #[serde(default, skip_serializing_if = "AllergenSet::is_empty")]
    pub allergens: AllergenSet,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Order {
    pub id: i64,
    pub table_id: Option<i64>,
    pub source: OrderSource,
    pub status: OrderStatus,
    pub note: String,
    pub total_cents: i64,
    pub lines: Vec<OrderLine>,
    pub created_at: Timestamp,
    /// The seq of its `order.placed` event.
    pub placed_seq: u64,
    /// When it last became ready (absent while the kitchen is still on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<Timestamp>,
    /// Rushed: at the top of every station.
    #[serde(default)]
    pub rush: bool,
}

/// The reply to a placement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Placed {
    pub order: Order,
    /// True when this was a retry of an order already placed.
    pub duplicate: bool,
}

/// One item an order wanted more of than there is (`OUT_OF_STOCK` details).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShortItem {
    pub menu_item_id: i64,
    pub name: String,
    pub requested: i64,
    pub available: i64,
}

/// `POST /api/v1/orders/{id}/lines/{line_id}/status`: the REST form of
/// `item.set_status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLineStatus {
    pub status: LineStatus,
}

/// `POST /api/v1/orders/{id}/status`: the REST form of `order.set_status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetOrderStatus {
    pub status: OrderStatus,
    /// Why a manager closes an order whose check is not paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 200))]
    pub reason: Option<String>,
}

/// `POST /api/v1/orders/{id}/lines/{line_id}/void`: the REST form of
/// `item.void`. A reason is required for every void; a line already fired
/// needs a manager's `approval` unless a manager or owner voids it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidLine {
    /// Why (1–200 characters): kept on the line and in the audit trail.
    #[serde(default)]
    #[validate(length(max = 200))]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(nested)]
    pub approval: Option<crate::api::checks::Approval>,
}

/// `POST /api/v1/orders/{id}/cancel`: the REST form of `order.cancel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelOrder {
    /// Why (1–200 characters, required): kept on its lines and in the audit trail.
    #[serde(default)]
    #[validate(length(max = 200))]
    pub reason: String,
}

/// `POST /api/v1/orders/{id}/fire`: the REST form of `order.fire_course`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FireCourse {
    #[validate(range(min = 1, max = MAX_COURSE))]
    pub course: i64,
}

/// `POST /api/v1/orders/{id}/rush`: the REST form of `order.rush`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RushOrder {
    /// `false` takes the rush off.
    #[serde(default = "yes")]
    pub rush: bool,
}

fn yes() -> bool {
    true
}
