//! The Redis broker: each commit's events are published on the
//! restaurant's channel, every instance subscribes to all restaurant
//! channels, and presence is kept in a hash per room with a liveness key per
//! instance.
//!
//! It hands what it receives to its [`BrokerHandler`] and never knows the
//! node, sessions or the database; a failure is logged and left to the log
//! poller (events) or to liveness expiry (presence), never waited on by a
//! caller.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use redis::aio::{ConnectionManager, MultiplexedConnection};
use restohub_protocol::ws::{Member, Room};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, OnceCell};

use super::broker::{Broker, BrokerCounts, BrokerHandler, BrokerHealth, PresenceNote};
use crate::events::Event;

const CHANNEL_PREFIX: &str = "restohub:events:";
const PRESENCE_CHANNEL_PREFIX: &str = "restohub:presence:";
const PRESENCE_KEY_PREFIX: &str = "restohub:members:";
const INSTANCE_KEY_PREFIX: &str = "restohub:instance:";
/// An instance refreshes its liveness this often; members of an instance
/// not heard from for `INSTANCE_TTL` no longer count as present.
const INSTANCE_BEAT: Duration = Duration::from_secs(2);
const INSTANCE_TTL: Duration = Duration::from_secs(6);
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);
/// Commits whose events may wait for Redis at once; past that they are
/// left to the log poller.
const OUTBOX: usize = 10_000;
/// Commits published in one pipeline, at most.
const BATCH: usize = 256;

/// Joins and leaves that may wait to be shared at once; past that they are
/// dropped (the member's entry then lives until its instance's liveness
/// expires).
const PRESENCE_QUEUE: usize = 10_000;

/// A member as other instances see it.
#[derive(Serialize, Deserialize)]
struct Presence {
    instance: String,
    room: String,
    member: Member,
    joined: bool,
}

pub struct RedisBroker {
    instance: String,
    client: redis::Client,
    /// Each commit's events as (channel, payload), for [`publisher`].
    outbox: mpsc::Sender<(String, String)>,
    /// Local joins and leaves, for [`share_presence`].
    presence: mpsc::Sender<PresenceNote>,
    /// One connection for presence lookups, made on first use and
    /// reconnecting on its own.
    lookups: OnceCell<ConnectionManager>,
    subscribed: Arc<AtomicBool>,
    counts: Arc<Counts>,
}

/// What went wrong so far (see [`BrokerCounts`]).
#[derive(Default)]
struct Counts {
    publish_failures: AtomicU64,
    resubscribes: AtomicU64,
}

impl RedisBroker {
    /// Starts publishing and sharing presence for `instance`; receiving
    /// starts with [`Broker::start`].
    pub fn new(client: redis::Client, instance: &str) -> RedisBroker {
        let (outbox, queued) = mpsc::channel(OUTBOX);
        let counts = Arc::new(Counts::default());
        tokio::spawn(publisher(client.clone(), queued, counts.clone()));
        let (presence, notes) = mpsc::channel(PRESENCE_QUEUE);
        tokio::spawn(share_presence(client.clone(), instance.to_owned(), notes));
        RedisBroker {
            instance: instance.to_owned(),
            client,
            outbox,
            presence,
            lookups: OnceCell::new(),
            subscribed: Arc::new(AtomicBool::new(false)),
            counts,
        }
    }

    async fn lookup_connection(&self) -> Option<ConnectionManager> {
        let connect = || async {
            tokio::time::timeout(PUBLISH_TIMEOUT, self.client.get_connection_manager())
                .await
                .map_err(|_| redis::RedisError::from((redis::ErrorKind::IoError, "timed out")))?
        };
        match self.lookups.get_or_try_init(connect).await {
            Ok(conn) => Some(conn.clone()),
            Err(e) => {
                tracing::debug!(error = %e, "cannot look up presence on Redis");
                None
            }
        }
    }

    /// Members of `room` on other instances whose liveness key still exists.
    async fn live_members(&self, mut conn: ConnectionManager, room: Room) -> Vec<Member> {
        let entries: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(format!("{PRESENCE_KEY_PREFIX}{room}"))
            .query_async(&mut conn)
            .await
            .unwrap_or_default();
        let mut alive = HashMap::<String, bool>::new();
        let mut members = Vec::new();
        for json in entries.values() {
            let Ok(entry) = serde_json::from_str::<Presence>(json) else {
                continue;
            };
            if entry.instance == self.instance {
                continue; // this instance's members are counted locally
            }
            let live = match alive.get(&entry.instance) {
                Some(live) => *live,
                None => {
                    let live: bool = redis::cmd("EXISTS")
                        .arg(format!("{INSTANCE_KEY_PREFIX}{}", entry.instance))
                        .query_async(&mut conn)
                        .await
                        .unwrap_or(false);
                    alive.insert(entry.instance.clone(), live);
                    live
                }
            };
            if live {
                members.push(entry.member);
            }
        }
        members
    }
}

#[async_trait::async_trait]
impl Broker for RedisBroker {
    /// Starts the subscriber, which hands every received event and presence
    /// change to `handler` and reconnects on its own.
    fn start(&self, handler: Arc<dyn BrokerHandler>) {
        tokio::spawn(subscribe(
            self.client.clone(),
            self.instance.clone(),
            handler,
            self.subscribed.clone(),
            self.counts.clone(),
        ));
    }

    fn publish(&self, events: &[Event]) {
        let Some(first) = events.first() else { return };
        let channel = format!("{CHANNEL_PREFIX}{}", first.restaurant_id);
        let payload = serde_json::to_string(events).unwrap_or_default();
        if self.outbox.try_send((channel, payload)).is_err() {
            tracing::warn!("too many events wait for Redis; other instances will read the log");
        }
    }

    fn share_presence(&self, note: PresenceNote) {
        if self.presence.try_send(note).is_err() {
            tracing::warn!("presence queue full; a presence change was not shared");
        }
    }

    async fn remote_members(&self, room: Room) -> Vec<Member> {
        let Some(conn) = self.lookup_connection().await else {
            return Vec::new();
        };
        tokio::time::timeout(PUBLISH_TIMEOUT, self.live_members(conn, room))
            .await
            .unwrap_or_default()
    }

    fn health(&self) -> BrokerHealth {
        if self.subscribed.load(Ordering::Acquire) {
            BrokerHealth::Up
        } else {
            BrokerHealth::Down("not subscribed to Redis".into())
        }
    }

    fn counts(&self) -> BrokerCounts {
        BrokerCounts {
            publish_failures: self.counts.publish_failures.load(Ordering::Relaxed),
            resubscribes: self.counts.resubscribes.load(Ordering::Relaxed),
        }
    }
}

/// Publishes what commits queue in [`RedisBroker::outbox`], in the order they
/// were queued: everything waiting goes out as one pipeline, one round trip
/// at a time, so an instance publishes more than one commit per Redis round
/// trip (a PUBLISH per commit, each waiting for its reply under a lock, could
/// not). A failed or timed-out batch is dropped and the connection remade;
/// other instances read those events from the log.
async fn publisher(
    client: redis::Client,
    mut queued: mpsc::Receiver<(String, String)>,
    counts: Arc<Counts>,
) {
    let mut conn: Option<MultiplexedConnection> = None;
    let mut batch = Vec::with_capacity(BATCH);
    while queued.recv_many(&mut batch, BATCH).await > 0 {
        let mut pipe = redis::pipe();
        for (channel, payload) in batch.drain(..) {
            pipe.publish(channel, payload).ignore();
        }
        let sent = tokio::time::timeout(PUBLISH_TIMEOUT, async {
            if conn.is_none() {
                conn = Some(client.get_multiplexed_async_connection().await?);
            }
            let c = conn.as_mut().expect("just connected");
            pipe.query_async::<()>(c).await
        })
        .await;
        let failure = match sent {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e.to_string(),
            Err(_) => "timed out".to_owned(),
        };
        tracing::warn!(error = %failure, "publishing to Redis failed; other instances will read the log");
        counts.publish_failures.fetch_add(1, Ordering::Relaxed);
        conn = None;
    }
}

/// Writes this instance's joins and leaves to Redis (a hash per room, and a
/// message for other instances' watchers) and keeps its liveness key fresh.
async fn share_presence(
    client: redis::Client,
    instance: String,
    mut notes: mpsc::Receiver<PresenceNote>,
) {
    let mut conn: Option<MultiplexedConnection> = None;
    let mut beat = tokio::time::interval(INSTANCE_BEAT);
    loop {
        let note = tokio::select! {
            note = notes.recv() => match note {
                Some(note) => Some(note),
                None => return,
            },
            _ = beat.tick() => None,
        };
        if conn.is_none() {
            conn = client.get_multiplexed_async_connection().await.ok();
        }
        let Some(c) = conn.as_mut() else { continue };
        let result = match note {
            None => {
                redis::cmd("SET")
                    .arg(format!("{INSTANCE_KEY_PREFIX}{instance}"))
                    .arg(1)
                    .arg("PX")
                    .arg(INSTANCE_TTL.as_millis() as u64)
                    .query_async::<()>(c)
                    .await
            }
            Some(note) => {
                let room = note.room.to_string();
                let entry = Presence {
                    instance: instance.clone(),
                    room: room.clone(),
                    member: note.member,
                    joined: note.joined,
                };
                let json = serde_json::to_string(&entry).unwrap_or_default();
                let key = format!("{PRESENCE_KEY_PREFIX}{room}");
                let mut pipe = redis::pipe();
                if note.joined {
                    pipe.hset(&key, &entry.member.session_id, &json);
                } else {
                    pipe.hdel(&key, &entry.member.session_id);
                }
                pipe.publish(
                    format!("{PRESENCE_CHANNEL_PREFIX}{}", note.restaurant_id),
                    &json,
                );
                pipe.query_async::<()>(c).await
            }
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "cannot share presence on Redis");
            conn = None;
        }
    }
}

async fn subscribe(
    client: redis::Client,
    instance: String,
    handler: Arc<dyn BrokerHandler>,
    subscribed: Arc<AtomicBool>,
    counts: Arc<Counts>,
) {
    let mut backoff = Duration::from_millis(100);
    let mut ever_subscribed = false;
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub
                .psubscribe(&[
                    format!("{CHANNEL_PREFIX}*"),
                    format!("{PRESENCE_CHANNEL_PREFIX}*"),
                ])
                .await
            {
                Ok(()) => {
                    if ever_subscribed {
                        counts.resubscribes.fetch_add(1, Ordering::Relaxed);
                    }
                    ever_subscribed = true;
                    subscribed.store(true, Ordering::Release);
                    tracing::info!("subscribed to events on Redis");
                    backoff = Duration::from_millis(100);
                    let mut messages = pubsub.into_on_message();
                    while let Some(message) = messages.next().await {
                        if message
                            .get_channel_name()
                            .starts_with(PRESENCE_CHANNEL_PREFIX)
                        {
                            forward_presence(&instance, handler.as_ref(), &message);
                            continue;
                        }
                        let payload: String = match message.get_payload() {
                            Ok(p) => p,
                            Err(e) => {
                                tracing::warn!(error = %e, "unreadable message on the event channel");
                                continue;
                            }
                        };
                        match serde_json::from_str::<Vec<Event>>(&payload) {
                            Ok(events) => handler.on_events(events),
                            Err(e) => {
                                tracing::warn!(error = %e, "malformed events on the event channel")
                            }
                        }
                    }
                    tracing::warn!(
                        "lost the Redis subscription; delivery falls back to the event log"
                    );
                }
                Err(e) => tracing::warn!(error = %e, "cannot subscribe on Redis"),
            },
            Err(e) => tracing::debug!(error = %e, "Redis unreachable"),
        }
        subscribed.store(false, Ordering::Release);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

/// Another instance's join or leave, for this instance's watchers.
fn forward_presence(instance: &str, handler: &dyn BrokerHandler, message: &redis::Msg) {
    let Ok(payload) = message.get_payload::<String>() else {
        return;
    };
    let Ok(entry) = serde_json::from_str::<Presence>(&payload) else {
        return;
    };
    if entry.instance == instance {
        return;
    }
    if let Ok(room) = entry.room.parse::<Room>() {
        handler.on_presence(room, &entry.member, entry.joined);
    }
}
