//! One order through every screen it touches, each in its own browser: a
//! guest orders from the table's page, the cold kitchen's display shows the
//! ticket, the chef bumps it by tapping, the guest's page shows it ready
//! and the waiter's page says so.

use std::time::Duration;

use super::{demo_hub_on, demo_token, guest_code, items_of, Browser};
use crate::support::Backend;

crate::both_backends!(a_guests_order_reaches_the_kitchen_and_comes_back_ready_to_guest_and_waiter);

async fn a_guests_order_reaches_the_kitchen_and_comes_back_ready_to_guest_and_waiter(
    backend: Backend,
) {
    let (app, _) = demo_hub_on(backend).await;
    let manager = demo_token(&app, "manager").await;
    let items = items_of(&app, &manager, "/api/v1/menu/items").await;
    let soup = items.iter().find(|i| i["name"] == "Tomato soup").unwrap();
    let (soup_id, cold) = (
        soup["id"].as_i64().unwrap(),
        soup["station_id"].as_i64().unwrap(),
    );
    let tables = items_of(&app, &manager, "/api/v1/tables").await;
    let t5 = tables.iter().find(|t| t["label"] == "T5").unwrap()["id"]
        .as_i64()
        .unwrap();
    let code = guest_code(&app, &manager, t5).await;

    // The cold kitchen's display on a tablet, the waiter's phone, the guest's phone.
    let kitchen = Browser::open(1280, 800).await;
    kitchen
        .sign_in(&app.base, "chef", &format!("/kds?station={cold}"))
        .await;
    kitchen.wait_for("#connection", "live").await;
    let waiter = Browser::open(390, 844).await;
    waiter.sign_in(&app.base, "waiter", "/waiter").await;
    waiter.wait_for("#connection", "live").await;
    let guest = Browser::open(390, 844).await;
    guest.goto(&format!("{}/t/{code}", app.base)).await;
    guest.wait_for("#connection", "live").await;
    guest.wait_for("#table-label", "T5").await;

    // The guest orders a soup.
    guest
        .tap(&format!("#menu [data-item=\"{soup_id}\"] button.add"))
        .await;
    guest.wait_for("#cart", "1 item").await;
    guest.tap("#cart-toggle").await;
    guest.tap("#place-order").await;
    guest.wait_for("#orders", "ordered").await;
    let order_id: i64 = guest
        .find("#orders [data-order]")
        .await
        .attr("data-order")
        .await
        .unwrap()
        .expect("the order's id on the guest's page")
        .parse()
        .unwrap();
    let (_, order) = app
        .get(&format!("/api/v1/orders/{order_id}"), &manager)
        .await;
    assert_eq!(order["table_id"], t5, "{order}");
    let line = order["lines"][0]["id"].as_i64().unwrap();

    // The kitchen's display shows the ticket; the chef taps the line twice
    // (preparing, then ready).
    let card = format!("#tickets .ticket[data-order='{order_id}']");
    kitchen.wait_for(&card, "Tomato soup").await;
    kitchen.wait_for(&card, "T5").await;
    for status in ["preparing", "ready"] {
        kitchen
            .tap(&format!("{card} .line[data-line='{line}'] .line-main"))
            .await;
        let deadline = std::time::Instant::now() + super::PATIENCE;
        loop {
            let (_, now) = app
                .get(&format!("/api/v1/orders/{order_id}"), &manager)
                .await;
            if now["lines"][0]["status"] == status {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the tap never made it {status}: {now}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // The guest sees it ready; the waiter is told.
    guest
        .wait_for(&format!("#orders [data-line=\"{line}\"]"), "ready")
        .await;
    waiter
        .wait_for("#alerts", &format!("order {order_id} is ready"))
        .await;
    for browser in [kitchen, waiter, guest] {
        browser.close().await;
    }
}
