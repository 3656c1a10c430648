//! The AsyncAPI 3.0 document of the WebSocket at `/ws`, built from the
//! schemars schemas of [`ClientMessage`] and [`ServerMessage`]: one message
//! per `type` each can carry, so a new variant appears here without a
//! second description to keep in step.
//!
//! The document describes the hub: it receives the client's messages and
//! sends its own. Checked in as `protocol/asyncapi.json`; a test fails when
//! it is stale (regenerate with `UPDATE_SCHEMAS=1 cargo test -p restohub-protocol`).

use serde_json::{json, Map, Value};

use crate::openapi::component_generator;
use crate::ws::{close, ClientMessage, ServerMessage};

/// JSON Schema 2020-12, the dialect schemars emits (AsyncAPI's own schema
/// format is draft-07 based; naming the format keeps `const`, `$defs`-free
/// `$ref`s and `oneOf` meaning exactly what they mean in the types).
const SCHEMA_FORMAT: &str = "application/schema+json;version=draft-2020-12";

pub fn document() -> Value {
    let mut generator = component_generator();
    let client = generator.root_schema_for::<ClientMessage>().to_value();
    let server = generator.root_schema_for::<ServerMessage>().to_value();
    let schemas = generator.take_definitions(true);

    let mut messages = Map::new();
    let mut channel_messages = Map::new();
    let mut operations = Map::new();
    for (side, root, action) in [("client", &client, "receive"), ("server", &server, "send")] {
        for variant in root["oneOf"].as_array().into_iter().flatten() {
            let Some(kind) = variant["properties"]["type"]["const"].as_str() else {
                continue;
            };
            let key = format!("{side}.{kind}");
            messages.insert(key.clone(), message(side, kind, variant, &schemas));
            channel_messages.insert(
                key.clone(),
                json!({"$ref": format!("#/components/messages/{key}")}),
            );
            operations.insert(
                operation_id(action, &key),
                json!({
                    "action": action,
                    "channel": {"$ref": "#/channels/hub"},
                    "summary": summary(side, kind),
                    "messages": [{"$ref": format!("#/channels/hub/messages/{key}")}],
                }),
            );
        }
    }
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "restohub WebSocket",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "JSON text frames on `GET /ws`, one message each. The client speaks \
                 first with `hello` (its token, and `since` to resume); the hub answers \
                 `welcome` or closes. Every later command carries a client-chosen `id` and \
                 gets exactly one `ack` or `error` with that id; events arrive as `event` \
                 frames in the order of their per-restaurant `seq`. Close codes: {}. \
                 The prose spec is protocol/PROTOCOL.md; the REST API is described at \
                 `/api/openapi.json`.",
                close_codes()
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "hub": {
                "host": "localhost:8080",
                "protocol": "ws",
                "pathname": "/ws",
                "description": "A hub (wss behind TLS); any instance of a chain serves any client.",
            },
        },
        "channels": {
            "hub": {
                "address": "/ws",
                "title": "A session with the hub",
                "servers": [{"$ref": "#/servers/hub"}],
                "messages": channel_messages,
            },
        },
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": schemas,
        },
    })
}

fn message(side: &str, kind: &str, variant: &Value, schemas: &Map<String, Value>) -> Value {
    // The variant's own doc comment, else its payload type's.
    let description = variant["description"].as_str().or_else(|| {
        variant["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .and_then(|name| schemas.get(name))
            .and_then(|s| s["description"].as_str())
    });
    let mut message = json!({
        "name": kind,
        "title": format!("{kind} ({side})"),
        "summary": summary(side, kind),
        "payload": {"schemaFormat": SCHEMA_FORMAT, "schema": variant},
    });
    if let Some(description) = description {
        message["description"] = json!(description);
    }
    message
}

fn summary(side: &str, kind: &str) -> String {
    match side {
        "client" => format!("The client sends `{kind}`"),
        _ => format!("The hub sends `{kind}`"),
    }
}

/// `receive.client.order.place` → `receiveClientOrderPlace`.
fn operation_id(action: &str, key: &str) -> String {
    let mut id = action.to_string();
    for part in key.split(['.', '_']) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            id.extend(first.to_uppercase());
            id.push_str(chars.as_str());
        }
    }
    id
}

fn close_codes() -> String {
    close::ALL
        .iter()
        .map(|(code, name)| format!("{code} `{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::openapi::tests::{assert_current, unresolved_refs};

    #[test]
    fn checked_in_asyncapi_is_current() {
        assert_current("asyncapi.json", &super::document());
    }

    /// The structure a client generator relies on: version, every message
    /// an operation names exists in the channel and in the components, and
    /// every `$ref` resolves.
    #[test]
    fn every_message_and_ref_resolves() {
        let doc = super::document();
        assert_eq!(doc["asyncapi"], "3.0.0");
        let channel = &doc["channels"]["hub"]["messages"];
        let operations = doc["operations"].as_object().unwrap();
        assert!(operations.len() > 40, "{} operations", operations.len());
        for (id, op) in operations {
            assert!(matches!(op["action"].as_str(), Some("send" | "receive")));
            for m in op["messages"].as_array().unwrap() {
                let key = m["$ref"]
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/channels/hub/messages/"))
                    .unwrap_or_else(|| panic!("{id}: {m}"));
                assert!(channel.get(key).is_some(), "{id} names {key}");
            }
        }
        assert_eq!(unresolved_refs(&doc), Vec::<String>::new());
        // Every command a client may send, and every frame of the hub.
        for kind in [
            "client.hello",
            "client.order.place",
            "client.ping",
            "server.event",
        ] {
            assert!(doc["components"]["messages"].get(kind).is_some(), "{kind}");
        }
        let messages = doc["components"]["messages"].as_object().unwrap();
        let client = messages.keys().filter(|k| k.starts_with("client.")).count();
        let server = messages.keys().filter(|k| k.starts_with("server.")).count();
        let variants = |root: Value| root["oneOf"].as_array().map_or(0, Vec::len);
        assert_eq!(
            client,
            variants(schemars::schema_for!(crate::ws::ClientMessage).to_value())
        );
        assert_eq!(
            server,
            variants(schemars::schema_for!(crate::ws::ServerMessage).to_value())
        );
    }
}
