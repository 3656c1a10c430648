//! Checks and payments over real sockets and HTTP, on both backends: the
//! figures to the cent, splits, payments that never overpay however they
//! race, idempotent retries, bounded refunds, approvals for large comps,
//! what a guest may see, closing rules, gap-free receipt numbers, and the
//! payment provider's signed webhook (the tests play the provider).

use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::orders::{floor, order, Floor};
use crate::support::*;
use crate::ws_client::{error_code, WsClient};

/// A floor with money set up: VAT 20% included on the steak and the
/// burger, a 10% sales tax added on the wine, the bread untaxed, and a 10%
/// service charge for parties of 4 or more.
struct Till {
    f: Floor,
    vat: i64,
    sales_tax: i64,
}

async fn till(app: &TestApp, slug: &str) -> Till {
    let f = floor(app, slug).await;
    let owner = &f.t.owner;
    let rate = |name: &str, bp: i64, included: bool| json!({ "name": name, "rate_bp": bp, "included": included });
    let (status, vat) = app
        .post("/api/v1/tax-rates", Some(owner), rate("VAT", 2000, true))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{vat}");
    let (_, sales) = app
        .post(
            "/api/v1/tax-rates",
            Some(owner),
            rate("Sales tax", 1000, false),
        )
        .await;
    let (vat, sales_tax) = (vat["id"].as_i64().unwrap(), sales["id"].as_i64().unwrap());
    for (item, rate) in [(f.steak, vat), (f.burger, vat), (f.wine, sales_tax)] {
        let (status, body) = app
            .call(
                Method::PUT,
                &format!("/api/v1/menu/items/{item}/tax-rate"),
                Some(owner),
                Some(json!({ "tax_rate_id": rate })),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    settings(app, &f, 1000, 4, 1000).await;
    Till { f, vat, sales_tax }
}

async fn settings(app: &TestApp, f: &Floor, service_bp: i64, min_covers: i64, limit: i64) {
    let (status, body) = app
        .call(
            Method::PUT,
            "/api/v1/restaurant/checks",
            Some(&f.t.owner),
            Some(json!({ "service_charge_bp": service_bp, "service_charge_min_covers": min_covers, "discount_limit_cents": limit })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn lines(items: &[(i64, i64)]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|(id, qty)| json!({ "menu_item_id": id, "qty": qty }))
            .collect(),
    )
}

async fn place(app: &TestApp, token: &str, key: &str, table: i64, items: Value) -> Value {
    let mut body = order(key, table, items);
    body.as_object_mut().unwrap().remove("type");
    let (status, placed) = app.post("/api/v1/orders", Some(token), body).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    placed["order"].clone()
}

async fn takeaway(app: &TestApp, token: &str, key: &str, items: Value) -> i64 {
    let body = json!({ "idempotency_key": key, "source": "takeaway", "lines": items });
    let (status, placed) = app.post("/api/v1/orders", Some(token), body).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    placed["order"]["id"].as_i64().unwrap()
}

async fn open(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, check) = app.post("/api/v1/checks", Some(token), body).await;
    assert!(
        status == StatusCode::CREATED || status == StatusCode::OK,
        "{check}"
    );
    check
}

async fn pay(app: &TestApp, token: &str, check: i64, body: Value) -> (StatusCode, Value) {
    app.post(
        &format!("/api/v1/checks/{check}/payments"),
        Some(token),
        body,
    )
    .await
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

fn cents(v: &Value, field: &str) -> i64 {
    v[field]
        .as_i64()
        .unwrap_or_else(|| panic!("no {field} in {v}"))
}

/// Serves every order of the check through the kitchen.
async fn serve_all(app: &TestApp, f: &Floor, check: &Value) {
    let (_, chef) = app.staff(&f.t, "chef").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    for order in check["order_ids"].as_array().unwrap() {
        let o = order.as_i64().unwrap();
        let (_, body) = app.get(&format!("/api/v1/orders/{o}"), &f.t.owner).await;
        for line in body["lines"].as_array().unwrap() {
            if line["status"] == "voided" {
                continue;
            }
            let path = format!("/api/v1/orders/{o}/lines/{}/status", id(line));
            for status in ["preparing", "ready"] {
                let (s, b) = app
                    .post(&path, Some(&chef), json!({ "status": status }))
                    .await;
                assert_eq!(s, StatusCode::OK, "{b}");
            }
        }
        let (s, b) = app
            .post(
                &format!("/api/v1/orders/{o}/status"),
                Some(&waiter),
                json!({ "status": "served" }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
}

/// Everything an event or reply frame carries, as text, for looking for
/// what must never be in it.
fn text_of(frames: &[Value]) -> String {
    frames.iter().map(|f| f.to_string()).collect()
}

async fn event(ws: &mut WsClient, kind: &str) -> Value {
    ws.next_matching(|f| f["type"] == "event" && f["kind"] == kind)
        .await
}

async fn drain(ws: &mut WsClient) -> Vec<Value> {
    ws.assert_alive().await;
    let mut out = Vec::new();
    while let Some(e) = ws.take_pending_event() {
        out.push(e);
    }
    out
}

/// From the order to the paid, closed table: exact figures, a check the
/// table's new orders join, an even split, cash with change and a card with
/// a tip and a reference the guest never sees, a receipt number, and the
/// table left for cleaning.
async fn a_table_check_from_order_to_paid_split(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Till { f, vat, sales_tax } = till(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let mut cashier = WsClient::staff(&app, &f.t, "cashier").await;
    let mut guest = WsClient::guest(&app, &f.t1_code).await;

    place(
        &app,
        &waiter,
        "o1",
        f.t1,
        lines(&[(f.steak, 1), (f.wine, 2), (f.bread, 1)]),
    )
    .await;
    // The cashier opens the table's check over the WebSocket, for 4 covers.
    let opened = cashier
        .command(json!({ "type": "check.open", "table_id": f.t1, "covers": 4 }))
        .await;
    assert_eq!(opened["type"], "ack", "{opened}");
    let check = opened["check"].clone();
    let check_id = id(&check);
    // 2500 (VAT incl.) + 1600 (+10%) + 300: service 10% of 4400 = 440;
    // VAT in 2500 = 2500 − round(2500 / 1.2) = 417; sales tax 160.
    assert_eq!(cents(&check, "subtotal_cents"), 4400);
    assert_eq!(cents(&check, "service_cents"), 440);
    assert_eq!(cents(&check, "tax_included_cents"), 417);
    assert_eq!(cents(&check, "tax_cents"), 577);
    assert_eq!(cents(&check, "total_cents"), 4400 + 440 + 160);
    assert_eq!(check["status"], "open");
    let taxes = check["taxes"].as_array().unwrap();
    assert_eq!(taxes.len(), 2);
    assert_eq!(
        (
            taxes[0]["tax_rate_id"].as_i64(),
            taxes[0]["tax_cents"].as_i64()
        ),
        (Some(vat), Some(417))
    );
    assert_eq!(
        (
            taxes[1]["tax_rate_id"].as_i64(),
            taxes[1]["tax_cents"].as_i64()
        ),
        (Some(sales_tax), Some(160))
    );
    let seen = event(&mut guest, "check.opened").await;
    assert_eq!(seen["data"]["id"], check_id);

    // A second order on the table joins the open check, live.
    place(&app, &waiter, "o2", f.t1, lines(&[(f.burger, 1)])).await;
    let updated = event(&mut guest, "check.updated").await["data"].clone();
    // + 1500 (VAT incl.): VAT on 4000 = 4000 − 3333 = 667; service 590.
    assert_eq!(cents(&updated, "subtotal_cents"), 5900);
    assert_eq!(cents(&updated, "service_cents"), 590);
    assert_eq!(cents(&updated, "tax_cents"), 667 + 160);
    assert_eq!(cents(&updated, "total_cents"), 6650);
    assert_eq!(updated["order_ids"].as_array().unwrap().len(), 2);

    // Split three ways: 6650 = 2217 + 2217 + 2216.
    let split = cashier
        .command(json!({ "type": "check.split", "check_id": check_id, "split": { "by": "even", "ways": 3 } }))
        .await;
    let parts: Vec<i64> = split["check"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| cents(p, "amount_cents"))
        .collect();
    assert_eq!(parts, [2217, 2217, 2216]);

    // A split check is paid by part.
    let whole = pay(
        &app,
        &f.t.owner,
        check_id,
        json!({ "idempotency_key": "w", "method": "card", "amount_cents": 100 }),
    )
    .await;
    assert_error(
        &whole,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_FAILED",
    );
    // Part 0 in cash: 50.00 handed over, 5.00 tip, 22.83 change.
    let cash = cashier
        .command(json!({ "type": "payment.record", "check_id": check_id, "idempotency_key": "p0", "part": 0, "method": "cash", "amount_cents": 2217, "tip_cents": 500, "tendered_cents": 5000 }))
        .await;
    assert_eq!(cash["type"], "ack", "{cash}");
    assert_eq!(cents(&cash["payment"], "change_cents"), 5000 - 2217 - 500);
    assert_eq!(cash["check"]["status"], "partially_paid");
    // More than the part is refused, other than as a tip.
    let over = pay(
        &app,
        &f.t.owner,
        check_id,
        json!({ "idempotency_key": "x", "part": 1, "method": "card", "amount_cents": 2218 }),
    )
    .await;
    assert_error(&over, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let (status, card) = pay(&app, &f.t.owner, check_id, json!({ "idempotency_key": "p1", "part": 1, "method": "card", "amount_cents": 2217, "tip_cents": 300, "reference": "AUTH-99887766" })).await;
    assert_eq!(status, StatusCode::CREATED, "{card}");
    assert_eq!(
        card["payment"]["reference"], "AUTH-99887766",
        "staff see it"
    );
    let (status, last) = pay(
        &app,
        &f.t.owner,
        check_id,
        json!({ "idempotency_key": "p2", "part": 2, "method": "other", "amount_cents": 2216 }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{last}");
    let paid = last["check"].clone();
    // Paid in full; its orders are still in the kitchen, so it stays paid.
    assert_eq!(paid["status"], "paid");
    assert_eq!(cents(&paid, "paid_cents"), 6650);
    assert_eq!(cents(&paid, "tip_cents"), 800);
    assert_eq!(cents(&paid, "due_cents"), 0);
    assert_eq!(paid["receipt_no"], 1);

    // The guest saw every payment, never the card's reference.
    let guest_frames = drain(&mut guest).await;
    let payments: Vec<&Value> = guest_frames
        .iter()
        .filter(|e| e["kind"] == "payment.recorded")
        .collect();
    assert_eq!(payments.len(), 3, "{guest_frames:?}");
    assert!(!text_of(&guest_frames).contains("AUTH-99887766"));
    let guest_token = app.guest_token(&f.t1_code).await;
    let (_, seen) = app
        .get(&format!("/api/v1/checks/{check_id}"), &guest_token)
        .await;
    assert_eq!(cents(&seen, "paid_cents"), 6650);
    assert!(!seen.to_string().contains("AUTH-99887766"), "{seen}");
    let (_, staff_view) = app
        .get(&format!("/api/v1/checks/{check_id}"), &f.t.owner)
        .await;
    assert!(staff_view.to_string().contains("AUTH-99887766"));
    // The guest may print its table's receipt, without the reference.
    let res = app
        .http
        .get(format!("{}/api/v1/checks/{check_id}/receipt", app.base))
        .bearer_auth(&guest_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let printed = res.text().await.unwrap();
    assert!(
        printed.contains("66.50") && !printed.contains("7766"),
        "{printed}"
    );

    // Served, the check closes at the till: its orders close, the table is
    // left for cleaning.
    serve_all(&app, &f, &paid).await;
    let closed = cashier
        .command(json!({ "type": "check.close", "check_id": check_id }))
        .await;
    assert_eq!(closed["check"]["status"], "closed", "{closed}");
    for o in paid["order_ids"].as_array().unwrap() {
        let (_, order) = app.get(&format!("/api/v1/orders/{o}"), &f.t.owner).await;
        assert_eq!(order["status"], "closed");
    }
    let (_, table) = app
        .get(&format!("/api/v1/tables/{}", f.t1), &f.t.owner)
        .await;
    assert_eq!(table["status"], "cleaning");
    let kinds: Vec<String> = drain(&mut cashier)
        .await
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    for kind in [
        "check.opened",
        "check.updated",
        "payment.recorded",
        "check.closed",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} missing from {kinds:?}"
        );
    }

    // The receipt: 42 columns, with its number and total; HTML too.
    let res = app
        .http
        .get(format!("{}/api/v1/checks/{check_id}/receipt", app.base))
        .bearer_auth(&f.t.owner)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(text.lines().all(|l| l.chars().count() <= 42), "{text}");
    assert!(text.contains("66.50"), "{text}");
    assert!(text.contains("Receipt No. 1"), "{text}");
    // Staff see the last four characters of the card's reference.
    assert!(
        text.contains("…7766") && !text.contains("AUTH-99887766"),
        "{text}"
    );
    let res = app
        .http
        .get(format!(
            "{}/api/v1/checks/{check_id}/receipt?format=html",
            app.base
        ))
        .bearer_auth(&f.t.owner)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(res.text().await.unwrap().contains("66.50"));
}

/// Splits by line, by seat and by amount: the parts always sum to the check.
async fn splits_sum_exactly_to_the_check(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Till { f, .. } = till(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let items = json!([
        { "menu_item_id": f.steak, "qty": 1, "seat": 1 },
        { "menu_item_id": f.wine, "qty": 1, "seat": 2 },
        { "menu_item_id": f.bread, "qty": 1 }
    ]);
    let o = place(&app, &waiter, "s1", f.t1, items).await;
    assert_eq!(o["lines"][0]["seat"], 1);
    let check = open(&app, &waiter, json!({ "table_id": f.t1, "covers": 2 })).await;
    let check_id = id(&check);
    // Under 4 covers: no service. 2500 + 800 + 80 tax + 300 = 3680.
    assert_eq!(cents(&check, "total_cents"), 3680);
    let split = |body: Value| {
        let app = &app;
        let waiter = waiter.clone();
        async move {
            app.call(
                Method::PUT,
                &format!("/api/v1/checks/{check_id}/split"),
                Some(&waiter),
                Some(json!({ "split": body })),
            )
            .await
        }
    };
    let amounts = |check: &Value| -> Vec<i64> {
        check["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| cents(p, "amount_cents"))
            .collect()
    };
    let line = |name: &str| {
        id(o["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == name)
            .unwrap())
    };

    // By seat: the bread (no seat) is shared; weights 2500·2+300 : 800·2+300
    // of 3680 → 2708.9… and 971.1… → 2709 + 971.
    let (status, by_seat) = split(json!({ "by": "seats" })).await;
    assert_eq!(status, StatusCode::OK, "{by_seat}");
    assert_eq!(amounts(&by_seat), [2709, 971]);
    assert_eq!(by_seat["parts"][0]["seat"], 1);
    // By line: the steak alone; the rest (wine, bread) is the last part.
    let (_, by_line) = split(json!({ "by": "lines", "lines": [[line("Steak")]] })).await;
    assert_eq!(amounts(&by_line).iter().sum::<i64>(), 3680);
    assert_eq!(by_line["parts"][1]["label"], "rest");
    // By amount: 1000 and the rest.
    let (_, by_amount) = split(json!({ "by": "amounts", "amounts": [1000] })).await;
    assert_eq!(amounts(&by_amount), [1000, 2680]);
    // Refused: more than the total, an unknown line, a line twice, 0 ways.
    for bad in [
        json!({ "by": "amounts", "amounts": [5000] }),
        json!({ "by": "lines", "lines": [[999999]] }),
        json!({ "by": "lines", "lines": [[line("Steak")], [line("Steak")]] }),
        json!({ "by": "even", "ways": 0 }),
        json!({ "by": "even", "ways": 51 }),
        json!({ "by": "thirds" }),
    ] {
        let reply = split(bad.clone()).await;
        assert_eq!(
            reply.0,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad} → {}",
            reply.1
        );
    }
    // Nothing refused changed the split.
    let (_, now) = app
        .get(&format!("/api/v1/checks/{check_id}"), &waiter)
        .await;
    assert_eq!(amounts(&now), [1000, 2680]);
    // Once paid into, the split stays.
    let (status, _) = pay(
        &app,
        &f.t.owner,
        check_id,
        json!({ "idempotency_key": "a", "part": 0, "method": "card", "amount_cents": 1000 }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let again = split(json!({ "by": "even", "ways": 2 })).await;
    assert_error(&again, StatusCode::CONFLICT, "INVALID_TRANSITION");
}

/// Comps and discounts above the limit need a manager's approval in the
/// same request: refused without, with a wrong PIN or a waiter as approver;
/// granted with a manager's PIN or password; each audited.
async fn large_discounts_need_a_managers_approval(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Till { f, .. } = till(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let owner = &f.t.owner;
    let email = "boss@bistro.test";
    let (status, manager) = app
        .post(
            "/api/v1/users",
            Some(owner),
            json!({ "email": email, "name": "Boss", "role": "manager", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{manager}");
    let manager_id = id(&manager);
    let (_, login) = app.login(&f.t.slug, email, PASSWORD).await;
    let manager_token = token_of(&login);
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/v1/auth/pin",
            Some(&manager_token),
            Some(json!({ "pin": "4321" })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/v1/auth/pin",
            Some(&waiter),
            Some(json!({ "pin": "1111" })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "waiters approve nothing");

    let o = place(
        &app,
        &waiter,
        "d1",
        f.t1,
        lines(&[(f.steak, 1), (f.bread, 1)]),
    )
    .await;
    let steak = id(&o["lines"][0]);
    let check = open(&app, &waiter, json!({ "table_id": f.t1 })).await;
    let check_id = id(&check);
    assert_eq!(cents(&check, "total_cents"), 2800);
    let path = format!("/api/v1/checks/{check_id}/discounts");
    let comp = |approval: Value| {
        let mut body = json!({ "line_id": steak, "kind": "percent", "value": 10000, "comp": true, "reason": "overcooked" });
        if !approval.is_null() {
            body["approval"] = approval;
        }
        body
    };
    // 25.00 off is above the 10.00 limit.
    let refused = app.post(&path, Some(&waiter), comp(Value::Null)).await;
    assert_error(&refused, StatusCode::FORBIDDEN, "APPROVAL_REQUIRED");
    assert_eq!(refused.1["error"]["details"]["amount_cents"], 2500);
    let wrong = app
        .post(
            &path,
            Some(&waiter),
            comp(json!({ "email": email, "pin": "0000" })),
        )
        .await;
    assert_error(&wrong, StatusCode::FORBIDDEN, "APPROVAL_REQUIRED");
    let not_a_manager = app
        .post(
            &path,
            Some(&waiter),
            comp(json!({ "email": "nobody@bistro.test", "password": PASSWORD })),
        )
        .await;
    assert_error(&not_a_manager, StatusCode::FORBIDDEN, "APPROVAL_REQUIRED");
    // Naming a waiter as approver, however often, locks nobody out.
    let (status, colleague) = app
        .post(
            "/api/v1/users",
            Some(owner),
            json!({ "email": "colleague@bistro.test", "name": "C", "role": "waiter", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{colleague}");
    for _ in 0..7 {
        let approval = json!({ "email": "colleague@bistro.test", "password": "guess" });
        let as_waiter = app.post(&path, Some(&waiter), comp(approval)).await;
        assert_error(&as_waiter, StatusCode::FORBIDDEN, "APPROVAL_REQUIRED");
    }
    let (status, _) = app
        .login(&f.t.slug, "colleague@bistro.test", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::OK, "the colleague still logs in");
    let (_, unchanged) = app
        .get(&format!("/api/v1/checks/{check_id}"), &waiter)
        .await;
    assert_eq!(
        cents(&unchanged, "total_cents"),
        2800,
        "refusals change nothing"
    );

    let (status, comped) = app
        .post(
            &path,
            Some(&waiter),
            comp(json!({ "email": email, "pin": "4321" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{comped}");
    assert_eq!(cents(&comped, "total_cents"), 300);
    assert_eq!(comped["discounts"][0]["approved_by"], manager_id);
    assert_eq!(comped["discounts"][0]["amount_cents"], 2500);
    // Small discounts need nothing; a manager needs no approval.
    let small = json!({ "kind": "amount", "value": 100, "reason": "regular" });
    let (status, body) = app.post(&path, Some(&waiter), small).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(cents(&body, "total_cents"), 200);
    // The password works as well as the PIN.
    place(&app, &waiter, "d2", f.t2, lines(&[(f.steak, 1)])).await;
    let other = open(&app, &waiter, json!({ "table_id": f.t2 })).await;
    let big = json!({ "kind": "amount", "value": 2000, "reason": "birthday", "approval": { "email": email, "password": PASSWORD } });
    let (status, body) = app
        .post(
            &format!("/api/v1/checks/{}/discounts", id(&other)),
            Some(&waiter),
            big,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(cents(&body, "total_cents"), 500);

    let (_, trail) = app
        .get("/api/v1/audit?action=check.discounted", owner)
        .await;
    let entries = trail["items"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{trail}");
    assert!(entries
        .iter()
        .any(|e| e["after"]["approved_by"] == manager_id));
    let (_, refusals) = app
        .get("/api/v1/audit?action=approval.refused", owner)
        .await;
    assert_eq!(refusals["items"].as_array().unwrap().len(), 9, "{refusals}");
}

/// Two cashiers (and more) paying the same check at once never pay more
/// than is due; a retried payment changes nothing.
async fn concurrent_payments_never_overpay(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Till { f, .. } = till(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (_, one) = app.staff(&f.t, "cashier").await;
    let (_, two) = app.staff(&f.t, "cashier").await;
    place(&app, &waiter, "c1", f.t1, lines(&[(f.steak, 2)])).await;
    let check_id = id(&open(&app, &waiter, json!({ "table_id": f.t1 })).await);
    // 5000, paid in 12 racing payments of 1000 from two cashiers.
    let attempts = (0..12).map(|i| {
        let token = if i % 2 == 0 { one.clone() } else { two.clone() };
        let app = &app;
        async move {
            pay(app, &token, check_id, json!({ "idempotency_key": format!("race-{i}"), "method": "card", "amount_cents": 1000 })).await
        }
    });
    let replies = futures::future::join_all(attempts).await;
    let ok = replies
        .iter()
        .filter(|r| r.0 == StatusCode::CREATED)
        .count();
    assert_eq!(ok, 5, "{replies:?}");
    for (status, body) in &replies {
        if *status != StatusCode::CREATED {
            let code = body["error"]["code"].as_str().unwrap();
            assert!(
                ["VALIDATION_FAILED", "INVALID_TRANSITION"].contains(&code),
                "{body}"
            );
        }
    }
    let (_, check) = app.get(&format!("/api/v1/checks/{check_id}"), &one).await;
    assert_eq!(cents(&check, "paid_cents"), 5000);
    assert_eq!(check["payments"].as_array().unwrap().len(), 5);
    assert_eq!(check["status"], "paid");

    // A retry of a recorded payment returns it and changes nothing; the
    // same key for another payment is a conflict.
    place(&app, &waiter, "c2", f.t2, lines(&[(f.wine, 1)])).await;
    let second = id(&open(&app, &waiter, json!({ "table_id": f.t2 })).await);
    let body = json!({ "idempotency_key": "k", "method": "cash", "amount_cents": 500, "tendered_cents": 1000 });
    let first = pay(&app, &one, second, body.clone()).await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    let retry = pay(&app, &one, second, body.clone()).await;
    assert_eq!(retry.0, StatusCode::OK);
    assert_eq!(retry.1["duplicate"], true);
    assert_eq!(retry.1["payment"]["id"], first.1["payment"]["id"]);
    assert_eq!(cents(&retry.1["check"], "paid_cents"), 500);
    let mut changed = body.clone();
    changed["amount_cents"] = json!(100);
    assert_error(
        &pay(&app, &one, second, changed).await,
        StatusCode::CONFLICT,
        "CONFLICT",
    );
    // Over the WebSocket, the same use case and the same answer.
    let mut ws = WsClient::staff(&app, &f.t, "cashier").await;
    let mut frame = body.clone();
    frame["type"] = json!("payment.record");
    frame["check_id"] = json!(second);
    frame["amount_cents"] = json!(1000);
    let over = ws.command(frame).await;
    assert_eq!(error_code(&over), "VALIDATION_FAILED", "{over}");
    let bogus = ws
        .command(json!({ "type": "payment.record", "check_id": second, "idempotency_key": "z", "method": "card", "amount_cents": 1, "surprise": 1 }))
        .await;
    assert_eq!(error_code(&bogus), "VALIDATION_FAILED", "{bogus}");
    let (_, check) = app.get(&format!("/api/v1/checks/{second}"), &one).await;
    assert_eq!(cents(&check, "paid_cents"), 500);
    assert_eq!(cents(&check["payments"][0], "change_cents"), 500);
}

/// Refunds: managers only, never beyond what a payment took, even racing.
async fn refunds_are_bounded_and_for_managers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Till { f, .. } = till(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (_, cashier) = app.staff(&f.t, "cashier").await;
    place(&app, &waiter, "r1", f.t1, lines(&[(f.bread, 2)])).await;
    let check_id = id(&open(&app, &waiter, json!({ "table_id": f.t1 })).await);
    let (_, paid) = pay(
        &app,
        &cashier,
        check_id,
        json!({ "idempotency_key": "p", "method": "card", "amount_cents": 600, "tip_cents": 100 }),
    )
    .await;
    let payment = id(&paid["payment"]);
    let refund =
        |amount: i64| json!({ "payment_id": payment, "amount_cents": amount, "reason": "cold" });
    let path = "/api/v1/payments/refunds";
    assert_error(
        &app.post(path, Some(&cashier), refund(100)).await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    let owner = f.t.owner.clone();
    assert_error(
        &app.post(path, Some(&owner), refund(701)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_FAILED",
    );
    let no_reason = json!({ "payment_id": payment, "amount_cents": 1, "reason": " " });
    assert_error(
        &app.post(path, Some(&owner), no_reason).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_FAILED",
    );
    let (status, after) = app.post(path, Some(&owner), refund(200)).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(cents(&after, "refunded_cents"), 200);
    // Racing refunds of 100 each: only the 500 left can go.
    let racing = (0..8).map(|_| {
        let app = &app;
        let owner = owner.clone();
        async move { app.post(path, Some(&owner), refund(100)).await }
    });
    let replies = futures::future::join_all(racing).await;
    assert_eq!(
        replies.iter().filter(|r| r.0 == StatusCode::OK).count(),
        5,
        "{replies:?}"
    );
    let (_, check) = app.get(&format!("/api/v1/checks/{check_id}"), &owner).await;
    assert_eq!(cents(&check, "refunded_cents"), 700);
    assert_eq!(cents(&check["payments"][0], "refunded_cents"), 700);
    let (_, trail) = app
        .get("/api/v1/audit?action=payment.refunded", &owner)
        .await;
    assert_eq!(trail["items"].as_array().unwrap().len(), 6);
    let (_, trail) = app
        .get("/api/v1/audit?action=payment.recorded", &owner)
        .await;
    assert_eq!(trail["items"].as_array().unwrap().len(), 1);
    let nobody = json!({ "payment_id": 999_999, "amount_cents": 1, "reason": "x" });
    assert_error(
        &app.post(path, Some(&owner), nobody).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
}

/// A guest sees its own table's check, live, without card references, and
/// nothing of other tables; it cannot take payments or refunds.
async fn a_guest_sees_only_its_tables_check(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Till { f, .. } = till(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    place(&app, &waiter, "g1", f.t1, lines(&[(f.bread, 1)])).await;
    place(&app, &waiter, "g2", f.t2, lines(&[(f.wine, 1)])).await;
    let mine = id(&open(&app, &waiter, json!({ "table_id": f.t1 })).await);
    let theirs = id(&open(&app, &waiter, json!({ "table_id": f.t2 })).await);
    let guest = app.guest_token(&f.t1_code).await;
    let (status, _) = app.get(&format!("/api/v1/checks/{mine}"), &guest).await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        &app.get(&format!("/api/v1/checks/{theirs}"), &guest).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    assert_error(
        &app.post("/api/v1/checks", Some(&guest), json!({ "table_id": f.t2 }))
            .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    // Its own table's check, without naming the table; the covers are the
    // staff's to set (the service charge may depend on them).
    let covers = app
        .post("/api/v1/checks", Some(&guest), json!({ "covers": 40 }))
        .await;
    assert_error(&covers, StatusCode::FORBIDDEN, "FORBIDDEN");
    let own = open(&app, &guest, json!({})).await;
    assert_eq!(id(&own), mine);
    assert_error(
        &app.get("/api/v1/checks", &guest).await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    assert_error(
        &pay(
            &app,
            &guest,
            mine,
            json!({ "idempotency_key": "g", "method": "cash", "amount_cents": 1 }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    let intent = json!({ "idempotency_key": "i" });
    assert_error(
        &app.post(
            &format!("/api/v1/checks/{theirs}/intents"),
            Some(&guest),
            intent.clone(),
        )
        .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    let (status, _) = app
        .post(
            &format!("/api/v1/checks/{mine}/intents"),
            Some(&guest),
            intent,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut ws = WsClient::guest(&app, &f.t1_code).await;
    let other = ws
        .command(json!({ "type": "check.get", "check_id": theirs }))
        .await;
    assert_eq!(error_code(&other), "NOT_FOUND");
    let discount = ws
        .command(json!({ "type": "check.discount", "check_id": mine, "kind": "amount", "value": 1, "reason": "me" }))
        .await;
    assert_eq!(error_code(&discount), "FORBIDDEN");
    assert_error(
        &app.get(&format!("/api/v1/checks/{theirs}/receipt"), &guest)
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    // Another restaurant's staff see nothing of it.
    let other_tenant = app.tenant("elsewhere").await;
    assert_error(
        &app.get(&format!("/api/v1/checks/{mine}"), &other_tenant.owner)
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    assert_error(
        &pay(
            &app,
            &other_tenant.owner,
            mine,
            json!({ "idempotency_key": "t", "method": "cash", "amount_cents": 1 }),
        )
        .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
}

/// Closing: an order whose check is unpaid closes only by a manager with a
/// reason (audited); a paid check's orders close at the till; a check with
/// orders in the kitchen does not close; voiding needs a manager, a reason
/// and no money kept; reopening a paid check is a manager's, audited.
async fn closing_voiding_and_reopening_follow_the_rules(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Till { f, .. } = till(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (_, cashier) = app.staff(&f.t, "cashier").await;
    let owner = f.t.owner.clone();
    let o = place(&app, &waiter, "x1", f.t1, lines(&[(f.bread, 1)])).await;
    let order_id = id(&o);
    let check = open(&app, &waiter, json!({ "table_id": f.t1 })).await;
    let check_id = id(&check);
    serve_all(&app, &f, &check).await;
    let status_path = format!("/api/v1/orders/{order_id}/status");
    let close = json!({ "status": "closed" });
    assert_error(
        &app.post(&status_path, Some(&cashier), close.clone()).await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    assert_error(
        &app.post(&status_path, Some(&owner), close.clone()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_FAILED",
    );
    // Void: not by a cashier, not without a reason.
    let void_path = format!("/api/v1/checks/{check_id}/void");
    assert_error(
        &app.post(
            &void_path,
            Some(&cashier),
            json!({ "reason": "walked out" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    assert_error(
        &app.post(&void_path, Some(&owner), json!({ "reason": "" }))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_FAILED",
    );
    // Unpaid, the check does not close.
    let close_check = format!("/api/v1/checks/{check_id}/close");
    assert_error(
        &app.post(&close_check, Some(&cashier), json!({})).await,
        StatusCode::CONFLICT,
        "INVALID_TRANSITION",
    );
    // Paying it closes its served order, the check and the table.
    let (status, paid) = pay(
        &app,
        &cashier,
        check_id,
        json!({ "idempotency_key": "all", "method": "cash", "amount_cents": 300 }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    assert_eq!(paid["check"]["status"], "closed");
    let (_, order) = app.get(&format!("/api/v1/orders/{order_id}"), &owner).await;
    assert_eq!(order["status"], "closed");
    let (_, table) = app.get(&format!("/api/v1/tables/{}", f.t1), &owner).await;
    assert_eq!(table["status"], "cleaning");
    // Money kept: no void. Reopening: a manager's, with a reason, audited.
    assert_error(
        &app.post(&void_path, Some(&owner), json!({ "reason": "oops" }))
            .await,
        StatusCode::CONFLICT,
        "INVALID_TRANSITION",
    );
    let reopen = format!("/api/v1/checks/{check_id}/reopen");
    assert_error(
        &app.post(&reopen, Some(&cashier), json!({ "reason": "wrong table" }))
            .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    let (status, reopened) = app
        .post(&reopen, Some(&owner), json!({ "reason": "wrong table" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{reopened}");
    assert_eq!(reopened["status"], "partially_paid");
    assert_eq!(reopened["receipt_no"], 1, "the receipt number stays");
    let (_, trail) = app.get("/api/v1/audit?action=check.reopened", &owner).await;
    assert_eq!(trail["items"][0]["reason"], "wrong table");

    // A takeaway order unpaid: a manager closes it with a reason, audited.
    let t = takeaway(&app, &waiter, "x2", lines(&[(f.bread, 1)])).await;
    let check = open(&app, &cashier, json!({ "order_id": t })).await;
    serve_all(&app, &f, &check).await;
    let path = format!("/api/v1/orders/{t}/status");
    let (status, closed) = app
        .post(
            &path,
            Some(&owner),
            json!({ "status": "closed", "reason": "staff meal" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    let (_, trail) = app
        .get("/api/v1/audit?action=order.closed_manually", &owner)
        .await;
    assert_eq!(trail["items"][0]["reason"], "staff meal");
    // An empty check voids: nothing was paid.
    let t = takeaway(&app, &waiter, "x3", lines(&[(f.bread, 1)])).await;
    let check = open(&app, &cashier, json!({ "order_id": t })).await;
    let (status, voided) = app
        .post(
            &format!("/api/v1/checks/{}/void", id(&check)),
            Some(&owner),
            json!({ "reason": "test order" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{voided}");
    assert_eq!(voided["status"], "void");
    assert_eq!(voided["void_reason"], "test order");
}

/// Receipt numbers: one per paid check, 1, 2, 3, … without gaps, in the
/// order the checks were paid, however many cashiers pay at once.
async fn receipt_numbers_are_gap_free_under_concurrency(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Till { f, .. } = till(&app, "bistro").await;
    let (_, cashier) = app.staff(&f.t, "cashier").await;
    let (mut till_ws, _) = WsClient::join(&app, &cashier).await;
    let mut checks = Vec::new();
    for i in 0..12 {
        let order = takeaway(&app, &cashier, &format!("t{i}"), lines(&[(f.bread, 1)])).await;
        let check = open(&app, &cashier, json!({ "order_id": order })).await;
        checks.push((id(&check), cents(&check, "total_cents")));
    }
    let payments = checks.iter().map(|&(check, due)| {
        let app = &app;
        let cashier = cashier.clone();
        async move {
            pay(app, &cashier, check, json!({ "idempotency_key": format!("r{check}"), "method": "card", "amount_cents": due })).await
        }
    });
    // Meanwhile other checks take partial payments and discounts (audited
    // changes without a receipt number): they never deadlock with the
    // payments that take one.
    let mut others = Vec::new();
    for i in 0..6 {
        let order = takeaway(&app, &cashier, &format!("o{i}"), lines(&[(f.bread, 2)])).await;
        others.push(id(&open(&app, &cashier, json!({ "order_id": order })).await));
    }
    let changes = others.iter().enumerate().map(|(i, &check)| {
        let app = &app;
        let cashier = cashier.clone();
        async move {
            if i % 2 == 0 {
                pay(app, &cashier, check, json!({ "idempotency_key": format!("h{check}"), "method": "cash", "amount_cents": 100 })).await
            } else {
                let discount = json!({ "kind": "amount", "value": 50, "reason": "regular" });
                app.post(&format!("/api/v1/checks/{check}/discounts"), Some(&cashier), discount)
                    .await
            }
        }
    });
    let (paid, changed) = tokio::join!(
        futures::future::join_all(payments),
        futures::future::join_all(changes)
    );
    for (status, body) in paid {
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for (status, body) in changed {
        assert!(status.is_success(), "{status} {body}");
    }
    let (_, list) = app
        .get("/api/v1/checks?status=paid&limit=5", &cashier)
        .await;
    let mut all = list["items"].as_array().unwrap().clone();
    assert_eq!(all.len(), 5, "{list}");
    let (_, rest) = app
        .get(
            &format!("/api/v1/checks?status=paid&after={}", list["next_after"]),
            &cashier,
        )
        .await;
    assert!(rest["next_after"].is_null());
    all.extend(rest["items"].as_array().unwrap().iter().cloned());
    let list = Value::Array(all);
    let receipts: std::collections::HashMap<i64, i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (id(c), c["receipt_no"].as_i64().unwrap()))
        .collect();
    assert_eq!(receipts.len(), 12, "{list}");
    // In the order the payments committed: the order of their events' seqs.
    let mut numbers = Vec::new();
    while numbers.len() < 12 {
        let e = event(&mut till_ws, "payment.recorded").await;
        // (The partial payments on the other checks take no number.)
        if let Some(n) = receipts.get(&e["data"]["payment"]["check_id"].as_i64().unwrap()) {
            numbers.push(*n);
        }
    }
    assert_eq!(numbers, (1..=12).collect::<Vec<_>>());
}

fn sign(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn webhook(app: &TestApp, signature: Option<String>, body: &str) -> (StatusCode, Value) {
    let mut req = app
        .http
        .post(format!("{}/api/v1/payments/webhook", app.base))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(s) = signature {
        req = req.header("Restohub-Signature", s);
    }
    read(req.send().await.unwrap()).await
}

/// Paying at the table: the guest asks for an intent for its part; the
/// provider (played here) confirms with a signed webhook. Bad, old and
/// replayed signatures and other amounts are refused; retries record the
/// payment once.
async fn pay_at_the_table_through_a_signed_webhook(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Till { f, .. } = till(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    place(
        &app,
        &waiter,
        "w1",
        f.t1,
        lines(&[(f.steak, 1), (f.bread, 1)]),
    )
    .await;
    let check_id = id(&open(&app, &waiter, json!({ "table_id": f.t1 })).await);
    let (status, split) = app
        .call(
            Method::PUT,
            &format!("/api/v1/checks/{check_id}/split"),
            Some(&waiter),
            Some(json!({ "split": { "by": "even", "ways": 2 } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{split}");
    let (_, secret) = app
        .post(
            "/api/v1/restaurant/payment-webhook-secret",
            Some(&f.t.owner),
            json!({}),
        )
        .await;
    let secret = secret["secret"].as_str().unwrap().to_owned();
    let mut guest = WsClient::guest(&app, &f.t1_code).await;
    let intent = guest
        .command(json!({ "type": "payment.intent", "check_id": check_id, "idempotency_key": "mine", "part": 1, "tip_cents": 200 }))
        .await;
    assert_eq!(intent["type"], "ack", "{intent}");
    let intent = intent["intent"].clone();
    assert_eq!(cents(&intent, "amount_cents"), 1400);
    assert_eq!(intent["currency"], "EUR");
    let intent_id = intent["id"].as_str().unwrap().to_owned();
    let over = guest
        .command(json!({ "type": "payment.intent", "check_id": check_id, "idempotency_key": "more", "part": 0, "amount_cents": 1401 }))
        .await;
    assert_eq!(error_code(&over), "VALIDATION_FAILED");

    let now = app.clock.now() / 1000;
    let notice = |amount: i64, event_id: &str| {
        json!({ "event_id": event_id, "intent_id": intent_id, "status": "succeeded", "amount_cents": amount, "tip_cents": 200, "currency": "EUR", "reference": "psp_ch_123456" }).to_string()
    };
    let body = notice(1400, "evt_1");
    let header = |t: i64, body: &str, key: &str| Some(format!("t={t},v1={}", sign(key, t, body)));
    // Unsigned, wrongly signed, signed with another secret, too old, future.
    assert_error(
        &webhook(&app, None, &body).await,
        StatusCode::UNAUTHORIZED,
        "SIGNATURE_INVALID",
    );
    assert_error(
        &webhook(&app, Some(format!("t={now},v1={}", "0".repeat(64))), &body).await,
        StatusCode::UNAUTHORIZED,
        "SIGNATURE_INVALID",
    );
    // Malformed headers and extreme timestamps are refused, never a crash.
    for bad in [
        "t=abc,v1=00".to_owned(),
        "v1=".to_owned() + &"0".repeat(64),
        format!("t={},v1={}", i64::MIN, sign(&secret, i64::MIN, &body)),
        format!("t={},v1={}", i64::MAX, sign(&secret, i64::MAX, &body)),
        format!("t={now},v1={}", "é".repeat(32)),
    ] {
        assert_error(
            &webhook(&app, Some(bad), &body).await,
            StatusCode::UNAUTHORIZED,
            "SIGNATURE_INVALID",
        );
    }
    assert_error(
        &webhook(&app, header(now, &body, "whsec_other"), &body).await,
        StatusCode::UNAUTHORIZED,
        "SIGNATURE_INVALID",
    );
    assert_error(
        &webhook(&app, header(now - 301, &body, &secret), &body).await,
        StatusCode::UNAUTHORIZED,
        "SIGNATURE_INVALID",
    );
    assert_error(
        &webhook(&app, header(now + 301, &body, &secret), &body).await,
        StatusCode::UNAUTHORIZED,
        "SIGNATURE_INVALID",
    );
    // The body changed after signing.
    let tampered = notice(1, "evt_1");
    assert_error(
        &webhook(&app, header(now, &body, &secret), &tampered).await,
        StatusCode::UNAUTHORIZED,
        "SIGNATURE_INVALID",
    );
    // Signed, but not the intent's amount.
    let wrong = notice(1300, "evt_0");
    assert_error(
        &webhook(&app, header(now, &wrong, &secret), &wrong).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_FAILED",
    );
    let (_, check) = app
        .get(&format!("/api/v1/checks/{check_id}"), &f.t.owner)
        .await;
    assert_eq!(cents(&check, "paid_cents"), 0, "nothing recorded so far");

    let signed = header(now, &body, &secret);
    let (status, received) = webhook(&app, signed.clone(), &body).await;
    assert_eq!(status, StatusCode::OK, "{received}");
    assert_eq!(received["duplicate"], false);
    let payment_id = received["payment_id"].as_i64().unwrap();
    // The very same request again is a replay.
    assert_error(
        &webhook(&app, signed, &body).await,
        StatusCode::CONFLICT,
        "WEBHOOK_REPLAYED",
    );
    // The provider retrying (signed anew) records nothing more.
    let retry = notice(1400, "evt_2");
    app.clock.advance_ms(2000);
    let (status, again) = webhook(&app, header(now + 2, &retry, &secret), &retry).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["payment_id"], payment_id);
    let (_, check) = app
        .get(&format!("/api/v1/checks/{check_id}"), &f.t.owner)
        .await;
    assert_eq!(cents(&check, "paid_cents"), 1400);
    assert_eq!(cents(&check, "tip_cents"), 200);
    assert_eq!(check["parts"][1]["due_cents"], 0);
    assert_eq!(check["payments"].as_array().unwrap().len(), 1);
    assert_eq!(check["payments"][0]["reference"], "psp_ch_123456");
    // The guest saw it live, without the provider's reference.
    let recorded = event(&mut guest, "payment.recorded").await;
    assert_eq!(recorded["data"]["payment"]["id"], payment_id);
    assert!(!text_of(&drain(&mut guest).await).contains("psp_ch"));
    assert!(!recorded.to_string().contains("psp_ch"));
    // An unknown intent and malformed bodies are refused without effect.
    let unknown = notice(1400, "evt_3").replace(&intent_id, "pi_nope");
    assert_error(
        &webhook(&app, header(now, &unknown, &secret), &unknown).await,
        StatusCode::UNAUTHORIZED,
        "SIGNATURE_INVALID",
    );
    assert_error(
        &webhook(&app, header(now, "{", &secret), "{").await,
        StatusCode::BAD_REQUEST,
        "MALFORMED_JSON",
    );
    let (_, trail) = app
        .get("/api/v1/audit?action=payment.recorded", &f.t.owner)
        .await;
    assert_eq!(trail["items"][0]["actor"], "payment-provider");
}

/// An open check follows voids and cancellations of its orders, live; a
/// paid check keeps the figures it was paid with whatever changes later
/// (tax rates, the service charge, a void); a check paid one day and closed
/// the next counts as sold the day it was paid.
async fn open_checks_follow_their_orders_and_paid_ones_keep_their_figures(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Till { mut f, vat, .. } = till(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let mut cashier = WsClient::staff(&app, &f.t, "cashier").await;
    let o = place(
        &app,
        &waiter,
        "v1",
        f.t1,
        lines(&[(f.steak, 1), (f.wine, 1)]),
    )
    .await;
    let (status, check) = app
        .post(
            "/api/v1/checks",
            Some(&waiter),
            json!({ "table_id": f.t1, "covers": 4 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{check}");
    let (status, again) = app
        .post("/api/v1/checks", Some(&waiter), json!({ "table_id": f.t1 }))
        .await;
    assert_eq!(
        (status, id(&again)),
        (StatusCode::OK, id(&check)),
        "the one open"
    );
    let check_id = id(&check);
    // 2500 + 800 + 10% service 330 + 80 sales tax.
    assert_eq!(cents(&check, "total_cents"), 3710);
    let wine = id(o["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "Wine")
        .unwrap());
    let (status, body) = app
        .post(
            &format!("/api/v1/orders/{}/lines/{wine}/void", id(&o)),
            Some(&f.t.owner),
            json!({ "reason": "sent back" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let updated = event(&mut cashier, "check.updated").await["data"].clone();
    assert_eq!(cents(&updated, "total_cents"), 2750);
    let (status, paid) = pay(
        &app,
        &f.t.owner,
        check_id,
        json!({ "idempotency_key": "all", "method": "card", "amount_cents": 2750 }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    let before = paid["check"].clone();
    assert_eq!(before["status"], "paid");

    // Later changes leave the paid check as it was paid.
    settings(&app, &f, 0, 0, 1000).await;
    let (status, _) = app
        .delete(&format!("/api/v1/tax-rates/{vat}"), &f.t.owner)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let steak = id(o["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "Steak")
        .unwrap());
    let (status, body) = app
        .post(
            &format!("/api/v1/orders/{}/lines/{steak}/void", id(&o)),
            Some(&f.t.owner),
            json!({ "reason": "sent back" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, now) = app
        .get(&format!("/api/v1/checks/{check_id}"), &f.t.owner)
        .await;
    for field in [
        "total_cents",
        "service_cents",
        "tax_cents",
        "subtotal_cents",
        "lines",
        "taxes",
        "paid_cents",
    ] {
        assert_eq!(now[field], before[field], "{field}");
    }
    assert_eq!(now["status"], "paid");
    assert_eq!(cents(&now, "due_cents"), 0);

    // Paid today, served and closed tomorrow: sold today.
    let t = takeaway(&app, &waiter, "late", lines(&[(f.bread, 1)])).await;
    let takeaway_check = open(&app, &waiter, json!({ "order_id": t })).await;
    let (status, _) = pay(
        &app,
        &f.t.owner,
        id(&takeaway_check),
        json!({ "idempotency_key": "late", "method": "cash", "amount_cents": 300 }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    app.clock.advance_ms(24 * 3600 * 1000);
    // Tokens have expired overnight: the owner logs in again.
    let (_, login) = app.login(&f.t.slug, "owner@bistro.test", PASSWORD).await;
    f.t.owner = token_of(&login);
    serve_all(&app, &f, &takeaway_check).await;
    let (status, closed) = app
        .post(
            &format!("/api/v1/checks/{}/close", id(&takeaway_check)),
            Some(&f.t.owner),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, closed["status"].as_str()),
        (StatusCode::OK, Some("closed")),
        "{closed}"
    );
    let gross = |day: &str| {
        let app = &app;
        let owner = f.t.owner.clone();
        let day = day.to_owned();
        async move {
            let (_, body) = app
                .get(&format!("/api/v1/analytics?from={day}&to={day}"), &owner)
                .await;
            cents(&body["money"], "gross_sales_cents")
        }
    };
    assert_eq!(gross("2027-01-15").await, 2500 + 300);
    assert_eq!(gross("2027-01-16").await, 0);
}

/// A void check lets its orders go to the table's next check; an intent
/// the provider confirms after it expired records nothing.
async fn voided_checks_release_orders_and_intents_expire(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Till { f, .. } = till(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let o = place(&app, &waiter, "r1", f.t1, lines(&[(f.bread, 2)])).await;
    let first = id(&open(&app, &waiter, json!({ "table_id": f.t1 })).await);
    let (status, voided) = app
        .post(
            &format!("/api/v1/checks/{first}/void"),
            Some(&f.t.owner),
            json!({ "reason": "opened by mistake" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{voided}");
    assert_eq!(
        voided["order_ids"],
        json!([id(&o)]),
        "the void check keeps its figures"
    );
    let second = open(&app, &waiter, json!({ "table_id": f.t1 })).await;
    assert_ne!(id(&second), first);
    assert_eq!(second["order_ids"], json!([id(&o)]));
    assert_eq!(cents(&second, "total_cents"), 600);

    let (_, secret) = app
        .post(
            "/api/v1/restaurant/payment-webhook-secret",
            Some(&f.t.owner),
            json!({}),
        )
        .await;
    let secret = secret["secret"].as_str().unwrap().to_owned();
    let guest = app.guest_token(&f.t1_code).await;
    let (status, intent) = app
        .post(
            &format!("/api/v1/checks/{}/intents", id(&second)),
            Some(&guest),
            json!({ "idempotency_key": "i" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{intent}");
    app.clock.advance_ms(16 * 60 * 1000);
    let t = app.clock.now() / 1000;
    let body = json!({ "event_id": "evt_late", "intent_id": intent["id"], "status": "succeeded", "amount_cents": 600, "currency": "EUR" }).to_string();
    let late = webhook(
        &app,
        Some(format!("t={t},v1={}", sign(&secret, t, &body))),
        &body,
    )
    .await;
    assert_error(&late, StatusCode::CONFLICT, "INVALID_TRANSITION");
    // (Every token has expired by now: the store says what was recorded.)
    let facts = app
        .store
        .check_facts(f.t.id, id(&second))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((facts.check.paid_cents, facts.payments.len()), (0, 0));
}

crate::both_backends!(
    a_table_check_from_order_to_paid_split,
    splits_sum_exactly_to_the_check,
    large_discounts_need_a_managers_approval,
    concurrent_payments_never_overpay,
    refunds_are_bounded_and_for_managers,
    a_guest_sees_only_its_tables_check,
    closing_voiding_and_reopening_follow_the_rules,
    receipt_numbers_are_gap_free_under_concurrency,
    pay_at_the_table_through_a_signed_webhook,
    open_checks_follow_their_orders_and_paid_ones_keep_their_figures,
    voided_checks_release_orders_and_intents_expire,
);
