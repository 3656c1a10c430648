//! How many resumes run at once, and how often they start, per account and
//! per client address. A resume reads the event log and writes a burst of
//! frames; one token or one address looping hellos with `since` must not
//! keep the database and the instance busy for everyone else (issue 17,
//! item 4). Counting resumes in progress bounds the long ones. Pacing how
//! often they start bounds the short ones, which reading through the room
//! index made cheap but which still cost a handshake, a token check and a
//! few queries each: twenty loops of them on one guest token ran 2,000 to
//! 4,000 hellos a second and took other clients' p95 to 2-3 times its
//! quiet figure (BENCHMARKS.md). A resume beyond either limit waits up to
//! [`WAIT`] for its turn, then is refused with when to come back: when the
//! pace will let it start, counting the resumes of the same key already
//! waiting for it. A refusal is answered only when that wait is over, so a
//! client that retries at once is slowed down rather than served refusals
//! at speed.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::admission::Busy;

/// How long a resume waits for its turn: replays take milliseconds, so a
/// burst of reconnects (an instance restarting, a restaurant's screens
/// behind one address) is served in turn within it.
pub const WAIT: Duration = Duration::from_secs(2);

/// Resumes an account may start: a burst of 20, then 10 a second.
const ACCOUNT_PACE: Pace = Pace {
    burst: 20,
    per_second: 10,
};
/// Resumes an address may start (a restaurant's devices often share one):
/// a burst of 100, then 50 a second.
const ADDRESS_PACE: Pace = Pace {
    burst: 100,
    per_second: 50,
};

/// When to come back after the account's slots stayed busy for the whole
/// wait (its replays are long ones; when one ends cannot be known).
pub const SLOTS_BUSY_RETRY: Duration = Duration::from_secs(1);

/// Retry-afters of refused resumes are at least this and at most that.
const RETRY_MIN: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// The pacing state of idle keys is dropped every this many resumes.
const FORGET_EVERY: u64 = 4096;

#[derive(Debug, Clone, Copy)]
struct Pace {
    burst: u32,
    per_second: u32,
}

impl Pace {
    fn limiter<K: Hash + Eq + Clone>(self) -> Paced<K> {
        let n = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
        Paced {
            limiter: RateLimiter::keyed(
                Quota::per_second(n(self.per_second)).allow_burst(n(self.burst)),
            ),
            waiting: DashMap::new(),
            every: Duration::from_secs(1) / n(self.per_second).get(),
        }
    }
}

/// A pace per key, and how many resumes of each key wait for it now.
struct Paced<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    waiting: DashMap<K, usize>,
    /// The time between two starts once the burst is spent.
    every: Duration,
}

/// One resume counted as waiting for its key's pace while it lives (also
/// when its client leaves and the wait is dropped).
struct Waiting<'a, K: Hash + Eq + Clone> {
    counts: &'a DashMap<K, usize>,
    key: &'a K,
}

impl<K: Hash + Eq + Clone> Drop for Waiting<'_, K> {
    fn drop(&mut self) {
        count_out(self.counts, self.key);
    }
}

/// The resumes in progress, counted per account and per address, and the
/// pace at which each starts them.
pub(crate) struct ReplaySlots {
    per_account: usize,
    per_address: usize,
    accounts: DashMap<String, usize>,
    addresses: DashMap<IpAddr, usize>,
    freed: Notify,
    account_pace: Paced<String>,
    address_pace: Paced<IpAddr>,
    started: AtomicU64,
}

/// One resume in progress, counted until dropped.
pub(crate) struct ReplaySlot {
    slots: Arc<ReplaySlots>,
    account: String,
    address: Option<IpAddr>,
}

impl ReplaySlots {
    pub(crate) fn new(per_account: usize, per_address: usize) -> Arc<ReplaySlots> {
        Self::paced(per_account, per_address, ACCOUNT_PACE, ADDRESS_PACE)
    }

    fn paced(
        per_account: usize,
        per_address: usize,
        account: Pace,
        address: Pace,
    ) -> Arc<ReplaySlots> {
        Arc::new(ReplaySlots {
            per_account,
            per_address,
            accounts: DashMap::new(),
            addresses: DashMap::new(),
            freed: Notify::new(),
            account_pace: account.limiter(),
            address_pace: address.limiter(),
            started: AtomicU64::new(0),
        })
    }

    /// A slot for a resume of `account` from `address` (unknown: counted
    /// and paced per account only), once the pace allows it and a slot is
    /// free; `None` when that is not within `wait`, answered at its end.
    /// (The handshake takes the two steps apart, a turn between them.)
    #[cfg(test)]
    pub(crate) async fn take(
        self: &Arc<Self>,
        account: &str,
        address: Option<IpAddr>,
        wait: Duration,
    ) -> Option<ReplaySlot> {
        let deadline = Instant::now() + wait;
        self.start(account, address, deadline).await.ok()?;
        self.slot(account, address, deadline).await
    }

    /// Waits until the pace lets `account` and `address` start one more
    /// resume; refused (at `deadline`) when that is later, with when the
    /// pace will let it start.
    pub(crate) async fn start(
        &self,
        account: &str,
        address: Option<IpAddr>,
        deadline: Instant,
    ) -> Result<(), Busy> {
        if self.started.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            self.account_pace.limiter.retain_recent();
            self.address_pace.limiter.retain_recent();
        }
        let mut paced = paced(&self.account_pace, &account.to_owned(), deadline).await;
        if let (Ok(()), Some(ip)) = (paced, address) {
            paced = self::paced(&self.address_pace, &ip, deadline).await;
        }
        let Err(wait) = paced else {
            return Ok(());
        };
        // Answered at the deadline: the wait counts from then.
        let told = Instant::now() + wait;
        tokio::time::sleep_until(deadline).await;
        let after = told.saturating_duration_since(deadline);
        Err(Busy(after.clamp(RETRY_MIN, RETRY_MAX)))
    }

    /// A slot once one is free; `None` at `deadline`.
    pub(crate) async fn slot(
        self: &Arc<Self>,
        account: &str,
        address: Option<IpAddr>,
        deadline: Instant,
    ) -> Option<ReplaySlot> {
        loop {
            // Listening before trying: a slot freed in between still wakes us.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(slot) = self.try_take(account, address) {
                return Some(slot);
            }
            tokio::time::timeout_at(deadline, freed).await.ok()?;
        }
    }

    /// A slot if one is free now.
    pub(crate) fn try_take(
        self: &Arc<Self>,
        account: &str,
        address: Option<IpAddr>,
    ) -> Option<ReplaySlot> {
        if !count_in(&self.accounts, account.to_owned(), self.per_account) {
            return None;
        }
        if let Some(ip) = address {
            if !count_in(&self.addresses, ip, self.per_address) {
                count_out(&self.accounts, &account.to_owned());
                return None;
            }
        }
        Some(ReplaySlot {
            slots: self.clone(),
            account: account.to_owned(),
            address,
        })
    }
}

impl Drop for ReplaySlot {
    fn drop(&mut self) {
        let slots = &self.slots;
        count_out(&slots.accounts, &self.account);
        if let Some(ip) = &self.address {
            count_out(&slots.addresses, ip);
        }
        slots.freed.notify_waiters();
    }
}

/// Waits until `pace` lets `key` start one more; without waiting, when
/// that would be after `deadline`, how long until it would: the pace's next
/// start, and one more interval for each resume of `key` already waiting.
async fn paced<K: Hash + Eq + Clone>(
    pace: &Paced<K>,
    key: &K,
    deadline: Instant,
) -> Result<(), Duration> {
    loop {
        match pace.limiter.check_key(key) {
            Ok(()) => return Ok(()),
            Err(not_until) => {
                // The limiter's own clock: making one (`DefaultClock::default`)
                // runs CPUID, which traps to the hypervisor on a VM.
                let wait = not_until.wait_time_from(pace.limiter.clock().now());
                if Instant::now() + wait > deadline {
                    let ahead = pace.waiting.get(key).map_or(0, |n| *n) as u32;
                    return Err(wait + pace.every * ahead);
                }
                count_in(&pace.waiting, key.clone(), usize::MAX);
                let _waiting = Waiting {
                    counts: &pace.waiting,
                    key,
                };
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Counts one more under `key` unless it has `max` already.
fn count_in<K: Eq + Hash>(counts: &DashMap<K, usize>, key: K, max: usize) -> bool {
    let mut count = counts.entry(key).or_insert(0);
    if *count >= max {
        return false;
    }
    *count += 1;
    true
}

/// Counts one fewer under `key`, forgetting keys at zero so the maps hold
/// only resumes in progress.
fn count_out<K: Eq + Hash>(counts: &DashMap<K, usize>, key: &K) {
    if let Some(mut count) = counts.get_mut(key) {
        *count = count.saturating_sub(1);
    }
    counts.remove_if(key, |_, n| *n == 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNPACED: Pace = Pace {
        burst: 1000,
        per_second: 1000,
    };

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[tokio::test]
    async fn slots_are_limited_per_account_and_per_address() {
        let slots = ReplaySlots::paced(2, 3, UNPACED, UNPACED);
        let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
        let none = Duration::ZERO;
        let one = slots.take("ann", a, none).await.unwrap();
        let two = slots.take("ann", b, none).await.unwrap();
        assert!(slots.take("ann", b, none).await.is_none(), "ann has two");
        let three = slots.take("bob", a, none).await.unwrap();
        let _four = slots.take("cat", a, none).await.unwrap();
        assert!(slots.take("dan", a, none).await.is_none(), "a has three");
        assert!(
            slots.accounts.get("dan").is_none(),
            "a refusal counts nothing"
        );
        // A slot freed while waiting is taken at once.
        let waiting = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.take("ann", b, Duration::from_secs(5)).await })
        };
        tokio::task::yield_now().await;
        drop(one);
        assert!(waiting.await.unwrap().is_some());
        drop((two, three));
        assert!(slots.accounts.get("bob").is_none(), "forgotten at zero");
    }

    #[tokio::test]
    async fn starts_are_paced_per_account_and_per_address() {
        // A burst of 2 per account, then one every 100 ms; a burst of 3 per
        // address, then one a second.
        let slots = ReplaySlots::paced(
            100,
            100,
            Pace {
                burst: 2,
                per_second: 10,
            },
            Pace {
                burst: 3,
                per_second: 1,
            },
        );
        let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
        let short = Duration::from_millis(20);
        let long = Duration::from_millis(500);
        for _ in 0..2 {
            assert!(slots.take("ann", a, short).await.is_some());
        }
        let started = Instant::now();
        assert!(
            slots.take("ann", b, short).await.is_none(),
            "ann's burst is spent"
        );
        assert!(started.elapsed() >= short, "refused at the end of the wait");
        let started = Instant::now();
        assert!(
            slots.take("ann", b, long).await.is_some(),
            "ann's next turn"
        );
        assert!(
            started.elapsed() >= Duration::from_millis(50),
            "after a wait"
        );
        assert!(slots.take("bob", a, short).await.is_some(), "a's third");
        assert!(
            slots.take("cat", a, short).await.is_none(),
            "a's burst is spent"
        );
        assert!(slots.take("cat", b, short).await.is_some(), "b has room");
    }

    #[tokio::test]
    async fn a_refused_resume_is_told_when_its_pace_lets_it_start() {
        // One start, then one every 500 ms.
        let one = Pace {
            burst: 1,
            per_second: 2,
        };
        let slots = ReplaySlots::paced(100, 100, one, UNPACED);
        let a = ip("10.0.0.1");
        let short = Duration::from_millis(20);
        assert!(slots.take("ann", a, short).await.is_some());
        // Another resume of ann's waits for the next start, 500 ms on.
        let next = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.take("ann", a, Duration::from_secs(2)).await })
        };
        while slots.account_pace.waiting.get("ann").is_none() {
            tokio::task::yield_now().await;
        }
        // So this one's turn is the one after: about a second from now.
        let Err(Busy(after)) = slots.start("ann", a, Instant::now() + short).await else {
            panic!("ann's pace is spent");
        };
        assert!(
            (Duration::from_millis(700)..=Duration::from_millis(1000)).contains(&after),
            "{after:?}"
        );
        assert_eq!(
            Busy(after).reason(),
            format!("retry_after_ms={}", after.as_millis())
        );
        assert!(next.await.unwrap().is_some(), "the waiting one started");
        assert!(
            slots.account_pace.waiting.get("ann").is_none(),
            "none waits"
        );
        // Back when told, it starts.
        tokio::time::sleep(after).await;
        assert!(slots.take("ann", a, short).await.is_some());
    }
}
