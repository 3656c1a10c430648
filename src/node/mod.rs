//! The delivery node: this instance's live sessions and the rooms they are
//! in, and the one place a publication turns into deliveries to them.
//!
//! It owns the room [`registry`], the per-restaurant channels of
//! [`ordering`] (filled from the [`log`] by the [`poller`]), [`presence`],
//! and the [`broker`] that carries events and presence to other instances.
//! Delivery never waits on a client (bounded queues, `try_send`) and the
//! publish path never reads the database.
//!
//! It must never know the WebSocket edge, HTTP or the concrete storage
//! (it reads the log through [`log::EventLog`]); edges call into it, not the
//! other way round.

pub mod broker;
pub mod log;
mod ordering;
mod poller;
mod presence;
pub mod redis;
mod redis_bus;
pub mod redis_cluster;
mod redis_presence;
mod redis_shards;
mod redis_wire;
mod registry;
mod screens;
pub mod session;
mod store_log;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use restohub_protocol::ws::{Member, Room};

use crate::events::Event;
use broker::{Broker, BrokerHandler, BrokerHealth};
use log::EventLog;
use ordering::{lock, Channel};
use registry::Registry;
pub use screens::{Screen, SeenRefusal};
pub use session::{Frames, SessionHandle, Stats};

pub struct Inner {
    registry: Registry,
    channels: DashMap<i64, Arc<Mutex<Channel>>>,
    log: Arc<dyn EventLog>,
    broker: Arc<dyn Broker>,
    /// Wakes the log poller early when events wait behind a missing one.
    gap: tokio::sync::Notify,
    /// Frames a session may have waiting before it counts as a slow consumer.
    queue_capacity: usize,
    next_key: AtomicU64,
    /// Distinguishes this instance's session ids from other instances'.
    instance: String,
    /// Restaurants whose dashboards need a fresh snapshot.
    dashboards: Marks,
    /// Restaurants whose kitchen screens may need fresh all-day counts.
    kitchens: Marks,
    /// What local screens acknowledged (proof of display).
    screens: screens::Screens,
    pub stats: Stats,
    /// This hub's Prometheus figures.
    pub metrics: Arc<crate::instruments::Metrics>,
}

#[derive(Clone)]
pub struct Node(Arc<Inner>);

impl std::ops::Deref for Node {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Node {
    /// A node reading `log`; `broker` is made for this instance's id and
    /// started with the node as its handler.
    pub fn new(
        queue_capacity: usize,
        log: Arc<dyn EventLog>,
        broker: impl FnOnce(&str) -> Arc<dyn Broker>,
        metrics: Arc<crate::instruments::Metrics>,
    ) -> Node {
        let instance = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let node = Node(Arc::new(Inner {
            registry: Registry::default(),
            channels: DashMap::new(),
            log,
            broker: broker(&instance),
            gap: tokio::sync::Notify::new(),
            queue_capacity,
            next_key: AtomicU64::new(1),
            instance,
            dashboards: Marks::default(),
            kitchens: Marks::default(),
            screens: screens::Screens::default(),
            stats: Stats::default(),
            metrics,
        }));
        node.broker.start(Arc::new(node.clone()));
        node
    }

    /// This instance's id (the prefix of its session ids).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn broker_health(&self) -> BrokerHealth {
        self.broker.health()
    }

    /// What the broker counted (publish failures, lost subscriptions).
    pub fn broker_counts(&self) -> broker::BrokerCounts {
        self.broker.counts()
    }

    /// After a commit: deliver to this instance's sessions now, and hand the
    /// events to the other instances without making the caller wait.
    pub fn publish(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        // Counted by the instance that committed them: once per event
        // however many instances deliver it.
        for event in &events {
            self.metrics.committed(&event.kind);
        }
        self.broker.publish(&events);
        self.deliver_in_order(events);
    }

    /// Registers a new session of `restaurant`; the session's task drains
    /// its queue ([`SessionHandle::take`]).
    pub fn register(
        &self,
        restaurant_id: i64,
        mut member: Member,
        since: Option<u64>,
    ) -> Arc<SessionHandle> {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        member.session_id = format!("{}-{key}", self.instance);
        self.metrics.session_opened(member.role);
        let capacity = self.queue_capacity;
        let session = Arc::new(SessionHandle::new(
            key,
            restaurant_id,
            member,
            capacity,
            since,
        ));
        self.stats.sessions.fetch_add(1, Ordering::Relaxed);
        session
    }

    pub fn unregister(&self, session: &SessionHandle) {
        self.metrics.session_closed(session.member.role);
        self.stats.sessions.fetch_sub(1, Ordering::Relaxed);
    }

    /// Joins rooms and reads the restaurant's seq under its delivery lock, so
    /// no event falls between the two. Without `since`, the session's next
    /// event's `prev` is that seq.
    pub fn join_all(
        &self,
        session: &Arc<SessionHandle>,
        rooms: &[Room],
        since: Option<u64>,
    ) -> u64 {
        let channel = self.channel(session.restaurant_id);
        let channel = lock(&channel);
        for room in rooms {
            self.join_locked(*room, session);
        }
        // Live events start after whichever is later: what this instance has
        // delivered, or what the client says it has seen.
        let start = channel.last_seq.max(since.unwrap_or(0));
        session.last_seq.store(start, Ordering::Release);
        channel.last_seq
    }

    pub fn join(&self, room: Room, session: &Arc<SessionHandle>) {
        let channel = self.channel(session.restaurant_id);
        let _order = lock(&channel);
        self.join_locked(room, session);
    }

    fn join_locked(&self, room: Room, session: &Arc<SessionHandle>) {
        if self.registry.join(room, session) {
            self.joined(room, session);
        }
    }

    pub fn leave(&self, room: Room, session: &Arc<SessionHandle>) {
        let channel = self.channel(session.restaurant_id);
        let _order = lock(&channel);
        if self.registry.leave(room, session.key) {
            self.left(room, session);
        }
    }

    /// The room's local sessions.
    pub fn sessions(&self, room: Room) -> Vec<Arc<SessionHandle>> {
        self.registry.sessions(room)
    }

    /// Every room with a local member that `keep` selects.
    pub fn rooms_where(&self, keep: impl Fn(&Room) -> bool) -> Vec<Room> {
        self.registry.rooms_where(keep)
    }

    /// Marks `restaurant`'s dashboards as needing a fresh snapshot, if this
    /// instance has any.
    pub fn dashboard_changed(&self, restaurant: i64) {
        if self.registry.has_members(Room::Dashboard(restaurant)) {
            self.dashboards.mark(restaurant);
        }
    }

    /// Marks `restaurant`'s dashboards whether or not they are open here.
    pub fn mark_dashboard(&self, restaurant: i64) {
        self.dashboards.mark(restaurant);
    }

    /// Takes the restaurants marked since the last call.
    pub fn take_dashboards(&self) -> BTreeSet<i64> {
        self.dashboards.take()
    }

    /// Resolves when a restaurant is marked.
    pub async fn dashboards_marked(&self) {
        self.dashboards.wake.notified().await
    }

    /// An event went to `restaurant`'s kitchen rooms: its all-day counts
    /// may have changed.
    pub fn kitchen_changed(&self, restaurant: i64) {
        self.kitchens.mark(restaurant);
    }

    /// Takes the restaurants whose kitchens changed since the last call.
    pub fn take_kitchens(&self) -> BTreeSet<i64> {
        self.kitchens.take()
    }

    /// Resolves when a kitchen is marked.
    pub async fn kitchens_marked(&self) {
        self.kitchens.wake.notified().await
    }
}

/// What other instances send, handed over by the broker.
impl BrokerHandler for Node {
    fn on_events(&self, events: Vec<Event>) {
        self.deliver_in_order(events);
    }

    fn on_presence(&self, room: Room, member: &Member, joined: bool) {
        self.remote_presence(room, member, joined);
    }
}

/// Restaurants marked for a coalesced refresh, and a wake-up for the task
/// that takes them.
#[derive(Default)]
struct Marks {
    restaurants: Mutex<BTreeSet<i64>>,
    wake: tokio::sync::Notify,
}

impl Marks {
    fn mark(&self, restaurant: i64) {
        self.restaurants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(restaurant);
        self.wake.notify_one();
    }

    fn take(&self) -> BTreeSet<i64> {
        std::mem::take(&mut *self.restaurants.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
