//! Load generator for restohub benchmarks (see BENCHMARKS.md). It measures;
//! it asserts nothing. Every scenario runs against hubs started separately
//! (release builds, the demo restaurant), from loopback source addresses
//! 127.0.0.1-127.0.0.250 so 20,000+ sockets do not run out of ports.
//!
//! - `idle`: N authenticated screens that sit idle; the hub's RSS per
//!   connection.
//! - `orders`: ordering clients placing orders at a fixed total rate, open
//!   loop (each order has an intended send time; its latency runs from that
//!   time, so a stalled hub cannot hide behind a waiting client), optionally
//!   with kitchen screens watching; ack latency, commit→screen latency,
//!   deliveries/s and errors by code. `--hub` takes several instances; clients
//!   and screens are spread over them (the scale-out scenario).
//! - `hot`: N clients order one tracked item at once; time to drain,
//!   failures other than OUT_OF_STOCK, and whether stock was oversold.
//!
//! Usage:
//!
//!     cargo run --release --example loadgen -- idle <hub url> <hub pid> <restaurant> <email> <password> <connections>
//!     cargo run --release --example loadgen -- orders --hub <url>[,<url>...] --rate 500 --seconds 10 --clients 8 --screens 2000
//!     cargo run --release --example loadgen -- hot --hub <url> --clients 1000 --stock 200

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use restohub_protocol::api::auth::{LoginRequest, Tokens};
use serde_json::{json, Value};
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Idle authenticated screens; the hub's RSS per connection.
    Idle {
        hub: String,
        pid: u32,
        restaurant: String,
        email: String,
        password: String,
        connections: usize,
    },
    /// Orders at a fixed rate, with optional screens watching.
    Orders(OrdersArgs),
    /// Many clients ordering one item with limited stock at once.
    Hot(HotArgs),
}

#[derive(Args, Clone)]
struct Common {
    /// Hub base URLs (comma separated); clients and screens are spread over them.
    #[arg(long, value_delimiter = ',', required = true)]
    hub: Vec<String>,
    #[arg(long, default_value = "demo")]
    restaurant: String,
    #[arg(long, default_value = "restohub-demo")]
    password: String,
}

#[derive(Args)]
struct OrdersArgs {
    #[command(flatten)]
    common: Common,
    /// Orders per second, all clients together.
    #[arg(long, default_value_t = 100)]
    rate: u64,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Ordering connections (waiter sessions).
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Kitchen screens (chef sessions, all in the kitchen room).
    #[arg(long, default_value_t = 0)]
    screens: usize,
    /// The menu item every order takes (an untracked one never runs out).
    #[arg(long, default_value = "Tomato soup")]
    item: String,
}

#[derive(Args)]
struct HotArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// The stock the item is set to before the rush.
    #[arg(long, default_value_t = 200)]
    stock: i64,
    #[arg(long, default_value = "Cheeseburger")]
    item: String,
    /// Who orders. Cashiers get only stock events; waiters also get every
    /// order.placed, and 1,000 of them at once overflow their queues.
    #[arg(long, default_value = "cashier")]
    role: String,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    match Cli::parse().scenario {
        Scenario::Idle {
            hub,
            pid,
            restaurant,
            email,
            password,
            connections,
        } => idle(&hub, pid, &restaurant, &email, &password, connections).await,
        Scenario::Orders(args) => orders(args).await,
        Scenario::Hot(args) => hot(args).await,
    }
}

/// Resident memory of a process, in bytes.
fn rss(pid: u32) -> Result<u64, Error> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .ok_or("no VmRSS")?
        .parse()?;
    Ok(kb * 1024)
}

async fn login(base: &str, restaurant: &str, email: &str, password: &str) -> Result<Tokens, Error> {
    let body = LoginRequest {
        restaurant: restaurant.into(),
        email: email.into(),
        password: password.into(),
    };
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&body)
        .send()
        .await?;
    if !res.status().is_success() {
        return Err(format!("login failed: {}", res.text().await?).into());
    }
    Ok(res.json().await?)
}

async fn token(c: &Common, role: &str) -> Result<Arc<str>, Error> {
    let email = format!("{role}@{}.restohub", c.restaurant);
    Ok(login(&c.hub[0], &c.restaurant, &email, &c.password)
        .await?
        .access_token
        .into())
}

fn source(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (i % 250) as u8))
}

fn addr(base: &str) -> Result<SocketAddr, Error> {
    Ok(base.trim_start_matches("http://").parse()?)
}

/// A connected session: connects from `source`, says hello, reads the welcome.
async fn connect(hub: SocketAddr, source: IpAddr, token: &str) -> Result<Ws, Error> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    socket.set_nodelay(true)?;
    let tcp = socket.connect(hub).await?;
    let (mut ws, _) =
        tokio_tungstenite::client_async(format!("ws://{hub}/ws"), MaybeTlsStream::Plain(tcp))
            .await?;
    ws.send(Message::text(format!(
        r#"{{"type":"hello","token":"{token}"}}"#
    )))
    .await?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.as_str().contains("\"welcome\"") => Ok(ws),
        other => Err(format!("no welcome: {other:?}").into()),
    }
}

/// Opens `n` sessions of `token`, 256 handshakes at a time, spread over
/// the hubs; returns the sessions and how many failed.
async fn connect_many(
    hubs: &[SocketAddr],
    token: Arc<str>,
    n: usize,
    offset: usize,
) -> (Vec<Ws>, usize) {
    let handshakes = Arc::new(Semaphore::new(256));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let permit = handshakes.clone().acquire_owned().await;
        let (hub, token) = (hubs[i % hubs.len()], token.clone());
        tasks.push(tokio::spawn(async move {
            let ws = connect(hub, source(offset + i), &token).await;
            drop(permit);
            ws
        }));
    }
    let (mut open, mut failed) = (Vec::with_capacity(n), 0);
    for task in tasks {
        match task.await {
            Ok(Ok(ws)) => open.push(ws),
            Ok(Err(e)) => {
                failed += 1;
                if failed <= 3 {
                    eprintln!("connection failed: {e}");
                }
            }
            Err(e) => eprintln!("connect task failed: {e}"),
        }
    }
    (open, failed)
}

async fn idle(
    base: &str,
    pid: u32,
    restaurant: &str,
    email: &str,
    password: &str,
    n: usize,
) -> Result<(), Error> {
    let hub = addr(base)?;
    let token: Arc<str> = login(base, restaurant, email, password)
        .await?
        .access_token
        .into();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss(pid)?;
    let started = Instant::now();
    let (open, failed) = connect_many(&[hub], token, n, 0).await;
    let connect_time = started.elapsed();
    // Keep them alive (reading answers the hub's pings).
    let alive: Vec<_> = open
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                while let Some(frame) = ws.next().await {
                    match frame {
                        Ok(Message::Close(frame)) => {
                            eprintln!("screen closed by the hub: {frame:?}");
                            break;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            eprintln!("screen connection failed: {e}");
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss(pid)?;
    let per = (after.saturating_sub(before)) as f64 / alive.len().max(1) as f64;
    println!(
        "connections: {} open, {failed} failed, in {:.1} s",
        alive.len(),
        connect_time.as_secs_f64()
    );
    println!(
        "hub RSS: {:.1} MiB before, {:.1} MiB after",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0
    );
    println!("per connection: {:.0} bytes ({:.2} KiB)", per, per / 1024.0);
    for keeper in alive {
        keeper.abort();
    }
    Ok(())
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds")
}

fn quantiles(name: &str, h: &Histogram<u64>) {
    if h.is_empty() {
        println!("{name}: no samples");
        return;
    }
    let ms = |v: u64| v as f64 / 1000.0;
    println!(
        "{name}: n {}  p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms",
        h.len(),
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.99)),
        ms(h.value_at_quantile(0.999)),
        ms(h.max())
    );
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// The id of a menu item by name.
async fn item_id(c: &Common, token: &str, name: &str) -> Result<i64, Error> {
    let menu: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/menu/items?limit=200", c.hub[0]))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    menu["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["name"] == name))
        .and_then(|i| i["id"].as_i64())
        .ok_or_else(|| format!("no menu item named {name:?}").into())
}

struct Screens {
    /// Commit→screen latency of `order.placed`, µs.
    delivery: Mutex<Histogram<u64>>,
    deliveries: AtomicU64,
    closed: AtomicUsize,
}

/// Reads a screen's frames until aborted, timing each `order.placed`.
fn watch(mut ws: Ws, screens: Arc<Screens>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut local = histogram();
        let mut flush = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        let received = now_us();
                        if !text.as_str().starts_with(r#"{"type":"event""#) {
                            continue;
                        }
                        screens.deliveries.fetch_add(1, Ordering::Relaxed);
                        if text.as_str().contains(r#""kind":"order.placed""#) {
                            let frame: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                            let at = frame["at"].as_str().and_then(|a| chrono::DateTime::parse_from_rfc3339(a).ok());
                            if let Some(at) = at {
                                let _ = local.record((received - at.timestamp_micros()).max(1) as u64);
                            }
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => {
                        screens.closed.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                },
                _ = flush.tick() => {
                    if !local.is_empty() {
                        let _ = screens.delivery.lock().unwrap().add(&local);
                        local.reset();
                    }
                }
            }
        }
    })
}

/// One ordering connection: sends its share of the schedule at the intended
/// times and reads acks on its own, recording latency from intended time.
struct Client {
    ack: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<String, u64>,
    last_ack: Option<Instant>,
}

async fn client(
    ws: Ws,
    schedule: Vec<Instant>,
    item: i64,
    tag: String,
    deadline: Instant,
) -> Client {
    let (mut tx, mut rx) = ws.split();
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let expected = schedule.len();
    let sent_by_writer = sent.clone();
    let writer = tokio::spawn(async move {
        for (n, at) in schedule.into_iter().enumerate() {
            tokio::time::sleep_until(at.into()).await;
            sent_by_writer.lock().unwrap().insert(n as u64, at);
            let frame = json!({ "type": "order.place", "id": n, "idempotency_key": format!("{tag}-{n}"),
                                "source": "takeaway", "lines": [{ "menu_item_id": item, "qty": 1 }] });
            if tx.send(Message::text(frame.to_string())).await.is_err() {
                break;
            }
        }
        tx
    });
    let mut out = Client {
        ack: histogram(),
        ok: 0,
        errors: BTreeMap::new(),
        last_ack: None,
    };
    let mut replies = 0;
    while replies < expected {
        let frame = match tokio::time::timeout_at(deadline.into(), rx.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(_))) => continue,
            _ => break,
        };
        let frame: Value = serde_json::from_str(frame.as_str()).unwrap_or_default();
        let (Some(kind), Some(id)) = (frame["type"].as_str(), frame["id"].as_u64()) else {
            if frame["type"] == "error" {
                *out.errors
                    .entry(frame["code"].as_str().unwrap_or("?").into())
                    .or_default() += 1;
                replies += 1;
            }
            continue;
        };
        let Some(intended) = sent.lock().unwrap().remove(&id) else {
            continue;
        };
        replies += 1;
        let now = Instant::now();
        out.last_ack = Some(now);
        let _ = out.ack.record((now - intended).as_micros().max(1) as u64);
        if kind == "ack" {
            out.ok += 1;
        } else {
            *out.errors
                .entry(frame["code"].as_str().unwrap_or("?").into())
                .or_default() += 1;
        }
    }
    let unanswered = expected - replies;
    if unanswered > 0 {
        *out.errors.entry("NO_REPLY".into()).or_default() += unanswered as u64;
    }
    writer.abort();
    out
}

async fn orders(args: OrdersArgs) -> Result<(), Error> {
    let c = &args.common;
    let hubs: Vec<SocketAddr> = c.hub.iter().map(|h| addr(h)).collect::<Result<_, _>>()?;
    let waiter = token(c, "waiter").await?;
    let item = item_id(c, &waiter, &args.item).await?;
    let screens = Arc::new(Screens {
        delivery: Mutex::new(histogram()),
        deliveries: AtomicU64::new(0),
        closed: AtomicUsize::new(0),
    });
    let mut watchers = Vec::new();
    if args.screens > 0 {
        let chef = token(c, "chef").await?;
        let (open, failed) = connect_many(&hubs, chef, args.screens, 0).await;
        println!("screens: {} open, {failed} failed", open.len());
        watchers = open
            .into_iter()
            .map(|ws| watch(ws, screens.clone()))
            .collect();
    }
    let (conns, failed) = connect_many(&hubs, waiter, args.clients, args.screens).await;
    if failed > 0 || conns.is_empty() {
        return Err(format!("{failed} ordering connections failed").into());
    }
    let total = args.rate * args.seconds;
    let start = Instant::now() + Duration::from_millis(500);
    let gap = Duration::from_secs_f64(1.0 / args.rate as f64);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let deadline = start + Duration::from_secs(args.seconds + 15);
    let clients = conns.len();
    let mut tasks = Vec::new();
    for (i, ws) in conns.into_iter().enumerate() {
        let schedule: Vec<Instant> = (i as u64..total)
            .step_by(clients)
            .map(|k| start + gap * k as u32)
            .collect();
        tasks.push(tokio::spawn(client(
            ws,
            schedule,
            item,
            format!("{run}-{i}"),
            deadline,
        )));
    }
    let mut ack = histogram();
    let (mut ok, mut errors, mut last) = (0, BTreeMap::<String, u64>::new(), start);
    for task in tasks {
        let out = task.await?;
        ack.add(&out.ack)?;
        ok += out.ok;
        for (code, n) in out.errors {
            *errors.entry(code).or_default() += n;
        }
        last = last.max(out.last_ack.unwrap_or(start));
    }
    // Let the last deliveries land, then stop the screens.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let took = (last - start).as_secs_f64().max(f64::EPSILON);
    for w in &watchers {
        w.abort();
    }
    for w in watchers {
        let _ = w.await;
    }
    println!(
        "target {} orders/s for {} s over {clients} clients on {} hub(s)",
        args.rate,
        args.seconds,
        hubs.len()
    );
    println!(
        "placed {ok} of {total}; achieved {:.0} orders/s; errors {errors:?}",
        ok as f64 / took
    );
    quantiles("ack latency (from intended send)", &ack);
    if args.screens > 0 {
        let delivery = screens.delivery.lock().unwrap();
        quantiles(
            "commit→screen (order.placed, from its transaction time)",
            &delivery,
        );
        println!(
            "deliveries: {} ({:.0}/s); screens closed early: {}",
            screens.deliveries.load(Ordering::Relaxed),
            screens.deliveries.load(Ordering::Relaxed) as f64 / took,
            screens.closed.load(Ordering::Relaxed)
        );
    }
    Ok(())
}

async fn hot(args: HotArgs) -> Result<(), Error> {
    let c = &args.common;
    let hubs: Vec<SocketAddr> = c.hub.iter().map(|h| addr(h)).collect::<Result<_, _>>()?;
    let manager = token(c, "manager").await?;
    let item = item_id(c, &manager, &args.item).await?;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/menu/items/{item}", c.hub[0]);
    let res = http
        .patch(&url)
        .bearer_auth(&*manager)
        .json(&json!({ "stock": args.stock, "available": true }))
        .send()
        .await?;
    if !res.status().is_success() {
        return Err(format!("cannot set the stock: {}", res.text().await?).into());
    }
    let orderer = token(c, &args.role).await?;
    let (conns, failed) = connect_many(&hubs, orderer, args.clients, 0).await;
    println!("clients: {} connected, {failed} failed", conns.len());
    let run = uuid::Uuid::new_v4().simple().to_string();
    let go = Arc::new(tokio::sync::Barrier::new(conns.len() + 1));
    let mut tasks = Vec::new();
    for (i, mut ws) in conns.into_iter().enumerate() {
        let (go, key) = (go.clone(), format!("{run}-{i}"));
        tasks.push(tokio::spawn(async move {
            go.wait().await;
            let frame = json!({ "type": "order.place", "id": 1, "idempotency_key": key,
                                "source": "takeaway", "lines": [{ "menu_item_id": item, "qty": 1 }] });
            if ws.send(Message::text(frame.to_string())).await.is_err() {
                return ("SEND_FAILED".to_owned(), Instant::now());
            }
            loop {
                match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
                    Ok(Some(Ok(Message::Text(text)))) => {
                        let v: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                        match v["type"].as_str() {
                            Some("ack") => return ("ok".to_owned(), Instant::now()),
                            Some("error") => return (v["code"].as_str().unwrap_or("?").to_owned(), Instant::now()),
                            _ => continue,
                        }
                    }
                    Ok(Some(Ok(_))) => continue,
                    _ => return ("NO_REPLY".to_owned(), Instant::now()),
                }
            }
        }));
    }
    go.wait().await;
    let started = Instant::now();
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let mut last = started;
    for task in tasks {
        let (outcome, at) = task.await?;
        *outcomes.entry(outcome).or_default() += 1;
        last = last.max(at);
    }
    let left: Value = http
        .get(&url)
        .bearer_auth(&*manager)
        .send()
        .await?
        .json()
        .await?;
    let placed = outcomes.get("ok").copied().unwrap_or(0) as i64;
    let other: u64 = outcomes
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "ok" | "OUT_OF_STOCK"))
        .map(|(_, n)| n)
        .sum();
    println!("outcomes: {outcomes:?}");
    println!(
        "drained in {:.1} ms",
        (last - started).as_secs_f64() * 1000.0
    );
    println!(
        "stock {} → {}; placed {placed}; oversold {}; failures other than OUT_OF_STOCK: {other}",
        args.stock,
        left["stock"],
        (placed - args.stock).max(0)
    );
    Ok(())
}
