//! Resuming with `since`: what a screen missed while away is replayed from
//! the event log, then live events continue with no gap and no duplicate.

use futures::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use restohub::storage::EventDraft;
use restohub_protocol::ws::Room;

use crate::orders::{floor, Floor};
use crate::support::*;
use crate::ws_client::{retry_after_ms, Ended, WsClient};

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

/// A waiter call at `table`, addressed to `rooms`.
fn called(rooms: Vec<Room>, table: i64, label: String) -> EventDraft {
    let call = restohub_protocol::events::WaiterCalled {
        table_id: table,
        label,
        by: restohub_protocol::Role::Guest,
    };
    EventDraft::new(rooms, call)
}

/// Logs `drafts` and hands them to live delivery, as a commit would.
async fn log(
    app: &TestApp,
    restaurant: i64,
    drafts: Vec<EventDraft>,
) -> Vec<restohub::events::Event> {
    let events = app
        .store
        .append_events(restaurant, drafts, T0)
        .await
        .unwrap();
    app.node.publish(events.clone());
    events
}

/// Says hello with `since` (and `headers` on the upgrade) and returns the
/// connection without reading anything.
async fn resume(
    app: &TestApp,
    headers: &[(&'static str, &str)],
    token: &str,
    since: u64,
) -> WsClient {
    let mut ws = WsClient::connect_with(app, headers).await.unwrap();
    ws.send(json!({ "type": "hello", "token": token, "since": since }))
        .await;
    ws
}

/// The frames up to `resumed`: the events as (prev, seq), and `resumed`.
async fn replayed(ws: &mut WsClient) -> (Vec<(u64, u64)>, Value) {
    let mut events = Vec::new();
    loop {
        let frame = ws.recv().await;
        match frame["type"].as_str() {
            Some("event") => events.push((
                frame["prev"].as_u64().unwrap(),
                frame["seq"].as_u64().unwrap(),
            )),
            Some("resumed") => return (events, frame),
            Some("welcome") => assert_eq!(frame["resync_required"], false, "{frame}"),
            _ => {}
        }
    }
}

/// A guest resuming from seq 1 over a log of 10,500 events for other rooms
/// gets exactly its table's few events, chained from 1; a table with none
/// gets `resumed` with nothing; a kitchen screen, whose rooms had more than
/// 10,000 events since, is told to resync.
async fn a_resume_replays_only_its_rooms_out_of_a_long_log(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let r = f.t.id;
    let quiet = app
        .create(&f.t, "/api/v1/tables", json!({ "label": "T9", "seats": 2 }))
        .await;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let kitchen = || vec![Room::Kitchen(r)];
    let table = Room::Table(r, f.t1);
    for batch in 0..21 {
        let mut drafts: Vec<EventDraft> = (0..500)
            .map(|i| called(kitchen(), f.t2, format!("k{batch}-{i}")))
            .collect();
        if batch % 7 == 3 {
            drafts.insert(250, called(vec![table], f.t1, format!("t{batch}")));
        }
        log(&app, r, drafts).await;
    }
    let now = app.store.current_seq(r).await.unwrap();
    let truth: Vec<u64> = app
        .store
        .events_between(r, 1, now, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.rooms.contains(&table))
        .map(|e| e.seq)
        .collect();
    assert!(truth.len() >= 3 && now > 10_001, "{truth:?} of {now}");

    let guest = app.guest_token(&f.t1_code).await;
    for _ in 0..3 {
        let mut ws = resume(&app, &[], &guest, 1).await;
        let (events, resumed) = replayed(&mut ws).await;
        assert_eq!(
            events.iter().map(|e| e.1).collect::<Vec<_>>(),
            truth,
            "exactly the table's events"
        );
        let chain: Vec<u64> = std::iter::once(1).chain(truth.iter().copied()).collect();
        assert_eq!(
            events.iter().map(|e| e.0).collect::<Vec<_>>(),
            chain[..truth.len()],
            "prev chains from since"
        );
        assert_eq!(
            (resumed["since"].as_u64(), resumed["seq"].as_u64()),
            (Some(1), Some(now))
        );
        assert_eq!(resumed["replayed"].as_u64(), Some(truth.len() as u64));
        ws.assert_alive().await;
    }

    let nobody = app.guest_token(quiet["guest_code"].as_str().unwrap()).await;
    let mut ws = resume(&app, &[], &nobody, 1).await;
    let (events, resumed) = replayed(&mut ws).await;
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(resumed["replayed"], 0);

    let mut screen = resume(&app, &[], &chef, 1).await;
    let welcome = screen.recv().await;
    assert_eq!(welcome["resync_required"], true, "{welcome}");
    screen.assert_alive().await;
    assert!(screen.no_pending_events(), "nothing replayed on a resync");
}

/// Kitchen events big enough that a resume replaying them to a client that
/// reads nothing stays blocked on its socket; returns the seq before them.
async fn a_long_replay_for_the_kitchen(app: &TestApp, f: &Floor) -> u64 {
    let start = app.store.current_seq(f.t.id).await.unwrap();
    let pad = "x".repeat(24 * 1024);
    for _ in 0..8 {
        let drafts = (0..100)
            .map(|_| called(vec![Room::Kitchen(f.t.id)], f.t1, pad.clone()))
            .collect();
        log(app, f.t.id, drafts).await;
    }
    start
}

/// Resumes in progress are limited per account: a third resume of the same
/// chef account waits, then is closed with 4029, while another account
/// resumes and the same account still connects without `since`; once the
/// replays end, the account resumes again.
async fn resumes_at_once_are_limited_per_account(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            "--ws-resumes-per-account",
            "2",
            "--ws-resumes-per-address",
            "100",
        ],
    )
    .await;
    let f = floor(&app, "bistro").await;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let (_, other) = app.staff(&f.t, "chef").await;
    let start = a_long_replay_for_the_kitchen(&app, &f).await;
    let mut stuck = Vec::new();
    for _ in 0..2 {
        let mut ws = resume(&app, &[], &chef, start).await;
        assert_eq!(ws.recv().await["type"], "welcome");
        stuck.push(ws);
    }
    let mut third = resume(&app, &[], &chef, start).await;
    let (code, reason) = third.close_frame().await;
    assert_eq!(
        (code, reason.as_str()),
        (4029, "retry_after_ms=1000"),
        "refused with when to come back"
    );
    let (mut plain, _) = WsClient::join(&app, &chef).await;
    plain.assert_alive().await;
    let mut theirs = resume(&app, &[], &other, start).await;
    assert_eq!(theirs.recv().await["type"], "welcome");
    drop((stuck, theirs));
    let now = app.store.current_seq(f.t.id).await.unwrap();
    let mut again = resume(&app, &[], &chef, now).await;
    let (events, resumed) = replayed(&mut again).await;
    assert_eq!((events.len(), resumed["replayed"].as_u64()), (0, Some(0)));
}

/// Resumes in progress are limited per client address, the address the
/// trusted proxy saw (not an entry the client wrote): other accounts from
/// the same address are refused, another address is not.
async fn resumes_at_once_are_limited_per_address(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            "--ws-resumes-per-account",
            "100",
            "--ws-resumes-per-address",
            "2",
            "--client-ip-header",
            "x-forwarded-for",
        ],
    )
    .await;
    let f = floor(&app, "bistro").await;
    let start = a_long_replay_for_the_kitchen(&app, &f).await;
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    let mut stuck = Vec::new();
    for _ in 0..2 {
        let (_, chef) = app.staff(&f.t, "chef").await;
        let mut ws = resume(&app, &from("203.0.113.7"), &chef, start).await;
        assert_eq!(ws.recv().await["type"], "welcome");
        stuck.push(ws);
    }
    let (_, chef) = app.staff(&f.t, "chef").await;
    let forged = from("198.51.100.1, 203.0.113.7");
    let mut third = resume(&app, &forged, &chef, start).await;
    assert_eq!(third.ended().await, Ended::Closed(4029));
    let mut elsewhere = resume(&app, &from("203.0.113.8"), &chef, start).await;
    assert_eq!(elsewhere.recv().await["type"], "welcome");
}

/// A replay the client does not read is cut off after three heartbeat
/// intervals, so a client that never reads cannot hold its account's resume
/// slot: the next resume of the account gets it.
async fn a_replay_nobody_reads_frees_its_slot(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &["--ws-heartbeat-ms", "300", "--ws-resumes-per-account", "1"],
    )
    .await;
    let f = floor(&app, "bistro").await;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let start = a_long_replay_for_the_kitchen(&app, &f).await;
    let mut stuck = resume(&app, &[], &chef, start).await;
    assert_eq!(stuck.recv().await["type"], "welcome");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let now = app.store.current_seq(f.t.id).await.unwrap();
    let mut next = resume(&app, &[], &chef, now).await;
    let (events, resumed) = replayed(&mut next).await;
    assert_eq!((events.len(), resumed["replayed"].as_u64()), (0, Some(0)));
    drop(stuck);
}

/// How often one account starts resumes is paced (a burst of 20, then 10 a
/// second): a loop of resumes on one token is slowed down, not refused,
/// and another account is not held up by it.
async fn resumes_of_one_account_are_paced(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let (_, other) = app.staff(&f.t, "chef").await;
    let now = app.store.current_seq(f.t.id).await.unwrap();
    let started = std::time::Instant::now();
    for _ in 0..30 {
        let mut ws = resume(&app, &[], &chef, now).await;
        let (events, _) = replayed(&mut ws).await;
        assert!(events.is_empty());
    }
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(800),
        "30 resumes took {took:?}: ten past the burst, at ten a second"
    );
    let mut theirs = resume(&app, &[], &other, now).await;
    let (_, resumed) = replayed(&mut theirs).await;
    assert_eq!(resumed["replayed"], 0);
}

/// Resumes of one account past its pace's burst and the 2 s they may wait
/// are refused with 4029 and when the pace will let them start; a screen
/// that comes back then resumes.
async fn a_resume_past_the_pace_is_told_when_to_come_back(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            "--ws-resumes-per-account",
            "100",
            "--ws-resumes-per-address",
            "100",
            "--ws-max-connections-per-user",
            "100",
        ],
    )
    .await;
    let f = floor(&app, "bistro").await;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let now = app.store.current_seq(f.t.id).await.unwrap();
    // A burst of 20, then 10 a second: 2 s of waiting lets about 40 start.
    let mut screens = Vec::new();
    for _ in 0..60 {
        screens.push(resume(&app, &[], &chef, now).await);
    }
    let outcomes = futures::future::join_all(screens.iter_mut().map(|ws| async move {
        let first = tokio::time::timeout(std::time::Duration::from_secs(10), ws.stream.next())
            .await
            .expect("an answer in time");
        match first {
            Some(Ok(Message::Text(t))) => Ok(serde_json::from_str::<Value>(t.as_str()).unwrap()),
            Some(Ok(Message::Close(Some(frame)))) => {
                Err((u16::from(frame.code), frame.reason.to_string()))
            }
            other => panic!("expected a welcome or a close, got {other:?}"),
        }
    }))
    .await;
    let welcomed = outcomes.iter().filter(|o| o.is_ok()).count();
    let told: Vec<u64> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().err())
        .map(|(code, reason)| {
            assert_eq!(*code, 4029, "{reason}");
            retry_after_ms(reason).expect(reason)
        })
        .collect();
    assert!((30..60).contains(&welcomed), "{welcomed} welcomed");
    assert_eq!(welcomed + told.len(), 60);
    // Told apart, in the pace's intervals, within the bounds.
    assert!(
        told.iter().all(|ms| (250..=30_000).contains(ms)),
        "{told:?}"
    );
    let latest = *told.iter().max().unwrap();
    assert!(
        latest >= 1000,
        "{told:?}: {} waited behind them",
        told.len()
    );
    drop(screens);
    tokio::time::sleep(std::time::Duration::from_millis(latest)).await;
    let mut back = resume(&app, &[], &chef, now).await;
    let (events, resumed) = replayed(&mut back).await;
    assert_eq!((events.len(), resumed["replayed"].as_u64()), (0, Some(0)));
}

crate::both_backends!(
    a_resume_past_the_pace_is_told_when_to_come_back,
    resumes_of_one_account_are_paced,
    a_replay_nobody_reads_frees_its_slot,
    a_resume_replays_only_its_rooms_out_of_a_long_log,
    resumes_at_once_are_limited_per_account,
    resumes_at_once_are_limited_per_address,
    a_slow_consumer_resumes_without_loss,
    a_reconnecting_screen_misses_nothing,
    a_screen_too_far_behind_is_told_to_resync,
    a_commit_nobody_published_arrives_by_polling,
);
