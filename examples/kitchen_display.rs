//! A terminal kitchen display for one station (or the whole kitchen): logs
//! in, draws the open tickets from `kitchen.snapshot` with their ages, keeps
//! them live from events (checking continuity with `prev`), and bumps lines
//! from the keyboard. It reconnects on its own after drops and restarts,
//! taking a fresh snapshot, with exponential backoff and full jitter, or,
//! when the hub said when (`retry_after_ms`, PROTOCOL.md 9.6), then plus a
//! random share of up to half of it: a kitchen full of screens that lost
//! one instance comes back spread out.
//!
//! Each line shows its course, whether it is held or fired (and when to
//! start it), its choices, modifiers and allergens; tickets are green,
//! yellow or red by the hub's clock against their due time, rushed ones
//! say RUSH, and the station's all-day counts stay below. A station screen
//! acknowledges what it has drawn (`screen.seen`), so the expo and the
//! waiters know its tickets are on screen.
//!
//!     cargo run --example kitchen_display -- http://127.0.0.1:8080 demo chef@demo.restohub restohub-demo [station-id]
//!
//! Keys (then Enter): `b <line>` bumps a line one step (queued → preparing →
//! ready), `r <line>` recalls it one step, `q` quits.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use restohub_protocol::api::auth::{LoginRequest, RefreshRequest, Tokens};
use restohub_protocol::api::orders::{LineStatus, Order};
use restohub_protocol::api::stations::{AllDayCount, TicketTimer};
use restohub_protocol::ws::{AckResult, ClientMessage, Hello, ServerMessage};
use restohub_protocol::{ErrorEnvelope, EventData};
use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::Message;

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Screen {
    http: reqwest::Client,
    base: String,
    tokens: Tokens,
    station: Option<i64>,
    /// Open tickets by order id, as this screen shows them.
    tickets: BTreeMap<i64, Order>,
    /// Each ticket's clock (its first station's, on the expo's screen).
    timers: BTreeMap<i64, TicketTimer>,
    /// The hub's clock minus this machine's: ticket times follow the hub.
    hub_offset_ms: i64,
    /// Items queued or preparing, per station.
    all_day: BTreeMap<i64, Vec<AllDayCount>>,
    last_seq: Option<u64>,
    /// The last seq acknowledged with `screen.seen` (station screens).
    acked: Option<u64>,
    status: String,
    next_id: i64,
    /// When the last welcome came, if the session still runs.
    welcomed: Option<std::time::Instant>,
    /// The wait the hub asked for when it last refused (1013, 4029).
    retry_after: Option<Duration>,
}

/// Reconnect delays: the retry-after the hub gave plus a random share of up
/// to half of it; without one, a random wait between 0 and min(cap, base ×
/// 2^n) (full jitter). A hub that says when to come back has counted the
/// screens ahead; a growing backoff on top of it kept screens away for
/// seconds after the hub had room (BENCHMARKS.md, "Reconnect storm").
struct Backoff {
    attempt: u32,
}

impl Backoff {
    const BASE: Duration = Duration::from_millis(500);
    const CAP: Duration = Duration::from_secs(30);
    /// A session that lasted this long after its welcome starts the
    /// backoff afresh.
    const STEADY: Duration = Duration::from_secs(30);

    fn next(&mut self, retry_after: Option<Duration>) -> Duration {
        use rand::Rng;
        let window = Self::BASE
            .saturating_mul(1 << self.attempt.min(16))
            .min(Self::CAP);
        self.attempt += 1;
        let (at_least, spread) = match retry_after {
            Some(after) => (after, after / 2),
            None => (Duration::ZERO, window),
        };
        at_least + Duration::from_millis(rand::rng().random_range(0..=spread.as_millis() as u64))
    }
}

/// The `retry_after_ms=<ms>` of a close reason.
fn retry_after(reason: &str) -> Option<Duration> {
    reason
        .strip_prefix("retry_after_ms=")
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis)
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
        otp: None,
    };
    let tokens = post(&http, &format!("{base}/api/v1/auth/login"), &login).await?;
    let mut screen = Screen {
        http,
        base: base.clone(),
        tokens,
        station,
        tickets: BTreeMap::new(),
        timers: BTreeMap::new(),
        hub_offset_ms: 0,
        all_day: BTreeMap::new(),
        last_seq: None,
        acked: None,
        status: String::new(),
        next_id: 1,
        welcomed: None,
        retry_after: None,
    };
    let (keys_tx, mut keys) = tokio::sync::mpsc::channel::<String>(16);
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if keys_tx.send(line).await.is_err() {
                break;
            }
        }
    });
    let mut backoff = Backoff { attempt: 0 };
    loop {
        let ended = screen.session(&mut keys).await;
        if screen
            .welcomed
            .take()
            .is_some_and(|at| at.elapsed() >= Backoff::STEADY)
        {
            backoff.attempt = 0;
        }
        let wait = backoff.next(screen.retry_after.take());
        match ended {
            Ok(None) => return Ok(()),
            Ok(Some(reason)) => {
                screen.status = format!("disconnected: {reason}; reconnecting in {wait:.1?}")
            }
            Err(e) => screen.status = format!("connection failed: {e}; retrying in {wait:.1?}"),
        }
        screen.draw();
        tokio::time::sleep(wait).await;
        if let Err(e) = screen.refresh().await {
            screen.status = format!("could not refresh the login: {e}");
        }
    }
}

impl Screen {
    /// One connection; `Ok(None)` when the user quits, else why it ended.
    async fn session(
        &mut self,
        keys: &mut tokio::sync::mpsc::Receiver<String>,
    ) -> Result<Option<String>, Error> {
        let url = format!("{}/ws", self.base.replacen("http", "ws", 1));
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
        let hello = ClientMessage::Hello(Hello {
            token: Some(self.tokens.access_token.clone()),
            since: self.last_seq,
            restaurant_id: None,
            rooms: Vec::new(),
        });
        ws.send(Message::text(serde_json::to_string(&hello)?))
            .await?;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                frame = ws.next() => {
                    let text = match frame {
                        None => return Ok(Some("connection lost".into())),
                        Some(Err(e)) => return Ok(Some(e.to_string())),
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(close))) => {
                            self.retry_after = close.as_ref().and_then(|c| retry_after(&c.reason));
                            return Ok(Some(close.map_or("closed".into(), |c| format!("closed {} {}", u16::from(c.code), c.reason))))
                        }
                        Some(Ok(_)) => continue,
                    };
                    let message: ServerMessage = serde_json::from_str(text.as_str())?;
                    if let Some(reason) = self.receive(&mut ws, message).await? {
                        return Ok(Some(reason));
                    }
                }
                key = keys.recv() => match key.as_deref().map(str::trim) {
                    None | Some("q") => return Ok(None),
                    Some(command) => self.key(&mut ws, command).await?,
                },
                _ = tick.tick() => {
                    self.acknowledge(&mut ws).await?;
                    self.draw()
                }
            }
        }
    }

    async fn receive<S>(
        &mut self,
        ws: &mut S,
        message: ServerMessage,
    ) -> Result<Option<String>, Error>
    where
        S: SinkExt<Message> + Unpin,
        S::Error: std::error::Error + Send + Sync + 'static,
    {
        match message {
            ServerMessage::Welcome(w) => {
                self.welcomed = Some(std::time::Instant::now());
                let r = w.restaurant_id;
                if let Some(station) = self.station {
                    // A station screen: only its own tickets.
                    self.send(
                        ws,
                        json!({ "type": "unsubscribe", "room": format!("kitchen:{r}") }),
                    )
                    .await?;
                    self.send(
                        ws,
                        json!({ "type": "subscribe", "room": format!("kitchen:{r}:{station}") }),
                    )
                    .await?;
                }
                self.send(
                    ws,
                    json!({ "type": "kitchen.snapshot", "station_id": self.station }),
                )
                .await?;
                self.status = format!("connected as {} (session {})", w.role, w.session_id);
            }
            ServerMessage::Ack(ack) => match ack.result {
                AckResult::KitchenSnapshot {
                    seq,
                    tickets,
                    hub_time,
                    all_day,
                    ..
                } => {
                    self.hub_offset_ms = hub_time.millis() - chrono::Utc::now().timestamp_millis();
                    self.timers = tickets
                        .iter()
                        .filter_map(|t| t.timers.first().map(|timer| (t.order.id, *timer)))
                        .collect();
                    self.tickets = tickets.into_iter().map(|t| (t.order.id, t.order)).collect();
                    self.all_day.clear();
                    for count in all_day {
                        self.all_day
                            .entry(count.station_id)
                            .or_default()
                            .push(count);
                    }
                    self.last_seq = Some(seq);
                }
                AckResult::ItemSetStatus(o) => {
                    self.status = format!("order {} is now {:?}", o.order.id, o.order.status)
                }
                _ => {}
            },
            ServerMessage::Error(e) => self.status = format!("{}: {}", e.code, e.message),
            ServerMessage::Event(e) => {
                let Some(last) = self.last_seq else {
                    return Ok(None);
                };
                if e.seq <= last {
                    return Ok(None); // already in the snapshot
                }
                if e.prev != last {
                    return Ok(Some(format!(
                        "gap before seq {} (had {last}); resyncing",
                        e.seq
                    )));
                }
                self.last_seq = Some(e.seq);
                self.apply(e.event);
            }
            ServerMessage::PresenceJoined(_)
            | ServerMessage::PresenceLeft(_)
            | ServerMessage::Resumed(_)
            | ServerMessage::Dashboard(_) => {}
            ServerMessage::KitchenAllDay(frame) => {
                self.hub_offset_ms =
                    frame.hub_time.millis() - chrono::Utc::now().timestamp_millis();
                self.all_day.insert(frame.station_id, frame.items);
            }
        }
        self.draw();
        Ok(None)
    }

    /// Keeps the open tickets current from the events this screen gets.
    fn apply(&mut self, event: EventData) {
        match event {
            EventData::OrderPlaced(placed) => {
                self.tickets.insert(placed.order.id, placed.order);
            }
            EventData::TicketPlaced(ticket) => {
                if let Some(timer) = ticket.timer {
                    self.timers.insert(ticket.order_id, timer);
                }
                let order = Order {
                    id: ticket.order_id,
                    table_id: ticket.table_id,
                    source: restohub_protocol::api::orders::OrderSource::DineIn,
                    status: restohub_protocol::api::orders::OrderStatus::Placed,
                    note: ticket.note,
                    total_cents: 0,
                    lines: ticket.lines,
                    created_at: ticket.created_at,
                    placed_seq: 0,
                    ready_at: None,
                    rush: ticket.rush,
                };
                self.tickets.insert(ticket.order_id, order);
            }
            // A held course fired: its lines now carry their fire and start times.
            EventData::TicketFired(fired) => {
                // Its clock (and colour) now counts from the fired course.
                if let Some(timer) = fired.timer {
                    if self.station.is_none_or(|s| s == timer.station_id) {
                        self.timers.insert(fired.order_id, timer);
                    }
                }
                if let Some(ticket) = self.tickets.get_mut(&fired.order_id) {
                    for line in fired.lines {
                        if let Some(old) = ticket.lines.iter_mut().find(|x| x.id == line.id) {
                            *old = line;
                        }
                    }
                }
            }
            EventData::OrderRushed(rushed) => {
                if let Some(ticket) = self.tickets.get_mut(&rushed.order_id) {
                    ticket.rush = rushed.rush;
                }
            }
            EventData::LineStatusChanged(change) => {
                if let Some(line) = self
                    .tickets
                    .get_mut(&change.order_id)
                    .and_then(|t| t.lines.iter_mut().find(|x| x.id == change.line_id))
                {
                    line.status = change.status;
                }
            }
            EventData::OrderCancelled(cancelled) => {
                self.tickets.remove(&cancelled.order_id);
            }
            _ => {}
        }
        // A ticket whose lines are all ready, served or voided leaves the screen.
        self.tickets.retain(|_, t| {
            t.lines
                .iter()
                .any(|l| matches!(l.status, LineStatus::Queued | LineStatus::Preparing))
        });
    }

    async fn key<S>(&mut self, ws: &mut S, command: &str) -> Result<(), Error>
    where
        S: SinkExt<Message> + Unpin,
        S::Error: std::error::Error + Send + Sync + 'static,
    {
        let mut words = command.split_whitespace();
        let (verb, line) = (
            words.next(),
            words.next().and_then(|w| w.parse::<i64>().ok()),
        );
        let Some(line) = line else {
            self.status = "keys: b <line> bump, r <line> recall, q quit".into();
            return Ok(());
        };
        let Some((order, current)) = self.tickets.values().find_map(|t| {
            t.lines
                .iter()
                .find(|l| l.id == line)
                .map(|l| (t.id, l.status))
        }) else {
            self.status = format!("no open line {line}");
            return Ok(());
        };
        let to = match (verb, current) {
            (Some("b"), LineStatus::Queued) => "preparing",
            (Some("b"), LineStatus::Preparing) => "ready",
            (Some("r"), LineStatus::Preparing) => "queued",
            (Some("r"), LineStatus::Ready) => "preparing",
            _ => {
                self.status = format!("line {line} is {current:?}; nothing to do");
                return Ok(());
            }
        };
        self.send(
            ws,
            json!({ "type": "item.set_status", "order_id": order, "line_id": line, "status": to }),
        )
        .await
    }

    /// A station screen says what it has drawn (`screen.seen`), at most
    /// once a second: the expo and the waiters then know its tickets are
    /// on screen, and the hub alerts them if it stops.
    async fn acknowledge<S>(&mut self, ws: &mut S) -> Result<(), Error>
    where
        S: SinkExt<Message> + Unpin,
        S::Error: std::error::Error + Send + Sync + 'static,
    {
        let (Some(_), Some(seq)) = (self.station, self.last_seq) else {
            return Ok(());
        };
        if self.acked.is_some_and(|acked| acked >= seq) {
            return Ok(());
        }
        self.acked = Some(seq);
        self.send(ws, json!({ "type": "screen.seen", "seq": seq }))
            .await
    }

    async fn send<S>(&mut self, ws: &mut S, mut command: Value) -> Result<(), Error>
    where
        S: SinkExt<Message> + Unpin,
        S::Error: std::error::Error + Send + Sync + 'static,
    {
        command["id"] = json!(self.next_id);
        self.next_id += 1;
        ws.send(Message::text(command.to_string())).await?;
        Ok(())
    }

    fn draw(&self) {
        // Ages and colours by the hub's clock, not this machine's.
        let now = chrono::Utc::now().timestamp_millis() + self.hub_offset_ms;
        let mut out = String::from("\x1b[2J\x1b[H");
        let title = self
            .station
            .map_or("whole kitchen".to_owned(), |s| format!("station {s}"));
        out.push_str(&format!(
            "KITCHEN DISPLAY — {title} — {} open tickets (seq {:?})\n\n",
            self.tickets.len(),
            self.last_seq
        ));
        for ticket in self.tickets.values() {
            let age = (now - ticket.created_at.millis()).max(0) / 1000;
            let table = ticket
                .table_id
                .map_or("takeaway".into(), |t| format!("table {t}"));
            // Green until caution, yellow until due, then red.
            let colour = match self.timers.get(&ticket.id) {
                Some(t) if now >= t.due_at.millis() => "\x1b[31m",
                Some(t) if now >= t.caution_at.millis() => "\x1b[33m",
                Some(_) => "\x1b[32m",
                None => "",
            };
            let rush = if ticket.rush { " RUSH" } else { "" };
            out.push_str(&format!(
                "{colour}#{:<5} {:<10} {:>3}:{:02}{rush}\x1b[0m\n",
                ticket.id,
                table,
                age / 60,
                age % 60
            ));
            for line in &ticket.lines {
                let note = if line.note.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", line.note)
                };
                // A held course shows as held (no timer); a fired one with
                // the time its station should start it.
                let fire = match line.start_at {
                    None => "held".to_owned(),
                    Some(start) if start.millis() > now => {
                        format!("start in {}s", (start.millis() - now) / 1000)
                    }
                    Some(_) => "fired".to_owned(),
                };
                out.push_str(&format!(
                    "   [{:>5}] c{} {:>2} x {}{note:<20} {:?} {fire}\n",
                    line.id, line.course, line.qty, line.name, line.status
                ));
                out.push_str(&line_details(line));
            }
        }
        out.push_str("\nALL DAY\n");
        for (station, counts) in &self.all_day {
            let items: Vec<String> = counts
                .iter()
                .map(|c| format!("{} x {}", c.qty, c.name))
                .collect();
            out.push_str(&format!("  station {station}: {}\n", items.join(", ")));
        }
        out.push_str(&format!("\n{}\n> ", self.status));
        print!("{out}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
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

/// A line's chosen options and free-text modifiers, and its allergens
/// flagged, each on a line of its own under it (nothing for a plain line).
fn line_details(line: &restohub_protocol::api::orders::OrderLine) -> String {
    let mut out = String::new();
    let chosen = line
        .choices
        .iter()
        .map(|c| format!("{}: {}", c.group, c.name));
    let extras: Vec<String> = chosen.chain(line.modifiers.iter().cloned()).collect();
    if !extras.is_empty() {
        out.push_str(&format!("           + {}\n", extras.join(", ")));
    }
    if !line.allergens.is_empty() {
        let names: Vec<&str> = line.allergens.list().iter().map(|a| a.as_str()).collect();
        out.push_str(&format!("           ! ALLERGENS: {}\n", names.join(", ")));
    }
    out
}
