//! PROTOCOL.md, the types and the schemas agree: every message type, error
//! code and close code is documented, and the example conversation parses
//! as the types and serializes back to the same JSON.

use restohub_protocol::ws::{close, ClientMessage, ServerMessage};
use restohub_protocol::ErrorCode;
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
    let mut server_kinds = std::collections::BTreeSet::new();
    let mut client_kinds = std::collections::BTreeSet::new();
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
fn every_command_is_documented() {
    for kind in ClientMessage::TYPES {
        assert!(
            SPEC.contains(&format!("\"type\":\"{kind}\"")),
            "PROTOCOL.md never shows {kind}"
        );
    }
}
