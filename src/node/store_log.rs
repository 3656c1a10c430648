//! The storage layer serving as the node's [`EventLog`]: the one file of the
//! node that knows the concrete `Store`. It only forwards; it holds no rules.

use super::log::EventLog;
use crate::events::Event;
use crate::storage::Store;

#[async_trait::async_trait]
impl EventLog for Store {
    async fn current_seq(&self, restaurant: i64) -> anyhow::Result<u64> {
        Ok(Store::current_seq(self, restaurant).await?)
    }

    async fn current_seqs(&self, restaurants: &[i64]) -> anyhow::Result<Vec<(i64, u64)>> {
        Ok(Store::current_seqs(self, restaurants).await?)
    }

    async fn events_between(
        &self,
        restaurant: i64,
        after: u64,
        up_to: u64,
        limit: i64,
    ) -> anyhow::Result<Vec<Event>> {
        Ok(Store::events_between(self, restaurant, after, up_to, limit).await?)
    }
}
