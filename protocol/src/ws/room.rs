//! Room names: where events and presence are addressed.

use std::fmt;
use std::str::FromStr;

use crate::Role;

/// `restaurant:{r}` all staff · `kitchen:{r}` the whole kitchen (expo) ·
/// `kitchen:{r}:{station}` one station · `table:{r}:{table}` one table (its
/// guests and staff) · `role:{r}:{role}` everyone of a role · `user:{u}` one
/// account's sessions · `dashboard:{r}` live statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Room {
    Restaurant(i64),
    Kitchen(i64),
    Station(i64, i64),
    Table(i64, i64),
    Role(i64, Role),
    User(i64),
    Dashboard(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomError(pub String);

impl fmt::Display for RoomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Room {
    /// The restaurant a room belongs to; `user:{u}` rooms name none.
    pub fn restaurant(self) -> Option<i64> {
        match self {
            Room::Restaurant(r)
            | Room::Kitchen(r)
            | Room::Station(r, _)
            | Room::Table(r, _)
            | Room::Role(r, _)
            | Room::Dashboard(r) => Some(r),
            Room::User(_) => None,
        }
    }
}

impl fmt::Display for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Room::Restaurant(r) => write!(f, "restaurant:{r}"),
            Room::Kitchen(r) => write!(f, "kitchen:{r}"),
            Room::Station(r, s) => write!(f, "kitchen:{r}:{s}"),
            Room::Table(r, t) => write!(f, "table:{r}:{t}"),
            Room::Role(r, role) => write!(f, "role:{r}:{role}"),
            Room::User(u) => write!(f, "user:{u}"),
            Room::Dashboard(r) => write!(f, "dashboard:{r}"),
        }
    }
}

impl FromStr for Room {
    type Err = RoomError;

    fn from_str(s: &str) -> Result<Room, RoomError> {
        let bad = || RoomError(format!("{s:?} is not a room name"));
        let id = |part: Option<&str>| -> Result<i64, RoomError> {
            part.and_then(|p| p.parse::<i64>().ok())
                .filter(|n| *n > 0)
                .ok_or_else(bad)
        };
        let mut parts = s.split(':');
        let kind = parts.next().ok_or_else(bad)?;
        let room = match kind {
            "restaurant" => Room::Restaurant(id(parts.next())?),
            "dashboard" => Room::Dashboard(id(parts.next())?),
            "user" => Room::User(id(parts.next())?),
            "kitchen" => {
                let r = id(parts.next())?;
                match parts.next() {
                    None => Room::Kitchen(r),
                    station => Room::Station(r, id(station)?),
                }
            }
            "table" => Room::Table(id(parts.next())?, id(parts.next())?),
            "role" => {
                let r = id(parts.next())?;
                let role = parts.next().and_then(Role::parse).ok_or_else(bad)?;
                Room::Role(r, role)
            }
            _ => return Err(bad()),
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(room)
    }
}

/// On the wire (and in the event log) a room is its name.
impl serde::Serialize for Room {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Room {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Room, D::Error> {
        let name = String::deserialize(d)?;
        name.parse()
            .map_err(|e: RoomError| serde::de::Error::custom(e.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_junk_is_refused() {
        for name in [
            "restaurant:1",
            "kitchen:1",
            "kitchen:1:22",
            "table:3:4",
            "role:1:chef",
            "user:9",
            "dashboard:2",
        ] {
            assert_eq!(name.parse::<Room>().unwrap().to_string(), name);
        }
        for junk in [
            "",
            "kitchen",
            "kitchen:x",
            "kitchen:1:2:3",
            "table:1",
            "role:1:emperor",
            "user:-1",
            "restaurant:0",
            "lobby:1",
            "restaurant:1 ",
        ] {
            assert!(junk.parse::<Room>().is_err(), "{junk:?} accepted");
        }
    }
}
