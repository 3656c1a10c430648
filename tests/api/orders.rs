//! Placing orders over real sockets: no oversell under concurrency, no
//! duplicate on retry, bad input changes nothing, and each screen gets the
//! events meant for it.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;
use crate::ws_client::{error_code, WsClient};

/// A restaurant with a grill and a bar, a few items and two tables.
pub struct Floor {
    pub t: Tenant,
    pub grill: i64,
    pub bar: i64,
    pub steak: i64,
    pub burger: i64,
    pub wine: i64,
    pub bread: i64,
    pub t1: i64,
    pub t1_code: String,
    pub t2: i64,
}

pub async fn floor(app: &TestApp, slug: &str) -> Floor {
    let t = app.tenant(slug).await;
    let id = |v: Value| v["id"].as_i64().unwrap();
    let grill = id(app
        .create(&t, "/api/v1/stations", json!({ "name": "Grill" }))
        .await);
    let bar = id(app
        .create(&t, "/api/v1/stations", json!({ "name": "Bar" }))
        .await);
    let item = |name: &str, price: i64, station: i64, stock: Option<i64>| json!({ "name": name, "price_cents": price, "station_id": station, "stock": stock, "low_stock_threshold": 2 });
    let steak = id(app
        .create(
            &t,
            "/api/v1/menu/items",
            item("Steak", 2500, grill, Some(50)),
        )
        .await);
    let burger = id(app
        .create(
            &t,
            "/api/v1/menu/items",
            item("Burger", 1500, grill, Some(20)),
        )
        .await);
    let wine = id(app
        .create(&t, "/api/v1/menu/items", item("Wine", 800, bar, Some(20)))
        .await);
    let bread = id(app
        .create(&t, "/api/v1/menu/items", item("Bread", 300, grill, None))
        .await);
    let t1 = app
        .create(&t, "/api/v1/tables", json!({ "label": "T1", "seats": 4 }))
        .await;
    let t2 = id(app
        .create(&t, "/api/v1/tables", json!({ "label": "T2", "seats": 2 }))
        .await);
    Floor {
        t,
        grill,
        bar,
        steak,
        burger,
        wine,
        bread,
        t1: t1["id"].as_i64().unwrap(),
        t1_code: t1["guest_code"].as_str().unwrap().to_owned(),
        t2,
    }
}

pub fn order(key: &str, table: i64, lines: Value) -> Value {
    json!({ "type": "order.place", "idempotency_key": key, "table_id": table, "source": "dine_in", "lines": lines })
}

async fn stock(app: &TestApp, f: &Floor, item: i64) -> Value {
    app.get(&format!("/api/v1/menu/items/{item}"), &f.t.owner)
        .await
        .1["stock"]
        .clone()
}

async fn concurrent_placements_never_oversell(backend: Backend) {
    let app = Arc::new(TestApp::spawn(backend).await);
    let f = floor(&app, "bistro").await;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let (mut kitchen, welcome) = WsClient::join(&app, &chef).await;
    let start_seq = welcome["seq"].as_u64().unwrap();

    // 200 placements of one steak (stock 50) over 20 connections at once.
    let mut waiters = Vec::new();
    for _ in 0..4 {
        waiters.push(app.staff(&f.t, "waiter").await.1);
    }
    let mut tasks = Vec::new();
    for c in 0..20 {
        let (mut ws, _) = WsClient::join(&app, &waiters[c % 4]).await;
        let (steak, t1) = (f.steak, f.t1);
        tasks.push(tokio::spawn(async move {
            for n in 0..10 {
                let key = format!("k-{c}-{n}");
                ws.send(json!({ "type": "order.place", "id": n, "idempotency_key": key, "table_id": t1,
                                "source": "dine_in", "lines": [{ "menu_item_id": steak, "qty": 1 }] }))
                    .await;
            }
            let mut replies = Vec::new();
            for _ in 0..10 {
                replies.push(ws.next_reply().await);
            }
            replies
        }));
    }
    let (mut placed, mut short, mut other) = (0, 0, Vec::new());
    for task in tasks {
        for reply in task.await.unwrap() {
            match (reply["type"].as_str(), reply["code"].as_str()) {
                (Some("ack"), _) => placed += 1,
                (Some("error"), Some("OUT_OF_STOCK")) => {
                    assert_eq!(reply["details"]["items"][0]["available"], 0, "{reply}");
                    short += 1
                }
                _ => other.push(reply),
            }
        }
    }
    assert!(other.is_empty(), "unexpected replies: {other:?}");
    assert_eq!((placed, short), (50, 150));
    assert_eq!(stock(&app, &f, f.steak).await, 0);
    assert_eq!(app.store.order_count(f.t.id).await.unwrap(), 50);

    // The kitchen saw exactly 50 order.placed, seq strictly increasing, prev chained.
    let mut seqs = Vec::new();
    let mut last = start_seq;
    while seqs.len() < 50 {
        let e = kitchen.next_of("event").await;
        assert_eq!(e["prev"].as_u64().unwrap(), last, "{e}");
        last = e["seq"].as_u64().unwrap();
        if e["kind"] == "order.placed" {
            seqs.push(last);
        }
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    kitchen.assert_alive().await;
    assert!(
        kitchen.pending_events_of("order.placed").is_empty(),
        "more than 50 order.placed"
    );
}

async fn overlapping_multi_item_orders_are_all_or_nothing(backend: Backend) {
    let app = Arc::new(TestApp::spawn(backend).await);
    let f = floor(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    // Burger 20, Wine 20, Steak 50; orders take items in different orders.
    let shapes = [
        vec![(f.burger, 2), (f.wine, 1)],
        vec![(f.wine, 2), (f.burger, 1)],
        vec![(f.steak, 1), (f.wine, 1), (f.burger, 1)],
        vec![(f.burger, 3), (f.steak, 2)],
    ];
    let mut tasks = Vec::new();
    for c in 0..8 {
        let app = app.clone();
        let waiter = waiter.clone();
        let shapes = shapes.clone();
        let t1 = f.t1;
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for n in 0..5 {
                let shape = &shapes[(c + n) % shapes.len()];
                let lines: Vec<Value> = shape.iter().map(|(i, q)| json!({ "menu_item_id": i, "qty": q })).collect();
                let body = json!({ "idempotency_key": format!("m-{c}-{n}"), "table_id": t1, "source": "dine_in", "lines": lines });
                let (status, reply) = app.post("/api/v1/orders", Some(&waiter), body).await;
                match status {
                    StatusCode::CREATED => won.push(shape.clone()),
                    StatusCode::CONFLICT => assert_eq!(reply["error"]["code"], "OUT_OF_STOCK", "{reply}"),
                    other => panic!("{other}: {reply}"),
                }
            }
            won
        }));
    }
    let mut taken = std::collections::HashMap::<i64, i64>::new();
    let mut orders = 0;
    for task in tasks {
        for shape in task.await.unwrap() {
            orders += 1;
            for (item, qty) in shape {
                *taken.entry(item).or_default() += qty;
            }
        }
    }
    assert_eq!(app.store.order_count(f.t.id).await.unwrap(), orders);
    for (item, initial) in [(f.burger, 20), (f.wine, 20), (f.steak, 50)] {
        let left = stock(&app, &f, item).await.as_i64().unwrap();
        assert_eq!(
            left,
            initial - taken.get(&item).copied().unwrap_or(0),
            "item {item}"
        );
        assert!(left >= 0);
    }
    assert!(
        taken[&f.burger] > 0 && orders < 40,
        "the burger should have run out"
    );
}

async fn a_retried_key_returns_the_same_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (mut ws, _) = WsClient::join(&app, &waiter).await;
    let lines = json!([{ "menu_item_id": f.steak, "qty": 2, "note": "rare" }]);
    let first = ws.command(order("retry-1", f.t1, lines.clone())).await;
    assert_eq!(first["type"], "ack", "{first}");
    assert_eq!(first["command"], "order.place");
    assert_eq!(first["duplicate"], false);
    // The reply was lost; the phone retries, over REST this time.
    let body = json!({ "idempotency_key": "retry-1", "table_id": f.t1, "source": "dine_in", "lines": lines });
    let (status, again) = app.post("/api/v1/orders", Some(&waiter), body).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["order"], first["order"]);
    assert_eq!(stock(&app, &f, f.steak).await, 48);
    assert_eq!(app.store.order_count(f.t.id).await.unwrap(), 1);
    // The same key for a different order is a conflict.
    let other = ws
        .command(order(
            "retry-1",
            f.t1,
            json!([{ "menu_item_id": f.steak, "qty": 3 }]),
        ))
        .await;
    assert_eq!(error_code(&other), "CONFLICT");
    assert_eq!(stock(&app, &f, f.steak).await, 48);
    // The order reads back as placed.
    let id = first["order"]["id"].as_i64().unwrap();
    let (_, read) = app.get(&format!("/api/v1/orders/{id}"), &waiter).await;
    assert_eq!(read, first["order"]);
    assert_eq!(read["total_cents"], 5000);
    assert_eq!(read["lines"][0]["name"], "Steak");
    assert_eq!(read["lines"][0]["status"], "queued");
}

async fn bad_orders_change_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let other = floor(&app, "elsewhere").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let (mut ws, _) = WsClient::join(&app, &waiter).await;
    app.patch(
        &format!("/api/v1/menu/items/{}", f.wine),
        &f.t.owner,
        json!({ "available": false }),
    )
    .await;
    let line = |item: i64, qty: i64| json!({ "menu_item_id": item, "qty": qty });
    let many: Vec<Value> = (0..51).map(|_| line(f.bread, 1)).collect();
    let cases: Vec<(Value, &str, &str)> = vec![
        (order("b1", f.t1, json!([])), "VALIDATION_FAILED", "lines"),
        (order("b2", f.t1, json!(many)), "VALIDATION_FAILED", "lines"),
        (
            order("b3", f.t1, json!([line(f.steak, 0)])),
            "VALIDATION_FAILED",
            "lines[0].qty",
        ),
        (
            order("b4", f.t1, json!([line(f.steak, 100)])),
            "VALIDATION_FAILED",
            "lines[0].qty",
        ),
        (
            order(
                "b5",
                f.t1,
                json!([{ "menu_item_id": f.steak, "qty": 1, "note": "x".repeat(201) }]),
            ),
            "VALIDATION_FAILED",
            "lines[0].note",
        ),
        (
            order("b6", f.t1, json!([line(999_999, 1)])),
            "VALIDATION_FAILED",
            "lines[0].menu_item_id",
        ),
        (
            order("b7", f.t1, json!([line(other.steak, 1)])),
            "VALIDATION_FAILED",
            "lines[0].menu_item_id",
        ),
        (
            order("b8", f.t1, json!([line(f.steak, 1), line(f.wine, 1)])),
            "VALIDATION_FAILED",
            "lines[1].menu_item_id",
        ),
        (
            order("b9", other.t1, json!([line(f.steak, 1)])),
            "VALIDATION_FAILED",
            "table_id",
        ),
        (
            json!({ "type": "order.place", "idempotency_key": "b10", "source": "dine_in", "lines": [line(f.steak, 1)] }),
            "VALIDATION_FAILED",
            "table_id",
        ),
        (
            json!({ "type": "order.place", "idempotency_key": "b11", "source": "drive_thru", "table_id": f.t1, "lines": [line(f.steak, 1)] }),
            "VALIDATION_FAILED",
            "source",
        ),
        (
            json!({ "type": "order.place", "idempotency_key": "", "table_id": f.t1, "source": "dine_in", "lines": [line(f.steak, 1)] }),
            "VALIDATION_FAILED",
            "idempotency_key",
        ),
        (
            order(
                "b13",
                f.t1,
                json!([{ "menu_item_id": f.steak, "qty": 1, "modifiers": ["x".repeat(51)] }]),
            ),
            "VALIDATION_FAILED",
            "lines[0].modifiers",
        ),
        (
            order("b14", f.t1, json!([line(f.steak, 51)])),
            "OUT_OF_STOCK",
            "",
        ),
        (
            order("b15", f.t1, json!([line(f.burger, 5), line(f.steak, 51)])),
            "OUT_OF_STOCK",
            "",
        ),
    ];
    for (frame, code, field) in cases {
        let reply = ws.command(frame.clone()).await;
        assert_eq!(error_code(&reply), code, "{frame}: {reply}");
        if !field.is_empty() {
            assert!(
                reply["details"]["fields"][field].is_array(),
                "{field} not named: {reply}"
            );
        }
    }
    let (mut chef_ws, _) = WsClient::join(&app, &chef).await;
    let refused = chef_ws
        .command(order("c1", f.t1, json!([line(f.steak, 1)])))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    // A guest orders for its own table only, as qr.
    let mut guest_ws = WsClient::guest(&app, &f.t1_code).await;
    let elsewhere = json!({ "type": "order.place", "idempotency_key": "g1", "table_id": f.t2, "source": "qr", "lines": [line(f.steak, 1)] });
    assert_eq!(error_code(&guest_ws.command(elsewhere).await), "FORBIDDEN");
    let as_waiter = json!({ "type": "order.place", "idempotency_key": "g2", "source": "dine_in", "lines": [line(f.steak, 1)] });
    assert_eq!(
        error_code(&guest_ws.command(as_waiter).await),
        "VALIDATION_FAILED"
    );
    // A burger short by one names it and what is left; nothing was taken.
    let short = ws
        .command(order(
            "b16",
            f.t1,
            json!([line(f.burger, 21), line(f.steak, 1)]),
        ))
        .await;
    assert_eq!(
        short["details"]["items"],
        json!([{ "menu_item_id": f.burger, "name": "Burger", "requested": 21, "available": 20 }])
    );

    for (item, left) in [(f.steak, 50), (f.burger, 20), (f.wine, 20)] {
        assert_eq!(stock(&app, &f, item).await, left);
    }
    assert_eq!(app.store.order_count(f.t.id).await.unwrap(), 0);
    let (_, table) = app
        .get(&format!("/api/v1/tables/{}", f.t1), &f.t.owner)
        .await;
    assert_eq!(table["status"], "free");
    ws.assert_alive().await;
    // Over REST the same refusals have the REST shape.
    let (status, body) = app.post("/api/v1/orders", Some(&waiter), json!({ "idempotency_key": "r1", "table_id": f.t1, "source": "dine_in", "lines": [line(f.steak, 51)] })).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("OUT_OF_STOCK"))
    );
}

crate::both_backends!(
    concurrent_placements_never_oversell,
    overlapping_multi_item_orders_are_all_or_nothing,
    a_retried_key_returns_the_same_order,
    bad_orders_change_nothing,
);

/// Reads events until a ping round trip, returning (kind, data) of each.
async fn drain_events(ws: &mut WsClient) -> Vec<(String, Value)> {
    ws.assert_alive().await;
    let mut out = Vec::new();
    while let Some(e) = ws.take_pending_event() {
        out.push((e["kind"].as_str().unwrap().to_owned(), e["data"].clone()));
    }
    out
}

fn kinds(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(k, _)| k.as_str()).collect()
}

async fn each_screen_gets_exactly_its_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let r = f.t.id;
    let screen = async |role: &str, only: Option<i64>| {
        let (_, token) = app.staff(&f.t, role).await;
        let (mut ws, _) = WsClient::join(&app, &token).await;
        if let Some(station) = only {
            for room in [
                format!("restaurant:{r}"),
                format!("kitchen:{r}"),
                format!("role:{r}:chef"),
            ] {
                ws.command(json!({ "type": "unsubscribe", "room": room }))
                    .await;
            }
            ws.subscribe(&format!("kitchen:{r}:{station}")).await;
        }
        ws
    };
    let mut grill = screen("chef", Some(f.grill)).await;
    let mut bar = screen("chef", Some(f.bar)).await;
    let mut expo = screen("chef", None).await;
    let mut waiter = screen("waiter", None).await;
    let mut cashier = screen("cashier", None).await;
    let guest_at = async |code: &str| {
        let (_, g) = app
            .post(
                "/api/v1/guest-sessions",
                None,
                json!({ "table_code": code }),
            )
            .await;
        WsClient::join(&app, &token_of(&g)).await.0
    };
    let mut guest_t1 = guest_at(&f.t1_code).await;
    let (_, t2) = app
        .get(&format!("/api/v1/tables/{}", f.t2), &f.t.owner)
        .await;
    let mut guest_t2 = guest_at(t2["guest_code"].as_str().unwrap()).await;

    let lines = json!([
        { "menu_item_id": f.steak, "qty": 1 },
        { "menu_item_id": f.wine, "qty": 1 },
        { "menu_item_id": f.bread, "qty": 2, "note": "warm" },
    ]);
    let placed = waiter.command(order("route-1", f.t1, lines)).await;
    assert_eq!(placed["type"], "ack", "{placed}");
    let order_id = placed["order"]["id"].clone();

    let grill_events = drain_events(&mut grill).await;
    assert_eq!(kinds(&grill_events), ["ticket.placed"]);
    let names: Vec<&str> = grill_events[0].1["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Steak", "Bread"]);
    assert_eq!(grill_events[0].1["order_id"], order_id);
    let bar_events = drain_events(&mut bar).await;
    assert_eq!(kinds(&bar_events), ["ticket.placed"]);
    assert_eq!(bar_events[0].1["lines"].as_array().unwrap().len(), 1);
    assert_eq!(bar_events[0].1["lines"][0]["name"], "Wine");

    let staff_view = [
        "order.placed",
        "menu.stock_changed",
        "menu.stock_changed",
        "table.status_changed",
    ];
    let expo_events = drain_events(&mut expo).await;
    assert_eq!(kinds(&expo_events), staff_view);
    assert_eq!(expo_events[0].1["lines"].as_array().unwrap().len(), 3);
    assert_eq!(
        expo_events[1].1,
        json!({ "menu_item_id": f.steak, "name": "Steak", "stock": 49 })
    );
    assert_eq!(
        expo_events[3].1,
        json!({ "table_id": f.t1, "from": "free", "status": "occupied" })
    );
    assert_eq!(kinds(&drain_events(&mut waiter).await), staff_view);
    assert_eq!(kinds(&drain_events(&mut guest_t1).await), staff_view);
    assert_eq!(
        kinds(&drain_events(&mut cashier).await),
        [
            "menu.stock_changed",
            "menu.stock_changed",
            "table.status_changed"
        ]
    );
    assert_eq!(
        kinds(&drain_events(&mut guest_t2).await),
        ["menu.stock_changed", "menu.stock_changed"]
    );
}

async fn low_stock_and_sold_out_are_announced(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let (mut owner, _) = WsClient::join(&app, &f.t.owner).await;
    let burger = |qty: i64| json!([{ "menu_item_id": f.burger, "qty": qty }]);
    // 20 → 3: above the threshold of 2, nothing but the stock.
    owner.command(order("s1", f.t1, burger(17))).await;
    let k: Vec<String> = drain_events(&mut owner)
        .await
        .into_iter()
        .map(|e| e.0)
        .filter(|k| k.starts_with("menu."))
        .collect();
    assert_eq!(k, ["menu.stock_changed"]);
    // 3 → 2 crosses it: low stock.
    owner.command(order("s2", f.t1, burger(1))).await;
    let k: Vec<String> = drain_events(&mut owner)
        .await
        .into_iter()
        .map(|e| e.0)
        .filter(|k| k.starts_with("menu."))
        .collect();
    assert_eq!(k, ["menu.stock_changed", "menu.stock_low"]);
    // 2 → 0: sold out, 86'd, and the next order is OUT_OF_STOCK.
    owner.command(order("s3", f.t1, burger(2))).await;
    let events = drain_events(&mut owner).await;
    let k: Vec<&str> = kinds(&events)
        .into_iter()
        .filter(|k| k.starts_with("menu."))
        .collect();
    assert_eq!(k, ["menu.stock_changed", "menu.availability_changed"]);
    let (_, item) = app
        .get(&format!("/api/v1/menu/items/{}", f.burger), &f.t.owner)
        .await;
    assert_eq!(
        (item["stock"].as_i64(), item["available"].as_bool()),
        (Some(0), Some(false))
    );
    let again = owner.command(order("s4", f.t1, burger(1))).await;
    assert_eq!(error_code(&again), "OUT_OF_STOCK");
}

/// An order committed but never published (its request was cancelled after
/// the commit) still reaches the screens, in order, from the event log.
async fn a_committed_but_unpublished_order_is_delivered_from_the_log(backend: Backend) {
    // The log's periodic read is ten minutes away: only noticing the gap
    // can bring the missing order in time.
    let app = TestApp::spawn_with(backend, &["--event-poll-ms", "600000"]).await;
    let f = floor(&app, "bistro").await;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let (mut expo, welcome) = WsClient::join(&app, &chef).await;
    let start = welcome["seq"].as_u64().unwrap();
    let lines = [crate::storage::plain_line(f.bread, 1)];
    let request = restohub::app::orders::plan::Request {
        restaurant_id: f.t.id,
        table_id: Some(f.t1),
        source: restohub_protocol::api::orders::OrderSource::DineIn,
        note: "",
        lines: &lines,
        placed_by_user: None,
        placed_by_role: restohub_protocol::Role::Waiter,
        idempotency_key: "lost-publish",
        request_hash: "h",
        now: T0,
    };
    let placement = crate::storage::Placement {
        request,
        clock: &restohub::clock::SystemClock,
    };
    let kitchen = vec![restohub_protocol::ws::Room::Kitchen(f.t.id)];
    let outcome = crate::storage::place(&app.store, &placement, move |o, _| {
        let placed = restohub_protocol::events::OrderPlaced { order: o.clone() };
        vec![restohub::storage::EventDraft::new(kitchen.clone(), placed)]
    })
    .await;
    assert!(matches!(
        outcome,
        restohub::storage::PlaceOutcome::Placed { .. }
    ));
    // The next order is published normally; the hub notices the gap.
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let body = json!({ "idempotency_key": "after", "table_id": f.t1, "source": "dine_in", "lines": [{ "menu_item_id": f.bread, "qty": 1 }] });
    assert_eq!(
        app.post("/api/v1/orders", Some(&waiter), body).await.0,
        StatusCode::CREATED
    );
    let first = expo.next_of("event").await;
    assert_eq!(
        (first["seq"].as_u64(), first["prev"].as_u64()),
        (Some(start + 1), Some(start)),
        "{first}"
    );
    assert_eq!(first["kind"], "order.placed");
    let second = expo.next_of("event").await;
    assert_eq!(second["prev"], first["seq"]);
}

mod routing {
    use super::*;
    crate::both_backends!(
        each_screen_gets_exactly_its_events,
        low_stock_and_sold_out_are_announced,
        a_committed_but_unpublished_order_is_delivered_from_the_log,
    );
}
