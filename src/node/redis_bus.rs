//! What the single-server and the cluster Redis brokers share: publishing
//! commits' events in batches, sharing presence (a hash per room with each
//! member's entry, and a liveness key per instance), looking up other
//! instances' members, and decoding what arrives. The two differ only in how
//! they connect, which channels they use and how they subscribe, which a
//! [`Deployment`] says.
//!
//! Nothing here waits for a caller: a failure is logged and left to the log
//! poller (events) or to liveness expiry (presence).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use redis::aio::ConnectionLike;
use redis::RedisResult;
use restohub_protocol::ws::{Member, Room};
use tokio::sync::mpsc;

use super::broker::{BrokerCounts, BrokerHandler, PresenceNote};
use super::redis_presence::{share_presence, Pending};
use super::redis_wire::{
    Deployment, Presence, INSTANCE_KEY_PREFIX, PRESENCE_KEY_PREFIX, PUBLISH_TIMEOUT,
};
use crate::events::Event;

/// Commits whose events may wait for Redis at once; past that they are
/// left to the log poller.
const OUTBOX: usize = 10_000;
/// Commits published in one round of pipelines, at most.
const BATCH: usize = 256;

/// The publishing and presence half of a Redis broker.
pub(super) struct Bus<D: Deployment> {
    deployment: Arc<D>,
    instance: String,
    /// Each commit's events as (channel, payload), for [`publisher`].
    outbox: mpsc::Sender<(String, String)>,
    /// Local joins and leaves not yet shared, for [`super::redis_presence`].
    presence: Arc<Pending>,
    /// One connection for presence lookups, made on first use and remade
    /// after a failure.
    lookups: tokio::sync::Mutex<Option<D::Conn>>,
    counts: Arc<BusCounts>,
}

/// What went wrong so far, for metrics (see [`BrokerCounts`]); the
/// subscriber of either deployment counts its resubscribes here too.
#[derive(Default)]
pub(super) struct BusCounts {
    publish_failures: AtomicU64,
    resubscribes: AtomicU64,
}

impl BusCounts {
    pub(super) fn resubscribed(&self) {
        self.resubscribes.fetch_add(1, Ordering::Relaxed);
    }
}

impl<D: Deployment> Bus<D> {
    /// Starts publishing and sharing presence for `instance`.
    pub(super) fn new(deployment: Arc<D>, instance: &str) -> Bus<D> {
        let (outbox, queued) = mpsc::channel(OUTBOX);
        let counts = Arc::new(BusCounts::default());
        tokio::spawn(publisher(deployment.clone(), queued, counts.clone()));
        let presence = Arc::new(Pending::default());
        tokio::spawn(share_presence(
            deployment.clone(),
            instance.to_owned(),
            presence.clone(),
        ));
        Bus {
            deployment,
            instance: instance.to_owned(),
            outbox,
            presence,
            lookups: tokio::sync::Mutex::new(None),
            counts,
        }
    }

    /// Where the subscriber counts its resubscribes.
    pub(super) fn counts(&self) -> Arc<BusCounts> {
        self.counts.clone()
    }

    pub(super) fn totals(&self) -> BrokerCounts {
        BrokerCounts {
            publish_failures: self.counts.publish_failures.load(Ordering::Relaxed),
            resubscribes: self.counts.resubscribes.load(Ordering::Relaxed),
        }
    }

    pub(super) fn publish(&self, events: &[Event]) {
        let Some(first) = events.first() else { return };
        let channel = self.deployment.event_channel(first.restaurant_id);
        let payload = serde_json::to_string(events).unwrap_or_default();
        if self.outbox.try_send((channel, payload)).is_err() {
            tracing::warn!("too many events wait for Redis; other instances will read the log");
        }
    }

    /// Never dropped: merged with what waits for the same room and session.
    pub(super) fn share_presence(&self, note: PresenceNote) {
        self.presence.add(note);
    }

    /// Members of `room` on other instances whose liveness key still
    /// exists; none if Redis cannot say in time.
    pub(super) async fn remote_members(&self, room: Room) -> Vec<Member> {
        let mut cached = self.lookups.lock().await;
        let looked_up = tokio::time::timeout(PUBLISH_TIMEOUT, async {
            if cached.is_none() {
                *cached = Some(self.deployment.connect().await?);
            }
            let conn = cached.as_mut().expect("just connected");
            live_members(conn, &self.instance, room).await
        })
        .await;
        match looked_up {
            Ok(Ok(members)) => members,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "cannot look up presence on Redis");
                *cached = None;
                Vec::new()
            }
            Err(_) => {
                tracing::debug!("presence lookup on Redis timed out");
                *cached = None;
                Vec::new()
            }
        }
    }
}

impl<D: Deployment> Drop for Bus<D> {
    /// Stops sharing presence and refreshing liveness: a dropped hub's
    /// members stop counting once its liveness expires.
    fn drop(&mut self) {
        self.presence.close();
    }
}

async fn live_members<C: ConnectionLike + Send>(
    conn: &mut C,
    instance: &str,
    room: Room,
) -> RedisResult<Vec<Member>> {
    let entries: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(format!("{PRESENCE_KEY_PREFIX}{room}"))
        .query_async(conn)
        .await?;
    let mut alive = HashMap::<String, bool>::new();
    let mut members = Vec::new();
    for json in entries.values() {
        let Ok(entry) = serde_json::from_str::<Presence>(json) else {
            continue;
        };
        if entry.instance == instance {
            continue; // this instance's members are counted locally
        }
        let live = match alive.get(&entry.instance) {
            Some(live) => *live,
            None => {
                // One key per command: in a cluster, instances' keys live
                // in different slots.
                let live: bool = redis::cmd("EXISTS")
                    .arg(format!("{INSTANCE_KEY_PREFIX}{}", entry.instance))
                    .query_async(conn)
                    .await?;
                alive.insert(entry.instance.clone(), live);
                live
            }
        };
        if live {
            members.push(entry.member);
        }
    }
    Ok(members)
}

/// Publishes what commits queue in [`Bus::outbox`], in the order they were
/// queued: everything waiting goes out as pipelines, one round trip at a
/// time, so an instance publishes more than one commit per Redis round
/// trip (a PUBLISH per commit, each waiting for its reply under a lock,
/// could not). A failed or timed-out pipeline is dropped; other instances
/// read those events from the log.
async fn publisher<D: Deployment>(
    deployment: Arc<D>,
    mut queued: mpsc::Receiver<(String, String)>,
    counts: Arc<BusCounts>,
) {
    let mut conn: Option<D::Conn> = None;
    let mut batch = Vec::with_capacity(BATCH);
    while queued.recv_many(&mut batch, BATCH).await > 0 {
        let pipelines = deployment.publish_pipelines(std::mem::take(&mut batch));
        if conn.is_none() {
            match tokio::time::timeout(PUBLISH_TIMEOUT, deployment.connect()).await {
                Ok(Ok(c)) => conn = Some(c),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "publishing to Redis failed; other instances will read the log");
                    counts.publish_failures.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Err(_) => {
                    tracing::warn!(
                        "connecting to Redis timed out; other instances will read the log"
                    );
                    counts.publish_failures.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
        }
        let c = conn.as_ref().expect("just connected");
        let total = pipelines.len();
        let sent = futures::future::join_all(pipelines.into_iter().map(|pipe| {
            let mut c = c.clone();
            async move {
                match tokio::time::timeout(PUBLISH_TIMEOUT, pipe.query_async::<()>(&mut c)).await {
                    Ok(result) => result.map_err(|e| e.to_string()),
                    Err(_) => Err("timed out".to_owned()),
                }
            }
        }))
        .await;
        let failures: Vec<String> = sent.into_iter().filter_map(Result::err).collect();
        if let Some(failure) = failures.first() {
            counts
                .publish_failures
                .fetch_add(failures.len() as u64, Ordering::Relaxed);
            tracing::warn!(
                error = %failure,
                failed = failures.len(),
                "publishing to Redis failed; other instances will read the log"
            );
            // Remade only if nothing got through: in a cluster, one lost
            // master fails its shards' pipelines while the connection
            // still serves the others (and reconnects on its own).
            if failures.len() == total {
                conn = None;
            }
        }
    }
}

/// Events another instance published, for the handler.
pub(super) fn forward_events(handler: &dyn BrokerHandler, payload: &[u8]) {
    match serde_json::from_slice::<Vec<Event>>(payload) {
        Ok(events) => handler.on_events(events),
        Err(e) => tracing::warn!(error = %e, "malformed events on the event channel"),
    }
}

/// Another instance's join or leave, for this instance's watchers.
pub(super) fn forward_presence(instance: &str, handler: &dyn BrokerHandler, payload: &[u8]) {
    let Ok(entry) = serde_json::from_slice::<Presence>(payload) else {
        return;
    };
    if entry.instance == instance {
        return;
    }
    if let Ok(room) = entry.room.parse::<Room>() {
        handler.on_presence(room, &entry.member, entry.joined);
    }
}
