//! Courses and firing, fire by prep time, the expo's view, rush, recall
//! and voids with reasons (issue 19), over real sockets on both backends.

use std::time::Duration;

use reqwest::StatusCode;
use restohub_protocol::Timestamp;
use serde_json::{json, Value};

use crate::support::*;
use crate::ws_client::{error_code, WsClient};

/// A restaurant with courses: starters (1), mains (2), desserts (3), and
/// wine without a category (course 1).
struct Menu {
    t: Tenant,
    grill: i64,
    cold: i64,
    bar: i64,
    /// Starter, cold station, 240 s.
    soup: i64,
    /// Main, grill, 900 s.
    steak: i64,
    /// Main, cold station, 300 s.
    salad: i64,
    /// Dessert, cold station, 120 s.
    cake: i64,
    /// No category, bar, 60 s.
    wine: i64,
    t1: i64,
    t1_code: String,
    manager_email: String,
}

const MANAGER_PIN: &str = "4321";

async fn menu(app: &TestApp, slug: &str) -> Menu {
    let t = app.tenant(slug).await;
    let id = |v: Value| v["id"].as_i64().unwrap();
    let station = |name: &str| json!({ "name": name });
    let grill = id(app.create(&t, "/api/v1/stations", station("Grill")).await);
    let cold = id(app.create(&t, "/api/v1/stations", station("Cold")).await);
    let bar = id(app.create(&t, "/api/v1/stations", station("Bar")).await);
    let category = |name: &str, course: i64| json!({ "name": name, "course": course });
    let starters = app
        .create(&t, "/api/v1/menu/categories", category("Starters", 1))
        .await;
    assert_eq!(starters["course"], 1);
    // A category's course can be changed; mains start as course 1.
    let mains = id(app
        .create(&t, "/api/v1/menu/categories", json!({ "name": "Mains" }))
        .await);
    let path = format!("/api/v1/menu/categories/{mains}");
    let (status, patched) = app.patch(&path, &t.owner, json!({ "course": 2 })).await;
    assert_eq!(
        (status, patched["course"].clone()),
        (StatusCode::OK, json!(2))
    );
    let desserts = id(app
        .create(&t, "/api/v1/menu/categories", category("Desserts", 3))
        .await);
    let item = |name: &str, category: Option<i64>, station: i64, prep: i64| json!({ "name": name, "price_cents": 1000, "category_id": category, "station_id": station, "stock": 50, "prep_seconds": prep });
    let mut items = Vec::new();
    for body in [
        item("Soup", Some(id(starters.clone())), cold, 240),
        item("Steak", Some(mains), grill, 900),
        item("Salad", Some(mains), cold, 100),
        item("Cake", Some(desserts), cold, 120),
        item("Wine", None, bar, 60),
    ] {
        items.push(id(app.create(&t, "/api/v1/menu/items", body).await));
    }
    let [soup, steak, salad, cake, wine] = items[..] else {
        unreachable!()
    };
    // An item's preparation time can be changed.
    let (status, patched) = app
        .patch(
            &format!("/api/v1/menu/items/{salad}"),
            &t.owner,
            json!({ "prep_seconds": 300 }),
        )
        .await;
    assert_eq!(
        (status, patched["prep_seconds"].clone()),
        (StatusCode::OK, json!(300))
    );
    let t1 = app
        .create(&t, "/api/v1/tables", json!({ "label": "T1", "seats": 4 }))
        .await;
    let manager_email = format!("boss@{slug}.test");
    let (status, _) = app
        .post(
            "/api/v1/users",
            Some(&t.owner),
            json!({ "email": manager_email, "name": "Boss", "role": "manager", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, login) = app.login(slug, &manager_email, PASSWORD).await;
    let (status, _) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/auth/pin",
            Some(&token_of(&login)),
            Some(json!({ "pin": MANAGER_PIN })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    Menu {
        t,
        grill,
        cold,
        bar,
        soup,
        steak,
        salad,
        cake,
        wine,
        t1: id(t1.clone()),
        t1_code: t1["guest_code"].as_str().unwrap().to_owned(),
        manager_email,
    }
}

fn place(key: &str, table: i64, items: &[i64]) -> Value {
    let lines: Vec<Value> = items
        .iter()
        .map(|i| json!({ "menu_item_id": i, "qty": 1 }))
        .collect();
    json!({ "type": "order.place", "idempotency_key": key, "table_id": table, "source": "dine_in", "lines": lines })
}

fn line(order: &Value, item: i64) -> &Value {
    order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["menu_item_id"] == item)
        .unwrap_or_else(|| panic!("no line of item {item} in {order}"))
}

fn ms(v: &Value) -> i64 {
    serde_json::from_value::<Timestamp>(v.clone())
        .unwrap_or_else(|_| panic!("not a time: {v}"))
        .millis()
}

async fn station_screen(app: &TestApp, m: &Menu, station: i64) -> WsClient {
    let mut ws = WsClient::staff(app, &m.t, "chef").await;
    ws.subscribe(&format!("kitchen:{}:{station}", m.t.id)).await;
    ws
}

async fn event_of(ws: &mut WsClient, kind: &str, order_id: i64) -> Value {
    ws.next_matching(|f| f["kind"] == kind && f["data"]["order_id"] == order_id)
        .await["data"]
        .clone()
}

/// The `ticket.fired` of `station` for order `id` (chefs also get every
/// station's through the kitchen room).
async fn fired_at(ws: &mut WsClient, id: i64, station: i64) -> Value {
    ws.next_matching(|f| {
        f["kind"] == "ticket.fired"
            && f["data"]["order_id"] == id
            && f["data"]["station_id"] == station
    })
    .await["data"]
        .clone()
}

async fn set_line(ws: &mut WsClient, order_id: i64, line_id: &Value, status: &str) -> Value {
    ws.command(json!({ "type": "item.set_status", "order_id": order_id, "line_id": line_id, "status": status }))
        .await
}

/// Later courses are held (shown, not bumpable, no start time) until a
/// waiter fires them; lines of a fired course start so they finish together.
async fn held_courses_wait_until_fired(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let m = menu(&app, "bistro").await;
    let mut grill = station_screen(&app, &m, m.grill).await;
    let mut cold = station_screen(&app, &m, m.cold).await;
    let mut waiter = WsClient::staff(&app, &m.t, "waiter").await;
    let placed = waiter
        .command(place(
            "c1",
            m.t1,
            &[m.soup, m.wine, m.steak, m.salad, m.cake],
        ))
        .await;
    let o = placed["order"].clone();
    let id = o["id"].as_i64().unwrap();
    let created = ms(&o["created_at"]);
    // Course 1 (soup 240 s, wine 60 s) fired at once; wine starts 180 s later.
    let (soup, wine) = (line(&o, m.soup), line(&o, m.wine));
    assert_eq!(
        (soup["course"].clone(), wine["course"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(ms(&soup["fired_at"]), created);
    assert_eq!(ms(&soup["start_at"]), created);
    assert_eq!(ms(&wine["start_at"]), created + 180_000);
    // Mains and dessert held.
    for item in [m.steak, m.salad, m.cake] {
        let l = line(&o, item);
        assert!(l["fired_at"].is_null() && l["start_at"].is_null(), "{l}");
    }
    assert_eq!(line(&o, m.cake)["course"], 3);

    // The grill sees its held steak, with the other stations of the order.
    let ticket = event_of(&mut grill, "ticket.placed", id).await;
    assert!(ticket["lines"][0]["fired_at"].is_null(), "{ticket}");
    // Nothing fired there: no clock runs, so no due time.
    assert!(ticket.get("timer").is_none(), "{ticket}");
    assert_eq!(ticket["also_at"], json!([m.cold, m.bar]));
    let steak = line(&o, m.steak)["id"].clone();
    let refused = set_line(&mut grill, id, &steak, "preparing").await;
    assert_eq!(error_code(&refused), "INVALID_TRANSITION", "{refused}");
    assert_eq!(refused["details"]["current"], "held");

    // The expo's snapshot: who holds the order up, and also-at per station.
    let mut expo = WsClient::staff(&app, &m.t, "chef").await;
    let snap = expo
        .command(json!({ "type": "kitchen.snapshot", "station_id": m.grill }))
        .await;
    let t = &snap["tickets"][0];
    assert_eq!(t["holding"], json!([m.grill, m.cold, m.bar]), "{snap}");
    assert_eq!(t["also_at"], json!([m.cold, m.bar]));
    assert!(t["order"]["lines"][0]["fired_at"].is_null());

    // The waiter fires the mains: steak (900 s) starts at once, the salad
    // (300 s) 600 s later; each station gets its own ticket.fired.
    waiter_fires(&app, &m, &mut waiter, id).await;
    let fired = fired_at(&mut grill, id, m.grill).await;
    assert_eq!(
        (fired["course"].clone(), fired["by"].clone()),
        (json!(2), json!("person"))
    );
    assert_eq!(fired["lines"].as_array().unwrap().len(), 1);
    let at = ms(&fired["fired_at"]);
    assert_eq!(ms(&fired["lines"][0]["start_at"]), at);
    // The grill's clock starts now: due after its default 8 minutes.
    assert_eq!(ms(&fired["timer"]["started_at"]), at);
    assert_eq!(ms(&fired["timer"]["due_at"]), at + 480_000);
    let fired_cold = fired_at(&mut cold, id, m.cold).await;
    assert_eq!(fired_cold["lines"][0]["menu_item_id"], m.salad);
    assert_eq!(ms(&fired_cold["lines"][0]["start_at"]), at + 600_000);
    // The cold kitchen's soup (course 1) is still open: its clock still
    // counts from the soup.
    assert_eq!(ms(&fired_cold["timer"]["started_at"]), created);
    assert_eq!(fired_cold["also_at"], json!([m.grill, m.bar]));
    // Now the steak can be bumped.
    let bumped = set_line(&mut grill, id, &steak, "preparing").await;
    assert_eq!(bumped["type"], "ack", "{bumped}");
    assert!(bumped["order"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["id"] == steak && l["started_at"].is_string()));

    // The dessert over REST.
    let path = format!("/api/v1/orders/{id}/fire");
    let (status, body) = app
        .post(&path, Some(&m.t.owner), json!({ "course": 3 }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(line(&body, m.cake)["fired_at"].is_string());
    let fired = fired_at(&mut cold, id, m.cold).await;
    assert_eq!(fired["course"], 3);
}

/// Fires course 2 of `id`; again is INVALID_TRANSITION; a course the
/// order lacks or out of range is VALIDATION_FAILED.
async fn waiter_fires(app: &TestApp, m: &Menu, waiter: &mut WsClient, id: i64) {
    let fire =
        |course: i64| json!({ "type": "order.fire_course", "order_id": id, "course": course });
    let ack = waiter.command(fire(2)).await;
    assert_eq!(ack["command"], "order.fire_course", "{ack}");
    assert!(line(&ack["order"], m.steak)["fired_at"].is_string());
    assert_eq!(
        error_code(&waiter.command(fire(2)).await),
        "INVALID_TRANSITION"
    );
    for course in [5, 0, 10] {
        let refused = waiter.command(fire(course)).await;
        assert_eq!(error_code(&refused), "VALIDATION_FAILED", "{refused}");
        assert!(
            refused["details"]["fields"]["course"].is_array(),
            "{refused}"
        );
    }
    let _ = app;
}

/// With `fire_next_on: served` (the default) serving the starters fires
/// the mains; with `off` they stay held.
async fn a_course_fires_when_the_one_before_is_served(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let m = menu(&app, "bistro").await;
    let mut grill = station_screen(&app, &m, m.grill).await;
    let mut chef = WsClient::staff(&app, &m.t, "chef").await;
    let mut waiter = WsClient::staff(&app, &m.t, "waiter").await;
    for (key, fire_next_on) in [("s1", "served"), ("s2", "off")] {
        let (status, r) = app
            .patch(
                "/api/v1/restaurant",
                &m.t.owner,
                json!({ "fire_next_on": fire_next_on }),
            )
            .await;
        assert_eq!(
            (status, r["fire_next_on"].clone()),
            (StatusCode::OK, json!(fire_next_on))
        );
        let o = waiter.command(place(key, m.t1, &[m.soup, m.steak])).await["order"].clone();
        let id = o["id"].as_i64().unwrap();
        let soup = line(&o, m.soup)["id"].clone();
        for step in ["preparing", "ready"] {
            assert_eq!(set_line(&mut chef, id, &soup, step).await["type"], "ack");
        }
        let served = set_line(&mut waiter, id, &soup, "served").await;
        let steak = line(&served["order"], m.steak);
        if fire_next_on == "served" {
            assert!(steak["fired_at"].is_string(), "{served}");
            let fired = fired_at(&mut grill, id, m.grill).await;
            assert_eq!(
                (fired["course"].clone(), fired["by"].clone()),
                (json!(2), json!("served"))
            );
        } else {
            assert!(steak["fired_at"].is_null(), "{served}");
            let (_, read) = app.get(&format!("/api/v1/orders/{id}"), &m.t.owner).await;
            assert!(line(&read, m.steak)["fired_at"].is_null());
            assert_eq!(read["status"], "in_progress", "held lines are not ready");
        }
    }
}

/// `fire_after_ready_minutes`: the hub fires the mains that long after
/// the starters were ready, by its clock; two instances fire it once.
async fn a_course_fires_minutes_after_the_one_before_was_ready(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let _second = app.sibling().await;
    let m = menu(&app, "bistro").await;
    let patch = json!({ "fire_next_on": "off", "fire_after_ready_minutes": 5 });
    let (status, r) = app.patch("/api/v1/restaurant", &m.t.owner, patch).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["fire_after_ready_minutes"], 5);
    // Out of range is refused.
    let bad = json!({ "fire_after_ready_minutes": 0, "recall_window_minutes": 241 });
    let refused = app.patch("/api/v1/restaurant", &m.t.owner, bad).await;
    assert_error(
        &refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_FAILED",
    );

    let mut grill = station_screen(&app, &m, m.grill).await;
    let mut chef = WsClient::staff(&app, &m.t, "chef").await;
    let mut waiter = WsClient::staff(&app, &m.t, "waiter").await;
    let o = waiter.command(place("t1", m.t1, &[m.soup, m.steak])).await["order"].clone();
    let id = o["id"].as_i64().unwrap();
    let soup = line(&o, m.soup)["id"].clone();
    for step in ["preparing", "ready"] {
        assert_eq!(set_line(&mut chef, id, &soup, step).await["type"], "ack");
    }
    // Four minutes on: not yet (the sweeper runs every second).
    app.clock.advance_ms(4 * 60_000);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, read) = app.get(&format!("/api/v1/orders/{id}"), &m.t.owner).await;
    assert!(line(&read, m.steak)["fired_at"].is_null(), "{read}");
    // Five: fired by the timer, once.
    app.clock.advance_ms(60_000);
    let fired = fired_at(&mut grill, id, m.grill).await;
    assert_eq!(
        (fired["course"].clone(), fired["by"].clone()),
        (json!(2), json!("timer"))
    );
    assert_eq!(ms(&fired["fired_at"]), app.clock.now());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    grill.assert_alive().await;
    assert!(
        grill.pending_events_of("ticket.fired").is_empty(),
        "fired twice"
    );
}

/// `order.rush` puts an order first in every station's snapshot and tells
/// every station of it.
async fn rush_goes_to_the_top_of_every_station(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let m = menu(&app, "bistro").await;
    let mut grill = station_screen(&app, &m, m.grill).await;
    let mut bar = station_screen(&app, &m, m.bar).await;
    let mut waiter = WsClient::staff(&app, &m.t, "waiter").await;
    let first = waiter.command(place("r1", m.t1, &[m.steak])).await["order"]["id"].clone();
    app.clock.advance_ms(1000);
    let second = waiter.command(place("r2", m.t1, &[m.steak, m.wine])).await["order"]["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/orders/{second}/rush");
    let (status, body) = app.post(&path, Some(&m.t.owner), json!({})).await;
    assert_eq!(
        (status, body["rush"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
    for screen in [&mut grill, &mut bar] {
        let rushed = event_of(screen, "order.rushed", second).await;
        assert_eq!(rushed["rush"], true);
        assert_eq!(rushed["stations"], json!([m.grill, m.bar]));
    }
    let snap = grill
        .command(json!({ "type": "kitchen.snapshot", "station_id": m.grill }))
        .await;
    let order_ids: Vec<&Value> = snap["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["order"]["id"])
        .collect();
    assert_eq!(order_ids, [&json!(second), &first], "{snap}");
    assert_eq!(snap["tickets"][0]["order"]["rush"], true);
    // Taking the rush off over the WebSocket; the same again changes nothing.
    let off = json!({ "type": "order.rush", "order_id": second, "rush": false });
    assert_eq!(waiter.command(off.clone()).await["order"]["rush"], false);
    assert_eq!(
        event_of(&mut grill, "order.rushed", second).await["rush"],
        false
    );
    assert_eq!(waiter.command(off).await["type"], "ack");
    grill.assert_alive().await;
    assert!(grill.pending_events_of("order.rushed").is_empty());
}

/// A ready or served line can be recalled within the window (its timer
/// restarts); after it, INVALID_TRANSITION.
async fn recall_works_within_the_window_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let m = menu(&app, "bistro").await;
    let mut chef = WsClient::staff(&app, &m.t, "chef").await;
    let mut waiter = WsClient::staff(&app, &m.t, "waiter").await;
    let o = waiter.command(place("k1", m.t1, &[m.soup])).await["order"].clone();
    let id = o["id"].as_i64().unwrap();
    let soup = line(&o, m.soup)["id"].clone();
    for step in ["preparing", "ready"] {
        assert_eq!(set_line(&mut chef, id, &soup, step).await["type"], "ack");
    }
    app.clock.advance_ms(9 * 60_000);
    let recalled = set_line(&mut chef, id, &soup, "preparing").await;
    assert_eq!(recalled["type"], "ack", "{recalled}");
    let l = line(&recalled["order"], m.soup);
    assert_eq!(ms(&l["started_at"]), app.clock.now(), "the timer restarts");
    assert!(l["ready_at"].is_null());
    let change = chef
        .next_matching(|f| {
            f["kind"] == "order.line_status_changed"
                && f["data"]["from"] == "ready"
                && f["data"]["status"] == "preparing"
        })
        .await["data"]
        .clone();
    assert_eq!(ms(&change["started_at"]), app.clock.now());
    // Ready and served again; a waiter cannot recall, but a served line
    // can be recalled in time...
    assert_eq!(set_line(&mut chef, id, &soup, "ready").await["type"], "ack");
    assert_eq!(
        set_line(&mut waiter, id, &soup, "served").await["type"],
        "ack"
    );
    let by_waiter = set_line(&mut waiter, id, &soup, "preparing").await;
    assert_eq!(error_code(&by_waiter), "FORBIDDEN");
    app.clock.advance_ms(60_000);
    assert_eq!(
        set_line(&mut chef, id, &soup, "preparing").await["type"],
        "ack"
    );
    assert_eq!(set_line(&mut chef, id, &soup, "ready").await["type"], "ack");
    // ...but not after the window (set to 2 minutes; tokens last 15).
    let patch = json!({ "recall_window_minutes": 2 });
    let (status, _) = app.patch("/api/v1/restaurant", &m.t.owner, patch).await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance_ms(2 * 60_000 + 1);
    let late = set_line(&mut chef, id, &soup, "preparing").await;
    assert_eq!(error_code(&late), "INVALID_TRANSITION", "{late}");
    assert!(
        late["message"].as_str().unwrap().contains("recall window"),
        "{late}"
    );
    assert_eq!(late["details"]["recall_window_minutes"], 2);
    assert_eq!(late["details"]["current"], "ready");
}

/// Every void and cancel needs a reason; voiding a fired line needs a
/// manager's approval (audited with the approver), a held line does not.
async fn voids_need_a_reason_and_fired_lines_an_approval(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let m = menu(&app, "bistro").await;
    let mut waiter = WsClient::staff(&app, &m.t, "waiter").await;
    let mut grill = station_screen(&app, &m, m.grill).await;
    let o = waiter
        .command(place("v1", m.t1, &[m.soup, m.wine, m.steak]))
        .await["order"]
        .clone();
    let id = o["id"].as_i64().unwrap();
    let (soup, wine, steak) = (
        line(&o, m.soup)["id"].clone(),
        line(&o, m.wine)["id"].clone(),
        line(&o, m.steak)["id"].clone(),
    );
    let void = |line: &Value, reason: &str, approval: Value| {
        let mut cmd =
            json!({ "type": "item.void", "order_id": id, "line_id": line, "reason": reason });
        if !approval.is_null() {
            cmd["approval"] = approval;
        }
        cmd
    };
    // No reason (or only blanks): refused, per field.
    for reason in ["", "   "] {
        let refused = waiter.command(void(&soup, reason, Value::Null)).await;
        assert_eq!(error_code(&refused), "VALIDATION_FAILED", "{refused}");
        assert!(
            refused["details"]["fields"]["reason"].is_array(),
            "{refused}"
        );
    }
    let long = "x".repeat(201);
    assert_eq!(
        error_code(&waiter.command(void(&soup, &long, Value::Null)).await),
        "VALIDATION_FAILED"
    );
    // A held line (the steak): no approval needed, stock back.
    let held = waiter
        .command(void(&steak, "guest changed mind", Value::Null))
        .await;
    assert_eq!(held["type"], "ack", "{held}");
    assert_eq!(
        line(&held["order"], m.steak)["void_reason"],
        "guest changed mind"
    );
    let voided = event_of(&mut grill, "order.line_status_changed", id).await;
    assert_eq!(
        (voided["reason"].clone(), voided["wasted"].clone()),
        (json!("guest changed mind"), json!(false))
    );
    // A fired line: a waiter needs a manager's approval.
    let refused = waiter.command(void(&soup, "too salty", Value::Null)).await;
    assert_eq!(error_code(&refused), "APPROVAL_REQUIRED", "{refused}");
    let wrong = json!({ "email": m.manager_email, "pin": "0000" });
    let refused = waiter.command(void(&soup, "too salty", wrong)).await;
    assert_eq!(error_code(&refused), "APPROVAL_REQUIRED", "{refused}");
    let (_, read) = app.get(&format!("/api/v1/orders/{id}"), &m.t.owner).await;
    assert_eq!(
        line(&read, m.soup)["status"],
        "queued",
        "refusals change nothing"
    );
    let approval = json!({ "email": m.manager_email, "pin": MANAGER_PIN });
    let ok = waiter.command(void(&soup, "too salty", approval)).await;
    assert_eq!(ok["type"], "ack", "{ok}");
    // A manager needs none (over REST).
    let (_, login) = app.login("bistro", &m.manager_email, PASSWORD).await;
    let path = format!("/api/v1/orders/{id}/lines/{wine}/void");
    let (status, body) = app
        .post(
            &path,
            Some(&token_of(&login)),
            json!({ "reason": "corked" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "cancelled");

    // The audit trail: the approver and the reason, waste flagged.
    let (_, trail) = app
        .get("/api/v1/audit?action=order.voided", &m.t.owner)
        .await;
    let entries = trail["items"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{trail}");
    let salty = entries
        .iter()
        .find(|e| e["after"]["void_reason"] == "too salty")
        .unwrap();
    assert_eq!(salty["reason"], "too salty");
    assert_eq!(salty["after"]["fired"], true);
    let (_, users) = app.get("/api/v1/users", &m.t.owner).await;
    let manager_id = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == m.manager_email.as_str())
        .unwrap()["id"]
        .clone();
    assert_eq!(salty["after"]["approved_by"], manager_id);

    // Cancelling needs a reason too, kept on the event.
    let o = waiter.command(place("v2", m.t1, &[m.soup])).await["order"]["id"].clone();
    let cancel = |reason: &str| json!({ "type": "order.cancel", "order_id": o, "reason": reason });
    assert_eq!(
        error_code(
            &waiter
                .command(json!({ "type": "order.cancel", "order_id": o }))
                .await
        ),
        "VALIDATION_FAILED"
    );
    let path = format!("/api/v1/orders/{o}/cancel");
    let refused = app.post(&path, Some(&m.t.owner), json!({})).await;
    assert_error(
        &refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_FAILED",
    );
    assert_eq!(
        waiter.command(cancel("wrong table")).await["order"]["status"],
        "cancelled"
    );
    let id = o.as_i64().unwrap();
    let cancelled = event_of(&mut waiter, "order.cancelled", id).await;
    assert_eq!(cancelled["reason"], "wrong table");
}

/// Guests, wrong roles and other restaurants cannot fire, rush or void.
async fn guests_roles_and_other_tenants_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let m = menu(&app, "bistro").await;
    let other = menu(&app, "rival").await;
    let mut waiter = WsClient::staff(&app, &m.t, "waiter").await;
    let o = waiter.command(place("g1", m.t1, &[m.soup, m.steak])).await["order"].clone();
    let id = o["id"].as_i64().unwrap();
    let soup = line(&o, m.soup)["id"].clone();
    let fire = json!({ "type": "order.fire_course", "order_id": id, "course": 2 });
    let rush = json!({ "type": "order.rush", "order_id": id });
    let void = json!({ "type": "item.void", "order_id": id, "line_id": soup, "reason": "x" });

    let mut guest = WsClient::guest(&app, &m.t1_code).await;
    for cmd in [&fire, &rush, &void] {
        assert_eq!(
            error_code(&guest.command(cmd.clone()).await),
            "FORBIDDEN",
            "{cmd}"
        );
    }
    let mut cashier = WsClient::staff(&app, &m.t, "cashier").await;
    for cmd in [&fire, &rush] {
        assert_eq!(error_code(&cashier.command(cmd.clone()).await), "FORBIDDEN");
    }
    let mut chef = WsClient::staff(&app, &m.t, "chef").await;
    assert_eq!(error_code(&chef.command(void.clone()).await), "FORBIDDEN");
    // Another restaurant's waiter and owner: the order does not exist.
    let mut rival = WsClient::staff(&app, &other.t, "waiter").await;
    for cmd in [&fire, &rush, &void] {
        assert_eq!(
            error_code(&rival.command(cmd.clone()).await),
            "NOT_FOUND",
            "{cmd}"
        );
    }
    let path = format!("/api/v1/orders/{id}/fire");
    let refused = app
        .post(&path, Some(&other.t.owner), json!({ "course": 2 }))
        .await;
    assert_error(&refused, StatusCode::NOT_FOUND, "NOT_FOUND");
    // Nothing changed.
    let (_, read) = app.get(&format!("/api/v1/orders/{id}"), &m.t.owner).await;
    assert!(line(&read, m.steak)["fired_at"].is_null());
    assert_eq!(
        (read["rush"].clone(), line(&read, m.soup)["status"].clone()),
        (json!(false), json!("queued"))
    );
    // A course out of range over REST, and an unknown field.
    let path = format!("/api/v1/orders/{id}/fire");
    let bad = app
        .post(&path, Some(&m.t.owner), json!({ "course": 12 }))
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let bad = app
        .post(&path, Some(&m.t.owner), json!({ "course": 2, "now": true }))
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let _ = (m.cake, m.salad, other.soup);
}

crate::both_backends!(
    held_courses_wait_until_fired,
    a_course_fires_when_the_one_before_is_served,
    a_course_fires_minutes_after_the_one_before_was_ready,
    rush_goes_to_the_top_of_every_station,
    recall_works_within_the_window_only,
    voids_need_a_reason_and_fired_lines_an_approval,
    guests_roles_and_other_tenants_are_refused,
);
