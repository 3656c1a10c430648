//! Live dashboards. When events of a restaurant reach this instance and it
//! has sessions in that restaurant's `dashboard:{r}` room, the node marks
//! the restaurant; one task takes the marked restaurants, reads each one's
//! statistics once and sends the same snapshot to all its local dashboard
//! sessions, then waits `dashboard_interval` before the next round. However
//! many orders arrive, a dashboard gets at most one snapshot per interval,
//! and the round after the last event reflects it (its `seq` says so).

use std::sync::atomic::Ordering;

use axum::extract::ws::Utf8Bytes;
use restohub_protocol::api::analytics::DashboardStats;
use restohub_protocol::ws::{Room, ServerMessage};

use super::Gateway;
use crate::clock::SharedClock;
use crate::node::SessionHandle;
use crate::storage::Store;

/// The frame of a snapshot.
fn frame(stats: DashboardStats) -> Utf8Bytes {
    let message = ServerMessage::Dashboard(Box::new(stats));
    Utf8Bytes::from(serde_json::to_string(&message).unwrap_or_default())
}

impl Gateway {
    /// The dashboards of `restaurant` need a fresh snapshot.
    pub(super) fn dashboard_changed(&self, restaurant: i64) {
        self.node.dashboard_changed(restaurant);
    }

    /// True if `session` may be sent a snapshot at `seq` (none newer went
    /// out); records it as sent.
    fn take_dashboard_turn(&self, session: &SessionHandle, seq: u64) -> bool {
        let newest = session.dashboard_seq.fetch_max(seq, Ordering::AcqRel);
        let fresh = newest <= seq;
        if fresh {
            self.node
                .stats
                .dashboards_sent
                .fetch_add(1, Ordering::Relaxed);
        }
        fresh
    }

    /// Queues a snapshot to one session (one that just joined the room).
    pub(crate) fn send_dashboard(&self, session: &SessionHandle, stats: DashboardStats) {
        if self.take_dashboard_turn(session, stats.seq) {
            session.push(frame(stats), &self.node.stats);
        }
    }

    /// Runs for the life of the hub: fresh snapshots to local dashboards
    /// after changes (coalesced), and every `dashboard_refresh` without.
    pub async fn refresh_dashboards(self, store: Store, clock: SharedClock) {
        let interval = self.settings.dashboard_interval;
        let refresh = self.settings.dashboard_refresh;
        loop {
            if tokio::time::timeout(refresh, self.node.dashboards_marked())
                .await
                .is_err()
            {
                let open = self
                    .node
                    .rooms_where(|room| matches!(room, Room::Dashboard(_)));
                for restaurant in open.into_iter().filter_map(Room::restaurant) {
                    self.node.mark_dashboard(restaurant);
                }
            }
            for restaurant in self.node.take_dashboards() {
                let sessions = self.node.sessions(Room::Dashboard(restaurant));
                if sessions.is_empty() {
                    continue;
                }
                match store.dashboard(restaurant, clock.now_ms()).await {
                    Ok(Some(stats)) => {
                        let seq = stats.seq;
                        let frame = frame(stats);
                        for session in sessions {
                            if self.take_dashboard_turn(&session, seq) {
                                session.push(frame.clone(), &self.node.stats);
                            }
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, restaurant, "cannot read dashboard statistics; will retry");
                        self.node.mark_dashboard(restaurant);
                    }
                }
            }
            tokio::time::sleep(interval).await;
        }
    }
}
