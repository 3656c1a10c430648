//! Login, the access token, refresh rotation with reuse detection, logout,
//! and guest sessions scoped to one table.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

async fn login_gives_tokens_that_identify_the_user(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = app.tenant("bistro").await;
    // Email matching ignores case and surrounding spaces.
    let (status, body) = app.login("bistro", "  OWNER@Bistro.test ", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["user"]["role"], "owner");
    assert!(body["refresh_token"].as_str().unwrap().len() >= 40);
    // 15 minutes after the (test) clock's now.
    assert_eq!(body["access_expires_at"], "2027-01-15T08:15:00.000Z");

    let (status, me) = app.get("/api/v1/auth/me", &token_of(&body)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["restaurant_id"], tenant.id);
    assert_eq!(me["role"], "owner");
    assert_eq!(me["user"]["id"], tenant.owner_id);
    assert_eq!(me["user"]["email"], "owner@bistro.test");
}

async fn bad_credentials_all_look_the_same(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.tenant("bistro").await;
    let wrong_password = app.login("bistro", "owner@bistro.test", "nope").await;
    let unknown_email = app.login("bistro", "ghost@bistro.test", "nope").await;
    let unknown_restaurant = app.login("elsewhere", "owner@bistro.test", PASSWORD).await;
    assert_error(&wrong_password, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert_eq!(wrong_password, unknown_email);
    assert_eq!(wrong_password, unknown_restaurant);
}

async fn requests_without_a_valid_token_are_unauthorized(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = app.tenant("bistro").await;
    let missing = app
        .call(reqwest::Method::GET, "/api/v1/stations", None, None)
        .await;
    assert_error(&missing, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    let garbage = app.get("/api/v1/stations", "not-a-jwt").await;
    assert_error(&garbage, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    // Well-formed claims for this restaurant, signed with another secret.
    let forger = restohub::auth::TokenKeys::new(&secrecy::SecretString::from(
        "not-the-hub-secret-but-long-enough-anyway".to_owned(),
    ));
    let claims = restohub::auth::tokens::Claims {
        sub: format!("user:{}", tenant.owner_id),
        rid: tenant.id,
        role: restohub_protocol::Role::Owner,
        tbl: None,
        iat: T0 / 1000,
        exp: T0 / 1000 + 600,
        jti: "forged".into(),
        sid: None,
        ver: 0,
        mfa_setup: false,
    };
    let forged = app
        .get("/api/v1/stations", &forger.sign(&claims).unwrap())
        .await;
    assert_error(&forged, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");

    // Expiry follows the hub's clock.
    assert_eq!(
        app.get("/api/v1/stations", &tenant.owner).await.0,
        StatusCode::OK
    );
    app.clock.advance_ms(15 * 60 * 1000);
    let expired = app.get("/api/v1/stations", &tenant.owner).await;
    assert_error(&expired, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert!(expired.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("expired"));
}

async fn refresh_rotates_and_reuse_revokes_the_family(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.tenant("bistro").await;
    let (_, first) = app.login("bistro", "owner@bistro.test", PASSWORD).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();

    app.clock.advance_ms(60_000);
    let (status, second) = app
        .post("/api/v1/auth/refresh", None, json!({ "refresh_token": r1 }))
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_eq!(second["user"]["email"], "owner@bistro.test");
    assert_eq!(
        app.get("/api/v1/auth/me", &token_of(&second)).await.0,
        StatusCode::OK
    );

    // r1 again: someone replayed a used token. Both r1 and r2 die.
    let reuse = app
        .post("/api/v1/auth/refresh", None, json!({ "refresh_token": r1 }))
        .await;
    assert_error(&reuse, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert!(reuse.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("already used"));
    let after = app
        .post("/api/v1/auth/refresh", None, json!({ "refresh_token": r2 }))
        .await;
    assert_error(&after, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");

    // Another login (another family) is unaffected.
    let (_, other) = app.login("bistro", "owner@bistro.test", PASSWORD).await;
    let r3 = other["refresh_token"].as_str().unwrap();
    let ok = app
        .post("/api/v1/auth/refresh", None, json!({ "refresh_token": r3 }))
        .await;
    assert_eq!(ok.0, StatusCode::OK, "{}", ok.1);
}

async fn refresh_tokens_expire(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.tenant("bistro").await;
    let (_, login) = app.login("bistro", "owner@bistro.test", PASSWORD).await;
    let r = login["refresh_token"].as_str().unwrap();
    app.clock.advance_ms(30 * 24 * 3600 * 1000);
    let late = app
        .post("/api/v1/auth/refresh", None, json!({ "refresh_token": r }))
        .await;
    assert_error(&late, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
}

async fn logout_revokes_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.tenant("bistro").await;
    let (_, login) = app.login("bistro", "owner@bistro.test", PASSWORD).await;
    let r = login["refresh_token"].as_str().unwrap();
    let (status, _) = app
        .post("/api/v1/auth/logout", None, json!({ "refresh_token": r }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let refresh = app
        .post("/api/v1/auth/refresh", None, json!({ "refresh_token": r }))
        .await;
    assert_error(&refresh, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    // Logging out twice is harmless.
    let (status, _) = app
        .post("/api/v1/auth/logout", None, json!({ "refresh_token": r }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

async fn a_new_password_ends_other_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = app.tenant("bistro").await;
    let (waiter, _) = app.staff(&tenant, "waiter").await;
    let (status, user) = app
        .get(&format!("/api/v1/users/{waiter}"), &tenant.owner)
        .await;
    assert_eq!(status, StatusCode::OK);
    let email = user["email"].as_str().unwrap();
    let (_, phone) = app.login("bistro", email, PASSWORD).await;
    let (status, _) = app
        .patch(
            &format!("/api/v1/users/{waiter}"),
            &tenant.owner,
            json!({ "password": "a brand new secret" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let refresh = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": phone["refresh_token"] }),
        )
        .await;
    assert_error(&refresh, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert_error(
        &app.login("bistro", email, PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    );
    assert_eq!(
        app.login("bistro", email, "a brand new secret").await.0,
        StatusCode::OK
    );
}

async fn guest_sessions_are_scoped_to_one_table(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = app.tenant("bistro").await;
    let t7 = app
        .create(
            &tenant,
            "/api/v1/tables",
            json!({ "label": "T7", "seats": 4 }),
        )
        .await;
    app.create(
        &tenant,
        "/api/v1/menu/items",
        json!({ "name": "Soup", "price_cents": 500 }),
    )
    .await;
    let code = t7["guest_code"].as_str().unwrap();

    let (status, guest) = app
        .post(
            "/api/v1/guest-sessions",
            None,
            json!({ "table_code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{guest}");
    assert_eq!(guest["table_id"], t7["id"]);
    assert_eq!(guest["table_label"], "T7");
    assert_eq!(guest["restaurant_id"], tenant.id);
    let token = token_of(&guest);

    let (_, me) = app.get("/api/v1/auth/me", &token).await;
    assert_eq!(me["role"], "guest");
    assert_eq!(me["table_id"], t7["id"]);
    assert!(me.get("user").is_none());

    // The menu, yes; staff matters, no.
    let (status, menu) = app.get("/api/v1/menu/items", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(menu["items"][0]["name"], "Soup");
    for path in ["/api/v1/tables", "/api/v1/stations", "/api/v1/users"] {
        assert_error(
            &app.get(path, &token).await,
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
        );
    }
    let write = app
        .post(
            "/api/v1/menu/items",
            Some(&token),
            json!({ "name": "x", "price_cents": 1 }),
        )
        .await;
    assert_error(&write, StatusCode::FORBIDDEN, "FORBIDDEN");

    // Unknown codes, and codes that were replaced, open nothing.
    let bad = app
        .post(
            "/api/v1/guest-sessions",
            None,
            json!({ "table_code": "NOPE" }),
        )
        .await;
    assert_error(&bad, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    let path = format!("/api/v1/tables/{}/guest-code", t7["id"]);
    let (status, rotated) = app.post(&path, Some(&tenant.owner), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(rotated["guest_code"], t7["guest_code"]);
    let old = app
        .post(
            "/api/v1/guest-sessions",
            None,
            json!({ "table_code": code }),
        )
        .await;
    assert_error(&old, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    let new = app
        .post(
            "/api/v1/guest-sessions",
            None,
            json!({ "table_code": rotated["guest_code"] }),
        )
        .await;
    assert_eq!(new.0, StatusCode::CREATED);
}

async fn credential_endpoints_are_rate_limited_per_address(backend: Backend) {
    let app = TestApp::spawn_with(backend, &["--auth-rate-limit", "3"]).await;
    app.tenant("bistro").await; // one login
    let (_, login) = app.login("bistro", "owner@bistro.test", PASSWORD).await;
    let token = token_of(&login);
    assert_error(
        &app.login("bistro", "owner@bistro.test", "wrong").await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    );
    // The fourth attempt this minute from this address, right password or not.
    let limited = app.login("bistro", "owner@bistro.test", PASSWORD).await;
    assert_error(&limited, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert!(
        limited.1["error"]["details"]["retry_after_secs"]
            .as_u64()
            .unwrap()
            >= 1
    );
    let guest = app
        .post(
            "/api/v1/guest-sessions",
            None,
            json!({ "table_code": "GUESS12345" }),
        )
        .await;
    assert_error(&guest, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    // Authenticated work is not limited by it.
    assert_eq!(app.get("/api/v1/auth/me", &token).await.0, StatusCode::OK);
}

/// Behind a proxy that appends to X-Forwarded-For, the client cannot dodge
/// the limit by writing its own first entry (issue 17, item 9): the client
/// is the rightmost address the trusted proxies did not add.
async fn a_forged_forwarded_for_does_not_dodge_the_limit(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            "--auth-rate-limit",
            "3",
            "--client-ip-header",
            "x-forwarded-for",
            "--trusted-proxies",
            "10.0.0.2",
        ],
    )
    .await;
    app.tenant("bistro").await; // one login, from the connection's address
    let attempt = |n: u32| {
        let login =
            json!({ "restaurant": "bistro", "email": "owner@bistro.test", "password": "wrong" });
        app.http
            .post(format!("{}/api/v1/auth/login", app.base))
            .header("x-forwarded-for", format!("6.6.6.{n}, 2.2.2.2, 10.0.0.2"))
            .json(&login)
            .send()
    };
    let mut statuses = Vec::new();
    for n in 0..4 {
        statuses.push(attempt(n).await.unwrap().status());
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // Another client behind the same proxy is not limited by it.
    let other = app
        .http
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("x-forwarded-for", "3.3.3.3, 10.0.0.2")
        .json(
            &json!({ "restaurant": "bistro", "email": "owner@bistro.test", "password": PASSWORD }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
}

crate::both_backends!(
    a_forged_forwarded_for_does_not_dodge_the_limit,
    credential_endpoints_are_rate_limited_per_address,
    login_gives_tokens_that_identify_the_user,
    bad_credentials_all_look_the_same,
    requests_without_a_valid_token_are_unauthorized,
    refresh_rotates_and_reuse_revokes_the_family,
    refresh_tokens_expire,
    logout_revokes_the_session,
    a_new_password_ends_other_sessions,
    guest_sessions_are_scoped_to_one_table,
);
