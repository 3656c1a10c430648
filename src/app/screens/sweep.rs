//! The alert sweep: stations with open tickets and nobody watching, screens
//! that stopped acknowledging, and the end of both. Each raise and clear is
//! a conditional update with its event in one transaction, so instances
//! that sweep the same restaurant write each event once.

use std::collections::{BTreeMap, HashMap};

use restohub_protocol::events::{ScreenBehind, ScreenCaughtUp, StationAttended, StationUnattended};
use restohub_protocol::ws::Room;
use restohub_protocol::Timestamp;

use super::alert_rooms;
use crate::node::Screen;
use crate::state::AppState;
use crate::storage::EventDraft;

/// What one instance's sweeps remember between runs.
#[derive(Debug, Default)]
pub struct Alerts {
    /// (restaurant, station) → when this instance first found it with open
    /// tickets and no screen (hub time).
    unattended_since: HashMap<(i64, i64), i64>,
}

impl Alerts {
    /// One sweep of every restaurant this instance serves.
    pub async fn sweep(&mut self, state: &AppState, alert_after_ms: i64) -> sqlx::Result<()> {
        let now = state.clock.now_ms();
        let mut screens: BTreeMap<i64, Vec<Screen>> = BTreeMap::new();
        for screen in state.node.screens_now() {
            screens
                .entry(screen.restaurant_id)
                .or_default()
                .push(screen);
        }
        let mut restaurants = state.node.watched_kitchens();
        restaurants.extend(screens.keys().copied());
        restaurants.sort_unstable();
        restaurants.dedup();
        for r in restaurants {
            self.stations(state, r, now, alert_after_ms).await?;
            let mine = screens.remove(&r).unwrap_or_default();
            behind(state, r, mine, now, alert_after_ms).await?;
        }
        Ok(())
    }

    /// Raises `station.unattended` for stations unwatched too long, and
    /// clears it for those watched again or with nothing open.
    async fn stations(
        &mut self,
        state: &AppState,
        r: i64,
        now: i64,
        alert_after_ms: i64,
    ) -> sqlx::Result<()> {
        let open: BTreeMap<i64, i64> = state.store.open_tickets(r).await?.into_iter().collect();
        let mut attended = BTreeMap::new();
        for (&station, &count) in &open {
            let room = Room::Station(r, station);
            let watched = state.node.has_local_members(room)
                || !state.node.remote_members(room).await.is_empty();
            attended.insert(station, watched);
            if watched {
                self.unattended_since.remove(&(r, station));
                continue;
            }
            let since = *self.unattended_since.entry((r, station)).or_insert(now);
            if now - since < alert_after_ms {
                continue;
            }
            let events = state
                .store
                .flag_station(r, station, true, now, |name| {
                    let raised = StationUnattended {
                        station_id: station,
                        station: name.to_owned(),
                        open_tickets: count,
                    };
                    vec![EventDraft::new(alert_rooms(r), raised)]
                })
                .await?;
            state.publish(events).await;
        }
        self.unattended_since
            .retain(|(of, station), _| *of != r || open.contains_key(station));
        for station in state.store.unattended_stations(r).await? {
            if attended.get(&station) == Some(&false) {
                continue;
            }
            let events = state
                .store
                .flag_station(r, station, false, now, |name| {
                    let cleared = StationAttended {
                        station_id: station,
                        station: name.to_owned(),
                    };
                    vec![EventDraft::new(alert_rooms(r), cleared)]
                })
                .await?;
            state.publish(events).await;
        }
        Ok(())
    }
}

/// Raises `screen.behind` for this instance's screens of `r` that have not
/// acknowledged a ticket placed `alert_after_ms` ago, and clears it for
/// those that caught up or left.
async fn behind(
    state: &AppState,
    r: i64,
    screens: Vec<Screen>,
    now: i64,
    alert_after_ms: i64,
) -> sqlx::Result<()> {
    let mut due: BTreeMap<i64, Option<i64>> = BTreeMap::new();
    let head = state.node.last_seq(r);
    for mut screen in screens {
        screen.seen_seq = screen.seen_seq.min(head);
        let station = screen.station_id;
        let due_seq = match due.get(&station) {
            Some(d) => *d,
            None => {
                let d = state
                    .store
                    .due_seq(r, station, now - alert_after_ms)
                    .await?;
                due.insert(station, d);
                d
            }
        };
        let late = !screen.gone && due_seq.is_some_and(|d| (screen.seen_seq as i64) < d);
        if late != screen.behind {
            let draft = if late {
                EventDraft::new(
                    alert_rooms(r),
                    ScreenBehind {
                        station_id: station,
                        screen: screen.name.clone(),
                        seen_seq: screen.seen_seq,
                        seen_at: Timestamp(screen.seen_at),
                        due_seq: due_seq.unwrap_or_default() as u64,
                    },
                )
            } else {
                EventDraft::new(
                    alert_rooms(r),
                    ScreenCaughtUp {
                        station_id: station,
                        screen: screen.name.clone(),
                        seen_seq: screen.seen_seq,
                        gone: screen.gone,
                    },
                )
            };
            if late {
                // Written before the flag can be set on its row.
                let row = [(
                    station,
                    screen.name.clone(),
                    screen.seen_seq as i64,
                    screen.seen_at,
                )];
                state.store.record_screens(r, &row).await?;
            }
            let events = state
                .store
                .flag_screen(r, station, &screen.name, late, now, draft)
                .await?;
            state.publish(events).await;
        }
        state.node.settle_screen(&screen, late);
    }
    Ok(())
}
