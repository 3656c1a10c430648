//! A terminal kitchen display: logs in, opens the hub's WebSocket, shows the
//! kitchen's (or one station's) live events, checks their continuity with
//! `prev`, and reconnects on its own with `since` whenever the connection
//! drops (Wi-Fi, a hub restart, a slow-consumer cut).
//!
//!     cargo run --example kitchen_display -- http://127.0.0.1:8080 demo chef@demo.restohub restohub-demo [station-id]

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use restohub_protocol::api::auth::{LoginRequest, RefreshRequest, Tokens};
use restohub_protocol::ws::{ClientMessage, Hello, RequestId, RoomCommand, ServerMessage};
use restohub_protocol::ErrorEnvelope;
use tokio_tungstenite::tungstenite::Message;

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Screen {
    http: reqwest::Client,
    base: String,
    tokens: Tokens,
    station: Option<i64>,
    /// The last event seq shown; sent as `since` on reconnect.
    last_seq: Option<u64>,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (base, restaurant, email, password, station) = match args.as_slice() {
        [b, r, e, p] => (b, r, e, p, None),
        [b, r, e, p, s] => (b, r, e, p, Some(s.parse()?)),
        _ => {
            eprintln!("usage: kitchen_display <hub url> <restaurant slug> <email> <password> [station id]");
            std::process::exit(2);
        }
    };
    let http = reqwest::Client::new();
    let login = LoginRequest {
        restaurant: restaurant.clone(),
        email: email.clone(),
        password: password.clone(),
    };
    let tokens = post(&http, &format!("{base}/api/v1/auth/login"), &login).await?;
    let mut screen = Screen {
        http,
        base: base.clone(),
        tokens,
        station,
        last_seq: None,
    };
    let mut backoff = Duration::from_millis(500);
    loop {
        match screen.session().await {
            Ok(reason) => println!("-- disconnected: {reason}; reconnecting"),
            Err(e) => println!("-- connection failed: {e}; retrying in {backoff:?}"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
        if let Err(e) = screen.refresh().await {
            println!("-- could not refresh the login: {e}");
        }
    }
}

impl Screen {
    /// One connection, until it ends; returns why it ended.
    async fn session(&mut self) -> Result<String, Error> {
        let url = format!("{}/ws", self.base.replacen("http", "ws", 1));
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
        let hello = ClientMessage::Hello(Hello {
            token: Some(self.tokens.access_token.clone()),
            since: self.last_seq,
            restaurant_id: None,
        });
        ws.send(Message::text(serde_json::to_string(&hello)?))
            .await?;
        while let Some(frame) = ws.next().await {
            let text = match frame? {
                Message::Text(text) => text,
                Message::Close(Some(close)) => {
                    return Ok(format!("closed {} {}", u16::from(close.code), close.reason))
                }
                Message::Close(None) => return Ok("closed".into()),
                _ => continue,
            };
            match serde_json::from_str::<ServerMessage>(text.as_str())? {
                ServerMessage::Welcome(w) => {
                    println!(
                        "== {} screen, restaurant {}, at seq {} (session {})",
                        w.role, w.restaurant_id, w.seq, w.session_id
                    );
                    if self.last_seq.is_some_and(|last| w.seq > last) {
                        println!(
                            "!! events {}..={} happened while away",
                            self.last_seq.unwrap_or(0) + 1,
                            w.seq
                        );
                    }
                    self.last_seq.get_or_insert(w.seq);
                    if let Some(station) = self.station {
                        let r = w.restaurant_id;
                        for (id, kind, room) in [
                            (1, "unsubscribe", format!("kitchen:{r}")),
                            (2, "subscribe", format!("kitchen:{r}:{station}")),
                        ] {
                            let cmd = RoomCommand {
                                id: RequestId::Number(id),
                                room,
                            };
                            let cmd = if kind == "subscribe" {
                                ClientMessage::Subscribe(cmd)
                            } else {
                                ClientMessage::Unsubscribe(cmd)
                            };
                            ws.send(Message::text(serde_json::to_string(&cmd)?)).await?;
                        }
                    }
                }
                ServerMessage::Event(e) => {
                    if Some(e.prev) != self.last_seq && self.last_seq.is_some() {
                        println!(
                            "!! gap: expected prev {:?}, got {}; resuming",
                            self.last_seq, e.prev
                        );
                        return Ok("gap detected".into());
                    }
                    self.last_seq = Some(e.seq);
                    println!(
                        "#{:<6} {}  {:<22} {}",
                        e.seq,
                        e.at.to_rfc3339(),
                        e.kind,
                        e.data
                    );
                }
                ServerMessage::PresenceJoined(p) => println!(
                    "   + {} {} online in {}",
                    p.member.role,
                    p.member.name.unwrap_or_default(),
                    p.room
                ),
                ServerMessage::PresenceLeft(p) => println!(
                    "   - {} {} left {}",
                    p.member.role,
                    p.member.name.unwrap_or_default(),
                    p.room
                ),
                ServerMessage::Ack(a) => println!("   ok {:?}", a.result),
                ServerMessage::Error(e) => println!("   error {}: {}", e.code, e.message),
            }
        }
        Ok("connection lost".into())
    }

    /// Refreshes the login only when the access token is about to expire:
    /// each refresh token works once, so refreshing needlessly (and losing a
    /// reply) would look like token theft and end the session.
    async fn refresh(&mut self) -> Result<(), Error> {
        let expires = self.tokens.access_expires_at.to_datetime();
        if expires - chrono::Utc::now() > chrono::TimeDelta::seconds(60) {
            return Ok(());
        }
        let body = RefreshRequest {
            refresh_token: self.tokens.refresh_token.clone(),
        };
        self.tokens = post(
            &self.http,
            &format!("{}/api/v1/auth/refresh", self.base),
            &body,
        )
        .await?;
        Ok(())
    }
}

async fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    body: &B,
) -> Result<T, Error> {
    let res = http.post(url).json(body).send().await?;
    if res.status().is_success() {
        return Ok(res.json().await?);
    }
    let error: ErrorEnvelope = res.json().await?;
    Err(format!("{}: {}", error.error.code, error.error.message).into())
}
