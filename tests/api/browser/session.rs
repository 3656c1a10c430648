//! A page's login over a shift: its access token expires and the page
//! rotates the refresh token on its own, and signing out ends the login.

use super::{demo_hub, Browser, Proxy};

/// The login the page keeps on the device.
async fn stored_refresh_token(browser: &Browser) -> String {
    browser
        .eval(
            "return JSON.parse(localStorage.getItem('restohub.login') || '{}').refresh_token || ''",
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_screen_outlives_its_access_token_and_signs_out() {
    let (app, _) = demo_hub().await;
    let proxy = Proxy::start(app.addr).await;
    let browser = Browser::open(1280, 800).await;
    browser.sign_in(&proxy.base, "chef", "/kds?station=1").await;
    browser.wait_for("#connection", "live").await;
    let first = stored_refresh_token(&browser).await;
    assert!(!first.is_empty(), "the page keeps its login");

    // The access token expires (15 minutes); the connection drops. The
    // hub refuses the old token on reconnect, and the page refreshes its
    // login (a new refresh token: rotation) and comes back by itself.
    app.clock.advance_ms(16 * 60_000);
    proxy.point_at(app.addr);
    browser
        .wait_text("#connection", "offline", |t| {
            t.contains("offline") || t.contains("connecting")
        })
        .await;
    browser.wait_for("#connection", "live").await;
    let second = stored_refresh_token(&browser).await;
    assert!(
        !second.is_empty() && second != first,
        "the refresh token was rotated"
    );
    // (Presenting the spent one again would end the login: reuse detection.)

    // Signing out ends the login on the hub too.
    let before_logout = stored_refresh_token(&browser).await;
    browser.click("#sign-out").await;
    assert!(
        browser.url_becomes(|url| url.path() == "/").await,
        "sign-out stays on the page"
    );
    assert_eq!(
        stored_refresh_token(&browser).await,
        "",
        "nothing kept after sign-out"
    );
    let after = app
        .post(
            "/api/v1/auth/refresh",
            None,
            serde_json::json!({"refresh_token": before_logout}),
        )
        .await;
    assert_eq!(after.0, 401, "the login ended: {}", after.1);
    browser.close().await;
}
