//! The state every request handler shares. Cheap to clone.

use std::sync::Arc;

use crate::auth::{Passwords, TokenKeys};
use crate::clock::SharedClock;
use crate::gateway::Gateway;
use crate::node::Node;
use crate::storage::Store;

/// Settings handlers need, already validated, in the units they use.
#[derive(Debug, Clone)]
pub struct Settings {
    pub access_token_ttl_ms: i64,
    pub refresh_token_ttl_ms: i64,
    pub guest_session_ttl_ms: i64,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: SharedClock,
    pub tokens: Arc<TokenKeys>,
    pub passwords: Arc<Passwords>,
    pub settings: Arc<Settings>,
    /// Present when REDIS_URL is configured.
    pub redis: Option<redis::Client>,
    /// The WebSocket edge: connection limits and session tasks.
    pub gateway: Gateway,
    /// Rooms, ordered delivery and presence, here and across instances.
    pub node: Node,
    /// Browser origins allowed to call the API and open WebSockets.
    pub allowed_origins: Arc<Vec<axum::http::HeaderValue>>,
}

impl AppState {
    /// After a commit: deliver to this instance's sessions now, and hand the
    /// events to the other instances without making the caller wait.
    pub async fn publish(&self, events: Vec<crate::events::Event>) {
        self.node.publish(events);
    }
}
