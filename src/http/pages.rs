//! The browser apps: sign-in, kitchen display, expo, waiter, the guest's
//! table page and the manager's dashboard, served from `web/`.
//!
//! The files are compiled into the binary (debug builds too, so the tests
//! see exactly what a release serves; cargo rebuilds when one changes). Pages are
//! plain HTML, CSS and JavaScript that load nothing from elsewhere and talk
//! to the hub only through its public API (`/api/v1`, `/ws`), like any other
//! client. Every page carries a Content Security Policy without
//! `unsafe-inline`: scripts and styles come only from the hub's own files.

use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use restohub_protocol::ErrorCode;
use rust_embed::RustEmbed;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(RustEmbed)]
#[folder = "web/"]
struct Web;

/// What a page may load and where it may connect: only the hub itself.
/// `'self'` covers the hub's own `ws:`/`wss:` origin for `/ws`.
pub const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; manifest-src 'self'; media-src 'self' data:; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The pages, each under the path a person types or a QR code holds.
pub const PAGES: [(&str, &str); 7] = [
    ("/", "index.html"),
    ("/kds", "kds.html"),
    ("/expo", "expo.html"),
    ("/waiter", "waiter.html"),
    ("/dashboard", "dashboard.html"),
    ("/t/{code}", "table.html"),
    // The REST and WebSocket documents, readable (see `api_docs`).
    ("/api/docs", "docs.html"),
];

pub fn router() -> Router<AppState> {
    let mut router = Router::new().route("/assets/{*file}", get(asset));
    for (path, file) in PAGES {
        router = router.route(path, get(move |headers: HeaderMap| page(file, headers)));
    }
    router
}

async fn page(file: &'static str, headers: HeaderMap) -> Response {
    serve(file, &headers)
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    // Only plain names under assets/: no "..", no hidden files.
    if file
        .split('/')
        .any(|part| part.is_empty() || part.starts_with('.'))
    {
        return ApiError::new(ErrorCode::NotFound, "no such file").into_response();
    }
    serve(&format!("assets/{file}"), &headers)
}

fn serve(file: &str, headers: &HeaderMap) -> Response {
    let Some(content) = Web::get(file) else {
        return ApiError::new(ErrorCode::NotFound, "no such file").into_response();
    };
    let etag = format!(
        "\"{}\"",
        content
            .metadata
            .sha256_hash()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let mut response = if headers
        .get(IF_NONE_MATCH)
        .is_some_and(|tag| tag.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        // Compiled-in files are 'static: sent without a copy.
        match content.data {
            std::borrow::Cow::Borrowed(bytes) => bytes::Bytes::from_static(bytes),
            std::borrow::Cow::Owned(bytes) => bytes::Bytes::from(bytes),
        }
        .into_response()
    };
    let out = response.headers_mut();
    out.insert(CONTENT_TYPE, HeaderValue::from_static(content_type(file)));
    out.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    // Revalidate every time: a new hub version must reach every tablet.
    out.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        out.insert(ETAG, value);
    }
    response
}

fn content_type(file: &str) -> &'static str {
    match file.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json" | "webmanifest") => "application/json",
        _ => "application/octet-stream",
    }
}
