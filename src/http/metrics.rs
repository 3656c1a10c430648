//! `/metrics` for Prometheus, and the middleware that counts every HTTP
//! request by route template and status class.
//!
//! The exposition is served by our own router, on the main listener or on
//! `--metrics-listen` alone (see `hub.rs`); it carries no restaurant's
//! data, only this instance's aggregate figures.

use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::gateway::Gateway;
use crate::instruments::Scraped;
use crate::node::broker::BrokerHealth;
use crate::state::AppState;

/// A scrape must not hang on a dead database: Prometheus times out at 10 s
/// by default, and the exposition is worth more without the ping than none.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The router serving `GET /metrics`, reading `gateway` beside the state.
pub fn router(gateway: Gateway) -> Router<AppState> {
    Router::new().route(
        "/metrics",
        get(move |State(state): State<AppState>| render(state, gateway.clone())),
    )
}

async fn render(state: AppState, gateway: Gateway) -> Response {
    let node = &state.node;
    let database = matches!(
        tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await,
        Ok(Ok(()))
    );
    let mut dependencies = vec![("database", database)];
    match node.broker_health() {
        BrokerHealth::Local => {}
        BrokerHealth::Up => dependencies.push(("redis", true)),
        BrokerHealth::Down(_) => dependencies.push(("redis", false)),
    }
    let stats = &node.stats;
    let broker = node.broker_counts();
    let relaxed = std::sync::atomic::Ordering::Relaxed;
    let scraped = Scraped {
        ws_connections: gateway.open_connections(),
        slow_consumers: stats.slow_consumers.load(relaxed),
        events_queued: stats.events_delivered.load(relaxed),
        max_queue_depth: stats.max_queue_depth.load(relaxed),
        dashboards_sent: stats.dashboards_sent.load(relaxed),
        redis_publish_failures: broker.publish_failures,
        redis_resubscribes: broker.resubscribes,
        pools: state.store.pool_usage(),
        dependencies,
    };
    let body = node.metrics.render(&scraped);
    // The Prometheus text format, version 0.0.4 (what the exporter writes).
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Counts each answered request: method, the route's template (the path
/// as written in the router, so `/api/v1/orders/{id}` is one series for
/// every order), and the status class.
pub async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let res = next.run(req).await;
    let route = route.as_deref().unwrap_or("unmatched");
    state
        .node
        .metrics
        .http_request(&method, route, res.status().as_u16());
    res
}
