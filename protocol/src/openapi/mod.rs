//! The OpenAPI 3.1 document of the REST API, built from [`operations::all`]
//! and the schemars schemas of the wire types: one source of truth for the
//! types (OpenAPI 3.1's schema dialect is JSON Schema 2020-12, which
//! schemars emits), so the document cannot describe a field the type lacks.
//!
//! Checked in as `protocol/openapi.json`; a test fails when it is stale
//! (regenerate with `UPDATE_SCHEMAS=1 cargo test -p restohub-protocol`).

pub mod operation;
pub mod operations;
pub mod queries;

use std::collections::BTreeMap;

use schemars::generate::SchemaSettings;
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};

use crate::{ErrorCode, ErrorEnvelope};
use operation::{Access, Body, Operation};

/// Where component schemas live, as JSON pointer and as `$ref` prefix.
const COMPONENTS: &str = "/components/schemas";
const REF_PREFIX: &str = "#/components/schemas/";

/// A generator whose `$ref`s point at `#/components/schemas/...`.
pub(crate) fn component_generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = COMPONENTS.into();
            s.meta_schema = None;
        })
        .into_generator()
}

/// The whole document.
pub fn document() -> Value {
    let mut generator = component_generator();
    let envelope = generator.subschema_for::<ErrorEnvelope>().to_value();
    let mut paths: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    let mut queries = Vec::new();
    let mut errors = Map::new();
    for op in operations::all() {
        let query = op.query.map(|q| q(&mut generator).to_value());
        let (item, query_ref) = operation(&op, &mut generator, &envelope, &mut errors, query);
        if let Some(r) = query_ref {
            queries.push((op.path, op.method.as_str(), r));
        }
        paths
            .entry(op.path)
            .or_default()
            .insert(op.method.as_str().into(), item);
    }
    let schemas = generator.take_definitions(true);
    // Query parameters are the fields of their type, one parameter each.
    for (path, method, query_ref) in queries {
        let params = query_parameters(&query_ref, &schemas);
        if let Some(list) = paths
            .get_mut(path)
            .and_then(|p| p.get_mut(method))
            .and_then(|o| o.get_mut("parameters"))
            .and_then(Value::as_array_mut)
        {
            list.extend(params);
        }
    }
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "restohub REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The REST API of a restohub hub. Every error is \
                `{\"error\": {\"code\", \"message\", \"details\"}}` with a stable code \
                (the codes each operation can answer with are listed per status). \
                The WebSocket at `/ws` is described by the AsyncAPI document at \
                `/api/asyncapi.json`; the prose spec is protocol/PROTOCOL.md.",
        },
        "tags": tags(),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": errors,
            "securitySchemes": {
                "staffToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A staff access token from `POST /api/v1/auth/login` \
                        (or `/auth/refresh`); short-lived, renewed with the refresh token.",
                },
                "guestToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A guest token from `POST /api/v1/guest-sessions` for the \
                        table on a QR code: only that table's menu, orders, check and calls.",
                },
            },
        },
    })
}

fn tags() -> Value {
    json!([
        {"name": "health", "description": "Liveness and readiness, for probes and balancers"},
        {"name": "auth", "description": "Signing in, tokens, MFA, guest sessions"},
        {"name": "restaurant", "description": "The restaurant's own settings"},
        {"name": "stations", "description": "Kitchen stations and their screens"},
        {"name": "menu", "description": "Categories, items, stock, modifiers, tax rates of items"},
        {"name": "tables", "description": "The floor: tables, QR codes, waiter calls"},
        {"name": "staff", "description": "Staff accounts"},
        {"name": "orders", "description": "Placing orders and the kitchen lifecycle"},
        {"name": "checks", "description": "Checks, payments, refunds, receipts, tax rates"},
        {"name": "reports", "description": "Analytics and the audit trail"},
    ])
}

fn operation(
    op: &Operation,
    generator: &mut SchemaGenerator,
    envelope: &Value,
    errors: &mut Map<String, Value>,
    query: Option<Value>,
) -> (Value, Option<Value>) {
    let mut parameters: Vec<Value> = op
        .path_params()
        .into_iter()
        .map(|name| {
            json!({
                "name": name,
                "in": "path",
                "required": true,
                "schema": {"type": "integer", "format": "int64", "minimum": 1},
            })
        })
        .collect();
    for (name, description) in &op.headers {
        parameters.push(json!({
            "name": name,
            "in": "header",
            "required": true,
            "description": description,
            "schema": {"type": "string"},
        }));
    }
    let mut item = json!({
        "operationId": op.id,
        "tags": [op.tag],
        "summary": op.summary,
        "parameters": parameters,
        "security": security(op.access),
        "responses": responses(op, generator, envelope, errors),
    });
    if let Some(body) = op.body {
        item["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": body(generator).to_value()}},
        });
    }
    (item, query)
}

fn security(access: Access) -> Value {
    match access {
        Access::Public | Access::Signed => json!([]),
        Access::Staff => json!([{"staffToken": []}]),
        Access::StaffOrGuest => json!([{"staffToken": []}, {"guestToken": []}]),
    }
}

/// An operation's replies; each set of error codes is one shared response
/// in `errors` (the components' responses), named by its codes.
fn responses(
    op: &Operation,
    generator: &mut SchemaGenerator,
    envelope: &Value,
    errors: &mut Map<String, Value>,
) -> Value {
    let mut out = Map::new();
    for (status, description, body) in &op.replies {
        let content = match body {
            Body::Json(schema) => {
                json!({"application/json": {"schema": schema(generator).to_value()}})
            }
            Body::Text(media) => Value::Object(
                media
                    .iter()
                    .map(|m| ((*m).to_string(), json!({"schema": {"type": "string"}})))
                    .collect(),
            ),
            Body::Empty => Value::Null,
        };
        let mut reply = json!({"description": description});
        if !content.is_null() {
            reply["content"] = content;
        }
        out.insert(status.to_string(), reply);
    }
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for code in op.error_codes() {
        by_status.entry(code.http_status()).or_default().push(code);
    }
    for (status, codes) in by_status {
        // A documented success status (503 of readiness) keeps its body.
        if out.contains_key(&status.to_string()) {
            continue;
        }
        let names: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
        let name = names.join("-or-");
        errors.entry(name.clone()).or_insert_with(|| {
            json!({
                "description": names.join(", "),
                "content": {"application/json": {"schema": {
                    "allOf": [
                        envelope,
                        {"properties": {"error": {"properties": {"code": {"enum": names}}}}},
                    ],
                }}},
            })
        });
        out.insert(
            status.to_string(),
            json!({"$ref": format!("#/components/responses/{name}")}),
        );
    }
    Value::Object(out)
}

/// One `in: query` parameter per field of the query type. A missing
/// parameter is the Rust `None`, so `null` is dropped from each schema.
fn query_parameters(query_ref: &Value, schemas: &Map<String, Value>) -> Vec<Value> {
    let Some(name) = query_ref
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix(REF_PREFIX))
    else {
        return Vec::new();
    };
    let Some(schema) = schemas.get(name) else {
        return Vec::new();
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(field, property)| {
            let mut parameter = json!({
                "name": field,
                "in": "query",
                "required": required.contains(&field.as_str()),
                "schema": without_null(property.clone()),
            });
            if let Some(description) = property.get("description") {
                parameter["description"] = description.clone();
            }
            parameter
        })
        .collect()
}

fn without_null(mut schema: Value) -> Value {
    if let Some(object) = schema.as_object_mut() {
        if object.get("default") == Some(&Value::Null) {
            object.remove("default");
        }
        object.remove("description");
        if let Some(types) = object.get("type").and_then(Value::as_array) {
            let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
            object.insert(
                "type".into(),
                if kept.len() == 1 {
                    kept[0].clone()
                } else {
                    Value::Array(kept)
                },
            );
        }
        if let Some(any_of) = object.get("anyOf").and_then(Value::as_array) {
            let kept: Vec<Value> = any_of
                .iter()
                .filter(|s| s.get("type") != Some(&json!("null")))
                .cloned()
                .collect();
            if kept.len() == 1 {
                object.remove("anyOf");
                if let Some(inner) = kept[0].as_object() {
                    for (k, v) in inner {
                        object.insert(k.clone(), v.clone());
                    }
                }
            } else {
                object.insert("anyOf".into(), Value::Array(kept));
            }
        }
    }
    schema
}

#[cfg(test)]
pub(crate) mod tests;
