//! The Redis Cluster broker: events travel on sharded pub/sub (SPUBLISH,
//! SSUBSCRIBE; Redis 7), so each message is handled by the one master that
//! owns its channel's slot instead of being broadcast over the whole
//! cluster bus as plain PUBLISH is.
//!
//! Sharded pub/sub has no pattern subscriptions, so the channels are a fixed
//! set: [`SHARDS`] event channels `restohub:events:{N}` and as many presence
//! channels `restohub:presence:{N}`; a restaurant's messages go on shard
//! `restaurant_id mod SHARDS`. The hash tag `{N}` puts shard N's two
//! channels in one slot (one SSUBSCRIBE, one connection) and spreads the
//! shards over the masters. Every instance subscribes to every shard (see
//! [`super::redis_shards`]); presence keys are ordinary keys, routed by the
//! cluster client.
//!
//! Like the single-server broker it never knows the node, and a lost master
//! makes its shards' events late (read from the log), never lost.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::RedisResult;
use restohub_protocol::ws::{Member, Room};

use super::broker::{Broker, BrokerCounts, BrokerHandler, BrokerHealth, PresenceNote};
use super::redis_bus::Bus;
use super::redis_shards::{self, Shards};
pub use super::redis_shards::{event_channel, presence_channel, shard_of, SHARDS};
use super::redis_wire::Deployment;
use crate::events::Event;

/// A Redis Cluster reached through the cluster client, which follows slot
/// moves and reconnects on its own.
struct Cluster {
    client: ClusterClient,
}

impl Deployment for Cluster {
    type Conn = ClusterConnection;

    fn connect(&self) -> impl std::future::Future<Output = RedisResult<Self::Conn>> + Send {
        let client = self.client.clone();
        async move { client.get_async_connection().await }
    }

    fn event_channel(&self, restaurant_id: i64) -> String {
        event_channel(shard_of(restaurant_id))
    }

    fn presence_message(&self, restaurant_id: i64, json: &str) -> redis::Cmd {
        let mut cmd = redis::cmd("SPUBLISH");
        cmd.arg(presence_channel(shard_of(restaurant_id))).arg(json);
        cmd
    }

    /// One pipeline per shard: a pipeline goes to one master, and a shard's
    /// channel lives on exactly one. Shards on a lost master then fail
    /// alone while the others are published.
    fn publish_pipelines(&self, batch: Vec<(String, String)>) -> Vec<redis::Pipeline> {
        let mut by_channel: BTreeMap<String, redis::Pipeline> = BTreeMap::new();
        for (channel, payload) in batch {
            let pipe = by_channel
                .entry(channel.clone())
                .or_insert_with(redis::pipe);
            pipe.cmd("SPUBLISH").arg(channel).arg(payload).ignore();
        }
        by_channel.into_values().collect()
    }
}

pub struct RedisClusterBroker {
    instance: String,
    seeds: Vec<redis::ConnectionInfo>,
    bus: Bus<Cluster>,
    shards: Arc<Shards>,
}

/// The client for the cluster that `seeds` belong to. Nothing is connected
/// yet; this fails only on settings the client refuses.
pub fn cluster_client(seeds: &[redis::ConnectionInfo]) -> RedisResult<ClusterClient> {
    // A lost master refuses connections at once; retrying a command against
    // it (the client's default is many retries with backoff) would only
    // hold up the shards on the other masters.
    redis::cluster::ClusterClientBuilder::new(seeds.to_vec())
        .retries(1)
        .connection_timeout(Duration::from_millis(500))
        .response_timeout(Duration::from_secs(1))
        .build()
}

impl RedisClusterBroker {
    /// Starts publishing and sharing presence for `instance` through
    /// `client`; receiving (from the masters `seeds` lead to) starts with
    /// [`Broker::start`].
    pub fn new(
        client: ClusterClient,
        seeds: Vec<redis::ConnectionInfo>,
        instance: &str,
    ) -> RedisClusterBroker {
        RedisClusterBroker {
            instance: instance.to_owned(),
            seeds,
            bus: Bus::new(Arc::new(Cluster { client }), instance),
            shards: Arc::new(Shards::default()),
        }
    }
}

#[async_trait::async_trait]
impl Broker for RedisClusterBroker {
    /// Subscribes to every shard on the master that owns it, and keeps
    /// doing so as masters go and come back.
    fn start(&self, handler: Arc<dyn BrokerHandler>) {
        tokio::spawn(redis_shards::subscribe_all(
            self.seeds.clone(),
            self.instance.clone(),
            handler,
            self.shards.clone(),
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
        self.shards.health()
    }

    fn counts(&self) -> BrokerCounts {
        BrokerCounts {
            resubscribes: self.shards.resubscribes(),
            ..self.bus.totals()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::redis_shards::slot_of;
    use super::*;

    #[test]
    fn shards_use_hash_tags_that_redis_slots_the_same_way() {
        // Slots Redis itself gives (CLUSTER KEYSLOT) for these tags.
        assert_eq!(slot_of(0), 13907);
        assert_eq!(slot_of(1), 9842);
        assert_eq!(event_channel(3), "restohub:events:{3}");
        assert_eq!(presence_channel(3), "restohub:presence:{3}");
        assert_eq!(shard_of(17), 1);
        assert_eq!(shard_of(-1), 15, "never a shard past the last");
    }
}
