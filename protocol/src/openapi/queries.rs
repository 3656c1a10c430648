//! Query strings of list and receipt endpoints that have no wire type of
//! their own elsewhere: their fields are what the hub's extractors accept
//! (`src/http/pagination.rs`, `src/http/checks.rs`); the schemathesis test
//! sends what these allow and fails on any 5xx or mismatched reply.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::checks::CheckStatus;

/// `?limit=&after=` of every list endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PageQuery {
    /// Rows per page, 1 to 200 (default 50).
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u32>,
    /// The `next_after` of the previous page.
    pub after: Option<i64>,
}

/// `GET /api/v1/checks?status=&table_id=&limit=&after=`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CheckListQuery {
    pub status: Option<CheckStatus>,
    pub table_id: Option<i64>,
    /// Rows per page, 1 to 200 (default 50).
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u32>,
    /// The `next_after` of the previous page.
    pub after: Option<i64>,
}

/// How a receipt is printed.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptFormat {
    /// 42 columns of plain text, for a receipt printer (the default).
    Text,
    /// A page for a browser.
    Html,
}

/// `GET /api/v1/checks/{id}/receipt?format=`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ReceiptQuery {
    pub format: Option<ReceiptFormat>,
}
