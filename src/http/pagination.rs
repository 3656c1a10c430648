//! `?limit=&after=` on every list endpoint.

use restohub_protocol::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use restohub_protocol::Page;
use serde::Deserialize;

use crate::error::ApiError;
use crate::storage::PageQuery;

#[derive(Debug, Deserialize)]
pub struct PageParams {
    pub limit: Option<u32>,
    pub after: Option<i64>,
}

/// `?limit=`, defaulted and checked.
pub fn page_size(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            "range",
            &format!("must be between 1 and {MAX_PAGE_SIZE}"),
        ));
    }
    Ok(limit)
}

impl PageParams {
    /// Asks storage for one row more than the page, to know if there is a next.
    pub fn query(&self) -> Result<PageQuery, ApiError> {
        let limit = page_size(self.limit)?;
        Ok(PageQuery {
            after: self.after.unwrap_or(0),
            limit: i64::from(limit) + 1,
        })
    }

    pub fn page<T>(&self, mut rows: Vec<T>, id: impl Fn(&T) -> i64) -> Page<T> {
        let limit = self.limit.unwrap_or(DEFAULT_PAGE_SIZE) as usize;
        let next_after = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(id)
        } else {
            None
        };
        Page {
            items: rows,
            next_after,
        }
    }
}
