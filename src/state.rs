//! The state every use case shares: storage, the clock, keys, settings and
//! the node that publishes. Cheap to clone.

use std::sync::Arc;

use crate::auth::{Passwords, RevocationIndex, TokenKeys};
use crate::clock::SharedClock;
use crate::node::Node;
use crate::storage::Store;

/// Settings handlers need, already validated, in the units they use.
#[derive(Debug, Clone)]
pub struct Settings {
    pub access_token_ttl_ms: i64,
    pub refresh_token_ttl_ms: i64,
    pub guest_session_ttl_ms: i64,
}

/// The shared state behind one pointer: every request, command and live
/// session holds a clone, and an idle session should not carry a copy of
/// each field (issue 22: idle memory per socket).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    pub store: Store,
    pub clock: SharedClock,
    pub tokens: Arc<TokenKeys>,
    pub passwords: Arc<Passwords>,
    /// Tokens revoked before they expire, followed from storage.
    pub revoked: Arc<RevocationIndex>,
    pub settings: Arc<Settings>,
    /// Present when REDIS_URL is configured.
    pub redis: Option<redis::Client>,
    /// Rooms, ordered delivery and presence, here and across instances.
    pub node: Node,
    /// What each dependency's state is and since when (`/health/ready`).
    pub readiness: Arc<crate::readiness::Readiness>,
}

impl AppState {
    /// What `/health/ready` and the readiness watcher check.
    pub fn dependencies(&self) -> crate::readiness::Dependencies {
        crate::readiness::Dependencies {
            store: self.store.clone(),
            redis: self.redis.clone(),
            node: self.node.clone(),
            clock: self.clock.clone(),
            readiness: self.readiness.clone(),
        }
    }

    /// After a commit: deliver to this instance's sessions now, and hand the
    /// events to the other instances without making the caller wait.
    pub async fn publish(&self, events: Vec<crate::events::Event>) {
        self.node.publish(events);
    }
}
