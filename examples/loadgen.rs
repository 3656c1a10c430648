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
//!   and screens are spread over them (the scale-out scenario). `--chain N`
//!   spreads orders and screens over N restaurants instead of the demo.
//!   `--ack-ms 250` makes the screens join the item's station room and
//!   acknowledge what they render (`screen.seen`, at most every 250 ms).
//! - `hot`: N clients order one tracked item at once; time to drain,
//!   failures other than OUT_OF_STOCK, and whether stock was oversold.
//! - `replay`: other clients' REST and ping latency and the hub's RSS,
//!   quiet and while hello loops resume from seq 1 on one guest token
//!   (`loadgen/replay.rs`).
//! - `payments`: payments recorded at a fixed total rate, open loop, each
//!   paying a prepared takeaway check in full (or in two halves with
//!   `--partial`); ack latency, errors by code (`loadgen/payments.rs`).
//! - `storm`: the first hub killed under a chain's kitchen screens, which
//!   resume on the others while waiters order; resume time, events missed,
//!   order acks during and after, presence afterwards (`loadgen/storm.rs`).
//!
//! Usage:
//!
//!     cargo run --release --example loadgen -- idle <hub url> <hub pid> <restaurant> <email> <password> <connections>
//!     cargo run --release --example loadgen -- orders --hub <url>[,<url>...] --rate 500 --seconds 10 --clients 8 --screens 2000
//!     cargo run --release --example loadgen -- orders --hub <url> --restaurant bench --chain 100 --item Soup --rate 1000 --screens 2000
//!     cargo run --release --example loadgen -- orders --hub <url> --rate 1000 --seconds 10 --screens 2000 --ack-ms 250
//!     cargo run --release --example loadgen -- hot --hub <url> --clients 1000 --stock 200
//!     cargo run --release --example loadgen -- replay --hub <url> --pid <hub pid> --events 10000 --loops 20
//!     cargo run --release --example loadgen -- payments --hub <url> --rate 500 --seconds 10 --clients 8 [--partial]
//!     cargo run --release --example loadgen -- storm --hub <victim>,<url>,<url> --victim-pid <pid> --restaurant bench --chain 100 --screens 10000 [--give-up-ms 5000]

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
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

#[path = "loadgen/payments.rs"]
mod payments;
#[path = "loadgen/replay.rs"]
mod replay;
#[path = "loadgen/storm.rs"]
mod storm;

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
    /// Other clients' latency and the hub's memory under resume loops.
    Replay(replay::ReplayArgs),
    /// Payments at a fixed rate, each paying a prepared check.
    Payments(payments::PaymentsArgs),
    /// A hub killed under its kitchen screens: they resume on the others.
    Storm(storm::StormArgs),
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
    /// Screens also join the item's station room and acknowledge what they
    /// receive (`screen.seen`), at most once per this many ms; 0: never.
    #[arg(long, default_value_t = 0)]
    ack_ms: u64,
    /// Screens also join the item's station room (as `--ack-ms` does) but
    /// need not acknowledge: the same deliveries, to compare against.
    #[arg(long)]
    station_room: bool,
    /// The menu item every order takes (an untracked one never runs out).
    #[arg(long, default_value = "Tomato soup")]
    item: String,
    /// A chain instead of the demo: restaurants `<restaurant>-1` …
    /// `<restaurant>-N` (made beforehand with `restohub create-owner`, owner
    /// `owner@<slug>.restohub`). Each gets a waiter, a chef and the item if it
    /// lacks them; orders, clients and screens are spread evenly over them.
    #[arg(long, default_value_t = 0)]
    chain: usize,
    /// Processes whose CPU time to report over the measured window, as
    /// `label:pid` pairs (comma separated; pids of one label are summed).
    #[arg(long, value_delimiter = ',')]
    cpu: Vec<String>,
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
        Scenario::Replay(args) => replay::replay(args).await,
        Scenario::Payments(args) => payments::payments(args).await,
        Scenario::Storm(args) => storm::storm(args).await,
    }
}

/// The pids of every process now.
fn processes() -> impl Iterator<Item = String> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
}

/// CPU time (user + system) of process `pid` so far, in seconds.
fn process_seconds(pid: &str, ticks: f64) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may hold spaces): utime and
    // stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let used: f64 = fields
        .get(11..13)?
        .iter()
        .filter_map(|v| v.parse::<f64>().ok())
        .sum();
    Some(used / ticks)
}

/// CPU time (user + system) in seconds of `label:pid` processes, with
/// `label:=name` of every process named `name` now (e.g. all PostgreSQL
/// backends), or with `label:~text` of every process whose command line
/// holds `text` (e.g. `postgres rhbench `: the backends of database rhbench
/// for user postgres, when other work shares the server), per label and
/// pid; `loadgen` is this process, and `all` every process on the box.
fn cpu_seconds(specs: &[String]) -> BTreeMap<(String, String), f64> {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let own = format!("loadgen:{}", std::process::id());
    let mut out = BTreeMap::new();
    for spec in specs.iter().chain((!specs.is_empty()).then_some(&own)) {
        let Some((label, target)) = spec.split_once(':') else {
            continue;
        };
        let pids: Vec<String> = if let Some(name) = target.strip_prefix('=') {
            processes()
                .filter(|pid| {
                    std::fs::read_to_string(format!("/proc/{pid}/comm"))
                        .is_ok_and(|comm| comm.trim_end() == name)
                })
                .collect()
        } else if let Some(text) = target.strip_prefix('~') {
            // Not this process, whose own arguments hold the text.
            let me = std::process::id().to_string();
            processes()
                .filter(|pid| *pid != me)
                .filter(|pid| {
                    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|line| {
                        String::from_utf8_lossy(&line)
                            .replace('\0', " ")
                            .contains(text)
                    })
                })
                .collect()
        } else {
            vec![target.to_owned()]
        };
        for pid in pids {
            if let Some(used) = process_seconds(&pid, ticks) {
                out.insert((label.to_owned(), pid), used);
            }
        }
    }
    if !specs.is_empty() {
        // Every process, under `all`: the box may be shared with other work.
        // (The VM's /proc/stat, tick-sampled, missed most of a bursty hub's
        // time: 3% of the box while the hub alone used 23% of a core.)
        // Processes that ended within the window are missed.
        for pid in processes() {
            if let Some(used) = process_seconds(&pid, ticks) {
                out.insert(("all".to_owned(), pid), used);
            }
        }
    }
    out
}

/// CPU used per label between two [`cpu_seconds`] readings, as a share of
/// one core over `seconds`: processes started in between count from zero,
/// ones that ended in between are left out.
fn cpu_shares(
    before: &BTreeMap<(String, String), f64>,
    after: &BTreeMap<(String, String), f64>,
    seconds: f64,
) -> String {
    let mut used: BTreeMap<&str, f64> = BTreeMap::new();
    for ((label, pid), end) in after {
        let start = before
            .get(&(label.clone(), pid.clone()))
            .copied()
            .unwrap_or(0.0);
        *used.entry(label).or_default() += end - start;
    }
    let shares: Vec<String> = used
        .iter()
        .map(|(label, s)| format!("{label} {:.0}%", 100.0 * s / seconds))
        .collect();
    shares.join(", ")
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
        otp: None,
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
    token_of(c, &c.restaurant, role).await
}

/// A login's access token, `<role>@<slug>.restohub` of restaurant `slug`.
async fn token_of(c: &Common, slug: &str, role: &str) -> Result<Arc<str>, Error> {
    let email = format!("{role}@{slug}.restohub");
    Ok(login(&c.hub[0], slug, &email, &c.password)
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

/// Each connection's read buffer, bytes.
const READ_BUFFER: usize = 4096;

/// A connected session: connects from `source`, says hello, reads the welcome.
async fn connect(hub: SocketAddr, source: IpAddr, token: &str) -> Result<Ws, Error> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    socket.set_nodelay(true)?;
    let tcp = socket.connect(hub).await?;
    // tungstenite zero-fills its whole read buffer before every read (128 KiB
    // by default): with thousands of screens that memset was half of this
    // program's CPU, taken from the hub it measures. Frames here are small.
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(
        format!("ws://{hub}/ws"),
        MaybeTlsStream::Plain(tcp),
        Some(config),
    )
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
        let (hub, token) = (hubs[(offset + i) % hubs.len()], token.clone());
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

/// The `at` of an event frame in µs since the epoch, read without parsing
/// the whole frame (the body's first `"at"` is the event's, before `data`):
/// thousands of screens parsing every frame would take the hub's CPU.
fn event_at_us(frame: &str) -> Option<i64> {
    let start = frame.find(r#""at":""#)? + r#""at":""#.len();
    let end = start + frame[start..].find('"')?;
    chrono::DateTime::parse_from_rfc3339(&frame[start..end])
        .ok()
        .map(|at| at.timestamp_micros())
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
    /// Commit→screen latency of `order.placed`, µs, by the path the event
    /// took: to screens on the hub that placed the order, and (with several
    /// hubs) to screens on other hubs, through Redis. Without a split every
    /// screen records into the first; all of them together is their sum.
    paths: [Mutex<Histogram<u64>>; 2],
    deliveries: AtomicU64,
    closed: AtomicUsize,
}

/// Reads a screen's frames until aborted, timing each `order.placed`.
/// Each is recorded straight into the shared histogram: a histogram per
/// screen, merged and cleared twice a second, had 2,000 screens clearing
/// 168 KiB each that often: a tenth of a core taken from the hub.
/// `path` indexes [`Screens::paths`].
fn watch(
    mut ws: Ws,
    screens: Arc<Screens>,
    path: usize,
    acks: Option<Acks>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // With acknowledgements: the last seq received and the last sent.
        let (mut seen, mut acked, mut id) = (0u64, 0u64, 0u64);
        let every = acks.as_ref().and_then(|a| a.every);
        let mut tick = tokio::time::interval(every.unwrap_or(Duration::from_secs(3600)));
        if let Some(acks) = &acks {
            let join = json!({ "type": "subscribe", "id": "join", "room": acks.room });
            if ws.send(Message::text(join.to_string())).await.is_err() {
                screens.closed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        loop {
            let next = tokio::select! {
                next = ws.next() => next,
                _ = tick.tick(), if every.is_some() => {
                    if seen > acked {
                        id += 1;
                        let ack = format!(r#"{{"type":"screen.seen","id":{id},"seq":{seen}}}"#);
                        if ws.send(Message::text(ack)).await.is_err() {
                            screens.closed.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        acked = seen;
                    }
                    continue;
                }
            };
            match next {
                Some(Ok(Message::Text(text))) => {
                    let received = now_us();
                    if !text.as_str().starts_with(r#"{"type":"event""#) {
                        continue;
                    }
                    if every.is_some() {
                        seen = seen.max(event_seq(text.as_str()).unwrap_or(0));
                    }
                    screens.deliveries.fetch_add(1, Ordering::Relaxed);
                    if text.as_str().contains(r#""kind":"order.placed""#) {
                        if let Some(at) = event_at_us(text.as_str()) {
                            let latency = (received - at).max(1) as u64;
                            let _ = screens.paths[path].lock().unwrap().record(latency);
                        }
                    }
                }
                Some(Ok(_)) => {}
                _ => {
                    screens.closed.fetch_add(1, Ordering::Relaxed);
                    break;
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
    /// The worst ack latency of the orders due in each second of the run, µs.
    worst: Vec<u64>,
}

async fn client(
    ws: Ws,
    start: Instant,
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
        worst: Vec::new(),
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
        let latency = (now - intended).as_micros().max(1) as u64;
        let _ = out.ack.record(latency);
        let second = intended.saturating_duration_since(start).as_secs() as usize;
        if out.worst.len() <= second {
            out.worst.resize(second + 1, 0);
        }
        out.worst[second] = out.worst[second].max(latency);
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

/// A restaurant the orders go to.
struct Site {
    waiter: Arc<str>,
    chef: Arc<str>,
    item: i64,
}

/// What an acknowledging screen does: joins `room`, then acknowledges the
/// last seq it received at most once per `every` (never without one).
#[derive(Clone)]
struct Acks {
    every: Option<Duration>,
    room: String,
}

/// The station room of `item` (`kitchen:{r}:{station}`), for screens that
/// acknowledge.
async fn station_room(c: &Common, token: &str, item: i64) -> Result<String, Error> {
    let get = |path: String| async move {
        reqwest::Client::new()
            .get(format!("{}/api/v1/{path}", c.hub[0]))
            .bearer_auth(token)
            .send()
            .await?
            .json::<Value>()
            .await
    };
    let r = get("restaurant".into()).await?["id"].as_i64();
    let station = get(format!("menu/items/{item}")).await?["station_id"].as_i64();
    match (r, station) {
        (Some(r), Some(s)) => Ok(format!("kitchen:{r}:{s}")),
        _ => Err("the item has no station: its screens cannot acknowledge".into()),
    }
}

/// The `seq` of an event frame, read without parsing the frame.
fn event_seq(frame: &str) -> Option<u64> {
    let start = frame.find(r#""seq":"#)? + r#""seq":"#.len();
    let digits = frame[start..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(&frame[start..], |end| &frame[start..start + end]);
    digits.parse().ok()
}

/// The demo restaurant, or with `--chain N` the N bench restaurants, each
/// given the waiter, chef and item it lacks (as its owner, over REST).
async fn sites(c: &Common, chain: usize, item_name: &str) -> Result<Vec<Site>, Error> {
    if chain == 0 {
        let waiter = token(c, "waiter").await?;
        let item = item_id(c, &waiter, item_name).await?;
        let chef = token(c, "chef").await?;
        return Ok(vec![Site { waiter, chef, item }]);
    }
    let http = reqwest::Client::new();
    let mut sites = Vec::with_capacity(chain);
    for i in 1..=chain {
        let slug = format!("{}-{i}", c.restaurant);
        let owner = token_of(c, &slug, "owner").await?;
        for role in ["waiter", "chef"] {
            let res = http
                .post(format!("{}/api/v1/users", c.hub[0]))
                .bearer_auth(&*owner)
                .json(
                    &json!({ "email": format!("{role}@{slug}.restohub"), "name": role,
                               "role": role, "password": c.password }),
                )
                .send()
                .await?;
            if !res.status().is_success() && res.status() != reqwest::StatusCode::CONFLICT {
                return Err(
                    format!("cannot add the {role} of {slug}: {}", res.text().await?).into(),
                );
            }
        }
        let item = match item_id(c, &owner, item_name).await {
            Ok(id) => id,
            Err(_) => {
                // Its kitchen station, so that screens can stand at it.
                let station = http
                    .post(format!("{}/api/v1/stations", c.hub[0]))
                    .bearer_auth(&*owner)
                    .json(&json!({ "name": "Kitchen" }))
                    .send()
                    .await?
                    .json::<Value>()
                    .await?["id"]
                    .as_i64();
                let res = http
                    .post(format!("{}/api/v1/menu/items", c.hub[0]))
                    .bearer_auth(&*owner)
                    .json(&json!({ "name": item_name, "price_cents": 450, "station_id": station }))
                    .send()
                    .await?;
                if !res.status().is_success() {
                    return Err(
                        format!("cannot add the item of {slug}: {}", res.text().await?).into(),
                    );
                }
                res.json::<Value>().await?["id"]
                    .as_i64()
                    .ok_or("item without id")?
            }
        };
        let (waiter, chef) = (
            token_of(c, &slug, "waiter").await?,
            token_of(c, &slug, "chef").await?,
        );
        sites.push(Site { waiter, chef, item });
    }
    Ok(sites)
}

/// `n` spread evenly over `parts`: the share of part `i`.
fn share(n: usize, parts: usize, i: usize) -> usize {
    n / parts + usize::from(i < n % parts)
}

async fn orders(args: OrdersArgs) -> Result<(), Error> {
    let c = &args.common;
    let hubs: Vec<SocketAddr> = c.hub.iter().map(|h| addr(h)).collect::<Result<_, _>>()?;
    let sites = sites(&args.common, args.chain, &args.item).await?;
    let screens = Arc::new(Screens {
        paths: [Mutex::new(histogram()), Mutex::new(histogram())],
        deliveries: AtomicU64::new(0),
        closed: AtomicUsize::new(0),
    });
    // Connections go to the hubs in turn (`connect_many`), screens first,
    // so site i's first ordering connection is on hub `ordering[i]`. With
    // several hubs and one ordering connection per site, each screen's
    // latency is also recorded by path: from its own hub or through Redis.
    let clients_of = |i| share(args.clients.max(sites.len()), sites.len(), i);
    let by_path = hubs.len() > 1 && args.clients <= sites.len();
    let ordering: Vec<usize> = (0..sites.len())
        .scan(args.screens, |next, i| {
            let hub = *next % hubs.len();
            *next += clients_of(i);
            Some(hub)
        })
        .collect();
    let mut watchers = Vec::new();
    let mut opened = 0;
    for (i, site) in sites.iter().enumerate() {
        let acks = match (args.ack_ms, args.station_room) {
            (0, false) => None,
            (ms, _) => Some(Acks {
                every: (ms > 0).then(|| Duration::from_millis(ms)),
                room: station_room(c, &site.chef, site.item).await?,
            }),
        };
        let n = share(args.screens, sites.len(), i);
        let (open, failed) = connect_many(&hubs, site.chef.clone(), n, opened).await;
        if failed > 0 {
            return Err(format!("{failed} screens failed to connect").into());
        }
        for (k, ws) in open.into_iter().enumerate() {
            let hub = (opened + k) % hubs.len();
            let path = usize::from(by_path && hub != ordering[i]);
            watchers.push(watch(ws, screens.clone(), path, acks.clone()));
        }
        opened += n;
    }
    if args.screens > 0 {
        println!("screens: {opened} open over {} restaurant(s)", sites.len());
        if args.ack_ms > 0 {
            println!(
                "screens acknowledge what they receive, every {} ms at most",
                args.ack_ms
            );
        }
    }
    // Every site gets at least one ordering connection.
    let mut conns = Vec::new();
    for (i, site) in sites.iter().enumerate() {
        let n = clients_of(i);
        let (open, failed) = connect_many(&hubs, site.waiter.clone(), n, opened).await;
        if failed > 0 {
            return Err(format!("{failed} ordering connections failed").into());
        }
        opened += n;
        conns.extend(open.into_iter().map(|ws| (ws, site.item)));
    }
    let total = args.rate * args.seconds;
    let start = Instant::now() + Duration::from_millis(500);
    let gap = Duration::from_secs_f64(1.0 / args.rate as f64);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let deadline = start + Duration::from_secs(args.seconds + 15);
    let clients = conns.len();
    let mut tasks = Vec::new();
    for (i, (ws, item)) in conns.into_iter().enumerate() {
        let schedule: Vec<Instant> = (i as u64..total)
            .step_by(clients)
            .map(|k| start + gap * k as u32)
            .collect();
        tasks.push(tokio::spawn(client(
            ws,
            start,
            schedule,
            item,
            format!("{run}-{i}"),
            deadline,
        )));
    }
    tokio::time::sleep_until(start.into()).await;
    let cpu_before = cpu_seconds(&args.cpu);
    let mut ack = histogram();
    let mut worst: Vec<u64> = Vec::new();
    let (mut ok, mut errors, mut last) = (0, BTreeMap::<String, u64>::new(), start);
    for task in tasks {
        let out = task.await?;
        ack.add(&out.ack)?;
        worst.resize(worst.len().max(out.worst.len()), 0);
        for (w, o) in worst.iter_mut().zip(&out.worst) {
            *w = (*w).max(*o);
        }
        ok += out.ok;
        for (code, n) in out.errors {
            *errors.entry(code).or_default() += n;
        }
        last = last.max(out.last_ack.unwrap_or(start));
    }
    let cpu_after = cpu_seconds(&args.cpu);
    let cpu_window = start.elapsed().as_secs_f64();
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
    let worst: Vec<String> = worst
        .iter()
        .map(|w| format!("{:.0}", *w as f64 / 1000.0))
        .collect();
    println!("worst ack per second of the run, ms: {}", worst.join(" "));
    if !cpu_after.is_empty() {
        println!(
            "CPU over the run (100% = one core): {}",
            cpu_shares(&cpu_before, &cpu_after, cpu_window)
        );
    }
    if args.screens > 0 {
        let [same, other] = screens.paths.each_ref().map(|h| h.lock().unwrap().clone());
        let mut delivery = same.clone();
        delivery.add(&other)?;
        quantiles(
            "commit→screen (order.placed, from its transaction time)",
            &delivery,
        );
        if by_path {
            quantiles("… to screens on the hub that placed the order", &same);
            quantiles("… to screens on other hubs (through Redis)", &other);
        }
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
