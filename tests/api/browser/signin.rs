//! The hub serves its pages: sign-in in a browser, the pages' security
//! headers, and nothing outside `web/`.

use super::{demo_hub, Browser};

#[tokio::test]
async fn a_chef_signs_in_and_the_device_remembers_its_station() {
    let (app, _) = demo_hub().await;
    let browser = Browser::open(1280, 800).await;
    browser.goto(&format!("{}/", app.base)).await;
    browser.screenshot("signin").await;
    // A wrong password is said in words, and nothing happens.
    browser.type_into("#restaurant", "demo").await;
    browser.type_into("#email", &super::email("chef")).await;
    browser.type_into("#password", "not-the-password").await;
    browser.click("#sign-in").await;
    browser.wait_for("#error", "invalid").await;

    browser.type_into("#password", super::PASSWORD).await;
    browser.select("#page", "/kds").await;
    browser.click("#sign-in").await;
    // The kitchen display asks for the station; the grill is station 1.
    browser.wait_for("#station", "Grill").await;
    browser.select("#station", "1").await;
    browser.click("#sign-in").await;
    assert!(
        browser.url_becomes(|url| url.path() == "/kds").await,
        "never reached /kds: {}",
        browser.url().await
    );
    assert_eq!(browser.url().await.query(), Some("station=1"));
    // Back on / the signed-in device goes straight to its screen.
    browser.goto(&format!("{}/", app.base)).await;
    assert!(
        browser
            .url_becomes(|url| url.path() == "/kds" && url.query() == Some("station=1"))
            .await,
        "not sent back to its station: {}",
        browser.url().await
    );
    browser.close().await;
}

#[tokio::test]
async fn every_page_is_served_with_a_policy_without_inline_code() {
    let (app, _) = demo_hub().await;
    for path in [
        "/",
        "/kds",
        "/expo",
        "/waiter",
        "/dashboard",
        "/t/ANYCODE",
        "/api/docs",
    ] {
        let res = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let headers = res.headers().clone();
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(policy.contains("script-src 'self'"), "{path}: {policy}");
        assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
        assert!(!policy.contains("unsafe-eval"), "{path}: {policy}");
        let body = res.text().await.unwrap();
        // No inline scripts or styles, nothing from another origin.
        assert!(!body.contains("<script>"), "{path} has an inline script");
        assert!(!body.contains("<style"), "{path} has an inline style");
        assert!(!body.contains(" style="), "{path} has a style attribute");
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path} loads from elsewhere"
        );
    }
    let res = app
        .http
        .get(format!("{}/assets/hub.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let etag = res.headers()["etag"].clone();
    let again = app
        .http
        .get(format!("{}/assets/hub.js", app.base))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304, "an unchanged file is not sent again");
    // Nothing outside web/assets, however the path is spelled.
    for path in [
        "/assets/../Cargo.toml",
        "/assets/%2e%2e/Cargo.toml",
        "/assets/..%2fCargo.toml",
        "/assets/.hidden",
        "/assets/nope.js",
        "/assets/",
        "/index.html",
    ] {
        let res = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "NOT_FOUND", "{path}");
    }
    // The API still answers in JSON where nothing is.
    let res = app
        .http
        .get(format!("{}/api/v1/nope", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

/// Sign-in goes on to where the page came from, but only on this hub: a
/// link that names another host ("//host", "/\host") lands on the role's
/// own page instead.
#[tokio::test]
async fn sign_in_never_sends_a_device_to_another_site() {
    let (app, _) = demo_hub().await;
    let browser = Browser::open(1280, 800).await;
    for next in ["//example.org/", "/%5Cexample.org/", "%2F%2Fexample.org"] {
        browser.sign_in(&app.base, "waiter", next).await;
        let url = browser.url().await;
        assert_eq!(url.host_str(), Some("127.0.0.1"), "{next} led to {url}");
        assert_eq!(url.path(), "/waiter", "{next} led to {url}");
    }
    browser.close().await;
}
