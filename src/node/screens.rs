//! Proof of display, in memory: what each local screen last acknowledged
//! at each of its stations, and each station's highest acknowledged seq
//! not yet written. An acknowledgement costs a map update here and nothing
//! else; the application's flush writes what changed a few times a second
//! (one conditional update per station, one upsert per screen), whatever
//! the rate of acknowledgements.
//!
//! It never reads the database or sends a frame.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use super::session::SessionHandle;
use super::Node;

/// One screen at one station, as this instance knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    pub restaurant_id: i64,
    pub station_id: i64,
    /// Its name, or its session id.
    pub name: String,
    pub seen_seq: u64,
    pub seen_at: i64,
    /// Acknowledged since its row was last written.
    pub dirty: bool,
    /// When its row was last written (real time), if ever.
    pub written: Option<std::time::Instant>,
    /// Flagged behind (as far as this instance last told the database).
    pub behind: bool,
    /// The session ended; forgotten once its flag is cleared.
    pub gone: bool,
}

#[derive(Default)]
pub(crate) struct Screens {
    /// By (session key, station).
    screens: Mutex<HashMap<(u64, i64), Screen>>,
    /// (restaurant, station) → the highest seq acknowledged there and when,
    /// since the last flush.
    stations: Mutex<HashMap<(i64, i64), (u64, i64)>>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why an acknowledgement was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SeenRefusal {
    /// Beyond the restaurant's latest event this instance delivered.
    Ahead { head: u64 },
    /// The session already acknowledged under another name (a session is
    /// one screen: renaming at will would store a row per name).
    Renamed { name: String },
}

impl Node {
    /// `session`, named `name`, has rendered up to `seq` at `stations` (the
    /// station rooms it is in) at `now`. Refused beyond the restaurant's
    /// latest event; an older seq than it acknowledged before changes
    /// nothing.
    pub fn screen_seen(
        &self,
        session: &SessionHandle,
        name: &str,
        stations: &[i64],
        seq: u64,
        now: i64,
    ) -> Result<(), SeenRefusal> {
        // Most acknowledge what they were sent: checked without the
        // delivery lock (taken per acknowledgement, it would queue behind
        // deliveries). A snapshot's seq may be later; then the head this
        // instance delivered bounds it. Only a `since` claimed beyond the
        // log puts the session past the head; the flush clamps to it.
        let sent = session.last_seq.load(Ordering::Acquire);
        if seq > sent {
            let head = self.last_seq(session.restaurant_id);
            if seq > head {
                return Err(SeenRefusal::Ahead { head });
            }
        }
        let r = session.restaurant_id;
        {
            let mut screens = locked(&self.screens.screens);
            if let Some(known) = stations
                .iter()
                .find_map(|&s| screens.get(&(session.key, s)))
                .filter(|known| known.name != name)
            {
                return Err(SeenRefusal::Renamed {
                    name: known.name.clone(),
                });
            }
            for &station in stations {
                let screen = screens
                    .entry((session.key, station))
                    .or_insert_with(|| Screen {
                        restaurant_id: r,
                        station_id: station,
                        name: name.to_owned(),
                        seen_seq: 0,
                        seen_at: now,
                        dirty: false,
                        written: None,
                        behind: false,
                        gone: false,
                    });
                if seq > screen.seen_seq || screen.seen_seq == 0 {
                    screen.seen_seq = screen.seen_seq.max(seq);
                    screen.seen_at = now;
                    screen.dirty = true;
                }
            }
        }
        let mut marks = locked(&self.screens.stations);
        for &station in stations {
            let mark = marks.entry((r, station)).or_insert((seq, now));
            if seq > mark.0 {
                *mark = (seq, now);
            }
        }
        Ok(())
    }

    /// The session ended: its screens are gone (their flags are cleared by
    /// the next sweep).
    pub fn screen_gone(&self, session_key: u64) {
        for ((key, _), screen) in locked(&self.screens.screens).iter_mut() {
            if *key == session_key {
                screen.gone = true;
            }
        }
    }

    /// Takes the stations' acknowledged seqs since the last call:
    /// `(restaurant, station, seq, at)`.
    pub fn take_seen_stations(&self) -> Vec<(i64, i64, u64, i64)> {
        locked(&self.screens.stations)
            .drain()
            .map(|((r, s), (seq, at))| (r, s, seq, at))
            .collect()
    }

    /// Puts back a station's seq a flush could not finish.
    pub fn remark_seen_station(&self, r: i64, station: i64, seq: u64, at: i64) {
        let mut marks = locked(&self.screens.stations);
        let mark = marks.entry((r, station)).or_insert((seq, at));
        if seq > mark.0 {
            *mark = (seq, at);
        }
    }

    /// The local screens whose rows are due: acknowledged since their row
    /// was written, and new or written at least `every` ago (a screen's
    /// row is for reading, not for the alerts, which read memory: writing
    /// every screen at every flush cost a third of a core at 2,000
    /// screens, BENCHMARKS.md). Marks them written.
    pub fn take_screens(&self, every: std::time::Duration) -> Vec<Screen> {
        let mut screens = locked(&self.screens.screens);
        let now = std::time::Instant::now();
        let mut due = Vec::new();
        for screen in screens.values_mut() {
            if screen.dirty && screen.written.is_none_or(|at| now - at >= every) {
                screen.dirty = false;
                screen.written = Some(now);
                due.push(screen.clone());
            }
        }
        due
    }

    /// Every local screen as it is now.
    pub fn screens_now(&self) -> Vec<Screen> {
        locked(&self.screens.screens).values().cloned().collect()
    }

    /// Records the flag the sweep settled for a screen, and forgets a gone
    /// screen once it is not flagged.
    pub fn settle_screen(&self, screen: &Screen, behind: bool) {
        let mut screens = locked(&self.screens.screens);
        screens.retain(|_, s| {
            if s.station_id == screen.station_id
                && s.restaurant_id == screen.restaurant_id
                && s.name == screen.name
            {
                s.behind = behind;
                !s.gone || behind
            } else {
                true
            }
        });
    }

    /// Restaurants with a session here that watches the kitchen (the expo,
    /// a station, a manager or the dashboard): the ones this instance
    /// sweeps for alerts.
    pub fn watched_kitchens(&self) -> Vec<i64> {
        use restohub_protocol::{ws::Room, Role};
        let mut out: Vec<i64> = self
            .registry
            .rooms_where(|room| {
                matches!(
                    room,
                    Room::Kitchen(_)
                        | Room::Station(..)
                        | Room::Dashboard(_)
                        | Room::Role(_, Role::Manager)
                )
            })
            .into_iter()
            .filter_map(|room| room.restaurant())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Whether `room` has a member on this instance.
    pub fn has_local_members(&self, room: restohub_protocol::ws::Room) -> bool {
        self.registry.has_members(room)
    }
}
