//! Presence: who is in a room, told to the sessions that watch it. Local
//! joins and leaves go to this instance's watchers and, through the broker,
//! to other instances; theirs arrive through the broker for ours.
//!
//! Presence frames go to watchers only (a join costs O(watchers), not
//! O(members)), are serialized once, and never wait on a client or on
//! another instance.

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use restohub_protocol::ws::{Member, Room};

use super::broker::PresenceNote;
use super::ordering::lock;
use super::session::SessionHandle;
use super::Node;

const JOINED: &str = "presence.joined";
const LEFT: &str = "presence.left";

impl Node {
    /// `session` has just joined `room`: tell who watches, here and elsewhere.
    pub(super) fn joined(&self, room: Room, session: &SessionHandle) {
        let watchers = self.registry.watchers(room, session.key);
        self.tell_watchers(JOINED, room, &session.member, &watchers);
        self.share(session, room, true);
    }

    /// `session` has just left `room`: tell who watches, here and elsewhere.
    pub(super) fn left(&self, room: Room, session: &SessionHandle) {
        let watchers = self.registry.watchers(room, session.key);
        self.tell_watchers(LEFT, room, &session.member, &watchers);
        self.share(session, room, false);
    }

    /// Tells other instances, without waiting.
    fn share(&self, session: &SessionHandle, room: Room, joined: bool) {
        self.broker.share_presence(PresenceNote {
            restaurant_id: session.restaurant_id,
            room,
            member: session.member.clone(),
            joined,
        });
    }

    /// The room's local members now; from now on `session` is told who
    /// joins and leaves it.
    pub fn watch(&self, room: Room, session: &Arc<SessionHandle>) -> Vec<Member> {
        let channel = self.channel(session.restaurant_id);
        let _order = lock(&channel);
        self.registry.watch(room, session);
        self.registry.members(room)
    }

    pub fn unwatch(&self, room: Room, session: &Arc<SessionHandle>) {
        self.registry.unwatch(room, session.key);
    }

    /// Members of `room` on other live instances.
    pub async fn remote_members(&self, room: Room) -> Vec<Member> {
        self.broker.remote_members(room).await
    }

    /// A join or leave on another instance: tell this instance's watchers.
    pub(super) fn remote_presence(&self, room: Room, member: &Member, joined: bool) {
        let kind = if joined { JOINED } else { LEFT };
        let watchers = self.registry.watchers(room, 0);
        self.tell_watchers(kind, room, member, &watchers);
    }

    /// One presence frame, serialized once, to each of `to`.
    fn tell_watchers(&self, kind: &str, room: Room, member: &Member, to: &[Arc<SessionHandle>]) {
        if to.is_empty() {
            return;
        }
        let frame = serde_json::json!({ "type": kind, "room": room.to_string(), "member": member });
        let frame = Utf8Bytes::from(frame.to_string());
        for session in to {
            session.push(frame.clone(), &self.stats);
        }
    }
}
