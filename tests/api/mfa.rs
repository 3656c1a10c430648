//! MFA: enrolling with a TOTP app, codes at login (each accepted once),
//! recovery codes, lockout on wrong codes, and a restaurant that requires it
//! of owners and managers.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;
use crate::ws_client::{Ended, WsClient};

/// The authenticator app: the code of `secret` at `at_ms`.
fn code(secret: &str, at_ms: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.into()).to_bytes().unwrap();
    let totp =
        totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, "x".into()).unwrap();
    totp.generate((at_ms / 1000) as u64)
}

async fn login(app: &TestApp, slug: &str, email: &str, otp: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({ "restaurant": slug, "email": email, "password": PASSWORD });
    if let Some(otp) = otp {
        body["otp"] = json!(otp);
    }
    app.post("/api/v1/auth/login", None, body).await
}

/// A manager of `t` with MFA on: its email, secret and recovery codes.
async fn enrolled_manager(app: &TestApp, t: &Tenant) -> (String, String, Vec<String>) {
    let email = format!("mfa-{}@{}.test", uuid::Uuid::new_v4().simple(), t.slug);
    app.create(
        t,
        "/api/v1/users",
        json!({ "email": email, "name": "M", "role": "manager", "password": PASSWORD }),
    )
    .await;
    let (_, session) = login(app, &t.slug, &email, None).await;
    let token = token_of(&session);
    let (status, enrolment) = app
        .post("/api/v1/auth/mfa/enrol", Some(&token), json!(null))
        .await;
    assert_eq!(status, StatusCode::OK, "{enrolment}");
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let uri = enrolment["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    // A wrong first code does not turn it on.
    let wrong = app
        .post(
            "/api/v1/auth/mfa/confirm",
            Some(&token),
            json!({ "code": "000000" }),
        )
        .await;
    assert_error(
        &wrong,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_FAILED",
    );
    assert_eq!(login(app, &t.slug, &email, None).await.0, StatusCode::OK);
    let first = code(&secret, app.clock.now());
    let (status, confirmed) = app
        .post(
            "/api/v1/auth/mfa/confirm",
            Some(&token),
            json!({ "code": first }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    let recovery: Vec<String> = confirmed["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    (email, secret, recovery)
}

async fn a_code_is_needed_after_the_password_and_works_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("mfa").await;
    let (email, secret, recovery) = enrolled_manager(&app, &t).await;
    assert_error(
        &login(&app, "mfa", &email, None).await,
        StatusCode::UNAUTHORIZED,
        "MFA_REQUIRED",
    );
    // A wrong password never gets as far as asking for the code.
    let (status, body) = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "restaurant": "mfa", "email": email, "password": "wrong", "otp": "123456" }),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::UNAUTHORIZED, &json!("UNAUTHORIZED"))
    );
    // The code confirming the enrolment was used: the same step is refused.
    let now = app.clock.now();
    assert_error(
        &login(&app, "mfa", &email, Some(&code(&secret, now))).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    );
    app.clock.advance_ms(30_000);
    let next = code(&secret, app.clock.now());
    let (status, body) = login(&app, "mfa", &email, Some(&next)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["mfa_setup_required"], false);
    // Replayed within its step: refused.
    assert_error(
        &login(&app, "mfa", &email, Some(&next)).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    );
    // A recovery code, typed loosely, works once.
    let typed = recovery[0].to_lowercase().replace('-', " ");
    assert_eq!(
        login(&app, "mfa", &email, Some(&typed)).await.0,
        StatusCode::OK
    );
    assert_error(
        &login(&app, "mfa", &email, Some(&recovery[0])).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    );
}

async fn wrong_codes_lock_the_account_like_wrong_passwords(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("mfalock").await;
    let (email, secret, _) = enrolled_manager(&app, &t).await;
    // Like passwords: four wrong codes are refused, the fifth locks.
    for _ in 0..4 {
        assert_error(
            &login(&app, "mfalock", &email, Some("999999")).await,
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
        );
    }
    assert_error(
        &login(&app, "mfalock", &email, Some("999999")).await,
        StatusCode::LOCKED,
        "ACCOUNT_LOCKED",
    );
    app.clock.advance_ms(30_000);
    let right = code(&secret, app.clock.now());
    assert_error(
        &login(&app, "mfalock", &email, Some(&right)).await,
        StatusCode::LOCKED,
        "ACCOUNT_LOCKED",
    );
}

async fn a_restaurant_can_require_mfa_of_owners_and_managers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("strict").await;
    let (status, body) = app
        .patch(
            "/api/v1/restaurant",
            &t.owner,
            json!({ "require_mfa": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["require_mfa"], true);
    let email = "boss@strict.test";
    let manager = app
        .create(
            &t,
            "/api/v1/users",
            json!({ "email": email, "name": "B", "role": "manager", "password": PASSWORD }),
        )
        .await;
    let (_, waiter) = app.staff(&t, "waiter").await;
    assert_eq!(app.get("/api/v1/tables", &waiter).await.0, StatusCode::OK);

    let (status, session) = login(&app, "strict", email, None).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["mfa_setup_required"], true);
    let token = token_of(&session);
    assert_error(
        &app.get("/api/v1/tables", &token).await,
        StatusCode::FORBIDDEN,
        "MFA_SETUP_REQUIRED",
    );
    let mut ws = WsClient::connect(&app).await;
    ws.send(json!({ "type": "hello", "token": token })).await;
    assert_eq!(
        ws.ended().await,
        Ended::Closed(restohub_protocol::ws::close::FORBIDDEN)
    );

    let (_, enrolment) = app
        .post("/api/v1/auth/mfa/enrol", Some(&token), json!(null))
        .await;
    let secret = enrolment["secret"].as_str().unwrap();
    let first = code(secret, app.clock.now());
    let (status, _) = app
        .post(
            "/api/v1/auth/mfa/confirm",
            Some(&token),
            json!({ "code": first }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, renewed) = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": session["refresh_token"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    assert_eq!(renewed["mfa_setup_required"], false);
    let token = token_of(&renewed);
    assert_eq!(app.get("/api/v1/tables", &token).await.0, StatusCode::OK);
    // It cannot be turned off while the restaurant requires it...
    app.clock.advance_ms(30_000);
    let now_code = code(secret, app.clock.now());
    assert_error(
        &app.post(
            "/api/v1/auth/mfa/disable",
            Some(&token),
            json!({ "code": now_code }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    // ...but the owner resets it for a lost phone; the manager enrols again.
    let id = manager["id"].as_i64().unwrap();
    assert_error(
        &app.delete(&format!("/api/v1/users/{id}/mfa"), &waiter)
            .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    let (status, _) = app
        .delete(&format!("/api/v1/users/{id}/mfa"), &t.owner)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, again) = login(&app, "strict", email, None).await;
    assert_eq!(
        (status, &again["mfa_setup_required"]),
        (StatusCode::OK, &json!(true))
    );
}

async fn staff_turn_their_mfa_off_with_a_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("relaxed").await;
    let (email, secret, _) = enrolled_manager(&app, &t).await;
    app.clock.advance_ms(30_000);
    let (_, session) = login(
        &app,
        "relaxed",
        &email,
        Some(&code(&secret, app.clock.now())),
    )
    .await;
    let token = token_of(&session);
    let wrong = app
        .post(
            "/api/v1/auth/mfa/disable",
            Some(&token),
            json!({ "code": "000000" }),
        )
        .await;
    assert_error(
        &wrong,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_FAILED",
    );
    app.clock.advance_ms(30_000);
    let (status, _) = app
        .post(
            "/api/v1/auth/mfa/disable",
            Some(&token),
            json!({ "code": code(&secret, app.clock.now()) }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(login(&app, "relaxed", &email, None).await.0, StatusCode::OK);
    // Guests have no MFA.
    let table = app
        .create(&t, "/api/v1/tables", json!({ "label": "T1", "seats": 2 }))
        .await;
    let guest = app.guest_token(table["guest_code"].as_str().unwrap()).await;
    assert_error(
        &app.post("/api/v1/auth/mfa/enrol", Some(&guest), json!(null))
            .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
}

crate::both_backends!(
    a_code_is_needed_after_the_password_and_works_once,
    wrong_codes_lock_the_account_like_wrong_passwords,
    a_restaurant_can_require_mfa_of_owners_and_managers,
    staff_turn_their_mfa_off_with_a_code,
);
