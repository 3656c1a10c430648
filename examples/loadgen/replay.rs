//! `loadgen replay`: resume amplification (issue 17, item 4). Fills the
//! demo restaurant's log to `--events` with takeaway orders (no table hears
//! of them), then measures what other clients see, first quiet, then while
//! `--loops` tasks each loop hello with `since: 1` on ONE guest token: REST
//! `GET /api/v1/menu/items` latency, staff `ping` round trips, and the
//! hub's RSS. Readers and pingers run open loop (each request has an
//! intended send time and its latency runs from that time, so a stalled hub
//! cannot hide behind a waiting client).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::{addr, connect, cpu_seconds, cpu_shares, histogram, item_id, rss, source, token};
use super::{Common, Error, Ws};

#[derive(Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    common: Common,
    /// The hub's pid, for its resident memory.
    #[arg(long)]
    pid: u32,
    /// The seq the restaurant's log is filled to before measuring (never
    /// past it: a hub that resyncs anything more than 10,000 behind would
    /// otherwise answer the loops cheaply).
    #[arg(long, default_value_t = 10_000)]
    events: u64,
    /// Hello loops with `since: 1`, all with one guest token.
    #[arg(long, default_value_t = 20)]
    loops: usize,
    /// The loops say hello without `since` (plain connects, for comparison).
    #[arg(long)]
    plain: bool,
    /// Seconds of each phase (quiet, then under the loops).
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// REST clients reading the menu.
    #[arg(long, default_value_t = 4)]
    readers: usize,
    /// Staff sessions sending `ping`.
    #[arg(long, default_value_t = 4)]
    pingers: usize,
    /// Milliseconds between one reader's (or pinger's) requests.
    #[arg(long, default_value_t = 50)]
    interval_ms: u64,
    /// The item the filling orders take (an untracked one never runs out).
    #[arg(long, default_value = "Tomato soup")]
    item: String,
    /// Processes whose CPU time to report per phase (`label:pid`, as in
    /// `orders`).
    #[arg(long, value_delimiter = ',')]
    cpu: Vec<String>,
}

pub async fn replay(args: ReplayArgs) -> Result<(), Error> {
    let c = &args.common;
    let hub = addr(&c.hub[0])?;
    let waiter = token(c, "waiter").await?;
    let seq = fill(&args, hub, &waiter).await?;
    println!("log: seq {seq}");
    let guest = guest_token(c).await?;
    let phase = Duration::from_secs(args.seconds);
    println!("== quiet, {} s", args.seconds);
    let quiet = measure(&args, hub, &waiter, phase).await?;
    quiet.print();
    let since = if args.plain { "no since" } else { "since 1" };
    println!(
        "== under {} hello loops (one guest token, {since}), {} s",
        args.loops, args.seconds
    );
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let loops: Vec<_> = (0..args.loops)
        .map(|i| {
            let (guest, stop, tally) = (guest.clone(), stop.clone(), tally.clone());
            let plain = args.plain;
            tokio::spawn(async move { hello_loop(hub, i, &guest, plain, &stop, &tally).await })
        })
        .collect();
    // The loops' first hellos are in flight before measuring starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let attacked = measure(&args, hub, &waiter, phase).await?;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    for task in loops {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
    tally.print(elapsed);
    attacked.print();
    Ok(())
}

/// Places takeaway orders until the log's seq is within 2 of `--events`,
/// never past it: in large batches at first, one at a time at the end.
async fn fill(args: &ReplayArgs, hub: SocketAddr, waiter: &str) -> Result<u64, Error> {
    let item = item_id(&args.common, waiter, &args.item).await?;
    let target = args.events;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut placed = 0u64;
    loop {
        // A fresh session's welcome carries the current seq.
        let (mut ws, seq) = join(hub, waiter).await?;
        if seq + 2 >= target {
            return Ok(seq);
        }
        // An order appends at most 4 events here (order.placed and a ticket
        // or two): a batch of a quarter of what is left cannot overshoot.
        let batch = ((target - seq) / 4).clamp(1, 500);
        for n in 0..batch {
            let frame = json!({ "type": "order.place", "id": n,
                "idempotency_key": format!("replay-{run}-{}", placed + n),
                "source": "takeaway", "lines": [{ "menu_item_id": item, "qty": 1 }] });
            ws.send(Message::text(frame.to_string())).await?;
        }
        let mut replies = 0;
        while replies < batch {
            let Some(Ok(Message::Text(text))) = ws.next().await else {
                return Err("the hub closed the filling session".into());
            };
            let frame: Value = serde_json::from_str(text.as_str())?;
            match frame["type"].as_str() {
                Some("ack") => replies += 1,
                Some("error") => return Err(format!("an order failed: {frame}").into()),
                _ => {}
            }
        }
        placed += batch;
    }
}

/// A session from `from`, opened with `hello`, nothing read yet.
async fn open(hub: SocketAddr, from: std::net::IpAddr, hello: &str) -> Result<Ws, Error> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.set_nodelay(true)?;
    let tcp = socket.connect(hub).await?;
    let (mut ws, _) = tokio_tungstenite::client_async(
        format!("ws://{hub}/ws"),
        tokio_tungstenite::MaybeTlsStream::Plain(tcp),
    )
    .await?;
    ws.send(Message::text(hello)).await?;
    Ok(ws)
}

/// A session of `token`, and the seq its welcome names (the log's current).
async fn join(hub: SocketAddr, token: &str) -> Result<(Ws, u64), Error> {
    let hello = format!(r#"{{"type":"hello","token":"{token}"}}"#);
    let mut ws = open(hub, source(0), &hello).await?;
    match ws.next().await {
        Some(Ok(Message::Text(text))) => {
            let welcome: Value = serde_json::from_str(text.as_str())?;
            let seq = welcome["seq"].as_u64().ok_or("no welcome")?;
            Ok((ws, seq))
        }
        other => Err(format!("no welcome: {other:?}").into()),
    }
}

/// A guest token for the first table (its code read as the owner).
async fn guest_token(c: &Common) -> Result<String, Error> {
    let owner = token(c, "owner").await?;
    let http = reqwest::Client::new();
    let tables: Value = http
        .get(format!("{}/api/v1/tables", c.hub[0]))
        .bearer_auth(&*owner)
        .send()
        .await?
        .json()
        .await?;
    let code = tables["items"][0]["guest_code"]
        .as_str()
        .ok_or("no table with a guest code")?;
    let session: Value = http
        .post(format!("{}/api/v1/guest-sessions", c.hub[0]))
        .json(&json!({ "table_code": code }))
        .send()
        .await?
        .json()
        .await?;
    Ok(session["access_token"]
        .as_str()
        .ok_or("no guest token")?
        .to_owned())
}

/// What other clients saw over one phase.
struct Seen {
    menu: Histogram<u64>,
    menu_errors: u64,
    ping: Histogram<u64>,
    ping_errors: u64,
    rss: Vec<u64>,
    cpu: String,
}

impl Seen {
    fn print(&self) {
        print_quantiles("menu GET", &self.menu, self.menu_errors);
        print_quantiles("staff ping", &self.ping, self.ping_errors);
        let mut rss = self.rss.clone();
        rss.sort_unstable();
        let mib = |b: u64| b as f64 / 1048576.0;
        if let (Some(first), Some(max)) = (self.rss.first(), rss.last()) {
            println!(
                "hub RSS: start {:.1} MiB  median {:.1} MiB  max {:.1} MiB",
                mib(*first),
                mib(rss[rss.len() / 2]),
                mib(*max)
            );
        }
        if !self.cpu.is_empty() {
            println!("CPU: {}", self.cpu);
        }
    }
}

fn print_quantiles(name: &str, h: &Histogram<u64>, errors: u64) {
    if h.is_empty() {
        println!("{name}: no samples, {errors} errors");
        return;
    }
    let ms = |v: u64| v as f64 / 1000.0;
    println!(
        "{name}: n {}  errors {errors}  p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        h.len(),
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.95)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max())
    );
}

/// How long answers to requests sent in a phase are waited for after it.
const GRACE: Duration = Duration::from_secs(30);

/// Menu readers, pingers and an RSS sampler for `phase`. Every request is
/// sent at its intended time whether or not earlier ones were answered
/// (each menu read on a task of its own, the pings pipelined on their
/// session), so a slow hub meets the same offered load; one unanswered
/// [`GRACE`] after the phase counts as an error.
async fn measure(
    args: &ReplayArgs,
    hub: SocketAddr,
    waiter: &Arc<str>,
    phase: Duration,
) -> Result<Seen, Error> {
    let cpu_before = cpu_seconds(&args.cpu);
    let began = Instant::now();
    let start = began + Duration::from_millis(100);
    let end = start + phase;
    let gap = Duration::from_millis(args.interval_ms.max(1));
    let menu = Arc::new(Mutex::new((histogram(), 0u64)));
    let ping = Arc::new(Mutex::new((histogram(), 0u64)));
    let mut tasks = Vec::new();
    let url = format!("{}/api/v1/menu/items", args.common.hub[0]);
    for i in 0..args.readers {
        let (url, waiter, menu) = (url.clone(), waiter.clone(), menu.clone());
        // Staggered, so the readers do not ask in step.
        let first = start + gap * i as u32 / args.readers.max(1) as u32;
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut due = first;
            let mut requests = Vec::new();
            while due < end {
                tokio::time::sleep_until(due.into()).await;
                let read = menu_read(http.clone(), url.clone(), waiter.clone(), due, end);
                let menu = menu.clone();
                requests.push(tokio::spawn(async move {
                    let answered = read.await;
                    let mut m = menu.lock().unwrap();
                    match answered {
                        Some(latency) => drop(m.0.record(latency)),
                        None => m.1 += 1,
                    }
                }));
                due += gap;
            }
            for request in requests {
                let _ = request.await;
            }
        }));
    }
    for i in 0..args.pingers {
        let ws = connect(hub, source(1 + i), waiter).await?;
        let first = start + gap * i as u32 / args.pingers.max(1) as u32;
        tasks.push(tokio::spawn(pings(ws, first, gap, end, ping.clone())));
    }
    let pid = args.pid;
    let sampler = tokio::spawn(async move {
        let mut samples = Vec::new();
        while Instant::now() < end {
            if let Ok(bytes) = rss(pid) {
                samples.push(bytes);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        samples
    });
    let rss = sampler.await?;
    // CPU over the phase itself; answers still owed are waited for below.
    let cpu = if args.cpu.is_empty() {
        String::new()
    } else {
        let seconds = began.elapsed().as_secs_f64();
        cpu_shares(&cpu_before, &cpu_seconds(&args.cpu), seconds)
    };
    for task in tasks {
        task.await?;
    }
    let (menu, menu_errors) = std::mem::replace(&mut *menu.lock().unwrap(), (histogram(), 0));
    let (ping, ping_errors) = std::mem::replace(&mut *ping.lock().unwrap(), (histogram(), 0));
    Ok(Seen {
        menu,
        menu_errors,
        ping,
        ping_errors,
        rss,
        cpu,
    })
}

/// One menu read intended at `due`: its latency from then, µs, or `None`
/// when it failed or was not answered [`GRACE`] after `end`.
async fn menu_read(
    http: reqwest::Client,
    url: String,
    token: Arc<str>,
    due: Instant,
    end: Instant,
) -> Option<u64> {
    let get = async {
        let res = http.get(&url).bearer_auth(&*token).send().await.ok()?;
        let ok = res.status().is_success();
        res.bytes().await.ok().filter(|_| ok)
    };
    tokio::time::timeout_at((end + GRACE).into(), get)
        .await
        .ok()
        .flatten()?;
    Some(due.elapsed().as_micros().max(1) as u64)
}

/// `ping` every `gap` from `first` until `end` on one staff session,
/// pipelined: a writer sends at the intended times, this task reads the
/// acks and records each one's latency from its intended time.
async fn pings(
    ws: Ws,
    first: Instant,
    gap: Duration,
    end: Instant,
    ping: Arc<Mutex<(Histogram<u64>, u64)>>,
) {
    let (mut tx, mut rx) = ws.split();
    let due: Vec<Instant> = std::iter::successors(Some(first), |t| Some(*t + gap))
        .take_while(|t| *t < end)
        .collect();
    let expected = due.len();
    let times = due.clone();
    let writer = tokio::spawn(async move {
        for (n, at) in times.into_iter().enumerate() {
            tokio::time::sleep_until(at.into()).await;
            let frame = format!(r#"{{"type":"ping","id":{n}}}"#);
            if tx.send(Message::text(frame)).await.is_err() {
                break;
            }
        }
        tx
    });
    let mut answered = 0;
    while answered < expected {
        let text = match tokio::time::timeout_at((end + GRACE).into(), rx.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(_))) => continue,
            _ => break,
        };
        let frame: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
        let Some(n) = frame["id"].as_u64().filter(|_| frame["type"] == "ack") else {
            continue;
        };
        let Some(intended) = due.get(n as usize) else {
            continue;
        };
        let latency = intended.elapsed().as_micros().max(1) as u64;
        let _ = ping.lock().unwrap().0.record(latency);
        answered += 1;
    }
    ping.lock().unwrap().1 += (expected - answered) as u64;
    if let Ok(mut tx) = writer.await {
        let _ = tx.close().await;
    }
}

/// How the hello loops fared.
#[derive(Default)]
struct Tally {
    hellos: AtomicU64,
    resumed: AtomicU64,
    replayed: AtomicU64,
    resync: AtomicU64,
    failed: AtomicU64,
    closed: Mutex<BTreeMap<u16, u64>>,
}

impl Tally {
    fn print(&self, seconds: f64) {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        println!(
            "hellos: {} ({:.0}/s): resumed {} (events replayed {}), resync {}, closed {:?}, failed {}",
            n(&self.hellos),
            n(&self.hellos) as f64 / seconds,
            n(&self.resumed),
            n(&self.replayed),
            n(&self.resync),
            self.closed.lock().unwrap(),
            n(&self.failed)
        );
    }
}

/// One attacker: hello with `since: 1`, read to `resumed` (or a resync, or
/// a close), hang up, again, until `stop`. `plain`: hello without `since`,
/// hang up after the welcome.
async fn hello_loop(
    hub: SocketAddr,
    i: usize,
    guest: &str,
    plain: bool,
    stop: &AtomicBool,
    tally: &Tally,
) {
    let hello = match plain {
        true => format!(r#"{{"type":"hello","token":"{guest}"}}"#),
        false => format!(r#"{{"type":"hello","token":"{guest}","since":1}}"#),
    };
    while !stop.load(Ordering::Relaxed) {
        tally.hellos.fetch_add(1, Ordering::Relaxed);
        match one_resume(hub, source(10 + i), &hello).await {
            Ok(Outcome::Resumed(events)) => {
                tally.resumed.fetch_add(1, Ordering::Relaxed);
                tally.replayed.fetch_add(events, Ordering::Relaxed);
            }
            Ok(Outcome::Resync) => {
                tally.resync.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Outcome::Closed(code)) => {
                *tally.closed.lock().unwrap().entry(code).or_default() += 1;
            }
            Err(_) => {
                tally.failed.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

enum Outcome {
    Resumed(u64),
    Resync,
    Closed(u16),
}

async fn one_resume(
    hub: SocketAddr,
    from: std::net::IpAddr,
    hello: &str,
) -> Result<Outcome, Error> {
    let mut ws = open(hub, from, hello).await?;
    let mut events = 0;
    let outcome = loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let text = text.as_str();
                if text.starts_with(r#"{"type":"event""#) {
                    events += 1;
                } else if text.contains(r#""type":"resumed""#) {
                    break Outcome::Resumed(events);
                } else if text.contains(r#""resync_required":true"#) {
                    break Outcome::Resync;
                } else if !hello.contains("since") && text.contains(r#""type":"welcome""#) {
                    break Outcome::Resumed(0);
                }
            }
            Some(Ok(Message::Close(frame))) => {
                break Outcome::Closed(frame.map_or(1005, |f| u16::from(f.code)));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => return Err("connection ended".into()),
        }
    };
    let _ = ws.close(None).await;
    Ok(outcome)
}
