use std::path::PathBuf;

use serde_json::Value;

use super::operation::Method;

/// Compares `protocol/<name>` with `doc`, or writes it with `UPDATE_SCHEMAS`.
pub fn assert_current(name: &str, doc: &Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name);
    let text = serde_json::to_string_pretty(doc).unwrap() + "\n";
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &text).unwrap();
    } else {
        assert!(
            std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()),
            "protocol/{name} is stale: run UPDATE_SCHEMAS=1 cargo test -p restohub-protocol and commit it"
        );
    }
}

/// Every local `$ref` in `doc` that names nothing.
pub fn unresolved_refs(doc: &Value) -> Vec<String> {
    let mut refs = Vec::new();
    collect_refs(doc, &mut refs);
    refs.into_iter()
        .filter(|r| {
            r.strip_prefix('#')
                .is_none_or(|pointer| doc.pointer(pointer).is_none())
        })
        .collect()
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn checked_in_openapi_is_current() {
    assert_current("openapi.json", &super::document());
}

#[test]
fn every_ref_resolves_and_every_path_parameter_is_declared() {
    let doc = super::document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(unresolved_refs(&doc), Vec::<String>::new());
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            let in_path: Vec<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(declared, in_path, "{method} {path}");
            assert!(
                op["responses"].as_object().unwrap().len() >= 2,
                "{method} {path}"
            );
        }
    }
}

#[test]
fn operation_ids_and_routes_are_unique() {
    let ops = super::operations::all();
    let mut ids: Vec<&str> = ops.iter().map(|o| o.id).collect();
    let mut routes: Vec<(Method, &str)> = ops.iter().map(|o| (o.method, o.path)).collect();
    ids.sort_unstable();
    routes.sort_unstable();
    let n = ops.len();
    ids.dedup();
    routes.dedup();
    assert_eq!((ids.len(), routes.len()), (n, n));
}

/// Errors are the one envelope, narrowed to the codes of their status.
#[test]
fn error_replies_carry_the_envelope_with_their_codes() {
    let doc = super::document();
    let login = &doc["paths"]["/api/v1/auth/login"]["post"]["responses"];
    let name = login["401"]["$ref"].as_str().unwrap();
    let response = doc.pointer(name.strip_prefix('#').unwrap()).unwrap();
    let schema = &response["content"]["application/json"]["schema"];
    assert_eq!(
        schema["allOf"][0]["$ref"],
        "#/components/schemas/ErrorEnvelope"
    );
    let codes = &schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"];
    assert!(codes.as_array().unwrap().contains(&"MFA_REQUIRED".into()));
    let query = &doc["paths"]["/api/v1/menu/items"]["get"]["parameters"];
    let limit = query
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(limit["schema"]["maximum"], 200);
    assert_eq!(limit["schema"]["type"], "integer");
}
