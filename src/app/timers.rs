//! Kitchen timers: when a ticket's clock starts, when it is due (from its
//! station's thresholds for the order's source), the all-day counts a
//! snapshot draws, and the sweeper that announces late tickets once.
//!
//! A ticket is one order's lines at one station. Its clock start is
//! [`clock_start`], the one place that says when it is; everything else
//! here counts from it. Never reads a screen's clock.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use restohub_protocol::api::orders::{LineStatus, Order};
use restohub_protocol::api::stations::{
    Target, Targets, TargetsPatch, TicketTimer, MAX_TARGET_SECONDS,
};
use restohub_protocol::events::TicketLate;
use restohub_protocol::ws::Room;
use restohub_protocol::Timestamp;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{EventDraft, TicketAlarm};

/// Each station's thresholds, by station id; a station not in it (deleted
/// since) counts with the defaults.
pub type StationTargets = HashMap<i64, Targets>;

/// How often the sweeper looks for late tickets (real time), and how many
/// orders it looks at per round.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
const SWEEP_BATCH: i64 = 200;

/// When `order`'s ticket at `station_id` started its clock (UTC ms), or
/// `None` while it has not: the earliest `start_at` of its fired lines
/// still open (queued or preparing), so a held course has no clock, a
/// line that starts later by prep time is not late early, and a course
/// fired after an earlier one was done counts from its own start. A ticket
/// with nothing open counts from its earliest fired line.
///
/// `Store::late_ticket_candidates` is the same rule in SQL.
pub fn clock_start(order: &Order, station_id: i64) -> Option<i64> {
    let fired = || {
        order
            .lines
            .iter()
            .filter(move |l| l.station_id == Some(station_id) && l.fired_at.is_some())
    };
    let start = |l: &restohub_protocol::api::orders::OrderLine| {
        l.start_at.or(l.fired_at).map(|t| t.millis())
    };
    fired()
        .filter(|l| matches!(l.status, LineStatus::Queued | LineStatus::Preparing))
        .filter_map(start)
        .min()
        .or_else(|| fired().filter_map(start).min())
}

/// The ticket's clock at `station_id`, if it has started.
pub fn timer(order: &Order, station_id: i64, targets: &StationTargets) -> Option<TicketTimer> {
    let start = clock_start(order, station_id)?;
    let target = targets
        .get(&station_id)
        .copied()
        .unwrap_or_default()
        .for_source(order.source);
    Some(TicketTimer {
        station_id,
        started_at: Timestamp(start),
        caution_at: Timestamp(start + target.caution_seconds * 1000),
        due_at: Timestamp(start + target.late_seconds * 1000),
    })
}

/// The ticket's clocks at each station its lines go to, in station order.
pub fn timers(order: &Order, targets: &StationTargets) -> Vec<TicketTimer> {
    let stations: BTreeSet<i64> = order.lines.iter().filter_map(|l| l.station_id).collect();
    stations
        .into_iter()
        .filter_map(|s| timer(order, s, targets))
        .collect()
}

/// Lines of `order` at `station_id` still queued or preparing.
fn open_lines(order: &Order, station_id: i64) -> i64 {
    order
        .lines
        .iter()
        .filter(|l| l.station_id == Some(station_id))
        .filter(|l| matches!(l.status, LineStatus::Queued | LineStatus::Preparing))
        .count() as i64
}

/// The restaurant's thresholds, read for one use case.
pub async fn station_targets(state: &AppState, r: i64) -> ApiResult<StationTargets> {
    Ok(state.store.station_targets(r).await?.into_iter().collect())
}

/// A station's thresholds as created: the defaults, replaced per source
/// by what `given` has. Each pair must have caution below late.
pub fn targets_for_new(given: &TargetsPatch) -> ApiResult<Targets> {
    check(given)?;
    let mut targets = Targets::default();
    if let Some(t) = given.dine_in {
        targets.dine_in = t;
    }
    if let Some(t) = given.takeaway {
        targets.takeaway = t;
    }
    if let Some(t) = given.qr {
        targets.qr = t;
    }
    Ok(targets)
}

/// Each pair given has caution below late (their ranges are the protocol
/// type's to check).
pub fn check(given: &TargetsPatch) -> ApiResult<()> {
    for (
        source,
        Target {
            caution_seconds,
            late_seconds,
        },
    ) in given.given()
    {
        if caution_seconds >= late_seconds {
            return Err(ApiError::invalid_field(
                &format!("targets.{source}.caution_seconds"),
                "range",
                &format!(
                    "must be below late_seconds ({late_seconds}); both at most {MAX_TARGET_SECONDS}"
                ),
            ));
        }
    }
    Ok(())
}

/// The `ticket.late` events of `order`'s tickets due by `now` with lines
/// still queued or preparing: to the expo and the dashboard.
pub fn late_tickets(r: i64, order: &Order, targets: &StationTargets, now: i64) -> Vec<TicketAlarm> {
    timers(order, targets)
        .into_iter()
        .filter(|t| t.due_at.millis() <= now)
        .filter_map(|timer| {
            let open = open_lines(order, timer.station_id);
            (open > 0).then(|| TicketAlarm {
                order_id: order.id,
                station_id: timer.station_id,
                event: EventDraft::new(
                    vec![Room::Kitchen(r), Room::Dashboard(r)],
                    TicketLate {
                        order_id: order.id,
                        station_id: timer.station_id,
                        table_id: order.table_id,
                        source: order.source,
                        timer,
                        open_lines: open,
                        late_at: Timestamp(now),
                    },
                ),
            })
        })
        .collect()
}

/// Runs for the life of the hub: every second (real time), announces the
/// tickets whose due time has passed by the hub's clock. Any number of
/// instances may sweep one database: storage records each alarm once.
pub async fn sweep_late_tickets(state: AppState) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = sweep_once(&state).await {
            tracing::warn!(error = %e, "late-ticket sweep failed; will retry");
        }
    }
}

/// One round: candidates from storage, decided here, raised per restaurant.
async fn sweep_once(state: &AppState) -> ApiResult<()> {
    let now = state.clock.now_ms();
    let candidates = state.store.late_ticket_candidates(now, SWEEP_BATCH).await?;
    let mut by_restaurant: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (r, order) in candidates {
        by_restaurant.entry(r).or_default().push(order);
    }
    for (r, orders) in by_restaurant {
        let targets = station_targets(state, r).await?;
        let mut alarms = Vec::new();
        for id in orders {
            if let Some(order) = state.store.order(r, id).await? {
                alarms.extend(late_tickets(r, &order, &targets, now));
            }
        }
        if alarms.is_empty() {
            continue;
        }
        let events = state.store.raise_ticket_alarms(r, alarms, now).await?;
        state.publish(events).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use restohub_protocol::api::orders::{OrderLine, OrderSource, OrderStatus};

    fn order(source: OrderSource, lines: &[(i64, LineStatus)]) -> Order {
        Order {
            id: 9,
            table_id: None,
            source,
            status: OrderStatus::Placed,
            note: String::new(),
            total_cents: 0,
            lines: lines
                .iter()
                .enumerate()
                .map(|(i, &(station, status))| OrderLine {
                    id: i as i64 + 1,
                    menu_item_id: 1,
                    station_id: Some(station),
                    name: "Soup".into(),
                    unit_price_cents: 100,
                    qty: 1,
                    note: String::new(),
                    modifiers: Vec::new(),
                    status,
                    seat: None,
                    course: 1,
                    prep_seconds: 0,
                    fired_at: Some(Timestamp(1_000_000)),
                    start_at: Some(Timestamp(1_000_000)),
                    started_at: None,
                    ready_at: None,
                    served_at: None,
                    void_reason: None,
                    choices: vec![],
                    allergens: Default::default(),
                })
                .collect(),
            created_at: Timestamp(1_000_000),
            placed_seq: 1,
            ready_at: None,
            rush: false,
        }
    }

    #[test]
    fn the_clock_starts_at_the_earliest_open_fired_line() {
        let mut o = order(
            OrderSource::DineIn,
            &[
                (1, LineStatus::Ready),
                (1, LineStatus::Queued),
                (1, LineStatus::Queued),
            ],
        );
        // Line 2 starts 3 minutes after firing (a shorter prep); line 3
        // is a held course; line 1 is done.
        o.lines[0].start_at = Some(Timestamp(900_000));
        o.lines[1].start_at = Some(Timestamp(1_180_000));
        o.lines[2].fired_at = None;
        o.lines[2].start_at = None;
        assert_eq!(clock_start(&o, 1), Some(1_180_000));
        // Nothing open: from the earliest fired line.
        o.lines[1].status = LineStatus::Ready;
        assert_eq!(clock_start(&o, 1), Some(900_000));
        // Only a held line: no clock.
        o.lines[0].station_id = Some(2);
        o.lines[1].station_id = Some(2);
        assert_eq!(clock_start(&o, 1), None);
    }

    #[test]
    fn due_times_follow_the_station_and_the_source() {
        let mut targets = StationTargets::new();
        let grill = Targets {
            takeaway: Target {
                caution_seconds: 60,
                late_seconds: 120,
            },
            ..Default::default()
        };
        targets.insert(1, grill);
        let o = order(
            OrderSource::Takeaway,
            &[(2, LineStatus::Queued), (1, LineStatus::Queued)],
        );
        let t = timers(&o, &targets);
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].station_id, t[0].due_at.0), (1, 1_120_000));
        assert_eq!(t[0].caution_at.0, 1_060_000);
        // Station 2 has no row: the defaults, 5 and 8 minutes.
        assert_eq!((t[1].station_id, t[1].due_at.0), (2, 1_480_000));
        assert_eq!(t[1].caution_at.0, 1_300_000);
    }

    #[test]
    fn only_tickets_with_open_lines_past_due_are_late() {
        let targets = StationTargets::new();
        let o = order(
            OrderSource::DineIn,
            &[(1, LineStatus::Ready), (2, LineStatus::Preparing)],
        );
        assert!(late_tickets(5, &o, &targets, 1_479_999).is_empty());
        let late = late_tickets(5, &o, &targets, 1_480_000);
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].station_id, 2);
    }

    #[test]
    fn caution_must_be_below_late() {
        let bad = TargetsPatch {
            qr: Some(Target {
                caution_seconds: 300,
                late_seconds: 300,
            }),
            ..Default::default()
        };
        assert!(check(&bad).is_err());
        let good = TargetsPatch {
            qr: Some(Target {
                caution_seconds: 60,
                late_seconds: 90,
            }),
            ..Default::default()
        };
        assert_eq!(targets_for_new(&good).unwrap().qr.late_seconds, 90);
    }
}
