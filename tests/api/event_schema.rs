//! Every event frame the tests receive is checked against the JSON Schema
//! generated from the protocol's types (`protocol/schema/events.json`): its
//! kind must be one the protocol defines and its data must have that kind's
//! shape. The WebSocket test client calls [`check`] on each frame it reads,
//! so every test that receives events exercises this.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use serde_json::{json, Value};

/// Event frames checked so far in this test run.
pub static CHECKED: AtomicU64 = AtomicU64::new(0);

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let text = include_str!("../../protocol/schema/events.json");
        let schema: Value = serde_json::from_str(text).expect("events.json is JSON");
        jsonschema::validator_for(&schema).expect("events.json is a valid schema")
    })
}

/// The schema's complaints about an event frame's kind and data (empty if
/// none); frames other than events have none.
pub fn problems(frame: &Value) -> Vec<String> {
    if frame["type"] != "event" {
        return Vec::new();
    }
    let event = json!({ "kind": frame["kind"], "data": frame["data"] });
    validator()
        .iter_errors(&event)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// Panics when an event frame does not match its kind's schema.
pub fn check(frame: &Value) {
    let problems = problems(frame);
    assert!(
        problems.is_empty(),
        "event frame does not match protocol/schema/events.json: {problems:?}\n{frame}"
    );
    if frame["type"] == "event" {
        CHECKED.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn the_schema_refuses_what_the_types_would_not_send() {
    let good = json!({"type": "event", "prev": 1, "seq": 2, "at": "2027-01-15T08:00:00Z",
        "kind": "table.status_changed", "data": {"table_id": 3, "from": "free", "status": "occupied"}});
    assert!(problems(&good).is_empty(), "{:?}", problems(&good));
    let mut unknown_kind = good.clone();
    unknown_kind["kind"] = json!("table.exploded");
    assert!(!problems(&unknown_kind).is_empty());
    let mut bad_status = good.clone();
    bad_status["data"]["status"] = json!("on fire");
    assert!(!problems(&bad_status).is_empty());
    let mut missing = good.clone();
    missing["data"] = json!({"table_id": 3});
    assert!(!problems(&missing).is_empty());
    let mut other_kinds_data = good;
    other_kinds_data["data"] = json!({"menu_item_id": 1, "name": "Soup", "available": true});
    assert!(!problems(&other_kinds_data).is_empty());
}
