//! Per-client-address rate limit on the endpoints that take credentials
//! (login, refresh, guest codes), so passwords and table codes cannot be
//! guessed at speed. Lockout protects one account; this protects them all.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, HeaderValue};
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
    client: ClientAddress,
}

/// Where a request comes from: its socket's peer, or behind a trusted
/// proxy the client the proxy named. Shared by every per-address limit
/// (credentials here, resumes on the WebSocket).
#[derive(Clone)]
pub struct ClientAddress {
    /// Behind a trusted proxy: the header naming the client.
    header: Option<String>,
    /// The proxies' own addresses, skipped in that header.
    trusted_proxies: Arc<Vec<IpAddr>>,
}

impl ClientAddress {
    pub fn new(header: Option<String>, trusted_proxies: Vec<IpAddr>) -> ClientAddress {
        ClientAddress {
            header: header.map(|h| h.to_ascii_lowercase()),
            trusted_proxies: Arc::new(trusted_proxies),
        }
    }

    /// The client of a request with these headers from socket peer `peer`.
    pub fn of(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
        if let Some(header) = &self.header {
            let forwarded = headers
                .get(header.as_str())
                .and_then(|v| v.to_str().ok())
                .and_then(|v| client_in(v, &self.trusted_proxies));
            if forwarded.is_some() {
                return forwarded;
            }
        }
        peer.map(|p| p.ip())
    }
}

impl AuthLimiter {
    /// `per_minute` attempts per client address, refilled evenly.
    pub fn new(per_minute: NonZeroU32, client: ClientAddress) -> AuthLimiter {
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
        AuthLimiter { limiter, client }
    }

    fn client(&self, req: &Request) -> Option<IpAddr> {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>();
        self.client.of(req.headers(), peer.map(|c| c.0))
    }
}

/// The client in a proxy's list of addresses (`a, b, c`): each proxy
/// appends the address it received from, so the rightmost address that is
/// not one of our own proxies is the client; everything to its left the
/// client wrote itself and may have forged. An entry that is not an address
/// ends the search (nothing left of it can be trusted).
fn client_in(header: &str, trusted: &[IpAddr]) -> Option<IpAddr> {
    for entry in header.rsplit(',') {
        let ip: IpAddr = entry.trim().parse().ok()?;
        if !trusted.contains(&ip) {
            return Some(ip);
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::client_in;

    #[test]
    fn the_client_is_the_rightmost_untrusted_address() {
        let proxy = "10.0.0.2".parse().unwrap();
        let ip = |s: &str| Some(s.parse().unwrap());
        assert_eq!(client_in("1.1.1.1", &[]), ip("1.1.1.1"));
        // The client wrote the first entry; the proxy appended the real one.
        assert_eq!(client_in("6.6.6.6, 2.2.2.2", &[]), ip("2.2.2.2"));
        assert_eq!(
            client_in("6.6.6.6, 2.2.2.2, 10.0.0.2", &[proxy]),
            ip("2.2.2.2")
        );
        assert_eq!(client_in("10.0.0.2", &[proxy]), None);
        assert_eq!(client_in("6.6.6.6, nonsense, 2.2.2.2", &[]), ip("2.2.2.2"));
        assert_eq!(client_in("6.6.6.6, nonsense", &[]), None);
    }
}
