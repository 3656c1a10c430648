//! Menu stock and 86ing, calling a waiter, table status, and the snapshots
//! a screen draws before live events.

use serde_json::json;

use crate::orders::{floor, order};
use crate::support::*;
use crate::ws_client::{error_code, WsClient};

async fn menu_changes_reach_guests_live(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let mut c = WsClient::staff(&app, &f.t, "chef").await;
    let mut guest = WsClient::guest(&app, &f.t1_code).await;
    let set_stock = |stock: serde_json::Value| json!({ "type": "menu.set_stock", "menu_item_id": f.wine, "stock": stock });

    let zero = c.command(set_stock(json!(0))).await;
    assert_eq!(
        (
            zero["item"]["stock"].as_i64(),
            zero["item"]["available"].as_bool()
        ),
        (Some(0), Some(false)),
        "{zero}"
    );
    let e1 = guest.next_of("event").await;
    let e2 = guest.next_of("event").await;
    assert_eq!(
        (e1["kind"].as_str(), e1["data"]["stock"].as_i64()),
        (Some("menu.stock_changed"), Some(0))
    );
    assert_eq!(
        (e2["kind"].as_str(), e2["data"]["available"].as_bool()),
        (Some("menu.availability_changed"), Some(false))
    );
    let unavailable = c
        .command(json!({ "type": "menu.set_available", "menu_item_id": f.wine, "available": true }))
        .await;
    assert_eq!(
        error_code(&unavailable),
        "INVALID_TRANSITION",
        "nothing to sell"
    );
    let back = c.command(set_stock(json!(5))).await;
    assert_eq!(back["item"]["available"], true, "restocking brings it back");
    guest.next_of("event").await;
    assert_eq!(guest.next_of("event").await["data"]["available"], true);
    // 86 by hand with stock left, then untrack.
    let eighty_six = c
        .command(
            json!({ "type": "menu.set_available", "menu_item_id": f.wine, "available": false }),
        )
        .await;
    assert_eq!(
        (
            eighty_six["item"]["available"].as_bool(),
            eighty_six["item"]["stock"].as_i64()
        ),
        (Some(false), Some(5))
    );
    assert_eq!(
        c.command(set_stock(json!(null))).await["item"]["stock"],
        json!(null)
    );

    let mut w = WsClient::staff(&app, &f.t, "waiter").await;
    assert_eq!(
        error_code(&w.command(set_stock(json!(3))).await),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(&c.command(set_stock(json!(-1))).await),
        "VALIDATION_FAILED"
    );
    let missing = c
        .command(json!({ "type": "menu.set_stock", "menu_item_id": f.wine }))
        .await;
    assert_eq!(error_code(&missing), "VALIDATION_FAILED");
    assert!(
        missing["details"]["fields"]["stock"].is_array(),
        "{missing}"
    );
    let nothing = c
        .command(json!({ "type": "menu.set_stock", "menu_item_id": 999_999, "stock": 1 }))
        .await;
    assert_eq!(error_code(&nothing), "NOT_FOUND");

    // The REST API's stock changes are events too.
    let (status, _) = app
        .patch(
            &format!("/api/v1/menu/items/{}", f.steak),
            &f.t.owner,
            json!({ "stock": 2 }),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let e = guest
        .next_matching(|e| {
            e["kind"] == "menu.stock_changed" && e["data"]["menu_item_id"] == f.steak
        })
        .await;
    assert_eq!(e["data"]["stock"], 2);
}

async fn guests_call_a_waiter_and_staff_set_tables(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (mut w, _) = WsClient::join(&app, &waiter).await;
    let mut guest = WsClient::guest(&app, &f.t1_code).await;

    let called = guest.command(json!({ "type": "table.call_waiter" })).await;
    assert_eq!(called["table_id"], f.t1, "{called}");
    let call = w
        .next_matching(|e| e["kind"] == "table.waiter_called")
        .await;
    assert_eq!(
        (
            call["data"]["table_id"].as_i64(),
            call["data"]["label"].as_str()
        ),
        (Some(f.t1), Some("T1"))
    );
    let elsewhere = guest
        .command(json!({ "type": "table.call_waiter", "table_id": f.t2 }))
        .await;
    assert_eq!(error_code(&elsewhere), "FORBIDDEN");
    assert_eq!(
        error_code(&w.command(json!({ "type": "table.call_waiter" })).await),
        "VALIDATION_FAILED"
    );

    let set = w
        .command(json!({ "type": "table.set_status", "table_id": f.t2, "status": "reserved" }))
        .await;
    assert_eq!(set["table"]["status"], "reserved", "{set}");
    assert!(
        set["table"].get("guest_code").is_none(),
        "waiters do not see QR secrets"
    );
    let changed = w
        .next_matching(|e| e["kind"] == "table.status_changed")
        .await;
    assert_eq!(
        (
            changed["data"]["from"].as_str(),
            changed["data"]["status"].as_str()
        ),
        (Some("free"), Some("reserved"))
    );
    let guest_set = guest
        .command(json!({ "type": "table.set_status", "table_id": f.t1, "status": "free" }))
        .await;
    assert_eq!(error_code(&guest_set), "FORBIDDEN");
}

async fn snapshots_are_consistent_with_their_seq(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (mut w, _) = WsClient::join(&app, &waiter).await;
    let both = w
        .command(order(
            "one",
            f.t1,
            json!([{ "menu_item_id": f.steak, "qty": 1 }, { "menu_item_id": f.wine, "qty": 2 }]),
        ))
        .await;
    let bar_only = w
        .command(order(
            "two",
            f.t2,
            json!([{ "menu_item_id": f.wine, "qty": 1 }]),
        ))
        .await;
    let takeaway = json!({ "type": "order.place", "idempotency_key": "three", "source": "takeaway", "lines": [{ "menu_item_id": f.bread, "qty": 1 }] });
    let three = w.command(takeaway).await;
    assert_eq!(three["order"]["table_id"], json!(null));
    app.clock.advance_ms(90_000);

    let (_, chef) = app.staff(&f.t, "chef").await;
    let (mut c, _) = WsClient::join(&app, &chef).await;
    let grill = c
        .command(json!({ "type": "kitchen.snapshot", "station_id": f.grill }))
        .await;
    let tickets = grill["tickets"].as_array().unwrap();
    let ids: Vec<&serde_json::Value> = tickets.iter().map(|t| &t["order"]["id"]).collect();
    assert_eq!(
        ids,
        [&both["order"]["id"], &three["order"]["id"]],
        "the bar-only order is not the grill's"
    );
    assert_eq!(
        tickets[0]["order"]["lines"].as_array().unwrap().len(),
        1,
        "only grill lines"
    );
    assert_eq!(tickets[0]["age_ms"], 90_000);
    let current = app.store.current_seq(f.t.id).await.unwrap();
    assert_eq!(grill["seq"], current);
    let expo = c.command(json!({ "type": "kitchen.snapshot" })).await;
    assert_eq!(expo["tickets"].as_array().unwrap().len(), 3);
    let _ = bar_only;

    // Close one: it leaves the kitchen; the next event follows the snapshot's seq.
    let id = both["order"]["id"].as_i64().unwrap();
    let cancel = w
        .command(json!({ "type": "order.cancel", "order_id": id, "reason": "changed their mind" }))
        .await;
    assert_eq!(cancel["type"], "ack");
    let after = c.command(json!({ "type": "kitchen.snapshot" })).await;
    assert_eq!(after["tickets"].as_array().unwrap().len(), 2);
    let first_new = c.next_of("event").await;
    assert_eq!(first_new["seq"].as_u64(), Some(current + 1));

    // A guest sees its own table only. (The cancel ended the last visit and
    // gave the table a new code.)
    let (_, table) = app
        .get(&format!("/api/v1/tables/{}", f.t1), &f.t.owner)
        .await;
    let code = table["guest_code"].as_str().unwrap();
    assert_ne!(code, f.t1_code);
    let mut guest = WsClient::guest(&app, code).await;
    let mine = guest.command(json!({ "type": "table.snapshot" })).await;
    let tables = mine["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 1, "{mine}");
    assert_eq!(tables[0]["table"]["id"], f.t1);
    assert!(tables[0]["table"].get("guest_code").is_none());
    assert_eq!(tables[0]["orders"], json!([]), "its order was cancelled");
    assert_eq!(
        error_code(
            &guest
                .command(json!({ "type": "table.snapshot", "table_id": f.t2 }))
                .await
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(&guest.command(json!({ "type": "kitchen.snapshot" })).await),
        "FORBIDDEN"
    );
    let all = w.command(json!({ "type": "table.snapshot" })).await;
    let t2 = all["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"]["id"] == f.t2)
        .unwrap()
        .clone();
    assert_eq!(t2["orders"].as_array().unwrap().len(), 1);

    let menu = guest.command(json!({ "type": "menu.snapshot" })).await;
    let steak = menu["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == f.steak)
        .unwrap()
        .clone();
    assert_eq!(steak["stock"], 50, "the cancelled steak came back");
    assert_eq!(menu["seq"], app.store.current_seq(f.t.id).await.unwrap());
}

crate::both_backends!(
    menu_changes_reach_guests_live,
    guests_call_a_waiter_and_staff_set_tables,
    snapshots_are_consistent_with_their_seq,
);
