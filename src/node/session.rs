//! A live session as the node sees it: who it is, its bounded outbound
//! queue, where it stands in its restaurant's event stream, and the switch
//! that ends it.
//!
//! Pushing a frame never waits on the client: a full queue ends the session
//! as a slow consumer (it resumes with `since`). Nothing here reads a socket
//! or knows the WebSocket protocol beyond the close code it is ended with.

use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};

use axum::extract::ws::Utf8Bytes;
use restohub_protocol::ws::{close, Member};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Counters for health, metrics and tests.
#[derive(Debug, Default)]
pub struct Stats {
    pub sessions: AtomicUsize,
    pub slow_consumers: AtomicU64,
    /// The most frames ever waiting in one session's queue.
    pub max_queue_depth: AtomicUsize,
    pub events_delivered: AtomicU64,
    /// Dashboard snapshots sent (each counted once per session).
    pub dashboards_sent: AtomicU64,
}

pub struct SessionHandle {
    pub key: u64,
    pub restaurant_id: i64,
    pub member: Member,
    tx: mpsc::Sender<Utf8Bytes>,
    /// The last event seq this session was sent (its next frame's `prev`).
    pub(super) last_seq: AtomicU64,
    /// The seq of the last dashboard snapshot sent (never an older one after).
    pub dashboard_seq: AtomicU64,
    kill: CancellationToken,
    kill_code: AtomicU16,
}

impl SessionHandle {
    pub(super) fn new(
        key: u64,
        restaurant_id: i64,
        member: Member,
        tx: mpsc::Sender<Utf8Bytes>,
        since: Option<u64>,
    ) -> SessionHandle {
        SessionHandle {
            key,
            restaurant_id,
            member,
            tx,
            last_seq: AtomicU64::new(since.unwrap_or(0)),
            dashboard_seq: AtomicU64::new(0),
            kill: CancellationToken::new(),
            kill_code: AtomicU16::new(0),
        }
    }

    /// Queues a frame without waiting; a full queue ends the session.
    pub fn push(&self, frame: Utf8Bytes, stats: &Stats) -> bool {
        match self.tx.try_send(frame) {
            Ok(()) => {
                let depth = self.tx.max_capacity() - self.tx.capacity();
                stats.max_queue_depth.fetch_max(depth, Ordering::Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                if self.kick(close::SLOW_CONSUMER) {
                    stats.slow_consumers.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(session = %self.member.session_id, "slow consumer disconnected");
                }
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Ends the session with `code`; true if this call decided it.
    pub fn kick(&self, code: u16) -> bool {
        let first = self
            .kill_code
            .compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        self.kill.cancel();
        first
    }

    /// Resolves once the session has been kicked.
    pub fn killed(&self) -> CancellationToken {
        self.kill.clone()
    }

    /// The close code the session was kicked with (0: not kicked).
    pub fn kill_code(&self) -> u16 {
        self.kill_code.load(Ordering::Acquire)
    }
}
