//! One WebSocket session's state while it runs: who it is, the rooms it is
//! in and watches, and its command rate limit. The session task
//! (`session.rs`) owns it; commands (`commands/`) read and change it.

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
    pub rooms: Rooms,
    /// Rooms whose presence changes this session is told about.
    pub watching: Rooms,
    pub limiter: DefaultDirectRateLimiter,
    /// Commands refused by the rate limit since the last accepted one.
    pub limited_in_a_row: u32,
}

/// A session's rooms, each once. A session is in a handful, so a vector: a
/// hash set's table cost every idle session about 200 bytes.
#[derive(Debug, Default)]
pub(super) struct Rooms(Vec<Room>);

impl Rooms {
    /// Adds `room`; false if it was there already.
    pub fn insert(&mut self, room: Room) -> bool {
        if self.0.contains(&room) {
            return false;
        }
        self.0.push(room);
        true
    }

    /// Takes `room` out; false if it was not there.
    pub fn remove(&mut self, room: &Room) -> bool {
        let before = self.0.len();
        self.0.retain(|r| r != room);
        self.0.len() != before
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Room> {
        self.0.iter()
    }
}

impl FromIterator<Room> for Rooms {
    fn from_iter<I: IntoIterator<Item = Room>>(rooms: I) -> Rooms {
        let mut set = Rooms::default();
        for room in rooms {
            set.insert(room);
        }
        set.0.shrink_to_fit();
        set
    }
}

impl IntoIterator for Rooms {
    type Item = Room;
    type IntoIter = std::vec::IntoIter<Room>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Rooms {
    type Item = &'a Room;
    type IntoIter = std::slice::Iter<'a, Room>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
