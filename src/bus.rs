//! The event bus between instances: how events committed on one instance
//! reach the sessions of the others. It is only the fast path: every
//! instance also polls the event log (see `Gateway::poll_log`), so a lost
//! message or a dead publisher makes delivery late, never incomplete.
//!
//! Without Redis the bus is local (one instance). With Redis, each commit's
//! events are published on the restaurant's channel and every instance
//! subscribes to all restaurant channels.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use restohub_protocol::ws::Room;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::events::Event;
use crate::gateway::Gateway;
use crate::storage::Store;

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

/// Whether cross-instance delivery works right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusHealth {
    /// A single instance: nothing to connect to.
    Local,
    Up,
    Down(String),
}

#[async_trait::async_trait]
pub trait EventBus: Send + Sync {
    /// Hands committed events to the other instances without making the
    /// caller wait: a failure is logged and left to the log poller.
    fn publish(&self, events: &[Event]);
    fn health(&self) -> BusHealth;
    /// Members of `room` on other live instances.
    async fn remote_members(&self, _room: Room) -> Vec<restohub_protocol::ws::Member> {
        Vec::new()
    }
}

pub struct LocalBus;

#[async_trait::async_trait]
impl EventBus for LocalBus {
    fn publish(&self, _: &[Event]) {}
    fn health(&self) -> BusHealth {
        BusHealth::Local
    }
}

/// A member as other instances see it.
#[derive(Serialize, Deserialize)]
struct Presence {
    instance: String,
    room: String,
    member: restohub_protocol::ws::Member,
    joined: bool,
}

pub struct RedisBus {
    instance: String,
    client: redis::Client,
    /// Each commit's events as (channel, payload), for [`publisher`].
    outbox: mpsc::Sender<(String, String)>,
    subscribed: Arc<AtomicBool>,
}

impl RedisBus {
    /// Starts the subscriber, which feeds every received event to the
    /// gateway's ordered delivery and reconnects on its own.
    pub fn start(client: redis::Client, gateway: Gateway, store: Store) -> RedisBus {
        let subscribed = Arc::new(AtomicBool::new(false));
        let instance = gateway.instance().to_owned();
        if let Some(notes) = gateway.share_presence() {
            tokio::spawn(share_presence(client.clone(), instance.clone(), notes));
        }
        tokio::spawn(subscribe(
            client.clone(),
            gateway,
            store,
            subscribed.clone(),
        ));
        let (outbox, queued) = mpsc::channel(OUTBOX);
        tokio::spawn(publisher(client.clone(), queued));
        RedisBus {
            instance,
            client,
            outbox,
            subscribed,
        }
    }
}

/// Publishes what commits queue in [`RedisBus::outbox`], in the order they
/// were queued: everything waiting goes out as one pipeline, one round trip
/// at a time, so an instance publishes more than one commit per Redis round
/// trip (a PUBLISH per commit, each waiting for its reply under a lock, could
/// not). A failed or timed-out batch is dropped and the connection remade;
/// other instances read those events from the log.
async fn publisher(client: redis::Client, mut queued: mpsc::Receiver<(String, String)>) {
    let mut conn: Option<redis::aio::MultiplexedConnection> = None;
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
        conn = None;
    }
}

#[async_trait::async_trait]
impl EventBus for RedisBus {
    fn publish(&self, events: &[Event]) {
        let Some(first) = events.first() else { return };
        let channel = format!("{CHANNEL_PREFIX}{}", first.restaurant_id);
        let payload = serde_json::to_string(events).unwrap_or_default();
        if self.outbox.try_send((channel, payload)).is_err() {
            tracing::warn!("too many events wait for Redis; other instances will read the log");
        }
    }

    async fn remote_members(&self, room: Room) -> Vec<restohub_protocol::ws::Member> {
        let Ok(Ok(mut conn)) = tokio::time::timeout(
            PUBLISH_TIMEOUT,
            self.client.get_multiplexed_async_connection(),
        )
        .await
        else {
            return Vec::new();
        };
        let entries: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
            .arg(format!("{PRESENCE_KEY_PREFIX}{room}"))
            .query_async(&mut conn)
            .await
            .unwrap_or_default();
        let mut alive = std::collections::HashMap::<String, bool>::new();
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

    fn health(&self) -> BusHealth {
        if self.subscribed.load(Ordering::Acquire) {
            BusHealth::Up
        } else {
            BusHealth::Down("not subscribed to Redis".into())
        }
    }
}

/// Writes this instance's joins and leaves to Redis (a hash per room, and a
/// message for other instances' watchers) and keeps its liveness key fresh.
async fn share_presence(
    client: redis::Client,
    instance: String,
    mut notes: tokio::sync::mpsc::Receiver<crate::gateway::PresenceNote>,
) {
    let mut conn: Option<redis::aio::MultiplexedConnection> = None;
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
    gateway: Gateway,
    store: Store,
    subscribed: Arc<AtomicBool>,
) {
    let mut backoff = Duration::from_millis(100);
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
                    subscribed.store(true, Ordering::Release);
                    tracing::info!("subscribed to events on Redis");
                    backoff = Duration::from_millis(100);
                    let mut messages = pubsub.into_on_message();
                    while let Some(message) = messages.next().await {
                        if message
                            .get_channel_name()
                            .starts_with(PRESENCE_CHANNEL_PREFIX)
                        {
                            forward_presence(&gateway, &message);
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
                            Ok(events) => gateway.publish(&store, events).await,
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
fn forward_presence(gateway: &Gateway, message: &redis::Msg) {
    let Ok(payload) = message.get_payload::<String>() else {
        return;
    };
    let Ok(entry) = serde_json::from_str::<Presence>(&payload) else {
        return;
    };
    if entry.instance == gateway.instance() {
        return;
    }
    if let Ok(room) = entry.room.parse::<Room>() {
        gateway.remote_presence(room, &entry.member, entry.joined);
    }
}
