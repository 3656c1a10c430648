//! Resuming: the events a reconnecting session missed, read from the event
//! log and sent after its welcome, or word that it is too far behind and
//! must resync from a snapshot.
//!
//! A resume costs what the session may receive, not what the log holds:
//! it reads the seqs of its own rooms' events through the log's room index,
//! then those events a batch at a time, so a guest resuming from seq 1 over
//! a long log of other rooms' events reads a few index entries (issue 17,
//! item 4: twenty such loops, each reading and filtering 10,000 events per
//! hello, took other clients' p95 from 9 ms to 1.09 s). Too far behind is
//! told from the index alone.
//!
//! It reads the log and writes the replay's frames; it never touches live
//! delivery (the node), whose seq it is given.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use futures::{Sink, SinkExt};
use restohub_protocol::ws::{close, Resumed, Room, ServerMessage};

use crate::auth::Caller;
use crate::state::AppState;

/// Longest replay a resume gets, in events for the session's rooms;
/// further behind, the client resyncs.
const MAX_REPLAY: usize = 10_000;

/// Events read, and frames held, at once: a replay's memory is one batch,
/// however long it is.
const BATCH: usize = 256;

pub(super) enum Replay {
    /// No `since`: nothing to replay, no `resumed`.
    Nothing,
    /// Events to send after the welcome, then `resumed`.
    Events(Resume),
    Resync,
}

/// A replay decided before the welcome: the seqs to send, and the first
/// batch already read (so a start the log cannot give means a resync, not a
/// broken promise after the welcome).
pub(super) struct Resume {
    restaurant: i64,
    rooms: Vec<Room>,
    since: u64,
    seq: u64,
    /// The seqs after the first batch.
    rest: Vec<u64>,
    first: Vec<String>,
    /// The seq of the last frame built (each frame's `prev` is the one before).
    prev: u64,
    sent: u64,
}

/// Why a replay stopped after the welcome: the connection closes with
/// `code` and the client reconnects with `since` (its last seq).
pub(super) struct Cut {
    pub code: u16,
    pub reason: &'static str,
}

/// The replay of the events in `(since, seq]` the session's rooms allow:
/// frames with their `prev` chain from `since`, then a `resumed` marker; or
/// a resync when that range holds more than [`MAX_REPLAY`] events for the
/// rooms or reaches before the oldest event the log still holds.
pub(super) async fn replay(
    state: &AppState,
    caller: &Caller,
    rooms: &[Room],
    since: Option<u64>,
    seq: u64,
) -> sqlx::Result<Replay> {
    let Some(since) = since else {
        return Ok(Replay::Nothing);
    };
    let mut resume = Resume {
        restaurant: caller.restaurant_id,
        rooms: rooms.to_vec(),
        since,
        seq,
        rest: Vec::new(),
        first: Vec::new(),
        prev: since,
        sent: 0,
    };
    if since >= seq {
        // Nothing missed (or this instance is behind the client: live
        // events up to `since` are skipped, so the seam has no duplicate).
        resume.seq = since;
        return Ok(Replay::Events(resume));
    }
    // The index and the first batch's events in one read: in a reconnect
    // storm handshakes take turns at the database, and a round trip less
    // per resume is more resumes a second.
    let found = state
        .store
        .room_seqs(
            caller.restaurant_id,
            rooms,
            since,
            seq,
            MAX_REPLAY + 1,
            BATCH,
        )
        .await?;
    if found.seqs.len() > MAX_REPLAY {
        return Ok(Replay::Resync);
    }
    // Retention removes the oldest events first: a range that starts below
    // the oldest one left (or with none left) was pruned in part.
    if found.oldest.is_none_or(|oldest| oldest > since + 1) {
        return Ok(Replay::Resync);
    }
    let mut seqs = found.seqs;
    resume.rest = seqs.split_off(seqs.len().min(BATCH));
    match resume.frames_of(&seqs, &found.first) {
        Some(frames) => resume.first = frames,
        // Pruned since the index was read.
        None => return Ok(Replay::Resync),
    }
    Ok(Replay::Events(resume))
}

impl Resume {
    /// Sends the replay after the welcome: the first batch, the rest read
    /// and sent a batch at a time, then `resumed`. A client that does not
    /// take it within `deadline` is cut off as a slow consumer.
    pub(super) async fn send<S>(
        mut self,
        state: &AppState,
        sink: &mut S,
        deadline: std::time::Duration,
    ) -> Result<(), Cut>
    where
        S: Sink<Message, Error = axum::Error> + Unpin,
    {
        let sending = async {
            let first = std::mem::take(&mut self.first);
            feed(sink, first).await?;
            let rest = std::mem::take(&mut self.rest);
            for batch in rest.chunks(BATCH) {
                match self.frames(state, batch).await {
                    Ok(Some(frames)) => feed(sink, frames).await?,
                    Ok(None) => return Err(Cut::LOG_CHANGED),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read the event log for a resume");
                        return Err(Cut::LOG_CHANGED);
                    }
                }
            }
            let resumed = ServerMessage::Resumed(Resumed {
                since: self.since,
                seq: self.seq,
                replayed: self.sent,
            });
            let frame = serde_json::to_string(&resumed).unwrap_or_default();
            feed(sink, vec![frame]).await?;
            sink.flush().await.map_err(|_| Cut::GONE)
        };
        let cut = match tokio::time::timeout(deadline, sending).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(cut)) => cut,
            Err(_) => Cut::TOO_SLOW,
        };
        if cut.code != 0 {
            let frame = Message::Close(Some(CloseFrame {
                code: cut.code,
                reason: Utf8Bytes::from_static(cut.reason),
            }));
            let closing = sink.send(frame);
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), closing).await;
        }
        Err(cut)
    }

    /// The frames of the events at `seqs` (read from the log) that go to
    /// the session's rooms, chained on from the last frame; `None` when the
    /// log no longer holds one of them.
    async fn frames(
        &mut self,
        state: &AppState,
        seqs: &[u64],
    ) -> sqlx::Result<Option<Vec<String>>> {
        if seqs.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let events = state.store.events_at(self.restaurant, seqs).await?;
        Ok(self.frames_of(seqs, &events))
    }

    /// The frames of `events`, read for `seqs`; `None` when the log no
    /// longer held one of them.
    fn frames_of(&mut self, seqs: &[u64], events: &[crate::events::Event]) -> Option<Vec<String>> {
        if events.len() != seqs.len() {
            return None;
        }
        let mut frames = Vec::with_capacity(events.len());
        // The index named these events for the rooms; their own rooms decide.
        for event in events
            .iter()
            .filter(|e| e.rooms.iter().any(|r| self.rooms.contains(r)))
        {
            frames.push(crate::events::event_frame(self.prev, &event.shared_body()));
            self.prev = event.seq;
            self.sent += 1;
        }
        Some(frames)
    }
}

impl Cut {
    /// The log changed under the replay (pruned) or could not be read:
    /// reconnecting with `since` decides afresh (a resync if pruned).
    const LOG_CHANGED: Cut = Cut {
        code: close::SERVICE_RESTART,
        reason: "the event log could not be replayed; reconnect with since",
    };
    const TOO_SLOW: Cut = Cut {
        code: close::SLOW_CONSUMER,
        reason: "the replay was not read in time; reconnect with since",
    };
    /// The peer is gone: nothing to close.
    const GONE: Cut = Cut {
        code: 0,
        reason: "",
    };
}

/// Feeds frames without a flush: a long replay leaves in few writes.
async fn feed<S>(sink: &mut S, frames: Vec<String>) -> Result<(), Cut>
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    for frame in frames {
        sink.feed(Message::Text(Utf8Bytes::from(frame)))
            .await
            .map_err(|_| Cut::GONE)?;
    }
    Ok(())
}
