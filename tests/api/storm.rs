//! Reconnect storms: handshakes are admitted a few at a time, the rest told
//! when to come back (1013 with `retry_after_ms`), a hello whose client left
//! costs nothing, and the screens of a killed instance resume on the others
//! with nothing missed and presence exact.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::orders::floor;
use crate::scale::{ChildHub, PrivateRedis};
use crate::support::*;
use crate::ws_client::{retry_after_ms, WsClient};

/// A frame the client sent right after its hello, before the welcome, is
/// answered after the welcome rather than lost.
async fn a_command_sent_before_the_welcome_is_answered_after_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("bistro").await;
    let mut ws = WsClient::connect(&app).await;
    ws.send(json!({ "type": "hello", "token": t.owner })).await;
    ws.send(json!({ "type": "ping", "id": 7 })).await;
    let welcome = ws.recv().await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let reply = ws.reply_to(json!(7)).await;
    assert_ne!(reply["type"], "error", "{reply}");
}

async fn hello(app: &TestApp, token: &str) -> WsClient {
    let mut ws = WsClient::connect(app).await;
    ws.send(json!({ "type": "hello", "token": token })).await;
    ws
}

async fn shed(app: &TestApp, reason: &str) -> f64 {
    let body = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let wanted = format!("restohub_ws_handshakes_shed_total{{reason=\"{reason}\"}} ");
    body.lines()
        .find_map(|l| l.strip_prefix(&wanted))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// One turn and a queue of one: while the turn's handshake is held at the
/// database (the accounts table locked), the next hello waits and the one
/// after is refused at once with 1013 and a retry-after. The waiting
/// client gives up and closes: its handshake is dropped without reading
/// anything (counted as gone). Once the database answers, the first is
/// welcomed and new hellos are served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_past_the_queue_are_told_when_to_retry() {
    let app = TestApp::spawn_with(
        Backend::Postgres,
        &["--ws-handshakes", "1", "--ws-handshake-queue", "1"],
    )
    .await;
    let t = app.tenant("bistro").await;
    let (_, chef) = app.staff(&t, "chef").await;
    let lock = lock_users(&app).await;
    let mut held = hello(&app, &chef).await;
    // The held handshake reaches the database before the next one queues.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waiting = hello(&app, &chef).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let mut refused = hello(&app, &chef).await;
    let (code, reason) = refused.close_frame().await;
    assert_eq!(code, 1013, "{reason}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once"
    );
    let after = retry_after_ms(&reason).unwrap_or_else(|| panic!("no retry-after in {reason:?}"));
    assert!((500..=30_000).contains(&after), "{after}");
    assert_eq!(shed(&app, "busy").await, 1.0);
    // The waiting client leaves; its handshake stops there.
    drop(waiting);
    for _ in 0..100 {
        if shed(&app, "gone").await == 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(shed(&app, "gone").await, 1.0);
    lock.rollback().await.unwrap();
    assert_eq!(held.recv().await["type"], "welcome");
    let (mut next, _) = WsClient::join(&app, &chef).await;
    next.assert_alive().await;
    held.assert_alive().await;
}

/// With two database connections, a hub asked for four handshakes at once
/// works one: while that one is held at the database (the users table
/// locked), an order is still placed on the other connection, and the
/// next hello is refused at once (no queue) instead of taking that
/// connection too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_leave_orders_a_database_connection() {
    let app = TestApp::spawn_with(
        Backend::Postgres,
        &[
            "--db-max-connections",
            "2",
            "--ws-handshakes",
            "4",
            "--ws-handshake-queue",
            "0",
        ],
    )
    .await;
    let f = floor(&app, "bistro").await;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let lock = lock_users(&app).await;
    let mut held = hello(&app, &chef).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (code, reason) = hello(&app, &chef).await.close_frame().await;
    assert_eq!(code, 1013, "a second handshake worked: {reason}");
    let body = json!({ "idempotency_key": "during", "source": "takeaway",
                       "lines": [{ "menu_item_id": f.bread, "qty": 1 }] });
    let (status, reply) = app.post("/api/v1/orders", Some(&f.t.owner), body).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{reply}");
    lock.rollback().await.unwrap();
    assert_eq!(held.recv().await["type"], "welcome");
}

/// Holds the `users` table locked (a handshake's account read waits on it)
/// until the transaction is rolled back or dropped.
async fn lock_users(app: &TestApp) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let pool = sqlx::PgPool::connect(&app.db.database_url().unwrap())
        .await
        .unwrap();
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    lock
}

/// A screen's session: its id, the rooms' last seq it has, and the socket.
struct Screen {
    ws: WsClient,
    session: String,
    last: u64,
    /// The seq of the last event it received.
    last_event: u64,
}

/// Connects to `addr` with `since`, retrying (to the other address in
/// turn) after each refusal as a client should: after the retry-after the
/// hub gave. Returns the screen and how many refusals it met.
async fn resume_somewhere(addrs: &[String], token: &str, since: u64, n: usize) -> (Screen, u32) {
    let mut refusals = 0;
    for attempt in 0..50 {
        let addr = &addrs[(n + attempt) % addrs.len()];
        let mut ws = WsClient::connect_addr(addr).await;
        ws.send(json!({ "type": "hello", "token": token, "since": since }))
            .await;
        match ws.stream.next().await {
            Some(Ok(Message::Text(text))) => {
                let welcome: Value = serde_json::from_str(text.as_str()).unwrap();
                assert_eq!(welcome["type"], "welcome", "{welcome}");
                assert_eq!(welcome["resync_required"], false);
                let session = welcome["session_id"].as_str().unwrap().to_owned();
                let screen = Screen {
                    ws,
                    session,
                    last: since,
                    last_event: since,
                };
                return (screen, refusals);
            }
            Some(Ok(Message::Close(Some(frame)))) => {
                let code = u16::from(frame.code);
                assert!(code == 1013 || code == 4029, "refused with {code}");
                refusals += 1;
                let after = retry_after_ms(&frame.reason).unwrap_or(200);
                tokio::time::sleep(Duration::from_millis(after.min(1000))).await;
            }
            other => panic!("expected a welcome or a close, got {other:?}"),
        }
    }
    panic!("never resumed");
}

/// Reads a screen's events until it has `upto` or nothing came for a
/// second (the log's last events may be for rooms it is not in), checking
/// the chain: every event's `prev` is the last seq before it (nothing
/// missed, nothing twice, nothing out of order).
async fn follow(screen: &mut Screen, upto: u64) {
    while screen.last < upto {
        let quiet = Duration::from_secs(1);
        let Ok(frame) = tokio::time::timeout(quiet, screen.ws.recv()).await else {
            return;
        };
        if frame["type"] == "resumed" {
            // Live events chain on from the replay's end (PROTOCOL.md 9.7).
            screen.last = screen.last.max(frame["seq"].as_u64().unwrap());
        }
        if frame["type"] != "event" {
            continue;
        }
        let (prev, seq) = (
            frame["prev"].as_u64().unwrap(),
            frame["seq"].as_u64().unwrap(),
        );
        assert_eq!(prev, screen.last, "a gap or a duplicate: {frame}");
        assert!(seq > prev);
        screen.last = seq;
        screen.last_event = seq;
    }
}

/// A miniature storm: 40 kitchen screens (8 chef accounts) on an instance
/// that is killed while orders are placed; they resume on two others, which
/// admit one handshake at a time with no queue, so many are refused
/// with 1013 and come back when told. Every screen then has every kitchen
/// event exactly once, in order, and the presence list seen from either
/// survivor is exactly the resumed screens (and the watcher's own kitchen
/// nothing of the killed instance).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instances_screens_resume_elsewhere_and_presence_is_exact() {
    let redis = PrivateRedis::start();
    let url = redis.url();
    let args = [
        "--redis-url",
        url.as_str(),
        "--event-poll-ms",
        "200",
        "--ws-handshakes",
        "1",
        "--ws-handshake-queue",
        "0",
        "--account-write-rate-limit",
        "0",
        "--restaurant-write-rate-limit",
        "0",
    ];
    let a = TestApp::spawn_with(Backend::Postgres, &args).await;
    let c = a.sibling_with(&args).await;
    crate::health::wait_until_ready(&a).await;
    crate::health::wait_until_ready(&c).await;
    let f = floor(&a, "storm").await;
    let kitchen = format!("kitchen:{}", f.t.id);
    let mut b = ChildHub::start_with(
        &a,
        &redis,
        &[("RESTOHUB_WS_MAX_CONNECTIONS_PER_USER", "100")],
    );
    let mut chefs = Vec::new();
    for _ in 0..8 {
        chefs.push(a.staff(&f.t, "chef").await.1);
    }
    let mut screens = Vec::new();
    for i in 0..40 {
        let mut ws = WsClient::connect_addr(&b.addr).await;
        ws.send(json!({ "type": "hello", "token": chefs[i % 8] }))
            .await;
        let welcome = ws.recv().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        screens.push(Screen {
            ws,
            session: welcome["session_id"].as_str().unwrap().to_owned(),
            last: welcome["seq"].as_u64().unwrap(),
            last_event: 0,
        });
    }
    let (base, http, owner, table, bread) = (
        a.base.clone(),
        a.http.clone(),
        f.t.owner.clone(),
        f.t1,
        f.bread,
    );
    let place = move |key: String| {
        let body = json!({ "idempotency_key": key, "table_id": table, "source": "dine_in",
                           "lines": [{ "menu_item_id": bread, "qty": 1 }] });
        let (base, http, token) = (base.clone(), http.clone(), owner.clone());
        async move {
            let res = http
                .post(format!("{base}/api/v1/orders"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), reqwest::StatusCode::CREATED);
        }
    };
    for n in 0..3 {
        place(format!("before-{n}")).await;
    }
    let upto = a.store.current_seq(f.t.id).await.unwrap();
    futures::future::join_all(screens.iter_mut().map(|s| follow(s, upto))).await;
    let before = screens[0].last_event;
    b.kill();
    // Orders go on while the screens come back.
    let ordering = {
        let place = place.clone();
        tokio::spawn(async move {
            for n in 0..10 {
                place(format!("during-{n}")).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let addrs = [a.addr.to_string(), c.addr.to_string()];
    let resuming = screens.into_iter().enumerate().map(|(n, old)| {
        let (token, addrs) = (chefs[n % 8].clone(), addrs.clone());
        tokio::spawn(async move { resume_somewhere(&addrs, &token, old.last, n).await })
    });
    let mut resumed = Vec::new();
    let mut refusals = 0;
    for task in resuming.collect::<Vec<_>>() {
        let (screen, refused) = task.await.unwrap();
        refusals += refused;
        resumed.push(screen);
    }
    ordering.await.unwrap();
    assert!(refusals > 0, "one turn and no queue refused nobody?");
    let upto = a.store.current_seq(f.t.id).await.unwrap();
    futures::future::join_all(resumed.iter_mut().map(|s| follow(s, upto))).await;
    // Every screen has every kitchen event: they all end at the same one,
    // past those placed while they were away.
    let ends: BTreeSet<u64> = resumed.iter().map(|s| s.last_event).collect();
    assert_eq!(ends.len(), 1, "screens ended at different seqs: {ends:?}");
    assert!(
        ends.into_iter().next().unwrap() > before,
        "nothing after the kill?"
    );
    // Once the killed instance's liveness has expired (6 s), each
    // survivor's list is exactly the resumed screens.
    let expected: BTreeSet<String> = resumed.iter().map(|s| s.session.clone()).collect();
    for app in [&a, &c] {
        let (mut watcher, _) = WsClient::join(app, &f.t.owner).await;
        let mut exact = false;
        let mut last = Value::Null;
        for _ in 0..40 {
            last = watcher
                .command(json!({ "type": "presence", "room": kitchen }))
                .await;
            let members: BTreeSet<String> = last["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["session_id"].as_str().unwrap().to_owned())
                .collect();
            if members == expected {
                exact = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert!(exact, "presence never matched the resumed screens: {last}");
    }
    for mut screen in resumed {
        screen.ws.assert_alive().await;
    }
}

crate::both_backends!(a_command_sent_before_the_welcome_is_answered_after_it);
