//! Sessions that end when they should: deleting an account, changing its
//! role or password, logging out and ending a table's visit end the old
//! access tokens at once on the instance that did it and within a second on
//! every other one, and close their open sockets there too. A socket whose
//! token expires is told so, unless it renewed it with `auth.refresh`.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::orders::{floor, Floor};
use crate::support::*;
use crate::ws_client::{Ended, WsClient};

/// How soon every instance must refuse a revoked token (the bound).
const EVERYWHERE: Duration = Duration::from_secs(1);

/// Polls a request every instance's staff may make until it is refused with
/// 401, and returns how long that took (failing after [`EVERYWHERE`]).
async fn refused_within(app: &TestApp, token: &str) -> Duration {
    let start = Instant::now();
    loop {
        let (status, body) = app.get("/api/v1/tables", token).await;
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(body["error"]["code"], "UNAUTHORIZED", "{body}");
            return start.elapsed();
        }
        assert!(
            start.elapsed() < EVERYWHERE,
            "still {status} after {:?}: {body}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The socket closes with `code` within [`EVERYWHERE`].
async fn closes_within(ws: &mut WsClient, code: u16) {
    let ended = tokio::time::timeout(EVERYWHERE, ws.ended())
        .await
        .expect("the socket closes within a second");
    assert_eq!(ended, Ended::Closed(code));
}

fn order(f: &Floor, key: &str) -> Value {
    json!({ "idempotency_key": key, "table_id": f.t1, "source": "dine_in",
            "lines": [{ "menu_item_id": f.bread, "qty": 1 }] })
}

async fn login(app: &TestApp, f: &Floor, email: &str) -> Value {
    let (status, body) = app.login(&f.t.slug, email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A new staff account: its id, email and a first login.
async fn account(app: &TestApp, f: &Floor, role: &str) -> (i64, String, Value) {
    let email = format!("{role}-{}@{}.test", uuid::Uuid::new_v4().simple(), f.t.slug);
    let user = app
        .create(
            &f.t,
            "/api/v1/users",
            json!({ "email": email, "name": role, "role": role, "password": PASSWORD }),
        )
        .await;
    let session = login(app, f, &email).await;
    (user["id"].as_i64().unwrap(), email, session)
}

async fn a_deleted_account_is_refused_everywhere_and_its_sockets_close(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.sibling().await;
    let f = floor(&app, "gone").await;
    let (id, _, session) = account(&app, &f, "waiter").await;
    let token = token_of(&session);
    let (mut here, _) = WsClient::join(&app, &token).await;
    let (mut there, _) = WsClient::join(&other, &token).await;
    assert_eq!(
        app.post("/api/v1/orders", Some(&token), order(&f, "before"))
            .await
            .0,
        StatusCode::CREATED
    );

    let (status, _) = app.delete(&format!("/api/v1/users/{id}"), &f.t.owner).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Here at once: the order the issue placed with such a token is refused.
    let placed = app
        .post("/api/v1/orders", Some(&token), order(&f, "after"))
        .await;
    assert_error(&placed, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    closes_within(&mut here, restohub_protocol::ws::close::SESSION_REVOKED).await;
    // Everywhere else within a second.
    refused_within(&other, &token).await;
    closes_within(&mut there, restohub_protocol::ws::close::SESSION_REVOKED).await;
    let placed = other
        .post("/api/v1/orders", Some(&token), order(&f, "after"))
        .await;
    assert_error(&placed, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    // The owner's own sessions are untouched.
    assert_eq!(
        other.get("/api/v1/tables", &f.t.owner).await.0,
        StatusCode::OK
    );
}

async fn a_demoted_manager_loses_the_managers_rights_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.sibling().await;
    let f = floor(&app, "demoted").await;
    let (id, _, session) = account(&app, &f, "manager").await;
    let token = token_of(&session);
    let (mut socket, _) = WsClient::join(&other, &token).await;
    let item = format!("/api/v1/menu/items/{}", f.bread);
    let price = |cents: i64| json!({ "price_cents": cents });
    assert_eq!(app.patch(&item, &token, price(310)).await.0, StatusCode::OK);

    let (status, body) = app
        .patch(
            &format!("/api/v1/users/{id}"),
            &f.t.owner,
            json!({ "role": "waiter" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    assert_error(
        &app.patch(&item, &token, price(320)).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    );
    refused_within(&other, &token).await;
    assert_error(
        &other.patch(&item, &token, price(330)).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    );
    closes_within(&mut socket, restohub_protocol::ws::close::SESSION_REVOKED).await;
    // The session itself goes on, with the new role.
    let (status, renewed) = other
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": session["refresh_token"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    assert_eq!(renewed["user"]["role"], "waiter");
    assert_error(
        &other.patch(&item, &token_of(&renewed), price(340)).await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    let (_, menu) = app.get(&item, &f.t.owner).await;
    assert_eq!(menu["price_cents"], 310, "{menu}");
}

async fn logging_out_ends_that_session_and_no_other(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.sibling().await;
    let f = floor(&app, "logout").await;
    let (_, email, first) = account(&app, &f, "chef").await;
    let second = login(&app, &f, &email).await;
    let (a, b) = (token_of(&first), token_of(&second));
    let (mut socket_a, _) = WsClient::join(&other, &a).await;
    let (mut socket_b, _) = WsClient::join(&other, &b).await;

    let (status, body) = app
        .post(
            "/api/v1/auth/logout",
            None,
            json!({ "refresh_token": first["refresh_token"] }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    assert_eq!(
        app.get("/api/v1/tables", &a).await.0,
        StatusCode::UNAUTHORIZED
    );
    refused_within(&other, &a).await;
    closes_within(&mut socket_a, restohub_protocol::ws::close::SESSION_REVOKED).await;
    // The same account's other session (another screen) is not logged out.
    assert_eq!(other.get("/api/v1/tables", &b).await.0, StatusCode::OK);
    socket_b.assert_alive().await;
    let (status, _) = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": first["refresh_token"] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn a_new_password_ends_every_session_of_the_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.sibling().await;
    let f = floor(&app, "password").await;
    let (id, email, first) = account(&app, &f, "cashier").await;
    let second = login(&app, &f, &email).await;
    let (mut socket, _) = WsClient::join(&other, &token_of(&second)).await;

    let (status, body) = app
        .patch(
            &format!("/api/v1/users/{id}"),
            &f.t.owner,
            json!({ "password": "a-brand-new-password-42" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    for session in [&first, &second] {
        let token = token_of(session);
        assert_eq!(
            app.get("/api/v1/tables", &token).await.0,
            StatusCode::UNAUTHORIZED
        );
        refused_within(&other, &token).await;
        let (status, _) = other
            .post(
                "/api/v1/auth/refresh",
                None,
                json!({ "refresh_token": session["refresh_token"] }),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    closes_within(&mut socket, restohub_protocol::ws::close::SESSION_REVOKED).await;
    let (status, _) = app
        .login(&f.t.slug, &email, "a-brand-new-password-42")
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// The table's code as a manager sees it now.
async fn code_of(app: &TestApp, f: &Floor) -> String {
    let (_, table) = app
        .get(&format!("/api/v1/tables/{}", f.t1), &f.t.owner)
        .await;
    table["guest_code"].as_str().unwrap().to_owned()
}

/// A guest at T1 who ordered; returns the guest's token and open sockets
/// on both instances, and the order's id.
async fn seated_guest(
    app: &TestApp,
    other: &TestApp,
    f: &Floor,
) -> (String, WsClient, WsClient, i64) {
    let guest = app.guest_token(&f.t1_code).await;
    let (here, _) = WsClient::join(app, &guest).await;
    let (there, _) = WsClient::join(other, &guest).await;
    let (status, placed) = app
        .post(
            "/api/v1/orders",
            Some(&guest),
            json!({ "idempotency_key": "guest-1", "source": "qr",
                    "lines": [{ "menu_item_id": f.bread, "qty": 1 }] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    let (_, table) = app
        .get(&format!("/api/v1/tables/{}", f.t1), &f.t.owner)
        .await;
    assert_eq!(table["status"], "occupied", "{table}");
    (guest, here, there, placed["order"]["id"].as_i64().unwrap())
}

/// After the visit ended: the guest is refused everywhere, its sockets are
/// closed, the old code opens nothing and the new one seats the next party.
async fn the_visit_is_over(
    app: &TestApp,
    other: &TestApp,
    f: &Floor,
    guest: &str,
    sockets: [&mut WsClient; 2],
) {
    let again = app
        .post(
            "/api/v1/orders",
            Some(guest),
            json!({ "idempotency_key": "guest-2", "source": "qr",
                    "lines": [{ "menu_item_id": f.bread, "qty": 1 }] }),
        )
        .await;
    assert_error(&again, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    let start = Instant::now();
    loop {
        let (status, _) = other.get("/api/v1/menu/items", guest).await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(start.elapsed() < EVERYWHERE, "guest still {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for socket in sockets {
        closes_within(socket, restohub_protocol::ws::close::SESSION_REVOKED).await;
    }
    let old = app
        .post(
            "/api/v1/guest-sessions",
            None,
            json!({ "table_code": f.t1_code }),
        )
        .await;
    assert_error(&old, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    let code = code_of(app, f).await;
    assert_ne!(code, f.t1_code);
    let next = app.guest_token(&code).await;
    assert_eq!(
        other.get("/api/v1/menu/items", &next).await.0,
        StatusCode::OK
    );
}

async fn a_guests_session_ends_when_its_table_is_cleared(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.sibling().await;
    let f = floor(&app, "cleared").await;
    let (guest, mut here, mut there, _) = seated_guest(&app, &other, &f).await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (mut ws, _) = WsClient::join(&app, &waiter).await;
    let cleared = ws
        .command(json!({ "type": "table.set_status", "table_id": f.t1, "status": "cleaning" }))
        .await;
    assert_eq!(cleared["table"]["status"], "cleaning", "{cleared}");
    the_visit_is_over(&app, &other, &f, &guest, [&mut here, &mut there]).await;
}

async fn a_guests_session_ends_when_its_last_order_ends(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.sibling().await;
    let f = floor(&app, "ended").await;
    let (guest, mut here, mut there, order_id) = seated_guest(&app, &other, &f).await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (mut ws, _) = WsClient::join(&other, &waiter).await;
    let cancelled = ws
        .command(
            json!({ "type": "order.cancel", "order_id": order_id, "reason": "changed their mind" }),
        )
        .await;
    assert_eq!(cancelled["type"], "ack", "{cancelled}");
    let (_, table) = app
        .get(&format!("/api/v1/tables/{}", f.t1), &f.t.owner)
        .await;
    assert_eq!(table["status"], "free", "{table}");
    // Cancelled on the other instance.
    the_visit_is_over(&other, &app, &f, &guest, [&mut there, &mut here]).await;
}

async fn a_socket_is_closed_when_its_token_expires_unless_renewed(backend: Backend) {
    let app = TestApp::spawn_with(backend, &["--access-token-ttl", "2"]).await;
    let f = floor(&app, "expiry").await;
    let (_, _, session) = account(&app, &f, "chef").await;
    let (mut lapsed, _) = WsClient::join(&app, &token_of(&session)).await;
    let (mut renewed, _) = WsClient::join(&app, &token_of(&session)).await;

    // Someone else's token cannot be put on this socket.
    let intruder = login(&app, &f, &format!("owner@{}.test", f.t.slug)).await;
    let refused = renewed
        .command(json!({ "type": "auth.refresh", "access_token": token_of(&intruder) }))
        .await;
    assert_eq!(refused["code"], "FORBIDDEN", "{refused}");
    let garbage = renewed
        .command(json!({ "type": "auth.refresh", "access_token": "not-a-token" }))
        .await;
    assert_eq!(garbage["code"], "UNAUTHORIZED", "{garbage}");

    // A second later the hub's clock moves on and the chef's app refreshes.
    tokio::time::sleep(Duration::from_secs(1)).await;
    app.clock.advance_ms(1_000);
    let (status, fresh) = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": session["refresh_token"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    let ack = renewed
        .command(json!({ "type": "auth.refresh", "access_token": token_of(&fresh) }))
        .await;
    assert_eq!(ack["command"], "auth.refresh", "{ack}");
    assert_eq!(ack["expires_at"], fresh["access_expires_at"], "{ack}");

    let ended = tokio::time::timeout(Duration::from_secs(5), lapsed.ended())
        .await
        .expect("the lapsed socket closes");
    assert_eq!(
        ended,
        Ended::Closed(restohub_protocol::ws::close::TOKEN_EXPIRED)
    );
    // The renewed one outlived the first token.
    renewed.assert_alive().await;
}

crate::both_backends!(
    a_deleted_account_is_refused_everywhere_and_its_sockets_close,
    a_demoted_manager_loses_the_managers_rights_at_once,
    logging_out_ends_that_session_and_no_other,
    a_new_password_ends_every_session_of_the_account,
    a_guests_session_ends_when_its_table_is_cleared,
    a_guests_session_ends_when_its_last_order_ends,
    a_socket_is_closed_when_its_token_expires_unless_renewed,
);
