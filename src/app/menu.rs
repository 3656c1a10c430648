//! The menu: categories and items, stock and availability, and the menu
//! snapshot screens draw from. Restocking, 86ing and bringing an item back
//! are one use case whichever edge asks (`PATCH /menu/items/{id}`,
//! `menu.set_stock`, `menu.set_available`), with the same events.

use restohub_protocol::api::menu::{
    Category, CategoryPatch, MenuItem, MenuItemPatch, NewCategory, NewMenuItem, MAX_STOCK,
};
use restohub_protocol::events::{AvailabilityChanged, StockChanged, StockLow};
use restohub_protocol::ws::{AckResult, Room};
use restohub_protocol::ErrorCode;
use serde_json::json;

use super::access::Operation;
use super::audit::{self, Action, Actor, Entry};
use crate::auth::Caller;
use crate::error::{on_constraint, ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{Changed, EventDraft, PageQuery};

const DUPLICATE_CATEGORY: &str = "a category with this name already exists";
const CATEGORY_IN_USE: &str = "category still has menu items";
const ITEM_CONFLICT: &str = "menu item conflicts with existing data";
const ITEM_REFERENCE: &str = "category or station does not exist";
const ITEM_ORDERED: &str = "menu item is on orders; mark it unavailable instead";

pub async fn categories(
    state: &AppState,
    caller: &Caller,
    page: PageQuery,
) -> ApiResult<Vec<Category>> {
    caller.may(Operation::ReadMenu)?;
    Ok(state.store.categories(caller.restaurant_id, page).await?)
}

pub async fn category(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Category> {
    caller.may(Operation::ReadMenu)?;
    state
        .store
        .category(caller.restaurant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("category"))
}

pub async fn create_category(
    state: &AppState,
    caller: &Caller,
    new: NewCategory,
) -> ApiResult<Category> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    let category = state
        .store
        .create_category(
            caller.restaurant_id,
            new.name.trim(),
            new.position,
            new.course,
        )
        .await
        .map_err(on_constraint(DUPLICATE_CATEGORY, CATEGORY_IN_USE))?;
    Ok(category)
}

pub async fn update_category(
    state: &AppState,
    caller: &Caller,
    id: i64,
    mut patch: CategoryPatch,
) -> ApiResult<Category> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    patch.name = patch.name.map(|n| n.trim().to_owned());
    state
        .store
        .update_category(caller.restaurant_id, id, &patch)
        .await
        .map_err(on_constraint(DUPLICATE_CATEGORY, CATEGORY_IN_USE))?
        .ok_or_else(|| ApiError::not_found("category"))
}

pub async fn delete_category(state: &AppState, caller: &Caller, id: i64) -> ApiResult<()> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    let deleted = state
        .store
        .delete_category(caller.restaurant_id, id)
        .await
        .map_err(on_constraint(DUPLICATE_CATEGORY, CATEGORY_IN_USE))?;
    found(deleted, "category")
}

pub async fn items(state: &AppState, caller: &Caller, page: PageQuery) -> ApiResult<Vec<MenuItem>> {
    caller.may(Operation::ReadMenu)?;
    Ok(state.store.menu_items(caller.restaurant_id, page).await?)
}

pub async fn item(state: &AppState, caller: &Caller, id: i64) -> ApiResult<MenuItem> {
    caller.may(Operation::ReadMenu)?;
    state
        .store
        .menu_item(caller.restaurant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("menu item"))
}

pub async fn create_item(
    state: &AppState,
    caller: &Caller,
    mut new: NewMenuItem,
) -> ApiResult<MenuItem> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    check_references(state, caller.restaurant_id, new.category_id, new.station_id).await?;
    new.name = new.name.trim().to_owned();
    let item = state
        .store
        .create_menu_item(caller.restaurant_id, &new)
        .await
        .map_err(on_constraint(ITEM_CONFLICT, ITEM_REFERENCE))?;
    Ok(item)
}

/// Any change to an item by a manager, stock and availability included.
pub async fn update_item(
    state: &AppState,
    caller: &Caller,
    id: i64,
    mut patch: MenuItemPatch,
) -> ApiResult<MenuItem> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    check_references(
        state,
        caller.restaurant_id,
        patch.category_id.flatten(),
        patch.station_id.flatten(),
    )
    .await?;
    patch.name = patch.name.map(|n| n.trim().to_owned());
    change(state, caller, id, patch).await
}

pub async fn delete_item(state: &AppState, caller: &Caller, id: i64) -> ApiResult<()> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    let deleted = state
        .store
        .delete_menu_item(caller.restaurant_id, id)
        .await
        .map_err(on_constraint(ITEM_CONFLICT, ITEM_ORDERED))?;
    found(deleted, "menu item")
}

/// Counts stock (`None`: not tracked); 0 86s the item, stock for a sold-out
/// item brings it back.
pub async fn set_stock(
    state: &AppState,
    caller: &Caller,
    id: i64,
    stock: Option<i64>,
) -> ApiResult<MenuItem> {
    caller.may(Operation::SetStock)?;
    if stock.is_some_and(|s| !(0..=MAX_STOCK).contains(&s)) {
        return Err(ApiError::invalid_field(
            "stock",
            "range",
            &format!("must be between 0 and {MAX_STOCK}"),
        ));
    }
    let patch = MenuItemPatch {
        stock: Some(stock),
        ..Default::default()
    };
    change(state, caller, id, patch).await
}

/// 86s an item by hand, or brings it back.
pub async fn set_available(
    state: &AppState,
    caller: &Caller,
    id: i64,
    available: bool,
) -> ApiResult<MenuItem> {
    caller.may(Operation::SetStock)?;
    let patch = MenuItemPatch {
        available: Some(available),
        ..Default::default()
    };
    change(state, caller, id, patch).await
}

/// The whole menu with the log position it was read at.
pub async fn snapshot(state: &AppState, caller: &Caller) -> ApiResult<AckResult> {
    caller.may(Operation::ReadMenu)?;
    let (seq, categories, items) = state.store.menu_snapshot(caller.restaurant_id).await?;
    Ok(AckResult::MenuSnapshot {
        seq,
        categories,
        items,
    })
}

fn found(any: bool, what: &str) -> ApiResult<()> {
    if any {
        Ok(())
    } else {
        Err(ApiError::not_found(what))
    }
}

/// A menu item may only point at a category and station of its own
/// restaurant; anything else is reported on the field that names it.
async fn check_references(
    state: &AppState,
    restaurant: i64,
    category: Option<i64>,
    station: Option<i64>,
) -> ApiResult<()> {
    if let Some(id) = category {
        if state.store.category(restaurant, id).await?.is_none() {
            return Err(ApiError::invalid_field(
                "category_id",
                "not_found",
                "no such category",
            ));
        }
    }
    if let Some(id) = station {
        if state.store.station(restaurant, id).await?.is_none() {
            return Err(ApiError::invalid_field(
                "station_id",
                "not_found",
                "no such station",
            ));
        }
    }
    Ok(())
}

/// Applies `patch` in one transaction with its events. Stock set to 0 86s the
/// item; restocking a sold-out item makes it available again; making an item
/// available while its stock is 0 is refused.
async fn change(
    state: &AppState,
    caller: &Caller,
    id: i64,
    patch: MenuItemPatch,
) -> ApiResult<MenuItem> {
    let r = caller.restaurant_id;
    // Only stock and availability events go to the tables: a rename or a
    // new price need not read them.
    let tables = if patch.stock.is_some() || patch.available.is_some() {
        state.store.table_ids(r).await?
    } else {
        Vec::new()
    };
    let now = state.clock.now_ms();
    let actor = Actor::from(caller);
    let result = state
        .store
        .change_menu_item(
            r,
            id,
            now,
            |item| decide(item, patch),
            |before, after| events(r, before, after, &tables),
            |before, after| audit::drafts(&actor, now, audited(before, after)),
        )
        .await
        .map_err(on_constraint(ITEM_CONFLICT, ITEM_REFERENCE))?;
    match result {
        Changed::NotFound => Err(ApiError::not_found("menu item")),
        Changed::Refused(e) => Err(e),
        Changed::Done(mut item, events) => {
            state.publish(events).await;
            item.modifier_groups = state.store.modifier_groups(r, id, id).await?;
            Ok(item)
        }
    }
}

fn decide(item: &MenuItem, mut patch: MenuItemPatch) -> ApiResult<MenuItemPatch> {
    let stock = patch.stock.unwrap_or(item.stock);
    if patch.available == Some(true) && stock == Some(0) {
        return Err(ApiError::with_details(
            ErrorCode::InvalidTransition,
            "the stock is 0; restock it to make it available",
            json!({ "current": { "stock": 0 } }),
        ));
    }
    if patch.available.is_none() {
        match (item.stock, patch.stock) {
            (_, Some(Some(0))) => patch.available = Some(false),
            (Some(0), Some(Some(n))) if n > 0 && !item.available => patch.available = Some(true),
            _ => {}
        }
    }
    Ok(patch)
}

/// The audit entries of a change by hand: price, stock and availability,
/// each its own entry. Availability that followed the stock (sold out at
/// 0, back on a restock) says so as its reason.
fn audited(before: &MenuItem, after: &MenuItem) -> Vec<Entry> {
    let entry = |action: Action, field: &str, was: serde_json::Value, now: serde_json::Value| {
        Entry::new(action)
            .target("menu_item", after.id)
            .changed([(field, was, now)])
    };
    let followed_stock = match (before.stock, after.stock, after.available) {
        (_, Some(0), false) => Some("the stock is 0"),
        (Some(0), Some(n), true) if n > 0 => Some("restocked"),
        _ => None,
    };
    let availability = entry(
        Action::MenuAvailabilityChanged,
        "available",
        json!(before.available),
        json!(after.available),
    )
    .map(|e| match followed_stock {
        Some(why) => e.reason(why),
        None => e,
    });
    [
        entry(
            Action::MenuPriceChanged,
            "price_cents",
            json!(before.price_cents),
            json!(after.price_cents),
        ),
        entry(
            Action::MenuStockChanged,
            "stock",
            json!(before.stock),
            json!(after.stock),
        ),
        availability,
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn events(r: i64, before: &MenuItem, after: &MenuItem, tables: &[i64]) -> Vec<EventDraft> {
    let change = StockMove {
        menu_item_id: after.id,
        name: &after.name,
        before: before.stock,
        after: after.stock,
        low_stock_threshold: after.low_stock_threshold,
        available: (before.available != after.available).then_some(after.available),
    };
    stock_events(r, tables, &change)
}

/// How one item's stock and availability moved, by any use case: a
/// placement, a cancellation, a count, 86ing.
pub struct StockMove<'a> {
    pub menu_item_id: i64,
    pub name: &'a str,
    /// `None`: not tracked.
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub low_stock_threshold: i64,
    /// The item's availability, when it changed.
    pub available: Option<bool>,
}

/// The events of a stock move, the one place they are built:
/// `menu.stock_changed` and `menu.availability_changed` to all staff and
/// every table (guests see availability live), `menu.stock_low` when stock
/// crosses down to the threshold (not to zero) to staff and the dashboard.
pub fn stock_events(r: i64, tables: &[i64], change: &StockMove) -> Vec<EventDraft> {
    let mut out = Vec::new();
    let (id, name) = (change.menu_item_id, change.name.to_owned());
    if change.before != change.after {
        let stock = StockChanged {
            menu_item_id: id,
            name: name.clone(),
            stock: change.after,
        };
        out.push(EventDraft::new(menu_rooms(r, tables), stock));
        if let (Some(before), Some(after)) = (change.before, change.after) {
            if crosses_low(before, after, change.low_stock_threshold) {
                let low = StockLow {
                    menu_item_id: id,
                    name: name.clone(),
                    stock: after,
                };
                out.push(EventDraft::new(
                    vec![Room::Restaurant(r), Room::Dashboard(r)],
                    low,
                ));
            }
        }
    }
    if let Some(available) = change.available {
        let availability = AvailabilityChanged {
            menu_item_id: id,
            name,
            available,
        };
        out.push(EventDraft::new(menu_rooms(r, tables), availability));
    }
    out
}

/// All staff and every table.
fn menu_rooms(r: i64, tables: &[i64]) -> Vec<Room> {
    let mut rooms = vec![Room::Restaurant(r)];
    rooms.extend(tables.iter().map(|t| Room::Table(r, *t)));
    rooms
}

/// Stock went down to (or past) the low-stock threshold, but not to zero.
fn crosses_low(before: i64, after: i64, threshold: i64) -> bool {
    before > threshold && after <= threshold && after > 0
}
