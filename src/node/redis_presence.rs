//! Sharing this instance's presence on Redis: each join or leave becomes the
//! room's hash entry and a message to other instances' watchers, and a
//! liveness key says the instance's entries still count.
//!
//! Joins and leaves waiting to be shared are kept one per room and session,
//! never dropped: a session's leave cancels its join if that was never
//! shared. What waits is then bounded by the sessions and rooms the instance
//! has, however fast they come. (A bounded queue that dropped notes when
//! full lost 3,000 to 29,000 joins per instance in a reconnect storm, so
//! other instances' presence lists missed those screens for good.) They are
//! written in rounds, many commands in flight at once on the multiplexed
//! connection; what a round fails to write waits for the next one.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use redis::RedisResult;
use restohub_protocol::ws::Room;
use tokio::sync::Notify;

use super::broker::PresenceNote;
use super::redis_wire::{
    Deployment, Presence, INSTANCE_BEAT, INSTANCE_KEY_PREFIX, INSTANCE_TTL, PRESENCE_KEY_PREFIX,
    PUBLISH_TIMEOUT,
};

/// Notes written at once in a round.
const ROUND: usize = 512;

/// Joins and leaves not yet shared, one per (room, session id).
#[derive(Default)]
pub(super) struct Pending {
    notes: Mutex<HashMap<(Room, String), Waiting>>,
    wake: Notify,
    closed: AtomicBool,
}

struct Waiting {
    note: PresenceNote,
    /// A round tried to write it and failed: it may be in Redis in part,
    /// so an opposite note replaces it rather than cancelling it.
    tried: bool,
}

impl Pending {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Room, String), Waiting>> {
        self.notes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A join or leave to share; the latest per room and session wins.
    pub(super) fn add(&self, note: PresenceNote) {
        let key = (note.room, note.member.session_id.clone());
        let mut notes = self.lock();
        match notes.entry(key) {
            // Joined and left (or left and joined again) before anyone
            // was told: other instances' view is already right.
            Entry::Occupied(e) if !e.get().tried && e.get().note.joined != note.joined => {
                e.remove();
            }
            Entry::Occupied(mut e) => *e.get_mut() = Waiting { note, tried: false },
            Entry::Vacant(e) => {
                e.insert(Waiting { note, tried: false });
            }
        }
        drop(notes);
        self.wake.notify_one();
    }

    /// Everything waiting, in no particular order.
    fn take(&self) -> Vec<PresenceNote> {
        std::mem::take(&mut *self.lock())
            .into_values()
            .map(|w| w.note)
            .collect()
    }

    /// Notes a round could not write, unless a newer one came meanwhile.
    fn retry(&self, failed: impl IntoIterator<Item = PresenceNote>) {
        let mut notes = self.lock();
        for note in failed {
            let key = (note.room, note.member.session_id.clone());
            notes.entry(key).or_insert(Waiting { note, tried: true });
        }
    }

    /// Notes waiting now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    /// Stops the sharing task (its hub is gone).
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}

/// Writes this instance's joins and leaves to Redis and keeps its liveness
/// key fresh, until `pending` is closed.
pub(super) async fn share_presence<D: Deployment>(
    deployment: Arc<D>,
    instance: String,
    pending: Arc<Pending>,
) {
    let mut conn: Option<D::Conn> = None;
    let mut beat = tokio::time::interval(INSTANCE_BEAT);
    loop {
        let beating = tokio::select! {
            _ = pending.wake.notified() => false,
            _ = beat.tick() => true,
        };
        if pending.closed.load(Ordering::Acquire) {
            return;
        }
        if conn.is_none() {
            conn = tokio::time::timeout(PUBLISH_TIMEOUT, deployment.connect())
                .await
                .ok()
                .and_then(Result::ok);
        }
        // Without a connection the notes wait for the next beat.
        let Some(c) = conn.as_mut() else { continue };
        let written = async {
            if beating {
                refresh_liveness(c, &instance).await?;
            }
            share_round(deployment.as_ref(), c, &instance, &pending).await
        };
        if let Err(e) = written.await {
            tracing::debug!(error = %e, "cannot share presence on Redis");
            conn = None;
        }
    }
}

async fn refresh_liveness<C: redis::aio::ConnectionLike + Send>(
    conn: &mut C,
    instance: &str,
) -> Result<(), String> {
    let mut set = redis::cmd("SET");
    set.arg(format!("{INSTANCE_KEY_PREFIX}{instance}"))
        .arg(1)
        .arg("PX")
        .arg(INSTANCE_TTL.as_millis() as u64);
    match tokio::time::timeout(PUBLISH_TIMEOUT, set.query_async::<()>(conn)).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("timed out".to_owned()),
    }
}

/// Writes what waits, [`ROUND`] notes in flight at once; on a failure the
/// notes not written go back to wait.
async fn share_round<D: Deployment>(
    deployment: &D,
    conn: &D::Conn,
    instance: &str,
    pending: &Pending,
) -> Result<(), String> {
    let mut notes = pending.take();
    while !notes.is_empty() {
        let round: Vec<PresenceNote> = notes.drain(..notes.len().min(ROUND)).collect();
        let written = futures::future::join_all(round.iter().map(|note| {
            let mut c = conn.clone();
            async move {
                let write = record_presence(deployment, &mut c, instance, note);
                match tokio::time::timeout(PUBLISH_TIMEOUT, write).await {
                    Ok(r) => r.map_err(|e| e.to_string()),
                    Err(_) => Err("timed out".to_owned()),
                }
            }
        }))
        .await;
        let mut failure = None;
        let failed: Vec<PresenceNote> = round
            .into_iter()
            .zip(written)
            .filter_map(|(note, r)| r.err().map(|e| failure = Some(e)).map(|()| note))
            .collect();
        if let Some(failure) = failure {
            pending.retry(failed.into_iter().chain(notes));
            return Err(failure);
        }
    }
    Ok(())
}

/// The room's hash entry, then the message: two commands, since in a
/// cluster the key and the channel live in different slots.
async fn record_presence<D: Deployment>(
    deployment: &D,
    conn: &mut D::Conn,
    instance: &str,
    note: &PresenceNote,
) -> RedisResult<()> {
    let room = note.room.to_string();
    let entry = Presence {
        instance: instance.to_owned(),
        room: room.clone(),
        member: note.member.clone(),
        joined: note.joined,
    };
    let json = serde_json::to_string(&entry).unwrap_or_default();
    let key = format!("{PRESENCE_KEY_PREFIX}{room}");
    let mut update = if note.joined {
        redis::cmd("HSET")
    } else {
        redis::cmd("HDEL")
    };
    update.arg(&key).arg(&entry.member.session_id);
    if note.joined {
        update.arg(&json);
    }
    update.query_async::<()>(conn).await?;
    deployment
        .presence_message(note.restaurant_id, &json)
        .query_async::<()>(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use restohub_protocol::ws::Member;
    use restohub_protocol::Role;

    fn note(session: &str, room: Room, joined: bool) -> PresenceNote {
        PresenceNote {
            restaurant_id: 1,
            room,
            member: Member {
                session_id: session.into(),
                role: Role::Chef,
                user_id: Some(1),
                name: None,
                table_id: None,
            },
            joined,
        }
    }

    #[test]
    fn notes_merge_per_room_and_session_and_none_is_dropped() {
        let pending = Pending::default();
        let (kitchen, staff) = (Room::Kitchen(1), Room::Restaurant(1));
        // 20,000 joins (more than the old queue held) all wait.
        for i in 0..10_000 {
            pending.add(note(&format!("a-{i}"), kitchen, true));
            pending.add(note(&format!("a-{i}"), staff, true));
        }
        assert_eq!(pending.len(), 20_000);
        // A join and leave nobody was told of cancel out.
        pending.add(note("a-0", kitchen, false));
        assert_eq!(pending.len(), 19_999);
        let taken = pending.take();
        assert_eq!(taken.len(), 19_999);
        assert_eq!(pending.len(), 0);
        // A failed write may have landed in part: the leave replaces it.
        pending.retry([note("a-1", kitchen, true)]);
        pending.add(note("a-1", kitchen, false));
        let taken = pending.take();
        assert_eq!(taken.len(), 1);
        assert!(!taken[0].joined, "the leave is still shared");
        // A newer note wins over a retried older one.
        pending.add(note("a-2", kitchen, false));
        pending.retry([note("a-2", kitchen, true)]);
        let taken = pending.take();
        assert_eq!(taken.len(), 1);
        assert!(!taken[0].joined);
    }
}
