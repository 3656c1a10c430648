//! The manager's dashboard in a browser: today's figures as the hub pushes
//! them (checked against `GET /api/v1/analytics`), the 86 list's one-tap
//! 86 and restock, the small administration of tables, menu and staff, and
//! a late ticket the hub's sweeper announces.

use std::time::{Duration, Instant};

use chrono::TimeZone;
use serde_json::{json, Value};

use super::{demo_hub, demo_hub_on, demo_token, menu_item, Browser, Proxy, PATIENCE};
use crate::support::{Backend, TestApp};

/// The demo restaurant's zone (src/demo.rs).
const ZONE: chrono_tz::Tz = chrono_tz::Europe::Berlin;

/// Today's business day by the hub's (manual) clock.
fn business_day(app: &TestApp) -> String {
    let now = restohub::clock::Clock::now_ms(&*app.clock);
    ZONE.timestamp_millis_opt(now)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

async fn item_by_id(app: &TestApp, token: &str, id: &Value) -> Value {
    let (status, item) = app.get(&format!("/api/v1/menu/items/{id}"), token).await;
    assert_eq!(status, 200, "{item}");
    item
}

/// Places an order for the demo table `table` over REST.
async fn place(app: &TestApp, waiter: &str, table: i64, lines: Value) -> Value {
    let key = format!("dash-{table}-{}", lines.to_string().len());
    super::place(app, waiter, table, &key, lines).await
}

/// Waits until `script` (which returns a string) returns `expected`.
async fn wait_eval(browser: &Browser, script: &str, expected: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = browser.eval(script).await;
        if got.as_str() == Some(expected) {
            return;
        }
        if Instant::now() > deadline {
            let page = browser.text("body").await;
            panic!("{script} gave {got}, not {expected:?}; the page:\n{page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `check` holds for what the hub says about a menu item.
async fn wait_item(
    app: &TestApp,
    token: &str,
    id: &Value,
    what: &str,
    check: impl Fn(&Value) -> bool,
) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let now = item_by_id(app, token, id).await;
        if check(&now) {
            return;
        }
        assert!(Instant::now() < deadline, "item {id} never {what}: {now}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An amount as the page writes it: the browser's own currency format.
async fn in_currency(browser: &Browser, cents: i64) -> String {
    let script =
        format!("return new Intl.NumberFormat(undefined, {{style: 'currency', currency: 'EUR'}}).format({cents} / 100);");
    browser.eval(&script).await.as_str().unwrap().to_string()
}

crate::both_backends!(the_dashboards_totals_match_analytics);

async fn the_dashboards_totals_match_analytics(backend: Backend) {
    let (app, _) = demo_hub_on(backend).await;
    let manager = demo_token(&app, "manager").await;
    let waiter = demo_token(&app, "waiter").await;
    let browser = Browser::open(1280, 800).await;
    browser.sign_in(&app.base, "manager", "/dashboard").await;
    browser.wait_for("#connection", "live").await;
    wait_eval(
        &browser,
        "return document.querySelector('#orders')?.dataset.count ?? null;",
        "0",
    )
    .await;

    // Two tables order; the first pays its check in full by card.
    let halloumi = menu_item(&app, &manager, "Grilled halloumi").await["id"].clone();
    let tiramisu = menu_item(&app, &manager, "Tiramisu").await["id"].clone();
    let lemonade = menu_item(&app, &manager, "House lemonade").await["id"].clone();
    let soup = menu_item(&app, &manager, "Tomato soup").await["id"].clone();
    place(
        &app,
        &waiter,
        2,
        json!([{"menu_item_id": halloumi, "qty": 2}, {"menu_item_id": tiramisu, "qty": 1}, {"menu_item_id": lemonade, "qty": 2}]),
    )
    .await;
    place(&app, &waiter, 3, json!([{"menu_item_id": soup, "qty": 1}])).await;
    let (status, check) = app
        .post(
            "/api/v1/checks",
            Some(&waiter),
            json!({"table_id": 2, "covers": 2}),
        )
        .await;
    assert_eq!(status, 201, "{check}");
    let (status, paid) = app
        .post(
            &format!("/api/v1/checks/{}/payments", check["id"]),
            Some(&waiter),
            json!({"idempotency_key": "dash-pay-1", "method": "card", "amount_cents": check["total_cents"], "tip_cents": 300}),
        )
        .await;
    assert!(status.is_success(), "{paid}");

    let day = business_day(&app);
    let (status, analytics) = app
        .get(&format!("/api/v1/analytics?from={day}&to={day}"), &manager)
        .await;
    assert_eq!(status, 200, "{analytics}");
    let totals = &analytics["totals"];
    let orders = totals["orders"].as_i64().unwrap();
    let revenue = totals["revenue_closed_cents"].as_i64().unwrap()
        + totals["revenue_open_cents"].as_i64().unwrap();
    let net = analytics["money"]["net_sales_cents"].as_i64().unwrap();
    assert_eq!(orders, 2, "{analytics}");
    assert!(revenue > 0 && net > 0, "{analytics}");

    // The page's figures, pushed live, are the same, in euros.
    wait_eval(
        &browser,
        "return document.querySelector('#orders')?.dataset.count ?? null;",
        &orders.to_string(),
    )
    .await;
    wait_eval(
        &browser,
        "return document.querySelector('#revenue')?.dataset.cents ?? null;",
        &revenue.to_string(),
    )
    .await;
    wait_eval(
        &browser,
        "return document.querySelector('#net-sales')?.dataset.cents ?? null;",
        &net.to_string(),
    )
    .await;
    let revenue_text = in_currency(&browser, revenue).await;
    assert!(revenue_text.contains('€'), "{revenue_text}");
    browser.wait_for("#revenue .kpi-value", &revenue_text).await;
    browser
        .wait_for("#net-sales .kpi-value", &in_currency(&browser, net).await)
        .await;
    browser
        .wait_for("#orders .kpi-value", &orders.to_string())
        .await;
    browser
        .wait_for("#tips .kpi-value", &in_currency(&browser, 300).await)
        .await;
    // The charts: today's sales by hour, and the station queues.
    browser.wait_count("#chart-sales svg", 1).await;
    browser
        .wait_for("#queue-list", "Grill: 1 ticket, 1 line")
        .await;
    browser.wait_for("#top-items", "Grilled halloumi").await;

    // On a phone the same figures, one column.
    browser
        .client
        .set_window_size(390, 844)
        .await
        .expect("phone-sized window");
    browser.wait_for("#revenue .kpi-value", &revenue_text).await;
    browser.screenshot("dashboard-phone").await;
    browser.close().await;
}

#[tokio::test]
async fn one_tap_86_and_restock_from_the_86_list() {
    let (app, _) = demo_hub().await;
    let manager = demo_token(&app, "manager").await;
    let browser = Browser::open(1280, 800).await;
    browser.sign_in(&app.base, "manager", "/dashboard").await;
    browser.wait_for("#connection", "live").await;

    // 86 the tiramisu from the list of every item, with one tap.
    let tiramisu = menu_item(&app, &manager, "Tiramisu").await["id"].clone();
    browser.tap("details.all-items summary").await;
    browser
        .tap(&format!("#stock-items #stock-item-{tiramisu} .eighty-six"))
        .await;
    wait_item(&app, &manager, &tiramisu, "86'd", |i| {
        i["available"] == false
    })
    .await;
    browser.wait_for("#eighty-sixed", "Tiramisu").await;
    // Back on, with one tap from the 86 list.
    browser
        .tap(&format!("#eighty-sixed #stock-item-{tiramisu} .back-on"))
        .await;
    wait_item(&app, &manager, &tiramisu, "back on", |i| {
        i["available"] == true
    })
    .await;
    browser
        .wait_for("#eighty-sixed", "Everything is available")
        .await;

    // The steak runs low (the demo's threshold is 3): restock it with one tap.
    let steak = menu_item(&app, &manager, "Ribeye steak").await["id"].clone();
    let (status, _) = app
        .patch(
            &format!("/api/v1/menu/items/{steak}"),
            &manager,
            json!({"stock": 2}),
        )
        .await;
    assert_eq!(status, 200);
    browser.wait_for("#low-stock", "Ribeye steak").await;
    browser
        .tap(&format!("#low-stock #stock-item-{steak} .restock"))
        .await;
    wait_item(&app, &manager, &steak, "restocked", |i| i["stock"] == 20).await;
    browser
        .wait_for("#low-stock", "Nothing is running low")
        .await;

    // The burrata sells out: it is on the 86 list, and a restock puts it back on.
    let burrata = menu_item(&app, &manager, "Burrata").await["id"].clone();
    let (status, _) = app
        .patch(
            &format!("/api/v1/menu/items/{burrata}"),
            &manager,
            json!({"stock": 0}),
        )
        .await;
    assert_eq!(status, 200);
    browser.wait_for("#eighty-sixed", "Burrata").await;
    browser
        .wait_for(&format!("#eighty-sixed #stock-item-{burrata}"), "sold out")
        .await;
    browser
        .type_into(
            &format!("#eighty-sixed #stock-item-{burrata} .restock-qty"),
            "12",
        )
        .await;
    browser
        .tap(&format!("#eighty-sixed #stock-item-{burrata} .restock"))
        .await;
    wait_item(&app, &manager, &burrata, "restocked and back on", |i| {
        i["stock"] == 12 && i["available"] == true
    })
    .await;
    browser
        .wait_for("#eighty-sixed", "Everything is available")
        .await;
    browser.close().await;
}

#[tokio::test]
async fn a_manager_adds_a_table_a_menu_item_and_a_person() {
    let (app, _) = demo_hub().await;
    let manager = demo_token(&app, "manager").await;
    let browser = Browser::open(1280, 800).await;
    browser.sign_in(&app.base, "manager", "/dashboard").await;
    browser.wait_for("#connection", "live").await;
    browser.tap("#tab-admin").await;

    // A table: it exists over REST, and the page shows its guest code and link.
    browser.type_into("#new-table-label", "Patio 1").await;
    browser.type_into("#new-table-seats", "2").await;
    browser.tap("#new-table-create").await;
    browser.wait_for("#table-rows", "Patio 1").await;
    let (status, tables) = app.get("/api/v1/tables?limit=200", &manager).await;
    assert_eq!(status, 200);
    let table = tables["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "Patio 1")
        .unwrap_or_else(|| panic!("no Patio 1: {tables}"))
        .clone();
    assert_eq!(table["seats"], 2);
    let code = table["guest_code"].as_str().unwrap();
    let row = format!("#table-rows tr[data-table-id='{}']", table["id"]);
    browser.wait_for(&row, code).await;
    browser
        .wait_for(&format!("{row} .guest-link"), &format!("/t/{code}"))
        .await;

    // A label that is taken: the hub's refusal, in words.
    browser.type_into("#new-table-label", "T1").await;
    browser.tap("#new-table-create").await;
    browser
        .wait_for(".toast.error", "a table with this label already exists")
        .await;

    // A menu item: a starter at the cold kitchen, counted.
    browser.wait_for("#new-item-category", "Starters").await;
    let (_, categories) = app.get("/api/v1/menu/categories", &manager).await;
    let starters = categories["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Starters")
        .unwrap()["id"]
        .to_string();
    browser.type_into("#new-item-name", "Pumpkin soup").await;
    browser.type_into("#new-item-price", "7.90").await;
    browser.select("#new-item-category", &starters).await;
    browser.wait_for("#new-item-station", "Cold kitchen").await;
    let (_, stations) = app.get("/api/v1/stations", &manager).await;
    let cold = stations["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Cold kitchen")
        .unwrap()["id"]
        .to_string();
    browser.select("#new-item-station", &cold).await;
    browser.type_into("#new-item-stock", "10").await;
    browser.tap("#new-item-create").await;
    browser.wait_for("#menu-rows", "Pumpkin soup").await;
    let soup = menu_item(&app, &manager, "Pumpkin soup").await;
    assert_eq!(soup["price_cents"], 790, "{soup}");
    assert_eq!(soup["stock"], 10, "{soup}");
    assert_eq!(soup["category_id"].to_string(), starters, "{soup}");
    assert_eq!(soup["station_id"].to_string(), cold, "{soup}");
    assert_eq!(soup["available"], true, "{soup}");
    browser.eval("window.scrollTo(0, 0); return null;").await;
    browser.screenshot("dashboard-admin").await;

    // A new price from the list.
    let soup_row = format!("#menu-rows tr[data-item-id='{}']", soup["id"]);
    browser
        .type_into(&format!("{soup_row} .price-input"), "8.40")
        .await;
    browser.tap(&format!("{soup_row} .save-price")).await;
    wait_item(&app, &manager, &soup["id"], "repriced", |i| {
        i["price_cents"] == 840
    })
    .await;
    browser
        .wait_for(
            &format!("{soup_row} .price"),
            &in_currency(&browser, 840).await,
        )
        .await;

    // A waiter is taken on, then let go (two taps).
    browser.type_into("#new-user-name", "Nina Newhire").await;
    browser
        .type_into("#new-user-email", "nina@demo.restohub")
        .await;
    browser.select("#new-user-role", "waiter").await;
    browser
        .type_into("#new-user-password", "nina-secret-1")
        .await;
    browser.tap("#new-user-create").await;
    browser.wait_for("#staff-rows", "Nina Newhire").await;
    let (_, users) = app.get("/api/v1/users?limit=200", &manager).await;
    let nina = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "nina@demo.restohub")
        .unwrap_or_else(|| panic!("no Nina: {users}"))
        .clone();
    assert_eq!(nina["role"], "waiter");
    let delete = format!("#staff-rows tr[data-user-id='{}'] .delete-user", nina["id"]);
    browser.tap(&delete).await;
    browser.wait_for(&delete, "Delete Nina Newhire?").await;
    browser.tap(&delete).await;
    browser.wait_count(&delete, 0).await;
    let (status, _) = app
        .get(&format!("/api/v1/users/{}", nina["id"]), &manager)
        .await;
    assert_eq!(status, 404);
    browser.close().await;
}

#[tokio::test]
async fn a_late_ticket_shows_on_the_dashboard() {
    let (app, _) = demo_hub().await;
    let manager = demo_token(&app, "manager").await;
    let waiter = demo_token(&app, "waiter").await;
    let chef = demo_token(&app, "chef").await;
    // The grill is late after a minute (the shortest the hub allows).
    let (_, stations) = app.get("/api/v1/stations", &manager).await;
    let grill = stations["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Grill")
        .unwrap()["id"]
        .clone();
    let (status, reply) = app
        .patch(
            &format!("/api/v1/stations/{grill}"),
            &manager,
            json!({"targets": {"dine_in": {"caution_seconds": 30, "late_seconds": 60}}}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");

    let browser = Browser::open(1280, 800).await;
    browser.sign_in(&app.base, "manager", "/dashboard").await;
    browser.wait_for("#connection", "live").await;
    browser.wait_for("#late-list", "No late tickets").await;

    // A few tables order; the halloumi at T4 is the one that will be late.
    let halloumi = menu_item(&app, &manager, "Grilled halloumi").await["id"].clone();
    let soup = menu_item(&app, &manager, "Tomato soup").await["id"].clone();
    let lemonade = menu_item(&app, &manager, "House lemonade").await["id"].clone();
    place(
        &app,
        &waiter,
        2,
        json!([{"menu_item_id": soup, "qty": 2}, {"menu_item_id": lemonade, "qty": 2}]),
    )
    .await;
    let order = place(
        &app,
        &waiter,
        4,
        json!([{"menu_item_id": halloumi, "qty": 1}]),
    )
    .await;
    place(
        &app,
        &waiter,
        5,
        json!([{"menu_item_id": lemonade, "qty": 3}]),
    )
    .await;
    wait_eval(
        &browser,
        "return document.querySelector('#orders')?.dataset.count ?? null;",
        "3",
    )
    .await;

    // A minute and a bit later by the hub's clock, its sweeper says it is late.
    app.clock.advance_ms(61_000);
    let late = format!("#late-list li[data-order-id='{}']", order["id"]);
    browser
        .wait_for(&late, &format!("Order {}", order["id"]))
        .await;
    browser.wait_for(&late, "T4").await;
    browser.wait_for(&late, "Grill").await;
    browser.screenshot("dashboard").await;
    // The charts further down: station queues and ticket times.
    browser.wait_count("#chart-queues svg", 1).await;
    browser
        .eval("document.querySelector('#chart-queues').scrollIntoView({block: 'center'}); return null;")
        .await;
    browser.screenshot("dashboard-charts").await;

    // The grill bumps it: it leaves the list.
    let line = order["lines"][0]["id"].clone();
    for status in ["preparing", "ready"] {
        let (code, reply) = app
            .post(
                &format!("/api/v1/orders/{}/lines/{line}/status", order["id"]),
                Some(&chef),
                json!({ "status": status }),
            )
            .await;
        assert_eq!(code, 200, "{reply}");
    }
    browser.wait_for("#late-list", "No late tickets").await;
    browser.close().await;
}

#[tokio::test]
async fn the_dashboard_says_it_is_offline_and_catches_up_when_back() {
    let (app, _) = demo_hub().await;
    let waiter = demo_token(&app, "waiter").await;
    let manager = demo_token(&app, "manager").await;
    let proxy = Proxy::start(app.addr).await;
    let browser = Browser::open(1280, 800).await;
    browser.sign_in(&proxy.base, "manager", "/dashboard").await;
    browser.wait_for("#connection", "live").await;
    wait_eval(
        &browser,
        "return document.querySelector('#orders')?.dataset.count ?? null;",
        "0",
    )
    .await;

    // The connection drops: the badge says so, in red, while an order comes in.
    proxy.cut();
    browser.wait_for("#connection", "offline").await;
    let soup = menu_item(&app, &manager, "Tomato soup").await["id"].clone();
    place(&app, &waiter, 6, json!([{"menu_item_id": soup, "qty": 3}])).await;

    // Back: live again, with the order it missed, without a reload.
    proxy.restore();
    browser.wait_for("#connection", "live").await;
    wait_eval(
        &browser,
        "return document.querySelector('#orders')?.dataset.count ?? null;",
        "1",
    )
    .await;
    browser
        .wait_for("#revenue .kpi-value", &in_currency(&browser, 3 * 650).await)
        .await;
    browser.close().await;
}
