//! Proof of display: screens acknowledge what they rendered
//! (`screen.seen`), the waiters and the expo learn which tickets are on
//! screen at which station (`ticket.seen`, once per order and station), and
//! the expo, managers and dashboard are told of stations with nobody
//! watching (`station.unattended`) and screens that stopped acknowledging
//! (`screen.behind`), and when that is over.
//!
//! An acknowledgement is kept in memory ([`crate::node`]); [`watch_screens`]
//! writes what changed a few times a second and sweeps for alerts once a
//! second, on real time, with the hub's clock for "now". Every event comes
//! from a conditional update in the transaction that appends it, so many
//! instances write each one once.

mod sweep;

use std::collections::BTreeSet;
use std::time::Duration;

use restohub_protocol::events::TicketSeen;
use restohub_protocol::ws::{AckResult, Room};
use restohub_protocol::{ErrorCode, Role, Timestamp};

use super::access::Operation;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::node::{SeenRefusal, SessionHandle};
use crate::state::AppState;
use crate::storage::{EventDraft, SeenOrder};

pub use sweep::Alerts;

/// The longest screen name.
const MAX_NAME: usize = 64;
/// Orders one `ticket.seen` lists at most.
const SEEN_BATCH: i64 = 200;

/// Hub settings for screens.
#[derive(Debug, Clone, Copy)]
pub struct ScreenSettings {
    /// How often acknowledgements are written (real time).
    pub flush_every: Duration,
    /// How long a station may have open tickets and no screen, or a screen
    /// leave a ticket unacknowledged, before it is flagged (hub time).
    pub alert_after_ms: i64,
}

/// `screen.seen`: `session` (in `rooms`) has rendered up to `seq`. It counts
/// for each station room the session is in; a seq beyond the restaurant's
/// latest event is refused.
pub fn seen(
    state: &AppState,
    caller: &Caller,
    session: &SessionHandle,
    rooms: impl Iterator<Item = Room>,
    seq: u64,
    screen: Option<&str>,
) -> ApiResult<AckResult> {
    caller.may(Operation::WatchKitchen)?;
    let name = match screen.map(str::trim) {
        None => session.member.session_id.clone(),
        Some(name)
            if !name.is_empty()
                && name.chars().count() <= MAX_NAME
                && !name.chars().any(char::is_control) =>
        {
            name.to_owned()
        }
        Some(_) => {
            return Err(ApiError::invalid_field(
                "screen",
                "length",
                "1 to 64 characters, no control characters",
            ))
        }
    };
    let r = caller.restaurant_id;
    let mut stations: Vec<i64> = rooms
        .filter_map(|room| match room {
            Room::Station(of, s) if of == r => Some(s),
            _ => None,
        })
        .collect();
    stations.sort_unstable();
    if stations.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "only a screen in a station room (kitchen:{r}:{station}) acknowledges",
        ));
    }
    let now = state.clock.now_ms();
    match state.node.screen_seen(session, &name, &stations, seq, now) {
        Ok(()) => Ok(AckResult::ScreenSeen {
            seq,
            screen: name,
            station_ids: stations,
        }),
        Err(SeenRefusal::Ahead { head }) => Err(ApiError::invalid_field(
            "seq",
            "range",
            &format!("beyond the restaurant's latest event ({head})"),
        )),
        Err(SeenRefusal::Renamed { name }) => Err(ApiError::invalid_field(
            "screen",
            "fixed",
            &format!("this session acknowledges as {name:?}; reconnect to be another screen"),
        )),
    }
}

/// How often at most a screen's row is written again (its first at the
/// next flush).
const SCREEN_ROWS_EVERY: Duration = Duration::from_secs(5);

/// A screen row that acknowledged nothing for this long is forgotten
/// (checked about hourly), so unnamed sessions' rows do not pile up.
const FORGET_SCREENS_AFTER_MS: i64 = 24 * 3_600_000;
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Writes what screens acknowledged, then (every `sweep_every`) raises and
/// clears alerts; forever.
pub async fn watch_screens(state: AppState, settings: ScreenSettings) {
    let mut every = tokio::time::interval(settings.flush_every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut alerts = Alerts::default();
    let sweep_every = Duration::from_secs(1).max(settings.flush_every);
    let mut last_sweep = tokio::time::Instant::now();
    let mut last_prune: Option<tokio::time::Instant> = None;
    loop {
        every.tick().await;
        if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            last_prune = Some(tokio::time::Instant::now());
            let before = state.clock.now_ms() - FORGET_SCREENS_AFTER_MS;
            if let Err(e) = state.store.forget_screens(before).await {
                tracing::warn!(error = %e, "cannot forget old screens; will retry");
            }
        }
        if let Err(e) = flush(&state).await {
            tracing::warn!(error = %e, "cannot write screen acknowledgements; will retry");
        }
        if last_sweep.elapsed() >= sweep_every {
            last_sweep = tokio::time::Instant::now();
            if let Err(e) = alerts.sweep(&state, settings.alert_after_ms).await {
                tracing::warn!(error = %e, "cannot sweep screen alerts; will retry");
            }
        }
    }
}

/// Advances each acknowledged station's watermark (announcing the orders
/// it passed) and stores each screen that acknowledged.
pub async fn flush(state: &AppState) -> sqlx::Result<()> {
    let mut failed = None;
    for (r, station, seq, at) in state.node.take_seen_stations() {
        if failed.is_some() {
            // Kept for the next flush, like the one that failed.
            state.node.remark_seen_station(r, station, seq, at);
            continue;
        }
        // Never past what this instance delivered (see `Node::screen_seen`).
        let seq = seq.min(state.node.last_seq(r));
        let advanced = state
            .store
            .advance_seen(
                r,
                station,
                seq as i64,
                at,
                SEEN_BATCH,
                |name, seen, orders| vec![ticket_seen(r, station, name, seen, at, orders)],
            )
            .await;
        match advanced {
            Ok(advanced) => {
                if advanced.more {
                    state.node.remark_seen_station(r, station, seq, at);
                }
                state.publish(advanced.events).await;
            }
            Err(e) => {
                state.node.remark_seen_station(r, station, seq, at);
                failed = Some(e);
            }
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    let mut by_restaurant: std::collections::BTreeMap<i64, Vec<_>> = Default::default();
    for screen in state.node.take_screens(SCREEN_ROWS_EVERY) {
        by_restaurant
            .entry(screen.restaurant_id)
            .or_default()
            .push((
                screen.station_id,
                screen.name,
                screen
                    .seen_seq
                    .min(state.node.last_seq(screen.restaurant_id)) as i64,
                screen.seen_at,
            ));
    }
    for (r, screens) in by_restaurant {
        state.store.record_screens(r, &screens).await?;
    }
    Ok(())
}

/// `ticket.seen` to the expo and to each waiter who placed one of `orders`.
fn ticket_seen(
    r: i64,
    station: i64,
    name: &str,
    seen_seq: i64,
    at: i64,
    orders: &[SeenOrder],
) -> EventDraft {
    let placers: BTreeSet<i64> = orders.iter().filter_map(|o| o.placed_by_user).collect();
    let mut rooms = vec![Room::Kitchen(r)];
    rooms.extend(placers.into_iter().map(Room::User));
    let seen = TicketSeen {
        station_id: station,
        station: name.to_owned(),
        seen_at: Timestamp(at),
        seen_seq: seen_seq as u64,
        order_ids: orders.iter().map(|o| o.order_id).collect(),
    };
    EventDraft::new(rooms, seen)
}

/// The rooms alerts go to: the expo, the managers and the dashboard.
fn alert_rooms(r: i64) -> Vec<Room> {
    vec![
        Room::Kitchen(r),
        Room::Role(r, Role::Manager),
        Room::Dashboard(r),
    ]
}

/// A station's screens as last written: what each acknowledged, when, and
/// whether it is flagged behind.
pub async fn station_screens(
    state: &AppState,
    caller: &Caller,
    station: i64,
) -> ApiResult<Vec<restohub_protocol::api::stations::StationScreen>> {
    caller.may(Operation::WatchKitchen)?;
    let r = caller.restaurant_id;
    if state.store.station(r, station).await?.is_none() {
        return Err(ApiError::not_found("station"));
    }
    let rows = state.store.station_screens(r, station).await?;
    Ok(rows
        .into_iter()
        .map(|row| restohub_protocol::api::stations::StationScreen {
            screen: row.screen,
            seen_seq: row.seen_seq as u64,
            seen_at: Timestamp(row.seen_at),
            behind: row.behind,
        })
        .collect())
}
