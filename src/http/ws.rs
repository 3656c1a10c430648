//! `GET /ws`: the WebSocket upgrade, with the checks that must happen before
//! it (browser origin, instance connection limit) and per-socket buffer sizes.

use std::sync::Arc;

use axum::extract::{State, WebSocketUpgrade};
use axum::http::header::{AUTHORIZATION, HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Extension;
use axum::Router;
use restohub_protocol::ErrorCode;

use super::client::ClientAddress;
use crate::error::ApiError;
use crate::gateway::Gateway;
use crate::state::AppState;

/// Each socket's initial read buffer (tungstenite defaults to 128 KiB per
/// socket, which 20,000 idle screens cannot afford). Only a frame header's
/// worth: tungstenite grows it to each frame's length as the header says,
/// and an idle screen keeps what its largest frame (its hello) needed, not
/// a fixed kilobyte besides (BENCHMARKS.md, idle memory).
const READ_BUFFER: usize = 16;
/// Outbound frames fed without a flush collect up to this many bytes before
/// they are written (a session writes its queued frames together, see
/// `send_queued`); every send still ends with a flush, so nothing waits.
const WRITE_BUFFER: usize = 64 * 1024;

/// What the upgrade needs besides the shared state.
#[derive(Clone)]
pub struct WsEdge {
    pub gateway: Gateway,
    /// Browser origins allowed to open WebSockets besides the hub's own.
    pub allowed_origins: Arc<Vec<HeaderValue>>,
}

pub fn router(edge: WsEdge) -> Router<AppState> {
    Router::new()
        .route("/ws", get(upgrade))
        .layer(Extension(edge))
}

async fn upgrade(
    State(state): State<AppState>,
    Extension(edge): Extension<WsEdge>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if let Some(origin) = headers.get(ORIGIN) {
        let same_origin = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://").map(|(_, host)| host))
            .zip(headers.get(HOST).and_then(|h| h.to_str().ok()))
            .is_some_and(|(origin_host, host)| origin_host.eq_ignore_ascii_case(host));
        if !same_origin && !edge.allowed_origins.iter().any(|allowed| allowed == origin) {
            return ApiError::new(ErrorCode::Forbidden, "this origin may not open a WebSocket")
                .into_response();
        }
    }
    let gateway = edge.gateway;
    if gateway.is_shutting_down() {
        return ApiError::new(
            ErrorCode::Unavailable,
            "server restarting; connect to another instance",
        )
        .into_response();
    }
    let Some(slot) = gateway.try_connect() else {
        return ApiError::new(
            ErrorCode::Unavailable,
            "this instance is at its connection limit",
        )
        .into_response();
    };
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let max_message = gateway.settings().max_message_bytes;
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .on_upgrade(move |socket| async move {
            let session =
                crate::gateway::run_session(gateway.clone(), state, socket, token, client, slot);
            gateway.spawn(session);
        })
}
