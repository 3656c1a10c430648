//! The common endings of a handler: a row or 404, created, deleted or 404.

use axum::http::StatusCode;
use axum::Json;

use crate::error::{ApiError, ApiResult};

/// The row as JSON, or NOT_FOUND naming `what`.
pub trait OrNotFound<T> {
    fn or_not_found(self, what: &str) -> ApiResult<Json<T>>;
}

impl<T> OrNotFound<T> for Option<T> {
    fn or_not_found(self, what: &str) -> ApiResult<Json<T>> {
        self.map(Json).ok_or_else(|| ApiError::not_found(what))
    }
}

pub fn created<T>(row: T) -> ApiResult<(StatusCode, Json<T>)> {
    Ok((StatusCode::CREATED, Json(row)))
}

/// 204 if a row was deleted, NOT_FOUND naming `what` if there was none.
pub fn deleted(any: bool, what: &str) -> ApiResult<StatusCode> {
    if any {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(what))
    }
}
