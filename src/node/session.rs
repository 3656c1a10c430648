//! A live session as the node sees it: who it is, its bounded outbound
//! queue, where it stands in its restaurant's event stream, and the switch
//! that ends it.
//!
//! Pushing a frame never waits on the client: a full queue ends the session
//! as a slow consumer (it resumes with `since`). Nothing here reads a socket
//! or knows the WebSocket protocol beyond the close code it is ended with.
//!
//! The queue is a plain list behind a lock, with one wake-up for the
//! session's task: frames and the kill both ring it, so the task waits on
//! one thing for both, and it takes every frame waiting in one go. An idle
//! session's queue holds no allocation (each take leaves an empty one), and
//! one frame waiting takes none either: the list holds one in place, which
//! is what a session that keeps up has waiting.

use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use axum::extract::ws::Utf8Bytes;
use restohub_protocol::ws::{close, Member};
use smallvec::SmallVec;
use tokio::sync::Notify;

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

/// Frames waiting for a session, oldest first: one in place, more on the
/// heap.
pub type Frames = SmallVec<[Utf8Bytes; 1]>;

pub struct SessionHandle {
    pub key: u64,
    pub restaurant_id: i64,
    pub member: Member,
    /// Frames waiting for the session's task, oldest first.
    queue: Mutex<Frames>,
    /// How many frames may wait before the session counts as a slow consumer.
    capacity: usize,
    /// Rung when a frame is queued or the session is kicked.
    bell: Notify,
    /// The last event seq this session was sent (its next frame's `prev`).
    pub(super) last_seq: AtomicU64,
    /// The seq of the last dashboard snapshot sent (never an older one after).
    pub dashboard_seq: AtomicU64,
    kill_code: AtomicU16,
}

impl SessionHandle {
    pub(super) fn new(
        key: u64,
        restaurant_id: i64,
        member: Member,
        capacity: usize,
        since: Option<u64>,
    ) -> SessionHandle {
        SessionHandle {
            key,
            restaurant_id,
            member,
            queue: Mutex::new(Frames::new()),
            capacity: capacity.max(1),
            bell: Notify::new(),
            last_seq: AtomicU64::new(since.unwrap_or(0)),
            dashboard_seq: AtomicU64::new(0),
            kill_code: AtomicU16::new(0),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Frames> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a frame without waiting; a full queue ends the session.
    /// False if the frame will not be sent (the session is ending).
    pub fn push(&self, frame: Utf8Bytes, stats: &Stats) -> bool {
        if self.kill_code() != 0 {
            return false;
        }
        let mut queue = self.queue();
        if queue.len() >= self.capacity {
            drop(queue);
            if self.kick(close::SLOW_CONSUMER) {
                stats.slow_consumers.fetch_add(1, Ordering::Relaxed);
                tracing::info!(session = %self.member.session_id, "slow consumer disconnected");
            }
            return false;
        }
        queue.push(frame);
        let depth = queue.len();
        drop(queue);
        stats.max_queue_depth.fetch_max(depth, Ordering::Relaxed);
        if depth == 1 {
            // Only the first frame rings: the task takes all that follow it
            // in the same go.
            self.bell.notify_one();
        }
        true
    }

    /// Every frame waiting, oldest first (an empty list if none).
    pub fn take(&self) -> Frames {
        std::mem::take(&mut *self.queue())
    }

    /// Whether frames are waiting.
    pub fn has_frames(&self) -> bool {
        !self.queue().is_empty()
    }

    /// Resolves once a frame was queued or the session kicked since the last
    /// wake-up (it may resolve with nothing new: check [`Self::take`] and
    /// [`Self::kill_code`]).
    pub async fn rung(&self) {
        self.bell.notified().await
    }

    /// Ends the session with `code`; true if this call decided it.
    pub fn kick(&self, code: u16) -> bool {
        let first = self
            .kill_code
            .compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        self.bell.notify_one();
        first
    }

    /// The close code the session was kicked with (0: not kicked).
    pub fn kill_code(&self) -> u16 {
        self.kill_code.load(Ordering::Acquire)
    }
}
