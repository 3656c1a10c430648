//! Reading the statistics: the live dashboard, and analytics over a range.
//!
//! Counted figures come from `hourly_stats` and `item_stats`, which the
//! order transactions keep exact, and money from the checks' stored
//! figures, payments and refunds ([`super::money`]); the live state (open
//! orders, station queues, tables, stock) and kitchen times from indexed
//! aggregate queries.
//! Each read is one snapshot transaction, so its numbers and its seq agree.

use chrono::NaiveDate;
use restohub_protocol::api::analytics::{
    Amount, Analytics, Bucket, DashboardStats, Figures, GroupBy, HourCount, ItemSales, ItemStock,
    KitchenTimes, OldestTicket, OpenOrders, StationQueue,
};
use restohub_protocol::Timestamp;

use super::{BeginWrite, Store};
use crate::stats::{self, Counters, HOUR_MS};

const COUNTERS: &str = "CAST(COALESCE(SUM(orders), 0) AS BIGINT) AS orders, \
    CAST(COALESCE(SUM(booked_cents), 0) AS BIGINT) AS booked_cents, \
    CAST(COALESCE(SUM(closed_orders), 0) AS BIGINT) AS closed_orders, \
    CAST(COALESCE(SUM(closed_cents), 0) AS BIGINT) AS closed_cents, CAST(COALESCE(SUM(cancelled), \
    0) AS BIGINT) AS cancelled, CAST(COALESCE(SUM(cancelled_cents), 0) AS BIGINT) AS \
    cancelled_cents, CAST(COALESCE(SUM(voided), 0) AS BIGINT) AS voided, \
    CAST(COALESCE(SUM(voided_cents), 0) AS BIGINT) AS voided_cents";

/// Orders whose kitchen time counts.
const MEASURED: &str = "restaurant_id = $1 AND business_day BETWEEN $2 \
    AND $3 AND status <> 'cancelled' AND ready_at IS NOT NULL";

/// Per station, today's (`$2`) done tickets of restaurant `$1` and the sum
/// of their times: a ticket is an order's lines at one station, done when
/// every line not voided has a `ready_at`, timed from the order's
/// placement to its last line's `ready_at`.
const TICKET_TIMES: &str = "SELECT station_id, COUNT(*), CAST(COALESCE(SUM(took), 0) AS BIGINT) \
    FROM (SELECT l.station_id, MAX(l.ready_at) - MIN(o.created_at) AS took \
    FROM order_lines l JOIN orders o ON o.restaurant_id = l.restaurant_id AND o.id = l.order_id \
    WHERE o.restaurant_id = $1 AND o.business_day = $2 AND o.status <> 'cancelled' \
    AND l.station_id IS NOT NULL AND l.status <> 'voided' \
    GROUP BY l.station_id, l.order_id HAVING COUNT(*) = COUNT(l.ready_at)) t \
    GROUP BY station_id";

/// The figures of the business days `$from..=$to`: counters summed, kitchen
/// times counted, and the 90th percentile read at its rank.
macro_rules! figures_between {
    ($tx:expr, $r:expr, $from:expr, $to:expr) => {{
        let counters: Counters = sqlx::query_as(&format!(
            "SELECT {COUNTERS} FROM hourly_stats WHERE restaurant_id = $1 \
             AND business_day BETWEEN $2 AND $3"
        ))
        .bind($r)
        .bind($from)
        .bind($to)
        .fetch_one(&mut *$tx)
        .await?;
        let (measured, total): (i64, i64) = sqlx::query_as(&format!(
            "SELECT COUNT(*), CAST(COALESCE(SUM(ready_at - created_at), 0) AS BIGINT) \
             FROM orders WHERE {MEASURED}"
        ))
        .bind($r)
        .bind($from)
        .bind($to)
        .fetch_one(&mut *$tx)
        .await?;
        let p90: Option<i64> = if measured == 0 {
            None
        } else {
            sqlx::query_scalar(&format!(
                "SELECT ready_at - created_at FROM orders WHERE {MEASURED} \
                 ORDER BY 1 LIMIT 1 OFFSET $4"
            ))
            .bind($r)
            .bind($from)
            .bind($to)
            .bind(stats::p90_index(measured))
            .fetch_optional(&mut *$tx)
            .await?
        };
        let kitchen = KitchenTimes {
            orders: measured,
            average_ms: (measured > 0).then(|| stats::rounded_div(total, measured)),
            p90_ms: p90,
        };
        figures(counters, kitchen)
    }};
}

/// The top 10 items of the business days `$from..=$to` by `$by`.
macro_rules! top_items {
    ($tx:expr, $r:expr, $from:expr, $to:expr, $by:literal) => {{
        let rows: Vec<(i64, String, i64, i64)> = sqlx::query_as(concat!(
            "SELECT s.menu_item_id, m.name, CAST(SUM(s.qty) AS BIGINT), CAST(SUM(s.revenue_cents) \
             AS BIGINT) FROM item_stats s JOIN menu_items m ON m.restaurant_id = s.restaurant_id \
             AND m.id = s.menu_item_id WHERE s.restaurant_id = $1 \
             AND s.business_day BETWEEN $2 AND $3 GROUP BY s.menu_item_id, m.name \
             HAVING SUM(s.qty) > 0 ORDER BY SUM(s.",
            $by,
            ") DESC, s.menu_item_id LIMIT 10"
        ))
        .bind($r)
        .bind($from)
        .bind($to)
        .fetch_all(&mut *$tx)
        .await?;
        rows.into_iter()
            .map(|(menu_item_id, name, qty, revenue_cents)| ItemSales {
                menu_item_id,
                name,
                qty,
                revenue_cents,
            })
            .collect::<Vec<_>>()
    }};
}

fn figures(c: Counters, kitchen: KitchenTimes) -> Figures {
    Figures {
        orders: c.orders,
        revenue_closed_cents: c.closed_cents,
        revenue_open_cents: c.booked_cents - c.closed_cents,
        average_order_cents: (c.orders > 0).then(|| stats::rounded_div(c.booked_cents, c.orders)),
        cancellations: Amount {
            count: c.cancelled,
            cents: c.cancelled_cents,
        },
        voids: Amount {
            count: c.voided,
            cents: c.voided_cents,
        },
        kitchen,
    }
}

/// Kitchen times from a sorted list of them.
fn kitchen_of(sorted: &[i64]) -> KitchenTimes {
    let n = sorted.len() as i64;
    KitchenTimes {
        orders: n,
        average_ms: (n > 0).then(|| stats::rounded_div(sorted.iter().sum(), n)),
        p90_ms: sorted.get(stats::p90_index(n) as usize).copied(),
    }
}

#[derive(sqlx::FromRow)]
struct HourRow {
    business_day: String,
    hour_start: i64,
    #[sqlx(flatten)]
    counters: Counters,
}

#[derive(sqlx::FromRow)]
struct ItemStockRow {
    id: i64,
    name: String,
    stock: Option<i64>,
    low_stock_threshold: i64,
}

impl From<ItemStockRow> for ItemStock {
    fn from(r: ItemStockRow) -> ItemStock {
        ItemStock {
            menu_item_id: r.id,
            name: r.name,
            stock: r.stock,
            low_stock_threshold: r.low_stock_threshold,
        }
    }
}

/// An analytics request, already validated.
#[derive(Debug, Clone, Copy)]
pub struct AnalyticsRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: GroupBy,
    /// Buckets starting after this instant (UTC ms).
    pub after: Option<i64>,
    pub limit: usize,
}

impl Store {
    /// The dashboard of restaurant `r` at `now`; `None` for no restaurant.
    pub async fn dashboard(&self, r: i64, now: i64) -> sqlx::Result<Option<DashboardStats>> {
        on_db!(self, |pool| {
            let mut tx = pool.begin_snapshot().await?;
            let head: Option<(i64, String)> =
                sqlx::query_as("SELECT event_seq, timezone FROM restaurants WHERE id = $1")
                    .bind(r)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((seq, timezone)) = head else {
                return Ok(None);
            };
            let tz = stats::zone(&timezone);
            let (today, hour) = stats::business_hour(tz, now);
            let figures = figures_between!(tx, r, &today, &today);
            let money = money_between!(tx, r, &today, &today);
            let top_by_qty = top_items!(tx, r, &today, &today, "qty");
            let top_by_revenue = top_items!(tx, r, &today, &today, "revenue_cents");
            let by_status: Vec<(String, i64)> = sqlx::query_as(
                "SELECT status, COUNT(*) FROM orders WHERE restaurant_id = $1 \
                 AND status IN ('placed', 'in_progress', 'ready', 'served') \
                 GROUP BY status",
            )
            .bind(r)
            .fetch_all(&mut *tx)
            .await?;
            let slowest: Option<(i64, i64)> = sqlx::query_as(
                "SELECT id, created_at FROM orders WHERE restaurant_id = $1 \
                 AND status IN ('placed', 'in_progress') ORDER BY created_at, id \
                 LIMIT 1",
            )
            .bind(r)
            .fetch_optional(&mut *tx)
            .await?;
            let stations: Vec<(i64, String, i64, i64, Option<i64>)> = sqlx::query_as(
                "SELECT s.id, s.name, COUNT(DISTINCT l.order_id), COUNT(l.id), MIN(o.created_at) \
                 FROM stations s LEFT JOIN order_lines l ON l.restaurant_id = s.restaurant_id \
                 AND l.station_id = s.id AND l.status IN ('queued', 'preparing') \
                 LEFT JOIN orders o ON o.restaurant_id = l.restaurant_id \
                 AND o.id = l.order_id WHERE s.restaurant_id = $1 \
                 GROUP BY s.id, s.name ORDER BY s.id",
            )
            .bind(r)
            .fetch_all(&mut *tx)
            .await?;
            let ticket_times: Vec<(i64, i64, i64)> = sqlx::query_as(TICKET_TIMES)
                .bind(r)
                .bind(&today)
                .fetch_all(&mut *tx)
                .await?;
            let (tables_occupied, covers): (i64, i64) = sqlx::query_as(
                "SELECT COUNT(*), CAST(COALESCE(SUM(seats), 0) AS BIGINT) \
                 FROM dining_tables WHERE restaurant_id = $1 AND status = 'occupied'",
            )
            .bind(r)
            .fetch_one(&mut *tx)
            .await?;
            let eighty_sixed: Vec<ItemStockRow> = sqlx::query_as(
                "SELECT id, name, stock, low_stock_threshold FROM menu_items \
                 WHERE restaurant_id = $1 AND available = FALSE \
                 ORDER BY id",
            )
            .bind(r)
            .fetch_all(&mut *tx)
            .await?;
            let low_stock: Vec<ItemStockRow> = sqlx::query_as(
                "SELECT id, name, stock, low_stock_threshold FROM menu_items \
                 WHERE restaurant_id = $1 AND available = TRUE \
                 AND stock IS NOT NULL AND stock <= low_stock_threshold \
                 ORDER BY id",
            )
            .bind(r)
            .fetch_all(&mut *tx)
            .await?;
            let first_hour = hour - 23 * HOUR_MS;
            let hours: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT hour_start, orders FROM hourly_stats WHERE restaurant_id = $1 \
                 AND hour_start BETWEEN $2 AND $3",
            )
            .bind(r)
            .bind(first_hour)
            .bind(hour)
            .fetch_all(&mut *tx)
            .await?;
            tx.rollback().await?;
            let count = |status: &str| {
                by_status
                    .iter()
                    .find(|(s, _)| s == status)
                    .map_or(0, |(_, n)| *n)
            };
            let ticket = |(order_id, placed_at): (i64, i64)| OldestTicket {
                order_id,
                placed_at: Timestamp(placed_at),
                age_ms: now - placed_at,
            };
            Ok(Some(DashboardStats {
                restaurant_id: r,
                seq: seq as u64,
                at: Timestamp(now),
                timezone,
                business_day: today,
                today: figures,
                money,
                top_by_qty,
                top_by_revenue,
                open_orders: OpenOrders {
                    placed: count("placed"),
                    in_progress: count("in_progress"),
                    ready: count("ready"),
                    served: count("served"),
                },
                slowest_open_ticket: slowest.map(ticket),
                stations: stations
                    .into_iter()
                    .map(|(station_id, name, tickets, lines, oldest)| {
                        let (done, total) = ticket_times
                            .iter()
                            .find(|(s, _, _)| *s == station_id)
                            .map_or((0, 0), |&(_, done, total)| (done, total));
                        StationQueue {
                            station_id,
                            name,
                            tickets,
                            lines,
                            oldest_placed_at: oldest.map(Timestamp),
                            oldest_age_ms: oldest.map(|t| now - t),
                            tickets_done_today: done,
                            average_ticket_ms: (done > 0).then(|| stats::rounded_div(total, done)),
                        }
                    })
                    .collect(),
                tables_occupied,
                covers,
                eighty_sixed: eighty_sixed.into_iter().map(Into::into).collect(),
                low_stock: low_stock.into_iter().map(Into::into).collect(),
                orders_per_hour: stats::hour_starts(tz, first_hour, hour + 1)
                    .into_iter()
                    .map(|start| HourCount {
                        hour_start: Timestamp(start),
                        orders: hours
                            .iter()
                            .find(|(h, _)| *h == start)
                            .map_or(0, |(_, n)| *n),
                    })
                    .collect(),
            }))
        })
    }

    /// Analytics of restaurant `r` over business days; `None` for no
    /// restaurant.
    pub async fn analytics(&self, r: i64, q: &AnalyticsRange) -> sqlx::Result<Option<Analytics>> {
        on_db!(self, |pool| {
            let mut tx = pool.begin_snapshot().await?;
            let timezone: Option<String> =
                sqlx::query_scalar("SELECT timezone FROM restaurants WHERE id = $1")
                    .bind(r)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(timezone) = timezone else {
                return Ok(None);
            };
            let tz = stats::zone(&timezone);
            let (from, to) = (q.from.to_string(), q.to.to_string());
            let mut page: Vec<(i64, String)> = buckets(tz, q)
                .into_iter()
                .filter(|(start, _)| q.after.is_none_or(|after| *start > after))
                .take(q.limit + 1)
                .collect();
            let next_after = (page.len() > q.limit).then(|| Timestamp(page[q.limit - 1].0));
            page.truncate(q.limit);
            let totals = figures_between!(tx, r, &from, &to);
            let money = money_between!(tx, r, &from, &to);
            let top_by_qty = top_items!(tx, r, &from, &to, "qty");
            let top_by_revenue = top_items!(tx, r, &from, &to, "revenue_cents");
            let (mut hours, mut took) = (Vec::new(), Vec::new());
            if let (Some(first), Some(last)) = (page.first(), page.last()) {
                hours = sqlx::query_as::<_, HourRow>(&format!(
                    "SELECT business_day, hour_start, {COUNTERS} \
                     FROM hourly_stats WHERE restaurant_id = $1 AND business_day BETWEEN $2 \
                     AND $3 GROUP BY business_day, hour_start"
                ))
                .bind(r)
                .bind(&first.1)
                .bind(&last.1)
                .fetch_all(&mut *tx)
                .await?;
                took = sqlx::query_as::<_, (String, i64, i64)>(&format!(
                    "SELECT business_day, hour_start, ready_at - created_at \
                     FROM orders WHERE {MEASURED} ORDER BY 3"
                ))
                .bind(r)
                .bind(&first.1)
                .bind(&last.1)
                .fetch_all(&mut *tx)
                .await?;
            }
            tx.rollback().await?;
            let in_bucket = |day: &str, hour: i64, bucket: &(i64, String)| match q.group_by {
                GroupBy::Day => day == bucket.1,
                GroupBy::Hour => hour == bucket.0,
            };
            let buckets = page
                .iter()
                .map(|bucket| {
                    let counters = hours
                        .iter()
                        .filter(|h| in_bucket(&h.business_day, h.hour_start, bucket))
                        .fold(Counters::default(), |sum, h| sum.plus(h.counters));
                    let times: Vec<i64> = took
                        .iter()
                        .filter(|(day, hour, _)| in_bucket(day, *hour, bucket))
                        .map(|(_, _, t)| *t)
                        .collect();
                    Bucket {
                        start: Timestamp(bucket.0),
                        business_day: bucket.1.clone(),
                        figures: figures(counters, kitchen_of(&times)),
                    }
                })
                .collect();
            Ok(Some(Analytics {
                from,
                to,
                timezone,
                group_by: q.group_by,
                totals,
                money,
                top_by_qty,
                top_by_revenue,
                buckets,
                next_after,
            }))
        })
    }
}

/// Every bucket of the range: (start in UTC ms, business day).
fn buckets(tz: chrono_tz::Tz, q: &AnalyticsRange) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for day in q.from.iter_days().take_while(|d| *d <= q.to) {
        let start = stats::day_start(tz, day);
        match q.group_by {
            GroupBy::Day => out.push((start, day.to_string())),
            GroupBy::Hour => {
                let end = day
                    .succ_opt()
                    .map_or(start + 24 * HOUR_MS, |next| stats::day_start(tz, next));
                out.extend(
                    stats::hour_starts(tz, start, end)
                        .into_iter()
                        .map(|h| (h, day.to_string())),
                );
            }
        }
    }
    out
}
