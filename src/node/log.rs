//! The event log as the node reads it: the durable per-restaurant sequence
//! that delivery falls back on to fill gaps and to learn where a restaurant
//! stands.
//!
//! A narrow read-only view: the node never writes the log, and must not
//! reach for anything else in storage through it.

use crate::events::Event;

#[async_trait::async_trait]
pub trait EventLog: Send + Sync {
    /// The restaurant's last committed seq (0 before its first event).
    async fn current_seq(&self, restaurant: i64) -> anyhow::Result<u64>;
    /// The last committed seq of each of `restaurants` that exists.
    async fn current_seqs(&self, restaurants: &[i64]) -> anyhow::Result<Vec<(i64, u64)>>;
    /// Events with seq in `(after, up_to]`, in order, at most `limit`.
    async fn events_between(
        &self,
        restaurant: i64,
        after: u64,
        up_to: u64,
        limit: i64,
    ) -> anyhow::Result<Vec<Event>>;
}
