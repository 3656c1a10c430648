//! The HTTP API: REST resources under `/api/v1`, health checks, and the
//! middleware every request passes (request spans, body limit, CORS, and
//! the security headers every response carries).
//!
//! An edge over `crate::app`: each handler parses the request, calls the
//! application function of its operation (which decides who may, validates
//! and runs the transaction) and replies. Handlers never call storage.

mod analytics;
mod api_docs;
mod audit;
mod auth;
mod checks;
mod client;
pub mod extract;
mod health;
mod menu;
pub mod metrics;
mod modifiers;
mod orders;
mod pages;
mod pagination;
mod rate_limit;
mod reply;
mod restaurant;
mod serve;
mod staff;
mod stations;
mod tables;
mod ws;

use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::header::{
    AUTHORIZATION, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, Method};
use axum::response::Response;
use axum::Router;
use restohub_protocol::ErrorCode;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::error::ApiError;
use crate::state::AppState;

pub use rate_limit::WriteQuotas;
pub use serve::{serve, socket_budget, ConnectionTimeouts, Intake};

/// What shapes the router, besides the handlers' shared state.
pub struct HttpOptions {
    pub max_body_bytes: usize,
    pub allowed_origins: Vec<HeaderValue>,
    pub auth_rate_limit: Option<NonZeroU32>,
    /// REST writes per minute per writer and per restaurant.
    pub write_quotas: WriteQuotas,
    pub client_ip_header: Option<String>,
    /// Proxies whose entries in that header are not the client's.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The WebSocket edge that `/ws` hands its sockets to.
    pub gateway: crate::gateway::Gateway,
    /// Serve `/metrics` here (false: it has a listener of its own).
    pub serve_metrics: bool,
}

pub fn router(state: AppState, options: HttpOptions) -> Router {
    let limiter = options.auth_rate_limit.map(rate_limit::AuthLimiter::new);
    let clients = client::ClientAddresses::new(
        options.client_ip_header.clone(),
        options.trusted_proxies.clone(),
    );
    let writes = rate_limit::WriteLimiter::new(options.write_quotas, state.clone());
    // Everything but the credential endpoints, which have their own limit.
    let resources = Router::new()
        .merge(restaurant::router())
        .merge(stations::router())
        .merge(menu::router())
        .merge(modifiers::router())
        .merge(tables::router())
        .merge(staff::router())
        .merge(orders::router())
        .merge(checks::router())
        .merge(analytics::router())
        .merge(audit::router())
        .route_layer(axum::middleware::from_fn_with_state(
            writes,
            rate_limit::limit_writes,
        ));
    let api = Router::new()
        .merge(auth::router(limiter))
        .merge(checks::webhook_router())
        .merge(resources);
    let mut router = Router::new()
        .nest("/api/v1", api)
        .merge(ws::router(ws::WsEdge {
            gateway: options.gateway.clone(),
            allowed_origins: std::sync::Arc::new(options.allowed_origins.clone()),
        }))
        .merge(health::router())
        .merge(api_docs::router())
        .merge(pages::router());
    if options.serve_metrics {
        router = router.merge(metrics::router(options.gateway.clone()));
    }
    router = router
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                ErrorCode::MethodNotAllowed,
                "method not allowed on this endpoint",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count_requests,
        ))
        .layer(DefaultBodyLimit::max(options.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            clients,
            client::resolve,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(log_response),
        );
    if !options.allowed_origins.is_empty() {
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(options.allowed_origins))
                .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
                .allow_headers([AUTHORIZATION, CONTENT_TYPE]),
        );
    }
    router.with_state(state)
}

fn request_span(req: &Request) -> Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!(
        "http",
        method = %req.method(),
        route,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

fn log_response(res: &Response, latency: Duration, span: &Span) {
    span.record("status", res.status().as_u16());
    span.record("latency_ms", latency.as_secs_f64() * 1000.0);
    tracing::info!("request done");
}
