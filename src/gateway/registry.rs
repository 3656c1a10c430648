//! The room registry: which local sessions are in which room. Delivery to a
//! room walks only that room's members.

use std::collections::HashMap;
use std::sync::Arc;

use dashmap::DashMap;
use restohub_protocol::ws::{Member, Room};

use super::SessionHandle;

#[derive(Default)]
pub(crate) struct Registry {
    rooms: DashMap<Room, HashMap<u64, Arc<SessionHandle>>>,
}

impl Registry {
    /// Adds the session; returns the other members if it was not in yet.
    pub fn join(
        &self,
        room: Room,
        session: &Arc<SessionHandle>,
    ) -> Option<Vec<Arc<SessionHandle>>> {
        let mut members = self.rooms.entry(room).or_default();
        if members.contains_key(&session.key) {
            return None;
        }
        let others = members.values().cloned().collect();
        members.insert(session.key, session.clone());
        Some(others)
    }

    /// Removes the session; returns the remaining members if it was in.
    pub fn leave(&self, room: Room, key: u64) -> Option<Vec<Arc<SessionHandle>>> {
        let mut members = self.rooms.get_mut(&room)?;
        members.remove(&key)?;
        let others: Vec<_> = members.values().cloned().collect();
        let empty = members.is_empty();
        drop(members);
        if empty {
            self.rooms.remove_if(&room, |_, m| m.is_empty());
        }
        Some(others)
    }

    pub fn members(&self, room: Room) -> Vec<Member> {
        let mut members: Vec<Member> = self
            .rooms
            .get(&room)
            .map(|m| m.values().map(|s| s.member.clone()).collect())
            .unwrap_or_default();
        members.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        members
    }

    /// Calls `f` once per session in any of `rooms`.
    pub fn for_each_recipient(&self, rooms: &[Room], mut f: impl FnMut(&Arc<SessionHandle>)) {
        if let [room] = rooms {
            if let Some(members) = self.rooms.get(room) {
                members.values().for_each(f);
            }
            return;
        }
        let mut unique: HashMap<u64, Arc<SessionHandle>> = HashMap::new();
        for room in rooms {
            if let Some(members) = self.rooms.get(room) {
                for (key, session) in members.iter() {
                    unique.entry(*key).or_insert_with(|| session.clone());
                }
            }
        }
        unique.values().for_each(&mut f);
    }
}
