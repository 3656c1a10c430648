//! A WebSocket test client: real socket, JSON frames, close codes.

use std::collections::VecDeque;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::TestApp;

/// How long any single expected frame may take before a test fails.
const PATIENCE: Duration = Duration::from_secs(10);

pub struct WsClient {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Frames read while looking for something else (events, presence).
    pending: VecDeque<Value>,
    next_id: i64,
}

/// How a connection ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Closed(u16),
    /// The socket ended without a close frame.
    Dropped,
}

impl WsClient {
    pub async fn connect(app: &TestApp) -> WsClient {
        Self::connect_with(app, &[])
            .await
            .expect("websocket upgrade")
    }

    /// Connects with extra request headers; Err carries the HTTP status of a
    /// refused upgrade.
    pub async fn connect_with(
        app: &TestApp,
        headers: &[(&'static str, &str)],
    ) -> Result<WsClient, u16> {
        let mut request = format!("ws://{}/ws", app.addr)
            .into_client_request()
            .unwrap();
        for (name, value) in headers {
            request.headers_mut().insert(*name, value.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((stream, _)) => Ok(WsClient {
                stream,
                pending: VecDeque::new(),
                next_id: 1,
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
            Err(e) => panic!("websocket connect failed: {e}"),
        }
    }

    /// A guest's phone at the table with `code`, connected.
    pub async fn guest(app: &TestApp, code: impl serde::Serialize) -> WsClient {
        Self::join(app, &app.guest_token(code).await).await.0
    }

    /// A new staff account of `role`, connected.
    pub async fn staff(app: &TestApp, tenant: &crate::support::Tenant, role: &str) -> WsClient {
        let (_, token) = app.staff(tenant, role).await;
        Self::join(app, &token).await.0
    }

    /// Connects to a hub at `addr` (host:port) not started by this process.
    pub async fn connect_addr(addr: &str) -> WsClient {
        let (stream, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .expect("connect");
        WsClient {
            stream,
            pending: VecDeque::new(),
            next_id: 1,
        }
    }

    /// Connects, says hello with `token`, and returns the welcome.
    pub async fn join(app: &TestApp, token: &str) -> (WsClient, Value) {
        let mut client = Self::connect(app).await;
        client
            .send(json!({ "type": "hello", "token": token }))
            .await;
        let welcome = client.recv().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        (client, welcome)
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_text(&frame.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.stream.send(Message::text(text)).await.expect("send");
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.stream
            .send(Message::binary(bytes))
            .await
            .expect("send");
    }

    /// The next JSON frame (pending ones first).
    pub async fn recv(&mut self) -> Value {
        if let Some(frame) = self.pending.pop_front() {
            return frame;
        }
        self.read().await
    }

    async fn read(&mut self) -> Value {
        loop {
            let next = tokio::time::timeout(PATIENCE, self.stream.next())
                .await
                .expect("a frame in time");
            match next {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(text.as_str()).expect("JSON frame");
                    crate::event_schema::check(&frame);
                    return frame;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Sends a command with a fresh id and returns its reply (ack or error);
    /// other frames received meanwhile stay pending.
    pub async fn command(&mut self, mut frame: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        frame["id"] = json!(id);
        self.send(frame).await;
        self.reply_to(json!(id)).await
    }

    pub async fn reply_to(&mut self, id: Value) -> Value {
        loop {
            let frame = self.read().await;
            if frame["id"] == id && (frame["type"] == "ack" || frame["type"] == "error") {
                return frame;
            }
            self.pending.push_back(frame);
        }
    }

    /// The next frame of `type`, skipping (and keeping) others.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        self.next_matching(|f| f["type"] == kind).await
    }

    /// The next reply (ack or error), whatever its id.
    pub async fn next_reply(&mut self) -> Value {
        self.next_matching(|f| f["type"] == "ack" || f["type"] == "error")
            .await
    }

    /// The next frame for which `wanted` holds, skipping (and keeping) others.
    pub async fn next_matching(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.pending.iter().position(&wanted) {
            return self.pending.remove(i).unwrap();
        }
        loop {
            let frame = self.read().await;
            if wanted(&frame) {
                return frame;
            }
            self.pending.push_back(frame);
        }
    }

    /// The events pending and those read until the hub closes the
    /// connection, and the close code.
    pub async fn events_until_closed(&mut self) -> (Vec<Value>, u16) {
        let mut events: Vec<Value> = std::mem::take(&mut self.pending)
            .into_iter()
            .filter(|f| f["type"] == "event")
            .collect();
        loop {
            let next = tokio::time::timeout(PATIENCE, self.stream.next())
                .await
                .expect("a frame or the close in time");
            match next {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(text.as_str()).expect("JSON frame");
                    crate::event_schema::check(&frame);
                    if frame["type"] == "event" {
                        events.push(frame);
                    }
                }
                Some(Ok(Message::Close(Some(frame)))) => return (events, u16::from(frame.code)),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected frames then a close, got {other:?}"),
            }
        }
    }

    /// Reads until the connection ends; returns how.
    pub async fn ended(&mut self) -> Ended {
        match self.ended_with().await {
            Some((code, _)) => Ended::Closed(code),
            None => Ended::Dropped,
        }
    }

    /// The close code and reason of a connection the hub ends (a refused
    /// hello); panics if it ends without a close frame.
    pub async fn close_frame(&mut self) -> (u16, String) {
        self.ended_with().await.expect("a close frame")
    }

    /// Reads until the connection ends: its close frame's code and reason,
    /// or `None` when it ended without one.
    async fn ended_with(&mut self) -> Option<(u16, String)> {
        loop {
            let next = tokio::time::timeout(PATIENCE, self.stream.next())
                .await
                .expect("the connection to end in time");
            match next {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return Some((u16::from(frame.code), frame.reason.to_string()))
                }
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// True when no event is waiting among the frames already read.
    pub fn no_pending_events(&self) -> bool {
        !self.pending.iter().any(|f| f["type"] == "event")
    }

    /// Removes and returns the first event among the frames already read.
    pub fn take_pending_event(&mut self) -> Option<Value> {
        let i = self.pending.iter().position(|f| f["type"] == "event")?;
        self.pending.remove(i)
    }

    /// Events of `kind` among the frames already read.
    pub fn pending_events_of(&self, kind: &str) -> Vec<Value> {
        self.pending
            .iter()
            .filter(|f| f["type"] == "event" && f["kind"] == kind)
            .cloned()
            .collect()
    }

    pub fn no_pending_presence(&self) -> bool {
        !self.pending.iter().any(|f| {
            f["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("presence."))
        })
    }

    pub async fn subscribe(&mut self, room: &str) -> Value {
        self.command(json!({ "type": "subscribe", "room": room }))
            .await
    }

    /// A round trip that proves the connection still works.
    pub async fn assert_alive(&mut self) {
        let pong = self.command(json!({ "type": "ping" })).await;
        assert_eq!(
            (pong["type"].as_str(), pong["command"].as_str()),
            (Some("ack"), Some("ping")),
            "{pong}"
        );
    }
}

/// The code of an error reply (panics on anything else).
#[track_caller]
pub fn error_code(reply: &Value) -> &str {
    assert_eq!(reply["type"], "error", "{reply}");
    reply["code"].as_str().unwrap()
}

/// The `retry_after_ms=` a refusal's close reason carries (PROTOCOL.md
/// 9.6), if it carries one.
pub fn retry_after_ms(reason: &str) -> Option<u64> {
    reason.strip_prefix("retry_after_ms=")?.parse().ok()
}
