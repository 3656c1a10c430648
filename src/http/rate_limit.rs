//! Per-client-address rate limit on the endpoints that take credentials
//! (login, refresh, guest codes), so passwords and table codes cannot be
//! guessed at speed. Lockout protects one account; this protects them all.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use restohub_protocol::ErrorCode;
use serde_json::json;

use crate::error::ApiError;

#[derive(Clone)]
pub struct AuthLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    /// Behind a trusted proxy: the header naming the client (first address).
    client_ip_header: Option<String>,
}

impl AuthLimiter {
    /// `per_minute` attempts per client address, refilled evenly.
    pub fn new(per_minute: NonZeroU32, client_ip_header: Option<String>) -> AuthLimiter {
        let limiter = Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute)));
        // Forget idle addresses so the table cannot grow without bound.
        let weak = Arc::downgrade(&limiter);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(limiter) = weak.upgrade() else { break };
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        });
        AuthLimiter {
            limiter,
            client_ip_header: client_ip_header.map(|h| h.to_ascii_lowercase()),
        }
    }

    fn client(&self, req: &Request) -> Option<IpAddr> {
        if let Some(header) = &self.client_ip_header {
            let forwarded = req
                .headers()
                .get(header.as_str())
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse().ok());
            if forwarded.is_some() {
                return forwarded;
            }
        }
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    }
}

pub async fn limit(State(limiter): State<AuthLimiter>, req: Request, next: Next) -> Response {
    let Some(ip) = limiter.client(&req) else {
        return next.run(req).await;
    };
    match limiter.limiter.check_key(&ip) {
        Ok(()) => next.run(req).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let secs = wait.as_secs() + 1;
            let mut res = ApiError::with_details(
                ErrorCode::RateLimited,
                format!("too many attempts from your address; retry in {secs} s"),
                json!({ "retry_after_secs": secs }),
            )
            .into_response();
            res.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
            res
        }
    }
}
