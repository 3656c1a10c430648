//! Paginated lists.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Default and maximum page sizes for every list endpoint.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 200;

/// One page of a list, ordered by id. Pass `next_after` back as `?after=` to
/// get the next page; it is absent on the last page.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<i64>,
}
