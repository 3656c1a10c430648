//! Per-client-address rate limit on the endpoints that take credentials
//! (login, refresh, guest codes), so passwords and table codes cannot be
//! guessed at speed. Lockout protects one account; this protects them all.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use restohub_protocol::ErrorCode;
use serde_json::json;

use super::client::ClientAddress;
use crate::error::ApiError;

#[derive(Clone)]
pub struct AuthLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl AuthLimiter {
    /// `per_minute` attempts per client address (as `super::client`
    /// resolves it), refilled evenly.
    pub fn new(per_minute: NonZeroU32) -> AuthLimiter {
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
        AuthLimiter { limiter }
    }
}

pub async fn limit(State(limiter): State<AuthLimiter>, req: Request, next: Next) -> Response {
    let Some(ClientAddress(Some(ip))) = req.extensions().get::<ClientAddress>().copied() else {
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
