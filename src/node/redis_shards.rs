//! Receiving the cluster's shard channels: one subscriber connection per
//! master, subscribed to the shards whose slots that master owns.
//!
//! The redis crate's cluster connection can SSUBSCRIBE, but it resubscribes
//! only when some later command fails, and cannot say which shards it is
//! receiving; health must say exactly that, and a master that comes back
//! must be resubscribed without waiting for traffic. So the owners are
//! looked up here (CLUSTER SLOTS) and each master gets its own RESP3
//! connection, pinged every second; a lost connection, a moved slot or an
//! unanswered ping hands its shards back to be looked up and subscribed
//! again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::{ConnectionAddr, ConnectionInfo, PushKind, RedisResult, Value};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::broker::{BrokerHandler, BrokerHealth};
use super::redis_bus::{forward_events, forward_presence};

/// Shard channels per kind. Every instance must use the same number (it is
/// part of the wire format between instances); 16 spread over 3 masters as
/// 6/6/4, and over more masters as they are added.
pub const SHARDS: u16 = 16;

/// The shard a restaurant's events and presence travel on.
pub fn shard_of(restaurant_id: i64) -> u16 {
    restaurant_id.rem_euclid(i64::from(SHARDS)) as u16
}

pub fn event_channel(shard: u16) -> String {
    format!("restohub:events:{{{shard}}}")
}

pub fn presence_channel(shard: u16) -> String {
    format!("restohub:presence:{{{shard}}}")
}

/// The cluster slot of shard `shard`'s channels (CRC16 of the hash tag, as
/// Redis computes it).
pub fn slot_of(shard: u16) -> u16 {
    crc16::State::<crc16::XMODEM>::calculate(shard.to_string().as_bytes()) % 16384
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How often a subscriber checks that its master still answers: a master
/// that hangs without closing the socket is noticed within about this.
const PING_EVERY: Duration = Duration::from_secs(1);
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(1);

/// Which shards this instance is receiving, and why not the others.
#[derive(Default)]
pub(super) struct Shards {
    subscribed: [AtomicBool; SHARDS as usize],
    /// Shards received at some time, so a later subscription counts as a
    /// resubscribe (for metrics).
    ever: [AtomicBool; SHARDS as usize],
    resubscribes: AtomicU64,
    last_failure: Mutex<Option<String>>,
}

impl Shards {
    pub(super) fn health(&self) -> BrokerHealth {
        let up = self
            .subscribed
            .iter()
            .filter(|s| s.load(Ordering::Acquire))
            .count();
        if up == SHARDS as usize {
            return BrokerHealth::Up;
        }
        let why = self
            .last_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| "connecting".into());
        BrokerHealth::Down(format!(
            "subscribed to {up} of {SHARDS} shard channels on the Redis Cluster: {why}"
        ))
    }

    fn mark(&self, shards: &[u16], up: bool) {
        let mut again = false;
        for &shard in shards {
            self.subscribed[shard as usize].store(up, Ordering::Release);
            if up {
                again |= self.ever[shard as usize].swap(true, Ordering::Relaxed);
            }
        }
        if again {
            self.resubscribes.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Subscriptions to a master made again after shards were lost.
    pub(super) fn resubscribes(&self) -> u64 {
        self.resubscribes.load(Ordering::Relaxed)
    }

    fn failed(&self, why: String) {
        *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
    }
}

/// A master's address, as the seeds' settings (password, TLS) with its
/// own host and port.
type Master = (String, u16);

/// Keeps every shard subscribed on its master, for as long as the process
/// runs.
pub(super) async fn subscribe_all(
    seeds: Vec<ConnectionInfo>,
    instance: String,
    handler: Arc<dyn BrokerHandler>,
    shards: Arc<Shards>,
) {
    let Some(template) = seeds.first().cloned() else {
        shards.failed("no cluster nodes configured".into());
        return;
    };
    let mut supervisor = Supervisor {
        template,
        known: seeds,
        pending: (0..SHARDS).collect(),
        running: JoinSet::new(),
        assigned: HashMap::new(),
        instance,
        handler,
        shards,
        retry: FIRST_RETRY,
    };
    loop {
        supervisor.subscribe_pending().await;
        supervisor.wait().await;
    }
}

/// The subscribers, one per master, and the shards none is receiving.
struct Supervisor {
    /// Settings (user, password, TLS) for every node.
    template: ConnectionInfo,
    /// Where to ask for the slot owners: the seeds, then every master seen.
    known: Vec<ConnectionInfo>,
    pending: BTreeSet<u16>,
    running: JoinSet<Ended>,
    /// Each subscriber's shards, to take back even if it panicked.
    assigned: HashMap<tokio::task::Id, Vec<u16>>,
    instance: String,
    handler: Arc<dyn BrokerHandler>,
    shards: Arc<Shards>,
    retry: Duration,
}

impl Supervisor {
    /// Looks up the owners of the pending shards and starts a subscriber
    /// on each of those masters.
    async fn subscribe_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let owners = match owners(&self.known).await {
            Ok(owners) => owners,
            Err(e) => {
                self.shards
                    .failed(format!("cannot read the cluster's slots: {e}"));
                return;
            }
        };
        let mut by_master: BTreeMap<Master, Vec<u16>> = BTreeMap::new();
        for &shard in &self.pending {
            match owners.get(&slot_of(shard)) {
                Some(master) => by_master.entry(master.clone()).or_default().push(shard),
                None => self
                    .shards
                    .failed(format!("no master serves shard {shard}")),
            }
        }
        for (master, list) in by_master {
            self.pending.retain(|s| !list.contains(s));
            let info = at(&self.template, &master);
            if !self.known.iter().any(|k| k.addr == info.addr) {
                self.known.push(info.clone());
            }
            let task = self.running.spawn(receive(
                info,
                list.clone(),
                self.instance.clone(),
                self.handler.clone(),
                self.shards.clone(),
            ));
            self.assigned.insert(task.id(), list);
        }
    }

    /// Until a subscriber ends (its shards become pending again) or, while
    /// shards are pending, until it is time to try them again.
    async fn wait(&mut self) {
        let ended = if self.running.is_empty() || !self.pending.is_empty() {
            tokio::select! {
                ended = self.running.join_next_with_id(), if !self.running.is_empty() => ended,
                _ = tokio::time::sleep(self.retry) => {
                    self.retry = (self.retry * 2).min(LAST_RETRY);
                    return;
                }
            }
        } else {
            self.running.join_next_with_id().await
        };
        let (id, ended) = match ended {
            None => return,
            Some(Ok((id, ended))) => (id, ended),
            Some(Err(e)) => {
                tracing::error!(error = %e, "a Redis Cluster subscriber failed");
                let why = format!("a subscriber failed: {e}");
                let ended = Ended {
                    was_subscribed: false,
                    why,
                };
                (e.id(), ended)
            }
        };
        let lost = self.assigned.remove(&id).unwrap_or_default();
        self.shards.mark(&lost, false);
        self.pending.extend(lost);
        self.shards.failed(ended.why);
        self.retry = if ended.was_subscribed {
            FIRST_RETRY
        } else {
            (self.retry * 2).min(LAST_RETRY)
        };
        tokio::time::sleep(self.retry).await;
    }
}

/// The seed's settings pointed at `master`.
fn at(template: &ConnectionInfo, (host, port): &Master) -> ConnectionInfo {
    let mut info = template.clone();
    info.addr = match &template.addr {
        ConnectionAddr::TcpTls {
            insecure,
            tls_params,
            ..
        } => ConnectionAddr::TcpTls {
            host: host.clone(),
            port: *port,
            insecure: *insecure,
            tls_params: tls_params.clone(),
        },
        _ => ConnectionAddr::Tcp(host.clone(), *port),
    };
    info
}

/// Slot → master, from the first node in `known` that answers.
async fn owners(known: &[ConnectionInfo]) -> Result<BTreeMap<u16, Master>, String> {
    let mut last = "no node answered".to_owned();
    for info in known {
        match tokio::time::timeout(CONNECT_TIMEOUT, cluster_slots(info)).await {
            Ok(Ok(slots)) => return Ok(slots),
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = "timed out".into(),
        }
    }
    Err(last)
}

async fn cluster_slots(info: &ConnectionInfo) -> RedisResult<BTreeMap<u16, Master>> {
    let client = redis::Client::open(info.clone())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let reply: Value = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(&mut conn)
        .await?;
    let asked = match &info.addr {
        ConnectionAddr::Tcp(host, _) | ConnectionAddr::TcpTls { host, .. } => host.clone(),
        ConnectionAddr::Unix(_) => String::new(),
    };
    parse_slots(&reply, &asked).ok_or_else(|| {
        redis::RedisError::from((
            redis::ErrorKind::ResponseError,
            "unexpected CLUSTER SLOTS reply",
        ))
    })
}

/// Reads CLUSTER SLOTS: `[[start, end, [host, port, id, ...], replicas...], ...]`.
/// An empty host means "the node you asked" (Redis 7 without a known
/// endpoint).
fn parse_slots(reply: &Value, asked_host: &str) -> Option<BTreeMap<u16, Master>> {
    let Value::Array(ranges) = reply else {
        return None;
    };
    let mut owners = BTreeMap::new();
    for range in ranges {
        let Value::Array(parts) = range else {
            return None;
        };
        let (Some(Value::Int(start)), Some(Value::Int(end)), Some(Value::Array(master))) =
            (parts.first(), parts.get(1), parts.get(2))
        else {
            return None;
        };
        let host = match master.first()? {
            Value::BulkString(b) => String::from_utf8(b.clone()).ok()?,
            Value::SimpleString(s) | Value::VerbatimString { text: s, .. } => s.clone(),
            _ => return None,
        };
        let host = if host.is_empty() || host == "?" {
            asked_host.to_owned()
        } else {
            host
        };
        let Some(Value::Int(port)) = master.get(1) else {
            return None;
        };
        let port = u16::try_from(*port).ok()?;
        for slot in *start..=*end {
            owners.insert(u16::try_from(slot).ok()?, (host.clone(), port));
        }
    }
    Some(owners)
}

/// Why a subscriber stopped.
struct Ended {
    was_subscribed: bool,
    why: String,
}

/// Subscribes `shards` on one master and hands what arrives to `handler`
/// until the connection is lost, the master stops answering pings or a
/// slot moves away.
async fn receive(
    mut info: ConnectionInfo,
    shards: Vec<u16>,
    instance: String,
    handler: Arc<dyn BrokerHandler>,
    state: Arc<Shards>,
) -> Ended {
    let address = info.addr.to_string();
    info.redis.protocol = redis::ProtocolVersion::RESP3;
    let (pushes, mut received) = mpsc::unbounded_channel();
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(CONNECT_TIMEOUT)
        .set_response_timeout(CONNECT_TIMEOUT)
        .set_push_sender(pushes);
    let subscribed = async {
        let client = redis::Client::open(info)?;
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        for &shard in &shards {
            // One command per shard: a shard's two channels share a slot,
            // different shards may not.
            redis::cmd("SSUBSCRIBE")
                .arg(event_channel(shard))
                .arg(presence_channel(shard))
                .exec_async(&mut conn)
                .await?;
        }
        RedisResult::Ok(conn)
    };
    let mut conn = match subscribed.await {
        Ok(conn) => conn,
        Err(e) => {
            return Ended {
                was_subscribed: false,
                why: format!("cannot subscribe on {address}: {e}"),
            }
        }
    };
    state.mark(&shards, true);
    tracing::info!(master = %address, shards = ?shards, "subscribed to shard channels on the Redis Cluster");
    let mut ping = tokio::time::interval(PING_EVERY);
    let why = loop {
        tokio::select! {
            push = received.recv() => {
                let Some(push) = push else { break "connection closed".to_owned() };
                match push.kind {
                    PushKind::SMessage => dispatch(&instance, handler.as_ref(), &push.data),
                    PushKind::Disconnection => break "connection lost".to_owned(),
                    // The server drops a shard channel's subscribers when
                    // its slot moves to another master.
                    PushKind::SUnsubscribe => break "a slot moved".to_owned(),
                    _ => {}
                }
            }
            _ = ping.tick() => {
                let answered = redis::cmd("PING").query_async::<Value>(&mut conn).await;
                if let Err(e) = answered {
                    break format!("no answer to PING: {e}");
                }
            }
        }
    };
    state.mark(&shards, false);
    tracing::warn!(master = %address, error = %why, "lost shard channels on the Redis Cluster; their events come from the event log until resubscribed");
    Ended {
        was_subscribed: true,
        why: format!("{address}: {why}"),
    }
}

/// An `smessage` push: `[channel, payload]`.
fn dispatch(instance: &str, handler: &dyn BrokerHandler, data: &[Value]) {
    let (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) =
        (data.first(), data.get(1))
    else {
        tracing::warn!("unreadable message on a shard channel");
        return;
    };
    if channel.starts_with(b"restohub:presence:") {
        forward_presence(instance, handler, payload);
    } else {
        forward_events(handler, payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn slot_owners_are_read_from_cluster_slots() {
        let reply = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(2),
                Value::Array(vec![bulk("10.0.0.1"), Value::Int(7000), bulk("id1")]),
            ]),
            Value::Array(vec![
                Value::Int(3),
                Value::Int(3),
                Value::Array(vec![bulk(""), Value::Int(7001), bulk("id2")]),
            ]),
        ]);
        let owners = parse_slots(&reply, "seed.internal").unwrap();
        assert_eq!(owners[&2], ("10.0.0.1".to_owned(), 7000));
        assert_eq!(owners[&3], ("seed.internal".to_owned(), 7001));
        assert_eq!(owners.len(), 4);
        assert!(parse_slots(&bulk("nonsense"), "x").is_none());
    }
}
