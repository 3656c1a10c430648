//! What every Redis broker and its presence sharing agree on: the keys,
//! the liveness timings, how a deployment is reached, and a member as other
//! instances see it. Shared by the bus (`redis_bus`) and presence sharing
//! (`redis_presence`) so neither imports the other's vocabulary.

use std::future::Future;
use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::RedisResult;
use restohub_protocol::ws::Member;
use serde::{Deserialize, Serialize};

pub(super) const PRESENCE_KEY_PREFIX: &str = "restohub:members:";
pub(super) const INSTANCE_KEY_PREFIX: &str = "restohub:instance:";
/// An instance refreshes its liveness this often; members of an instance
/// not heard from for `INSTANCE_TTL` no longer count as present.
pub(super) const INSTANCE_BEAT: Duration = Duration::from_secs(2);
pub(super) const INSTANCE_TTL: Duration = Duration::from_secs(6);
pub(super) const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);
/// How one kind of Redis deployment is reached and which channels carry
/// what.
pub(super) trait Deployment: Send + Sync + 'static {
    type Conn: ConnectionLike + Clone + Send + Sync + 'static;
    fn connect(&self) -> impl Future<Output = RedisResult<Self::Conn>> + Send;
    /// The channel a restaurant's events are published on.
    fn event_channel(&self, restaurant_id: i64) -> String;
    /// The command that tells other instances of a presence change.
    fn presence_message(&self, restaurant_id: i64, json: &str) -> redis::Cmd;
    /// Queued commits' (channel, payload) as pipelines that may run at
    /// once; each keeps the order of the commits it carries.
    fn publish_pipelines(&self, batch: Vec<(String, String)>) -> Vec<redis::Pipeline>;
}

/// A member as other instances see it.
#[derive(Serialize, Deserialize)]
pub(super) struct Presence {
    pub(super) instance: String,
    pub(super) room: String,
    pub(super) member: Member,
    pub(super) joined: bool,
}
