//! Rate limits at the HTTP edge, with governor's keyed limiters (GCRA: a
//! quota per minute, refilled evenly, with a burst of the whole quota):
//! - per client address on the endpoints that take credentials (login,
//!   refresh, guest codes), so passwords and table codes cannot be guessed
//!   at speed. Lockout protects one account; this protects them all;
//! - on REST writes, per writer (a staff account, or a table's guests
//!   together) and per restaurant, so one runaway device cannot starve its
//!   restaurant's others, nor one restaurant the hub's other tenants.
//!
//! The limits are per instance: behind a load balancer over N instances a
//! client may reach N times them.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use restohub_protocol::{ErrorCode, Role};
use serde_json::json;

use super::client::ClientAddress;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Clone)]
pub struct AuthLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl AuthLimiter {
    /// `per_minute` attempts per client address (as `super::client`
    /// resolves it), refilled evenly.
    pub fn new(per_minute: NonZeroU32) -> AuthLimiter {
        AuthLimiter {
            limiter: keyed(per_minute),
        }
    }
}

/// A keyed limiter of `per_minute` that forgets idle keys every minute, so
/// its table cannot grow without bound.
fn keyed<K>(per_minute: NonZeroU32) -> Arc<DefaultKeyedRateLimiter<K>>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    let limiter = Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute)));
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
    limiter
}

/// RATE_LIMITED with `Retry-After` (whole seconds, rounded up).
/// `now` is read from the limiter's own clock: making a clock
/// (`DefaultClock::default`) runs CPUID, a trap to the hypervisor on a VM.
fn too_many(
    what: &str,
    not_until: governor::NotUntil<<DefaultClock as Clock>::Instant>,
    now: <DefaultClock as Clock>::Instant,
) -> Response {
    let wait = not_until.wait_time_from(now);
    let secs = wait.as_secs() + 1;
    let mut res = ApiError::with_details(
        ErrorCode::RateLimited,
        format!("{what}; retry in {secs} s"),
        json!({ "retry_after_secs": secs }),
    )
    .into_response();
    res.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(secs));
    res
}

pub async fn limit(State(limiter): State<AuthLimiter>, req: Request, next: Next) -> Response {
    let Some(ClientAddress(Some(ip))) = req.extensions().get::<ClientAddress>().copied() else {
        return next.run(req).await;
    };
    match limiter.limiter.check_key(&ip) {
        Ok(()) => next.run(req).await,
        Err(not_until) => {
            let now = limiter.limiter.clock().now();
            too_many("too many attempts from your address", not_until, now)
        }
    }
}

/// Quotas of REST writes per minute; `None` turns one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteQuotas {
    pub per_writer: Option<NonZeroU32>,
    pub per_restaurant: Option<NonZeroU32>,
}

/// Counts REST writes (POST, PUT, PATCH, DELETE) against their writer and
/// their restaurant, as the caller's verified access token names them.
#[derive(Clone)]
pub struct WriteLimiter {
    per_writer: Option<Arc<DefaultKeyedRateLimiter<Writer>>>,
    per_restaurant: Option<Arc<DefaultKeyedRateLimiter<i64>>>,
    state: AppState,
}

/// Whose quota a write uses. Guests at one table share one: a guest can
/// open new guest sessions with the table's code at will, so a quota per
/// session would stop nobody, and a party's phones together write far less
/// than one busy waiter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Writer {
    /// A staff account, by its token subject (`user:<id>`).
    Account(String),
    /// The guests at a table: restaurant and table id.
    Table(i64, i64),
}

impl WriteLimiter {
    pub fn new(quotas: WriteQuotas, state: AppState) -> WriteLimiter {
        WriteLimiter {
            per_writer: quotas.per_writer.map(keyed),
            per_restaurant: quotas.per_restaurant.map(keyed),
            state,
        }
    }

    /// Whose quota a caller's writes use.
    fn writer(caller: &Caller) -> Writer {
        match (caller.role, caller.table_id) {
            (Role::Guest, Some(table)) => Writer::Table(caller.restaurant_id, table),
            _ => Writer::Account(caller.subject.clone()),
        }
    }
}

pub async fn limit_writes(
    State(limiter): State<WriteLimiter>,
    req: Request,
    next: Next,
) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    // The caller is resolved once here and left for the handler's extractor;
    // a request without a valid one is not counted (the handler refuses it).
    let (mut parts, body) = req.into_parts();
    let caller = super::extract::caller_of(&parts, &limiter.state);
    let Ok(caller) = caller else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let (writer, restaurant) = (WriteLimiter::writer(&caller), caller.restaurant_id);
    parts.extensions.insert(caller);
    let req = Request::from_parts(parts, body);
    if let Some(per_writer) = &limiter.per_writer {
        if let Err(not_until) = per_writer.check_key(&writer) {
            let whose = match writer {
                Writer::Account(_) => "too many changes from your account",
                Writer::Table(..) => "too many changes from your table",
            };
            return too_many(whose, not_until, per_writer.clock().now());
        }
    }
    if let Some(per_restaurant) = &limiter.per_restaurant {
        if let Err(not_until) = per_restaurant.check_key(&restaurant) {
            let now = per_restaurant.clock().now();
            return too_many("too many changes in your restaurant", not_until, now);
        }
    }
    next.run(req).await
}
