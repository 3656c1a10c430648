//! The kitchen lifecycle over real sockets: bumps, serving, closing,
//! cancelling and voiding, with each screen's exact events.

use serde_json::{json, Value};

use crate::orders::{floor, order, Floor};
use crate::support::*;
use crate::ws_client::{error_code, WsClient};

async fn kinds(ws: &mut WsClient) -> Vec<String> {
    ws.assert_alive().await;
    let mut out = Vec::new();
    while let Some(e) = ws.take_pending_event() {
        out.push(e["kind"].as_str().unwrap().to_owned());
    }
    out
}

fn list(items: &[(&str, usize)]) -> Vec<String> {
    items
        .iter()
        .flat_map(|(k, n)| std::iter::repeat_n(k.to_string(), *n))
        .collect()
}

async fn station_screen(app: &TestApp, f: &Floor, station: i64) -> WsClient {
    let (_, token) = app.staff(&f.t, "chef").await;
    let (mut ws, _) = WsClient::join(app, &token).await;
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

fn line_id(order: &Value, name: &str) -> i64 {
    order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

async fn bump(ws: &mut WsClient, order_id: i64, line: i64, status: &str) -> Value {
    let reply = ws
        .command(json!({ "type": "item.set_status", "order_id": order_id, "line_id": line, "status": status }))
        .await;
    assert_eq!(reply["type"], "ack", "{reply}");
    reply["order"].clone()
}

async fn a_full_service_reaches_each_screen_exactly(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let mut grill = station_screen(&app, &f, f.grill).await;
    let mut bar = station_screen(&app, &f, f.bar).await;
    let mut expo = WsClient::staff(&app, &f.t, "chef").await;
    let mut waiter = WsClient::staff(&app, &f.t, "waiter").await;
    let mut cashier = WsClient::staff(&app, &f.t, "cashier").await;
    let mut guest = WsClient::guest(&app, &f.t1_code).await;

    let lines = json!([{ "menu_item_id": f.steak, "qty": 1 }, { "menu_item_id": f.wine, "qty": 1 }, { "menu_item_id": f.bread, "qty": 1 }]);
    let placed = waiter.command(order("svc", f.t1, lines)).await;
    let o = placed["order"].clone();
    let id = o["id"].as_i64().unwrap();
    let (steak, wine, bread) = (
        line_id(&o, "Steak"),
        line_id(&o, "Wine"),
        line_id(&o, "Bread"),
    );

    assert_eq!(
        bump(&mut grill, id, steak, "preparing").await["status"],
        "in_progress"
    );
    bump(&mut grill, id, steak, "ready").await;
    bump(&mut grill, id, bread, "preparing").await;
    bump(&mut grill, id, bread, "ready").await;
    bump(&mut bar, id, wine, "preparing").await;
    assert_eq!(bump(&mut bar, id, wine, "ready").await["status"], "ready");
    let served = waiter
        .command(json!({ "type": "order.set_status", "order_id": id, "status": "served" }))
        .await;
    assert_eq!(served["order"]["status"], "served", "{served}");
    assert!(served["order"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["status"] == "served"));
    // No check was paid here: a manager closes the order, with a reason
    // (paying closes it by itself; see checks.rs).
    let (_, closed) = app
        .post(
            &format!("/api/v1/orders/{id}/status"),
            Some(&f.t.owner),
            json!({ "status": "closed", "reason": "settled outside the hub" }),
        )
        .await;
    assert_eq!(closed["status"], "closed", "{closed}");
    let (_, table) = app
        .get(&format!("/api/v1/tables/{}", f.t1), &f.t.owner)
        .await;
    assert_eq!(table["status"], "cleaning");

    let line = "order.line_status_changed";
    let status = "order.status_changed";
    assert_eq!(
        kinds(&mut grill).await,
        list(&[("ticket.placed", 1), (line, 6)])
    );
    assert_eq!(
        kinds(&mut bar).await,
        list(&[("ticket.placed", 1), (line, 3)])
    );
    let placement = [
        ("order.placed", 1),
        ("menu.stock_changed", 2),
        ("table.status_changed", 1),
    ];
    let mut expo_expected = list(&placement);
    expo_expected.extend(list(&[
        (line, 1),
        (status, 1),
        (line, 5),
        (status, 1),
        (line, 3),
        (status, 1),
        (status, 1),
        ("table.status_changed", 1),
    ]));
    assert_eq!(kinds(&mut expo).await, expo_expected);
    // The guest follows its order like the expo, to the table being
    // cleared, which ends its visit and its session.
    let (events, code) = guest.events_until_closed().await;
    let guest_kinds: Vec<String> = events
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(guest_kinds, expo_expected);
    assert_eq!(code, restohub_protocol::ws::close::SESSION_REVOKED);
    let mut waiter_expected = list(&placement);
    // The waiter who placed it also hears "your order is ready".
    waiter_expected.extend(list(&[
        (status, 2),
        ("order.ready", 1),
        (status, 2),
        ("table.status_changed", 1),
    ]));
    assert_eq!(kinds(&mut waiter).await, waiter_expected);
    assert_eq!(
        kinds(&mut cashier).await,
        list(&[("menu.stock_changed", 2), ("table.status_changed", 2)])
    );
}

async fn cancel_and_void_return_stock_only_when_nothing_was_cooked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (mut ws, _) = WsClient::join(&app, &waiter).await;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let (mut kitchen, _) = WsClient::join(&app, &chef).await;
    let stock = async |item: i64| {
        app.get(&format!("/api/v1/menu/items/{item}"), &f.t.owner)
            .await
            .1
    };

    // Sell the steak out (50): it is 86'd; cancelling brings it back.
    let all = ws
        .command(order(
            "all",
            f.t1,
            json!([{ "menu_item_id": f.steak, "qty": 50 }]),
        ))
        .await;
    let all_id = all["order"]["id"].as_i64().unwrap();
    assert_eq!(stock(f.steak).await["available"], false);
    kinds(&mut kitchen).await;
    let cancelled = ws
        .command(
            json!({ "type": "order.cancel", "order_id": all_id, "reason": "changed their mind" }),
        )
        .await;
    assert_eq!(cancelled["order"]["status"], "cancelled", "{cancelled}");
    let item = stock(f.steak).await;
    assert_eq!(
        (item["stock"].as_i64(), item["available"].as_bool()),
        (Some(50), Some(true))
    );
    let k = kinds(&mut kitchen).await;
    assert!(
        k.contains(&"order.cancelled".to_string())
            && k.contains(&"menu.availability_changed".to_string()),
        "{k:?}"
    );

    // Void a queued line: stock back. Void a line being cooked: waste.
    let two = ws
        .command(order(
            "two",
            f.t1,
            json!([{ "menu_item_id": f.steak, "qty": 2 }, { "menu_item_id": f.burger, "qty": 3 }]),
        ))
        .await;
    let o = two["order"].clone();
    let id = o["id"].as_i64().unwrap();
    let (steak, burger) = (line_id(&o, "Steak"), line_id(&o, "Burger"));
    bump(&mut kitchen, id, burger, "preparing").await;
    // Something is cooking: no cancellation.
    let refused = ws
        .command(json!({ "type": "order.cancel", "order_id": id, "reason": "changed their mind" }))
        .await;
    assert_eq!(error_code(&refused), "INVALID_TRANSITION");
    assert_eq!(refused["details"]["current"], "preparing");
    // Both lines were fired with the order: the waiter voids them with
    // the owner's approval and a reason.
    let approval = json!({ "email": "owner@bistro.test", "password": PASSWORD });
    let voided = ws
        .command(json!({ "type": "item.void", "order_id": id, "line_id": steak, "reason": "sent back", "approval": approval }))
        .await;
    assert_eq!(voided["type"], "ack", "{voided}");
    assert_eq!(stock(f.steak).await["stock"], 50);
    ws.command(json!({ "type": "item.void", "order_id": id, "line_id": burger, "reason": "burnt", "approval": approval }))
        .await;
    assert_eq!(
        stock(f.burger).await["stock"],
        17,
        "a cooked line is waste, not stock"
    );
    let (_, read) = app.get(&format!("/api/v1/orders/{id}"), &waiter).await;
    assert_eq!(read["status"], "cancelled", "every line voided");
    kitchen.assert_alive().await;
    let wasted: Vec<bool> = std::iter::from_fn(|| kitchen.take_pending_event())
        .filter(|e| e["kind"] == "order.line_status_changed" && e["data"]["status"] == "voided")
        .map(|e| e["data"]["wasted"].as_bool().unwrap())
        .collect();
    assert_eq!(wasted, [false, true]);
}

async fn racing_stations_cannot_both_win(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (mut ws, _) = WsClient::join(&app, &waiter).await;
    let placed = ws
        .command(order(
            "race",
            f.t1,
            json!([{ "menu_item_id": f.bread, "qty": 1 }]),
        ))
        .await;
    let id = placed["order"]["id"].as_i64().unwrap();
    let line = line_id(&placed["order"], "Bread");
    let mut screens = Vec::new();
    for _ in 0..2 {
        let (_, chef) = app.staff(&f.t, "chef").await;
        screens.push(WsClient::join(&app, &chef).await.0);
    }
    bump(&mut screens[0], id, line, "preparing").await;
    let bump_frame = json!({ "type": "item.set_status", "id": "r", "order_id": id, "line_id": line, "status": "ready" });
    for ws in screens.iter_mut() {
        ws.send(bump_frame.clone()).await;
    }
    let mut results = Vec::new();
    for ws in screens.iter_mut() {
        results.push(ws.reply_to(json!("r")).await);
    }
    let wins = results.iter().filter(|r| r["type"] == "ack").count();
    assert_eq!(wins, 1, "{results:?}");
    let loser = results.iter().find(|r| r["type"] == "error").unwrap();
    assert_eq!(
        (loser["code"].as_str(), loser["details"]["current"].as_str()),
        (Some("INVALID_TRANSITION"), Some("ready"))
    );
}

async fn roles_and_illegal_steps_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (mut w, _) = WsClient::join(&app, &waiter).await;
    let mut c = WsClient::staff(&app, &f.t, "chef").await;
    let mut guest = WsClient::guest(&app, &f.t1_code).await;
    let placed = w
        .command(order(
            "roles",
            f.t1,
            json!([{ "menu_item_id": f.bread, "qty": 1 }]),
        ))
        .await;
    let id = placed["order"]["id"].as_i64().unwrap();
    let line = line_id(&placed["order"], "Bread");
    let set_line = |status: &str| json!({ "type": "item.set_status", "order_id": id, "line_id": line, "status": status });

    assert_eq!(
        error_code(&w.command(set_line("preparing")).await),
        "FORBIDDEN",
        "waiters do not cook"
    );
    assert_eq!(
        error_code(&c.command(set_line("ready")).await),
        "INVALID_TRANSITION",
        "no skipping"
    );
    assert_eq!(
        error_code(&guest.command(set_line("preparing")).await),
        "FORBIDDEN"
    );
    let missing = c.command(json!({ "type": "item.set_status", "order_id": id, "line_id": 999_999, "status": "preparing" })).await;
    assert_eq!(error_code(&missing), "NOT_FOUND");
    let nobody = c
        .command(
            json!({ "type": "order.cancel", "order_id": 999_999, "reason": "changed their mind" }),
        )
        .await;
    assert_eq!(error_code(&nobody), "NOT_FOUND");
    bump(&mut c, id, line, "preparing").await;
    bump(&mut c, id, line, "ready").await;
    assert_eq!(
        error_code(&c.command(set_line("served")).await),
        "FORBIDDEN",
        "chefs do not serve"
    );
    let close = json!({ "type": "order.set_status", "order_id": id, "status": "closed" });
    assert_eq!(
        error_code(&w.command(close.clone()).await),
        "FORBIDDEN",
        "waiters do not take payment"
    );
    let mut till = WsClient::staff(&app, &f.t, "cashier").await;
    assert_eq!(
        error_code(&till.command(close.clone()).await),
        "INVALID_TRANSITION",
        "not served yet"
    );
    // A recall, then forward again, then served by the waiter and closed.
    bump(&mut c, id, line, "preparing").await;
    bump(&mut c, id, line, "ready").await;
    w.command(json!({ "type": "order.set_status", "order_id": id, "status": "served" }))
        .await;
    // Its check is not paid: only a manager closes it, with a reason.
    assert_eq!(
        error_code(&till.command(close.clone()).await),
        "FORBIDDEN",
        "an unpaid order is closed by a manager"
    );
    let mut manager = WsClient::staff(&app, &f.t, "manager").await;
    assert_eq!(
        error_code(&manager.command(close.clone()).await),
        "VALIDATION_FAILED",
        "with a reason"
    );
    let mut with_reason = close.clone();
    with_reason["reason"] = json!("the guests paid cash at the door");
    assert_eq!(
        manager.command(with_reason).await["order"]["status"],
        "closed"
    );
    assert_eq!(
        error_code(&c.command(set_line("preparing")).await),
        "INVALID_TRANSITION",
        "a closed order is finished"
    );

    // Closing the table's last order ended the guest's visit: it is shut out,
    // and the next party scans the table's new code.
    let (_, code) = guest.events_until_closed().await;
    assert_eq!(code, restohub_protocol::ws::close::SESSION_REVOKED);
    let (_, table) = app
        .get(&format!("/api/v1/tables/{}", f.t1), &f.t.owner)
        .await;
    let mut guest = WsClient::guest(&app, table["guest_code"].as_str().unwrap()).await;

    // A guest cancels its own order while nothing cooks; others' orders do not exist for it.
    let mine = guest.command(json!({ "type": "order.place", "idempotency_key": "g", "source": "qr", "lines": [{ "menu_item_id": f.bread, "qty": 1 }] })).await;
    let mine_id = mine["order"]["id"].as_i64().unwrap();
    let other = w
        .command(order(
            "other",
            f.t2,
            json!([{ "menu_item_id": f.bread, "qty": 1 }]),
        ))
        .await;
    let other_id = other["order"]["id"].as_i64().unwrap();
    assert_eq!(
        error_code(
            &guest
                .command(json!({ "type": "order.cancel", "order_id": other_id, "reason": "changed their mind" }))
                .await
        ),
        "NOT_FOUND"
    );
    assert_eq!(
        guest
            .command(json!({ "type": "order.cancel", "order_id": mine_id, "reason": "changed their mind" }))
            .await["order"]["status"],
        "cancelled"
    );
}

crate::both_backends!(
    a_full_service_reaches_each_screen_exactly,
    cancel_and_void_return_stock_only_when_nothing_was_cooked,
    racing_stations_cannot_both_win,
    roles_and_illegal_steps_are_refused,
);
