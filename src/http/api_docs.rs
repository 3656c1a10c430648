//! `GET /api/openapi.json` and `GET /api/asyncapi.json`: the documents of the
//! REST API and the WebSocket, generated from the protocol crate's types
//! (the same as the checked-in `protocol/openapi.json` and
//! `protocol/asyncapi.json`). The page that shows them is `/api/docs`
//! ([`super::pages`]).

use std::sync::LazyLock;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;

use crate::state::AppState;

/// Built once per process on first use: both are pure functions of the
/// compiled-in types, and generating them takes milliseconds that a hub
/// which nobody asks for its documents need not spend at start.
static OPENAPI: LazyLock<Bytes> = LazyLock::new(|| render(&restohub_protocol::openapi::document()));
static ASYNCAPI: LazyLock<Bytes> =
    LazyLock::new(|| render(&restohub_protocol::asyncapi::document()));

fn render(doc: &serde_json::Value) -> Bytes {
    // A `Value` always serializes.
    Bytes::from(serde_json::to_vec(doc).unwrap_or_default())
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(|| async { json(&OPENAPI) }))
        .route("/api/asyncapi.json", get(|| async { json(&ASYNCAPI) }))
}

fn json(doc: &Bytes) -> Response {
    let mut response = doc.clone().into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
