//! The Redis broker: each commit's events are published on the
//! restaurant's channel, every instance subscribes to all restaurant
//! channels, and presence is kept in a hash per room with a liveness key per
//! instance.
//!
//! It hands what it receives to its [`BrokerHandler`] and never knows the
//! node, sessions or the database; a failure is logged and left to the log
//! poller (events) or to liveness expiry (presence), never waited on by a
//! caller.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use redis::aio::MultiplexedConnection;
use redis::RedisResult;
use restohub_protocol::ws::{Member, Room};

use super::broker::{Broker, BrokerCounts, BrokerHandler, BrokerHealth, PresenceNote};
use super::redis_bus::{forward_events, forward_presence, Bus, BusCounts};
use super::redis_wire::Deployment;
use crate::events::Event;

const CHANNEL_PREFIX: &str = "restohub:events:";
const PRESENCE_CHANNEL_PREFIX: &str = "restohub:presence:";

/// One Redis server: a channel per restaurant, all of them received through
/// one pattern subscription.
struct Server {
    client: redis::Client,
}

impl Deployment for Server {
    type Conn = MultiplexedConnection;

    fn connect(&self) -> impl std::future::Future<Output = RedisResult<Self::Conn>> + Send {
        let client = self.client.clone();
        async move { client.get_multiplexed_async_connection().await }
    }

    fn event_channel(&self, restaurant_id: i64) -> String {
        format!("{CHANNEL_PREFIX}{restaurant_id}")
    }

    fn presence_message(&self, restaurant_id: i64, json: &str) -> redis::Cmd {
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(format!("{PRESENCE_CHANNEL_PREFIX}{restaurant_id}"))
            .arg(json);
        cmd
    }

    /// One pipeline: a single server takes every channel.
    fn publish_pipelines(&self, batch: Vec<(String, String)>) -> Vec<redis::Pipeline> {
        let mut pipe = redis::pipe();
        for (channel, payload) in batch {
            pipe.publish(channel, payload).ignore();
        }
        vec![pipe]
    }
}

pub struct RedisBroker {
    instance: String,
    client: redis::Client,
    bus: Bus<Server>,
    subscribed: Arc<AtomicBool>,
}

impl RedisBroker {
    /// Starts publishing and sharing presence for `instance`; receiving
    /// starts with [`Broker::start`].
    pub fn new(client: redis::Client, instance: &str) -> RedisBroker {
        let server = Arc::new(Server {
            client: client.clone(),
        });
        RedisBroker {
            instance: instance.to_owned(),
            client,
            bus: Bus::new(server, instance),
            subscribed: Arc::new(AtomicBool::new(false)),
        }
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
            self.bus.counts(),
        ));
    }

    fn publish(&self, events: &[Event]) {
        self.bus.publish(events);
    }

    fn share_presence(&self, note: PresenceNote) {
        self.bus.share_presence(note);
    }

    async fn remote_members(&self, room: Room) -> Vec<Member> {
        self.bus.remote_members(room).await
    }

    fn health(&self) -> BrokerHealth {
        if self.subscribed.load(Ordering::Acquire) {
            BrokerHealth::Up
        } else {
            BrokerHealth::Down("not subscribed to Redis".into())
        }
    }

    fn counts(&self) -> BrokerCounts {
        self.bus.totals()
    }
}

async fn subscribe(
    client: redis::Client,
    instance: String,
    handler: Arc<dyn BrokerHandler>,
    subscribed: Arc<AtomicBool>,
    counts: Arc<BusCounts>,
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
                        counts.resubscribed();
                    }
                    ever_subscribed = true;
                    subscribed.store(true, Ordering::Release);
                    tracing::info!("subscribed to events on Redis");
                    backoff = Duration::from_millis(100);
                    let mut messages = pubsub.into_on_message();
                    while let Some(message) = messages.next().await {
                        let payload = message.get_payload_bytes();
                        if message
                            .get_channel_name()
                            .starts_with(PRESENCE_CHANNEL_PREFIX)
                        {
                            forward_presence(&instance, handler.as_ref(), payload);
                        } else {
                            forward_events(handler.as_ref(), payload);
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
