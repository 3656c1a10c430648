//! The log poller: reads events that reached the event log but not this
//! instance (a publisher that died after commit, a lost broker message, a
//! request cancelled between commit and publish), so delivery is late at
//! worst, never lost.
//!
//! It only reads the log and hands what it finds to ordered delivery; it
//! never delivers to a session itself.

use std::time::Duration;

use super::ordering::lock;
use super::Node;

/// How long a gap may stand before the missing events are read from the log
/// (a publisher that committed but never published: a cancelled request).
const GAP_PATIENCE: Duration = Duration::from_millis(100);

impl Node {
    /// Every `interval`, or shortly after events arrive behind a missing
    /// one, catches up each restaurant this instance serves from the log.
    pub async fn poll_log(self, interval: Duration) {
        let mut every = tokio::time::interval(interval);
        loop {
            // Woken by a gap, only the restaurants with one are read.
            let gaps_only = tokio::select! {
                _ = every.tick() => false,
                _ = self.gap.notified() => {
                    tokio::time::sleep(GAP_PATIENCE).await;
                    true
                }
            };
            let open: Vec<i64> = self
                .channels
                .iter()
                .filter(|c| {
                    let channel = lock(c.value());
                    channel.ready && !(gaps_only && channel.waiting.is_empty())
                })
                .map(|c| *c.key())
                .collect();
            if open.is_empty() {
                continue;
            }
            // One query for every restaurant's seq; the log itself is read
            // only for those this instance is behind on.
            let current = match self.log.current_seqs(&open).await {
                Ok(current) => current,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the event log; will retry");
                    continue;
                }
            };
            for (restaurant, seq) in current {
                if let Err(e) = self.catch_up(restaurant, seq).await {
                    tracing::warn!(error = %e, "cannot read the event log; will retry");
                }
            }
        }
    }
}
