//! Kitchen timers over real sockets: station thresholds, due times on
//! tickets with the hub's time, `ticket.late` once per ticket (also with two
//! instances sweeping one database), each station's average ticket time on
//! the dashboard, and the all-day counts.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::orders::{floor, order, Floor};
use crate::support::*;
use crate::ws_client::{error_code, WsClient};

const MINUTE: i64 = 60_000;

fn ms(t: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(t.as_str().unwrap_or_else(|| panic!("no time: {t}")))
        .unwrap()
        .timestamp_millis()
}

fn target(caution: i64, late: i64) -> Value {
    json!({ "caution_seconds": caution, "late_seconds": late })
}

/// The fields named in a VALIDATION_FAILED reply, with their first code.
fn fields(reply: &(StatusCode, Value)) -> Vec<(String, String)> {
    assert_error(reply, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    reply.1["error"]["details"]["fields"]
        .as_object()
        .unwrap_or_else(|| panic!("no field details in {}", reply.1))
        .iter()
        .map(|(k, v)| (k.clone(), v[0]["code"].as_str().unwrap().to_owned()))
        .collect()
}

fn field(name: &str, code: &str) -> Vec<(String, String)> {
    vec![(name.to_owned(), code.to_owned())]
}

async fn set_targets(app: &TestApp, f: &Floor, station: i64, targets: Value) {
    let path = format!("/api/v1/stations/{station}");
    let reply = app
        .patch(&path, &f.t.owner, json!({ "targets": targets }))
        .await;
    assert_eq!(reply.0, StatusCode::OK, "{}", reply.1);
}

/// A chef's screen in one station's room only.
async fn station_screen(app: &TestApp, f: &Floor, station: i64) -> WsClient {
    let mut ws = WsClient::staff(app, &f.t, "chef").await;
    let r = f.t.id;
    for room in [
        format!("restaurant:{r}"),
        format!("kitchen:{r}"),
        format!("role:{r}:chef"),
    ] {
        ws.command(json!({ "type": "unsubscribe", "room": room }))
            .await;
    }
    ws.subscribe(&format!("kitchen:{r}:{station}")).await;
    ws
}

async fn place(ws: &mut WsClient, key: &str, table: i64, lines: Value) -> Value {
    let reply = ws.command(order(key, table, lines)).await;
    assert_eq!(reply["type"], "ack", "{reply}");
    reply["order"].clone()
}

async fn bump(ws: &mut WsClient, order: &Value, station: i64, to: &str) {
    for line in order["lines"].as_array().unwrap() {
        if line["station_id"] != station {
            continue;
        }
        let reply = ws
            .command(json!({ "type": "item.set_status", "order_id": order["id"], "line_id": line["id"], "status": to }))
            .await;
        assert_eq!(reply["type"], "ack", "{reply}");
    }
}

async fn thresholds_are_set_per_source_and_validated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let other = floor(&app, "rival").await;

    // Created without targets: the defaults, 5 and 8 minutes, per source.
    let (_, grill) = app
        .get(&format!("/api/v1/stations/{}", f.grill), &f.t.owner)
        .await;
    for source in ["dine_in", "takeaway", "qr"] {
        assert_eq!(grill["targets"][source], target(300, 480), "{grill}");
    }
    // Created with some: the others keep the defaults.
    let pass = app
        .create(
            &f.t,
            "/api/v1/stations",
            json!({ "name": "Pass", "targets": { "takeaway": target(120, 240) } }),
        )
        .await;
    assert_eq!(pass["targets"]["takeaway"], target(120, 240));
    assert_eq!(pass["targets"]["dine_in"], target(300, 480));

    // A patch replaces the pairs it gives, and keeps the rest.
    let path = format!("/api/v1/stations/{}", f.grill);
    let (status, patched) = app
        .patch(
            &path,
            &f.t.owner,
            json!({ "targets": { "qr": target(60, 90) } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["targets"]["qr"], target(60, 90));
    assert_eq!(patched["targets"]["dine_in"], target(300, 480));
    assert_eq!(patched["name"], "Grill");

    // Bad thresholds: per-field errors, nothing changed.
    let bad = |targets: Value| json!({ "targets": targets });
    let reply = app
        .patch(
            &path,
            &f.t.owner,
            bad(json!({ "dine_in": target(480, 480) })),
        )
        .await;
    assert_eq!(
        fields(&reply),
        field("targets.dine_in.caution_seconds", "range")
    );
    let reply = app
        .patch(&path, &f.t.owner, bad(json!({ "qr": target(30, 59) })))
        .await;
    assert_eq!(fields(&reply), field("targets.qr.late_seconds", "range"));
    let reply = app
        .patch(
            &path,
            &f.t.owner,
            bad(json!({ "takeaway": target(10, 14_401) })),
        )
        .await;
    let mut got = fields(&reply);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("targets.takeaway.caution_seconds".into(), "range".into()),
            ("targets.takeaway.late_seconds".into(), "range".into()),
        ]
    );
    let reply = app
        .patch(
            &path,
            &f.t.owner,
            bad(json!({ "dine_in": { "late_seconds": 600 } })),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_FAILED",
    );
    let reply = app
        .post(
            "/api/v1/stations",
            Some(&f.t.owner),
            json!({ "name": "Fryer", "targets": { "dine_in": target(400, 300) } }),
        )
        .await;
    assert_eq!(
        fields(&reply),
        field("targets.dine_in.caution_seconds", "range")
    );
    let (_, list) = app.get("/api/v1/stations", &f.t.owner).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3, "{list}");
    let (_, now) = app.get(&path, &f.t.owner).await;
    assert_eq!(now, patched, "refused patches changed nothing");

    // Only those who configure the floor; never another restaurant's.
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let reply = app
        .patch(&path, &waiter, bad(json!({ "qr": target(60, 120) })))
        .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "FORBIDDEN");
    let (_, chef) = app.staff(&f.t, "chef").await;
    let reply = app
        .patch(&path, &chef, bad(json!({ "qr": target(60, 120) })))
        .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "FORBIDDEN");
    let reply = app
        .patch(&path, &other.t.owner, bad(json!({ "qr": target(60, 120) })))
        .await;
    assert_error(&reply, StatusCode::NOT_FOUND, "NOT_FOUND");
    let (_, now) = app.get(&path, &f.t.owner).await;
    assert_eq!(now, patched);
}

async fn tickets_carry_due_times_and_the_hub_time(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    set_targets(&app, &f, f.grill, json!({ "dine_in": target(120, 180) })).await;
    let mut grill = station_screen(&app, &f, f.grill).await;
    let mut bar = station_screen(&app, &f, f.bar).await;
    let mut waiter = WsClient::staff(&app, &f.t, "waiter").await;

    let placed_at = app.clock.now();
    let lines =
        json!([{ "menu_item_id": f.steak, "qty": 2 }, { "menu_item_id": f.wine, "qty": 1 }]);
    let o = place(&mut waiter, "due", f.t1, lines).await;

    // Each station's ticket carries its own clock; the frame's `at` is the
    // hub's time it was written.
    let ticket = grill.next_matching(|e| e["kind"] == "ticket.placed").await;
    assert_eq!(ms(&ticket["at"]), placed_at);
    let timer = &ticket["data"]["timer"];
    assert_eq!(timer["station_id"], f.grill);
    assert_eq!(ms(&timer["started_at"]), placed_at);
    assert_eq!(ms(&timer["caution_at"]), placed_at + 2 * MINUTE);
    assert_eq!(ms(&timer["due_at"]), placed_at + 3 * MINUTE);
    let ticket = bar.next_matching(|e| e["kind"] == "ticket.placed").await;
    assert_eq!(
        ms(&ticket["data"]["timer"]["caution_at"]),
        placed_at + 5 * MINUTE
    );
    assert_eq!(
        ms(&ticket["data"]["timer"]["due_at"]),
        placed_at + 8 * MINUTE
    );

    // The snapshot, read later: the hub's time now, and the same due times.
    app.clock.advance_ms(MINUTE + 500);
    let snap = grill
        .command(json!({ "type": "kitchen.snapshot", "station_id": f.grill }))
        .await;
    assert_eq!(snap["type"], "ack", "{snap}");
    assert_eq!(ms(&snap["hub_time"]), app.clock.now());
    let tickets = snap["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["order"]["id"], o["id"]);
    assert_eq!(tickets[0]["age_ms"], MINUTE + 500);
    assert_eq!(tickets[0]["timers"].as_array().unwrap().len(), 1);
    assert_eq!(tickets[0]["timers"][0], *timer);
    // The expo sees both stations' clocks.
    let mut expo = WsClient::staff(&app, &f.t, "chef").await;
    let snap = expo.command(json!({ "type": "kitchen.snapshot" })).await;
    let timers = snap["tickets"][0]["timers"].as_array().unwrap().clone();
    let stations: Vec<&Value> = timers.iter().map(|t| &t["station_id"]).collect();
    let mut want = [json!(f.grill), json!(f.bar)];
    want.sort_by_key(|v| v.as_i64());
    assert_eq!(stations, want.iter().collect::<Vec<_>>());

    // A takeaway counts with the takeaway thresholds (the defaults here).
    let takeaway = json!({ "type": "order.place", "idempotency_key": "to-go", "source": "takeaway", "lines": [{ "menu_item_id": f.burger, "qty": 1 }] });
    let reply = waiter.command(takeaway).await;
    assert_eq!(reply["type"], "ack", "{reply}");
    let ticket = grill
        .next_matching(|f| {
            f["kind"] == "ticket.placed" && f["data"]["order_id"] == reply["order"]["id"]
        })
        .await;
    assert_eq!(
        ms(&ticket["data"]["timer"]["due_at"]),
        app.clock.now() + 8 * MINUTE
    );
}

fn is_late(frame: &Value) -> bool {
    frame["type"] == "event" && frame["kind"] == "ticket.late"
}

async fn a_late_ticket_is_announced_once_to_expo_and_dashboard(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    set_targets(&app, &f, f.grill, json!({ "dine_in": target(30, 60) })).await;
    let mut expo = WsClient::staff(&app, &f.t, "chef").await;
    let (_, manager) = app.staff(&f.t, "manager").await;
    let (mut dashboard, _) = WsClient::join(&app, &manager).await;
    let mut waiter = WsClient::staff(&app, &f.t, "waiter").await;
    let mut chef = WsClient::staff(&app, &f.t, "chef").await;

    let slow = place(
        &mut waiter,
        "slow",
        f.t1,
        json!([{ "menu_item_id": f.steak, "qty": 1 }, { "menu_item_id": f.wine, "qty": 1 }]),
    )
    .await;
    let quick = place(
        &mut waiter,
        "quick",
        f.t2,
        json!([{ "menu_item_id": f.burger, "qty": 1 }]),
    )
    .await;
    // The quick one is ready in time; the slow one's grill ticket is not.
    bump(&mut chef, &quick, f.grill, "preparing").await;
    bump(&mut chef, &quick, f.grill, "ready").await;
    let due = app.clock.now() + MINUTE;
    app.clock.advance_ms(MINUTE + 1);

    for screen in [&mut expo, &mut dashboard] {
        let late = screen.next_matching(is_late).await;
        let data = &late["data"];
        assert_eq!(data["order_id"], slow["id"], "{late}");
        assert_eq!(data["station_id"], f.grill);
        assert_eq!(data["table_id"], f.t1);
        assert_eq!(data["source"], "dine_in");
        assert_eq!(data["open_lines"], 1);
        assert_eq!(ms(&data["timer"]["due_at"]), due);
        assert!(ms(&data["late_at"]) >= due);
    }
    // Past the bar's due time (8 minutes): the bar's ticket, and no second
    // grill alarm however many sweeps ran meanwhile.
    app.clock.advance_ms(8 * MINUTE);
    for screen in [&mut expo, &mut dashboard] {
        let late = screen.next_matching(is_late).await;
        assert_eq!(late["data"]["station_id"], f.bar, "{late}");
        assert_eq!(late["data"]["order_id"], slow["id"]);
    }
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    for screen in [&mut expo, &mut dashboard] {
        screen.assert_alive().await;
        assert_eq!(screen.pending_events_of("ticket.late"), Vec::<Value>::new());
    }
}

async fn two_instances_announce_each_late_ticket_once(backend: Backend) {
    let args = ["--event-poll-ms", "100"];
    let a = TestApp::spawn_with(backend, &args).await;
    let b = a.sibling_with(&args).await;
    let f = floor(&a, "bistro").await;
    set_targets(&a, &f, f.grill, json!({ "dine_in": target(30, 60) })).await;
    let mut expo = WsClient::staff(&a, &f.t, "chef").await;
    let (_, manager) = a.staff(&f.t, "manager").await;
    let (mut dashboard, _) = WsClient::join(&b, &manager).await;
    let mut waiter = WsClient::staff(&b, &f.t, "waiter").await;
    let mut ids = Vec::new();
    for n in 0..4 {
        let lines = json!([{ "menu_item_id": f.steak, "qty": 1 }]);
        ids.push(place(&mut waiter, &format!("o{n}"), f.t1, lines).await["id"].clone());
    }
    app_advance(&a, MINUTE + 1);
    for screen in [&mut expo, &mut dashboard] {
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(screen.next_matching(is_late).await["data"]["order_id"].clone());
        }
        seen.sort_by_key(|v| v.as_i64());
        assert_eq!(seen, ids);
    }
    // Several sweeps of both instances later, still one each.
    tokio::time::sleep(std::time::Duration::from_millis(3000)).await;
    for screen in [&mut expo, &mut dashboard] {
        screen.assert_alive().await;
        assert!(screen.pending_events_of("ticket.late").is_empty());
    }
    let seq = a.store.current_seq(f.t.id).await.unwrap();
    let log = a.store.events_between(f.t.id, 0, seq, 1000).await.unwrap();
    let late = log.iter().filter(|e| e.kind == "ticket.late").count();
    assert_eq!(late, 4, "one ticket.late per ticket in the log");
}

fn app_advance(app: &TestApp, ms: i64) {
    app.clock.advance_ms(ms);
}

fn station(stats: &Value, id: i64) -> &Value {
    stats["stations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["station_id"] == id)
        .unwrap()
}

async fn the_dashboard_shows_each_stations_average_ticket_time(backend: Backend) {
    let app = TestApp::spawn_with(backend, &["--dashboard-interval-ms", "50"]).await;
    let f = floor(&app, "bistro").await;
    let (_, manager) = app.staff(&f.t, "manager").await;
    let (mut dashboard, _) = WsClient::join(&app, &manager).await;
    let mut waiter = WsClient::staff(&app, &f.t, "waiter").await;
    let mut chef = WsClient::staff(&app, &f.t, "chef").await;

    let first = dashboard.next_of("dashboard").await;
    assert_eq!(station(&first, f.grill)["tickets_done_today"], 0);
    assert!(station(&first, f.grill).get("average_ticket_ms").is_none());

    let lines =
        json!([{ "menu_item_id": f.steak, "qty": 1 }, { "menu_item_id": f.wine, "qty": 1 }]);
    let one = place(&mut waiter, "one", f.t1, lines.clone()).await;
    app.clock.advance_ms(30_000);
    let two = place(&mut waiter, "two", f.t2, lines).await;
    app.clock.advance_ms(60_000);
    // One at 90 s, the other at 60 s: the grill averages 75 s.
    bump(&mut chef, &one, f.grill, "preparing").await;
    bump(&mut chef, &one, f.grill, "ready").await;
    bump(&mut chef, &two, f.grill, "preparing").await;
    bump(&mut chef, &two, f.grill, "ready").await;
    let stats = dashboard
        .next_matching(|s| {
            s["type"] == "dashboard" && station(s, f.grill)["tickets_done_today"] == 2
        })
        .await;
    assert_eq!(station(&stats, f.grill)["average_ticket_ms"], 75_000);
    // The bar has done none yet.
    assert_eq!(station(&stats, f.bar)["tickets_done_today"], 0);
    // Served keeps the ready time; a recall takes a ticket out again.
    app.clock.advance_ms(10_000);
    bump(&mut chef, &one, f.bar, "preparing").await;
    bump(&mut chef, &one, f.bar, "ready").await;
    bump(&mut waiter, &one, f.grill, "served").await;
    let stats = dashboard
        .next_matching(|s| s["type"] == "dashboard" && station(s, f.bar)["tickets_done_today"] == 1)
        .await;
    assert_eq!(station(&stats, f.bar)["average_ticket_ms"], 100_000);
    assert_eq!(station(&stats, f.grill)["average_ticket_ms"], 75_000);
    bump(&mut chef, &two, f.grill, "preparing").await;
    let stats = dashboard
        .next_matching(|s| {
            s["type"] == "dashboard" && station(s, f.grill)["tickets_done_today"] == 1
        })
        .await;
    assert_eq!(station(&stats, f.grill)["average_ticket_ms"], 90_000);
}

fn counts(items: &Value) -> Vec<(i64, i64)> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["menu_item_id"].as_i64().unwrap(),
                c["qty"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn all_day_for(station: i64, want: Vec<(i64, i64)>) -> impl Fn(&Value) -> bool {
    move |f| {
        f["type"] == "kitchen.all_day" && f["station_id"] == station && counts(&f["items"]) == want
    }
}

async fn all_day_counts_are_in_the_snapshot_and_kept_live(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let mut waiter = WsClient::staff(&app, &f.t, "waiter").await;
    let mut chef = WsClient::staff(&app, &f.t, "chef").await;
    let one = place(&mut waiter, "one", f.t1, json!([{ "menu_item_id": f.steak, "qty": 2 }, { "menu_item_id": f.bread, "qty": 1 }, { "menu_item_id": f.wine, "qty": 3 }])).await;
    place(
        &mut waiter,
        "two",
        f.t2,
        json!([{ "menu_item_id": f.steak, "qty": 1 }]),
    )
    .await;
    let cancelled = place(
        &mut waiter,
        "three",
        f.t2,
        json!([{ "menu_item_id": f.burger, "qty": 4 }]),
    )
    .await;
    let reply = waiter
        .command(
            json!({ "type": "order.cancel", "order_id": cancelled["id"], "reason": "guest left" }),
        )
        .await;
    assert_eq!(reply["type"], "ack", "{reply}");
    let mut steak_bread = vec![(f.steak, 3), (f.bread, 1)];
    steak_bread.sort();

    // In the snapshot: a station's own, or every station's for the expo.
    let mut grill = station_screen(&app, &f, f.grill).await;
    let snap = grill
        .command(json!({ "type": "kitchen.snapshot", "station_id": f.grill }))
        .await;
    assert_eq!(counts(&snap["all_day"]), steak_bread, "{snap}");
    assert!(snap["all_day"][0]["name"].is_string());
    let mut expo = WsClient::staff(&app, &f.t, "chef").await;
    let snap = expo.command(json!({ "type": "kitchen.snapshot" })).await;
    let stations: Vec<i64> = snap["all_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["station_id"].as_i64().unwrap())
        .collect();
    assert_eq!(stations.len(), 3, "{snap}");
    assert_eq!(stations.iter().filter(|s| **s == f.bar).count(), 1);

    // Pushed after a placement, to the station and the expo.
    place(
        &mut waiter,
        "four",
        f.t1,
        json!([{ "menu_item_id": f.steak, "qty": 2 }]),
    )
    .await;
    let mut after = vec![(f.steak, 5), (f.bread, 1)];
    after.sort();
    for screen in [&mut grill, &mut expo] {
        let frame = screen
            .next_matching(all_day_for(f.grill, after.clone()))
            .await;
        assert!(frame["seq"].as_u64().unwrap() > 0);
        assert_eq!(ms(&frame["hub_time"]), app.clock.now());
    }
    // After bumps: preparing still counts, ready does not.
    bump(&mut chef, &one, f.grill, "preparing").await;
    bump(&mut chef, &one, f.grill, "ready").await;
    grill
        .next_matching(all_day_for(f.grill, vec![(f.steak, 3)]))
        .await;
    // Down to nothing: the bar is told too.
    let mut bar = station_screen(&app, &f, f.bar).await;
    bump(&mut chef, &one, f.bar, "preparing").await;
    bump(&mut chef, &one, f.bar, "ready").await;
    bar.next_matching(all_day_for(f.bar, vec![])).await;
    let reply = chef
        .command(json!({ "type": "kitchen.snapshot", "station_id": 999_999 }))
        .await;
    assert_eq!(error_code(&reply), "NOT_FOUND");
}

crate::both_backends!(
    thresholds_are_set_per_source_and_validated,
    tickets_carry_due_times_and_the_hub_time,
    a_late_ticket_is_announced_once_to_expo_and_dashboard,
    two_instances_announce_each_late_ticket_once,
    the_dashboard_shows_each_stations_average_ticket_time,
    all_day_counts_are_in_the_snapshot_and_kept_live,
);
