//! A stored value that cannot be read back is an error, never a default: a
//! row corrupted behind the hub's back makes the API answer INTERNAL (500),
//! not an order without modifiers, an event that goes nowhere, or a table
//! in no status.

use reqwest::StatusCode;
use serde_json::json;

use crate::orders::{floor, order};
use crate::support::*;
use crate::ws_client::{error_code, WsClient};

/// Runs `sql` on the hub's database, behind its back and past its CHECK
/// constraints (as a bad migration or a hand edit would).
async fn corrupt(app: &TestApp, sql: &str) {
    match app.db.database_url() {
        Some(url) => {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query(
                "ALTER TABLE dining_tables DROP CONSTRAINT IF EXISTS dining_tables_status_check",
            )
            .execute(&pool)
            .await
            .unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        None => {
            let path = app.db.dir.path().join("restohub.db");
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            sqlx::query("PRAGMA ignore_check_constraints = ON")
                .execute(&pool)
                .await
                .unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

async fn corrupt_rows_are_internal_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (mut ws, welcome) = WsClient::join(&app, &waiter).await;
    let start = welcome["seq"].as_u64().unwrap();
    let lines = json!([{ "menu_item_id": f.bread, "qty": 1, "modifiers": ["warm"] }]);
    let ack = ws.command(order("c1", f.t1, lines)).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let id = ack["order"]["id"].as_i64().unwrap();
    let path = format!("/api/v1/orders/{id}");
    assert_eq!(app.get(&path, &waiter).await.0, StatusCode::OK);

    // An order line's modifiers: the order cannot be read, alone or in a
    // snapshot.
    corrupt(
        &app,
        &format!("UPDATE order_lines SET modifiers = 'warm' WHERE order_id = {id}"),
    )
    .await;
    assert_error(
        &app.get(&path, &waiter).await,
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
    );
    let snapshot = ws.command(json!({ "type": "table.snapshot" })).await;
    assert_eq!(error_code(&snapshot), "INTERNAL", "{snapshot}");

    // An event's rooms: the log cannot be read past it (it would otherwise
    // go to no room), and a screen resuming from before it is told to
    // resync instead of silently missing it.
    corrupt(
        &app,
        &format!(
            "UPDATE events SET rooms = 'kitchen' WHERE restaurant_id = {} AND seq = {}",
            f.t.id,
            start + 1
        ),
    )
    .await;
    let mut resuming = WsClient::connect(&app).await;
    resuming
        .send(json!({ "type": "hello", "token": waiter, "since": start }))
        .await;
    let reply = resuming.recv().await;
    assert_eq!(reply["type"], "welcome", "{reply}");
    assert_eq!(reply["resync_required"], true, "{reply}");
    let end = app.store.current_seq(f.t.id).await.unwrap();
    let read = app.store.events_between(f.t.id, start, end, 100).await;
    let err = read.expect_err("a corrupt event is an error");
    assert!(
        err.to_string().contains(&format!("event {}", start + 1)),
        "the error names the row: {err}"
    );

    // A table's status: placing on it is not decided on a guess.
    corrupt(
        &app,
        &format!(
            "UPDATE dining_tables SET status = 'on fire' WHERE id = {}",
            f.t2
        ),
    )
    .await;
    let body = json!({ "idempotency_key": "c2", "table_id": f.t2, "source": "dine_in",
                       "lines": [{ "menu_item_id": f.bread, "qty": 1 }] });
    assert_error(
        &app.post("/api/v1/orders", Some(&waiter), body).await,
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
    );
    assert_eq!(app.store.order_count(f.t.id).await.unwrap(), 1);
}

/// A check's split or kept figures: the check cannot be read, nor paid on
/// a guess.
async fn corrupt_checks_are_internal_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let mut ws = WsClient::staff(&app, &f.t, "waiter").await;
    let lines = json!([{ "menu_item_id": f.bread, "qty": 2 }]);
    assert_eq!(ws.command(order("k1", f.t1, lines)).await["type"], "ack");
    let (status, check) = app
        .post("/api/v1/checks", Some(&waiter), json!({ "table_id": f.t1 }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{check}");
    let id = check["id"].as_i64().unwrap();
    let path = format!("/api/v1/checks/{id}");
    for (column, value) in [("split", "'{\"by\":\"thirds\"}'"), ("frozen", "'[1, 2'")] {
        corrupt(
            &app,
            &format!("UPDATE checks SET {column} = {value} WHERE id = {id}"),
        )
        .await;
        assert_error(
            &app.get(&path, &waiter).await,
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
        );
        let pay = json!({ "idempotency_key": column, "method": "cash", "amount_cents": 600 });
        assert_error(
            &app.post(&format!("{path}/payments"), Some(&waiter), pay)
                .await,
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
        );
        corrupt(
            &app,
            &format!("UPDATE checks SET {column} = NULL WHERE id = {id}"),
        )
        .await;
    }
    let facts = app.store.check_facts(f.t.id, id).await.unwrap().unwrap();
    assert_eq!(facts.check.paid_cents, 0, "nothing was paid on a guess");
}

crate::both_backends!(
    corrupt_rows_are_internal_errors,
    corrupt_checks_are_internal_errors
);
