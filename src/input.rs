//! Typed input from JSON that is already parsed (a request body, a
//! WebSocket command), with a shape error that names its field
//! (VALIDATION_FAILED): one reading for both edges.

use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Deserializes an already parsed JSON object, naming the field of a shape
/// error (VALIDATION_FAILED).
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    // serde would also accept a struct written as an array of its fields;
    // every request body and command of this API is an object.
    if !value.is_object() {
        return Err(ApiError::invalid_field(
            "body",
            "type",
            "must be a JSON object",
        ));
    }
    if let Some(field) = nul_at(&value, String::new()) {
        // PostgreSQL cannot store U+0000 in text; no field of this API
        // means one, so it is refused on both backends alike.
        return Err(ApiError::invalid_field(
            &field,
            "nul",
            "must not contain a NUL character (U+0000)",
        ));
    }
    let mut value = value;
    integral_numbers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        field_error(&path, &e.into_inner().to_string())
    })
}

/// Writes `2.0` as `2`: JSON Schema's `integer` (what the OpenAPI and
/// AsyncAPI documents promise) is any number without a fraction, and some
/// clients' JSON encoders write whole numbers with one; serde alone would
/// refuse them for integer fields. Numbers with a fraction, or beyond
/// 64 bits, are left as they are (and refused where an integer is due).
fn integral_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                // i64's range is [-2^63, 2^63); 2^63 itself is not in it.
                if f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63) {
                    *value = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// The path (as serde names it: `lines[0].note`) of the first string,
/// value or key, that holds a NUL character.
fn nul_at(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => Some(if path.is_empty() {
            "body".to_owned()
        } else {
            path
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_at(item, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let field = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                Some(field)
            } else {
                nul_at(item, field)
            }
        }),
        _ => None,
    }
}

/// Names the field of a shape error: serde reports missing and unknown
/// fields at the parent, with the field's name in the message.
fn field_error(path: &str, message: &str) -> ApiError {
    let message = message.split(" at line ").next().unwrap_or(message);
    let quoted = message.split('`').nth(1);
    let (field, code) = if message.starts_with("missing field") {
        (join(path, quoted.unwrap_or("?")), "required")
    } else if message.starts_with("unknown field") {
        (join(path, quoted.unwrap_or("?")), "unknown_field")
    } else if path == "." {
        ("body".to_owned(), "type")
    } else {
        (path.to_owned(), "type")
    };
    ApiError::invalid_field(&field, code, message)
}

fn join(parent: &str, field: &str) -> String {
    if parent.ends_with(field) {
        // serde_path_to_error already stepped into an unknown field.
        parent.to_owned()
    } else if parent == "." {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}
