//! Placing an order: storage reads the facts a placement is decided from,
//! hands them to the caller's decision, and executes what it decided in one
//! transaction. It decides nothing itself: which items may be ordered, the
//! lines, totals, stock to take, the table change, statistics and events are
//! all the caller's (`app/orders/plan.rs`), and arrive here as a
//! [`PlacementWrite`] inside a [`PlacementPlan`].
//!
//! The seam is a trait rather than a value because two of the events depend
//! on conditional statements that only the transaction can run: the stock
//! left after a conditional atomic decrement (`stock >= q`, never an
//! optimistic retry, so under contention an order fails only when stock is
//! really short), and whether the table was still free when this placement
//! turned it occupied (of concurrent first orders, exactly one does). The
//! plan's [`PlacementPlan::placed`] is pure; storage calls it with those
//! outcomes and the ids it drew. The decision itself is taken inside the
//! transaction, from facts read in it, because a second round trip (on
//! PostgreSQL) or a second hop to SQLite's writer would cost the measured
//! latency (BENCHMARKS.md).
//!
//! Stock is taken per item in item-id order, so concurrent placements cannot
//! deadlock. Each backend runs the plan in as few statements as it needs:
//! SQLite one statement at a time on the writer's handle ([`sqlite`]),
//! PostgreSQL as a read and a write ([`postgres`]). The events are appended
//! with the statements every write shares ([`super::append`]).

mod batch;
mod menus;
mod postgres;
mod sqlite;

pub(crate) use batch::Queues;
pub(crate) use menus::Menus;

use std::collections::BTreeMap;

use restohub_protocol::api::modifiers::{AllergenSet, ChosenOption, ModifierGroup};
use restohub_protocol::api::orders::{LineStatus, Order, OrderSource, OrderStatus};
use restohub_protocol::api::stations::Targets;
use restohub_protocol::api::tables::TableStatus;
use restohub_protocol::Role;
use serde::Serialize;

use super::{Db, EventDraft, Store, TableChange};
use crate::clock::Clock;
use crate::events::Event;
use crate::stats::Delta;

/// What storage needs to read before a placement is decided.
pub struct PlacementAsk<'a> {
    pub restaurant_id: i64,
    pub idempotency_key: &'a str,
    pub table_id: Option<i64>,
    /// The items wanted, in item-id order, each once.
    pub item_ids: &'a [i64],
    /// How many lines the order will have (PostgreSQL draws their ids in
    /// its opening read).
    pub line_count: usize,
    /// Read for the events' `at`, as they are appended just before the
    /// commit (after any wait for the restaurant's lane or the writer).
    pub clock: &'a dyn Clock,
}

/// A wanted menu item as the placement found it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemFacts {
    pub name: String,
    pub price_cents: i64,
    pub station_id: Option<i64>,
    /// `None`: not tracked.
    pub stock: Option<i64>,
    pub low_stock_threshold: i64,
    pub available: bool,
    /// Its category's course (1 without a category).
    pub course: i64,
    pub prep_seconds: i64,
    pub allergens: AllergenSet,
    /// Its modifier groups with their options, in display order.
    pub groups: Vec<ModifierGroup>,
}

/// What storage read, for the placement to be decided from.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacementFacts {
    /// The restaurant's time zone (its business day and hour).
    pub timezone: String,
    /// The asked table's status; `None` if no table was asked or there is
    /// no such table in the restaurant.
    pub table: Option<TableStatus>,
    /// The wanted items that exist in the restaurant.
    pub items: BTreeMap<i64, ItemFacts>,
    /// The restaurant's stations' ticket thresholds, by station id (read
    /// with the facts rather than in a round trip of their own).
    pub stations: Vec<(i64, Targets)>,
}

/// The order's row as placed (its id and `placed_seq` are storage's to give).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewOrder {
    pub restaurant_id: i64,
    pub table_id: Option<i64>,
    pub source: OrderSource,
    pub status: OrderStatus,
    pub note: String,
    pub total_cents: i64,
    pub placed_by_user: Option<i64>,
    pub placed_by_role: Role,
    pub idempotency_key: String,
    /// Fingerprint of the request, to tell a retry from a different order
    /// reusing the key.
    pub request_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub business_day: String,
    pub hour_start: i64,
    pub ready_at: Option<i64>,
}

/// A line's row as placed (its ids are storage's to give). A new column is
/// a field here, its column in SQLite's insert (`placement/sqlite.rs`) and
/// a migration per backend: PostgreSQL takes the rows as JSON records named
/// by these fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewLine {
    pub menu_item_id: i64,
    pub station_id: Option<i64>,
    pub name: String,
    pub unit_price_cents: i64,
    pub qty: i64,
    pub note: String,
    /// Stored as JSON text.
    #[serde(serialize_with = "as_json_text")]
    pub modifiers: Vec<String>,
    pub status: LineStatus,
    pub seat: Option<i64>,
    pub course: i64,
    pub prep_seconds: i64,
    /// `None`: held.
    pub fired_at: Option<i64>,
    pub start_at: Option<i64>,
    /// Stored as JSON text.
    #[serde(serialize_with = "as_json_text")]
    pub choices: Vec<ChosenOption>,
    /// Stored as a bit mask.
    #[serde(serialize_with = "as_bits")]
    pub allergens: AllergenSet,
}

fn as_bits<S: serde::Serializer>(value: &AllergenSet, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(value.bits())
}

fn as_json_text<T: Serialize, S: serde::Serializer>(value: &[T], s: S) -> Result<S::Ok, S::Error> {
    let text = serde_json::to_string(value).map_err(serde::ser::Error::custom)?;
    s.serialize_str(&text)
}

/// Stock to take from a tracked item.
#[derive(Debug, Clone, PartialEq)]
pub struct StockTake {
    pub menu_item_id: i64,
    pub qty: i64,
}

/// What a placement writes, decided before any of it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacementWrite {
    pub order: NewOrder,
    pub lines: Vec<NewLine>,
    /// In item-id order.
    pub take: Vec<StockTake>,
    /// A table to change, if it still has the status the plan saw.
    pub table: Option<TableChange>,
    pub stats: Delta,
}

/// What running a [`PlacementWrite`] gave and found.
#[derive(Debug, Clone, PartialEq)]
pub struct Written<'a> {
    pub order_id: i64,
    /// The lines' ids, in the order of [`PlacementWrite::lines`].
    pub line_ids: &'a [i64],
    /// Each take's stock after it, in the order of [`PlacementWrite::take`].
    pub stock_after: &'a [i64],
    /// The table still had the status the plan saw, and this placement
    /// changed it.
    pub table_changed: bool,
    /// The restaurant's table ids when stock was taken (guests at every
    /// table see stock), else empty.
    pub tables: &'a [i64],
}

/// The placed order and the events that record it.
#[derive(Debug, Clone)]
pub struct Placed {
    pub order: Order,
    pub events: Vec<EventDraft>,
    /// Which event carries the order as its data: its seq is the order's
    /// `placed_seq`, written into the order, its row and that event's data.
    pub order_event: usize,
}

/// A decided placement, as storage executes it (see the module doc).
pub trait PlacementPlan {
    fn write(&self) -> &PlacementWrite;
    /// The placed order and its events from what the write gave and found;
    /// pure (it may run inside the transaction).
    fn placed(&self, written: &Written<'_>) -> Placed;
}

#[derive(Debug)]
pub enum PlaceOutcome<R> {
    /// Written: the order (with its `placed_seq`) and its logged events.
    Placed {
        order: Order,
        events: Vec<Event>,
        /// The order's table had an open check when the order was written,
        /// so the check should take it in. Read by the write itself (no
        /// round trip of its own); a check opened while the order was
        /// written may be missed, as a read after the commit could miss
        /// one opened while it ran: the check's next change counts every
        /// order of its table anyway.
        open_check: bool,
    },
    /// The key was used before: its order, and the hash of the request
    /// that placed it.
    Existing { order: Order, request_hash: String },
    /// Some stock was short; nothing was written.
    OutOfStock(Vec<Shortage>),
    /// The decision refused the order; nothing was written.
    Refused(R),
}

/// A take that found too little stock; its name and the stock left are
/// read after the placement ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortage {
    pub menu_item_id: i64,
    pub name: String,
    pub requested: i64,
    /// `None`: no longer tracked.
    pub available: Option<i64>,
}

// The statements both backends run, the same text.
/// The restaurant's timezone, and the order already placed with this key.
const OPENING: &str = "SELECT r.timezone, o.id, o.request_hash FROM restaurants r \
    LEFT JOIN orders o ON o.restaurant_id = r.id AND o.idempotency_key = $2 \
    WHERE r.id = $1";
const BY_KEY: &str = "SELECT id, request_hash FROM orders WHERE restaurant_id = $1 \
    AND idempotency_key = $2";
const TABLE_STATUS: &str = "SELECT status FROM dining_tables WHERE restaurant_id = $1 \
    AND id = $2";
/// Sets the table's status `$4` if it is still `$3`; a row only if it was.
/// Of concurrent first orders on a free table exactly one gets the row
/// (PostgreSQL re-checks `status` on the row version it waited for).
const CHANGE_TABLE: &str = "UPDATE dining_tables SET status = $4 WHERE restaurant_id = $1 \
    AND id = $2 AND status = $3 RETURNING id";
const ITEM: &str = "SELECT m.name, m.price_cents, m.station_id, m.stock, m.low_stock_threshold, \
    m.available, COALESCE(c.course, 1), m.prep_seconds, m.allergens FROM menu_items m \
    LEFT JOIN menu_categories c ON c.restaurant_id = m.restaurant_id AND c.id = m.category_id \
    WHERE m.restaurant_id = $1 AND m.id = $2";
/// Takes stock if there is enough; the item sells out (`available` off)
/// when it reaches zero. SET reads the row's old values on both backends.
const TAKE_STOCK: &str = "UPDATE menu_items SET stock = stock - $3, available = available \
    AND stock > $3 WHERE restaurant_id = $1 AND id = $2 AND stock >= $3 \
    RETURNING stock";
pub(super) const TABLE_IDS: &str =
    "SELECT id FROM dining_tables WHERE restaurant_id = $1 ORDER BY id";
/// Whether the table `$2` has an open check (SQLite's; PostgreSQL's is a
/// column of its write).
const OPEN_CHECK: &str = "SELECT EXISTS (SELECT 1 FROM checks WHERE restaurant_id = $1 \
    AND table_id = $2 AND table_id IS NOT NULL AND status IN ('open', 'partially_paid'))";
const STOCK_LEFT: &str = "SELECT name, stock FROM menu_items WHERE restaurant_id = $1 \
    AND id = $2";

/// How the placement's transaction ended; an `Existing` order and the
/// stock left for shortages are read after it.
enum Step<R> {
    Done(PlaceOutcome<R>),
    Existing {
        id: i64,
        hash: String,
    },
    /// The takes short of stock.
    Short(Vec<StockTake>),
}

/// A table status as stored; an unknown value is a corrupt row.
pub(in crate::storage) fn table_status(
    restaurant: i64,
    table: i64,
    text: String,
) -> sqlx::Result<TableStatus> {
    TableStatus::try_from(text).map_err(|e| {
        super::corrupt(
            format!("dining table {table} of restaurant {restaurant}"),
            "status",
            e,
        )
    })
}

impl Store {
    /// Places an order in one transaction: reads the [`PlacementFacts`] for
    /// `ask`, lets `decide` plan the placement from them (or refuse it), and
    /// writes the plan with its events (stamped with `ask.clock` as they are
    /// appended, just before the commit).
    pub async fn place_order<P: PlacementPlan + Send + Sync + 'static, R>(
        &self,
        ask: &PlacementAsk<'_>,
        decide: impl FnOnce(&PlacementFacts) -> Result<P, R>,
    ) -> sqlx::Result<PlaceOutcome<R>> {
        let r = ask.restaurant_id;
        let step = match &self.db {
            Db::Sqlite { write, .. } => {
                let _turn = self.lane(r).await;
                let started = std::time::Instant::now();
                let step = sqlite::place(write, ask, decide).await?;
                self.meters
                    .took(crate::instruments::Transaction::PlaceOrder, started);
                step
            }
            // Timed from the opening read to the end of the batch that
            // wrote it (its wait in the restaurant's queue included).
            Db::Postgres(pool) => {
                let started = std::time::Instant::now();
                let step = postgres::place(self, pool, ask, decide).await?;
                self.meters
                    .took(crate::instruments::Transaction::PlaceOrder, started);
                step
            }
        };
        match step {
            Step::Done(outcome) => Ok(outcome),
            Step::Existing { id, hash } => {
                let order = self.order(r, id).await?.ok_or(sqlx::Error::RowNotFound)?;
                Ok(PlaceOutcome::Existing {
                    order,
                    request_hash: hash,
                })
            }
            Step::Short(short) => self.shortages(r, short).await,
        }
    }

    async fn shortages<R>(&self, r: i64, short: Vec<StockTake>) -> sqlx::Result<PlaceOutcome<R>> {
        let mut items = Vec::with_capacity(short.len());
        for take in short {
            let (name, left): (String, Option<i64>) =
                on_db!(self, |pool| sqlx::query_as(STOCK_LEFT)
                    .bind(r)
                    .bind(take.menu_item_id)
                    .fetch_one(pool)
                    .await)?;
            items.push(Shortage {
                menu_item_id: take.menu_item_id,
                name,
                requested: take.qty,
                available: left,
            });
        }
        Ok(PlaceOutcome::OutOfStock(items))
    }
}
