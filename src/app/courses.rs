//! Courses and firing: the pure rules [`super::kitchen::decide`] applies
//! ([`start_offsets`], [`due`], [`fire`]), the expo's view of an order
//! ([`holding`]), the events of a fired course and the reasons voids and
//! cancels carry. The use cases that fire, rush, void and cancel, and the
//! timed auto-fire, are [`super::expo`]; this module calls nothing above it.
//!
//! A line's course comes from its item's category (or the line); the
//! lowest course of an order fires when it is placed, later ones are held
//! (`fired_at: null`) until a person fires them, the course before is
//! served (`fire_next_on: served`), or `fire_after_ready_minutes` after it
//! was ready. Within a fired course each line gets a `start_at` so that
//! the course finishes together: the longest preparation starts at once.

use restohub_protocol::api::orders::{LineStatus, Order, OrderLine};
use restohub_protocol::api::restaurant::{FireNextOn, Restaurant};
use restohub_protocol::events::{FiredBy, TicketFired};
use restohub_protocol::ws::Room;
use restohub_protocol::Timestamp;

use super::timers::{self, StationTargets};
use crate::error::{ApiError, ApiResult};
use crate::storage::EventDraft;

/// Reasons are 1 to this many characters.
pub const MAX_REASON_CHARS: usize = 200;

/// What the restaurant set for its courses and recalls, and the time now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KitchenRules {
    pub now: i64,
    pub fire_next_on: FireNextOn,
    /// `None`: a held course never fires by time.
    pub fire_after_ready_ms: Option<i64>,
    pub recall_window_ms: i64,
}

impl KitchenRules {
    pub fn of(restaurant: &Restaurant, now: i64) -> KitchenRules {
        KitchenRules {
            now,
            fire_next_on: restaurant.fire_next_on,
            fire_after_ready_ms: restaurant.fire_after_ready_minutes.map(|m| m * 60_000),
            recall_window_ms: restaurant.recall_window_minutes * 60_000,
        }
    }
}

/// How long after its course fires each line should start, so that all of
/// them finish with the longest (`preps` in seconds; offsets in ms).
pub fn start_offsets(preps: &[i64]) -> Vec<i64> {
    let longest = preps.iter().copied().max().unwrap_or(0);
    preps.iter().map(|p| (longest - p) * 1000).collect()
}

/// Fires `course`'s held lines at `now`, each with its `start_at`; how many.
pub fn fire(lines: &mut [OrderLine], course: i64, now: i64) -> usize {
    let held = |l: &OrderLine| {
        l.course == course && l.fired_at.is_none() && l.status != LineStatus::Voided
    };
    let preps: Vec<i64> = lines
        .iter()
        .filter(|l| held(l))
        .map(|l| l.prep_seconds)
        .collect();
    let offsets = start_offsets(&preps);
    let mut n = 0;
    for line in lines.iter_mut().filter(|l| held(l)) {
        line.fired_at = Some(Timestamp(now));
        line.start_at = Some(Timestamp(now + offsets[n]));
        n += 1;
    }
    n
}

/// The held course that should fire now by itself, and why: the lowest
/// held course when no live line of an earlier course is left unfinished
/// (none at all, all served with `fire_next_on: served`, or all ready
/// `fire_after_ready_minutes` ago).
pub fn due(lines: &[OrderLine], rules: &KitchenRules) -> Option<(i64, FiredBy)> {
    let live = || lines.iter().filter(|l| l.status != LineStatus::Voided);
    let next = live()
        .filter(|l| l.fired_at.is_none())
        .map(|l| l.course)
        .min()?;
    let before: Vec<&OrderLine> = live().filter(|l| l.course < next).collect();
    if before.is_empty() {
        return Some((next, FiredBy::Served));
    }
    if rules.fire_next_on == FireNextOn::Served
        && before.iter().all(|l| l.status == LineStatus::Served)
    {
        return Some((next, FiredBy::Served));
    }
    let after = rules.fire_after_ready_ms?;
    let all_ready = before
        .iter()
        .all(|l| matches!(l.status, LineStatus::Ready | LineStatus::Served));
    let last_ready = before.iter().filter_map(|l| l.ready_at).max()?;
    (all_ready && rules.now >= last_ready.millis() + after).then_some((next, FiredBy::Timer))
}

/// The stations holding `order` up: those with live lines not ready yet
/// (held lines count), ascending.
pub fn holding(order: &Order) -> Vec<i64> {
    let mut stations: Vec<i64> = order
        .lines
        .iter()
        .filter(|l| matches!(l.status, LineStatus::Queued | LineStatus::Preparing))
        .filter_map(|l| l.station_id)
        .collect();
    stations.sort_unstable();
    stations.dedup();
    stations
}

/// `ticket.fired` per station (and one for lines without a station) for
/// each course `after` fired that `before` held: to the station, the expo
/// and the table.
pub fn fired_events(
    r: i64,
    before: &Order,
    after: &Order,
    by: FiredBy,
    targets: &StationTargets,
) -> Vec<EventDraft> {
    let newly: Vec<&OrderLine> = after
        .lines
        .iter()
        .filter(|l| {
            l.fired_at.is_some()
                && before
                    .lines
                    .iter()
                    .any(|b| b.id == l.id && b.fired_at.is_none())
        })
        .collect();
    let mut groups: Vec<(i64, Option<i64>)> =
        newly.iter().map(|l| (l.course, l.station_id)).collect();
    groups.sort_unstable();
    groups.dedup();
    groups
        .into_iter()
        .map(|(course, station)| {
            let lines: Vec<OrderLine> = newly
                .iter()
                .filter(|l| l.course == course && l.station_id == station)
                .map(|l| (*l).clone())
                .collect();
            let fired_at = lines[0].fired_at.unwrap_or(Timestamp(0));
            let mut rooms = vec![Room::Kitchen(r)];
            rooms.extend(station.map(|s| Room::Station(r, s)));
            rooms.extend(after.table_id.map(|t| Room::Table(r, t)));
            let data = TicketFired {
                order_id: after.id,
                station_id: station,
                table_id: after.table_id,
                course,
                fired_at,
                by,
                lines,
                also_at: restohub_protocol::events::also_at(after, station),
                rush: after.rush,
                timer: station.and_then(|s| timers::timer(after, s, targets)),
            };
            EventDraft::new(rooms, data)
        })
        .collect()
}

/// A reason as given: trimmed, 1 to [`MAX_REASON_CHARS`] characters.
pub fn reason(given: &str) -> ApiResult<String> {
    let why = given.trim();
    if why.is_empty() {
        return Err(ApiError::invalid_field(
            "reason",
            "required",
            "give a reason (it is kept in the audit trail)",
        ));
    }
    if why.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::invalid_field(
            "reason",
            "length",
            &format!("at most {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(why.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: i64, course: i64, status: LineStatus, fired: bool, prep: i64) -> OrderLine {
        OrderLine {
            id,
            menu_item_id: 1,
            station_id: Some(id),
            name: "x".into(),
            unit_price_cents: 100,
            qty: 1,
            note: String::new(),
            modifiers: vec![],
            status,
            seat: None,
            course,
            prep_seconds: prep,
            fired_at: fired.then_some(Timestamp(0)),
            start_at: fired.then_some(Timestamp(0)),
            started_at: None,
            ready_at: matches!(status, LineStatus::Ready | LineStatus::Served)
                .then_some(Timestamp(1_000)),
            served_at: None,
            void_reason: None,
            choices: vec![],
            allergens: Default::default(),
        }
    }

    fn rules(on: FireNextOn, after_min: Option<i64>, now: i64) -> KitchenRules {
        KitchenRules {
            now,
            fire_next_on: on,
            fire_after_ready_ms: after_min.map(|m| m * 60_000),
            recall_window_ms: 600_000,
        }
    }

    #[test]
    fn the_longest_prep_starts_at_once() {
        assert_eq!(start_offsets(&[600, 900, 60]), [300_000, 0, 840_000]);
        let mut lines = vec![
            line(1, 2, LineStatus::Queued, false, 600),
            line(2, 2, LineStatus::Queued, false, 900),
            line(3, 3, LineStatus::Queued, false, 60),
        ];
        assert_eq!(fire(&mut lines, 2, 5_000), 2);
        assert_eq!(lines[0].start_at, Some(Timestamp(305_000)));
        assert_eq!(lines[1].start_at, Some(Timestamp(5_000)));
        assert_eq!(lines[2].fired_at, None);
    }

    #[test]
    fn a_held_course_fires_when_the_one_before_is_done() {
        use LineStatus::*;
        let served = [line(1, 1, Served, true, 0), line(2, 2, Queued, false, 0)];
        let on = rules(FireNextOn::Served, None, 0);
        assert_eq!(due(&served, &on), Some((2, FiredBy::Served)));
        let off = rules(FireNextOn::Off, None, 0);
        assert_eq!(due(&served, &off), None);
        let ready = [line(1, 1, Ready, true, 0), line(2, 2, Queued, false, 0)];
        assert_eq!(due(&ready, &on), None);
        let early = rules(FireNextOn::Off, Some(5), 1_000 + 299_999);
        assert_eq!(due(&ready, &early), None);
        let late = rules(FireNextOn::Off, Some(5), 1_000 + 300_000);
        assert_eq!(due(&ready, &late), Some((2, FiredBy::Timer)));
        // Nothing before it left (voided): it is the first course now.
        let voided = [line(1, 1, Voided, true, 0), line(2, 2, Queued, false, 0)];
        assert_eq!(due(&voided, &off), Some((2, FiredBy::Served)));
        // Nothing held: nothing due.
        assert_eq!(due(&[line(1, 1, Served, true, 0)], &on), None);
    }
}
