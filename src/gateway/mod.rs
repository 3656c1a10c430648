//! The WebSocket gateway: live sessions, the rooms they are in, and delivery
//! of events and presence to them.
//!
//! Delivery never waits on a client: each session has a bounded queue, and a
//! session whose queue is full is disconnected as a slow consumer (it resumes
//! with `since`). Events of one restaurant are delivered under that
//! restaurant's lock, in the order `deliver` is called (seq order); joining a
//! room takes the same lock, so the `seq` a session is told it joined at and
//! the events it then receives fit together with no gap.

mod commands;
mod dashboard;
mod registry;
mod reply;
mod session;

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use dashmap::DashMap;
use restohub_protocol::ws::{close, Member, Room};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::events::{event_frame, Event};
use registry::Registry;

pub use session::run as run_session;

/// Limits and timings, validated from the configuration.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    pub hello_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub max_message_bytes: usize,
    /// Frames a session may have waiting before it counts as a slow consumer.
    pub queue_capacity: usize,
    pub commands_per_second: NonZeroU32,
    pub command_burst: NonZeroU32,
    pub max_connections: usize,
    pub max_connections_per_user: usize,
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

/// Counters for health, metrics and tests.
#[derive(Debug, Default)]
pub struct Stats {
    pub sessions: AtomicUsize,
    pub slow_consumers: AtomicU64,
    /// The most frames ever waiting in one session's queue.
    pub max_queue_depth: AtomicUsize,
    pub events_delivered: AtomicU64,
    /// Dashboard snapshots sent (each counted once per session).
    pub dashboards_sent: AtomicU64,
}

/// A live session as the rest of the gateway sees it.
pub(crate) struct SessionHandle {
    pub key: u64,
    pub restaurant_id: i64,
    pub member: Member,
    tx: mpsc::Sender<Utf8Bytes>,
    /// The last event seq this session was sent (its next frame's `prev`).
    last_seq: AtomicU64,
    /// The seq of the last dashboard snapshot sent (never an older one after).
    dashboard_seq: AtomicU64,
    kill: CancellationToken,
    kill_code: AtomicU16,
}

impl SessionHandle {
    /// Queues a frame without waiting; a full queue ends the session.
    fn push(&self, frame: Utf8Bytes, stats: &Stats) -> bool {
        match self.tx.try_send(frame) {
            Ok(()) => {
                let depth = self.tx.max_capacity() - self.tx.capacity();
                stats.max_queue_depth.fetch_max(depth, Ordering::Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                if self.kick(close::SLOW_CONSUMER) {
                    stats.slow_consumers.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(session = %self.member.session_id, "slow consumer disconnected");
                }
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Ends the session with `code`; true if this call decided it.
    fn kick(&self, code: u16) -> bool {
        let first = self
            .kill_code
            .compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        self.kill.cancel();
        first
    }
}

/// A local join or leave, to share with other instances.
#[derive(Debug, Clone)]
pub struct PresenceNote {
    pub restaurant_id: i64,
    pub room: Room,
    pub member: Member,
    pub joined: bool,
}

/// Per restaurant: the delivery lock, the last seq delivered, and events
/// that arrived ahead of a missing one.
#[derive(Default)]
struct Channel {
    /// `last_seq` has been read from the event log.
    ready: bool,
    last_seq: u64,
    waiting: std::collections::BTreeMap<u64, Event>,
}

/// How long a gap may stand before the missing events are read from the log
/// (a publisher that committed but never published: a cancelled request).
const GAP_PATIENCE: Duration = Duration::from_millis(100);

pub struct Inner {
    settings: GatewaySettings,
    registry: Registry,
    channels: DashMap<i64, Arc<Mutex<Channel>>>,
    connections: AtomicUsize,
    per_user: DashMap<String, usize>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    /// Wakes the log poller early when events wait behind a missing one.
    gap: tokio::sync::Notify,
    next_key: AtomicU64,
    /// Distinguishes this instance's session ids from other instances'.
    instance: String,
    /// Where joins and leaves are shared with other instances (Redis).
    presence_out: std::sync::OnceLock<mpsc::Sender<PresenceNote>>,
    /// Restaurants whose dashboards need a fresh snapshot.
    dashboards: dashboard::Pending,
    pub stats: Stats,
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

impl Gateway {
    pub fn new(settings: GatewaySettings) -> Gateway {
        let instance = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        Gateway(Arc::new(Inner {
            settings,
            registry: Registry::default(),
            channels: DashMap::new(),
            connections: AtomicUsize::new(0),
            per_user: DashMap::new(),
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
            gap: tokio::sync::Notify::new(),
            next_key: AtomicU64::new(1),
            instance,
            presence_out: std::sync::OnceLock::new(),
            dashboards: dashboard::Pending::default(),
            stats: Stats::default(),
        }))
    }

    pub fn settings(&self) -> &GatewaySettings {
        &self.settings
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

    /// Runs a session task that shutdown waits for.
    pub fn spawn<F: std::future::Future<Output = ()> + Send + 'static>(&self, task: F) {
        self.tracker.spawn(task);
    }

    fn channel(&self, restaurant: i64) -> Arc<Mutex<Channel>> {
        self.channels.entry(restaurant).or_default().clone()
    }

    /// Delivers one event now, whatever came before it: the primitive under
    /// [`Gateway::publish`], which keeps seq order.
    pub fn deliver(&self, event: &Event) {
        let channel = self.channel(event.restaurant_id);
        let mut channel = channel.lock().unwrap_or_else(|e| e.into_inner());
        self.fan_out(event);
        channel.last_seq = channel.last_seq.max(event.seq);
    }

    /// Sends one event to every local session in any of its rooms, once
    /// each. The caller holds the restaurant's channel lock. Never waits on
    /// a client.
    fn fan_out(&self, event: &Event) {
        let body = event.shared_body();
        let mut delivered = 0;
        self.registry.for_each_recipient(&event.rooms, |session| {
            // Under the channel lock: no other delivery to this session races.
            let prev = session.last_seq.load(Ordering::Acquire);
            if event.seq <= prev {
                // Already sent (a resumed session that was ahead of this instance).
                return;
            }
            session.last_seq.store(event.seq, Ordering::Release);
            if session.push(Utf8Bytes::from(event_frame(prev, &body)), &self.stats) {
                delivered += 1;
            }
        });
        self.stats
            .events_delivered
            .fetch_add(delivered, Ordering::Relaxed);
        self.dashboard_changed(event.restaurant_id);
    }

    /// Makes sure the restaurant's channel starts at the log's current seq,
    /// so that neither a join nor a publish runs on an unknown position.
    pub async fn open_channel(
        &self,
        restaurant: i64,
        store: &crate::storage::Store,
    ) -> sqlx::Result<()> {
        if self
            .channel(restaurant)
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ready
        {
            return Ok(());
        }
        let seq = store.current_seq(restaurant).await?;
        let channel = self.channel(restaurant);
        let mut channel = channel.lock().unwrap_or_else(|e| e.into_inner());
        if !channel.ready {
            channel.ready = true;
            channel.last_seq = channel.last_seq.max(seq);
        }
        Ok(())
    }

    /// Delivers committed events in seq order. Events ahead of a missing
    /// seq wait, and the log poller is woken to read the missing ones. Seqs
    /// already delivered are ignored, so nothing reaches a session twice.
    pub async fn publish(&self, store: &crate::storage::Store, events: Vec<Event>) {
        let Some(restaurant) = events.first().map(|e| e.restaurant_id) else {
            return;
        };
        if let Err(e) = self.open_channel(restaurant, store).await {
            tracing::error!(error = %e, "cannot read the event log; the poller will catch up");
        }
        let channel = self.channel(restaurant);
        let mut channel = channel.lock().unwrap_or_else(|e| e.into_inner());
        for event in events {
            if event.seq > channel.last_seq {
                channel.waiting.insert(event.seq, event);
            }
        }
        self.drain_in_order(&mut channel);
        if !channel.waiting.is_empty() {
            self.gap.notify_one();
        }
    }

    fn drain_in_order(&self, channel: &mut Channel) {
        while let Some(entry) = channel.waiting.first_entry() {
            let seq = *entry.key();
            if seq <= channel.last_seq {
                entry.remove();
            } else if seq == channel.last_seq + 1 {
                let event = entry.remove();
                self.fan_out(&event);
                channel.last_seq = seq;
            } else {
                break;
            }
        }
    }

    /// Reads the events a restaurant's log has beyond what this instance
    /// delivered, up to `current` (its last committed seq), and delivers
    /// them in order. A seq the log no longer has (pruned) is skipped rather
    /// than waited for.
    async fn catch_up(
        &self,
        restaurant: i64,
        current: u64,
        store: &crate::storage::Store,
    ) -> sqlx::Result<()> {
        let delivered = self.last_seq(restaurant);
        if current <= delivered {
            return Ok(());
        }
        let events = store
            .events_between(restaurant, delivered, current, 10_000)
            .await?;
        tracing::debug!(
            restaurant,
            delivered,
            current,
            found = events.len(),
            "caught up from the log"
        );
        let first_in_log = events.first().map_or(current + 1, |e| e.seq);
        let channel = self.channel(restaurant);
        let mut channel = channel.lock().unwrap_or_else(|e| e.into_inner());
        if first_in_log > channel.last_seq + 1 {
            tracing::warn!(
                restaurant,
                from = channel.last_seq + 1,
                to = first_in_log - 1,
                "events missing from the log skipped"
            );
            channel.last_seq = first_in_log - 1;
        }
        for event in events {
            if event.seq > channel.last_seq {
                channel.waiting.insert(event.seq, event);
            }
        }
        self.drain_in_order(&mut channel);
        Ok(())
    }

    /// The restaurant's last delivered seq.
    pub fn last_seq(&self, restaurant: i64) -> u64 {
        let channel = self.channel(restaurant);
        let seq = channel.lock().unwrap_or_else(|e| e.into_inner()).last_seq;
        seq
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

    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }
}

impl Gateway {
    /// Registers a new session of `restaurant`; its queue receiver is
    /// returned for the session task to drain.
    pub(crate) fn register(
        &self,
        restaurant_id: i64,
        mut member: Member,
        since: Option<u64>,
    ) -> (Arc<SessionHandle>, mpsc::Receiver<Utf8Bytes>) {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        member.session_id = format!("{}-{key}", self.instance);
        let (tx, rx) = mpsc::channel(self.settings.queue_capacity);
        let session = Arc::new(SessionHandle {
            key,
            restaurant_id,
            member,
            tx,
            last_seq: AtomicU64::new(since.unwrap_or(0)),
            dashboard_seq: AtomicU64::new(0),
            kill: CancellationToken::new(),
            kill_code: AtomicU16::new(0),
        });
        self.stats.sessions.fetch_add(1, Ordering::Relaxed);
        (session, rx)
    }

    /// Joins rooms and reads the restaurant's seq under its delivery lock, so
    /// no event falls between the two. Without `since`, the session's next
    /// event's `prev` is that seq.
    pub(crate) fn join_all(
        &self,
        session: &Arc<SessionHandle>,
        rooms: &[Room],
        since: Option<u64>,
    ) -> u64 {
        let channel = self.channel(session.restaurant_id);
        let channel = channel.lock().unwrap_or_else(|e| e.into_inner());
        for room in rooms {
            self.join_locked(*room, session);
        }
        // Live events start after whichever is later: what this instance has
        // delivered, or what the client says it has seen.
        let start = channel.last_seq.max(since.unwrap_or(0));
        session.last_seq.store(start, Ordering::Release);
        channel.last_seq
    }

    /// Every `interval`, or shortly after events arrive behind a missing
    /// one, reads events that reached the log but not this instance (a
    /// publisher that died after commit, a lost bus message, a request
    /// cancelled between commit and delivery) for each restaurant it serves,
    /// so delivery is late at worst, never lost.
    pub async fn poll_log(self, store: crate::storage::Store, interval: Duration) {
        let mut every = tokio::time::interval(interval);
        loop {
            // Woken by a gap, only the restaurants with one are read.
            let gaps_only = tokio::select! {
                _ = every.tick() => false,
                _ = self.gap.notified() => {
                    tokio::time::sleep(GAP_PATIENCE).await;
                    true
                }
            };
            let open: Vec<i64> = self
                .channels
                .iter()
                .filter(|c| {
                    let channel = c.value().lock().unwrap_or_else(|e| e.into_inner());
                    channel.ready && !(gaps_only && channel.waiting.is_empty())
                })
                .map(|c| *c.key())
                .collect();
            if open.is_empty() {
                continue;
            }
            // One query for every restaurant's seq; the log itself is read
            // only for those this instance is behind on.
            let current = match store.current_seqs(&open).await {
                Ok(current) => current,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the event log; will retry");
                    continue;
                }
            };
            for (restaurant, seq) in current {
                if let Err(e) = self.catch_up(restaurant, seq, &store).await {
                    tracing::warn!(error = %e, "cannot read the event log; will retry");
                }
            }
        }
    }

    pub(crate) fn join(&self, room: Room, session: &Arc<SessionHandle>) {
        let channel = self.channel(session.restaurant_id);
        let _order = channel.lock().unwrap_or_else(|e| e.into_inner());
        self.join_locked(room, session);
    }

    fn join_locked(&self, room: Room, session: &Arc<SessionHandle>) {
        if self.registry.join(room, session) {
            let watchers = self.registry.watchers(room, session.key);
            self.announce("presence.joined", room, &session.member, &watchers);
            self.share(session, room, true);
        }
    }

    /// Tells other instances, without waiting (a full queue drops the note;
    /// the member's entry then lives until its instance's liveness expires).
    fn share(&self, session: &SessionHandle, room: Room, joined: bool) {
        if let Some(out) = self.presence_out.get() {
            let note = PresenceNote {
                restaurant_id: session.restaurant_id,
                room,
                member: session.member.clone(),
                joined,
            };
            if out.try_send(note).is_err() {
                tracing::warn!("presence queue full; a presence change was not shared");
            }
        }
    }

    /// Connects presence to other instances; returns the notes to share.
    pub fn share_presence(&self) -> Option<mpsc::Receiver<PresenceNote>> {
        let (tx, rx) = mpsc::channel(10_000);
        self.presence_out.set(tx).ok().map(|_| rx)
    }

    /// This instance's id (the prefix of its session ids).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// A join or leave on another instance: tell this instance's watchers.
    pub fn remote_presence(&self, room: Room, member: &Member, joined: bool) {
        let kind = if joined {
            "presence.joined"
        } else {
            "presence.left"
        };
        let watchers = self.registry.watchers(room, 0);
        self.announce(kind, room, member, &watchers);
    }

    pub(crate) fn leave(&self, room: Room, session: &Arc<SessionHandle>) {
        let channel = self.channel(session.restaurant_id);
        let _order = channel.lock().unwrap_or_else(|e| e.into_inner());
        if self.registry.leave(room, session.key) {
            let watchers = self.registry.watchers(room, session.key);
            self.announce("presence.left", room, &session.member, &watchers);
            self.share(session, room, false);
        }
    }

    /// The room's members now; from now on `session` is told who joins and
    /// leaves it.
    pub(crate) fn watch(&self, room: Room, session: &Arc<SessionHandle>) -> Vec<Member> {
        let channel = self.channel(session.restaurant_id);
        let _order = channel.lock().unwrap_or_else(|e| e.into_inner());
        self.registry.watch(room, session);
        self.registry.members(room)
    }

    pub(crate) fn unwatch(&self, room: Room, session: &Arc<SessionHandle>) {
        self.registry.unwatch(room, session.key);
    }

    /// One presence frame, serialized once, to everyone else in the room.
    fn announce(&self, kind: &str, room: Room, member: &Member, to: &[Arc<SessionHandle>]) {
        if to.is_empty() {
            return;
        }
        let frame = serde_json::json!({ "type": kind, "room": room.to_string(), "member": member });
        let frame = Utf8Bytes::from(frame.to_string());
        for session in to {
            session.push(frame.clone(), &self.stats);
        }
    }

    /// Counts a connection of `user`; false when the account has too many.
    pub(crate) fn add_user_connection(&self, user: &str) -> bool {
        let mut count = self.per_user.entry(user.to_owned()).or_insert(0);
        if *count >= self.settings.max_connections_per_user {
            return false;
        }
        *count += 1;
        true
    }

    pub(crate) fn remove_user_connection(&self, user: &str) {
        if let Some(mut count) = self.per_user.get_mut(user) {
            *count = count.saturating_sub(1);
        }
        self.per_user.remove_if(user, |_, n| *n == 0);
    }

    pub(crate) fn unregister(&self) {
        self.stats.sessions.fetch_sub(1, Ordering::Relaxed);
    }
}
