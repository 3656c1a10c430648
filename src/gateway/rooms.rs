//! Who may be in which room: the rooms a role joins on welcome, and the
//! check behind every `subscribe` and `presence`.

use restohub_protocol::ws::Room;
use restohub_protocol::Role;

use crate::auth::Caller;

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
