//! The guest's table page (`/t/{code}`) on a phone: the menu in the
//! restaurant's currency, a cart, an order the kitchen then moves (seen
//! live), an item 86'd while the page is open, a call that reaches the
//! waiters, paying a split part through the payment provider (the test
//! plays the provider and signs its webhook), and a stale code said in
//! words.

use fantoccini::Locator;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::{demo_hub, demo_token, guest_code, menu_item, option_id, table_id, Browser, Proxy};
use crate::support::TestApp;
use crate::ws_client::WsClient;

const PHONE: (u32, u32) = (390, 844);

/// An amount as the page shows euros (the demo restaurant's currency).
fn eur(cents: i64) -> String {
    format!("€{}.{:02}", cents / 100, cents % 100)
}

async fn item_id(app: &TestApp, token: &str, name: &str) -> i64 {
    menu_item(app, token, name).await["id"].as_i64().unwrap()
}

/// An attribute of the first element matching `css` (waiting for it).
async fn attr(browser: &Browser, css: &str, name: &str) -> String {
    browser
        .find(css)
        .await
        .attr(name)
        .await
        .expect("attribute read")
        .unwrap_or_else(|| panic!("{css} has no {name}"))
}

/// A guest at `label` with the page open and live.
async fn guest_at(app: &TestApp, manager: &str, label: &str) -> (Browser, i64, String) {
    let table = table_id(app, manager, label).await;
    let code = guest_code(app, manager, table).await;
    let browser = Browser::open(PHONE.0, PHONE.1).await;
    browser.goto(&format!("{}/t/{code}", app.base)).await;
    browser.wait_for("#connection", "live").await;
    browser.wait_for("#menu", "Tomato soup").await;
    browser.wait_for("#table-label", label).await;
    (browser, table, code)
}

#[tokio::test]
async fn a_guest_orders_from_the_table_and_sees_the_kitchen_move_it_live() {
    let (app, _) = demo_hub().await;
    let manager = demo_token(&app, "manager").await;
    let chef = demo_token(&app, "chef").await;
    let soup = item_id(&app, &manager, "Tomato soup").await;
    let lemonade = item_id(&app, &manager, "House lemonade").await;
    let burger_item = menu_item(&app, &manager, "Cheeseburger").await;
    let burger = burger_item["id"].as_i64().unwrap();
    let (browser, table, _) = guest_at(&app, &manager, "T3").await;

    // The menu in the restaurant's currency, with its allergens.
    let soup_card = format!("#menu [data-item=\"{soup}\"]");
    browser.wait_for(&soup_card, &eur(650)).await;
    browser.wait_for(&soup_card, "celery").await;
    browser
        .wait_for(&format!("#menu [data-item=\"{lemonade}\"]"), &eur(450))
        .await;
    // An item with a required choice asks for it before it goes in the cart.
    let burger_card = format!("#menu [data-item=\"{burger}\"]");
    browser.tap(&format!("{burger_card} button.add")).await;
    browser.wait_for(&burger_card, "Doneness").await;
    let confirm = format!("{burger_card} button.confirm");
    assert!(
        browser
            .find(&confirm)
            .await
            .attr("disabled")
            .await
            .unwrap()
            .is_some(),
        "a burger without a doneness cannot be added"
    );
    for option in ["Medium rare", "Bacon"] {
        let id = option_id(&burger_item, option);
        browser
            .tap(&format!("{burger_card} [data-option=\"{id}\"]"))
            .await;
    }
    // The price with the bacon (+2.50), before it is added.
    browser.wait_for(&confirm, &eur(1650 + 250)).await;
    browser.tap(&confirm).await;
    browser.wait_for("#cart", "1 item").await;

    browser.tap(&format!("{soup_card} button.add")).await;
    browser
        .tap(&format!("#menu [data-item=\"{lemonade}\"] button.add"))
        .await;
    browser.wait_for("#cart", "3 items").await;
    let total = 1900 + 650 + 450;
    browser.wait_for("#cart-total", &eur(total)).await;
    // Opened, the cart shows its lines (and the burger's choices) over the menu.
    browser.tap("#cart-toggle").await;
    browser.wait_for("#cart-lines", "House lemonade").await;
    browser.wait_for("#cart-lines", "Medium rare, Bacon").await;
    browser.eval("window.scrollTo(0, 0)").await;
    browser.screenshot("table").await;

    browser.tap("#place-order").await;
    browser.wait_for("#orders", "ordered").await;
    let order_id: i64 = attr(&browser, "#orders [data-order]", "data-order")
        .await
        .parse()
        .unwrap();
    // The order is the hub's, for this table, with its lines and choices.
    let (status, order) = app
        .get(&format!("/api/v1/orders/{order_id}"), &manager)
        .await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["table_id"], table, "{order}");
    assert_eq!(order["source"], "qr", "{order}");
    assert_eq!(order["total_cents"], total, "{order}");
    let lines = order["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3, "{order}");
    let line_of = |id: i64| lines.iter().find(|l| l["menu_item_id"] == id).unwrap();
    let soup_line = line_of(soup)["id"].as_i64().unwrap();
    let burger_line = line_of(burger);
    assert_eq!(burger_line["unit_price_cents"], 1900, "{order}");
    let chosen: Vec<&str> = burger_line["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(chosen, ["Medium rare", "Bacon"], "{order}");
    // A main waits for the starters: the guest is told it comes later.
    browser
        .wait_for(
            &format!("#orders [data-line=\"{}\"]", burger_line["id"]),
            "comes with the next course",
        )
        .await;
    // The cart is empty once the order is placed.
    browser.wait_count("#cart:not(.hidden)", 0).await;

    // The chef bumps the soup; the guest sees it move without a reload.
    for step in ["preparing", "ready"] {
        let (status, reply) = app
            .post(
                &format!("/api/v1/orders/{order_id}/lines/{soup_line}/status"),
                Some(&chef),
                json!({ "status": step }),
            )
            .await;
        assert_eq!(status, 200, "{reply}");
    }
    let line = format!("#orders [data-line=\"{soup_line}\"]");
    browser.wait_for(&line, "ready").await;
    browser.screenshot("table-status").await;

    // Another phone (or a tablet) at the same table draws the same from the
    // snapshots: the menu, the order and where each line is.
    let tablet = Browser::open(1280, 800).await;
    tablet
        .goto(browser.client.current_url().await.unwrap().as_ref())
        .await;
    tablet.wait_for("#connection", "live").await;
    tablet.wait_for(&line, "ready").await;
    tablet.wait_for("#menu", "Tomato soup").await;
    tablet.screenshot("table-tablet").await;
    tablet.close().await;
    browser.close().await;
}

#[tokio::test]
async fn an_item_86d_by_staff_goes_unavailable_and_a_call_reaches_the_waiters() {
    let (app, _) = demo_hub().await;
    let manager = demo_token(&app, "manager").await;
    let chef = demo_token(&app, "chef").await;
    let waiter = demo_token(&app, "waiter").await;
    let burrata = item_id(&app, &manager, "Burrata").await;
    let (browser, table, _) = guest_at(&app, &manager, "T2").await;
    let card = format!("#menu [data-item=\"{burrata}\"]");
    browser.find(&format!("{card} button.add")).await;

    // Stock counted down to two: the guest is told it is nearly gone.
    let (mut kitchen, _) = WsClient::join(&app, &chef).await;
    let ack = kitchen
        .command(json!({ "type": "menu.set_stock", "menu_item_id": burrata, "stock": 2 }))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    browser.wait_for(&card, "Only 2 left").await;
    // Three of them are more than there is: the hub's refusal, in words.
    for _ in 0..3 {
        browser.tap(&format!("{card} button.add")).await;
    }
    browser.wait_for("#cart", "3 items").await;
    browser.tap("#place-order").await;
    browser
        .wait_for("#toasts", "Burrata (2 left, you asked for 3)")
        .await;
    browser.wait_for("#cart", "3 items").await;
    browser.tap("#cart-toggle").await;
    browser.tap("#cart-lines button.less").await;
    browser.wait_for("#cart", "2 items").await;

    // The chef 86es the burrata from the kitchen's socket.
    let ack = kitchen
        .command(
            json!({ "type": "menu.set_available", "menu_item_id": burrata, "available": false }),
        )
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    browser.wait_for(&card, "not available right now").await;
    browser.wait_count(&format!("{card} button.add"), 0).await;
    // The cart says so too, and will not send what cannot be made.
    browser.wait_for("#cart", "not available now").await;
    let place = browser.find("#place-order").await;
    assert!(place.attr("disabled").await.unwrap().is_some());
    // ... and brings it back (over REST): orderable again, no reload.
    let (status, reply) = app
        .patch(
            &format!("/api/v1/menu/items/{burrata}"),
            &manager,
            json!({ "available": true }),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    browser.wait_count(&format!("{card} button.add"), 1).await;
    let deadline = std::time::Instant::now() + super::PATIENCE;
    while browser
        .find("#place-order")
        .await
        .attr("disabled")
        .await
        .unwrap()
        .is_some()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the cart stays blocked"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Calling the waiter reaches a waiter's socket; the accept comes back.
    let (mut floor, _) = WsClient::join(&app, &waiter).await;
    browser.tap("#call-waiter").await;
    browser
        .wait_for("#call-state", "A waiter has been called")
        .await;
    let called = floor
        .next_matching(|f| f["type"] == "event" && f["kind"] == "table.waiter_called")
        .await;
    assert_eq!(called["data"]["table_id"], table, "{called}");
    assert_eq!(called["data"]["by"], "guest", "{called}");
    let ack = floor
        .command(json!({ "type": "table.accept_call", "table_id": table }))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    browser
        .wait_for("#call-state", "The waiter is coming")
        .await;

    // The two burratas ordered, then taken back before the kitchen started.
    browser.tap("#place-order").await;
    browser.wait_for("#orders", "ordered").await;
    let order_id = attr(&browser, "#orders [data-order]", "data-order").await;
    browser.tap("#orders button.cancel").await;
    browser.wait_for("#orders button.cancel", "Tap again").await;
    // Its only order: the guest is told that cancelling ends the visit.
    browser.wait_for("#orders", "ends this visit").await;
    browser.tap("#orders button.cancel").await;
    browser
        .wait_for(&format!("#orders [data-order=\"{order_id}\"]"), "cancelled")
        .await;
    let (_, order) = app
        .get(&format!("/api/v1/orders/{order_id}"), &manager)
        .await;
    assert_eq!(order["status"], "cancelled", "{order}");
    browser.wait_for("#ended", "new code").await;
    browser.screenshot("table-ended").await;
    browser.close().await;
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

#[tokio::test]
async fn a_guest_pays_a_split_part_through_the_payment_provider() {
    let (app, _) = demo_hub().await;
    let manager = demo_token(&app, "manager").await;
    let waiter = demo_token(&app, "waiter").await;
    let soup = item_id(&app, &manager, "Tomato soup").await;
    let lemonade = item_id(&app, &manager, "House lemonade").await;
    let (browser, table, _) = guest_at(&app, &manager, "T4").await;

    // The waiter takes the table's order, opens its check and splits it
    // evenly two ways; the guest's bill follows live.
    let (status, placed) = app
        .post(
            "/api/v1/orders",
            Some(&waiter),
            json!({ "idempotency_key": "t4-1", "table_id": table, "source": "dine_in",
                    "lines": [{ "menu_item_id": soup, "qty": 2 }, { "menu_item_id": lemonade, "qty": 1 }] }),
        )
        .await;
    assert_eq!(status, 201, "{placed}");
    let total = 2 * 650 + 450;
    browser.tap("#tab-bill").await;
    browser.wait_for("#bill", "No bill yet").await;
    let (status, check) = app
        .post(
            "/api/v1/checks",
            Some(&waiter),
            json!({ "table_id": table }),
        )
        .await;
    assert_eq!(status, 201, "{check}");
    let check_id = check["id"].as_i64().unwrap();
    let (status, check) = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/checks/{check_id}/split"),
            Some(&waiter),
            Some(json!({ "split": { "by": "even", "ways": 2 } })),
        )
        .await;
    assert_eq!(status, 200, "{check}");
    let half = total / 2;
    browser.wait_for("#bill", &eur(total)).await;
    browser.wait_for("#pay [data-part=\"1\"]", "2/2").await;

    // The guest picks part 1/2 (index 0) and pays it: an intent for it.
    browser.tap("#pay [data-part=\"0\"]").await;
    browser.wait_for("#pay-now", &eur(half)).await;
    browser.tap("#pay-now").await;
    browser
        .wait_for("#intent", "Waiting for the payment provider")
        .await;
    let intent_id = attr(&browser, "#intent", "data-intent").await;
    browser.wait_for("#intent", &intent_id).await;
    let intent = app
        .store
        .intent(&intent_id)
        .await
        .unwrap()
        .expect("the intent exists");
    assert_eq!(intent.check_id, check_id);
    assert_eq!(intent.part, Some(0));
    assert_eq!(intent.amount_cents, half);
    assert_eq!(intent.tip_cents, 0);
    browser.screenshot("table-pay-waiting").await;

    // The provider confirms with its signed webhook (the hub's clock).
    let (status, secret) = app
        .post(
            "/api/v1/restaurant/payment-webhook-secret",
            Some(&manager),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{secret}");
    let secret = secret["secret"].as_str().unwrap();
    let body = json!({ "event_id": "evt_table_1", "intent_id": intent_id, "status": "succeeded",
                       "amount_cents": half, "tip_cents": 0, "currency": "EUR", "reference": "psp_ch_1" })
    .to_string();
    let t = app.clock.now() / 1000;
    let res = app
        .http
        .post(format!("{}/api/v1/payments/webhook", app.base))
        .header("content-type", "application/json")
        .header(
            "Restohub-Signature",
            format!("t={t},v1={}", sign(secret, t, &body)),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let received: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{received}");
    assert_eq!(received["duplicate"], false, "{received}");

    // The page shows the part paid and what is still due, without a reload.
    browser
        .wait_for("#paid", &format!("Paid: {}", eur(half)))
        .await;
    browser
        .wait_for(
            "#paid",
            &format!("Still due on the bill: {}", eur(total - half)),
        )
        .await;
    browser.wait_for("#pay [data-part=\"0\"]", "paid").await;
    browser.wait_count("#intent", 0).await;
    let (_, check) = app
        .get(&format!("/api/v1/checks/{check_id}"), &waiter)
        .await;
    assert_eq!(check["paid_cents"], half, "{check}");
    assert_eq!(check["status"], "partially_paid", "{check}");
    // No provider reference reaches the guest's page.
    let page = browser.text("body").await;
    assert!(!page.contains("psp_ch_1"), "{page}");
    browser.screenshot("table-pay").await;
    browser.close().await;
}

#[tokio::test]
async fn a_stale_code_says_to_scan_the_new_one() {
    let (app, _) = demo_hub().await;
    let manager = demo_token(&app, "manager").await;
    // A code that was never a table's.
    let browser = Browser::open(PHONE.0, PHONE.1).await;
    browser.goto(&format!("{}/t/NOSUCHCODE", app.base)).await;
    browser
        .wait_for("#stale", "scan the table’s new code")
        .await;

    // A page open when the manager replaces the code: its visit ends, in words.
    let table = table_id(&app, &manager, "T5").await;
    let code = guest_code(&app, &manager, table).await;
    browser.goto(&format!("{}/t/{code}", app.base)).await;
    browser.wait_for("#connection", "live").await;
    let (status, reply) = app
        .post(
            &format!("/api/v1/tables/{table}/guest-code"),
            Some(&manager),
            json!({}),
        )
        .await;
    assert!(status.is_success(), "{status} {reply}");
    browser
        .wait_for("#ended", "scan the table’s new code")
        .await;
    browser
        .wait_count("#place-order, #menu button.add:not([disabled])", 0)
        .await;
    // Opened again, the old code is refused and the page says so.
    browser.goto(&format!("{}/t/{code}", app.base)).await;
    browser
        .wait_for("#stale", "scan the table’s new code")
        .await;
    assert!(browser.client.find(Locator::Css("#menu")).await.is_err());
    browser.screenshot("table-stale").await;
    browser.close().await;
}

#[tokio::test]
async fn a_guest_page_cut_off_catches_up_without_a_reload() {
    let (app, _) = demo_hub().await;
    let manager = demo_token(&app, "manager").await;
    let waiter = demo_token(&app, "waiter").await;
    let chef = demo_token(&app, "chef").await;
    let soup = item_id(&app, &manager, "Tomato soup").await;
    let table = table_id(&app, &manager, "T6").await;
    let code = guest_code(&app, &manager, table).await;
    let proxy = Proxy::start(app.addr).await;
    let browser = Browser::open(PHONE.0, PHONE.1).await;
    browser.goto(&format!("{}/t/{code}", proxy.base)).await;
    browser.wait_for("#connection", "live").await;
    browser.wait_for("#menu", "Tomato soup").await;

    // The waiter orders for the table; the guest's page shows it live.
    let (status, placed) = app
        .post(
            "/api/v1/orders",
            Some(&waiter),
            json!({ "idempotency_key": "t6-1", "table_id": table, "source": "dine_in",
                    "lines": [{ "menu_item_id": soup, "qty": 1 }] }),
        )
        .await;
    assert_eq!(status, 201, "{placed}");
    let order_id = placed["order"]["id"].as_i64().unwrap();
    let line_id = placed["order"]["lines"][0]["id"].as_i64().unwrap();
    browser.tap("#tab-orders").await;
    let line = format!("#orders [data-line=\"{line_id}\"]");
    browser.wait_for(&line, "ordered").await;

    // The page loses the hub; it says so, and the kitchen goes on meanwhile.
    proxy.cut();
    browser.wait_for("#connection", "offline").await;
    for step in ["preparing", "ready"] {
        let (status, reply) = app
            .post(
                &format!("/api/v1/orders/{order_id}/lines/{line_id}/status"),
                Some(&chef),
                json!({ "status": step }),
            )
            .await;
        assert_eq!(status, 200, "{reply}");
    }
    proxy.restore();
    // Back: it resumes from where it was and shows what it missed.
    browser.wait_for("#connection", "live").await;
    browser.wait_for(&line, "ready").await;
    browser.close().await;
}
