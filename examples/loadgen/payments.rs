//! `loadgen payments`: payments recorded per second and their ack latency
//! (issue 18), to compare with `orders` on the same box. As a cashier (the
//! demo's by default) it first places takeaway orders of one untracked item
//! and opens a check for each (not measured), then records payments at a
//! fixed total rate over `--clients` sessions, open loop as `orders` does
//! (each payment has an intended send time and its latency runs from that
//! time, so a stalled hub cannot hide behind a waiting client). Each
//! payment has a key of its own and pays one check in full, so every
//! payment also gives the check its receipt number; with `--partial` each
//! check is paid in two halves, the first halves in the first half of the
//! run (the check becomes partially paid) and the second halves in the
//! second (paid).
//!
//! `--restaurant` names another restaurant than the demo (made with
//! `restohub create-owner`, owner `owner@<slug>.restohub`): its owner then
//! adds the paying login and the item if it lacks them. `bench/payments.sh`
//! pays in a restaurant of its own, so that the orders its `orders` steps
//! leave open without a check are not in the payments' restaurant (every
//! check change looks for such orders to join it: see BENCHMARKS.md).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::{addr, connect_many, cpu_seconds, cpu_shares, histogram, item_id, quantiles, token};
use super::{Common, Error, Ws};

#[derive(Args)]
pub struct PaymentsArgs {
    #[command(flatten)]
    common: Common,
    /// Payments per second, all clients together.
    #[arg(long, default_value_t = 100)]
    rate: u64,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Paying connections (sessions of `--role`).
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Who pays: the demo's cashier, or its owner or manager.
    #[arg(long, default_value = "cashier")]
    role: String,
    /// The menu item each check's one order takes (an untracked one never
    /// runs out).
    #[arg(long, default_value = "Tomato soup")]
    item: String,
    /// Two payments per check, each paying half of it, instead of one.
    #[arg(long)]
    partial: bool,
    /// A shell command run after the checks are prepared and before the
    /// payments start (e.g. a `VACUUM ANALYZE`, as the scripts run before
    /// every measured step).
    #[arg(long)]
    after_prepare: Option<String>,
    /// Processes whose CPU time to report over the measured window
    /// (`label:pid`, `label:=name` or `label:~text`, as in `orders`).
    #[arg(long, value_delimiter = ',')]
    cpu: Vec<String>,
}

/// A prepared check: its id and what is due on it.
#[derive(Clone, Copy)]
struct Prepared {
    id: i64,
    due: i64,
}

/// Commands one preparing session sends before reading their replies.
const PREPARE_BATCH: usize = 64;

pub async fn payments(args: PaymentsArgs) -> Result<(), Error> {
    let c = &args.common;
    let hubs: Vec<SocketAddr> = c.hub.iter().map(|h| addr(h)).collect::<Result<_, _>>()?;
    let (payer, item) = provision(&args).await?;
    let total = args.rate * args.seconds;
    let wanted = if args.partial {
        total.div_ceil(2)
    } else {
        total
    } as usize;
    let (conns, failed) = connect_many(&hubs, payer, args.clients, 0).await;
    if failed > 0 {
        return Err(format!("{failed} paying connections failed").into());
    }
    let run = uuid::Uuid::new_v4().simple().to_string();
    let began = Instant::now();
    let (conns, checks) = prepare(conns, wanted, item, &run).await?;
    println!(
        "prepared {} checks (one takeaway order each, {} cents due on the first) in {:.1} s",
        checks.len(),
        checks.first().map_or(0, |c| c.due),
        began.elapsed().as_secs_f64()
    );
    if let Some(command) = &args.after_prepare {
        let status = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .status()
            .await?;
        if !status.success() {
            return Err(format!("--after-prepare failed: {status}").into());
        }
    }

    let start = Instant::now() + Duration::from_millis(500);
    let gap = Duration::from_secs_f64(1.0 / args.rate as f64);
    let deadline = start + Duration::from_secs(args.seconds + 15);
    let clients = conns.len();
    let mut tasks = Vec::new();
    for (i, ws) in conns.into_iter().enumerate() {
        let schedule: Vec<(u64, Instant, String)> = (i as u64..total)
            .step_by(clients)
            .map(|n| {
                let (check, amount) = payment_of(&checks, n as usize, args.partial);
                let frame = json!({ "type": "payment.record", "id": n, "check_id": check,
                                    "idempotency_key": format!("{run}-pay-{n}"),
                                    "method": "card", "amount_cents": amount });
                (n, start + gap * n as u32, frame.to_string())
            })
            .collect();
        tasks.push(tokio::spawn(payer_session(ws, start, schedule, deadline)));
    }
    tokio::time::sleep_until(start.into()).await;
    let cpu_before = cpu_seconds(&args.cpu);
    let mut all = Outcome::new();
    let mut last = start;
    for task in tasks {
        let out = task.await?;
        all.ack.add(&out.ack)?;
        all.worst.resize(all.worst.len().max(out.worst.len()), 0);
        for (w, o) in all.worst.iter_mut().zip(&out.worst) {
            *w = (*w).max(*o);
        }
        all.ok += out.ok;
        all.duplicates += out.duplicates;
        all.receipts += out.receipts;
        for (status, h) in out.statuses {
            all.statuses
                .entry(status)
                .or_insert_with(histogram)
                .add(&h)?;
        }
        for (code, n) in out.errors {
            *all.errors.entry(code).or_default() += n;
        }
        last = last.max(out.last_ack.unwrap_or(start));
    }
    let cpu_after = cpu_seconds(&args.cpu);
    let cpu_window = start.elapsed().as_secs_f64();
    let took = (last - start).as_secs_f64().max(f64::EPSILON);
    println!(
        "target {} payments/s for {} s over {clients} clients ({})",
        args.rate,
        args.seconds,
        if args.partial {
            "two halves per check"
        } else {
            "one payment per check"
        }
    );
    println!(
        "recorded {} of {total}; achieved {:.0} payments/s; errors {:?}",
        all.ok,
        all.ok as f64 / took,
        all.errors
    );
    let statuses: BTreeMap<&str, u64> = all
        .statuses
        .iter()
        .map(|(status, h)| (status.as_str(), h.len()))
        .collect();
    println!(
        "checks after their payment: {statuses:?}; receipts given {}; duplicates {}",
        all.receipts, all.duplicates
    );
    quantiles("ack latency (from intended send)", &all.ack);
    if all.statuses.len() > 1 {
        for (status, h) in &all.statuses {
            quantiles(&format!("… payments leaving the check {status}"), h);
        }
    }
    let worst: Vec<String> = all
        .worst
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
    Ok(())
}

/// The paying login's token and the item's id; a login or item the
/// restaurant lacks is added by its owner first (the item at 650 cents, the
/// demo's price for its soup, so that every restaurant's checks are alike).
async fn provision(args: &PaymentsArgs) -> Result<(Arc<str>, i64), Error> {
    let c = &args.common;
    let http = reqwest::Client::new();
    let payer = match token(c, &args.role).await {
        Ok(payer) => payer,
        Err(_) => {
            let owner = token(c, "owner").await?;
            let email = format!("{}@{}.restohub", args.role, c.restaurant);
            let res = http
                .post(format!("{}/api/v1/users", c.hub[0]))
                .bearer_auth(&*owner)
                .json(
                    &json!({ "email": email, "name": args.role, "role": args.role,
                               "password": c.password }),
                )
                .send()
                .await?;
            if !res.status().is_success() {
                return Err(format!("cannot add {email}: {}", res.text().await?).into());
            }
            token(c, &args.role).await?
        }
    };
    if let Ok(item) = item_id(c, &payer, &args.item).await {
        return Ok((payer, item));
    }
    let owner = token(c, "owner").await?;
    let res = http
        .post(format!("{}/api/v1/menu/items", c.hub[0]))
        .bearer_auth(&*owner)
        .json(&json!({ "name": args.item, "price_cents": 650 }))
        .send()
        .await?;
    if !res.status().is_success() {
        return Err(format!("cannot add the item: {}", res.text().await?).into());
    }
    let item = res.json::<Value>().await?["id"]
        .as_i64()
        .ok_or("item without id")?;
    Ok((payer, item))
}

/// Payment `n`'s check and amount. In full, payment n pays check n. In
/// halves, payment n pays check `n mod checks`: the first half of the run
/// pays the first half of each check and the second half the rest, so the
/// two payments of a check are half a run apart and never contend for its
/// lock.
fn payment_of(checks: &[Prepared], n: usize, partial: bool) -> (i64, i64) {
    if !partial {
        let c = checks[n];
        return (c.id, c.due);
    }
    let c = checks[n % checks.len()];
    let first = c.due / 2;
    if n < checks.len() {
        (c.id, first)
    } else {
        (c.id, c.due - first)
    }
}

/// Places `wanted` takeaway orders and opens a check for each, spread over
/// the sessions (each sends batches of commands and reads their replies);
/// the sessions back and the checks in order.
async fn prepare(
    conns: Vec<Ws>,
    wanted: usize,
    item: i64,
    run: &str,
) -> Result<(Vec<Ws>, Vec<Prepared>), Error> {
    let clients = conns.len();
    let mut tasks = Vec::new();
    for (i, mut ws) in conns.into_iter().enumerate() {
        let run = run.to_owned();
        tasks.push(tokio::spawn(async move {
            let mine: Vec<usize> = (i..wanted).step_by(clients).collect();
            let mut checks = Vec::with_capacity(mine.len());
            for batch in mine.chunks(PREPARE_BATCH) {
                let orders: Vec<Value> = batch
                    .iter()
                    .map(|n| {
                        json!({ "type": "order.place", "id": n,
                            "idempotency_key": format!("{run}-order-{n}"),
                            "source": "takeaway", "lines": [{ "menu_item_id": item, "qty": 1 }] })
                    })
                    .collect();
                let placed = exchange(&mut ws, orders).await?;
                let opens: Vec<Value> = batch
                    .iter()
                    .map(|n| {
                        let order = placed[&(*n as u64)]["order"]["id"].as_i64();
                        json!({ "type": "check.open", "id": n, "order_id": order })
                    })
                    .collect();
                let opened = exchange(&mut ws, opens).await?;
                for n in batch {
                    let check = &opened[&(*n as u64)]["check"];
                    let (Some(id), Some(due)) = (check["id"].as_i64(), check["due_cents"].as_i64())
                    else {
                        return Err(format!("check.open gave no check: {check}").into());
                    };
                    checks.push((*n, Prepared { id, due }));
                }
            }
            Ok::<_, Error>((ws, checks))
        }));
    }
    let mut conns = Vec::with_capacity(clients);
    let mut all = Vec::with_capacity(wanted);
    for task in tasks {
        let (ws, checks) = task.await??;
        conns.push(ws);
        all.extend(checks);
    }
    all.sort_unstable_by_key(|(n, _)| *n);
    Ok((conns, all.into_iter().map(|(_, c)| c).collect()))
}

/// Sends `commands` (each with a numeric `id`) and reads until each has
/// its ack; any error reply fails the preparation.
async fn exchange(ws: &mut Ws, commands: Vec<Value>) -> Result<HashMap<u64, Value>, Error> {
    let expected = commands.len();
    for command in commands {
        ws.send(Message::text(command.to_string())).await?;
    }
    let mut acks = HashMap::with_capacity(expected);
    while acks.len() < expected {
        let text = match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(_))) => continue,
            other => return Err(format!("preparing: no reply ({other:?})").into()),
        };
        if text.as_str().starts_with(r#"{"type":"event""#) {
            continue;
        }
        let frame: Value = serde_json::from_str(text.as_str())?;
        match frame["type"].as_str() {
            Some("ack") => {
                let id = frame["id"].as_u64().ok_or("an ack without id")?;
                acks.insert(id, frame);
            }
            Some("error") => return Err(format!("preparing: {frame}").into()),
            _ => {}
        }
    }
    Ok(acks)
}

/// What one paying session saw.
struct Outcome {
    ack: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<String, u64>,
    /// Ack latency by the check's status in the ack (`paid`,
    /// `partially_paid`): with `--partial`, the payments that leave a
    /// check partly paid and those that pay it off (and draw its receipt
    /// number) apart.
    statuses: BTreeMap<String, Histogram<u64>>,
    /// Acks whose check has a receipt number.
    receipts: u64,
    /// Acks saying the key had recorded the payment already (none expected).
    duplicates: u64,
    last_ack: Option<Instant>,
    /// The worst ack latency of the payments due in each second, µs.
    worst: Vec<u64>,
}

impl Outcome {
    fn new() -> Outcome {
        Outcome {
            ack: histogram(),
            ok: 0,
            errors: BTreeMap::new(),
            statuses: BTreeMap::new(),
            receipts: 0,
            duplicates: 0,
            last_ack: None,
            worst: Vec::new(),
        }
    }
}

/// One paying session: sends its share of the schedule at the intended
/// times and reads the replies on its own, timing each from its intended
/// time (as `orders`' clients do).
async fn payer_session(
    ws: Ws,
    start: Instant,
    schedule: Vec<(u64, Instant, String)>,
    deadline: Instant,
) -> Outcome {
    let (mut tx, mut rx) = ws.split();
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let expected = schedule.len();
    let sent_by_writer = sent.clone();
    let writer = tokio::spawn(async move {
        for (n, at, frame) in schedule {
            tokio::time::sleep_until(at.into()).await;
            sent_by_writer.lock().unwrap().insert(n, at);
            if tx.send(Message::text(frame)).await.is_err() {
                break;
            }
        }
        tx
    });
    let mut out = Outcome::new();
    let mut replies = 0;
    while replies < expected {
        let text = match tokio::time::timeout_at(deadline.into(), rx.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(_))) => continue,
            _ => break,
        };
        // Every payment's events reach every cashier session: skip them
        // unparsed, the load generator's CPU is taken from the hub's.
        if text.as_str().starts_with(r#"{"type":"event""#) {
            continue;
        }
        let frame: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
        let kind = frame["type"].as_str().unwrap_or("");
        if kind != "ack" && kind != "error" {
            continue;
        }
        let Some(id) = frame["id"].as_u64() else {
            // An error with no id (a refused frame): it answers one command.
            *out.errors
                .entry(frame["code"].as_str().unwrap_or("?").into())
                .or_default() += 1;
            replies += 1;
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
            let check = &frame["check"];
            let _ = out
                .statuses
                .entry(check["status"].as_str().unwrap_or("?").into())
                .or_insert_with(histogram)
                .record(latency);
            out.receipts += u64::from(check["receipt_no"].is_i64());
            out.duplicates += u64::from(frame["duplicate"] == true);
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
