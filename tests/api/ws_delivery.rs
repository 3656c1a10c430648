//! Delivery: events reach the sessions in their rooms once each, in order,
//! with `prev` chaining what each session was sent; a client that stops
//! reading is cut off without holding up anyone else.

use restohub::events::Event;
use restohub_protocol::events::WaiterCalled;
use restohub_protocol::ws::Room;
use restohub_protocol::Role;
use serde_json::json;

use crate::support::*;
use crate::ws_client::WsClient;

/// A real kind of event (a waiter called to "table" `seq`, labelled
/// `label`), delivered straight to the node with the given seq.
fn event(restaurant: i64, seq: u64, rooms: Vec<Room>, label: &str) -> Event {
    let call = WaiterCalled {
        table_id: seq as i64,
        label: label.to_owned(),
        by: Role::Waiter,
    };
    Event {
        restaurant_id: restaurant,
        seq,
        kind: WaiterCalled::KIND.into(),
        at: T0 + seq as i64,
        rooms,
        data: serde_json::value::to_raw_value(&call).unwrap(),
    }
}

/// Reads `n` events and returns (prev, seq) pairs.
async fn events(ws: &mut WsClient, n: usize) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let e = ws.next_of("event").await;
        out.push((e["prev"].as_u64().unwrap(), e["seq"].as_u64().unwrap()));
    }
    out
}

async fn events_arrive_once_in_order_with_prev(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("bistro").await;
    let r = t.id;
    let grill = app
        .create(&t, "/api/v1/stations", json!({ "name": "Grill" }))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut chef = WsClient::staff(&app, &t, "chef").await;
    assert_eq!(
        chef.subscribe(&format!("kitchen:{r}:{grill}")).await["type"],
        "ack"
    );
    let mut waiter = WsClient::staff(&app, &t, "waiter").await;
    let other = app.tenant("other").await;
    let (mut stranger, _) = WsClient::join(&app, &other.owner).await;

    let kitchen_and_grill = vec![Room::Kitchen(r), Room::Station(r, grill)];
    app.node
        .deliver(&event(r, 1, kitchen_and_grill.clone(), "T1"));
    app.node
        .deliver(&event(r, 2, vec![Room::Restaurant(r)], "T2"));
    app.node.deliver(&event(r, 3, kitchen_and_grill, "T3"));
    app.node.deliver(&event(
        r,
        4,
        vec![
            Room::Restaurant(r),
            Room::Role(r, restohub_protocol::Role::Waiter),
        ],
        "T4",
    ));

    // The chef is in restaurant, kitchen and its station: 1 and 3 once each,
    // 2 and 4 via the restaurant room; each prev is the previous seq sent.
    assert_eq!(events(&mut chef, 4).await, [(0, 1), (1, 2), (2, 3), (3, 4)]);
    // The waiter is not in the kitchen: 2 and 4 only, and prev says so.
    assert_eq!(events(&mut waiter, 2).await, [(0, 2), (2, 4)]);
    // Nothing leaks to another restaurant, and nobody got a duplicate.
    stranger.assert_alive().await;
    chef.assert_alive().await;
    assert!(chef.no_pending_events(), "chef got a duplicate");
    assert!(stranger.no_pending_events());

    // A late joiner is told the current seq, and its first prev is it.
    let (mut late, welcome) = WsClient::join(&app, &t.owner).await;
    assert_eq!(welcome["seq"], 4);
    app.node
        .deliver(&event(r, 5, vec![Room::Restaurant(r)], "T5"));
    let e = late.next_of("event").await;
    assert_eq!(
        (e["prev"].as_u64(), e["seq"].as_u64(), e["kind"].as_str()),
        (Some(4), Some(5), Some("table.waiter_called"))
    );
    assert_eq!(
        e["data"],
        json!({ "table_id": 5, "label": "T5", "by": "waiter" })
    );
    assert_eq!(
        e["at"],
        restohub_protocol::Timestamp(T0 + 5).to_rfc3339().as_str()
    );
}

/// Writes and frames written to clients so far, from the hub's metrics.
async fn writes_and_frames(app: &TestApp) -> (f64, f64) {
    let text = crate::metrics::scrape(app).await;
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (
        value("restohub_ws_writes_total"),
        value("restohub_ws_frames_sent_total"),
    )
}

/// With a coalescing window, frames that come sooner than the window after
/// a session's last write wait and leave together: still every event once,
/// in order, `prev` chained, to exactly the sessions of its rooms — and a
/// session writes at most once per window.
async fn coalesced_writes_keep_every_event_once_in_order(backend: Backend) {
    const WINDOW_MS: u64 = 40;
    let window = WINDOW_MS.to_string();
    let app = TestApp::spawn_with(backend, &["--ws-coalesce-ms", &window]).await;
    let t = app.tenant("bistro").await;
    let r = t.id;
    let mut chef = WsClient::staff(&app, &t, "chef").await;
    let mut waiter = WsClient::staff(&app, &t, "waiter").await;
    let (writes_before, frames_before) = writes_and_frames(&app).await;
    let started = std::time::Instant::now();
    let n = 60u64;
    for seq in 1..=n {
        // Every third event is the kitchen's only: the waiter's prev skips it.
        let rooms = if seq % 3 == 0 {
            vec![Room::Kitchen(r)]
        } else {
            vec![Room::Restaurant(r)]
        };
        app.node.deliver(&event(r, seq, rooms, "T"));
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let chef_got = events(&mut chef, n as usize).await;
    let want: Vec<(u64, u64)> = (1..=n).map(|s| (s - 1, s)).collect();
    assert_eq!(chef_got, want);
    let waiter_seqs: Vec<u64> = (1..=n).filter(|s| s % 3 != 0).collect();
    let waiter_got = events(&mut waiter, waiter_seqs.len()).await;
    let mut prev = 0;
    for ((p, s), want) in waiter_got.iter().zip(&waiter_seqs) {
        assert_eq!((*p, *s), (prev, *want));
        prev = *s;
    }
    let elapsed = started.elapsed();
    chef.assert_alive().await;
    waiter.assert_alive().await;
    assert!(chef.no_pending_events(), "the chef got a duplicate");
    assert!(waiter.no_pending_events(), "the waiter got a duplicate");
    // Each of the two sessions wrote at most once per window (plus the
    // first write, and the pongs' replies are not frames of the queue).
    let (writes, frames) = writes_and_frames(&app).await;
    let (writes, frames) = (writes - writes_before, frames - frames_before);
    let per_session_bound = elapsed.as_millis() as f64 / WINDOW_MS as f64 + 2.0;
    assert!(frames >= (n as usize + waiter_seqs.len()) as f64);
    assert!(
        writes <= 2.0 * per_session_bound,
        "{writes} writes for {frames} frames in {elapsed:?}: not coalesced"
    );
}

/// A client that stops reading is cut off with a coalescing window too.
async fn a_client_that_stops_reading_is_cut_off_alone_when_coalescing(backend: Backend) {
    cut_off_alone(backend, &["--ws-queue", "16", "--ws-coalesce-ms", "20"]).await;
}

async fn a_client_that_stops_reading_is_cut_off_alone(backend: Backend) {
    cut_off_alone(backend, &["--ws-queue", "16"]).await;
}

async fn cut_off_alone(backend: Backend, args: &[&str]) {
    let app = TestApp::spawn_with(backend, args).await;
    let t = app.tenant("bistro").await;
    let r = t.id;
    let (_, waiter) = app.staff(&t, "waiter").await;
    let (mut reader, _) = WsClient::join(&app, &t.owner).await;
    let (mut sleeper, _) = WsClient::join(&app, &waiter).await;
    let big = "x".repeat(8 * 1024);

    let mut seq = 0;
    while app
        .node
        .stats
        .slow_consumers
        .load(std::sync::atomic::Ordering::Relaxed)
        == 0
    {
        seq += 1;
        assert!(seq < 20_000, "the sleeper was never cut off");
        app.node
            .deliver(&event(r, seq, vec![Room::Restaurant(r)], &big));
        // The reader keeps up: it has every event so far, in order.
        let e = reader.next_of("event").await;
        assert_eq!(e["seq"], seq);
    }
    // The bound held: no session ever had more than its queue's worth waiting.
    let depth = app
        .node
        .stats
        .max_queue_depth
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(depth <= 16, "a queue held {depth} frames");
    // The sleeper's connection ends (with the slow-consumer code if the
    // close frame fits in its full socket), after at most what was queued.
    let mut received = 0;
    let ended = loop {
        match tokio::time::timeout(
            std::time::Duration::from_secs(10),
            futures::StreamExt::next(&mut sleeper.stream),
        )
        .await
        {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(_)))) => received += 1,
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame)))) => {
                break frame.map(|f| u16::from(f.code))
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => break None,
            Err(_) => panic!("the sleeper's connection did not end"),
        }
    };
    assert!(
        ended.is_none() || ended == Some(4030),
        "closed with {ended:?}"
    );
    assert!(
        received < seq as usize,
        "the sleeper got everything ({received} of {seq})"
    );
    // The reader is unaffected and still receives.
    app.node
        .deliver(&event(r, seq + 1, vec![Room::Restaurant(r)], "T"));
    assert_eq!(reader.next_of("event").await["seq"], seq + 1);
}

crate::both_backends!(
    events_arrive_once_in_order_with_prev,
    a_client_that_stops_reading_is_cut_off_alone,
    coalesced_writes_keep_every_event_once_in_order,
    a_client_that_stops_reading_is_cut_off_alone_when_coalescing
);
