//! Dining tables, their status, and the secret code behind each QR card.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TableStatus {
    Free,
    Occupied,
    Reserved,
    Cleaning,
}

impl TableStatus {
    pub const ALL: [TableStatus; 4] = [
        TableStatus::Free,
        TableStatus::Occupied,
        TableStatus::Reserved,
        TableStatus::Cleaning,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TableStatus::Free => "free",
            TableStatus::Occupied => "occupied",
            TableStatus::Reserved => "reserved",
            TableStatus::Cleaning => "cleaning",
        }
    }
}

impl TryFrom<String> for TableStatus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown table status {s:?}"))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Table {
    pub id: i64,
    pub label: String,
    pub seats: i64,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "String"))]
    pub status: TableStatus,
    /// The secret on the table's QR card; shown to owners and managers only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTable {
    #[validate(length(min = 1, max = 30), custom(function = "super::not_blank"))]
    pub label: String,
    #[validate(range(min = 1, max = 100))]
    pub seats: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TablePatch {
    #[validate(length(min = 1, max = 30), custom(function = "super::not_blank"))]
    pub label: Option<String>,
    #[validate(range(min = 1, max = 100))]
    pub seats: Option<i64>,
    pub status: Option<TableStatus>,
}
