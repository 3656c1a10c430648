//! Reading orders back: one order with its lines, and counts.

use restohub_protocol::api::modifiers::AllergenSet;
use restohub_protocol::api::orders::{LineStatus, Order, OrderLine, OrderSource, OrderStatus};
use restohub_protocol::Timestamp;

use super::Store;

#[derive(sqlx::FromRow)]
pub(super) struct OrderRow {
    pub(super) id: i64,
    table_id: Option<i64>,
    #[sqlx(try_from = "String")]
    source: OrderSource,
    #[sqlx(try_from = "String")]
    status: OrderStatus,
    note: String,
    total_cents: i64,
    created_at: i64,
    placed_seq: i64,
    ready_at: Option<i64>,
    rush: bool,
    pub(super) business_day: String,
    pub(super) hour_start: i64,
    /// Who placed it (`None` for a guest): whom its readiness concerns.
    pub(super) placed_by_user: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub(super) struct LineRow {
    id: i64,
    menu_item_id: i64,
    station_id: Option<i64>,
    name: String,
    unit_price_cents: i64,
    qty: i64,
    note: String,
    modifiers: String,
    #[sqlx(try_from = "String")]
    status: LineStatus,
    seat: Option<i64>,
    course: i64,
    prep_seconds: i64,
    fired_at: Option<i64>,
    start_at: Option<i64>,
    started_at: Option<i64>,
    ready_at: Option<i64>,
    served_at: Option<i64>,
    void_reason: Option<String>,
    choices: String,
    allergens: i64,
}

/// The order from its row and its lines' rows; a line whose stored
/// modifiers, choices or allergens do not parse is an error naming the line.
pub(super) fn assemble(order: OrderRow, lines: Vec<LineRow>) -> sqlx::Result<Order> {
    let lines = lines
        .into_iter()
        .map(|l| {
            let what = || format!("order line {} of order {}", l.id, order.id);
            Ok(OrderLine {
                modifiers: super::decoded(&l.modifiers, "modifiers", what)?,
                choices: super::decoded(&l.choices, "choices", what)?,
                allergens: AllergenSet::try_from(l.allergens)
                    .map_err(|e| super::corrupt(what(), "allergens", e))?,
                id: l.id,
                menu_item_id: l.menu_item_id,
                station_id: l.station_id,
                name: l.name,
                unit_price_cents: l.unit_price_cents,
                qty: l.qty,
                note: l.note,
                status: l.status,
                seat: l.seat,
                course: l.course,
                prep_seconds: l.prep_seconds,
                fired_at: l.fired_at.map(Timestamp),
                start_at: l.start_at.map(Timestamp),
                started_at: l.started_at.map(Timestamp),
                ready_at: l.ready_at.map(Timestamp),
                served_at: l.served_at.map(Timestamp),
                void_reason: l.void_reason,
            })
        })
        .collect::<sqlx::Result<_>>()?;
    Ok(Order {
        id: order.id,
        table_id: order.table_id,
        source: order.source,
        status: order.status,
        note: order.note,
        total_cents: order.total_cents,
        created_at: Timestamp(order.created_at),
        placed_seq: order.placed_seq as u64,
        ready_at: order.ready_at.map(Timestamp),
        rush: order.rush,
        lines,
    })
}

pub(super) const ORDER_COLS: &str =
    "id, table_id, source, status, note, total_cents, created_at, placed_seq, ready_at, rush, \
     business_day, hour_start, placed_by_user";

/// A line's columns, as [`LineRow`] reads them.
pub(super) const LINE_COLS: &str =
    "id, menu_item_id, station_id, name, unit_price_cents, qty, note, modifiers, status, seat, \
     course, prep_seconds, fired_at, start_at, started_at, ready_at, served_at, void_reason, \
     choices, allergens";

impl Store {
    pub async fn order(&self, restaurant: i64, id: i64) -> sqlx::Result<Option<Order>> {
        let row: Option<OrderRow> = on_db!(self, |pool| sqlx::query_as(&format!(
            "SELECT {ORDER_COLS} FROM orders WHERE restaurant_id = $1 AND id = $2"
        ))
        .bind(restaurant)
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        let Some(row) = row else { return Ok(None) };
        let lines: Vec<LineRow> = on_db!(self, |pool| {
            sqlx::query_as(&format!(
                "SELECT {LINE_COLS} FROM order_lines WHERE restaurant_id = $1 \
                 AND order_id = $2 ORDER BY id"
            ))
            .bind(restaurant)
            .bind(id)
            .fetch_all(pool)
            .await
        })?;
        assemble(row, lines).map(Some)
    }

    /// How many orders the restaurant has (for tests and statistics).
    pub async fn order_count(&self, restaurant: i64) -> sqlx::Result<i64> {
        on_db!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM orders WHERE restaurant_id = $1"
        )
        .bind(restaurant)
        .fetch_one(pool)
        .await)
    }

    /// Ids of the restaurant's tables (availability events go to each).
    pub async fn table_ids(&self, restaurant: i64) -> sqlx::Result<Vec<i64>> {
        on_db!(self, |pool| sqlx::query_scalar(super::placement::TABLE_IDS)
            .bind(restaurant)
            .fetch_all(pool)
            .await)
    }
}
