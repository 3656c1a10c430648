//! What one placement announces, on both backends: a free table turns
//! occupied exactly once however many first orders race for it, and
//! `order.placed` carries the order's real `placed_seq`, live and replayed.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::orders::{floor, order};
use crate::support::*;
use crate::ws_client::WsClient;

async fn concurrent_first_orders_occupy_the_table_once(backend: Backend) {
    let app = Arc::new(TestApp::spawn(backend).await);
    let f = floor(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (mut screen, welcome) = WsClient::join(&app, &waiter).await;
    let start = welcome["seq"].as_u64().unwrap();

    // Ten first orders on free T1 at once: an untracked item (no stock
    // statement) and a tracked one.
    let mut tasks = Vec::new();
    for n in 0..10 {
        let (app, waiter) = (app.clone(), waiter.clone());
        let item = if n % 2 == 0 { f.bread } else { f.steak };
        let body = json!({ "idempotency_key": format!("first-{n}"), "table_id": f.t1,
                           "source": "dine_in", "lines": [{ "menu_item_id": item, "qty": 1 }] });
        tasks.push(tokio::spawn(async move {
            app.post("/api/v1/orders", Some(&waiter), body).await
        }));
    }
    for task in tasks {
        let (status, reply) = task.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{reply}");
    }

    // The log holds one free→occupied for T1 ...
    let end = app.store.current_seq(f.t.id).await.unwrap();
    let log = app
        .store
        .events_between(f.t.id, start, end, 1000)
        .await
        .unwrap();
    let occupied: Vec<_> = log
        .iter()
        .filter(|e| e.kind == "table.status_changed")
        .map(|e| serde_json::from_str::<serde_json::Value>(e.data.get()).unwrap())
        .collect();
    assert_eq!(
        occupied,
        [json!({ "table_id": f.t1, "from": "free", "status": "occupied" })]
    );
    assert_eq!(log.iter().filter(|e| e.kind == "order.placed").count(), 10);
    // ... and the waiter's screen received exactly one.
    let mut seen = 0;
    let mut placed = 0;
    while placed < 10 {
        let e = screen.next_of("event").await;
        match e["kind"].as_str() {
            Some("table.status_changed") => seen += 1,
            Some("order.placed") => placed += 1,
            _ => {}
        }
    }
    screen.assert_alive().await;
    seen += screen.pending_events_of("table.status_changed").len();
    assert_eq!(seen, 1);
    let (_, table) = app
        .get(&format!("/api/v1/tables/{}", f.t1), &f.t.owner)
        .await;
    assert_eq!(table["status"], "occupied", "{table}");
}

/// A screen that says hello with `since`: what it missed is replayed.
async fn resumed(app: &TestApp, token: &str, since: u64) -> WsClient {
    let mut ws = WsClient::connect(app).await;
    ws.send(json!({ "type": "hello", "token": token, "since": since }))
        .await;
    let welcome = ws.recv().await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    ws
}

async fn order_placed_carries_the_real_placed_seq(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (mut ws, welcome) = WsClient::join(&app, &waiter).await;
    let start = welcome["seq"].as_u64().unwrap();
    // One order with no other event before it, then one after others (a
    // stock change and the table's), so its seq is not the batch's only one.
    let plain = json!([{ "menu_item_id": f.bread, "qty": 1 }]);
    let tracked = json!([{ "menu_item_id": f.steak, "qty": 2 }]);
    let mut acks: Vec<Value> = Vec::new();
    for (key, table, lines) in [("s1", f.t1, plain), ("s2", f.t2, tracked)] {
        let ack = ws.command(order(key, table, lines)).await;
        assert_eq!(ack["type"], "ack", "{ack}");
        acks.push(ack);
    }
    let live: Vec<Value> = {
        let mut out = Vec::new();
        while out.len() < 2 {
            let e = ws.next_of("event").await;
            if e["kind"] == "order.placed" {
                out.push(e);
            }
        }
        out
    };
    for (event, ack) in live.iter().zip(&acks) {
        let seq = event["seq"].as_u64().unwrap();
        assert!(seq > start);
        assert_eq!(event["data"]["placed_seq"], seq, "{event}");
        assert_eq!(ack["order"]["placed_seq"], seq, "{ack}");
        assert_eq!(event["data"], ack["order"]);
    }
    // Replayed from the log after a reconnect, the same.
    let mut again = resumed(&app, &waiter, start).await;
    for (event, ack) in live.iter().zip(&acks) {
        let replayed = again
            .next_matching(|e| e["type"] == "event" && e["kind"] == "order.placed")
            .await;
        assert_eq!(replayed["seq"], event["seq"]);
        assert_eq!(replayed["data"]["placed_seq"], event["seq"], "{replayed}");
        assert_eq!(replayed["data"], ack["order"]);
    }
    // And read back over REST.
    let id = acks[1]["order"]["id"].as_i64().unwrap();
    let (_, read) = app.get(&format!("/api/v1/orders/{id}"), &waiter).await;
    assert_eq!(read["placed_seq"], live[1]["seq"]);
}

/// An idempotency key is its caller's own: the same key from a guest at
/// another table, or from a waiter, places another order, and never reveals
/// or swallows the first (issue 17, item 2).
async fn idempotency_keys_belong_to_their_caller(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let (_, t2) = app
        .get(&format!("/api/v1/tables/{}", f.t2), &f.t.owner)
        .await;
    let guest1 = app.guest_token(&f.t1_code).await;
    let guest2 = app.guest_token(t2["guest_code"].as_str().unwrap()).await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let body = |table: i64, source: &str| {
        json!({ "idempotency_key": "table-order-0001", "table_id": table, "source": source,
            "lines": [{ "menu_item_id": f.bread, "qty": 1 }] })
    };
    let (status, first) = app
        .post("/api/v1/orders", Some(&guest1), body(f.t1, "qr"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, second) = app
        .post("/api/v1/orders", Some(&guest2), body(f.t2, "qr"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["duplicate"], false);
    assert_eq!(second["order"]["table_id"], f.t2);
    assert_ne!(second["order"]["id"], first["order"]["id"]);
    let (status, third) = app
        .post("/api/v1/orders", Some(&waiter), body(f.t2, "dine_in"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{third}");
    // A retry by the same caller is still the same order.
    let (status, again) = app
        .post("/api/v1/orders", Some(&guest1), body(f.t1, "qr"))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        (&again["duplicate"], &again["order"]["id"]),
        (&json!(true), &first["order"]["id"])
    );
    assert_eq!(app.store.order_count(f.t.id).await.unwrap(), 3);
}

/// A manager's menu change made through one instance reaches the next order
/// placed through another, which had placed (and, on PostgreSQL, kept the
/// facts of) the item before: the price, the name and a new modifier group
/// with its price are what the order is decided from.
async fn a_menu_change_on_one_instance_reaches_orders_on_another(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.sibling().await;
    let f = floor(&app, "menus").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (mut ws, _) = WsClient::join(&app, &waiter).await;
    let bread = |n: i64| json!([{ "menu_item_id": f.bread, "qty": n }]);
    let first = ws.command(order("menu-1", f.t1, bread(2))).await;
    assert_eq!(first["type"], "ack", "{first}");
    assert_eq!(first["order"]["total_cents"], 600);

    let path = format!("/api/v1/menu/items/{}", f.bread);
    let change = json!({ "price_cents": 350, "name": "Sourdough" });
    let (status, reply) = other.patch(&path, &f.t.owner, change).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let second = ws.command(order("menu-2", f.t1, bread(2))).await;
    assert_eq!(second["type"], "ack", "{second}");
    assert_eq!(second["order"]["total_cents"], 700, "{second}");
    assert_eq!(second["order"]["lines"][0]["name"], "Sourdough");

    let group = json!({ "name": "Spread", "min_choices": 1, "max_choices": 1,
                        "options": [{ "name": "Butter", "price_delta_cents": 40 }] });
    let group = other
        .create(&f.t, &format!("{path}/modifier-groups"), group)
        .await;
    let butter = group["options"][0]["id"].as_i64().unwrap();
    // The group is required now: an order without a choice is refused ...
    let refused = ws.command(order("menu-3", f.t1, bread(1))).await;
    assert_eq!(refused["type"], "error", "{refused}");
    // ... and one with it pays for it.
    let lines = json!([{ "menu_item_id": f.bread, "qty": 1, "choices": [butter] }]);
    let third = ws.command(order("menu-4", f.t1, lines)).await;
    assert_eq!(third["type"], "ack", "{third}");
    assert_eq!(third["order"]["total_cents"], 390, "{third}");
}

crate::both_backends!(
    a_menu_change_on_one_instance_reaches_orders_on_another,
    idempotency_keys_belong_to_their_caller,
    concurrent_first_orders_occupy_the_table_once,
    order_placed_carries_the_real_placed_seq,
);

/// A hub on a new PostgreSQL database gives the planner its first statistics
/// of `orders` once orders come in, without waiting for autovacuum's first
/// pass (until then, a pool connection's cached lookups by idempotency key
/// walked every order of the restaurant: `Store::analyze_new_tables`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_databases_orders_get_statistics_as_orders_come() {
    let app = TestApp::spawn_with(Backend::Postgres, &["--account-write-rate-limit", "0"]).await;
    let f = floor(&app, "bistro").await;
    let raw = sqlx::PgPool::connect(&app.db.database_url().unwrap())
        .await
        .unwrap();
    let analyzed = || async {
        sqlx::query_scalar::<_, bool>(
            "SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL \
             FROM pg_stat_user_tables WHERE relname = 'orders'",
        )
        .fetch_one(&raw)
        .await
        .unwrap()
    };
    assert!(
        !analyzed().await,
        "a new database's orders have no statistics"
    );
    let mut placed = 0;
    while !analyzed().await {
        assert!(placed < 1_000, "not analyzed after {placed} orders");
        for _ in 0..25 {
            let body = json!({ "idempotency_key": format!("o{placed}"), "source": "takeaway",
                               "lines": [{ "menu_item_id": f.bread, "qty": 1 }] });
            let (status, reply) = app.post("/api/v1/orders", Some(&f.t.owner), body).await;
            assert_eq!(status, StatusCode::CREATED, "{reply}");
            placed += 1;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // (Autovacuum may come first, if it passes by in these seconds; it
    // waits for at least 50 changed rows.)
    assert!(placed >= 50, "analyzed after only {placed} orders");
    raw.close().await;
}
