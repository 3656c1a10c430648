//! Kitchen stations (grill, bar, ...): where lines are routed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Station {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStation {
    #[validate(length(min = 1, max = 60), custom(function = "super::not_blank"))]
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StationPatch {
    #[validate(length(min = 1, max = 60), custom(function = "super::not_blank"))]
    pub name: Option<String>,
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
