//! Bad input over WebSocket: every malformed frame gets an error reply and
//! the connection keeps working; oversize frames end only their own
//! connection; floods hit the rate limit.

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::support::*;
use crate::ws_client::{error_code, Ended, WsClient};

async fn malformed_frames_get_errors_and_the_connection_survives(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("bistro").await;
    let (mut ws, _) = WsClient::join(&app, &t.owner).await;
    let mut bystander = WsClient::staff(&app, &t, "waiter").await;

    let cases: [(&str, &str, Option<Value>); 9] = [
        ("{not json", "MALFORMED_JSON", None),
        ("[1,2,3]", "VALIDATION_FAILED", None),
        ("42", "VALIDATION_FAILED", None),
        (r#"{"id": 1}"#, "VALIDATION_FAILED", Some(json!(1))),
        (
            r#"{"type": "teleport", "id": "t"}"#,
            "UNKNOWN_COMMAND",
            Some(json!("t")),
        ),
        (
            r#"{"type": 7, "id": 2}"#,
            "VALIDATION_FAILED",
            Some(json!(2)),
        ),
        (
            r#"{"type": "subscribe", "id": 3}"#,
            "VALIDATION_FAILED",
            Some(json!(3)),
        ),
        (
            r#"{"type": "subscribe", "id": 4, "room": 12}"#,
            "VALIDATION_FAILED",
            Some(json!(4)),
        ),
        (r#"{"type": "ping"}"#, "VALIDATION_FAILED", None),
    ];
    for (frame, code, id) in cases {
        ws.send_text(frame).await;
        let reply = ws.next_reply().await;
        assert_eq!(error_code(&reply), code, "{frame}: {reply}");
        assert_eq!(reply.get("id").cloned(), id, "{frame}: {reply}");
        assert!(reply["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let missing_room = {
        ws.send_text(r#"{"type": "subscribe", "id": 5}"#).await;
        ws.next_reply().await
    };
    assert!(
        missing_room["details"]["fields"]["room"].is_array(),
        "{missing_room}"
    );
    ws.send_binary(vec![1, 2, 3]).await;
    let binary = ws.next_reply().await;
    assert_eq!(error_code(&binary), "UNSUPPORTED_MEDIA_TYPE");

    ws.assert_alive().await;
    bystander.assert_alive().await;
}

async fn an_oversize_frame_ends_only_its_connection(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("bistro").await;
    let (mut big, _) = WsClient::join(&app, &t.owner).await;
    let (mut other, _) = WsClient::join(&app, &t.owner).await;
    let huge = json!({ "type": "ping", "id": "x".repeat(64 * 1024) });
    let _ = futures::SinkExt::send(&mut big.stream, Message::text(huge.to_string())).await;
    assert_eq!(big.ended().await, Ended::Closed(1009));
    other.assert_alive().await;
    let (mut fresh, _) = WsClient::join(&app, &t.owner).await;
    fresh.assert_alive().await;
}

/// A message over the limit sent as fragments, each under it, is closed
/// with 1009 like one big frame (issue 17, item 7), and only it.
async fn an_oversize_fragmented_message_is_closed_with_1009(backend: Backend) {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("bistro").await;
    let (mut big, _) = WsClient::join(&app, &t.owner).await;
    let (mut other, _) = WsClient::join(&app, &t.owner).await;
    // Three fragments of 8 KiB: each under the 16 KiB limit, together over.
    let part = "x".repeat(8 * 1024);
    let fragments = [
        Frame::message(
            format!("{{\"type\":\"ping\",\"id\":\"{part}"),
            OpCode::Data(Data::Text),
            false,
        ),
        Frame::message(part.clone(), OpCode::Data(Data::Continue), false),
        Frame::message(format!("{part}\"}}"), OpCode::Data(Data::Continue), true),
    ];
    for fragment in fragments {
        let _ = futures::SinkExt::send(&mut big.stream, Message::Frame(fragment)).await;
    }
    assert_eq!(big.ended().await, Ended::Closed(1009));
    other.assert_alive().await;
}

async fn a_command_flood_is_rate_limited_then_closed(backend: Backend) {
    let app = TestApp::spawn_with(backend, &["--ws-commands-per-sec", "5"]).await;
    let t = app.tenant("bistro").await;
    let (mut ws, _) = WsClient::join(&app, &t.owner).await;
    let (mut other, _) = WsClient::join(&app, &t.owner).await;
    // A burst of 10 is allowed; the 11th frame in the same instant is not.
    for n in 0..11 {
        ws.send(json!({ "type": "ping", "id": n })).await;
    }
    let mut limited = 0;
    for _ in 0..11 {
        let reply = ws.next_reply().await;
        if reply["type"] == "error" {
            assert_eq!(error_code(&reply), "RATE_LIMITED");
            limited += 1;
        }
    }
    assert!(limited >= 1, "no command was rate limited");
    // Flooding on regardless ends the connection.
    for n in 0..200 {
        if futures::SinkExt::send(
            &mut ws.stream,
            Message::text(json!({ "type": "ping", "id": n }).to_string()),
        )
        .await
        .is_err()
        {
            break;
        }
    }
    assert_eq!(ws.ended().await, Ended::Closed(4029));
    other.assert_alive().await;
}

crate::both_backends!(
    malformed_frames_get_errors_and_the_connection_survives,
    an_oversize_frame_ends_only_its_connection,
    an_oversize_fragmented_message_is_closed_with_1009,
    a_command_flood_is_rate_limited_then_closed,
);
