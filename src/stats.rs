//! What an order adds to the statistics, and the restaurant's calendar.
//!
//! The counters are kept exactly: every change to an order adds
//! `contribution(after) − contribution(before)` to its hour's row (and its
//! items' rows) in the same transaction, so a pushed number never needs the
//! order history recomputed. The definitions are in the protocol
//! (`api/analytics.rs`); a test recomputes them from raw orders.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Timelike};
use chrono_tz::Tz;
use restohub_protocol::api::orders::{LineStatus, Order, OrderStatus};

pub const HOUR_MS: i64 = 3_600_000;

/// The restaurant's zone; an unknown name (never stored: it is validated)
/// falls back to UTC.
pub fn zone(name: &str) -> Tz {
    Tz::from_str(name).unwrap_or(Tz::UTC)
}

fn local(tz: Tz, at_ms: i64) -> DateTime<Tz> {
    tz.from_utc_datetime(
        &DateTime::from_timestamp_millis(at_ms)
            .unwrap_or_default()
            .naive_utc(),
    )
}

/// The business day (`YYYY-MM-DD`) and the start of the local hour (UTC ms)
/// that `at_ms` falls in.
pub fn business_hour(tz: Tz, at_ms: i64) -> (String, i64) {
    let t = local(tz, at_ms);
    let into_hour = i64::from(t.minute()) * 60_000
        + i64::from(t.second()) * 1000
        + i64::from(t.timestamp_subsec_millis());
    (t.date_naive().to_string(), at_ms - into_hour)
}

/// Midnight starting `day` in `tz`, as UTC ms (the first instant of the day
/// where a transition skips midnight).
pub fn day_start(tz: Tz, day: NaiveDate) -> i64 {
    let mut t = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    for _ in 0..4 {
        if let Some(at) = tz.from_local_datetime(&t).earliest() {
            return at.timestamp_millis();
        }
        t += Duration::minutes(30);
    }
    t.and_utc().timestamp_millis()
}

/// The starts of the local hours from `from` (inclusive) to `to`
/// (exclusive), UTC ms.
pub fn hour_starts(tz: Tz, from: i64, to: i64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut at = business_hour(tz, from).1;
    if at < from {
        at += HOUR_MS;
    }
    while at < to {
        out.push(at);
        at = business_hour(tz, at + HOUR_MS).1;
    }
    out
}

/// The counters of one hour (the columns of `hourly_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct Counters {
    pub orders: i64,
    pub booked_cents: i64,
    pub closed_orders: i64,
    pub closed_cents: i64,
    pub cancelled: i64,
    pub cancelled_cents: i64,
    pub voided: i64,
    pub voided_cents: i64,
}

impl Counters {
    fn minus(self, o: Counters) -> Counters {
        Counters {
            orders: self.orders - o.orders,
            booked_cents: self.booked_cents - o.booked_cents,
            closed_orders: self.closed_orders - o.closed_orders,
            closed_cents: self.closed_cents - o.closed_cents,
            cancelled: self.cancelled - o.cancelled,
            cancelled_cents: self.cancelled_cents - o.cancelled_cents,
            voided: self.voided - o.voided,
            voided_cents: self.voided_cents - o.voided_cents,
        }
    }

    pub fn plus(self, o: Counters) -> Counters {
        self.minus(Counters::default().minus(o))
    }

    pub fn is_zero(&self) -> bool {
        *self == Counters::default()
    }

    /// The counters in the order of `hourly_stats`' columns.
    pub fn columns(&self) -> [i64; 8] {
        [
            self.orders,
            self.booked_cents,
            self.closed_orders,
            self.closed_cents,
            self.cancelled,
            self.cancelled_cents,
            self.voided,
            self.voided_cents,
        ]
    }
}

/// What one order in its current state counts for.
pub fn counters(order: &Order) -> Counters {
    let value = |l: &&restohub_protocol::api::orders::OrderLine| l.unit_price_cents * l.qty;
    if order.status == OrderStatus::Cancelled {
        return Counters {
            cancelled: 1,
            cancelled_cents: order.lines.iter().map(|l| value(&l)).sum(),
            ..Counters::default()
        };
    }
    let (voided, live): (Vec<_>, Vec<_>) = order
        .lines
        .iter()
        .partition(|l| l.status == LineStatus::Voided);
    let booked: i64 = live.iter().map(value).sum();
    let closed = order.status == OrderStatus::Closed;
    Counters {
        orders: 1,
        booked_cents: booked,
        closed_orders: i64::from(closed),
        closed_cents: if closed { booked } else { 0 },
        voided: voided.len() as i64,
        voided_cents: voided.iter().map(value).sum(),
        ..Counters::default()
    }
}

/// Quantity and value sold per menu item, for one order in its current state.
pub fn items(order: &Order) -> BTreeMap<i64, (i64, i64)> {
    let mut out = BTreeMap::new();
    if order.status == OrderStatus::Cancelled {
        return out;
    }
    for line in order
        .lines
        .iter()
        .filter(|l| l.status != LineStatus::Voided)
    {
        let entry: &mut (i64, i64) = out.entry(line.menu_item_id).or_default();
        entry.0 += line.qty;
        entry.1 += line.qty * line.unit_price_cents;
    }
    out
}

/// What a change from `before` (nothing, for a placement) to `after` adds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    pub counters: Counters,
    /// (menu item, qty, cents), only items that changed.
    pub items: Vec<(i64, i64, i64)>,
}

pub fn delta(before: Option<&Order>, after: &Order) -> Delta {
    let zero = Counters::default();
    let counters = counters(after).minus(before.map_or(zero, counters));
    let mut sold = items(after);
    for (item, (qty, cents)) in before.map(items).unwrap_or_default() {
        let entry = sold.entry(item).or_default();
        entry.0 -= qty;
        entry.1 -= cents;
    }
    Delta {
        counters,
        items: sold
            .into_iter()
            .filter(|(_, (q, c))| *q != 0 || *c != 0)
            .map(|(item, (q, c))| (item, q, c))
            .collect(),
    }
}

/// When the order last became ready, after a change from `before` to
/// `status` at `now`.
pub fn ready_at(before: &Order, status: OrderStatus, now: i64) -> Option<i64> {
    use OrderStatus::*;
    let done = |s: OrderStatus| matches!(s, Ready | Served | Closed);
    match (done(before.status), status) {
        (_, Placed | InProgress) => None,
        (false, s) if done(s) => Some(now),
        _ => before.ready_at.map(|t| t.0),
    }
}

/// `a / b` rounded half up (b > 0).
pub fn rounded_div(a: i64, b: i64) -> i64 {
    (2 * a + b).div_euclid(2 * b)
}

/// Index of the nearest-rank 90th percentile in a sorted list of `n`.
pub fn p90_index(n: i64) -> i64 {
    ((9 * n + 9) / 10 - 1).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_and_days_follow_the_zone() {
        let berlin = zone("Europe/Berlin");
        let at = 1_795_300_000_000; // 2026-11-21T22:26:40Z, 23:26 in Berlin
        let (day, hour) = business_hour(berlin, at);
        assert_eq!(day, "2026-11-21");
        assert_eq!(hour, 1_795_298_400_000); // 22:00Z = 23:00 Berlin
        let kolkata = zone("Asia/Kolkata"); // +05:30
        let (day, hour) = business_hour(kolkata, at);
        assert_eq!(day, "2026-11-22"); // 03:56 local
        assert_eq!((at - hour) / 60_000, 56);
        let d = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap(); // DST starts
        let start = day_start(berlin, d);
        let next = day_start(berlin, d.succ_opt().unwrap());
        assert_eq!(hour_starts(berlin, start, next).len(), 23);
    }

    #[test]
    fn percentiles_and_rounding() {
        assert_eq!(p90_index(1), 0);
        assert_eq!(p90_index(10), 8);
        assert_eq!(p90_index(11), 9);
        assert_eq!(rounded_div(5, 2), 3);
        assert_eq!(rounded_div(7, 3), 2);
    }
}
