//! Which rooms each kind of order and menu event goes to.

use restohub_protocol::api::orders::Order;
use restohub_protocol::ws::Room;
use restohub_protocol::Role;
use serde_json::json;

use crate::storage::{EventDraft, StockChange, TableChange};

pub fn draft(kind: &str, rooms: Vec<Room>, data: serde_json::Value) -> EventDraft {
    EventDraft {
        kind: kind.into(),
        rooms,
        data,
    }
}

/// The expo, the waiters, the dashboard and the order's table.
pub fn order_rooms(r: i64, order: &Order) -> Vec<Room> {
    let mut rooms = vec![
        Room::Kitchen(r),
        Room::Role(r, Role::Waiter),
        Room::Dashboard(r),
    ];
    rooms.extend(order.table_id.map(|t| Room::Table(r, t)));
    rooms
}

/// The stations an order's lines go to, each once.
pub fn stations(order: &Order) -> Vec<i64> {
    let mut stations: Vec<i64> = order.lines.iter().filter_map(|l| l.station_id).collect();
    stations.sort_unstable();
    stations.dedup();
    stations
}

/// All staff and every table: guests see availability live.
pub fn menu_rooms(r: i64, tables: &[i64]) -> Vec<Room> {
    let mut rooms = vec![Room::Restaurant(r)];
    rooms.extend(tables.iter().map(|t| Room::Table(r, *t)));
    rooms
}

/// `menu.stock_changed` per tracked item; `menu.stock_low` when stock
/// crosses down to the threshold; `menu.availability_changed` when an item
/// sells out or comes back.
pub fn stock(r: i64, changes: &[StockChange], tables: &[i64]) -> Vec<EventDraft> {
    let mut out = Vec::new();
    for change in changes {
        let item = json!({ "menu_item_id": change.menu_item_id, "name": change.name, "stock": change.after });
        out.push(draft(
            "menu.stock_changed",
            menu_rooms(r, tables),
            item.clone(),
        ));
        if crosses_low(change.before, change.after, change.low_stock_threshold) {
            out.push(draft(
                "menu.stock_low",
                vec![Room::Restaurant(r), Room::Dashboard(r)],
                item,
            ));
        }
        let availability = if change.after == 0 && change.before > 0 {
            Some(false)
        } else if change.became_available {
            Some(true)
        } else {
            None
        };
        if let Some(available) = availability {
            let data = json!({ "menu_item_id": change.menu_item_id, "name": change.name, "available": available });
            out.push(draft(
                "menu.availability_changed",
                menu_rooms(r, tables),
                data,
            ));
        }
    }
    out
}

/// Stock went down to (or past) the low-stock threshold, but not to zero.
pub fn crosses_low(before: i64, after: i64, threshold: i64) -> bool {
    before > threshold && after <= threshold && after > 0
}

pub fn table(r: i64, change: Option<&TableChange>) -> Option<EventDraft> {
    change.map(|c| {
        let data = json!({ "table_id": c.table_id, "from": c.from, "status": c.to });
        draft(
            "table.status_changed",
            vec![Room::Restaurant(r), Room::Table(r, c.table_id)],
            data,
        )
    })
}
