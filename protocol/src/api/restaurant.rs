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
}
