//! Resuming with `since`: what a screen missed while away is replayed from
//! the event log, then live events continue with no gap and no duplicate.

use serde_json::{json, Value};

use crate::orders::{floor, Floor};
use crate::support::*;
use crate::ws_client::WsClient;

async fn grill_screen(
    app: &TestApp,
    f: &Floor,
    token: &str,
    since: Option<u64>,
) -> (WsClient, Value) {
    let mut ws = WsClient::connect(app).await;
    let mut hello = json!({ "type": "hello", "token": token, "rooms": [format!("kitchen:{}:{}", f.t.id, f.grill)] });
    if let Some(since) = since {
        hello["since"] = json!(since);
    }
    ws.send(hello).await;
    let welcome = ws.recv().await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    (ws, welcome)
}

async fn place(app: &TestApp, f: &Floor, waiter: &str, key: &str, item: i64) {
    let body = json!({ "idempotency_key": key, "table_id": f.t1, "source": "dine_in", "lines": [{ "menu_item_id": item, "qty": 1 }] });
    assert_eq!(
        app.post("/api/v1/orders", Some(waiter), body).await.0,
        reqwest::StatusCode::CREATED
    );
}

/// Every event already read, as (prev, seq, kind).
async fn received(ws: &mut WsClient) -> Vec<(u64, u64, String)> {
    ws.assert_alive().await;
    let mut out = Vec::new();
    while let Some(e) = ws.take_pending_event() {
        out.push((
            e["prev"].as_u64().unwrap(),
            e["seq"].as_u64().unwrap(),
            e["kind"].as_str().unwrap().to_owned(),
        ));
    }
    out
}

fn seqs(list: &[(u64, u64, String)]) -> Vec<(u64, String)> {
    list.iter().map(|e| (e.1, e.2.clone())).collect()
}

async fn a_reconnecting_screen_misses_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (mut reference, _) = grill_screen(&app, &f, &chef, None).await;
    let (mut screen, welcome) = grill_screen(&app, &f, &chef, None).await;
    assert!(welcome["rooms"]
        .as_array()
        .unwrap()
        .contains(&json!(format!("kitchen:{}:{}", f.t.id, f.grill))));

    // Two orders while connected: both screens agree.
    place(&app, &f, &waiter, "a", f.steak).await;
    place(&app, &f, &waiter, "b", f.wine).await;
    let so_far = received(&mut screen).await;
    assert_eq!(seqs(&so_far), seqs(&received(&mut reference).await));
    let last = so_far.last().unwrap().1;
    drop(screen);

    // Away: three more orders; the reference sees them.
    for (key, item) in [("c", f.burger), ("d", f.wine), ("e", f.steak)] {
        place(&app, &f, &waiter, key, item).await;
    }
    let missed = received(&mut reference).await;
    assert!(missed.len() >= 5, "{missed:?}");

    // Back, with since: the replay is exactly what was missed.
    let (mut screen, welcome) = grill_screen(&app, &f, &chef, Some(last)).await;
    assert_eq!(welcome["resync_required"], false);
    let now = welcome["seq"].as_u64().unwrap();
    let mut replayed = Vec::new();
    loop {
        let frame = screen.recv().await;
        match frame["type"].as_str() {
            Some("event") => replayed.push((
                frame["prev"].as_u64().unwrap(),
                frame["seq"].as_u64().unwrap(),
                frame["kind"].as_str().unwrap().to_owned(),
            )),
            Some("resumed") => {
                assert_eq!(
                    (frame["since"].as_u64(), frame["seq"].as_u64()),
                    (Some(last), Some(now))
                );
                assert_eq!(frame["replayed"].as_u64(), Some(replayed.len() as u64));
                break;
            }
            _ => {}
        }
    }
    assert_eq!(seqs(&replayed), seqs(&missed));
    let chained: Vec<u64> = std::iter::once(last)
        .chain(replayed.iter().map(|e| e.1))
        .collect();
    assert_eq!(
        replayed.iter().map(|e| e.0).collect::<Vec<_>>(),
        chained[..replayed.len()],
        "prev chains from since"
    );

    // Live again, continuing from the resumed seq, the same as the reference.
    place(&app, &f, &waiter, "f", f.steak).await;
    let live = received(&mut screen).await;
    assert_eq!(
        live[0].0, now,
        "the first live event follows the resumed seq"
    );
    assert_eq!(seqs(&live), seqs(&received(&mut reference).await));
}

async fn a_screen_too_far_behind_is_told_to_resync(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    place(&app, &f, &waiter, "a", f.steak).await;
    place(&app, &f, &waiter, "b", f.steak).await;
    app.store.prune_events(i64::MAX).await.unwrap();
    let (mut screen, welcome) = grill_screen(&app, &f, &chef, Some(1)).await;
    assert_eq!(welcome["resync_required"], true, "{welcome}");
    screen.assert_alive().await;
    assert!(
        screen.no_pending_events(),
        "nothing is replayed on a resync"
    );
    // A client already up to date resumes with nothing to replay.
    let seq = welcome["seq"].as_u64().unwrap();
    let (mut current, welcome) = grill_screen(&app, &f, &chef, Some(seq)).await;
    assert_eq!(welcome["resync_required"], false);
    let resumed = current.next_of("resumed").await;
    assert_eq!(resumed["replayed"], 0);
}

/// An order committed by an instance that died before publishing (here:
/// written to storage directly, with nothing after it) reaches the screens
/// within the poll interval.
async fn a_commit_nobody_published_arrives_by_polling(backend: Backend) {
    let app = TestApp::spawn_with(backend, &["--event-poll-ms", "100"]).await;
    let f = floor(&app, "bistro").await;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let (mut expo, welcome) = WsClient::join(&app, &chef).await;
    let start = welcome["seq"].as_u64().unwrap();
    let kitchen = vec![restohub_protocol::ws::Room::Kitchen(f.t.id)];
    let occupied = restohub_protocol::events::TableStatusChanged {
        table_id: f.t1,
        from: restohub_protocol::api::tables::TableStatus::Free,
        status: restohub_protocol::api::tables::TableStatus::Occupied,
    };
    let drafts = vec![restohub::storage::EventDraft::new(kitchen, occupied)];
    app.store.append_events(f.t.id, drafts, T0).await.unwrap();
    let e = expo.next_of("event").await;
    assert_eq!(
        (e["seq"].as_u64(), e["prev"].as_u64()),
        (Some(start + 1), Some(start))
    );
}

/// A screen cut off as a slow consumer resumes with since and loses nothing.
async fn a_slow_consumer_resumes_without_loss(backend: Backend) {
    let app = TestApp::spawn_with(backend, &["--ws-queue", "8"]).await;
    let f = floor(&app, "bistro").await;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let (mut sleeper, welcome) = grill_screen(&app, &f, &chef, None).await;
    let start = welcome["seq"].as_u64().unwrap();
    // Large kitchen events, committed to the log and published, while the
    // sleeper reads nothing, until it is cut off.
    let pad = "x".repeat(16 * 1024);
    let mut n = 0;
    while app
        .node
        .stats
        .slow_consumers
        .load(std::sync::atomic::Ordering::Relaxed)
        == 0
    {
        n += 1;
        assert!(n < 5000, "never cut off");
        let big = restohub_protocol::events::WaiterCalled {
            table_id: n as i64,
            label: pad.clone(),
            by: restohub_protocol::Role::Waiter,
        };
        let draft = restohub::storage::EventDraft::new(
            vec![restohub_protocol::ws::Room::Kitchen(f.t.id)],
            big,
        );
        let events = app
            .store
            .append_events(f.t.id, vec![draft], T0)
            .await
            .unwrap();
        app.node.publish(events);
    }
    // It reads what it had, up to the cut.
    let mut got: Vec<(u64, String)> = Vec::new();
    let mut last = start;
    loop {
        match tokio::time::timeout(
            std::time::Duration::from_secs(10),
            futures::StreamExt::next(&mut sleeper.stream),
        )
        .await
        {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t)))) => {
                let e: Value = serde_json::from_str(t.as_str()).unwrap();
                crate::event_schema::check(&e);
                if e["type"] == "event" {
                    assert_eq!(e["prev"].as_u64().unwrap(), last);
                    last = e["seq"].as_u64().unwrap();
                    got.push((last, e["kind"].as_str().unwrap().to_owned()));
                }
            }
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))))
            | Ok(None)
            | Ok(Some(Err(_))) => break,
            Ok(Some(Ok(_))) => {}
            Err(_) => panic!("the cut-off connection did not end"),
        }
    }
    assert!((got.len() as u64) < n, "it was cut off before the end");
    // Resume: the rest comes from the log; together, every event exactly once.
    let (mut back, _) = grill_screen(&app, &f, &chef, Some(last)).await;
    let mut replayed = 0;
    loop {
        let frame = back.recv().await;
        if frame["type"] == "resumed" {
            assert_eq!(frame["replayed"].as_u64(), Some(replayed));
            break;
        }
        if frame["type"] == "event" {
            assert_eq!(frame["prev"].as_u64().unwrap(), last);
            last = frame["seq"].as_u64().unwrap();
            got.push((last, frame["kind"].as_str().unwrap().to_owned()));
            replayed += 1;
        }
    }
    let truth: Vec<(u64, String)> = app
        .store
        .events_between(f.t.id, start, u64::MAX >> 1, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.kind))
        .collect();
    assert_eq!(got.len() as u64, n);
    assert_eq!(got, truth);
}

crate::both_backends!(
    a_slow_consumer_resumes_without_loss,
    a_reconnecting_screen_misses_nothing,
    a_screen_too_far_behind_is_told_to_resync,
    a_commit_nobody_published_arrives_by_polling,
);
