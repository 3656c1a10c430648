//! REST writes are limited per account (per table for guests) and per
//! restaurant, so one device cannot starve the others; reads are not.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::orders::floor;
use crate::support::*;

/// Sends a request and also returns its Retry-After header, if any.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
) -> ((StatusCode, Value), Option<u64>) {
    let res = app
        .http
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (read(res).await, retry_after)
}

/// A write that any role, guests included, may make.
async fn call_waiter(app: &TestApp, table: i64, token: &str) -> ((StatusCode, Value), Option<u64>) {
    let path = format!("/api/v1/tables/{table}/call-waiter");
    send(app, Method::POST, &path, token).await
}

#[track_caller]
fn assert_written(reply: &((StatusCode, Value), Option<u64>), who: &str) {
    assert_eq!(reply.0 .0, StatusCode::NO_CONTENT, "{who}: {}", reply.0 .1);
}

#[track_caller]
fn assert_limited(reply: &((StatusCode, Value), Option<u64>), who: &str) {
    assert_error(&reply.0, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    let secs = reply.1.unwrap_or_else(|| panic!("{who}: no Retry-After"));
    assert!(secs >= 1, "{who}: Retry-After {secs}");
    assert_eq!(reply.0 .1["error"]["details"]["retry_after_secs"], secs);
}

/// Three writes a minute per account, five per restaurant.
const LIMITS: &[&str] = &[
    "--account-write-rate-limit",
    "3",
    "--restaurant-write-rate-limit",
    "5",
];

async fn an_account_over_its_quota_does_not_hold_up_the_others(backend: Backend) {
    // Set up on an instance with the default limits; the limits are per
    // instance, so the test's writes start from nothing on the second.
    let setup = TestApp::spawn(backend).await;
    let f = floor(&setup, "bistro").await;
    let (_, first) = setup.staff(&f.t, "waiter").await;
    let (_, second) = setup.staff(&f.t, "waiter").await;
    let other = setup.tenant("diner").await;
    let other_table = setup
        .create(
            &other,
            "/api/v1/tables",
            serde_json::json!({ "label": "T9", "seats": 2 }),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let app = setup.sibling_with(LIMITS).await;

    for n in 1..=3 {
        assert_written(
            &call_waiter(&app, f.t1, &first).await,
            &format!("write {n}"),
        );
    }
    assert_limited(&call_waiter(&app, f.t1, &first).await, "fourth write");
    // Reads are not limited.
    for _ in 0..10 {
        assert_eq!(app.get("/api/v1/tables", &first).await.0, StatusCode::OK);
    }
    // Another waiter of the same restaurant still gets through...
    assert_written(&call_waiter(&app, f.t1, &second).await, "second waiter");
    assert_written(&call_waiter(&app, f.t1, &second).await, "second waiter");
    // ...until the restaurant's five are spent, whoever writes next.
    let owner = call_waiter(&app, f.t1, &f.t.owner).await;
    assert_limited(&owner, "the owner, over the restaurant's quota");
    assert!(
        owner.0 .1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("restaurant"),
        "{}",
        owner.0 .1
    );
    // Another restaurant is not affected.
    assert_written(
        &call_waiter(&app, other_table, &other.owner).await,
        "another restaurant",
    );
    // Every kind of write counts: a PATCH and a DELETE are refused too.
    let path = format!("/api/v1/tables/{}", f.t2);
    assert_limited(&send(&app, Method::DELETE, &path, &first).await, "a delete");
    assert_limited(&send(&app, Method::PATCH, &path, &second).await, "a patch");
}

/// The guests at one table share a quota (a new guest session does not
/// buy a new one); another table's guests have their own.
async fn guests_at_one_table_share_a_quota(backend: Backend) {
    let setup = TestApp::spawn(backend).await;
    let f = floor(&setup, "bistro").await;
    let (_, t2) = setup
        .get(&format!("/api/v1/tables/{}", f.t2), &f.t.owner)
        .await;
    let t2_code = t2["guest_code"].as_str().unwrap().to_owned();
    let app = setup.sibling_with(LIMITS).await;
    let first = app.guest_token(&f.t1_code).await;
    let second = app.guest_token(&f.t1_code).await;
    let elsewhere = app.guest_token(&t2_code).await;

    for n in 1..=3 {
        assert_written(
            &call_waiter(&app, f.t1, &first).await,
            &format!("guest write {n}"),
        );
    }
    assert_limited(&call_waiter(&app, f.t1, &first).await, "fourth guest write");
    assert_limited(
        &call_waiter(&app, f.t1, &second).await,
        "a new guest session at the same table",
    );
    assert_written(
        &call_waiter(&app, f.t2, &elsewhere).await,
        "a guest at another table",
    );
}

crate::both_backends!(
    an_account_over_its_quota_does_not_hold_up_the_others,
    guests_at_one_table_share_a_quota,
);
