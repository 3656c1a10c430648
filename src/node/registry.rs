//! The room registry: which local sessions are in which room, and who
//! watches a room's presence. Delivery to a room walks only that room's
//! members.
//!
//! A pure map: it never sends a frame, takes a restaurant's delivery lock or
//! talks to other instances; the node does that around it.

use std::collections::HashMap;
use std::sync::Arc;

use dashmap::DashMap;
use restohub_protocol::ws::{Member, Room};

use super::session::SessionHandle;

type Members = DashMap<Room, HashMap<u64, Arc<SessionHandle>>>;

#[derive(Default)]
pub(crate) struct Registry {
    rooms: Members,
    /// Sessions that asked to be told who joins and leaves a room. Presence
    /// changes go to these only, so a join costs O(watchers), not O(members).
    watchers: Members,
}

fn insert(map: &Members, room: Room, session: &Arc<SessionHandle>) -> bool {
    map.entry(room)
        .or_default()
        .insert(session.key, session.clone())
        .is_none()
}

fn remove(map: &Members, room: Room, key: u64) -> bool {
    let Some(mut members) = map.get_mut(&room) else {
        return false;
    };
    let removed = members.remove(&key).is_some();
    let empty = members.is_empty();
    drop(members);
    if empty {
        map.remove_if(&room, |_, m| m.is_empty());
    }
    removed
}

impl Registry {
    /// Adds the session; true if it was not in yet.
    pub fn join(&self, room: Room, session: &Arc<SessionHandle>) -> bool {
        insert(&self.rooms, room, session)
    }

    /// Removes the session; true if it was in.
    pub fn leave(&self, room: Room, key: u64) -> bool {
        remove(&self.rooms, room, key)
    }

    pub fn watch(&self, room: Room, session: &Arc<SessionHandle>) {
        insert(&self.watchers, room, session);
    }

    pub fn unwatch(&self, room: Room, key: u64) {
        remove(&self.watchers, room, key);
    }

    /// Who watches the room's presence, but `except`.
    pub fn watchers(&self, room: Room, except: u64) -> Vec<Arc<SessionHandle>> {
        self.watchers
            .get(&room)
            .map(|w| w.values().filter(|s| s.key != except).cloned().collect())
            .unwrap_or_default()
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

    /// The room's local sessions.
    pub fn sessions(&self, room: Room) -> Vec<Arc<SessionHandle>> {
        self.rooms
            .get(&room)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn has_members(&self, room: Room) -> bool {
        self.rooms.contains_key(&room)
    }

    /// Every room with a local member that `keep` selects.
    pub fn rooms_where(&self, keep: impl Fn(&Room) -> bool) -> Vec<Room> {
        self.rooms.iter().map(|e| *e.key()).filter(keep).collect()
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
