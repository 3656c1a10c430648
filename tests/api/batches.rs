//! Placements written together (issue 22), over real sockets: on PostgreSQL
//! a restaurant's queued placements share one transaction. Whatever shares
//! a batch, stock stays exact, each order is whole (placed, or refused
//! with nothing of it written), a screen gets every event once, in seq
//! order with no gap, and a retry changes nothing. On PostgreSQL the test
//! holds the hot item's row so that the burst queues behind one placement
//! and is written as a batch (the orders' `xmin` shows it); SQLite writes
//! one placement at a time and must give the same answers.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::orders::{floor, order};
use crate::support::*;
use crate::ws_client::{error_code, WsClient};

/// A transaction of the test's own holding one menu item's row, so
/// placements that take its stock wait in PostgreSQL.
struct Hold {
    raw: sqlx::PgPool,
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
}

impl Hold {
    async fn item(app: &TestApp, item: i64) -> Hold {
        let raw = sqlx::PgPool::connect(&app.db.database_url().unwrap())
            .await
            .unwrap();
        let mut tx = raw.begin().await.unwrap();
        sqlx::query("SELECT 1 FROM menu_items WHERE id = $1 FOR UPDATE")
            .bind(item)
            .execute(&mut *tx)
            .await
            .unwrap();
        Hold { raw, tx }
    }

    /// Polls until `done` holds of the database (10 s at most).
    async fn until(&self, what: &str, done: impl Fn(i64) -> bool, sql: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let n: i64 = sqlx::query_scalar(sql).fetch_one(&self.raw).await.unwrap();
            if done(n) {
                return;
            }
            assert!(Instant::now() < deadline, "{what}: still {n}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Placements waiting on a row lock.
    async fn until_waiting(&self, n: i64) {
        let sql = "SELECT count(*) FROM pg_stat_activity \
                   WHERE datname = current_database() AND wait_event_type = 'Lock'";
        self.until("placements waiting on the row", |w| w == n, sql)
            .await;
    }

    /// The last order id drawn (every placement's opening read draws one).
    async fn drawn(&self) -> i64 {
        sqlx::query_scalar("SELECT last_value FROM orders_id_seq")
            .fetch_one(&self.raw)
            .await
            .unwrap()
    }

    async fn release(self) -> sqlx::PgPool {
        self.tx.commit().await.unwrap();
        self.raw
    }
}

async fn a_batch_keeps_stock_exact_and_each_order_whole(backend: Backend) {
    let app = Arc::new(TestApp::spawn(backend).await);
    let f = floor(&app, "bistro").await;
    let (status, _) = app
        .patch(
            &format!("/api/v1/menu/items/{}", f.steak),
            &f.t.owner,
            json!({ "stock": 5 }),
        )
        .await;
    assert!(status.is_success());
    let (_, chef) = app.staff(&f.t, "chef").await;
    let (mut kitchen, welcome) = WsClient::join(&app, &chef).await;
    let start = welcome["seq"].as_u64().unwrap();
    let (_, waiter) = app.staff(&f.t, "waiter").await;

    let steak = |qty: i64| json!([{ "menu_item_id": f.steak, "qty": qty }]);
    let bread = |qty: i64| json!([{ "menu_item_id": f.bread, "qty": qty }]);
    // Five steaks are left: nine orders want one each.
    let mut burst: Vec<(String, Value)> =
        (0..8).map(|i| (format!("steak-{i}"), steak(1))).collect();
    // A burger with more steak than there is: refused whole (the burger too).
    burst.push((
        "greedy".into(),
        json!([{ "menu_item_id": f.burger, "qty": 1 }, { "menu_item_id": f.steak, "qty": 10 }]),
    ));
    burst.extend((0..3).map(|i| (format!("bread-{i}"), bread(1))));
    // The same order twice at once (a retry racing its original) ...
    burst.push(("twice".into(), bread(1)));
    burst.push(("twice".into(), bread(1)));
    // ... a key reused for another order at the same moment ...
    burst.push(("reused".into(), bread(1)));
    burst.push(("reused".into(), bread(2)));
    // ... and an order of an item that does not exist.
    burst.push((
        "invalid".into(),
        json!([{ "menu_item_id": 999_999, "qty": 1 }]),
    ));
    let mut sockets = Vec::new();
    for _ in 0..=burst.len() {
        sockets.push(WsClient::join(&app, &waiter).await.0);
    }

    // On PostgreSQL the first placement waits on the steak's row, and the
    // burst queues behind it; once all of it has been read and decided,
    // the row is let go and the queue is written as a batch.
    let hold = match backend {
        Backend::Postgres => Some(Hold::item(&app, f.steak).await),
        Backend::Sqlite => None,
    };
    sockets[0]
        .send(order("first", f.t1, steak(1)).tap_id(0))
        .await;
    if let Some(hold) = &hold {
        hold.until_waiting(1).await;
    }
    let drawn = match &hold {
        Some(hold) => hold.drawn().await,
        None => 0,
    };
    for (i, (key, lines)) in burst.iter().enumerate() {
        sockets[i + 1]
            .send(order(key, f.t1, lines.clone()).tap_id(i as i64 + 1))
            .await;
    }
    let raw = match hold {
        Some(hold) => {
            let n = burst.len() as i64;
            let sql = "SELECT last_value FROM orders_id_seq";
            hold.until("the burst read", |last| last >= drawn + n, sql)
                .await;
            // The last reads' placements join the queue as their replies arrive.
            tokio::time::sleep(Duration::from_millis(200)).await;
            Some(hold.release().await)
        }
        None => None,
    };

    let mut replies = Vec::new();
    for ws in &mut sockets {
        replies.push(ws.next_reply().await);
    }
    let by_key = |key: &str| -> Vec<&Value> {
        let mut out = Vec::new();
        for (i, (k, _)) in burst.iter().enumerate() {
            if k == key {
                out.push(&replies[i + 1]);
            }
        }
        out
    };
    // Nine orders of one steak (the first among them) for five.
    let mut steaks: Vec<&Value> = (0..8).flat_map(|i| by_key(&format!("steak-{i}"))).collect();
    steaks.push(&replies[0]);
    let placed = steaks.iter().filter(|r| outcome(r) == "ack").count();
    let short = steaks
        .iter()
        .filter(|r| outcome(r) == "OUT_OF_STOCK")
        .count();
    assert_eq!((placed, short), (5, 4), "{steaks:?}");
    let greedy = by_key("greedy")[0];
    assert_eq!(error_code(greedy), "OUT_OF_STOCK", "{greedy}");
    assert_eq!(greedy["details"]["items"][0]["menu_item_id"], f.steak);
    for i in 0..3 {
        let r = by_key(&format!("bread-{i}"))[0];
        assert_eq!(r["type"], "ack", "{r}");
    }
    let twice = by_key("twice");
    assert!(twice.iter().all(|r| r["type"] == "ack"), "{twice:?}");
    assert_eq!(twice[0]["order"]["id"], twice[1]["order"]["id"]);
    let duplicates: BTreeSet<bool> = twice
        .iter()
        .map(|r| r["duplicate"].as_bool().unwrap())
        .collect();
    assert_eq!(duplicates, BTreeSet::from([false, true]));
    let reused = by_key("reused");
    let codes: BTreeSet<&str> = reused.iter().map(|r| outcome(r)).collect();
    assert_eq!(codes, BTreeSet::from(["ack", "CONFLICT"]), "{reused:?}");
    assert_eq!(
        error_code(by_key("invalid")[0]),
        "VALIDATION_FAILED",
        "{:?}",
        by_key("invalid")
    );

    // Exact stock: the five steaks went, the refused burger did not.
    let item = |id: i64| {
        let app = app.clone();
        let owner = f.t.owner.clone();
        async move { app.get(&format!("/api/v1/menu/items/{id}"), &owner).await.1 }
    };
    assert_eq!(item(f.steak).await["stock"], 0);
    assert_eq!(item(f.steak).await["available"], false, "sold out");
    assert_eq!(item(f.burger).await["stock"], 20);
    // 5 steaks + 3 breads + twice + reused.
    let placed_orders = 10;
    assert_eq!(app.store.order_count(f.t.id).await.unwrap(), placed_orders);

    if let Some(raw) = raw {
        // The burst was written together: one transaction holds most of it.
        let most: i64 = sqlx::query_scalar(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM orders WHERE restaurant_id = $1 \
             GROUP BY xmin::TEXT) AS x",
        )
        .bind(f.t.id)
        .fetch_one(&raw)
        .await
        .unwrap();
        assert!(most >= 4, "the largest transaction wrote {most} orders");
        raw.close().await;
    }

    // The kitchen got every event once, in seq order with no gap, and one
    // order.placed per order placed, each at the seq its ack gave.
    let acked: BTreeSet<u64> = replies
        .iter()
        .filter(|r| r["type"] == "ack" && r["duplicate"] == false)
        .map(|r| r["order"]["placed_seq"].as_u64().unwrap())
        .collect();
    assert_eq!(acked.len() as i64, placed_orders);
    let mut seen = BTreeSet::new();
    let mut last = start;
    while (seen.len() as i64) < placed_orders {
        let e = kitchen.next_of("event").await;
        assert_eq!(e["prev"].as_u64().unwrap(), last, "{e}");
        last = e["seq"].as_u64().unwrap();
        if e["kind"] == "order.placed" {
            assert_eq!(e["data"]["placed_seq"], last, "{e}");
            seen.insert(last);
        }
    }
    assert_eq!(seen, acked);
    kitchen.assert_alive().await;
    assert!(kitchen.pending_events_of("order.placed").is_empty());
    // The events after the last order.placed (its stock's) follow on.
    while let Some(e) = kitchen.take_pending_event() {
        assert_eq!(e["prev"].as_u64().unwrap(), last, "{e}");
        last = e["seq"].as_u64().unwrap();
    }
    let end = app.store.current_seq(f.t.id).await.unwrap();

    // Retried, every key gives what it gave, and nothing is written.
    for (i, (key, lines)) in burst.iter().enumerate() {
        let again = sockets[i + 1]
            .command(order(key, f.t1, lines.clone()))
            .await;
        let before = &replies[i + 1];
        if outcome(before) == "ack" || key == "reused" && outcome(before) == "CONFLICT" {
            // The key's order (a reuse with the other body stays refused).
            let original = by_key(key)
                .into_iter()
                .find(|r| r["type"] == "ack")
                .unwrap();
            if outcome(before) == "ack" {
                assert_eq!(again["duplicate"], true, "{again}");
                assert_eq!(again["order"], original["order"]);
            } else {
                assert_eq!(outcome(&again), "CONFLICT", "{again}");
            }
        } else {
            assert_eq!(outcome(&again), outcome(before), "{key}: {again}");
        }
    }
    assert_eq!(app.store.order_count(f.t.id).await.unwrap(), placed_orders);
    assert_eq!(app.store.current_seq(f.t.id).await.unwrap(), end);
    assert_eq!(item(f.burger).await["stock"], 20);
    kitchen.assert_alive().await;
    assert!(kitchen.no_pending_events(), "a retry published an event");
}

/// "ack", or the error's code.
fn outcome(reply: &Value) -> &str {
    if reply["type"] == "ack" {
        "ack"
    } else {
        error_code(reply)
    }
}

/// Sets a command frame's `id`.
trait TapId {
    fn tap_id(self, id: i64) -> Value;
}

impl TapId for Value {
    fn tap_id(mut self, id: i64) -> Value {
        self["id"] = json!(id);
        self
    }
}

crate::both_backends!(a_batch_keeps_stock_exact_and_each_order_whole);
