//! Resuming: the events a reconnecting session missed, read from the event
//! log and sent after its welcome, or word that it is too far behind and
//! must resync from a snapshot.
//!
//! It reads the log and builds frames; it never sends them or touches
//! live delivery (the node), whose seq it is given.

use restohub_protocol::ws::ServerMessage;

use crate::auth::Caller;
use crate::state::AppState;

/// Longest replay a resume gets; further behind, the client resyncs.
const MAX_REPLAY: u64 = 10_000;

pub(super) enum Replay {
    /// Frames to send after the welcome: events, then `resumed`.
    Frames(Vec<String>),
    Resync,
}

/// The events in `(since, seq]` the session's rooms allow, as frames with
/// their `prev` chain from `since`, then a `resumed` marker. Nothing to do
/// without `since` or when the client is not behind.
pub(super) async fn replay(
    state: &AppState,
    caller: &Caller,
    rooms: &[restohub_protocol::ws::Room],
    since: Option<u64>,
    seq: u64,
) -> sqlx::Result<Replay> {
    let Some(since) = since else {
        return Ok(Replay::Frames(Vec::new()));
    };
    let resumed = |seq: u64, replayed: u64| {
        let frame = ServerMessage::Resumed(restohub_protocol::ws::Resumed {
            since,
            seq,
            replayed,
        });
        serde_json::to_string(&frame).unwrap_or_default()
    };
    if since >= seq {
        // Nothing missed (or this instance is behind the client: live
        // events up to `since` are skipped, so the seam has no duplicate).
        return Ok(Replay::Frames(vec![resumed(since, 0)]));
    }
    if seq - since > MAX_REPLAY {
        return Ok(Replay::Resync);
    }
    let events = state
        .store
        .events_between(caller.restaurant_id, since, seq, MAX_REPLAY as i64)
        .await?;
    if events.len() as u64 != seq - since {
        // Part of the range was pruned.
        return Ok(Replay::Resync);
    }
    let mut frames = Vec::new();
    let mut prev = since;
    for event in events
        .iter()
        .filter(|e| e.rooms.iter().any(|r| rooms.contains(r)))
    {
        frames.push(crate::events::event_frame(prev, &event.shared_body()));
        prev = event.seq;
    }
    frames.push(resumed(seq, frames.len() as u64));
    Ok(Replay::Frames(frames))
}
