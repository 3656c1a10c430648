//! Statistics: the live dashboard pushed to `dashboard:{r}` and the
//! analytics endpoint over any range. Both use the definitions below.
//!
//! - An order belongs to the **business day** (and local hour) in which it
//!   was placed, in the restaurant's time zone, whatever time it is closed.
//! - A line's **value** is `unit_price_cents × qty`.
//! - **orders**: orders placed, not counting cancelled ones.
//! - **revenue_closed_cents**: value of the lines not voided of closed orders;
//!   **revenue_open_cents**: the same for orders neither closed nor cancelled.
//! - **average_order_cents**: (closed + open revenue) / orders, rounded to
//!   the nearest cent (half up); absent with no orders.
//! - **cancellations**: cancelled orders, valued at every line they had;
//!   **voids**: voided lines of orders that are not cancelled.
//! - **kitchen time**: ready minus placed, for orders that are not cancelled
//!   and are ready (or served or closed) now; the ready time is the last time
//!   the order became ready. `p90_ms` is the nearest-rank 90th percentile.
//! - **top items**: quantity and value of lines not voided of orders not
//!   cancelled, per menu item; ties by menu item id.
//!
//! Money ([`MoneyFigures`]) comes from checks and payments, not orders: a
//! check's figures are the ones the hub computed and stored with it, a
//! payment or refund belongs to the business day on which it was taken,
//! and a check's sales to the business day on which it became paid.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// A number of things and what they were worth.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Amount {
    pub count: i64,
    pub cents: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KitchenTimes {
    /// Orders measured.
    pub orders: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ItemSales {
    pub menu_item_id: i64,
    pub name: String,
    pub qty: i64,
    pub revenue_cents: i64,
}

/// The numbers of one period (a day, an hour, or a whole range).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Figures {
    pub orders: i64,
    pub revenue_closed_cents: i64,
    pub revenue_open_cents: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_order_cents: Option<i64>,
    pub cancellations: Amount,
    pub voids: Amount,
    pub kitchen: KitchenTimes,
}

/// Open orders now, by status (whatever day they were placed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OpenOrders {
    pub placed: i64,
    pub in_progress: i64,
    pub ready: i64,
    pub served: i64,
}

/// The open order waiting longest for the kitchen (placed or in progress).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OldestTicket {
    pub order_id: i64,
    pub placed_at: Timestamp,
    /// Age at the snapshot's `at`.
    pub age_ms: i64,
}

/// A station's queue: lines queued or being prepared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StationQueue {
    pub station_id: i64,
    pub name: String,
    /// Orders with at least one such line.
    pub tickets: i64,
    pub lines: i64,
    /// When the oldest of those orders was placed, and its age at `at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_placed_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_age_ms: Option<i64>,
    /// Today's tickets at this station that are done (every line ready,
    /// served or voided), and their average time from the order's
    /// placement to the last line ready; absent before the first.
    pub tickets_done_today: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_ticket_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ItemStock {
    pub menu_item_id: i64,
    pub name: String,
    /// `null` for an item whose stock is not tracked.
    pub stock: Option<i64>,
    pub low_stock_threshold: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HourCount {
    /// The local hour's start.
    pub hour_start: Timestamp,
    pub orders: i64,
}

/// Payments taken with one method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MethodTotals {
    /// Payments recorded.
    pub count: i64,
    /// What they paid toward checks, tips not included.
    pub amount_cents: i64,
    /// The tips given with them.
    pub tip_cents: i64,
}

/// Payments of the period by method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentsByMethod {
    pub cash: MethodTotals,
    pub card: MethodTotals,
    pub other: MethodTotals,
}

/// Checks still open (`open` or `partially_paid`) now, whatever day they
/// were opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OpenChecks {
    pub count: i64,
    /// What is still owed on them: Σ (`total_cents` − `paid_cents`), with
    /// each check's total as last computed.
    pub due_cents: i64,
}

/// The money of a period (a business day, or a range of them), exact in
/// minor units of the restaurant's currency.
///
/// **Sales** are counted from the *paid checks of the period*: checks now
/// `paid` or `closed` whose business day of payment (the day they became
/// paid in full) is in the period. A voided check is not counted; a
/// reopened check counts again on the day it is paid again. Refunds do not
/// change sales: they are counted apart, on the day they were given.
/// **Payments**, **tips** and **refunds** are counted on the business day
/// they were recorded, whatever the state of their check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MoneyFigures {
    /// Σ `subtotal_cents` (line prices × quantities, before discounts) of
    /// the paid checks of the period.
    pub gross_sales_cents: i64,
    /// Σ discounts that are not comps, of the same checks.
    pub discounts_cents: i64,
    /// Σ comps (items given away) of the same checks.
    pub comps_cents: i64,
    /// `gross_sales_cents − discounts_cents − comps_cents`: what the lines
    /// sold for. Tax included in menu prices is still in it; the service
    /// charge and added tax are not.
    pub net_sales_cents: i64,
    /// Σ service charge of the same checks.
    pub service_cents: i64,
    /// Σ tax of the same checks, included (in menu prices) and added alike.
    pub tax_cents: i64,
    /// Σ tips of the payments of the period.
    pub tips_cents: i64,
    /// Σ refunds given in the period (of amounts and tips alike).
    pub refunds_cents: i64,
    /// The payments of the period, by method.
    pub payments: PaymentsByMethod,
    /// How many paid checks the period has.
    pub paid_checks: i64,
    /// Σ `total_cents` of the paid checks of the period / `paid_checks`,
    /// rounded down; 0 with none.
    pub average_check_cents: i64,
    /// Checks open now (not of the period).
    pub open_checks: OpenChecks,
}

/// The live dashboard of `dashboard:{r}`: today's figures and the floor and
/// kitchen as they are now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DashboardStats {
    pub restaurant_id: i64,
    /// Every event up to this seq is reflected, and none after it.
    pub seq: u64,
    /// When the snapshot was taken; ages are as of this instant.
    pub at: Timestamp,
    pub timezone: String,
    /// Today, in the restaurant's time zone (`YYYY-MM-DD`).
    pub business_day: String,
    pub today: Figures,
    /// Today's money, and the checks open now.
    pub money: MoneyFigures,
    /// Top 10 of today's items by quantity, then by revenue.
    pub top_by_qty: Vec<ItemSales>,
    pub top_by_revenue: Vec<ItemSales>,
    pub open_orders: OpenOrders,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slowest_open_ticket: Option<OldestTicket>,
    /// Every station, in id order.
    pub stations: Vec<StationQueue>,
    pub tables_occupied: i64,
    /// Seats at the occupied tables (orders do not record party size).
    pub covers: i64,
    /// Items not available (86'd by hand or sold out).
    pub eighty_sixed: Vec<ItemStock>,
    /// Tracked items still available with stock at or below their threshold.
    pub low_stock: Vec<ItemStock>,
    /// Orders per local hour, the last 24 hours, oldest first; the last
    /// entry is the current hour.
    pub orders_per_hour: Vec<HourCount>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Hour,
    Day,
}

/// `GET /api/v1/analytics`: `from` and `to` are local dates (inclusive, at
/// most 366 days); buckets are paged with `after` and `limit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsQuery {
    /// The first business day, `YYYY-MM-DD`.
    #[schemars(extend("format" = "date"))]
    pub from: String,
    /// The last business day, `YYYY-MM-DD`.
    #[schemars(extend("format" = "date"))]
    pub to: String,
    #[serde(default = "day")]
    pub group_by: GroupBy,
    /// The `start` (RFC 3339) of the last bucket of the previous page.
    #[serde(default)]
    pub after: Option<Timestamp>,
    #[serde(default)]
    pub limit: Option<u32>,
}

fn day() -> GroupBy {
    GroupBy::Day
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Bucket {
    pub start: Timestamp,
    /// The business day the bucket is in (`YYYY-MM-DD`).
    pub business_day: String,
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Analytics {
    pub from: String,
    pub to: String,
    pub timezone: String,
    pub group_by: GroupBy,
    /// The whole range.
    pub totals: Figures,
    /// The whole range's money, and the checks open now.
    pub money: MoneyFigures,
    pub top_by_qty: Vec<ItemSales>,
    pub top_by_revenue: Vec<ItemSales>,
    /// One page of buckets, every bucket of the range present (empty ones
    /// with zeros), in time order.
    pub buckets: Vec<Bucket>,
    /// Pass as `after` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<Timestamp>,
}
