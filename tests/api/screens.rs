//! Proof of display and notifications to people, over real sockets:
//! `screen.seen` → `ticket.seen` once per order and station (across
//! instances too), `station.unattended` / `screen.behind` raised on the
//! hub's clock and cleared, forged acknowledgements refused, "your order is
//! ready" to the waiter who placed it, and waiter calls accepted and
//! deduplicated.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::orders::{floor, order, Floor};
use crate::scale::PrivateRedis;
use crate::support::*;
use crate::ws_client::{error_code, WsClient};

/// A chef's session in the station's room only, acknowledging as `name`.
async fn screen(app: &TestApp, f: &Floor, station: i64) -> WsClient {
    let (_, token) = app.staff(&f.t, "chef").await;
    let mut ws = WsClient::connect(app).await;
    let room = format!("kitchen:{}:{station}", f.t.id);
    ws.send(json!({ "type": "hello", "token": token, "rooms": [room] }))
        .await;
    let welcome = ws.recv().await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    ws
}

async fn seen(ws: &mut WsClient, seq: u64, name: &str) -> Value {
    ws.command(json!({ "type": "screen.seen", "seq": seq, "screen": name }))
        .await
}

fn seq_of(frame: &Value) -> u64 {
    frame["seq"].as_u64().unwrap()
}

/// Reads what has arrived (a ping round trip), advancing the hub's clock by
/// `step_ms` each round, until an event of `kind` for which `wanted` holds
/// is among it; generous real-time bound.
async fn until(
    app: &TestApp,
    ws: &mut WsClient,
    kind: &str,
    step_ms: i64,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..300 {
        ws.assert_alive().await;
        if let Some(e) = ws
            .pending_events_of(kind)
            .into_iter()
            .find(|e| wanted(&e["data"]))
        {
            return e;
        }
        app.clock.advance_ms(step_ms);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {kind} in time");
}

/// Several flushes of real time, then what arrived.
async fn settle(ws: &mut WsClient) {
    tokio::time::sleep(Duration::from_millis(1200)).await;
    ws.assert_alive().await;
}

async fn ticket_seen_reaches_the_waiter_and_the_expo_once_per_station(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "seen").await;
    let mut grill1 = screen(&app, &f, f.grill).await;
    let mut grill2 = screen(&app, &f, f.grill).await;
    let mut bar = screen(&app, &f, f.bar).await;
    let mut expo = WsClient::staff(&app, &f.t, "chef").await;
    let (_, a) = app.staff(&f.t, "waiter").await;
    let (_, b) = app.staff(&f.t, "waiter").await;
    let (mut waiter, _) = WsClient::join(&app, &a).await;
    let (mut other, _) = WsClient::join(&app, &b).await;

    let lines =
        json!([{ "menu_item_id": f.steak, "qty": 1 }, { "menu_item_id": f.wine, "qty": 1 }]);
    let placed = waiter.command(order("o1", f.t1, lines)).await;
    let id = placed["order"]["id"].as_i64().unwrap();
    let g1 = seq_of(&grill1.next_of("event").await);
    let g2 = seq_of(&grill2.next_of("event").await);
    assert_eq!(g1, g2);
    let b1 = seq_of(&bar.next_of("event").await);

    let ack = seen(&mut grill1, g1, "grill-1").await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["station_ids"], json!([f.grill]));
    assert_eq!(seen(&mut grill2, g2, "grill-2").await["type"], "ack");
    assert_eq!(seen(&mut bar, b1, "bar").await["type"], "ack");

    for ws in [&mut waiter, &mut expo] {
        for station in [f.grill, f.bar] {
            let e = until(&app, ws, "ticket.seen", 0, |d| d["station_id"] == station).await;
            assert_eq!(e["data"]["order_ids"], json!([id]), "{e}");
        }
        // The second grill screen, and later flushes, announce nothing more.
        settle(ws).await;
        assert_eq!(ws.pending_events_of("ticket.seen").len(), 2);
    }
    let grill_seen = waiter.pending_events_of("ticket.seen");
    assert!(grill_seen.iter().any(|e| e["data"]["station"] == "Grill"));
    // Only the waiter who placed it is told.
    settle(&mut other).await;
    assert!(other.pending_events_of("ticket.seen").is_empty());
    assert!(!other.pending_events_of("order.placed").is_empty());

    // What each screen acknowledged, and when.
    let (status, screens) = app
        .get(&format!("/api/v1/stations/{}/screens", f.grill), &a)
        .await;
    assert_eq!(status, StatusCode::OK, "{screens}");
    let names: Vec<&str> = screens
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["screen"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["grill-1", "grill-2"]);
    assert_eq!(screens[0]["seen_seq"], json!(g1));
    assert_eq!(screens[0]["behind"], json!(false));
}

async fn forged_and_foreign_acknowledgements_change_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "forged").await;
    let other = floor(&app, "elsewhere").await;
    let mut grill = screen(&app, &f, f.grill).await;
    let mut expo = WsClient::staff(&app, &f.t, "chef").await;
    let mut waiter = WsClient::staff(&app, &f.t, "waiter").await;

    // Acknowledging what the screen was never sent: refused.
    let ahead = seen(&mut grill, 1_000_000, "grill").await;
    assert_eq!(error_code(&ahead), "VALIDATION_FAILED", "{ahead}");
    assert!(ahead["details"].to_string().contains("seq"), "{ahead}");
    // Bad names.
    let long = "x".repeat(65);
    for bad in [json!(""), json!(long), json!("a\u{7}b")] {
        let reply = grill
            .command(json!({ "type": "screen.seen", "seq": 0, "screen": bad }))
            .await;
        assert_eq!(error_code(&reply), "VALIDATION_FAILED", "{reply}");
    }
    // Not a screen: no station room.
    let reply = expo
        .command(json!({ "type": "screen.seen", "seq": 0 }))
        .await;
    assert_eq!(error_code(&reply), "FORBIDDEN", "{reply}");
    let mut guest = WsClient::guest(&app, &f.t1_code).await;
    let reply = guest
        .command(json!({ "type": "screen.seen", "seq": 0 }))
        .await;
    assert_eq!(error_code(&reply), "FORBIDDEN", "{reply}");
    // Another restaurant's station cannot be joined, and its screens'
    // acknowledgements count only there.
    let reply = expo
        .subscribe(&format!("kitchen:{}:{}", other.t.id, other.grill))
        .await;
    assert_eq!(error_code(&reply), "FORBIDDEN", "{reply}");
    let mut foreign = screen(&app, &other, other.grill).await;

    let lines = json!([{ "menu_item_id": f.steak, "qty": 1 }]);
    waiter.command(order("f1", f.t1, lines)).await;
    let ticket = seq_of(&grill.next_of("event").await);
    let reply = seen(&mut foreign, 0, "grill").await;
    assert_eq!(reply["type"], "ack", "{reply}");
    // The expo hears nothing: the ticket is not on screen.
    settle(&mut expo).await;
    assert!(expo.pending_events_of("ticket.seen").is_empty());
    let (_, screens) = app
        .get(&format!("/api/v1/stations/{}/screens", f.grill), &f.t.owner)
        .await;
    assert_eq!(screens, json!([]));
    // Another restaurant's station is not found.
    let (status, _) = app
        .get(
            &format!("/api/v1/stations/{}/screens", other.grill),
            &f.t.owner,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A snapshot's seq may be past the last event the screen was sent
    // (here a waiter call it does not get); it is no forgery.
    let call = waiter
        .command(json!({ "type": "table.call_waiter", "table_id": f.t1 }))
        .await;
    assert_eq!(call["type"], "ack", "{call}");
    let snapshot = grill
        .command(json!({ "type": "kitchen.snapshot", "station_id": f.grill }))
        .await;
    let head = snapshot["seq"].as_u64().unwrap();
    assert!(head > ticket);
    assert_eq!(seen(&mut grill, head, "grill").await["type"], "ack");
    let e = until(&app, &mut expo, "ticket.seen", 0, |_| true).await;
    assert_eq!(e["data"]["seen_seq"], json!(head), "{e}");
    // A session is one screen: it cannot rename itself (a row per name).
    let renamed = seen(&mut grill, head, "grill-2").await;
    assert_eq!(error_code(&renamed), "VALIDATION_FAILED", "{renamed}");
    assert!(
        renamed["details"].to_string().contains("screen"),
        "{renamed}"
    );
    let (_, screens) = app
        .get(&format!("/api/v1/stations/{}/screens", f.grill), &f.t.owner)
        .await;
    let names: Vec<&str> = screens
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["screen"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"grill-2"), "{screens}");
}

async fn a_station_left_without_its_screen_is_unattended_until_one_returns(backend: Backend) {
    let app = TestApp::spawn_with(backend, &["--screen-alert-ms", "10000"]).await;
    let f = floor(&app, "alone").await;
    let mut grill = screen(&app, &f, f.grill).await;
    let (_, manager) = app.staff(&f.t, "manager").await;
    let (mut expo, _) = WsClient::join(&app, &manager).await;
    let mut waiter = WsClient::staff(&app, &f.t, "waiter").await;
    let lines = json!([{ "menu_item_id": f.steak, "qty": 1 }]);
    waiter.command(order("u1", f.t1, lines)).await;
    let ticket = seq_of(&grill.next_of("event").await);
    assert_eq!(seen(&mut grill, ticket, "grill").await["type"], "ack");

    // The only screen goes away while the ticket is open.
    drop(grill);
    let gone_at = app.clock.now();
    let raised = until(&app, &mut expo, "station.unattended", 1000, |_| true).await;
    assert!(
        app.clock.now() - gone_at >= 10_000,
        "raised before the configured time"
    );
    assert_eq!(raised["data"]["station_id"], json!(f.grill), "{raised}");
    assert_eq!(raised["data"]["open_tickets"], json!(1));
    // The bar has nothing open: never unattended.
    assert!(expo
        .pending_events_of("station.unattended")
        .iter()
        .all(|e| e["data"]["station_id"] == json!(f.grill)));
    // Raised once, however many sweeps.
    settle(&mut expo).await;
    app.clock.advance_ms(20_000);
    settle(&mut expo).await;
    assert_eq!(expo.pending_events_of("station.unattended").len(), 1);

    // A screen returns.
    let _back = screen(&app, &f, f.grill).await;
    let cleared = until(&app, &mut expo, "station.attended", 0, |_| true).await;
    assert_eq!(cleared["data"]["station_id"], json!(f.grill), "{cleared}");
}

async fn a_screen_that_stops_acknowledging_is_behind_until_it_acks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "behind").await;
    let mut grill = screen(&app, &f, f.grill).await;
    let mut expo = WsClient::staff(&app, &f.t, "chef").await;
    let mut waiter = WsClient::staff(&app, &f.t, "waiter").await;
    // It acknowledges what it has (nothing yet), so it is a screen.
    assert_eq!(seen(&mut grill, 0, "g1").await["type"], "ack");
    let lines = json!([{ "menu_item_id": f.burger, "qty": 2 }]);
    let placed = waiter.command(order("b1", f.t1, lines)).await;
    let ticket = seq_of(&grill.next_of("event").await);

    let placed_at = app.clock.now();
    let behind = until(&app, &mut expo, "screen.behind", 1000, |_| true).await;
    assert!(app.clock.now() - placed_at >= 10_000, "flagged too early");
    assert_eq!(behind["data"]["screen"], "g1", "{behind}");
    assert_eq!(behind["data"]["due_seq"], placed["order"]["placed_seq"]);
    assert_eq!(behind["data"]["seen_seq"], json!(0));
    let (_, screens) = app
        .get(&format!("/api/v1/stations/{}/screens", f.grill), &f.t.owner)
        .await;
    assert_eq!(screens[0]["behind"], json!(true), "{screens}");

    // It catches up.
    assert_eq!(seen(&mut grill, ticket, "g1").await["type"], "ack");
    let cleared = until(&app, &mut expo, "screen.caught_up", 0, |_| true).await;
    assert_eq!(cleared["data"]["gone"], json!(false), "{cleared}");
    assert_eq!(cleared["data"]["seen_seq"], json!(ticket));
    assert_eq!(expo.pending_events_of("screen.behind").len(), 1);
}

async fn the_placing_waiter_hears_the_order_is_ready(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "ready").await;
    let (_, a) = app.staff(&f.t, "waiter").await;
    let (_, b) = app.staff(&f.t, "waiter").await;
    let (mut waiter, _) = WsClient::join(&app, &a).await;
    let (mut other, _) = WsClient::join(&app, &b).await;
    let mut chef = WsClient::staff(&app, &f.t, "chef").await;
    let lines = json!([{ "menu_item_id": f.steak, "qty": 1 }]);
    let placed = waiter.command(order("r1", f.t1, lines)).await;
    let id = placed["order"]["id"].as_i64().unwrap();
    let line = placed["order"]["lines"][0]["id"].as_i64().unwrap();
    for status in ["preparing", "ready"] {
        let reply = chef
            .command(json!({ "type": "item.set_status", "order_id": id, "line_id": line, "status": status }))
            .await;
        assert_eq!(reply["type"], "ack", "{reply}");
    }
    let ready = waiter.next_matching(|f| f["kind"] == "order.ready").await;
    assert_eq!(ready["data"], json!({ "order_id": id, "table_id": f.t1 }));
    // The other waiter sees the order's status, not a notification.
    other
        .next_matching(|e| e["kind"] == "order.status_changed" && e["data"]["status"] == "ready")
        .await;
    other.assert_alive().await;
    assert!(other.pending_events_of("order.ready").is_empty());
}

async fn a_call_is_accepted_once_and_repeats_within_two_minutes_are_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "calls").await;
    let (a_id, a) = app.staff(&f.t, "waiter").await;
    let (_, b) = app.staff(&f.t, "waiter").await;
    let (mut first, _) = WsClient::join(&app, &a).await;
    let (mut second, _) = WsClient::join(&app, &b).await;
    let mut guest = WsClient::guest(&app, &f.t1_code).await;

    let call = json!({ "type": "table.call_waiter" });
    let ack = guest.command(call.clone()).await;
    assert_eq!(ack["already_called"], json!(false), "{ack}");
    // Again, a minute later: the same call.
    app.clock.advance_ms(60_000);
    let again = guest.command(call.clone()).await;
    assert_eq!(again["type"], "ack", "{again}");
    assert_eq!(again["already_called"], json!(true), "{again}");
    let (status, _) = app
        .post(
            &format!("/api/v1/tables/{}/call-waiter", f.t1),
            Some(&b),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    first
        .next_matching(|e| e["kind"] == "table.waiter_called")
        .await;
    settle(&mut first).await;
    assert!(first.pending_events_of("table.waiter_called").is_empty());

    // Only the floor accepts, only its own restaurant's tables.
    let reply = guest
        .command(json!({ "type": "table.accept_call", "table_id": f.t1 }))
        .await;
    assert_eq!(error_code(&reply), "FORBIDDEN", "{reply}");
    let elsewhere = floor(&app, "calls-elsewhere").await;
    let (_, stranger) = app.staff(&elsewhere.t, "waiter").await;
    let (status, _) = app
        .post(
            &format!("/api/v1/tables/{}/accept-call", f.t1),
            Some(&stranger),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let accepted = first
        .command(json!({ "type": "table.accept_call", "table_id": f.t1 }))
        .await;
    assert_eq!(accepted["type"], "ack", "{accepted}");
    let told = second
        .next_matching(|e| e["kind"] == "table.call_accepted")
        .await;
    assert_eq!(told["data"]["by_user"], json!(a_id), "{told}");
    assert_eq!(told["data"]["table_id"], json!(f.t1));
    guest
        .next_matching(|e| e["kind"] == "table.call_accepted")
        .await;
    let late = second
        .command(json!({ "type": "table.accept_call", "table_id": f.t1 }))
        .await;
    assert_eq!(error_code(&late), "CONFLICT", "{late}");

    // After an accepted call, a new call is new; a call left open for two
    // minutes is called again.
    let ack = guest.command(call.clone()).await;
    assert_eq!(ack["already_called"], json!(false), "{ack}");
    app.clock.advance_ms(120_000);
    let ack = guest.command(call.clone()).await;
    assert_eq!(ack["already_called"], json!(false), "{ack}");
    settle(&mut second).await;
    assert_eq!(second.pending_events_of("table.waiter_called").len(), 3);
    let (status, _) = app
        .post(
            &format!("/api/v1/tables/{}/accept-call", f.t1),
            Some(&b),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

crate::both_backends!(
    ticket_seen_reaches_the_waiter_and_the_expo_once_per_station,
    forged_and_foreign_acknowledgements_change_nothing,
    a_station_left_without_its_screen_is_unattended_until_one_returns,
    a_screen_that_stops_acknowledging_is_behind_until_it_acks,
    the_placing_waiter_hears_the_order_is_ready,
    a_call_is_accepted_once_and_repeats_within_two_minutes_are_one,
);

/// Screens on one instance, the waiter on another: the waiter learns its
/// ticket is on screen, once, though both instances' screens acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proof_of_display_crosses_instances() {
    let redis = PrivateRedis::start();
    let url = redis.url();
    let args = ["--redis-url", url.as_str(), "--event-poll-ms", "200"];
    let one = TestApp::spawn_with(Backend::Postgres, &args).await;
    let two = one.sibling_with(&args).await;
    crate::health::wait_until_ready(&one).await;
    crate::health::wait_until_ready(&two).await;
    let f = floor(&one, "chain-seen").await;
    let mut here = screen(&one, &f, f.grill).await;
    let mut there = screen(&two, &f, f.grill).await;
    let (_, a) = one.staff(&f.t, "waiter").await;
    let (mut waiter, _) = WsClient::join(&two, &a).await;
    let lines = json!([{ "menu_item_id": f.steak, "qty": 1 }]);
    let placed = waiter.command(order("x1", f.t1, lines)).await;
    let id = placed["order"]["id"].as_i64().unwrap();
    let s1 = seq_of(&here.next_of("event").await);
    let s2 = seq_of(&there.next_of("event").await);
    assert_eq!(seen(&mut here, s1, "grill-a").await["type"], "ack");
    assert_eq!(seen(&mut there, s2, "grill-b").await["type"], "ack");
    let e = until(&two, &mut waiter, "ticket.seen", 0, |_| true).await;
    assert_eq!(e["data"]["order_ids"], json!([id]), "{e}");
    settle(&mut waiter).await;
    assert_eq!(waiter.pending_events_of("ticket.seen").len(), 1);
    // The station is attended from the other instance: a screen there
    // keeps it off the alerts even with none here.
    drop(here);
    let mut expo = WsClient::staff(&one, &f.t, "chef").await;
    for _ in 0..3 {
        // The instances share one clock.
        one.clock.advance_ms(6_000);
        settle(&mut expo).await;
    }
    assert!(expo.pending_events_of("station.unattended").is_empty());
}
