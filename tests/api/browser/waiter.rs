//! The waiter's page in a browser: an order from the live menu with a
//! modifier choice and a held second course, fired from the page; "your
//! order is ready" when the chef bumps it; a guest's call, accepted; and a
//! check split two ways and paid by card and in cash. The chef, the manager
//! and the guest act over REST, as their own devices would.

use serde_json::{json, Value};

use super::{demo_hub, demo_token, guest_code, place, table_id, Browser, Proxy};
use crate::support::TestApp;

/// The demo menu as the hub lists it.
async fn menu(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, page) = app.get("/api/v1/menu/items?limit=200", token).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().expect("items").clone()
}

fn item<'a>(menu: &'a [Value], name: &str) -> &'a Value {
    menu.iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no {name} on the demo menu"))
}

fn item_id(menu: &[Value], name: &str) -> i64 {
    item(menu, name)["id"].as_i64().unwrap()
}

/// The id of an option of one of an item's modifier groups.
fn option_id(menu: &[Value], item_name: &str, option: &str) -> i64 {
    item(menu, item_name)["modifier_groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["options"].as_array().unwrap().iter())
        .find(|o| o["name"] == option)
        .unwrap_or_else(|| panic!("{item_name} has no option {option}"))["id"]
        .as_i64()
        .unwrap()
}

async fn signed_in_waiter(app: &TestApp, width: u32, height: u32) -> Browser {
    let browser = Browser::open(width, height).await;
    browser.sign_in(&app.base, "waiter", "/waiter").await;
    browser.wait_for("#connection", "live").await;
    browser
}

#[tokio::test]
async fn a_waiter_orders_from_the_live_menu_and_fires_the_second_course() {
    let (app, _) = demo_hub().await;
    let waiter = demo_token(&app, "waiter").await;
    let manager = demo_token(&app, "manager").await;
    let menu = menu(&app, &waiter).await;
    let soup = item_id(&menu, "Tomato soup");
    let burger = item_id(&menu, "Cheeseburger");
    let burrata = item_id(&menu, "Burrata");
    let medium = option_id(&menu, "Cheeseburger", "Medium");
    let t1 = table_id(&app, &waiter, "T1").await;

    let browser = signed_in_waiter(&app, 1280, 800).await;
    browser
        .wait_for(&format!("[data-table='{t1}']"), "free")
        .await;
    browser.click(&format!("[data-table='{t1}']")).await;
    browser.click("#tab-new").await;
    browser
        .wait_for(&format!("[data-item='{burger}']"), "40 left")
        .await;

    // The manager 86es the burrata: the menu on the page says so at once.
    let (status, body) = app
        .patch(
            &format!("/api/v1/menu/items/{burrata}"),
            &manager,
            json!({"available": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    browser
        .wait_for(&format!("[data-item='{burrata}']"), "sold out")
        .await;

    browser.click(&format!("[data-item='{soup}']")).await;
    browser.click("#add-line").await;
    browser.wait_for("#cart", "Tomato soup").await;

    browser.click(&format!("[data-item='{burger}']")).await;
    // Doneness is required: the page asks for it before adding the line.
    browser.click("#add-line").await;
    browser.wait_for("#sheet-error", "Doneness").await;
    browser.click(&format!("[data-option='{medium}']")).await;
    browser.select("#line-course", "2").await;
    browser.type_into("#line-seat", "2").await;
    browser.type_into("#line-note", "no pickles").await;
    browser.click("#add-line").await;
    browser.wait_for("#cart", "Medium").await;
    browser.wait_for("#cart", "course 2").await;
    browser.screenshot("waiter").await;

    browser.click("#place-order").await;
    browser.wait_for("#view", "Fire course 2").await;
    let order_id = browser
        .eval("return Number(document.querySelector('[data-order]').dataset.order)")
        .await
        .as_i64()
        .expect("the order's id on the page");

    // The hub has the order as the page placed it; the burger's course is held.
    let (status, order) = app
        .get(&format!("/api/v1/orders/{order_id}"), &waiter)
        .await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["table_id"], t1);
    let lines = order["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{order}");
    let soup_line = lines.iter().find(|l| l["menu_item_id"] == soup).unwrap();
    let burger_line = lines.iter().find(|l| l["menu_item_id"] == burger).unwrap();
    assert_eq!(soup_line["course"], 1);
    assert!(soup_line["fired_at"].is_string(), "{soup_line}");
    assert_eq!(burger_line["course"], 2);
    assert!(burger_line["fired_at"].is_null(), "{burger_line}");
    assert_eq!(burger_line["choices"][0]["name"], "Medium");
    assert_eq!(burger_line["seat"], 2);
    assert_eq!(burger_line["note"], "no pickles");
    // The burger's stock went down, and the page shows it.
    browser.click("#tab-new").await;
    browser
        .wait_for(&format!("[data-item='{burger}']"), "39 left")
        .await;
    browser.click("#tab-orders").await;
    browser
        .wait_for(&format!("[data-table='{t1}']"), "occupied")
        .await;

    browser
        .click(&format!(
            "[data-fire-order='{order_id}'][data-fire-course='2']"
        ))
        .await;
    browser
        .wait_text("#view", "course 2 fired", |t| {
            t.contains("Course 2") && !t.contains("Fire course 2") && !t.contains("held")
        })
        .await;
    let (_, order) = app
        .get(&format!("/api/v1/orders/{order_id}"), &waiter)
        .await;
    let burger_line = order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["menu_item_id"] == burger)
        .unwrap();
    assert!(burger_line["fired_at"].is_string(), "{order}");
    browser.close().await;
}

#[tokio::test]
async fn the_waiter_is_told_an_order_is_ready_and_accepts_a_guests_call() {
    let (app, _) = demo_hub().await;
    let waiter = demo_token(&app, "waiter").await;
    let chef = demo_token(&app, "chef").await;
    let manager = demo_token(&app, "manager").await;
    let menu = menu(&app, &waiter).await;
    let t2 = table_id(&app, &waiter, "T2").await;
    let t3 = table_id(&app, &waiter, "T3").await;

    let browser = signed_in_waiter(&app, 390, 844).await;
    browser
        .wait_for(&format!("[data-table='{t2}']"), "free")
        .await;

    // The waiter's order (placed from another device of theirs).
    let order = place(
        &app,
        &waiter,
        t2,
        "ready-1",
        json!([
            {"menu_item_id": item_id(&menu, "Espresso"), "qty": 2},
            {"menu_item_id": item_id(&menu, "House lemonade"), "qty": 1},
        ]),
    )
    .await;
    let order_id = order["id"].as_i64().unwrap();
    browser
        .wait_for(&format!("[data-table='{t2}']"), "1 open")
        .await;

    // The chef bumps every line to ready.
    for line in order["lines"].as_array().unwrap() {
        let line_id = line["id"].as_i64().unwrap();
        for status in ["preparing", "ready"] {
            let (code, body) = app
                .post(
                    &format!("/api/v1/orders/{order_id}/lines/{line_id}/status"),
                    Some(&chef),
                    json!({ "status": status }),
                )
                .await;
            assert_eq!(code, 200, "{body}");
        }
    }
    browser
        .wait_for("#alerts", &format!("order {order_id} is ready"))
        .await;
    browser
        .wait_for(&format!("[data-table='{t2}']"), "1 ready")
        .await;

    // A guest at T3 calls for a waiter from the table.
    let code = guest_code(&app, &manager, t3).await;
    let guest = app.guest_token(&code).await;
    let (status, body) = app
        .post(
            &format!("/api/v1/tables/{t3}/call-waiter"),
            Some(&guest),
            json!({}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    browser.wait_for("#alerts", "T3 is calling a waiter").await;
    browser
        .wait_for(&format!("[data-table='{t3}']"), "calling")
        .await;
    browser.screenshot("waiter-phone").await;

    browser.click(&format!("[data-accept='{t3}']")).await;
    browser
        .wait_text("#alerts", "no call", |t| !t.contains("calling"))
        .await;
    // The call was taken: there is none left to accept.
    let (status, body) = app
        .post(
            &format!("/api/v1/tables/{t3}/accept-call"),
            Some(&manager),
            json!({}),
        )
        .await;
    assert_eq!(status, 409, "{body}");

    // Served from the notification.
    browser.click(&format!("[data-served='{order_id}']")).await;
    browser
        .wait_text("#alerts", "no ready order", |t| !t.contains("is ready"))
        .await;
    let (_, order) = app
        .get(&format!("/api/v1/orders/{order_id}"), &waiter)
        .await;
    assert_eq!(order["status"], "served", "{order}");
    browser.close().await;
}

#[tokio::test]
async fn a_waiter_splits_a_check_and_takes_two_payments() {
    let (app, _) = demo_hub().await;
    let waiter = demo_token(&app, "waiter").await;
    let menu = menu(&app, &waiter).await;
    let t2 = table_id(&app, &waiter, "T2").await;
    // The README's walk-through: two burgers, a tiramisu, two lemonades: 49.50.
    let order = place(
        &app,
        &waiter,
        t2,
        "split-1",
        json!([
            {"menu_item_id": item_id(&menu, "Cheeseburger"), "qty": 2,
             "choices": [option_id(&menu, "Cheeseburger", "Medium")]},
            {"menu_item_id": item_id(&menu, "Tiramisu"), "qty": 1},
            {"menu_item_id": item_id(&menu, "House lemonade"), "qty": 2},
        ]),
    )
    .await;

    let browser = signed_in_waiter(&app, 1280, 800).await;
    browser.click(&format!("[data-table='{t2}']")).await;
    browser.click("#tab-check").await;
    browser.type_into("#covers", "2").await;
    browser.click("#open-check").await;
    browser.wait_for("#check-due", "49.50").await;

    // The burgers on one part, the rest on another: 33.00 and 16.50.
    let burgers = order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "Cheeseburger")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    browser.click("details.by-lines summary").await;
    browser
        .select(&format!("[data-line-group='{burgers}']"), "1")
        .await;
    browser.click("#split-lines").await;
    browser.wait_for("[data-part='0']", "33.00").await;
    browser.wait_for("[data-part='1']", "rest").await;
    browser.wait_for("[data-part='1']", "16.50").await;

    // Changed before anything is paid: evenly, two ways.
    browser.type_into("#split-ways", "2").await;
    browser.click("#split-even").await;
    browser.wait_for("[data-part='0']", "1/2").await;
    browser.wait_for("[data-part='1']", "24.75").await;

    // Part 1/2 by card with a 2.50 tip.
    browser.click("[data-pay-part='0']").await;
    browser.wait_for("#pay-form", "due").await;
    browser.type_into("#pay-tip", "2.50").await;
    browser.click("#record-payment").await;
    browser.wait_for("#check-status", "partially paid").await;
    browser.wait_for("[data-part='0']", "paid").await;
    browser.wait_for("#check-due", "24.75").await;
    browser.eval("window.scrollTo(0, 0)").await;
    browser.screenshot("waiter-check").await;

    // Part 2/2 in cash: 30.00 handed over with a 2.25 tip, 3.00 back.
    browser.click("[data-pay-part='1']").await;
    browser.click("#method-cash").await;
    // More than the part owes is refused, said in euros.
    browser.type_into("#pay-amount", "30.00").await;
    browser.click("#record-payment").await;
    browser.wait_for("#pay-error", "24.75 is due").await;
    browser.type_into("#pay-amount", "24.75").await;
    browser.type_into("#pay-tip", "2.25").await;
    browser.type_into("#pay-tendered", "30.00").await;
    browser.wait_for("#change-preview", "3.00").await;
    browser.click("#record-payment").await;
    browser
        .wait_text("#check-status", "paid", |t| t == "paid")
        .await;
    browser.wait_for("#last-payment", "3.00").await;
    browser.wait_for("#check-due", "0.00").await;
    // Paid, but the kitchen still has the order: the check cannot close yet.
    browser.click("#close-check").await;
    browser.wait_for("#toasts", "is not served").await;

    let (status, page) = app
        .get(&format!("/api/v1/checks?table_id={t2}"), &waiter)
        .await;
    assert_eq!(status, 200, "{page}");
    let check_id = page["items"][0]["id"].as_i64().expect("the table's check");
    let (status, check) = app
        .get(&format!("/api/v1/checks/{check_id}"), &waiter)
        .await;
    assert_eq!(status, 200, "{check}");
    assert_eq!(check["status"], "paid", "{check}");
    assert_eq!(check["total_cents"], 4950);
    assert_eq!(check["paid_cents"], 4950);
    assert_eq!(check["tip_cents"], 475);
    let payments = check["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 2, "{check}");
    assert_eq!(payments[0]["part"], 0);
    assert_eq!(payments[0]["method"], "card");
    assert_eq!(payments[0]["amount_cents"], 2475);
    assert_eq!(payments[0]["tip_cents"], 250);
    assert_eq!(payments[1]["part"], 1);
    assert_eq!(payments[1]["method"], "cash");
    assert_eq!(payments[1]["amount_cents"], 2475);
    assert_eq!(payments[1]["tip_cents"], 225);
    assert_eq!(payments[1]["tendered_cents"], 3000);
    assert_eq!(payments[1]["change_cents"], 300);
    browser.close().await;
}

#[tokio::test]
async fn the_waiter_page_catches_up_after_its_connection_drops() {
    let (app, _) = demo_hub().await;
    let proxy = Proxy::start(app.addr).await;
    let waiter = demo_token(&app, "waiter").await;
    let manager = demo_token(&app, "manager").await;
    let menu = menu(&app, &waiter).await;
    let espresso = item_id(&menu, "Espresso");
    let burrata = item_id(&menu, "Burrata");
    let t4 = table_id(&app, &waiter, "T4").await;
    let t5 = table_id(&app, &waiter, "T5").await;

    let browser = Browser::open(1280, 800).await;
    browser.sign_in(&proxy.base, "waiter", "/waiter").await;
    browser.wait_for("#connection", "live").await;
    browser.click(&format!("[data-table='{t4}']")).await;
    browser.click("#tab-new").await;
    browser.click(&format!("[data-item='{espresso}']")).await;
    browser.click("#add-line").await;
    browser.wait_for("#cart", "Espresso").await;
    browser.click(&format!("[data-item='{burrata}']")).await;
    browser.click("#add-line").await;
    browser.wait_for("#cart", "Burrata").await;

    proxy.cut();
    browser.wait_for("#connection", "offline").await;
    // Meanwhile a guest at T5 calls and the burrata sells out.
    let code = guest_code(&app, &manager, t5).await;
    let guest = app.guest_token(&code).await;
    let (status, body) = app
        .post(
            &format!("/api/v1/tables/{t5}/call-waiter"),
            Some(&guest),
            json!({}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = app
        .patch(
            &format!("/api/v1/menu/items/{burrata}"),
            &manager,
            json!({"stock": 0}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Sending while offline is refused in words, and places nothing.
    browser.click("#place-order").await;
    browser.wait_for("#toasts", "not connected").await;

    proxy.restore();
    browser.wait_for("#connection", "live").await;
    // What happened while it was away is on screen without a reload.
    browser.wait_for("#alerts", "T5 is calling a waiter").await;
    browser
        .wait_for(&format!("[data-item='{burrata}']"), "sold out")
        .await;
    browser.wait_for("#cart", "sold out").await;
    // The hub refuses the sold-out dish, named; without it the order goes.
    browser.click("#place-order").await;
    browser
        .wait_for("#toasts", "Not enough left: Burrata")
        .await;
    browser.click("[aria-label='Remove Burrata']").await;
    browser.click("#place-order").await;
    browser.wait_for("#view", "Espresso").await;
    let order_id = browser
        .eval("return Number(document.querySelector('[data-order]').dataset.order)")
        .await
        .as_i64()
        .expect("the order's id on the page");
    let (status, order) = app
        .get(&format!("/api/v1/orders/{order_id}"), &waiter)
        .await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["table_id"], t4);
    assert_eq!(order["lines"].as_array().unwrap().len(), 1, "{order}");
    assert_eq!(order["lines"][0]["name"], "Espresso");
    let (status, _) = app
        .get(&format!("/api/v1/orders/{}", order_id + 1), &waiter)
        .await;
    assert_eq!(status, 404, "one order only");
    browser.close().await;
}
