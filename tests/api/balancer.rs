//! A chain behind a real load balancer: three hub processes on one
//! PostgreSQL database and a Redis of the test's own, behind haproxy running
//! `deploy/haproxy.cfg` with TLS at the edge. Kitchen screens and waiters
//! reach the chain only through the balancer (https://, wss://). One
//! instance is killed under load, another stopped gracefully, then Redis
//! stops (no instance ready: haproxy falls back to the live ones); every
//! screen resumes through the balancer with `since` and ends up with every
//! acknowledged order exactly once, in order.

mod haproxy;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::orders::floor;
use crate::scale::{ChildHub, PrivateRedis};
use crate::support::*;
use haproxy::Haproxy;

/// Kitchen screens, each its own login (as each station's tablet has).
const SCREENS: usize = 6;
/// Waiters placing orders at once, each at its own pace.
const WAITERS: usize = 4;
const ORDERS_PER_WAITER: usize = 80;
const PACE: Duration = Duration::from_millis(100);

/// What one kitchen screen saw over all its connections.
#[derive(Default)]
struct Screen {
    /// Ids of the `order.placed` events, in the order they arrived.
    orders: Vec<i64>,
    /// How each connection ended: "dropped" (no close frame) or "closed <code>".
    ends: Vec<String>,
    /// What a screen must never see: a gap, a duplicate, a refused resume.
    faults: Vec<String>,
    welcomed: bool,
    /// When its connection last ended, until it has resumed.
    ended_at: Option<Instant>,
    /// From each end of a connection to the end of the replay after it.
    back_after: Vec<Duration>,
}

/// A kitchen screen as a real one behaves: connects through the balancer,
/// and whenever its connection ends reconnects with `since` = the last
/// `seq` it processed. Checks `prev` on every event. Runs until aborted.
async fn run_screen(lb: Arc<Haproxy>, token: String, screen: Arc<Mutex<Screen>>) {
    let mut last: Option<u64> = None;
    loop {
        if let Ok(mut ws) = lb.wss().await {
            let mut hello = json!({ "type": "hello", "token": token });
            if let Some(since) = last {
                hello["since"] = json!(since);
            }
            if ws.send(Message::text(hello.to_string())).await.is_ok() {
                let end = read_session(&mut ws, &mut last, &screen).await;
                let mut screen = screen.lock().unwrap();
                screen.ends.push(end);
                screen.ended_at.get_or_insert_with(Instant::now);
            }
        }
        // A moment before trying again, as the pages do.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads one connection's frames until it ends; says how it ended.
async fn read_session<S>(
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
    last: &mut Option<u64>,
    screen: &Mutex<Screen>,
) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        let text = match ws.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(Some(close)))) => {
                return format!("closed {}", u16::from(close.code))
            }
            Some(Ok(Message::Close(None)) | Err(_)) | None => return "dropped".into(),
            Some(Ok(_)) => continue,
        };
        let frame: Value = serde_json::from_str(text.as_str()).expect("JSON frame");
        let mut screen = screen.lock().unwrap();
        match frame["type"].as_str() {
            Some("welcome") => {
                if frame["resync_required"] == true {
                    screen.faults.push(format!("told to resync: {frame}"));
                }
                if last.is_none() {
                    *last = frame["seq"].as_u64();
                }
                screen.welcomed = true;
            }
            // The replay is over; live events continue from its seq.
            Some("resumed") => {
                *last = frame["seq"].as_u64();
                if let Some(ended) = screen.ended_at.take() {
                    screen.back_after.push(ended.elapsed());
                }
            }
            Some("event") => {
                let (prev, seq) = (frame["prev"].as_u64(), frame["seq"].as_u64());
                if prev != *last {
                    screen
                        .faults
                        .push(format!("gap or duplicate after {last:?}: {frame}"));
                }
                *last = seq;
                if frame["kind"] == "order.placed" {
                    screen.orders.push(frame["data"]["id"].as_i64().unwrap());
                }
            }
            _ => {}
        }
    }
}

/// Places one order through the balancer, retrying with the same key (as
/// the waiter's app does) until it is acknowledged; the order's id and how
/// many tries failed.
async fn place(http: &reqwest::Client, url: &str, token: &str, body: &Value) -> (i64, usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut failed = 0;
    loop {
        match http.post(url).bearer_auth(token).json(body).send().await {
            Ok(res) if res.status().is_success() => {
                let reply: Value = res.json().await.expect("the order as JSON");
                return (reply["order"]["id"].as_i64().unwrap(), failed);
            }
            // The balancer's answers while an instance dies under the request.
            Ok(res)
                if matches!(
                    res.status(),
                    StatusCode::BAD_GATEWAY
                        | StatusCode::SERVICE_UNAVAILABLE
                        | StatusCode::GATEWAY_TIMEOUT
                ) => {}
            Ok(res) => panic!(
                "order refused: {} {}",
                res.status(),
                res.text().await.unwrap()
            ),
            // The connection broke mid-request.
            Err(_) => {}
        }
        failed += 1;
        assert!(
            Instant::now() < deadline,
            "an order never got through: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Orders acknowledged so far (ids), and the tries that failed.
#[derive(Default)]
struct Acked {
    ids: Vec<i64>,
    failed_tries: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_behind_haproxy_misses_nothing_when_instances_die() {
    let mut redis = PrivateRedis::start();
    // An instance in this process sets the restaurant up (and migrates the
    // test's fresh database); the three behind the balancer are processes.
    let redis_url = redis.url();
    let setup = TestApp::spawn_with(Backend::Postgres, &["--redis-url", &redis_url]).await;
    let f = floor(&setup, "chain").await;
    // As the deployment guide runs them behind haproxy.
    let behind_proxy = [
        ("RESTOHUB_CLIENT_IP_HEADER", "x-forwarded-for"),
        ("RESTOHUB_TRUSTED_PROXIES", "127.0.0.1"),
    ];
    let mut hubs: Vec<ChildHub> = (0..3)
        .map(|_| ChildHub::start_with(&setup, &redis, &behind_proxy))
        .collect();
    let lb = Arc::new(Haproxy::start([&hubs[0].addr, &hubs[1].addr, &hubs[2].addr]).await);
    let https = lb.https();

    the_edge(&lb, &setup, &f.t.owner).await;
    let http = lb.client().build().unwrap();

    // Kitchen screens through the balancer, spread over the three hubs.
    let mut screens = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..SCREENS {
        let (_, chef) = setup.staff(&f.t, "chef").await;
        let screen = Arc::new(Mutex::new(Screen::default()));
        tasks.push(tokio::spawn(run_screen(lb.clone(), chef, screen.clone())));
        screens.push(screen);
    }
    wait_until(Duration::from_secs(10), "every screen welcomed", || {
        screens.iter().all(|s| s.lock().unwrap().welcomed)
    })
    .await;
    let spread = lb.servers().await;
    assert!(
        spread.values().all(|s| s.current >= 1),
        "screens not on every hub: {spread:?}"
    );

    // Waiters order through the balancer; hub2 is killed halfway.
    let acked = Arc::new(Mutex::new(Acked::default()));
    let started = Instant::now();
    let mut waiters = Vec::new();
    for w in 0..WAITERS {
        let (_, token) = setup.staff(&f.t, "waiter").await;
        let http = lb.client().build().unwrap();
        let (url, acked, t1, bread) = (
            format!("{https}/api/v1/orders"),
            acked.clone(),
            f.t1,
            f.bread,
        );
        waiters.push(tokio::spawn(async move {
            for n in 0..ORDERS_PER_WAITER {
                let body = json!({ "idempotency_key": format!("w{w}-{n}"), "table_id": t1, "source": "dine_in",
                                   "lines": [{ "menu_item_id": bread, "qty": 1 }] });
                let (id, failed) = place(&http, &url, &token, &body).await;
                {
                    let mut acked = acked.lock().unwrap();
                    acked.ids.push(id);
                    acked.failed_tries += failed;
                }
                tokio::time::sleep(PACE).await;
            }
        }));
    }
    let total = WAITERS * ORDERS_PER_WAITER;
    wait_until(Duration::from_secs(30), "half the orders", || {
        acked.lock().unwrap().ids.len() >= total / 2
    })
    .await;
    hubs[1].kill();
    let killed_at = Instant::now();
    let marked_down = lb.wait_for_status("hub2", "DOWN").await;
    assert_eq!(
        lb.servers().await["hub2"].check,
        "L4CON",
        "refused, as a dead process"
    );
    for waiter in waiters {
        waiter.await.unwrap();
    }
    let load_took = started.elapsed();
    let last_ack = Instant::now();
    assert_eq!(acked.lock().unwrap().ids.len(), total);
    let all_caught_up = |acked: &Acked| {
        screens
            .iter()
            .all(|s| s.lock().unwrap().orders.len() >= acked.ids.len())
    };
    wait_until(Duration::from_secs(20), "screens caught up", || {
        all_caught_up(&acked.lock().unwrap())
    })
    .await;
    let dropped = ends(&screens, "dropped");
    assert!(dropped >= 1, "no screen was on the killed hub");

    // hub3 stops as systemd stops it (SIGTERM): its screens are told to
    // reconnect (1012), it exits cleanly, haproxy takes it out, and the
    // orders placed after it all go to hub1.
    hubs[2].terminate();
    let stopping = Instant::now();
    let exit = hubs[2]
        .exited(Duration::from_secs(15))
        .await
        .expect("hub3 drained and exited");
    let stopped_in = stopping.elapsed();
    assert!(exit.success(), "hub3 exited with {exit}");
    lb.wait_for_status("hub3", "DOWN").await;
    let restarted = ends(&screens, "closed 1012");
    assert!(restarted >= 1, "no screen got the restart code from hub3");
    let (_, token) = setup.staff(&f.t, "waiter").await;
    let place_more = |prefix: &'static str, n: usize| {
        let (http, url, token, acked) = (
            http.clone(),
            format!("{https}/api/v1/orders"),
            token.clone(),
            acked.clone(),
        );
        let (t1, bread) = (f.t1, f.bread);
        async move {
            for i in 0..n {
                let body = json!({ "idempotency_key": format!("{prefix}-{i}"), "table_id": t1, "source": "dine_in",
                                   "lines": [{ "menu_item_id": bread, "qty": 1 }] });
                let (id, failed) = place(&http, &url, &token, &body).await;
                let mut acked = acked.lock().unwrap();
                acked.ids.push(id);
                acked.failed_tries += failed;
            }
        }
    };
    place_more("after-sigterm", 20).await;
    wait_until(Duration::from_secs(20), "screens caught up", || {
        all_caught_up(&acked.lock().unwrap())
    })
    .await;

    // Redis goes away: hub1 is no longer ready, so haproxy takes it out of
    // the pool (closing its sessions) and, no instance being ready, sends
    // everyone to the instances still alive: the chain keeps taking orders
    // and the screens resume there, rather than everything getting 503.
    redis.stop();
    let redis_down_marked = lb.wait_for_status("hub1", "DOWN").await;
    place_more("redis-down", 10).await;
    assert!(
        ends(&screens, "dropped") >= dropped + SCREENS,
        "haproxy kept the screens on an instance that is not ready"
    );
    wait_until(Duration::from_secs(20), "screens caught up", || {
        all_caught_up(&acked.lock().unwrap())
    })
    .await;
    // Long enough for a duplicate to arrive, if one were coming.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for task in &tasks {
        task.abort();
    }

    let acked = std::mem::take(&mut *acked.lock().unwrap());
    let truth: BTreeSet<i64> = acked.ids.iter().copied().collect();
    assert_eq!(truth.len(), total + 30, "an order was acknowledged twice");
    assert_eq!(
        setup.store.order_count(f.t.id).await.unwrap(),
        truth.len() as i64,
        "a retry duplicated an order"
    );
    let mut slowest_resume = Duration::ZERO;
    for (i, screen) in screens.iter().enumerate() {
        let screen = screen.lock().unwrap();
        slowest_resume = screen
            .back_after
            .iter()
            .fold(slowest_resume, |a, b| a.max(*b));
        assert!(screen.faults.is_empty(), "screen {i}: {:?}", screen.faults);
        let seen: BTreeSet<i64> = screen.orders.iter().copied().collect();
        assert_eq!(
            seen.len(),
            screen.orders.len(),
            "screen {i} saw an order twice"
        );
        assert_eq!(seen, truth, "screen {i} missed orders");
    }
    // The figures of docs/OPERATIONS.md (run with --nocapture).
    eprintln!(
        "balancer: {total} orders in {load_took:.1?}, {} tries failed and were retried; hub2 \
         killed {:.1?} before the last ack, marked DOWN {marked_down:.1?} after the kill; hub3 \
         stopped (SIGTERM) in {stopped_in:.1?}; {dropped} screen connections dropped, \
         {restarted} closed with 1012; slowest screen back with everything in {slowest_resume:.1?}; Redis stopped: hub1 \
         out of the ready pool after {redis_down_marked:.1?}, served as alive",
        acked.failed_tries,
        last_ack.saturating_duration_since(killed_at),
    );
}

/// How many of the screens' connections ended as `how`.
fn ends(screens: &[Arc<Mutex<Screen>>], how: &str) -> usize {
    screens
        .iter()
        .map(|s| s.lock().unwrap().ends.iter().filter(|e| *e == how).count())
        .sum()
}

/// The edge: plain HTTP is sent to https; TLS with the test's CA; the hub
/// sees the client's address, never one the client wrote; the site's own
/// pages may open WebSockets, other sites' may not.
async fn the_edge(lb: &Haproxy, setup: &TestApp, owner: &str) {
    let https = lb.https();
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = plain
        .get(format!("http://127.0.0.1:{}/health/ready", lb.http_port))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::MOVED_PERMANENTLY);
    let to = res.headers()["location"].to_str().unwrap();
    assert!(to.starts_with("https://127.0.0.1:"), "{to}");
    let res = lb
        .client()
        .build()
        .unwrap()
        .get(format!("{https}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("strict-transport-security"));
    let from_elsewhere = lb
        .client()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .build()
        .unwrap();
    let res = from_elsewhere
        .post(format!("{https}/api/v1/auth/login"))
        .header("x-forwarded-for", "198.51.100.1")
        .json(&json!({ "restaurant": "chain", "email": "owner@chain.test", "password": "wrong password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (status, trail) = setup.get("/api/v1/audit?action=login.failed", owner).await;
    assert_eq!(status, StatusCode::OK, "{trail}");
    assert_eq!(trail["items"][0]["client_address"], "127.0.0.2", "{trail}");
    // The hub's own pages, served over https, may open their WebSocket
    // through it (haproxy passes Host on); another site's may not.
    assert!(lb.wss_from(Some(&https)).await.is_ok());
    assert_eq!(
        lb.wss_from(Some("https://elsewhere.example")).await.err(),
        Some("HTTP 403".to_owned())
    );
}

/// Polls `done` until it holds; fails the test after `limit`.
async fn wait_until(limit: Duration, what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
