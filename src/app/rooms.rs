//! Who may be in which room: the rooms a session joins on welcome because
//! of its role, and the check behind every room named in `hello`,
//! `subscribe` and `presence`. Role rules come from [`super::access`].

use restohub_protocol::ws::Room;
use restohub_protocol::{ErrorCode, Role};

use super::access::{may, Operation};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Rooms a session joins on welcome because of its role.
pub fn automatic(caller: &Caller) -> Vec<Room> {
    let r = caller.restaurant_id;
    if caller.role == Role::Guest {
        return caller
            .table_id
            .map(|t| Room::Table(r, t))
            .into_iter()
            .collect();
    }
    let mut rooms = vec![Room::Restaurant(r), Room::Role(r, caller.role)];
    if let Some(u) = caller.user_id {
        rooms.push(Room::User(u));
    }
    match caller.role {
        Role::Chef => rooms.push(Room::Kitchen(r)),
        Role::Owner | Role::Manager => rooms.push(Room::Dashboard(r)),
        _ => {}
    }
    rooms
}

/// May `caller` join (or watch the presence of) `room`? Rooms of another
/// restaurant never; guests only their own table.
pub fn allowed(caller: &Caller, room: Room) -> bool {
    if room.restaurant().is_some_and(|r| r != caller.restaurant_id) {
        return false;
    }
    let role = caller.role;
    match room {
        Room::Table(_, t) => {
            may(role, Operation::WatchTables) && (role.is_staff() || caller.table_id == Some(t))
        }
        Room::Restaurant(_) => may(role, Operation::WatchRestaurant),
        Room::Kitchen(_) | Room::Station(..) => may(role, Operation::WatchKitchen),
        Room::Role(_, of) => role.is_staff() && (role == of || role.is_manager()),
        Room::User(u) => role.is_staff() && caller.user_id == Some(u),
        Room::Dashboard(_) => may(role, Operation::WatchDashboard),
    }
}

/// The room named `name`, if `caller` may be in it and it exists.
pub async fn permitted(state: &AppState, caller: &Caller, name: &str) -> ApiResult<Room> {
    let room = parse(name)?;
    if !allowed(caller, room) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("you may not join {room}"),
        ));
    }
    let store = &state.store;
    let exists = match room {
        Room::Station(r, station) => store.station(r, station).await?.is_some(),
        Room::Table(r, table) => store.table(r, table).await?.is_some(),
        _ => true,
    };
    if !exists {
        return Err(ApiError::not_found(&room.to_string()));
    }
    Ok(room)
}

pub fn parse(name: &str) -> ApiResult<Room> {
    name.parse().map_err(|e: restohub_protocol::ws::RoomError| {
        ApiError::invalid_field("room", "room", &e.0)
    })
}
