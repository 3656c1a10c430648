//! The broker: how committed events and presence changes travel between
//! instances. It is only the fast path for events: every instance also polls
//! the event log (see `poller`), so a lost message or a dead publisher makes
//! delivery late, never incomplete.
//!
//! A broker hands what it receives from other instances to a
//! [`BrokerHandler`]; it never knows the node, sessions or rooms' members,
//! and never reads the database.

use restohub_protocol::ws::{Member, Room};

use crate::events::Event;

/// Whether cross-instance delivery works right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerHealth {
    /// A single instance: nothing to connect to.
    Local,
    Up,
    Down(String),
}

/// A join or leave in a room, as shared between instances.
#[derive(Debug, Clone)]
pub struct PresenceNote {
    pub restaurant_id: i64,
    pub room: Room,
    pub member: Member,
    pub joined: bool,
}

#[async_trait::async_trait]
pub trait Broker: Send + Sync {
    /// Starts receiving from other instances; what arrives goes to `handler`.
    fn start(&self, handler: std::sync::Arc<dyn BrokerHandler>);
    /// Hands committed events to the other instances without making the
    /// caller wait: a failure is logged and left to the log poller.
    fn publish(&self, events: &[Event]);
    /// Shares a local join or leave, without waiting.
    fn share_presence(&self, note: PresenceNote);
    /// Members of `room` on other live instances.
    async fn remote_members(&self, room: Room) -> Vec<Member>;
    fn health(&self) -> BrokerHealth;
    /// What went wrong so far, for metrics (a local broker: nothing).
    fn counts(&self) -> BrokerCounts {
        BrokerCounts::default()
    }
}

/// A broker's running totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BrokerCounts {
    /// Batches of events that could not be published.
    pub publish_failures: u64,
    /// Times the subscription was lost and made again.
    pub resubscribes: u64,
}

/// Where a broker hands what other instances sent.
pub trait BrokerHandler: Send + Sync {
    /// Events committed on another instance (or this one, echoed back).
    fn on_events(&self, events: Vec<Event>);
    /// A join or leave on another instance.
    fn on_presence(&self, room: Room, member: &Member, joined: bool);
}

/// The broker of a single instance: there is no one else to tell.
pub struct LocalBroker;

#[async_trait::async_trait]
impl Broker for LocalBroker {
    fn start(&self, _: std::sync::Arc<dyn BrokerHandler>) {}
    fn publish(&self, _: &[Event]) {}
    fn share_presence(&self, _: PresenceNote) {}
    async fn remote_members(&self, _: Room) -> Vec<Member> {
        Vec::new()
    }
    fn health(&self) -> BrokerHealth {
        BrokerHealth::Local
    }
}
