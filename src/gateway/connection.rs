//! One WebSocket session's state while it runs: who it is, the rooms it is
//! in and watches, and its command rate limit. The session task
//! (`session.rs`) owns it; commands (`commands/`) read and change it.

use std::collections::HashSet;
use std::sync::Arc;

use governor::DefaultDirectRateLimiter;
use restohub_protocol::ws::Room;

use super::Gateway;
use crate::auth::Caller;
use crate::node::{Node, SessionHandle};
use crate::state::AppState;

pub(super) struct Connection {
    pub gateway: Gateway,
    pub node: Node,
    pub state: AppState,
    pub session: Arc<SessionHandle>,
    pub caller: Caller,
    pub rooms: HashSet<Room>,
    /// Rooms whose presence changes this session is told about.
    pub watching: HashSet<Room>,
    pub limiter: DefaultDirectRateLimiter,
    /// Commands refused by the rate limit since the last accepted one.
    pub limited_in_a_row: u32,
}
