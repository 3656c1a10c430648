//! The one error type of the HTTP API, rendered as `{"error": {...}}`.
//!
//! Codes come from `restohub_protocol::ErrorCode` so REST and WebSocket
//! clients branch on the same strings. Internal causes are logged here and
//! never sent to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use restohub_protocol::{ErrorBody, ErrorCode, ErrorEnvelope};
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A client error with a stable code.
    #[error("{code}: {message}")]
    Client {
        code: ErrorCode,
        message: String,
        details: Option<Value>,
    },
    /// Anything unexpected; logged with its cause chain, sent as INTERNAL.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Client {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(code: ErrorCode, message: impl Into<String>, details: Value) -> Self {
        ApiError::Client {
            code,
            message: message.into(),
            details: Some(details),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn forbidden() -> Self {
        Self::new(ErrorCode::Forbidden, "your role does not allow this")
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// VALIDATION_FAILED for one field.
    pub fn invalid_field(field: &str, code: &str, message: &str) -> Self {
        Self::with_details(
            ErrorCode::ValidationFailed,
            format!("{field}: {message}"),
            json!({ "fields": { field: [{ "code": code, "message": message }] } }),
        )
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Client { code, .. } => *code,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn body(&self) -> ErrorBody {
        match self {
            ApiError::Client {
                code,
                message,
                details,
            } => ErrorBody {
                code: *code,
                message: message.clone(),
                details: details.clone(),
            },
            ApiError::Internal(_) => ErrorBody {
                code: ErrorCode::Internal,
                message: "internal error; it has been logged".into(),
                details: None,
            },
        }
    }
}

impl From<sqlx::Error> for ApiError {
    /// A database that is unreachable, going away or out of resources is
    /// UNAVAILABLE (retry later); anything else from it is INTERNAL. Either
    /// way the cause is logged, not sent.
    fn from(e: sqlx::Error) -> Self {
        if is_unavailable(&e) {
            tracing::error!(error = %e, "database unavailable");
            ApiError::new(
                ErrorCode::Unavailable,
                "the database is unavailable; retry shortly",
            )
        } else {
            ApiError::Internal(anyhow::Error::new(e).context("database error"))
        }
    }
}

/// Whether `e` says the database cannot serve now, rather than that the
/// request or the code is wrong: the pool or the connection is gone (a
/// server shut down or restarted mid-request, a dropped socket: sqlx
/// reports a stream cut mid-message as I/O, UnexpectedEof), or the server
/// reports an outage or exhaustion. A protocol error stays INTERNAL: it
/// means a message the driver did not expect, which no outage produced in
/// the shutdown test (tests/api/db_outage.rs).
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else {
                return false;
            };
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                sqlstate_is_unavailable(&code)
            } else {
                code.parse().is_ok_and(sqlite_code_is_unavailable)
            }
        }
        _ => false,
    }
}

/// PostgreSQL SQLSTATE classes that mean "not now": 08 connection
/// exception, 53 insufficient resources (disk, memory, too many
/// connections), 57 operator intervention (57P01 admin shutdown, 57P02
/// crash shutdown, 57P03 cannot connect now, cancels and session timeouts).
fn sqlstate_is_unavailable(sqlstate: &str) -> bool {
    ["08", "53", "57"]
        .iter()
        .any(|class| sqlstate.starts_with(class))
}

/// SQLite result codes (the primary code is the low byte of an extended
/// one) that mean "not now": BUSY past the busy timeout, NOMEM, FULL (the
/// disk), CANTOPEN (out of file descriptors, or the file is gone).
fn sqlite_code_is_unavailable(code: i32) -> bool {
    const BUSY: i32 = 5;
    const NOMEM: i32 = 7;
    const FULL: i32 = 13;
    const CANTOPEN: i32 = 14;
    matches!(code & 0xff, BUSY | NOMEM | FULL | CANTOPEN)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        let status = StatusCode::from_u16(self.code().http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(ErrorEnvelope { error: self.body() })).into_response()
    }
}

/// Maps constraint violations of one write to precise client errors:
/// `unique` for a duplicate, `referenced` for a row still in use elsewhere.
/// Anything else stays an internal error.
pub fn on_constraint(unique: &str, referenced: &str) -> impl FnOnce(sqlx::Error) -> ApiError {
    let (unique, referenced) = (unique.to_owned(), referenced.to_owned());
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => ApiError::conflict(unique),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            ApiError::conflict(referenced)
        }
        _ => e.into(),
    }
}

/// Turns `validator` failures into VALIDATION_FAILED with per-field details:
/// `{"fields": {"name": [{"code": "length", "message": "..."}]}}`.
pub fn validation_failed(errors: &validator::ValidationErrors) -> ApiError {
    let mut fields = serde_json::Map::new();
    collect_field_errors("", errors, &mut fields);
    let message = fields
        .iter()
        .map(|(field, problems)| {
            let first = problems[0]["message"].as_str().unwrap_or("is invalid");
            format!("{field}: {first}")
        })
        .collect::<Vec<_>>()
        .join("; ");
    ApiError::with_details(
        ErrorCode::ValidationFailed,
        message,
        json!({ "fields": fields }),
    )
}

fn collect_field_errors(
    prefix: &str,
    errors: &validator::ValidationErrors,
    out: &mut serde_json::Map<String, Value>,
) {
    use validator::ValidationErrorsKind as Kind;
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            Kind::Field(list) => {
                let problems = list.iter().map(describe).collect();
                out.insert(path, Value::Array(problems));
            }
            Kind::Struct(inner) => collect_field_errors(&path, inner, out),
            Kind::List(items) => {
                for (index, inner) in items {
                    collect_field_errors(&format!("{path}[{index}]"), inner, out);
                }
            }
        }
    }
}

fn describe(e: &validator::ValidationError) -> Value {
    let message = match &e.message {
        Some(m) => m.to_string(),
        None => default_message(e),
    };
    json!({ "code": e.code, "message": message })
}

fn default_message(e: &validator::ValidationError) -> String {
    let param = |name: &str| e.params.get(name).map(|v| v.to_string());
    match e.code.as_ref() {
        "length" => match (param("min"), param("max"), param("equal")) {
            (_, _, Some(n)) => format!("must be exactly {n} characters"),
            (Some(lo), Some(hi), _) => format!("must be {lo} to {hi} characters"),
            (None, Some(hi), _) => format!("must be at most {hi} characters"),
            (Some(lo), None, _) => format!("must be at least {lo} characters"),
            _ => "has the wrong length".into(),
        },
        "range" => match (param("min"), param("max")) {
            (Some(lo), Some(hi)) => format!("must be between {lo} and {hi}"),
            (Some(lo), None) => format!("must be at least {lo}"),
            (None, Some(hi)) => format!("must be at most {hi}"),
            _ => "is out of range".into(),
        },
        "email" => "must be an email address".into(),
        other => format!("is invalid ({other})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_going_away_is_unavailable() {
        for sqlstate in [
            "57P01", // terminating connection due to administrator command
            "57P02", "57P03", "57014", "08006", "08001", "08P01", "53300", "53100", "53200",
        ] {
            assert!(sqlstate_is_unavailable(sqlstate), "{sqlstate}");
        }
        for sqlstate in [
            "23505", "23503", "22021", "42P01", "40001", "XX000", "P0001",
        ] {
            assert!(!sqlstate_is_unavailable(sqlstate), "{sqlstate}");
        }
    }

    #[test]
    fn sqlite_exhaustion_is_unavailable() {
        // 5 BUSY, 261 BUSY_RECOVERY, 14 CANTOPEN, 13 FULL, 7 NOMEM.
        for code in [5, 261, 517, 14, 13, 7] {
            assert!(sqlite_code_is_unavailable(code), "{code}");
        }
        // 19 CONSTRAINT, 2067 CONSTRAINT_UNIQUE, 787 CONSTRAINT_FOREIGNKEY,
        // 1 ERROR, 11 CORRUPT.
        for code in [19, 2067, 787, 1, 11] {
            assert!(!sqlite_code_is_unavailable(code), "{code}");
        }
    }

    #[test]
    fn lost_connections_answer_unavailable_and_bugs_internal() {
        let lost = [
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)),
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
        ];
        for e in lost {
            assert_eq!(ApiError::from(e).code(), ErrorCode::Unavailable);
        }
        let bugs = [
            sqlx::Error::RowNotFound,
            sqlx::Error::Protocol("unexpected message".into()),
            sqlx::Error::ColumnNotFound("x".into()),
            sqlx::Error::Decode("bad".into()),
        ];
        for e in bugs {
            assert_eq!(ApiError::from(e).code(), ErrorCode::Internal);
        }
    }
}
