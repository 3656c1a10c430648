//! Who may be in which room: the rooms a role joins on welcome, and the
//! check behind every `subscribe`, `presence` and room named in `hello`.
//!
//! The rules themselves are pure; only [`check_room`] reads storage, to
//! tell a room that does not exist from one that may not be joined.

use restohub_protocol::ws::Room;
use restohub_protocol::{ErrorCode, Role};

use crate::auth::Caller;
use crate::error::ApiError;
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
    if let Some(r) = room.restaurant() {
        if r != caller.restaurant_id {
            return false;
        }
    }
    let role = caller.role;
    match room {
        Room::Table(_, t) => role.is_staff() || caller.table_id == Some(t),
        _ if role == Role::Guest => false,
        Room::Restaurant(_) => true,
        Room::Kitchen(_) | Room::Station(..) => {
            matches!(
                role,
                Role::Owner | Role::Manager | Role::Chef | Role::Waiter
            )
        }
        Room::Role(_, of) => role == of || role.is_manager(),
        Room::User(u) => caller.user_id == Some(u),
        Room::Dashboard(_) => role.is_manager(),
    }
}

/// A room `caller` may be in, that exists.
pub async fn check_room(state: &AppState, caller: &Caller, name: &str) -> Result<Room, ApiError> {
    let room = parse_room(name)?;
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

/// A room's name read, or a validation error naming the `room` field.
pub fn parse_room(name: &str) -> Result<Room, ApiError> {
    name.parse().map_err(|e: restohub_protocol::ws::RoomError| {
        ApiError::invalid_field("room", "room", &e.0)
    })
}
