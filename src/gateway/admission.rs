//! Admission of handshakes: how many do their work (the token's account,
//! rooms, the replay read from the log) at once on this instance, how many
//! may wait for a turn, and how long a refused client is told to stay away.
//!
//! A reconnect storm (an instance dies and its screens resume on the
//! others) brings thousands of hellos at once. Served all together they
//! queued hundreds of reads on the database pool ahead of every placement
//! (order acks at 4-5 s during a 10,000-screen storm), and clients that
//! gave up after 5 s left the hub working for sockets already closed,
//! until nothing finished at all. Here a few handshakes work at once, a
//! bounded queue waits, and the rest are refused at once with
//! `TRY_AGAIN_LATER` and a retry-after drawn from how long the queue takes
//! to drain. It never reads the database or a socket itself.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Longest a hello waits for its turn, counted from its arrival (a resume's
/// wait for its account's slot included). Below the 5 s after which
/// clients commonly give up on a hello (the browser pages do): refused in
/// time, a client retries when told instead of at once.
pub(super) const WAIT_BUDGET: Duration = Duration::from_secs(4);

/// Retry-afters are at least this (a refusal means the queue is full) and
/// at most that.
const RETRY_MIN: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// A handshake's work, until a first one is measured, µs.
const FIRST_GUESS_US: u64 = 2_000;

pub(super) struct Admission {
    turns: Arc<Semaphore>,
    concurrent: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// A moving average of one handshake's work, µs.
    work_us: AtomicU64,
}

/// A handshake's turn, held while it works; its length feeds the estimate
/// of how long the queue takes to drain.
pub(super) struct Turn {
    _permit: OwnedSemaphorePermit,
    admission: Arc<Admission>,
    started: Instant,
}

/// Not now: come back after this long (a refused handshake, or a resume
/// refused by its pace or slots: [`super::replays`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Busy(pub Duration);

impl Admission {
    pub(super) fn new(concurrent: usize, max_waiting: usize) -> Arc<Admission> {
        Arc::new(Admission {
            turns: Arc::new(Semaphore::new(concurrent)),
            concurrent,
            waiting: AtomicUsize::new(0),
            max_waiting,
            work_us: AtomicU64::new(FIRST_GUESS_US),
        })
    }

    /// A turn within `wait`; refused at once when the queue is full, or at
    /// the end of `wait`.
    pub(super) async fn turn(self: &Arc<Self>, wait: Duration) -> Result<Turn, Busy> {
        if let Ok(permit) = self.turns.clone().try_acquire_owned() {
            return Ok(self.started(permit));
        }
        let queued = self
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_waiting).then_some(n + 1)
            });
        if queued.is_err() {
            return Err(self.busy());
        }
        let acquired = tokio::time::timeout(wait, self.turns.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match acquired {
            Ok(Ok(permit)) => Ok(self.started(permit)),
            _ => Err(self.busy()),
        }
    }

    fn started(self: &Arc<Self>, permit: OwnedSemaphorePermit) -> Turn {
        Turn {
            _permit: permit,
            admission: self.clone(),
            started: Instant::now(),
        }
    }

    /// How long the queue as it is now takes to drain, within bounds.
    fn busy(&self) -> Busy {
        let ahead = self.waiting.load(Ordering::Acquire) as u64 + 1;
        let work = self.work_us.load(Ordering::Relaxed);
        let drain = Duration::from_micros(ahead * work / self.concurrent as u64);
        Busy(drain.clamp(RETRY_MIN, RETRY_MAX))
    }

    /// Handshakes waiting for a turn now.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let took = self.started.elapsed().as_micros() as u64;
        let average = &self.admission.work_us;
        // An eighth of each new measure, itself at most twice the average:
        // steady under a few slow handshakes. (Unbounded, one handshake
        // that waited long at a storm's start had the hub tell its refused
        // clients to stay away 26 s, and it sat idle while they did.)
        let _ = average.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
            Some(old - old / 8 + took.min(old * 2) / 8)
        });
    }
}

impl Busy {
    /// The close reason that carries it (PROTOCOL.md, 9.6).
    pub(crate) fn reason(self) -> String {
        format!("retry_after_ms={}", self.0.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn turns_are_bounded_and_the_queue_too() {
        let admission = Admission::new(2, 1);
        let short = Duration::from_millis(50);
        let one = admission.turn(short).await.unwrap();
        let _two = admission.turn(short).await.unwrap();
        // The third waits (the queue holds one) and gets the turn freed.
        let waiting = {
            let admission = admission.clone();
            tokio::spawn(async move { admission.turn(Duration::from_secs(5)).await })
        };
        while admission.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        // The queue is full: refused at once, with a retry-after in bounds.
        let started = Instant::now();
        let Busy(after) = admission.turn(Duration::from_secs(5)).await.err().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "refused at once"
        );
        assert!((RETRY_MIN..=RETRY_MAX).contains(&after));
        drop(one);
        let _three = waiting.await.unwrap().expect("the freed turn is taken");
        // Nobody frees one: refused at the end of the wait.
        let started = Instant::now();
        assert!(admission.turn(short).await.is_err());
        assert!(started.elapsed() >= short);
        assert_eq!(admission.waiting(), 0, "a refusal leaves the queue");
        assert_eq!(
            Busy(Duration::from_millis(1500)).reason(),
            "retry_after_ms=1500"
        );
    }

    #[tokio::test]
    async fn one_slow_handshake_barely_moves_the_estimate() {
        let admission = Admission::new(1, 10);
        let turn = admission.turn(Duration::ZERO).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(turn);
        // At most twice the 2 ms guess counts, an eighth of it: 2.25 ms.
        let work = admission.work_us.load(Ordering::Relaxed);
        assert!(work <= 2_250, "{work} µs after one 200 ms handshake");
    }
}
