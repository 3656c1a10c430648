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
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        field_error(&path, &e.into_inner().to_string())
    })
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
