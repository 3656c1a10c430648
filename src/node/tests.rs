//! The node against an in-memory event log: ordered delivery, gap filling,
//! and no log read on the publish path.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use restohub_protocol::ws::{Member, Room};
use restohub_protocol::Role;

use super::broker::{Broker, LocalBroker};
use super::log::EventLog;
use super::{Node, SessionHandle};
use crate::events::Event;

/// A log of one restaurant's events that counts how often it is read.
struct MemoryLog {
    events: Mutex<Vec<Event>>,
    reads: AtomicUsize,
}

impl MemoryLog {
    fn last(&self) -> u64 {
        self.events.lock().unwrap().last().map_or(0, |e| e.seq)
    }

    fn commit(&self, seq: u64) {
        self.events.lock().unwrap().push(event(seq));
    }
}

#[async_trait::async_trait]
impl EventLog for MemoryLog {
    async fn current_seq(&self, _: i64) -> anyhow::Result<u64> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        Ok(self.last())
    }

    async fn current_seqs(&self, restaurants: &[i64]) -> anyhow::Result<Vec<(i64, u64)>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        Ok(restaurants.iter().map(|r| (*r, self.last())).collect())
    }

    async fn events_between(
        &self,
        _: i64,
        after: u64,
        up_to: u64,
        _: i64,
    ) -> anyhow::Result<Vec<Event>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let range = after + 1..=up_to;
        Ok(self
            .events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| range.contains(&e.seq))
            .cloned()
            .collect())
    }
}

const R: i64 = 1;

fn event(seq: u64) -> Event {
    Event {
        restaurant_id: R,
        seq,
        kind: "test.event".into(),
        at: 0,
        rooms: vec![Room::Restaurant(R)],
        data: serde_json::value::to_raw_value(&()).unwrap(),
    }
}

fn node(logged: u64) -> (Node, Arc<MemoryLog>) {
    let log = Arc::new(MemoryLog {
        events: Mutex::new((1..=logged).map(event).collect()),
        reads: AtomicUsize::new(0),
    });
    let broker = |_: &str| -> Arc<dyn Broker> { Arc::new(LocalBroker) };
    let metrics = Arc::new(crate::instruments::Metrics::new(Arc::new(
        crate::clock::SystemClock,
    )));
    (Node::new(16, log.clone(), broker, metrics), log)
}

fn member() -> Member {
    Member {
        session_id: String::new(),
        role: Role::Waiter,
        user_id: Some(1),
        name: None,
        table_id: None,
    }
}

/// (prev, seq) of every frame waiting in `rx`.
fn received(session: &SessionHandle) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for frame in session.take() {
        let frame: serde_json::Value = serde_json::from_str(frame.as_str()).unwrap();
        out.push((
            frame["prev"].as_u64().unwrap(),
            frame["seq"].as_u64().unwrap(),
        ));
    }
    out
}

#[tokio::test]
async fn publishing_never_reads_the_log() {
    let (node, log) = node(7);
    node.publish(vec![event(6), event(7)]);
    node.publish(vec![event(8)]);
    assert_eq!(node.last_seq(R), 8);
    // The channel's position came from the published events: opening it for
    // a session reads nothing either.
    node.open_channel(R).await.unwrap();
    assert_eq!(log.reads.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn events_wait_behind_a_missing_one_and_go_out_in_order() {
    let (node, log) = node(0);
    node.open_channel(R).await.unwrap();
    let session = node.register(R, member(), None);
    assert_eq!(node.join_all(&session, &[Room::Restaurant(R)], None), 0);
    node.publish(vec![event(2)]);
    assert_eq!(received(&session), []);
    node.publish(vec![event(1)]);
    node.publish(vec![event(2)]);
    assert_eq!(received(&session), [(0, 1), (1, 2)]);
    assert_eq!(log.reads.load(Ordering::Relaxed), 1, "only the open read");
}

#[tokio::test]
async fn a_gap_is_filled_from_the_log() {
    let (node, log) = node(0);
    node.open_channel(R).await.unwrap();
    let session = node.register(R, member(), None);
    node.join_all(&session, &[Room::Restaurant(R)], None);
    // 1 and 2 are committed but never published (say, a cancelled request).
    (1..=3).for_each(|seq| log.commit(seq));
    node.publish(vec![event(3)]);
    assert_eq!(received(&session), []);
    node.catch_up(R, log.last()).await.unwrap();
    assert_eq!(received(&session), [(0, 1), (1, 2), (2, 3)]);
    // Published again (a broker's echo), nothing is sent twice.
    node.publish(vec![event(2), event(3)]);
    assert_eq!(received(&session), []);
}
