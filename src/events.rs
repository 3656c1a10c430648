//! Events: a change in a restaurant, numbered by its per-restaurant `seq` and
//! addressed to the rooms that care about it.

use std::fmt::Write;

use restohub_protocol::ws::Room;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Also the form events travel in between instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub restaurant_id: i64,
    /// Gap-free per restaurant, in commit order.
    pub seq: u64,
    /// e.g. `order.placed`.
    pub kind: String,
    /// Commit time, UTC milliseconds.
    pub at: i64,
    /// Where it goes; a session in several of them gets it once.
    pub rooms: Vec<Room>,
    /// The data as the log stores it, serialized once when the event was
    /// made (or read back from the log) and written on the wire as is.
    pub data: Box<RawValue>,
}

#[derive(Serialize)]
struct Body<'a> {
    seq: u64,
    kind: &'a str,
    at: restohub_protocol::Timestamp,
    data: &'a RawValue,
}

impl Event {
    /// The frame minus its per-session part: `"seq":..,"kind":..,"at":..,"data":..}`.
    /// Serialized once per event; each recipient's frame is a short prefix
    /// (`{"type":"event","prev":N,`) followed by these shared bytes.
    pub fn shared_body(&self) -> String {
        let body = Body {
            seq: self.seq,
            kind: &self.kind,
            at: restohub_protocol::Timestamp(self.at),
            data: &self.data,
        };
        let mut json = serde_json::to_string(&body).unwrap_or_else(|_| "{}".into());
        json.remove(0);
        json
    }
}

/// One recipient's frame from the shared body.
pub fn event_frame(prev: u64, shared_body: &str) -> String {
    let mut frame = String::with_capacity(40 + shared_body.len());
    frame.push_str("{\"type\":\"event\",\"prev\":");
    let _ = write!(frame, "{prev}");
    frame.push(',');
    frame.push_str(shared_body);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use restohub_protocol::ws::{EventFrame, ServerMessage};

    #[test]
    fn frames_parse_as_protocol_events() {
        use restohub_protocol::api::tables::TableStatus;
        use restohub_protocol::events::TableStatusChanged;
        let change = TableStatusChanged {
            table_id: 7,
            from: TableStatus::Free,
            status: TableStatus::Occupied,
        };
        let event = Event {
            restaurant_id: 1,
            seq: 42,
            kind: TableStatusChanged::KIND.into(),
            at: 1_800_000_000_000,
            rooms: vec![Room::Kitchen(1)],
            data: serde_json::value::to_raw_value(&change).unwrap(),
        };
        let frame = event_frame(40, &event.shared_body());
        let parsed: ServerMessage = serde_json::from_str(&frame).unwrap();
        assert_eq!(
            parsed,
            ServerMessage::Event(EventFrame {
                prev: 40,
                seq: 42,
                at: restohub_protocol::Timestamp(1_800_000_000_000),
                event: change.into(),
            })
        );
    }
}
