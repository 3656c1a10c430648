//! The WebSocket edge: the socket task of each session (handshake, commands,
//! heartbeats, its outbound queue), its limits, and live dashboards.
//!
//! Rooms, ordered delivery and presence are the node's (`crate::node`); the
//! gateway calls into it and must never reach around it to deliver events
//! itself. Connection slots, per account and per instance, are held by
//! guards and released on drop.

mod admission;
mod all_day;
mod commands;
mod connection;
mod dashboard;
mod replays;
mod reply;
mod resume;
mod session;

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::node::Node;

pub use session::run as run_session;

/// Limits and timings, validated from the configuration.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    pub hello_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub max_message_bytes: usize,
    /// Frames a session may have waiting before it counts as a slow consumer.
    pub queue_capacity: usize,
    /// A session writes at most once per this long (0: every frame at once).
    pub coalesce: Duration,
    pub commands_per_second: NonZeroU32,
    pub command_burst: NonZeroU32,
    pub max_connections: usize,
    pub max_connections_per_user: usize,
    /// Resumes (hellos with `since`) replaying at once per account (or
    /// guest session), and per client address.
    pub resumes_per_account: usize,
    pub resumes_per_address: usize,
    /// Handshakes doing their work (account, rooms, replay reads) at once,
    /// and how many more may wait for a turn before new ones are refused
    /// with `TRY_AGAIN_LATER`.
    pub handshakes: usize,
    pub handshake_queue: usize,
    pub drain_timeout: Duration,
    /// At most one dashboard snapshot per restaurant this often.
    pub dashboard_interval: Duration,
    /// A dashboard with no changes is refreshed this often.
    pub dashboard_refresh: Duration,
}

impl GatewaySettings {
    /// A peer silent this long is dropped.
    pub fn heartbeat_timeout(&self) -> Duration {
        self.heartbeat_interval * 3
    }
}

/// The edge's own state: connection limits and the session tasks; delivery
/// itself is the node's.
pub struct Inner {
    settings: GatewaySettings,
    node: Node,
    connections: AtomicUsize,
    per_user: DashMap<String, usize>,
    replays: Arc<replays::ReplaySlots>,
    admission: Arc<admission::Admission>,
    /// The clock of every session's command rate limit. One for the
    /// instance: making a clock runs CPUID, which traps to the hypervisor on
    /// a VM (2.5% of a resuming instance's CPU when each session made its
    /// own); clones share its calibration.
    clock: governor::clock::DefaultClock,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    /// The runtime the gateway was made on: where admitted sessions run.
    main: Option<tokio::runtime::Handle>,
}

#[derive(Clone)]
pub struct Gateway(Arc<Inner>);

impl std::ops::Deref for Gateway {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Holds one of the instance's connection slots until dropped.
pub struct ConnectionSlot(Gateway);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Counts one connection of an account (or guest session) until dropped.
pub(crate) struct UserConnection {
    gateway: Gateway,
    user: String,
}

impl Drop for UserConnection {
    fn drop(&mut self) {
        let per_user = &self.gateway.per_user;
        if let Some(mut count) = per_user.get_mut(&self.user) {
            *count = count.saturating_sub(1);
        }
        per_user.remove_if(&self.user, |_, n| *n == 0);
    }
}

impl Gateway {
    pub fn new(settings: GatewaySettings, node: Node) -> Gateway {
        let replays =
            replays::ReplaySlots::new(settings.resumes_per_account, settings.resumes_per_address);
        let admission = admission::Admission::new(settings.handshakes, settings.handshake_queue);
        Gateway(Arc::new(Inner {
            settings,
            node,
            connections: AtomicUsize::new(0),
            per_user: DashMap::new(),
            replays,
            admission,
            clock: governor::clock::DefaultClock::default(),
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
            main: tokio::runtime::Handle::try_current().ok(),
        }))
    }

    pub fn settings(&self) -> &GatewaySettings {
        &self.settings
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Takes a connection slot, or `None` when the instance is full.
    pub fn try_connect(&self) -> Option<ConnectionSlot> {
        let max = self.settings.max_connections;
        self.connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| ConnectionSlot(self.clone()))
    }

    /// Counts a connection of `user`; `None` when the account has too many.
    pub(crate) fn add_user_connection(&self, user: &str) -> Option<UserConnection> {
        let mut count = self.per_user.entry(user.to_owned()).or_insert(0);
        if *count >= self.settings.max_connections_per_user {
            return None;
        }
        *count += 1;
        Some(UserConnection {
            gateway: self.clone(),
            user: user.to_owned(),
        })
    }

    /// Runs a session task that shutdown waits for.
    pub fn spawn<F: std::future::Future<Output = ()> + Send + 'static>(&self, task: F) {
        self.tracker.spawn(task);
    }

    /// Runs the rest of an admitted session (its handshake's turn, then its
    /// loop), which shutdown waits for too, on the hub's main runtime: the
    /// intake ([`crate::http::serve`]) may run on one of its own, and what
    /// holds a database connection must never queue behind a flood of new
    /// connections there.
    pub(crate) fn spawn_admitted<F: std::future::Future<Output = ()> + Send + 'static>(
        &self,
        task: F,
    ) {
        let task = self.tracker.track_future(task);
        match &self.main {
            Some(main) => drop(main.spawn(task)),
            None => drop(tokio::spawn(task)),
        }
    }

    /// Stops every session with the restart code; new upgrades are refused.
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
        self.tracker.close();
    }

    /// Waits (up to the drain timeout) for sessions to finish closing.
    pub async fn drained(&self) {
        self.tracker.close();
        if tokio::time::timeout(self.settings.drain_timeout, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("sessions still open after the drain timeout");
        }
    }

    /// WebSocket connections open now (handshakes included).
    pub fn open_connections(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }
}
