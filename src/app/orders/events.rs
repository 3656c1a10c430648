//! The events of an order, and the rooms each goes to. Every event of an
//! order is built here or in [`super::super::kitchen`], from its protocol
//! type; stock events come from [`crate::app::menu::stock_events`], the one
//! place they are built for every use case.

use restohub_protocol::api::orders::{Order, OrderStatus};
use restohub_protocol::events::{OrderPlaced, OrderReady, TicketPlaced};
use restohub_protocol::ws::Room;
use restohub_protocol::Role;

use crate::app::floor::table_status_changed;
use crate::app::menu::{stock_events, StockMove};
use crate::app::timers::{self, StationTargets};
use crate::storage::{EventDraft, StockChange, TableChange};

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

/// `order.placed` (the whole order) to the expo, waiters, the dashboard and
/// the table; then `ticket.placed` (only its lines, with its clock) to
/// each station.
/// Storage sets `placed_seq` in the first to that event's own seq.
pub fn placed(r: i64, order: &Order, targets: &StationTargets) -> Vec<EventDraft> {
    let mut out = vec![EventDraft::new(
        order_rooms(r, order),
        OrderPlaced {
            order: order.clone(),
        },
    )];
    for station in stations(order) {
        let mut ticket = TicketPlaced::for_station(order, station);
        ticket.timer = timers::timer(order, station, targets);
        out.push(EventDraft::new(vec![Room::Station(r, station)], ticket));
    }
    out
}

/// `order.ready` to the waiter who placed `order`, when it has just become
/// ready ("your order is ready"); guests' orders have nobody to tell.
pub fn ready_for_placer(order: &Order, placed_by: Option<i64>) -> Option<EventDraft> {
    let user = placed_by.filter(|_| order.status == OrderStatus::Ready)?;
    let ready = OrderReady {
        order_id: order.id,
        table_id: order.table_id,
    };
    Some(EventDraft::new(vec![Room::User(user)], ready))
}

/// The stock events of items an order took or gave back.
pub fn stock(r: i64, changes: &[StockChange], tables: &[i64]) -> Vec<EventDraft> {
    let mut out = Vec::new();
    for change in changes {
        let available = if change.after == 0 && change.before > 0 {
            Some(false)
        } else if change.became_available {
            Some(true)
        } else {
            None
        };
        let moved = StockMove {
            menu_item_id: change.menu_item_id,
            name: &change.name,
            before: Some(change.before),
            after: Some(change.after),
            low_stock_threshold: change.low_stock_threshold,
            available,
        };
        out.extend(stock_events(r, tables, &moved));
    }
    out
}

/// `table.status_changed` when an order changed its table.
pub fn table(r: i64, change: Option<&TableChange>) -> Option<EventDraft> {
    change.map(|c| table_status_changed(r, c.table_id, c.from, c.to))
}
