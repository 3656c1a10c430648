//! Several hub instances on one PostgreSQL database and a Redis server this
//! test owns: every screen gets every event meant for it exactly once and in
//! order, whichever instance it is on and whatever Redis does.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::health::wait_until_ready;
use crate::orders::{floor, Floor};
use crate::support::*;
use crate::ws_client::WsClient;

/// A redis-server on a free port, stopped when dropped.
pub(crate) struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    pub(crate) fn start() -> PrivateRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = PrivateRedis { port, child: None };
        redis.resume();
        redis
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub(crate) fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed for the scale-out tests");
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server did not start");
    }

    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn instances(redis: &PrivateRedis, n: usize) -> Vec<Arc<TestApp>> {
    let url = redis.url();
    // One waiter places orders here far faster than any person: the load
    // is on delivery, so the REST write limits are off.
    let args = [
        "--redis-url",
        url.as_str(),
        "--event-poll-ms",
        "200",
        "--account-write-rate-limit",
        "0",
        "--restaurant-write-rate-limit",
        "0",
    ];
    let first = TestApp::spawn_with(Backend::Postgres, &args).await;
    let mut all = Vec::new();
    for _ in 1..n {
        all.push(Arc::new(first.sibling_with(&args).await));
    }
    all.insert(0, Arc::new(first));
    for app in &all {
        wait_until_ready(app).await;
    }
    all
}

/// Reads events until `n` of `kind` have arrived; checks prev continuity
/// and strictly increasing seq; returns every (seq, kind).
pub(crate) async fn collect(
    ws: &mut WsClient,
    start: u64,
    kind: &str,
    n: usize,
) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let mut last = start;
    let mut count = 0;
    while count < n {
        let e = ws
            .next_matching(|f| f["type"] == "event" || f["type"] == "resumed")
            .await;
        if e["type"] == "resumed" {
            // The replay is done; live events continue from here.
            last = e["seq"].as_u64().unwrap();
            continue;
        }
        let (prev, seq) = (e["prev"].as_u64().unwrap(), e["seq"].as_u64().unwrap());
        assert_eq!(prev, last, "gap or duplicate before {e}");
        assert!(seq > last);
        last = seq;
        if e["kind"] == kind {
            count += 1;
        }
        out.push((seq, e["kind"].as_str().unwrap().to_owned()));
    }
    out
}

pub(crate) async fn place(app: &TestApp, f: &Floor, token: &str, key: String) -> StatusCode {
    let body = json!({ "idempotency_key": key, "table_id": f.t1, "source": "dine_in", "lines": [{ "menu_item_id": f.bread, "qty": 1 }] });
    app.post("/api/v1/orders", Some(token), body).await.0
}

pub(crate) async fn expo(app: &TestApp, token: &str) -> (WsClient, u64) {
    let (ws, welcome) = WsClient::join(app, token).await;
    (ws, welcome["seq"].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_deliver_every_event_once_in_order() {
    let redis = PrivateRedis::start();
    let apps = instances(&redis, 3).await;
    let f = floor(&apps[0], "chain").await;
    let (_, chef) = apps[0].staff(&f.t, "chef").await;
    let mut screens = Vec::new();
    for app in &apps {
        screens.push(expo(app, &chef).await);
    }
    let (_, waiter) = apps[0].staff(&f.t, "waiter").await;
    const ORDERS: usize = 2000;
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let app = apps[worker % 2].clone();
        let (waiter, f_t1, bread) = (waiter.clone(), f.t1, f.bread);
        tasks.push(tokio::spawn(async move {
            for n in 0..ORDERS / 8 {
                let body = json!({ "idempotency_key": format!("w{worker}-{n}"), "table_id": f_t1, "source": "dine_in",
                                   "lines": [{ "menu_item_id": bread, "qty": 1 }] });
                let (status, reply) = app.post("/api/v1/orders", Some(&waiter), body).await;
                assert_eq!(status, StatusCode::CREATED, "{reply}");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut lists = Vec::new();
    for (ws, start) in screens.iter_mut() {
        lists.push(collect(ws, *start, "order.placed", ORDERS).await);
    }
    assert_eq!(lists[0], lists[1], "instance 1 and 2 screens differ");
    assert_eq!(lists[0], lists[2], "instance 1 and 3 screens differ");
    for (ws, _) in screens.iter_mut() {
        ws.assert_alive().await;
        assert!(
            ws.pending_events_of("order.placed").is_empty(),
            "a duplicate arrived"
        );
    }
    assert_eq!(
        apps[0].store.order_count(f.t.id).await.unwrap(),
        ORDERS as i64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_delays_but_loses_nothing() {
    let mut redis = PrivateRedis::start();
    let apps = instances(&redis, 2).await;
    let f = floor(&apps[0], "chain").await;
    let (_, chef) = apps[0].staff(&f.t, "chef").await;
    let (_, waiter) = apps[0].staff(&f.t, "waiter").await;
    let (mut remote, start) = expo(&apps[1], &chef).await;

    place(&apps[0], &f, &waiter, "before".into()).await;
    redis.stop();
    // Readiness stops being green on both instances.
    for app in &apps {
        let mut degraded = None;
        for _ in 0..100 {
            let (status, body) = app
                .call(reqwest::Method::GET, "/health/ready", None, None)
                .await;
            if status == StatusCode::SERVICE_UNAVAILABLE {
                degraded = Some(body);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let body: Value = degraded.expect("readiness stayed green with Redis down");
        assert_eq!(body["components"]["redis"]["status"], "down");
    }
    // Orders keep flowing on instance 1 for several seconds and still reach
    // instance 2's screen.
    for n in 0..20 {
        assert_eq!(
            place(&apps[0], &f, &waiter, format!("during-{n}")).await,
            StatusCode::CREATED
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    redis.resume();
    wait_until_ready(&apps[1]).await;
    for n in 0..20 {
        assert_eq!(
            place(&apps[0], &f, &waiter, format!("after-{n}")).await,
            StatusCode::CREATED
        );
    }
    let got = collect(&mut remote, start, "order.placed", 41).await;
    let placed = got.iter().filter(|(_, k)| k == "order.placed").count();
    assert_eq!(placed, 41);
    remote.assert_alive().await;
    assert!(
        remote.pending_events_of("order.placed").is_empty(),
        "a duplicate arrived"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_resumes_on_another_instance() {
    let redis = PrivateRedis::start();
    let apps = instances(&redis, 3).await;
    let f = floor(&apps[0], "chain").await;
    let (_, chef) = apps[0].staff(&f.t, "chef").await;
    let (_, waiter) = apps[0].staff(&f.t, "waiter").await;
    let (mut reference, ref_start) = expo(&apps[1], &chef).await;
    let (mut screen, start) = expo(&apps[0], &chef).await;
    for n in 0..10 {
        place(&apps[1], &f, &waiter, format!("a{n}")).await;
    }
    let seen = collect(&mut screen, start, "order.placed", 10).await;
    let last = seen.last().unwrap().0;
    drop(screen);
    for n in 0..10 {
        place(&apps[1], &f, &waiter, format!("b{n}")).await;
    }
    // Back on instance 3, with since.
    let mut back = WsClient::connect(&apps[2]).await;
    back.send(json!({ "type": "hello", "token": chef, "since": last }))
        .await;
    let welcome = back.recv().await;
    assert_eq!(welcome["resync_required"], false, "{welcome}");
    for n in 0..5 {
        place(&apps[0], &f, &waiter, format!("c{n}")).await;
    }
    let mut resumed_list = seen.clone();
    resumed_list.extend(collect(&mut back, last, "order.placed", 15).await);
    let reference_list = collect(&mut reference, ref_start, "order.placed", 25).await;
    assert_eq!(resumed_list, reference_list);
}

/// The binary as a second instance on the same database and Redis, which
/// the test can kill outright (SIGKILL: no shutdown, no goodbye).
pub(crate) struct ChildHub {
    child: Child,
    pub(crate) addr: String,
}

impl ChildHub {
    fn start(app: &TestApp, redis: &PrivateRedis) -> ChildHub {
        Self::start_with(app, redis, &[])
    }

    /// Like `start`, with more settings in the child's environment.
    pub(crate) fn start_with(
        app: &TestApp,
        redis: &PrivateRedis,
        env: &[(&str, &str)],
    ) -> ChildHub {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new(env!("CARGO_BIN_EXE_restohub"))
            .env_clear()
            .env("DATABASE_URL", app.db.database_url().unwrap())
            .env("REDIS_URL", redis.url())
            .env(
                "RESTOHUB_JWT_SECRET",
                "test-secret-of-at-least-thirty-two-bytes",
            )
            .env("RESTOHUB_LISTEN", "127.0.0.1:0")
            .env("RESTOHUB_LOG_FORMAT", "json")
            .env("RESTOHUB_EVENT_POLL_MS", "200")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines.next().expect("the child hub exited").unwrap();
            let Ok(log) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if log["message"] == "restohub listening" {
                break log["addr"].as_str().unwrap().to_owned();
            }
        };
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        ChildHub { child, addr }
    }

    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as systemd stops a service: the hub's graceful shutdown.
    pub(crate) fn terminate(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill(2) only sends a signal, to a child this value owns
        // and has not reaped yet, so the pid is still ours.
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(sent, 0, "SIGTERM not sent");
    }

    /// Waits up to `limit` for the process to exit; its status, or None.
    pub(crate) async fn exited(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

impl Drop for ChildHub {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_loses_no_event_and_duplicates_no_order() {
    let redis = PrivateRedis::start();
    let apps = instances(&redis, 1).await;
    let a = &apps[0];
    let f = floor(a, "chain").await;
    let (_, chef) = a.staff(&f.t, "chef").await;
    let (_, waiter) = a.staff(&f.t, "waiter").await;
    let mut b = ChildHub::start(a, &redis);
    let b_base = format!("http://{}", b.addr);
    let (mut reference, ref_start) = expo(a, &chef).await;

    // A kitchen screen on B, welcomed before the first order. A session
    // without `since` gets the events after its welcome's seq; a screen
    // still in its handshake when B commits the first order would rightly
    // never see that order, and the screens could not be compared.
    let (mut screen, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", b.addr))
        .await
        .unwrap();
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    screen
        .send(Message::text(
            json!({ "type": "hello", "token": chef }).to_string(),
        ))
        .await
        .unwrap();
    let welcome: Value = loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), screen.next())
            .await
            .expect("a welcome in time")
            .expect("the screen is still connected")
            .unwrap();
        if let Message::Text(text) = frame {
            break serde_json::from_str(text.as_str()).unwrap();
        }
    };
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let mut last = welcome["seq"].as_u64().unwrap();
    assert_eq!(last, ref_start, "the two screens start at different seqs");
    let mut seen: Vec<(u64, String)> = Vec::new();

    // A waiter's phone on B places orders; B is killed halfway; the phone
    // retries each unanswered order on A with the same key.
    let http = reqwest::Client::new();
    let mut keys = Vec::new();
    for n in 0..60 {
        if n == 30 {
            b.kill();
        }
        let key = format!("phone-{n}");
        let body = json!({ "idempotency_key": key, "table_id": f.t1, "source": "dine_in", "lines": [{ "menu_item_id": f.bread, "qty": 1 }] });
        let on_b = http
            .post(format!("{b_base}/api/v1/orders"))
            .bearer_auth(&waiter)
            .json(&body)
            .send()
            .await;
        let answered = matches!(&on_b, Ok(res) if res.status().is_success());
        if !answered {
            let (status, reply) = a.post("/api/v1/orders", Some(&waiter), body).await;
            assert!(status.is_success(), "{reply}");
        }
        keys.push(key);
    }
    assert_eq!(
        a.store.order_count(f.t.id).await.unwrap(),
        60,
        "a retry duplicated an order"
    );

    // The screen read what B sent before dying...
    while let Some(Ok(frame)) = screen.next().await {
        let Message::Text(text) = frame else {
            continue;
        };
        let e: Value = serde_json::from_str(text.as_str()).unwrap();
        crate::event_schema::check(&e);
        if e["type"] == "event" {
            assert_eq!(e["prev"].as_u64().unwrap(), last);
            last = e["seq"].as_u64().unwrap();
            seen.push((last, e["kind"].as_str().unwrap().to_owned()));
        }
    }
    // ...then reconnects to A with since and gets the rest.
    let mut back = WsClient::connect(a).await;
    back.send(json!({ "type": "hello", "token": chef, "since": last }))
        .await;
    let placed_before = seen.iter().filter(|(_, k)| k == "order.placed").count();
    seen.extend(collect(&mut back, last, "order.placed", 60 - placed_before).await);
    let truth = collect(&mut reference, ref_start, "order.placed", 60).await;
    assert_eq!(seen, truth);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_spans_instances_and_forgets_killed_ones() {
    let redis = PrivateRedis::start();
    let apps = instances(&redis, 1).await;
    let a = &apps[0];
    let f = floor(a, "chain").await;
    let kitchen = format!("kitchen:{}", f.t.id);
    let (mut manager, _) = WsClient::join(a, &f.t.owner).await;
    let before = manager
        .command(json!({ "type": "presence", "room": kitchen }))
        .await;
    assert_eq!(before["members"], json!([]), "{before}");

    // A kitchen screen comes online on another instance.
    let mut b = ChildHub::start(a, &redis);
    let (_, chef) = a.staff(&f.t, "chef").await;
    let mut screen = WsClient::connect_addr(&b.addr).await;
    screen.send(json!({ "type": "hello", "token": chef })).await;
    let welcome = screen.recv().await;
    let session = welcome["session_id"].clone();
    let room = kitchen.clone();
    let joined = manager
        .next_matching(move |f| f["type"] == "presence.joined" && f["room"] == room.as_str())
        .await;
    assert_eq!(joined["member"]["session_id"], session);
    let now = manager
        .command(json!({ "type": "presence", "room": kitchen }))
        .await;
    let ids: Vec<&Value> = now["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["session_id"])
        .collect();
    assert_eq!(ids, [&session], "{now}");

    // That instance is killed: its screen leaves presence within the
    // liveness bound (6 s), without any goodbye.
    b.kill();
    let mut gone = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let list = manager
            .command(json!({ "type": "presence", "room": kitchen }))
            .await;
        if list["members"] == json!([]) {
            gone = true;
            break;
        }
    }
    assert!(gone, "a killed instance's screen stayed present");
}
