//! PROTOCOL.md, the types and the schemas agree: every message type, error
//! code, close code and event kind is documented (and no event kind that
//! does not exist), and the example conversation parses as the types and
//! serializes back to the same JSON.

use std::collections::{BTreeMap, BTreeSet};

use restohub_protocol::ws::{close, ClientMessage, ServerMessage};
use restohub_protocol::{ErrorCode, EventData};
use serde_json::Value;

const SPEC: &str = include_str!("../PROTOCOL.md");

fn conversation() -> Vec<(char, Value)> {
    let start = SPEC
        .find("```conversation")
        .expect("an example conversation");
    let body = &SPEC[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let body = &body[..body.find("```").unwrap()];
    body.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (dir, json) = line.split_at(1);
            (
                dir.chars().next().unwrap(),
                serde_json::from_str(json.trim()).unwrap_or_else(|e| panic!("{line}: {e}")),
            )
        })
        .collect()
}

#[test]
fn the_example_conversation_is_exactly_the_wire_format() {
    let lines = conversation();
    assert!(lines.len() >= 15);
    let mut server_kinds = BTreeSet::new();
    let mut client_kinds = BTreeSet::new();
    for (direction, json) in lines {
        let back = match direction {
            '>' if !ClientMessage::TYPES.contains(&json["type"].as_str().unwrap_or("")) => {
                // Shown to demonstrate the error reply: it must not parse.
                assert!(serde_json::from_value::<ClientMessage>(json.clone()).is_err());
                continue;
            }
            '>' => {
                let message: ClientMessage =
                    serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{json}: {e}"));
                client_kinds.insert(json["type"].as_str().unwrap().to_owned());
                serde_json::to_value(&message).unwrap()
            }
            '<' => {
                let message: ServerMessage =
                    serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{json}: {e}"));
                server_kinds.insert(json["type"].as_str().unwrap().to_owned());
                serde_json::to_value(&message).unwrap()
            }
            other => panic!("line starts with {other:?}"),
        };
        assert_eq!(
            back, json,
            "the example differs from what the types produce"
        );
    }
    for kind in [
        "welcome",
        "ack",
        "error",
        "event",
        "presence.joined",
        "presence.left",
    ] {
        assert!(server_kinds.contains(kind), "the example shows no {kind}");
    }
    for kind in ["hello", "subscribe", "unsubscribe", "presence", "ping"] {
        assert!(client_kinds.contains(kind), "the example shows no {kind}");
    }
}

#[test]
fn every_error_code_is_documented() {
    let codes: Value = serde_json::from_str(include_str!("../schema/error.json")).unwrap();
    let listed = codes["$defs"]["ErrorCode"]["oneOf"].as_array().unwrap();
    assert!(listed.len() >= 14);
    for entry in listed {
        let code = entry["const"].as_str().unwrap();
        let parsed: ErrorCode = serde_json::from_value(Value::from(code)).unwrap();
        assert_eq!(parsed.as_str(), code);
        let row = format!("| `{code}` | {} |", parsed.http_status());
        assert!(SPEC.contains(&row), "PROTOCOL.md has no row {row}");
    }
}

#[test]
fn every_close_code_is_documented() {
    for (code, name) in close::ALL {
        let row = format!("| {code} | {name} |");
        assert!(SPEC.contains(&row), "PROTOCOL.md has no row {row}");
    }
}

#[test]
fn every_audit_action_is_documented() {
    use restohub_protocol::api::audit::AuditAction;
    for action in AuditAction::ALL {
        let row = format!("| `{action}` |");
        assert!(SPEC.contains(&row), "PROTOCOL.md has no row {row}");
    }
}

#[test]
fn every_command_is_documented() {
    for kind in ClientMessage::TYPES {
        assert!(
            SPEC.contains(&format!("\"type\":\"{kind}\"")),
            "PROTOCOL.md never shows {kind}"
        );
    }
}

/// The rows of PROTOCOL.md's event tables (`| kind | data | rooms |`):
/// kind → the data cell.
fn event_table() -> BTreeMap<String, String> {
    let mut rows = BTreeMap::new();
    let mut in_table = false;
    for line in SPEC.lines() {
        if line.starts_with("| kind | data | rooms |") {
            in_table = true;
            continue;
        }
        if !line.starts_with('|') {
            in_table = false;
        }
        if !in_table || line.starts_with("|---") {
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let kind = cells[1].trim_matches('`').to_owned();
        let data = cells[2].to_owned();
        assert!(
            rows.insert(kind.clone(), data).is_none(),
            "PROTOCOL.md lists {kind} twice"
        );
    }
    rows
}

#[test]
fn the_event_table_lists_exactly_the_event_kinds() {
    let table = event_table();
    let documented: BTreeSet<&str> = table.keys().map(String::as_str).collect();
    let kinds: BTreeSet<&str> = EventData::KINDS.iter().copied().collect();
    assert_eq!(
        kinds.len(),
        EventData::KINDS.len(),
        "a kind is declared twice"
    );
    let undocumented: Vec<_> = kinds.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&kinds).collect();
    assert!(
        undocumented.is_empty(),
        "PROTOCOL.md has no row for {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "PROTOCOL.md lists kinds that do not exist: {unknown:?}"
    );
}

/// The kinds' data schemas, from `events.json`: kind → its field names.
fn schema_fields() -> BTreeMap<String, BTreeSet<String>> {
    let schema: Value = serde_json::from_str(include_str!("../schema/events.json")).unwrap();
    let defs = &schema["$defs"];
    let mut out = BTreeMap::new();
    for variant in schema["oneOf"].as_array().unwrap() {
        let kind = variant["properties"]["kind"]["const"].as_str().unwrap();
        let mut data = &variant["properties"]["data"];
        while let Some(target) = data["$ref"].as_str() {
            data = &defs[target.trim_start_matches("#/$defs/")];
        }
        let fields = data["properties"].as_object().unwrap().keys().cloned();
        out.insert(kind.to_owned(), fields.collect());
    }
    out
}

#[test]
fn the_event_table_names_each_kinds_data_fields() {
    let fields = schema_fields();
    let in_schema: BTreeSet<&str> = fields.keys().map(String::as_str).collect();
    let kinds: BTreeSet<&str> = EventData::KINDS.iter().copied().collect();
    assert_eq!(in_schema, kinds, "events.json has a oneOf entry per kind");
    for (kind, cell) in event_table() {
        let braces = &cell[cell.find('{').expect("the data's {fields}") + 1..];
        let listed: BTreeSet<String> = braces[..braces.find('}').unwrap()]
            .split(',')
            .map(|f| f.trim().to_owned())
            .collect();
        let Some(fields) = fields.get(&kind) else {
            panic!("PROTOCOL.md lists {kind}, which is no event kind")
        };
        assert_eq!(&listed, fields, "PROTOCOL.md's data of {kind}");
    }
}

#[test]
fn every_event_frame_in_the_spec_is_a_known_kind() {
    for (at, _) in SPEC.match_indices("\"kind\":\"") {
        let rest = &SPEC[at + 8..];
        let kind = &rest[..rest.find('"').unwrap()];
        assert!(
            EventData::KINDS.contains(&kind),
            "PROTOCOL.md shows kind {kind}"
        );
    }
}

#[test]
fn an_event_frame_parses_only_with_data_of_its_kind() {
    let frame = |kind: &str, data: Value| {
        serde_json::json!({"type": "event", "prev": 1, "seq": 2, "kind": kind,
                           "at": "2027-01-15T08:00:00.000Z", "data": data})
    };
    let data = serde_json::json!({"table_id": 7, "from": "free", "status": "occupied"});
    let parsed: ServerMessage =
        serde_json::from_value(frame("table.status_changed", data.clone())).unwrap();
    let ServerMessage::Event(event) = &parsed else {
        panic!("{parsed:?}")
    };
    assert_eq!(event.event.kind(), "table.status_changed");
    assert_eq!(event.event.data_value().unwrap(), data);
    assert_eq!(
        serde_json::to_value(&parsed).unwrap(),
        frame("table.status_changed", data.clone())
    );
    for (kind, data) in [
        ("order.status_changed", data.clone()),
        ("menu.stock_update", data),
        (
            "table.status_changed",
            serde_json::json!({"table_id": 7, "from": "free", "status": "eaten"}),
        ),
    ] {
        let bad = frame(kind, data);
        assert!(
            serde_json::from_value::<ServerMessage>(bad.clone()).is_err(),
            "{bad} parsed"
        );
    }
}
