//! Changing a menu item's stock and availability (and its other fields) with
//! the events guests and staff see: restocking, 86ing, back in stock.
//! Shared by the WebSocket `menu.set_stock` / `menu.set_available` commands
//! and `PATCH /api/v1/menu/items/{id}`.

use restohub_protocol::api::menu::{MenuItem, MenuItemPatch};
use restohub_protocol::ws::Room;
use restohub_protocol::ErrorCode;
use serde_json::json;

use crate::auth::Caller;
use crate::error::{on_constraint, ApiError, ApiResult};
use crate::orders::events::{crosses_low, draft, menu_rooms};
use crate::state::AppState;
use crate::storage::EventDraft;

/// Applies `patch` in one transaction with its events. Stock set to 0 86s the
/// item; restocking a sold-out item makes it available again; making an item
/// available while its stock is 0 is refused.
pub async fn change(
    state: &AppState,
    caller: &Caller,
    id: i64,
    patch: MenuItemPatch,
) -> ApiResult<MenuItem> {
    let r = caller.restaurant_id;
    let tables = state.store.table_ids(r).await?;
    let result = state
        .store
        .change_menu_item(
            r,
            id,
            state.clock.now_ms(),
            |item| decide(item, patch),
            |before, after| events(r, before, after, &tables),
        )
        .await
        .map_err(on_constraint(
            "menu item conflicts with existing data",
            "category or station does not exist",
        ))?;
    match result {
        None => Err(ApiError::not_found("menu item")),
        Some(Err(e)) => Err(e),
        Some(Ok((item, events))) => {
            state.publish(events).await;
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

/// `menu.stock_changed`, `menu.stock_low` (crossing down to the threshold)
/// and `menu.availability_changed`, to all staff and every table.
fn events(r: i64, before: &MenuItem, after: &MenuItem, tables: &[i64]) -> Vec<EventDraft> {
    let rooms = menu_rooms(r, tables);
    let mut out = Vec::new();
    if before.stock != after.stock {
        let data = json!({ "menu_item_id": after.id, "name": after.name, "stock": after.stock });
        out.push(draft("menu.stock_changed", rooms.clone(), data.clone()));
        if let (Some(b), Some(a)) = (before.stock, after.stock) {
            if crosses_low(b, a, after.low_stock_threshold) {
                out.push(draft(
                    "menu.stock_low",
                    vec![Room::Restaurant(r), Room::Dashboard(r)],
                    data,
                ));
            }
        }
    }
    if before.available != after.available {
        let data =
            json!({ "menu_item_id": after.id, "name": after.name, "available": after.available });
        out.push(draft("menu.availability_changed", rooms, data));
    }
    out
}
