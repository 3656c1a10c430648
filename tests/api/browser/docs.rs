//! The API docs page (`/api/docs`): built from the hub's own
//! `/api/openapi.json`, with nothing loaded from elsewhere.

use super::{demo_hub, Browser};

#[tokio::test]
async fn the_docs_page_shows_operations_with_their_fields() {
    let (app, _) = demo_hub().await;
    let browser = Browser::open(1280, 800).await;
    browser.goto(&format!("{}/api/docs", app.base)).await;
    // Placing an order: its method, path and summary, under its tag.
    let card = "details#placeOrder > summary";
    let summary = browser.wait_for(card, "/api/v1/orders").await;
    assert!(summary.contains("POST"), "{summary}");
    assert!(summary.contains("Place an order"), "{summary}");
    assert!(summary.contains("staffToken or guestToken"), "{summary}");
    // Opened: the request body's fields and the replies.
    browser.click(card).await;
    let body = browser
        .wait_for("details#placeOrder .body", "idempotency_key")
        .await;
    for needle in ["lines", "required", "201", "OUT_OF_STOCK", "Placed"] {
        assert!(body.contains(needle), "{needle} in:\n{body}");
    }
    browser.screenshot("api-docs").await;
    // A path parameter of another operation.
    browser.click("details#order > summary").await;
    browser.wait_for("details#order table.params", "id").await;
    // The WebSocket's frames, from /api/asyncapi.json.
    browser
        .click("details[id='client.order.place'] > summary")
        .await;
    let frame = browser
        .wait_for("details[id='client.order.place'] .body", "idempotency_key")
        .await;
    assert!(frame.contains("lines"), "{frame}");
    browser
        .wait_for("details[id='server.event'] > summary", "hub → client")
        .await;
    // The filter leaves only what matches.
    browser.type_into("#filter", "payments/refunds").await;
    browser.wait_count("details.op:not(.hidden)", 1).await;
    browser.close().await;
}
