//! Kitchen stations (grill, bar, ...): where lines are routed, and how long
//! their tickets may take.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::orders::OrderSource;

/// Bounds of a threshold, in seconds: a late threshold from 1 minute to
/// 4 hours; a caution threshold from 30 seconds and below the late one.
pub const MIN_LATE_SECONDS: i64 = 60;
pub const MAX_TARGET_SECONDS: i64 = 4 * 3600;
pub const MIN_CAUTION_SECONDS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Station {
    pub id: i64,
    pub name: String,
    /// Caution and late thresholds per order source.
    pub targets: Targets,
}

/// How long a ticket of one order source may take at a station, counted
/// from the ticket's clock start: past `caution_seconds` a screen shows
/// it in caution, past `late_seconds` it is late (`ticket.late`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    #[validate(range(min = MIN_CAUTION_SECONDS, max = MAX_TARGET_SECONDS))]
    pub caution_seconds: i64,
    #[validate(range(min = MIN_LATE_SECONDS, max = MAX_TARGET_SECONDS))]
    pub late_seconds: i64,
}

impl Default for Target {
    /// 5 minutes to caution, 8 to late.
    fn default() -> Self {
        Target {
            caution_seconds: 300,
            late_seconds: 480,
        }
    }
}

/// A station's thresholds for each order source.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Validate, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[validate(nested)]
    pub dine_in: Target,
    #[validate(nested)]
    pub takeaway: Target,
    #[validate(nested)]
    pub qr: Target,
}

impl Targets {
    pub fn for_source(&self, source: OrderSource) -> Target {
        match source {
            OrderSource::DineIn => self.dine_in,
            OrderSource::Takeaway => self.takeaway,
            OrderSource::Qr => self.qr,
        }
    }
}

/// Thresholds to change: each source given replaces that source's pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetsPatch {
    #[validate(nested)]
    pub dine_in: Option<Target>,
    #[validate(nested)]
    pub takeaway: Option<Target>,
    #[validate(nested)]
    pub qr: Option<Target>,
}

impl TargetsPatch {
    /// Each source's pair, when given, with its name on the wire.
    pub fn given(&self) -> impl Iterator<Item = (&'static str, Target)> {
        [
            ("dine_in", self.dine_in),
            ("takeaway", self.takeaway),
            ("qr", self.qr),
        ]
        .into_iter()
        .filter_map(|(name, t)| t.map(|t| (name, t)))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStation {
    #[validate(length(min = 1, max = 60), custom(function = "super::not_blank"))]
    pub name: String,
    /// Sources left out keep the defaults (5 minutes to caution, 8 to late).
    #[serde(default)]
    #[validate(nested)]
    pub targets: TargetsPatch,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StationPatch {
    #[validate(length(min = 1, max = 60), custom(function = "super::not_blank"))]
    pub name: Option<String>,
    #[serde(default)]
    #[validate(nested)]
    pub targets: TargetsPatch,
}

/// A ticket's clock at one station, computed by the hub: caution and late
/// from the station's thresholds for the order's source, counted from when
/// the ticket's clock started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TicketTimer {
    pub station_id: i64,
    pub started_at: crate::Timestamp,
    pub caution_at: crate::Timestamp,
    /// Late from this instant while any of its lines is queued or preparing.
    pub due_at: crate::Timestamp,
}

/// How many of one item a station has queued or preparing ("all day").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AllDayCount {
    pub station_id: i64,
    pub menu_item_id: i64,
    pub name: String,
    pub qty: i64,
}

/// `GET /api/v1/stations/{id}/screens`: one screen of the station as the
/// hub last wrote it (proof of display).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StationScreen {
    /// Its name (`screen` of `screen.seen`), or its session id.
    pub screen: String,
    /// The last seq it acknowledged, and when.
    pub seen_seq: u64,
    pub seen_at: crate::Timestamp,
    /// Flagged `screen.behind` now.
    pub behind: bool,
}
