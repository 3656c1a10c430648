//! `loadgen storm`: a reconnect storm (issue 22). The kitchen screens of a
//! chain (`--chain N` restaurants, made as `orders` makes them) connect to
//! the first `--hub`; one waiter per restaurant orders on the other hubs at
//! `--rate` in all, open loop (latency from each order's intended send
//! time). After `--warmup` seconds the first hub's process (`--victim-pid`)
//! is killed with SIGKILL, and every screen resumes with `since` on the
//! other hubs (each starting at its own, then taking them in turn), as a
//! client should: when refused, it waits the `retry_after_ms` the hub gave
//! plus a random share of up to half of it, or, without one, a random
//! share of an exponential backoff (250 ms doubling to 8 s). With
//! `--give-up-ms` a screen that has no welcome that long after it started
//! connecting drops the socket and tries again at once (clients with a
//! hello timeout that retry without backing off).
//!
//! Reported: how long until every screen resumed (and how many did within
//! `--limit`), attempts and refusals by close code, events each screen
//! missed (a `prev` that is not the last seq it had), received twice, or
//! out of order, and screens that end without their restaurant's last
//! kitchen event; order acks p50/p99 before the kill, during the storm, in
//! the first 10 s after the kill, and in the `--after` seconds after the
//! last resume, and orders never
//! answered; the `presence` of each restaurant's kitchen room, asked on
//! each surviving hub after the killed hub's liveness expired, against
//! the sessions its screens hold; what the hubs counted as shed handshakes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use futures::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::{json, Value};
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

use super::{addr, cpu_seconds, cpu_shares, event_seq, histogram, quantiles, share, sites};
use super::{source, token_of, Common, Error, Ws, READ_BUFFER};

#[derive(Args)]
pub struct StormArgs {
    #[command(flatten)]
    common: Common,
    /// The pid of the first hub, killed with SIGKILL after the warmup.
    #[arg(long)]
    victim_pid: i32,
    /// Restaurants `<restaurant>-1` … `<restaurant>-N` (see `orders --chain`).
    #[arg(long, default_value_t = 100)]
    chain: usize,
    #[arg(long, default_value = "Soup")]
    item: String,
    /// Kitchen screens, all on the first hub, spread over the restaurants.
    #[arg(long, default_value_t = 2000)]
    screens: usize,
    /// Orders per second, all waiters together.
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// Seconds of orders before the kill.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Seconds of orders measured after the last screen resumed.
    #[arg(long, default_value_t = 10)]
    after: u64,
    /// A screen without a welcome this long after it began connecting drops
    /// the socket and retries at once; 0: it waits (up to 60 s).
    #[arg(long, default_value_t = 0)]
    give_up_ms: u64,
    /// Seconds the storm may take before the run stops waiting for it.
    #[arg(long, default_value_t = 180)]
    limit: u64,
    /// Processes whose CPU time to report during the storm (`label:pid`).
    #[arg(long, value_delimiter = ',')]
    cpu: Vec<String>,
}

/// Backoff without a retry-after: full jitter over 250 ms doubling to 8 s.
const BACKOFF_BASE: Duration = Duration::from_millis(250);
const BACKOFF_CAP: Duration = Duration::from_secs(8);

/// What the screens count together.
#[derive(Default)]
struct Tally {
    resumed: AtomicUsize,
    attempts: AtomicU64,
    gave_up: AtomicU64,
    failed: AtomicU64,
    /// Failed attempts by step and error.
    failures: Mutex<BTreeMap<String, u64>>,
    resyncs: AtomicU64,
    refusals: Mutex<BTreeMap<u16, u64>>,
    /// Sessions that ended after their welcome, before `resumed`, by code.
    cut: Mutex<BTreeMap<u16, u64>>,
    /// Each screen's time from the kill to its `resumed`, ms.
    resume_ms: Mutex<Vec<u64>>,
    /// When the last screen resumed, ms after the kill.
    last_resume_ms: AtomicU64,
}

/// One screen's account of what it received.
#[derive(Default, Clone)]
struct Received {
    restaurant: i64,
    session: String,
    /// The seq its next event's `prev` must be.
    last: u64,
    /// The seq of the last event it received.
    last_event: u64,
    /// Recent seqs, to tell a duplicate from one out of order.
    recent: BTreeSet<u64>,
    missed: u64,
    duplicated: u64,
    out_of_order: u64,
    /// Where it was when the run stopped.
    stage: &'static str,
}

impl Received {
    fn event(&mut self, frame: &str) {
        let (Some(prev), Some(seq)) = (prev_of(frame), event_seq(frame)) else {
            return;
        };
        if seq <= self.last {
            if self.recent.contains(&seq) {
                self.duplicated += 1;
            } else {
                self.out_of_order += 1;
            }
            return;
        }
        if prev != self.last {
            self.missed += 1;
        }
        self.last = seq;
        self.last_event = seq;
        self.recent.insert(seq);
        if self.recent.len() > 256 {
            self.recent.pop_first();
        }
    }
}

fn prev_of(frame: &str) -> Option<u64> {
    let start = frame.find(r#""prev":"#)? + r#""prev":"#.len();
    let digits = frame[start..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(&frame[start..], |end| &frame[start..start + end]);
    digits.parse().ok()
}

/// How one connection attempt ended.
enum Attempt {
    Welcome(Box<Ws>, Value),
    Refused(u16, Option<Duration>),
    GaveUp,
    /// Why: the step that failed, and its error.
    Failed(String),
}

/// Connects from `from`, says hello (with `since`), waits for the welcome
/// up to `patience`.
async fn attempt(
    hub: SocketAddr,
    from: std::net::IpAddr,
    token: &str,
    since: Option<u64>,
    patience: Duration,
) -> Attempt {
    let connecting = async {
        let failed =
            |step: &str, e: &dyn std::fmt::Display| Attempt::Failed(format!("{step}: {e}"));
        let socket = TcpSocket::new_v4().map_err(|e| failed("socket", &e))?;
        socket
            .bind(SocketAddr::new(from, 0))
            .map_err(|e| failed("bind", &e))?;
        socket
            .set_nodelay(true)
            .map_err(|e| failed("nodelay", &e))?;
        let tcp = socket
            .connect(hub)
            .await
            .map_err(|e| failed("connect", &e))?;
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
        let (mut ws, _) = tokio_tungstenite::client_async_with_config(
            format!("ws://{hub}/ws"),
            MaybeTlsStream::Plain(tcp),
            Some(config),
        )
        .await
        .map_err(|e| failed("upgrade", &e))?;
        let hello = match since {
            Some(since) => json!({ "type": "hello", "token": token, "since": since }),
            None => json!({ "type": "hello", "token": token }),
        };
        ws.send(Message::text(hello.to_string()))
            .await
            .map_err(|e| failed("hello", &e))?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let welcome: Value =
                        serde_json::from_str(t.as_str()).map_err(|e| failed("welcome", &e))?;
                    return Ok(Attempt::Welcome(Box::new(ws), welcome));
                }
                Some(Ok(Message::Close(Some(frame)))) => {
                    let after = frame
                        .reason
                        .strip_prefix("retry_after_ms=")
                        .and_then(|ms| ms.parse().ok())
                        .map(Duration::from_millis);
                    return Ok(Attempt::Refused(u16::from(frame.code), after));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(other)) => return Err(failed("welcome", &format!("{other:?}"))),
                Some(Err(e)) => return Err(failed("welcome", &e)),
                None => return Err(failed("welcome", &"socket closed")),
            }
        }
    };
    match tokio::time::timeout(patience, connecting).await {
        Ok(Ok(outcome) | Err(outcome)) => outcome,
        Err(_) => Attempt::GaveUp,
    }
}

/// The hub's retry-after plus a random share of up to half of it; without
/// one, full jitter: a random wait up to min(cap, base × 2^n).
fn backoff(n: u32, retry_after: Option<Duration>) -> Duration {
    let (at_least, spread) = match retry_after {
        Some(after) => (after, after / 2),
        None => (
            Duration::ZERO,
            BACKOFF_BASE.saturating_mul(1 << n.min(10)).min(BACKOFF_CAP),
        ),
    };
    at_least + Duration::from_millis(rand::rng().random_range(0..=spread.as_millis() as u64))
}

/// What a screen task is given.
struct Screen {
    n: usize,
    token: Arc<str>,
    survivors: Arc<Vec<SocketAddr>>,
    tally: Arc<Tally>,
    killed: Arc<Mutex<Option<Instant>>>,
    stop: Arc<AtomicBool>,
    patience: Duration,
    give_up: bool,
}

/// A screen: reads its first session until the hub dies, resumes on a
/// survivor, then reads until stopped; returns its socket still open.
async fn screen(s: Screen, mut first: Ws, mut got: Received) -> (Received, Option<Ws>) {
    got.stage = "first session";
    read_until_gone(&mut first, &mut got, &s.stop).await;
    // Its descriptor goes now, not when the task ends: held through the
    // resume, every screen kept two, and with 10,000 screens the load
    // generator reached its limit (20,000 on this box) and its last hundred
    // screens failed to open a socket until the waiters' sockets closed.
    drop(first);
    got.stage = if s.killed.lock().unwrap().is_some() {
        "resuming"
    } else {
        "resuming (first session ended before the kill)"
    };
    if s.stop.load(Ordering::Relaxed) {
        return (got, None);
    }
    let mut n = 0u32;
    let mut refusals = 0u32;
    let hub_count = s.survivors.len();
    let mut ws = 'resumed: loop {
        if s.stop.load(Ordering::Relaxed) {
            return (got, None);
        }
        let hub = s.survivors[(s.n + n as usize) % hub_count];
        n += 1;
        s.tally.attempts.fetch_add(1, Ordering::Relaxed);
        let outcome = attempt(hub, source(s.n), &s.token, Some(got.last), s.patience).await;
        let mut ws = match outcome {
            Attempt::Welcome(ws, welcome) if welcome["type"] == "welcome" => {
                if welcome["resync_required"] == true {
                    s.tally.resyncs.fetch_add(1, Ordering::Relaxed);
                    got.last = welcome["seq"].as_u64().unwrap_or(got.last);
                }
                got.session = welcome["session_id"].as_str().unwrap_or("").to_owned();
                *ws
            }
            Attempt::Welcome(..) => {
                s.tally.failed.fetch_add(1, Ordering::Relaxed);
                refusals += 1;
                tokio::time::sleep(backoff(refusals, None)).await;
                continue;
            }
            Attempt::Failed(why) => {
                s.tally.failed.fetch_add(1, Ordering::Relaxed);
                *s.tally.failures.lock().unwrap().entry(why).or_default() += 1;
                refusals += 1;
                tokio::time::sleep(backoff(refusals, None)).await;
                continue;
            }
            Attempt::Refused(code, after) => {
                *s.tally.refusals.lock().unwrap().entry(code).or_default() += 1;
                refusals += 1;
                tokio::time::sleep(backoff(refusals, after)).await;
                continue;
            }
            Attempt::GaveUp => {
                let count = if s.give_up {
                    &s.tally.gave_up
                } else {
                    &s.tally.failed
                };
                count.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        // The replay, then `resumed`; a replay cut short is resumed again
        // from what arrived.
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let text = t.as_str();
                    if text.starts_with(r#"{"type":"event""#) {
                        got.event(text);
                    } else if text.starts_with(r#"{"type":"resumed""#) {
                        let frame: Value = serde_json::from_str(text).unwrap_or_default();
                        got.last = got.last.max(frame["seq"].as_u64().unwrap_or(0));
                        break 'resumed ws;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map_or(1005, |f| u16::from(f.code));
                    *s.tally.cut.lock().unwrap().entry(code).or_default() += 1;
                    break;
                }
                Some(Ok(_)) => {}
                _ => {
                    *s.tally.cut.lock().unwrap().entry(1006).or_default() += 1;
                    break;
                }
            }
        }
        refusals += 1;
        tokio::time::sleep(backoff(refusals, None)).await;
    };
    let killed = s.killed.lock().unwrap().unwrap_or_else(Instant::now);
    let ms = killed.elapsed().as_millis() as u64;
    s.tally.resume_ms.lock().unwrap().push(ms);
    s.tally.last_resume_ms.fetch_max(ms, Ordering::Relaxed);
    s.tally.resumed.fetch_add(1, Ordering::Relaxed);
    got.stage = "resumed";
    let open = read_until_gone(&mut ws, &mut got, &s.stop).await;
    (got, open.then_some(ws))
}

/// Reads events until the socket ends (false) or the run stops (true).
async fn read_until_gone(ws: &mut Ws, got: &mut Received, stop: &AtomicBool) -> bool {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            next = ws.next() => match next {
                Some(Ok(Message::Text(t))) => {
                    if t.as_str().starts_with(r#"{"type":"event""#) {
                        got.event(t.as_str());
                    }
                }
                Some(Ok(_)) => {}
                _ => return false,
            },
            _ = tick.tick() => if stop.load(Ordering::Relaxed) { return true },
        }
    }
}

/// One order's fate: intended send time (ms after the start), latency (µs),
/// and whether it was answered.
type Outcome = (u64, Option<u64>);

/// The schedule of a waiter: orders `first`, `first + every`, … of `rate`
/// a second in all, from `start` until `stop_ms` (ms after `start`).
struct Schedule {
    start: Instant,
    first: u64,
    every: u64,
    rate: u64,
    stop_ms: Arc<AtomicU64>,
}

/// A waiter placing its orders of `item` on schedule, reading replies on
/// its own.
async fn waiter(ws: Ws, plan: Schedule, item: i64, tag: String) -> Vec<Outcome> {
    let Schedule {
        start,
        first,
        every,
        rate,
        stop_ms,
    } = plan;
    let (mut tx, mut rx) = ws.split();
    let sent: Arc<Mutex<HashMap<u64, u64>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (sent, done) = (sent.clone(), done.clone());
        tokio::spawn(async move {
            let mut k = first;
            loop {
                let at_ms = k * 1000 / rate;
                if at_ms > stop_ms.load(Ordering::Relaxed) {
                    break;
                }
                tokio::time::sleep_until((start + Duration::from_millis(at_ms)).into()).await;
                if at_ms > stop_ms.load(Ordering::Relaxed) {
                    break;
                }
                sent.lock().unwrap().insert(k, at_ms);
                let frame = json!({ "type": "order.place", "id": k, "idempotency_key": format!("{tag}-{k}"),
                                    "source": "takeaway", "lines": [{ "menu_item_id": item, "qty": 1 }] });
                if tx.send(Message::text(frame.to_string())).await.is_err() {
                    break;
                }
                k += every;
            }
            done.store(true, Ordering::Release);
            tx
        })
    };
    let mut out = Vec::new();
    // Once the writer is done, replies get 10 s more.
    let mut last_heard = Instant::now();
    loop {
        if done.load(Ordering::Acquire)
            && (sent.lock().unwrap().is_empty() || last_heard.elapsed() > Duration::from_secs(10))
        {
            break;
        }
        let frame = match tokio::time::timeout(Duration::from_millis(200), rx.next()).await {
            Err(_) => continue,
            Ok(Some(Ok(Message::Text(t)))) => t,
            Ok(Some(Ok(_))) => continue,
            Ok(_) => break,
        };
        let frame: Value = serde_json::from_str(frame.as_str()).unwrap_or_default();
        let Some(id) = frame["id"].as_u64() else {
            continue;
        };
        let Some(at_ms) = sent.lock().unwrap().remove(&id) else {
            continue;
        };
        last_heard = Instant::now();
        let latency = (start.elapsed().as_micros() as u64).saturating_sub(at_ms * 1000);
        out.push((at_ms, Some(latency.max(1))));
    }
    let _ = writer.await;
    out.extend(sent.lock().unwrap().values().map(|&at| (at, None)));
    out
}

/// Connects one waiter per `(hub, token, item)` and runs them all on
/// their schedules; every order's outcome.
async fn waiters(
    orders: Vec<(SocketAddr, Arc<str>, i64)>,
    start: Instant,
    rate: u64,
    stop_ms: Arc<AtomicU64>,
    run: String,
) -> Result<Vec<Outcome>, String> {
    let every = orders.len() as u64;
    let mut running = Vec::new();
    for (i, (hub, token, item)) in orders.into_iter().enumerate() {
        let Attempt::Welcome(ws, _) =
            attempt(hub, source(i), &token, None, Duration::from_secs(30)).await
        else {
            return Err("a waiter could not connect".into());
        };
        let plan = Schedule {
            start,
            first: i as u64,
            every,
            rate,
            stop_ms: stop_ms.clone(),
        };
        running.push(tokio::spawn(waiter(*ws, plan, item, format!("{run}-{i}"))));
    }
    let mut outcomes = Vec::new();
    for w in running {
        outcomes.extend(w.await.map_err(|e| e.to_string())?);
    }
    Ok(outcomes)
}

/// The session ids `presence` lists for `room` on `hub`, asked as `owner`.
async fn presence(hub: SocketAddr, owner: &str, room: &str) -> Result<BTreeSet<String>, Error> {
    let Attempt::Welcome(ws, _) =
        attempt(hub, source(0), owner, None, Duration::from_secs(30)).await
    else {
        return Err("the owner could not connect".into());
    };
    let mut ws = *ws;
    let ask = json!({ "type": "presence", "id": "who", "room": room });
    ws.send(Message::text(ask.to_string())).await?;
    loop {
        let Some(Ok(Message::Text(t))) = ws.next().await else {
            return Err("no presence reply".into());
        };
        let reply: Value = serde_json::from_str(t.as_str())?;
        if reply["id"] == "who" {
            let members = reply["members"]
                .as_array()
                .ok_or_else(|| format!("no members in {reply}"))?;
            return Ok(members
                .iter()
                .filter_map(|m| m["session_id"].as_str().map(str::to_owned))
                .collect());
        }
    }
}

/// `restohub_ws_handshakes_shed_total` of a hub, by reason, if it has it.
async fn shed(hub: SocketAddr) -> String {
    let Ok(res) = reqwest::get(format!("http://{hub}/metrics")).await else {
        return "n/a".into();
    };
    let body = res.text().await.unwrap_or_default();
    let counts: Vec<String> = body
        .lines()
        .filter_map(|l| l.strip_prefix("restohub_ws_handshakes_shed_total{reason=\""))
        .map(|l| l.replace("\"} ", " "))
        .collect();
    if counts.is_empty() {
        "n/a".into()
    } else {
        counts.join(", ")
    }
}

fn window(outcomes: &[Outcome], from_ms: u64, to_ms: u64, name: &str) {
    let mut h = histogram();
    let mut unanswered = 0;
    for &(_, latency) in outcomes.iter().filter(|o| o.0 >= from_ms && o.0 < to_ms) {
        match latency {
            Some(us) => {
                let _ = h.record(us);
            }
            None => unanswered += 1,
        }
    }
    quantiles(name, &h);
    if unanswered > 0 {
        println!("  … unanswered in that window: {unanswered}");
    }
}

pub async fn storm(args: StormArgs) -> Result<(), Error> {
    let c = &args.common;
    if args.chain == 0 || c.hub.len() < 2 {
        return Err("storm needs --chain N and at least two --hub (the first is killed)".into());
    }
    let hubs: Vec<SocketAddr> = c.hub.iter().map(|h| addr(h)).collect::<Result<_, _>>()?;
    let (victim, survivors) = (hubs[0], Arc::new(hubs[1..].to_vec()));
    let sites = sites(c, args.chain, &args.item).await?;
    // Each restaurant's owner (who may ask its presence), by restaurant id.
    let mut owners = HashMap::new();
    for i in 1..=args.chain {
        let owner = token_of(c, &format!("{}-{i}", c.restaurant), "owner").await?;
        let restaurant: Value = reqwest::Client::new()
            .get(format!("{}/api/v1/restaurant", c.hub[0]))
            .bearer_auth(&*owner)
            .send()
            .await?
            .json()
            .await?;
        let id = restaurant["id"].as_i64().ok_or("a restaurant without id")?;
        owners.insert(id, owner);
    }
    let tally = Arc::new(Tally::default());
    let killed = Arc::new(Mutex::new(None));
    let stop = Arc::new(AtomicBool::new(false));
    let patience = match args.give_up_ms {
        0 => Duration::from_secs(60),
        ms => Duration::from_millis(ms),
    };
    // The screens, on the victim.
    let handshakes = Arc::new(Semaphore::new(256));
    let mut opening = Vec::new();
    let mut n = 0;
    for (i, site) in sites.iter().enumerate() {
        for _ in 0..share(args.screens, sites.len(), i) {
            let permit = handshakes.clone().acquire_owned().await?;
            let token = site.chef.clone();
            let k = n;
            opening.push(tokio::spawn(async move {
                let opened =
                    attempt(victim, source(k), &token, None, Duration::from_secs(60)).await;
                drop(permit);
                opened
            }));
            n += 1;
        }
    }
    let mut opening = opening.into_iter();
    let mut tasks = Vec::new();
    let mut n = 0;
    for (i, site) in sites.iter().enumerate() {
        for _ in 0..share(args.screens, sites.len(), i) {
            let Some(opened) = opening.next() else { break };
            let Attempt::Welcome(ws, welcome) = opened.await? else {
                return Err(format!("screen {n} could not connect to the first hub").into());
            };
            let ws = *ws;
            let got = Received {
                restaurant: welcome["restaurant_id"].as_i64().unwrap_or(0),
                session: welcome["session_id"].as_str().unwrap_or("").to_owned(),
                last: welcome["seq"].as_u64().unwrap_or(0),
                ..Received::default()
            };
            let s = Screen {
                n,
                token: site.chef.clone(),
                survivors: survivors.clone(),
                tally: tally.clone(),
                killed: killed.clone(),
                stop: stop.clone(),
                patience,
                give_up: args.give_up_ms > 0,
            };
            tasks.push(tokio::spawn(screen(s, ws, got)));
            n += 1;
        }
    }
    println!(
        "screens: {} on {victim}; orders: {}/s from {} waiters on {} other hub(s)",
        tasks.len(),
        args.rate,
        sites.len(),
        survivors.len()
    );
    // The waiters, on the survivors, in a runtime and thread of their own:
    // sharing the screens' runtime, an order's send and its ack waited
    // behind the resuming screens' tasks in this process, and the storm's
    // ack figures were partly the load generator's own queue.
    let start = Instant::now() + Duration::from_millis(500);
    let stop_ms = Arc::new(AtomicU64::new(u64::MAX));
    let run = uuid::Uuid::new_v4().simple().to_string();
    let orders: Vec<(SocketAddr, Arc<str>, i64)> = sites
        .iter()
        .enumerate()
        .map(|(i, site)| {
            (
                survivors[i % survivors.len()],
                site.waiter.clone(),
                site.item,
            )
        })
        .collect();
    let waiters = {
        let stop_ms = stop_ms.clone();
        let rate = args.rate;
        std::thread::spawn(move || -> Result<Vec<Outcome>, String> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(waiters(orders, start, rate, stop_ms, run))
        })
    };
    tokio::time::sleep_until((start + Duration::from_secs(args.warmup)).into()).await;
    // The kill.
    let kill_ms = start.elapsed().as_millis() as u64;
    let cpu_before = cpu_seconds(&args.cpu);
    // SAFETY: kill(2) only sends a signal to the pid given on the command line.
    if unsafe { libc::kill(args.victim_pid, libc::SIGKILL) } != 0 {
        return Err("cannot kill the first hub".into());
    }
    let killed_at = Instant::now();
    *killed.lock().unwrap() = Some(killed_at);
    let total = tasks.len();
    let limit = Duration::from_secs(args.limit);
    let mut progress = Vec::new();
    while tally.resumed.load(Ordering::Relaxed) < total && killed_at.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let second = killed_at.elapsed().as_secs() as usize;
        if progress.len() <= second {
            let resumed = tally.resumed.load(Ordering::Relaxed);
            progress.push(resumed);
            if second % 10 == 9 {
                eprintln!(
                    "{}s after the kill: {resumed} of {total} resumed",
                    second + 1
                );
            }
        }
    }
    let resumed = tally.resumed.load(Ordering::Relaxed);
    let storm_ms = if resumed == total {
        tally.last_resume_ms.load(Ordering::Relaxed)
    } else {
        killed_at.elapsed().as_millis() as u64
    };
    let cpu_after = cpu_seconds(&args.cpu);
    let storm_end = kill_ms + storm_ms;
    // Orders go on for `after` s, and at least until the killed hub's
    // liveness has expired (6 s) for the presence check.
    let end_ms = storm_end + (args.after * 1000).max(7000 - storm_ms.min(7000));
    stop_ms.store(end_ms, Ordering::Relaxed);
    let outcomes = tokio::task::spawn_blocking(move || waiters.join())
        .await?
        .map_err(|_| "the waiters' thread panicked")??;
    // Let the last deliveries land, then ask presence.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut by_restaurant: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    stop.store(true, Ordering::Relaxed);
    let (mut screens, mut sockets) = (Vec::new(), Vec::new());
    for t in tasks {
        let (got, ws) = t.await?;
        screens.push(got);
        sockets.extend(ws);
    }
    for s in &screens {
        by_restaurant
            .entry(s.restaurant)
            .or_default()
            .insert(s.session.clone());
    }
    // Presence while the screens are still connected (their sockets are
    // held, unread, until the end).
    let mut exact = 0;
    let (mut missing, mut extra, mut asked) = (0, 0, 0);
    for &hub in survivors.iter() {
        for (r, sessions) in &by_restaurant {
            let owner = owners.get(r).ok_or("a screen of an unknown restaurant")?;
            asked += 1;
            let listed = presence(hub, owner, &format!("kitchen:{r}")).await?;
            missing += sessions.difference(&listed).count();
            extra += listed.difference(sessions).count();
            if &listed == sessions {
                exact += 1;
            }
        }
    }
    let cpu_window = storm_ms as f64 / 1000.0;
    // Report.
    let mut times = tally.resume_ms.lock().unwrap().clone();
    times.sort_unstable();
    let at =
        |q: f64| times.get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1)));
    println!(
        "resumed {resumed} of {total} in {:.1} s (limit {} s); per screen p50 {:.1} s, p99 {:.1} s",
        storm_ms as f64 / 1000.0,
        args.limit,
        at(0.5).copied().unwrap_or(0) as f64 / 1000.0,
        at(0.99).copied().unwrap_or(0) as f64 / 1000.0
    );
    println!("resumed by second after the kill: {progress:?}");
    println!(
        "attempts {}; refused by code {:?}; cut before resumed by code {:?}; gave up (no welcome in {} ms) {}; failed {}; resyncs {}",
        tally.attempts.load(Ordering::Relaxed),
        tally.refusals.lock().unwrap(),
        tally.cut.lock().unwrap(),
        args.give_up_ms,
        tally.gave_up.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed),
        tally.resyncs.load(Ordering::Relaxed),
    );
    println!("failed by step: {:?}", tally.failures.lock().unwrap());
    let mut stages: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &screens {
        *stages.entry(s.stage).or_default() += 1;
    }
    println!("screens by stage at the end: {stages:?}");
    let mut last_of: HashMap<i64, u64> = HashMap::new();
    for s in &screens {
        let last = last_of.entry(s.restaurant).or_default();
        *last = (*last).max(s.last_event);
    }
    let behind = screens
        .iter()
        .filter(|s| s.last_event < last_of[&s.restaurant])
        .count();
    let sum = |f: fn(&Received) -> u64| screens.iter().map(f).sum::<u64>();
    let affected = screens
        .iter()
        .filter(|s| s.missed + s.duplicated + s.out_of_order > 0)
        .count();
    println!(
        "events: missed {} duplicated {} out of order {} (screens affected {affected}); screens without their restaurant's last event {behind}",
        sum(|s| s.missed),
        sum(|s| s.duplicated),
        sum(|s| s.out_of_order)
    );
    window(&outcomes, 0, kill_ms, "order ack before the kill");
    window(&outcomes, kill_ms, storm_end, "order ack during the storm");
    // The same span for every run, however long its storm: a longer storm's
    // calm end no longer thins out its busy start.
    window(
        &outcomes,
        kill_ms,
        kill_ms + 10_000,
        "order ack in the first 10 s after the kill",
    );
    window(
        &outcomes,
        storm_end,
        storm_end + args.after * 1000,
        &format!("order ack in the {} s after", args.after),
    );
    let unanswered = outcomes.iter().filter(|o| o.1.is_none()).count();
    println!("orders: {} placed, {unanswered} unanswered", outcomes.len());
    println!(
        "presence: {exact} of {asked} kitchen lists exact (asked on each surviving hub); {missing} screens missing, {extra} listed that are not there"
    );
    for &hub in survivors.iter() {
        println!("{hub} shed handshakes: {}", shed(hub).await);
    }
    drop(sockets);
    if !cpu_after.is_empty() {
        println!(
            "CPU during the storm (100% = one core): {}",
            cpu_shares(&cpu_before, &cpu_after, cpu_window.max(0.001))
        );
    }
    Ok(())
}
