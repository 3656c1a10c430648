//! The common endings of a handler: created, or deleted (204).

use axum::http::StatusCode;
use axum::Json;

use crate::error::ApiResult;

pub fn created<T>(row: T) -> ApiResult<(StatusCode, Json<T>)> {
    Ok((StatusCode::CREATED, Json(row)))
}

/// 204 once the use case has done it.
pub fn no_content(done: ApiResult<()>) -> ApiResult<StatusCode> {
    done.map(|()| StatusCode::NO_CONTENT)
}
