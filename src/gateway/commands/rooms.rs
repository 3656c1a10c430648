//! `subscribe`, `unsubscribe`, `presence` and `ping`: the session's own
//! rooms, checked by [`crate::app::rooms`].

use restohub_protocol::ws::{AckResult, Room};
use restohub_protocol::Timestamp;

use super::super::connection::Connection;
use crate::app::rooms;
use crate::error::ApiResult;

pub async fn subscribe(conn: &mut Connection, name: &str) -> ApiResult<AckResult> {
    let room = rooms::permitted(&conn.state, &conn.caller, name).await?;
    if conn.rooms.insert(room) {
        conn.node.join(room, &conn.session);
        if let Room::Dashboard(r) = room {
            // Queued: it follows the ack.
            conn.send_first_dashboard(r).await;
        }
    }
    Ok(AckResult::Subscribe {
        room: room.to_string(),
    })
}

pub fn unsubscribe(conn: &mut Connection, name: &str) -> ApiResult<AckResult> {
    let room = rooms::parse(name)?;
    if conn.rooms.remove(&room) {
        conn.node.leave(room, &conn.session);
    }
    Ok(AckResult::Unsubscribe {
        room: room.to_string(),
    })
}

/// Who is in the room now, on every instance; from now on the session is
/// told who joins and leaves it.
pub async fn presence(conn: &mut Connection, name: &str) -> ApiResult<AckResult> {
    let room = rooms::permitted(&conn.state, &conn.caller, name).await?;
    let mut members = conn.node.watch(room, &conn.session);
    members.extend(conn.node.remote_members(room).await);
    members.sort_by(|a, b| a.session_id.cmp(&b.session_id));
    conn.watching.insert(room);
    Ok(AckResult::Presence {
        room: room.to_string(),
        members,
    })
}

pub fn ping(conn: &Connection) -> AckResult {
    AckResult::Ping {
        server_time: Timestamp(conn.state.clock.now_ms()),
    }
}

impl Connection {
    /// Queues a dashboard snapshot for a session that just joined
    /// `dashboard:{r}`; if it cannot be read, the refresher sends one soon.
    pub(in crate::gateway) async fn send_first_dashboard(&self, r: i64) {
        match crate::app::dashboard::live(&self.state, &self.caller).await {
            Ok(Some(stats)) => self.gateway.send_dashboard(&self.session, stats),
            _ => self.gateway.dashboard_changed(r),
        }
    }
}
