//! The restaurant itself: `GET/PATCH /api/v1/restaurant`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::Timestamp;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Restaurant {
    pub id: i64,
    /// Short unique name used to log in, e.g. `"demo"`.
    pub slug: String,
    pub name: String,
    /// IANA time zone, e.g. `"Europe/Berlin"`; "today" is counted in it.
    pub timezone: String,
    /// ISO 4217 code; every amount is an integer in its minor unit.
    pub currency: String,
    /// Owners and managers must use MFA (TOTP) to log in.
    pub require_mfa: bool,
    pub created_at: Timestamp,
    /// What fires a held course by itself: `served` (the course before it
    /// is served) or `off`.
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "String"))]
    pub fire_next_on: FireNextOn,
    /// Fire a held course this many minutes after the course before it was
    /// ready; `null`: never.
    pub fire_after_ready_minutes: Option<i64>,
    /// A ready or served line can be recalled this long after (default 10).
    pub recall_window_minutes: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FireNextOn {
    Served,
    Off,
}

impl FireNextOn {
    pub fn as_str(self) -> &'static str {
        match self {
            FireNextOn::Served => "served",
            FireNextOn::Off => "off",
        }
    }
}

impl TryFrom<String> for FireNextOn {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(s)).map_err(|e| e.to_string())
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestaurantPatch {
    #[validate(length(min = 1, max = 100), custom(function = "super::not_blank"))]
    pub name: Option<String>,
    /// Must be a known IANA zone (checked by the server).
    #[validate(length(min = 1, max = 64))]
    pub timezone: Option<String>,
    #[validate(length(equal = 3))]
    pub currency: Option<String>,
    pub require_mfa: Option<bool>,
    pub fire_next_on: Option<FireNextOn>,
    /// A number of minutes (1–240), or `null` to turn it off.
    #[serde(default, deserialize_with = "super::nullable")]
    #[validate(range(min = 1, max = 240))]
    pub fire_after_ready_minutes: Option<Option<i64>>,
    #[validate(range(min = 0, max = 240))]
    pub recall_window_minutes: Option<i64>,
}
