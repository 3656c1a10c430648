//! Live all-day counts. When events reach a restaurant's kitchen rooms the
//! node marks the restaurant; one task takes the marked restaurants, reads
//! each one's counts once (only if this instance has kitchen screens of
//! it) and sends each station's counts, when they differ from what it last
//! sent, to the station's room and the expo's `kitchen` room; then it waits
//! [`INTERVAL`]. State, not history: nothing is logged or replayed; a
//! screen draws the counts of its `kitchen.snapshot` first.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use restohub_protocol::api::stations::AllDayCount;
use restohub_protocol::ws::{AllDayFrame, Room, ServerMessage};
use restohub_protocol::Timestamp;

use super::Gateway;
use crate::clock::SharedClock;
use crate::storage::Store;

/// At most one round of counts per this interval, however busy the kitchen.
pub const INTERVAL: Duration = Duration::from_millis(250);

/// Counts last sent, per restaurant and station.
type Sent = HashMap<i64, BTreeMap<i64, Vec<AllDayCount>>>;

impl Gateway {
    /// Runs for the life of the hub.
    pub async fn push_all_day_counts(self, store: Store, clock: SharedClock) {
        let mut sent = Sent::new();
        loop {
            self.node.kitchens_marked().await;
            for restaurant in self.node.take_kitchens() {
                if let Err(e) = self
                    .push_restaurant(&store, &clock, restaurant, &mut sent)
                    .await
                {
                    tracing::warn!(error = %e, restaurant, "cannot read all-day counts; will retry");
                    self.node.kitchen_changed(restaurant);
                }
            }
            tokio::time::sleep(INTERVAL).await;
        }
    }

    async fn push_restaurant(
        &self,
        store: &Store,
        clock: &SharedClock,
        r: i64,
        sent: &mut Sent,
    ) -> sqlx::Result<()> {
        let expo = self.node.sessions(Room::Kitchen(r));
        let stations = self
            .node
            .rooms_where(|room| matches!(room, Room::Station(x, _) if *x == r));
        if expo.is_empty() && stations.is_empty() {
            sent.remove(&r);
            return Ok(());
        }
        let (seq, counts) = store.all_day_counts(r).await?;
        let hub_time = Timestamp(clock.now_ms());
        let mut now: BTreeMap<i64, Vec<AllDayCount>> = BTreeMap::new();
        for count in counts {
            now.entry(count.station_id).or_default().push(count);
        }
        let before = sent.entry(r).or_default();
        // Every station that has counts now or had some sent before.
        let touched: BTreeSet<i64> = now.keys().chain(before.keys()).copied().collect();
        for station_id in touched {
            let items = now.remove(&station_id).unwrap_or_default();
            if before.get(&station_id) == Some(&items) {
                continue;
            }
            let frame = frame(AllDayFrame {
                station_id,
                seq,
                hub_time,
                items: items.clone(),
            });
            let mut to = self.node.sessions(Room::Station(r, station_id));
            to.extend(expo.iter().cloned());
            // A session in both rooms gets it once.
            to.sort_by_key(|s| s.key);
            to.dedup_by_key(|s| s.key);
            for session in to {
                session.push(frame.clone(), &self.node.stats);
            }
            if items.is_empty() {
                before.remove(&station_id);
            } else {
                before.insert(station_id, items);
            }
        }
        Ok(())
    }
}

fn frame(counts: AllDayFrame) -> Utf8Bytes {
    let message = ServerMessage::KitchenAllDay(counts);
    Utf8Bytes::from(serde_json::to_string(&message).unwrap_or_default())
}
