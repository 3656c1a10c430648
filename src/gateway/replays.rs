//! How many resumes run at once per account and per client address. A
//! resume reads the event log and writes a burst of frames; one token or
//! one address looping hellos with `since` must not keep the database and
//! the instance busy for everyone else (issue 17, item 4). A hello beyond
//! either limit waits up to [`WAIT`] for a slot to free, then is refused.

use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::Notify;

/// How long a resume waits for a slot: replays take milliseconds, so a
/// burst of reconnects (an instance restarting, a restaurant's screens
/// behind one address) is served in turn within it.
pub const WAIT: Duration = Duration::from_secs(2);

/// The resumes in progress, counted per account and per address.
pub(crate) struct ReplaySlots {
    per_account: usize,
    per_address: usize,
    accounts: DashMap<String, usize>,
    addresses: DashMap<IpAddr, usize>,
    freed: Notify,
}

/// One resume in progress, counted until dropped.
pub(crate) struct ReplaySlot {
    slots: Arc<ReplaySlots>,
    account: String,
    address: Option<IpAddr>,
}

impl ReplaySlots {
    pub(crate) fn new(per_account: usize, per_address: usize) -> Arc<ReplaySlots> {
        Arc::new(ReplaySlots {
            per_account,
            per_address,
            accounts: DashMap::new(),
            addresses: DashMap::new(),
            freed: Notify::new(),
        })
    }

    /// A slot for a resume of `account` from `address` (unknown: counted
    /// per account only), waiting up to `wait` for one; `None` when none
    /// freed in time.
    pub(crate) async fn take(
        self: &Arc<Self>,
        account: &str,
        address: Option<IpAddr>,
        wait: Duration,
    ) -> Option<ReplaySlot> {
        let deadline = tokio::time::Instant::now() + wait;
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

    fn try_take(self: &Arc<Self>, account: &str, address: Option<IpAddr>) -> Option<ReplaySlot> {
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

    #[tokio::test]
    async fn slots_are_limited_per_account_and_per_address() {
        let slots = ReplaySlots::new(2, 3);
        let a: Option<IpAddr> = Some("10.0.0.1".parse().unwrap());
        let b: Option<IpAddr> = Some("10.0.0.2".parse().unwrap());
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
        assert_eq!(
            slots.accounts.get("bob").map(|n| *n),
            None,
            "forgotten at zero"
        );
    }
}
