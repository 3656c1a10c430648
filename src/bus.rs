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
use tokio::sync::Mutex;

use crate::events::Event;
use crate::gateway::Gateway;
use crate::storage::Store;

const CHANNEL_PREFIX: &str = "restohub:events:";
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);

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
    /// Hands committed events to the other instances. Never waits long on
    /// the broker: a failure is logged and left to the log poller.
    async fn publish(&self, events: &[Event]);
    fn health(&self) -> BusHealth;
}

pub struct LocalBus;

#[async_trait::async_trait]
impl EventBus for LocalBus {
    async fn publish(&self, _: &[Event]) {}
    fn health(&self) -> BusHealth {
        BusHealth::Local
    }
}

/// An event as it travels over Redis.
#[derive(Serialize, Deserialize)]
struct Wire {
    restaurant_id: i64,
    seq: u64,
    kind: String,
    at: i64,
    rooms: Vec<String>,
    data: serde_json::Value,
}

impl From<&Event> for Wire {
    fn from(e: &Event) -> Wire {
        Wire {
            restaurant_id: e.restaurant_id,
            seq: e.seq,
            kind: e.kind.clone(),
            at: e.at,
            rooms: e.rooms.iter().map(ToString::to_string).collect(),
            data: e.data.clone(),
        }
    }
}

impl Wire {
    fn into_event(self) -> Event {
        Event {
            restaurant_id: self.restaurant_id,
            seq: self.seq,
            kind: self.kind,
            at: self.at,
            rooms: self
                .rooms
                .iter()
                .filter_map(|r| r.parse::<Room>().ok())
                .collect(),
            data: self.data,
        }
    }
}

pub struct RedisBus {
    client: redis::Client,
    publisher: Mutex<Option<redis::aio::MultiplexedConnection>>,
    subscribed: Arc<AtomicBool>,
}

impl RedisBus {
    /// Starts the subscriber, which feeds every received event to the
    /// gateway's ordered delivery and reconnects on its own.
    pub fn start(client: redis::Client, gateway: Gateway, store: Store) -> RedisBus {
        let subscribed = Arc::new(AtomicBool::new(false));
        tokio::spawn(subscribe(
            client.clone(),
            gateway,
            store,
            subscribed.clone(),
        ));
        RedisBus {
            client,
            publisher: Mutex::new(None),
            subscribed,
        }
    }

    async fn try_publish(&self, channel: &str, payload: &str) -> redis::RedisResult<()> {
        let mut publisher = self.publisher.lock().await;
        if publisher.is_none() {
            *publisher = Some(self.client.get_multiplexed_async_connection().await?);
        }
        let conn = publisher.as_mut().expect("just connected");
        let result = redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload)
            .query_async::<i64>(conn)
            .await;
        if result.is_err() {
            *publisher = None;
        }
        result.map(|_| ())
    }
}

#[async_trait::async_trait]
impl EventBus for RedisBus {
    async fn publish(&self, events: &[Event]) {
        let Some(first) = events.first() else { return };
        let channel = format!("{CHANNEL_PREFIX}{}", first.restaurant_id);
        let wire: Vec<Wire> = events.iter().map(Wire::from).collect();
        let payload = serde_json::to_string(&wire).unwrap_or_default();
        match tokio::time::timeout(PUBLISH_TIMEOUT, self.try_publish(&channel, &payload)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "publishing to Redis failed; other instances will read the log")
            }
            Err(_) => {
                tracing::warn!("publishing to Redis timed out; other instances will read the log")
            }
        }
    }

    fn health(&self) -> BusHealth {
        if self.subscribed.load(Ordering::Acquire) {
            BusHealth::Up
        } else {
            BusHealth::Down("not subscribed to Redis".into())
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
            Ok(mut pubsub) => match pubsub.psubscribe(format!("{CHANNEL_PREFIX}*")).await {
                Ok(()) => {
                    subscribed.store(true, Ordering::Release);
                    tracing::info!("subscribed to events on Redis");
                    backoff = Duration::from_millis(100);
                    let mut messages = pubsub.into_on_message();
                    while let Some(message) = messages.next().await {
                        let payload: String = match message.get_payload() {
                            Ok(p) => p,
                            Err(e) => {
                                tracing::warn!(error = %e, "unreadable message on the event channel");
                                continue;
                            }
                        };
                        match serde_json::from_str::<Vec<Wire>>(&payload) {
                            Ok(wire) => {
                                let events = wire.into_iter().map(Wire::into_event).collect();
                                gateway.publish(&store, events).await;
                            }
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
