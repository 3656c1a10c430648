//! Staff accounts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::{Role, Timestamp};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct StaffUser {
    pub id: i64,
    pub email: String,
    pub name: String,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "String"))]
    pub role: Role,
    /// Set while the account is locked after failed logins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<Timestamp>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffUser {
    #[validate(email, length(max = 254))]
    pub email: String,
    #[validate(length(min = 1, max = 100), custom(function = "super::not_blank"))]
    pub name: String,
    /// Any role but `guest`.
    pub role: Role,
    #[validate(length(min = 8, max = 1024))]
    pub password: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffUserPatch {
    #[validate(email, length(max = 254))]
    pub email: Option<String>,
    #[validate(length(min = 1, max = 100), custom(function = "super::not_blank"))]
    pub name: Option<String>,
    pub role: Option<Role>,
    #[validate(length(min = 8, max = 1024))]
    pub password: Option<String>,
}
