//! The placement on SQLite: every statement on the writer's handle, in one
//! transaction, one hand-off to the writer for the whole placement (see
//! [`super::super::direct`]). A statement costs no round trip here, so the
//! facts are read and the plan written one statement at a time.

use std::collections::BTreeMap;

use restohub_protocol::api::modifiers::{AllergenSet, ModifierGroup};
use rusqlite::types::Type;
use rusqlite::Connection;
use sqlx::SqlitePool;

use super::{
    ItemFacts, PlaceOutcome, PlacementAsk, PlacementFacts, PlacementPlan, Step, Written,
    CHANGE_TABLE, ITEM, OPENING, OPEN_CHECK, TABLE_IDS, TABLE_STATUS, TAKE_STOCK,
};
use crate::storage::corrupt;
use crate::storage::direct::{self, End};
use crate::storage::modifiers::{groups_from, GroupRow, ITEM_GROUPS};
use crate::storage::stations;

const INSERT_ORDER: &str = "INSERT INTO orders (restaurant_id, table_id, source, status, note, \
    total_cents, placed_by_user, placed_by_role, idempotency_key, request_hash, placed_seq, \
    created_at, updated_at, business_day, hour_start, ready_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $13, $14, $15) \
    RETURNING id";
const INSERT_LINE: &str = "INSERT INTO order_lines (restaurant_id, order_id, menu_item_id, \
    station_id, name, unit_price_cents, qty, note, modifiers, status, seat, course, prep_seconds, \
    fired_at, start_at, choices, allergens) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id";
const SET_PLACED_SEQ: &str =
    "UPDATE orders SET placed_seq = $3 WHERE restaurant_id = $1 AND id = $2";

/// A conversion error of a value being bound or read.
fn conversion(e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, Type::Text, Box::new(e))
}

pub(super) async fn place<P: PlacementPlan, R>(
    pool: &SqlitePool,
    ask: &PlacementAsk<'_>,
    decide: impl FnOnce(&PlacementFacts) -> Result<P, R>,
) -> sqlx::Result<Step<R>> {
    direct::write(pool, |c| {
        let facts = match facts(c, ask)? {
            Ok(facts) => facts,
            Err(step) => return Ok(End::Rollback(step)),
        };
        let plan = match decide(&facts) {
            Ok(plan) => plan,
            Err(refused) => return Ok(End::Rollback(Step::Done(PlaceOutcome::Refused(refused)))),
        };
        write(c, ask, &plan)
    })
    .await
}

/// The facts, or the step that ends the placement before it is decided
/// (the key's order). A corrupt stored value is an error (logged with its
/// row by [`super::table_status`]).
fn facts<R>(
    c: &Connection,
    ask: &PlacementAsk<'_>,
) -> rusqlite::Result<Result<PlacementFacts, Step<R>>> {
    let r = ask.restaurant_id;
    let (timezone, id, hash): (String, Option<i64>, Option<String>) =
        direct::one(c, OPENING, &[&r, &ask.idempotency_key], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
    if let (Some(id), Some(hash)) = (id, hash) {
        return Ok(Err(Step::Existing { id, hash }));
    }
    let mut table = None;
    if let Some(t) = ask.table_id {
        let status: Option<String> =
            direct::optional(c, TABLE_STATUS, &[&r, &t], |row| row.get(0))?;
        if let Some(status) = status {
            table = Some(super::table_status(r, t, status).map_err(conversion)?);
        }
    }
    let mut items = BTreeMap::new();
    for &id in ask.item_ids {
        let item = direct::optional(c, ITEM, &[&r, &id], |row| {
            Ok(ItemFacts {
                name: row.get(0)?,
                price_cents: row.get(1)?,
                station_id: row.get(2)?,
                stock: row.get(3)?,
                low_stock_threshold: row.get(4)?,
                available: row.get(5)?,
                course: row.get(6)?,
                prep_seconds: row.get(7)?,
                allergens: AllergenSet::try_from(row.get::<_, i64>(8)?)
                    .map_err(|e| conversion(corrupt(format!("menu item {id}"), "allergens", e)))?,
                groups: Vec::new(),
            })
        })?;
        if let Some(mut item) = item {
            item.groups = groups(c, r, id)?;
            items.insert(id, item);
        }
    }
    let stations = direct::all(c, stations::TARGETS, &[&r], |row| {
        let t = |i| row.get::<_, i64>(i);
        Ok((
            row.get(0)?,
            stations::targets_from([t(1)?, t(2)?, t(3)?, t(4)?, t(5)?, t(6)?]),
        ))
    })?;
    Ok(Ok(PlacementFacts {
        timezone,
        table,
        items,
        stations,
    }))
}

/// An item's modifier groups (see [`crate::storage::modifiers`]).
fn groups(c: &Connection, r: i64, item: i64) -> rusqlite::Result<Vec<ModifierGroup>> {
    let rows = direct::all(c, &ITEM_GROUPS, &[&r, &item], |row| {
        Ok(GroupRow {
            group_id: row.get(0)?,
            menu_item_id: row.get(1)?,
            group_name: row.get(2)?,
            min_choices: row.get(3)?,
            max_choices: row.get(4)?,
            group_position: row.get(5)?,
            option_id: row.get(6)?,
            option_name: row.get(7)?,
            price_delta_cents: row.get(8)?,
            option_allergens: row.get(9)?,
            option_position: row.get(10)?,
        })
    })?;
    groups_from(rows).map_err(conversion)
}

/// Runs the plan: stock, table, order, lines, statistics, events.
fn write<R>(
    c: &Connection,
    ask: &PlacementAsk<'_>,
    plan: &impl PlacementPlan,
) -> rusqlite::Result<End<Step<R>>> {
    let r = ask.restaurant_id;
    let w = plan.write();
    let mut stock_after = Vec::with_capacity(w.take.len());
    let mut short = Vec::new();
    for take in &w.take {
        let left: Option<i64> =
            direct::optional(c, TAKE_STOCK, &[&r, &take.menu_item_id, &take.qty], |row| {
                row.get(0)
            })?;
        match left {
            Some(after) => stock_after.push(after),
            None => short.push(take.clone()),
        }
    }
    if !short.is_empty() {
        return Ok(End::Rollback(Step::Short(short)));
    }
    let table_changed = match &w.table {
        Some(change) => {
            let (from, to) = (change.from.as_str(), change.to.as_str());
            let args: [&dyn rusqlite::ToSql; 4] = [&r, &change.table_id, &from, &to];
            let hit: Option<i64> = direct::optional(c, CHANGE_TABLE, &args, |row| row.get(0))?;
            hit.is_some()
        }
        None => false,
    };
    let o = &w.order;
    let order_id: i64 = direct::one(
        c,
        INSERT_ORDER,
        &[
            &o.restaurant_id,
            &o.table_id,
            &o.source.as_str(),
            &o.status.as_str(),
            &o.note,
            &o.total_cents,
            &o.placed_by_user,
            &o.placed_by_role.as_str(),
            &o.idempotency_key,
            &o.request_hash,
            &o.created_at,
            &o.updated_at,
            &o.business_day,
            &o.hour_start,
            &o.ready_at,
        ],
        |row| row.get(0),
    )?;
    let mut line_ids = Vec::with_capacity(w.lines.len());
    for line in &w.lines {
        let modifiers = serde_json::to_string(&line.modifiers).map_err(conversion)?;
        let choices = serde_json::to_string(&line.choices).map_err(conversion)?;
        let args: [&dyn rusqlite::ToSql; 17] = [
            &r,
            &order_id,
            &line.menu_item_id,
            &line.station_id,
            &line.name,
            &line.unit_price_cents,
            &line.qty,
            &line.note,
            &modifiers,
            &line.status.as_str(),
            &line.seat,
            &line.course,
            &line.prep_seconds,
            &line.fired_at,
            &line.start_at,
            &choices,
            &line.allergens.bits(),
        ];
        line_ids.push(direct::one(c, INSERT_LINE, &args, |row| row.get(0))?);
    }
    crate::storage::append::sqlite_record_stats(c, r, &o.business_day, o.hour_start, &w.stats)?;
    let tables = if w.take.is_empty() {
        Vec::new()
    } else {
        direct::all(c, TABLE_IDS, &[&r], |row| row.get(0))?
    };
    let placed = plan.placed(&Written {
        order_id,
        line_ids: &line_ids,
        stock_after: &stock_after,
        table_changed,
        tables: &tables,
    });
    let own = placed.order_event;
    let events = crate::storage::append::sqlite_append_events(
        c,
        r,
        placed.events,
        ask.clock.now_ms(),
        Some(own),
    )?;
    let mut order = placed.order;
    order.placed_seq = events.get(own).map_or(0, |e| e.seq);
    direct::execute(
        c,
        SET_PLACED_SEQ,
        &[&r, &order_id, &(order.placed_seq as i64)],
    )?;
    let open_check = match order.table_id {
        Some(table) => direct::one(c, OPEN_CHECK, &[&r, &table], |row| row.get(0))?,
        None => false,
    };
    Ok(End::Commit(Step::Done(PlaceOutcome::Placed {
        order,
        events,
        open_check,
    })))
}
