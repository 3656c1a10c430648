//! Kitchen timers: tickets that may have gone late, the alarms that make
//! `ticket.late` go out once, and the all-day counts. No business rules:
//! which ticket is late is decided in `app::timers`.

use restohub_protocol::api::stations::AllDayCount;

use super::{Append, BeginWrite, EventDraft, Store};
use crate::events::Event;

/// Lines queued or preparing, of orders still in the kitchen, per station
/// and item: the all-day counts (`$1` is the restaurant).
pub(super) const ALL_DAY: &str = "SELECT l.station_id, l.menu_item_id, MIN(l.name), \
    CAST(SUM(l.qty) AS BIGINT) FROM order_lines l JOIN orders o \
    ON o.restaurant_id = l.restaurant_id AND o.id = l.order_id \
    WHERE l.restaurant_id = $1 AND l.station_id IS NOT NULL \
    AND l.status IN ('queued', 'preparing') \
    AND o.status IN ('placed', 'in_progress', 'ready') \
    GROUP BY l.station_id, l.menu_item_id ORDER BY l.station_id, l.menu_item_id";

pub(super) type AllDayRow = (i64, i64, String, i64);

pub(super) fn all_day(rows: Vec<AllDayRow>) -> Vec<AllDayCount> {
    rows.into_iter()
        .map(|(station_id, menu_item_id, name, qty)| AllDayCount {
            station_id,
            menu_item_id,
            name,
            qty,
        })
        .collect()
}

/// Tickets that may have gone late (see [`Store::late_ticket_candidates`]).
/// It starts from the open fired lines' partial index on `start_at`
/// (migration 0012), bounded by the shortest late threshold of any
/// station, and reaches each line's order and station by key, so a sweep
/// reads only lines old enough to be late whatever the planner's
/// statistics say (from orders, an unanalysed table once cost a nested
/// loop over every open line per order: BENCHMARKS.md).
const LATE_CANDIDATES: &str = "SELECT l.restaurant_id, l.order_id, MIN(l.start_at) \
    FROM order_lines l \
    JOIN orders o ON o.id = l.order_id AND o.restaurant_id = l.restaurant_id \
    JOIN stations s ON s.id = l.station_id AND s.restaurant_id = l.restaurant_id \
    WHERE l.fired_at IS NOT NULL AND l.status IN ('queued', 'preparing') \
    AND l.start_at <= $1 - 1000 * (SELECT COALESCE(MIN(t), 0) FROM \
        (SELECT MIN(late_dine_in_s) AS t FROM stations \
        UNION ALL SELECT MIN(late_takeaway_s) FROM stations \
        UNION ALL SELECT MIN(late_qr_s) FROM stations) AS thresholds) \
    AND o.status IN ('placed', 'in_progress') \
    AND l.start_at + 1000 * (CASE o.source \
        WHEN 'takeaway' THEN s.late_takeaway_s \
        WHEN 'qr' THEN s.late_qr_s ELSE s.late_dine_in_s END) <= $1 \
    AND NOT EXISTS (SELECT 1 FROM kitchen_ticket_alarms a \
        WHERE a.restaurant_id = l.restaurant_id AND a.order_id = l.order_id \
        AND a.station_id = l.station_id) \
    GROUP BY l.restaurant_id, l.order_id ORDER BY 3, 1, 2 LIMIT $2";

/// One ticket that went late: its key and the event that says so.
pub struct TicketAlarm {
    pub order_id: i64,
    pub station_id: i64,
    pub event: EventDraft,
}

impl Store {
    /// Orders of any restaurant with a ticket that has fired lines queued
    /// or preparing, no alarm yet, and one of those lines meant to start at
    /// least its station's late threshold (for the order's source) before
    /// `now`: oldest first, at most `limit`, as (restaurant, order). This
    /// is the SQL form of `app::timers::clock_start` (the earliest start of
    /// the ticket's open fired lines), so every candidate is late and held
    /// lines never crowd the batch; the caller decides all the same.
    pub async fn late_ticket_candidates(
        &self,
        now: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<(i64, i64)>> {
        let rows: Vec<(i64, i64, i64)> = on_db!(self, |pool| sqlx::query_as(LATE_CANDIDATES)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(|(r, order, _)| (r, order)).collect())
    }

    /// Records the alarms of restaurant `r` not recorded yet (by any
    /// instance) and appends their events, in one transaction: each
    /// ticket's event is appended once. Returns the events appended.
    pub async fn raise_ticket_alarms(
        &self,
        r: i64,
        mut alarms: Vec<TicketAlarm>,
        now: i64,
    ) -> sqlx::Result<Vec<Event>> {
        // One order of inserts for every writer: two instances racing on the
        // same tickets wait for each other instead of deadlocking.
        alarms.sort_by_key(|a| (a.order_id, a.station_id));
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let mut drafts = Vec::new();
            for alarm in alarms {
                let inserted = sqlx::query(
                    "INSERT INTO kitchen_ticket_alarms \
                     (restaurant_id, order_id, station_id, late_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(r)
                .bind(alarm.order_id)
                .bind(alarm.station_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 1 {
                    drafts.push(alarm.event);
                }
            }
            let events = tx.append_events(r, drafts, now).await?;
            tx.commit().await?;
            Ok(events)
        })
    }

    /// The all-day counts of restaurant `r` with the seq they reflect.
    pub async fn all_day_counts(&self, r: i64) -> sqlx::Result<(u64, Vec<AllDayCount>)> {
        on_db!(self, |pool| {
            let mut tx = pool.begin_snapshot().await?;
            let seq: i64 = sqlx::query_scalar("SELECT event_seq FROM restaurants WHERE id = $1")
                .bind(r)
                .fetch_optional(&mut *tx)
                .await?
                .unwrap_or(0);
            let rows: Vec<AllDayRow> = sqlx::query_as(ALL_DAY).bind(r).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok((seq as u64, all_day(rows)))
        })
    }
}
