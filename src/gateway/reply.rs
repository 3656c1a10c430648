//! The frames that answer a command: an `ack` with its result, or an
//! `error` with the stable code both edges share.
//!
//! Only builds frames; it never decides what a command did.

use restohub_protocol::ws::{Ack, AckResult, ErrorReply, RequestId, ServerMessage};

use crate::error::ApiError;

/// An `error` frame for `id`.
pub fn error_frame(id: Option<RequestId>, error: ApiError) -> String {
    if let ApiError::Internal(cause) = &error {
        tracing::error!(
            error = format!("{cause:#}"),
            "internal error in a websocket command"
        );
    }
    let body = error.body();
    let reply = ServerMessage::Error(ErrorReply {
        id,
        code: body.code,
        message: body.message,
        details: body.details,
    });
    serde_json::to_string(&reply).unwrap_or_default()
}

/// An `ack` frame for `id`.
pub fn ack_frame(id: RequestId, result: AckResult) -> String {
    serde_json::to_string(&ServerMessage::Ack(Ack { id, result })).unwrap_or_default()
}
