//! The WebSocket handshake: hello → welcome for every role, refusals with
//! their close codes, the hello timeout, limits, origins, and shutdown.

use base64::Engine;
use serde_json::{json, Value};

use crate::support::*;
use crate::ws_client::{Ended, WsClient};

fn rooms(welcome: &Value) -> Vec<String> {
    let mut rooms: Vec<String> = welcome["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    rooms.sort();
    rooms
}

fn sorted(list: &[String]) -> Vec<String> {
    let mut list = list.to_vec();
    list.sort();
    list
}

async fn every_role_is_welcomed_into_its_rooms(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("bistro").await;
    let r = t.id;
    for role in ["manager", "waiter", "chef", "cashier"] {
        let (user, token) = app.staff(&t, role).await;
        let (_ws, welcome) = WsClient::join(&app, &token).await;
        assert_eq!(welcome["role"], role);
        assert_eq!(welcome["restaurant_id"], r);
        assert_eq!(welcome["user_id"], user);
        assert_eq!(welcome["seq"], 0);
        assert_eq!(welcome["heartbeat_interval_ms"], 15000);
        assert!(welcome["session_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty()));
        let mut expected = vec![
            format!("restaurant:{r}"),
            format!("role:{r}:{role}"),
            format!("user:{user}"),
        ];
        match role {
            "chef" => expected.push(format!("kitchen:{r}")),
            "manager" => expected.push(format!("dashboard:{r}")),
            _ => {}
        }
        assert_eq!(rooms(&welcome), sorted(&expected), "{role}");
    }
    let (_ws, owner) = WsClient::join(&app, &t.owner).await;
    assert_eq!(
        rooms(&owner),
        sorted(&[
            format!("dashboard:{r}"),
            format!("restaurant:{r}"),
            format!("role:{r}:owner"),
            format!("user:{}", t.owner_id)
        ])
    );

    let table = app
        .create(&t, "/api/v1/tables", json!({ "label": "T7", "seats": 2 }))
        .await;
    let (_, guest) = app
        .post(
            "/api/v1/guest-sessions",
            None,
            json!({ "table_code": table["guest_code"] }),
        )
        .await;
    let (_ws, welcome) = WsClient::join(&app, &token_of(&guest)).await;
    assert_eq!(welcome["role"], "guest");
    assert_eq!(welcome["table_id"], table["id"]);
    assert!(welcome.get("user_id").is_none());
    assert_eq!(rooms(&welcome), [format!("table:{r}:{}", table["id"])]);
}

async fn a_bearer_header_replaces_the_token_in_hello(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("bistro").await;
    let bearer = format!("Bearer {}", t.owner);
    let mut ws = WsClient::connect_with(&app, &[("authorization", &bearer)])
        .await
        .unwrap();
    ws.send(json!({ "type": "hello" })).await;
    let welcome = ws.recv().await;
    assert_eq!(
        (welcome["type"].as_str(), welcome["role"].as_str()),
        (Some("welcome"), Some("owner"))
    );
}

/// Connects, says `hello`, and returns how the hub ended the connection.
async fn refused(app: &TestApp, hello: Value) -> Ended {
    let mut ws = WsClient::connect(app).await;
    ws.send(hello).await;
    ws.ended().await
}

fn b64(value: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn bad_tokens_are_closed_with_their_codes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("beta").await;
    let hello = |token: &str| json!({ "type": "hello", "token": token });

    assert_eq!(
        refused(&app, json!({ "type": "hello" })).await,
        Ended::Closed(4001)
    );
    assert_eq!(refused(&app, hello("garbage")).await, Ended::Closed(4001));
    // Tampered: the claims now name restaurant B; the signature is for A.
    let parts: Vec<&str> = a.owner.split('.').collect();
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    let mut forged = payload.clone();
    forged["rid"] = json!(b.id);
    let tampered = format!("{}.{}.{}", parts[0], b64(&forged), parts[2]);
    assert_eq!(refused(&app, hello(&tampered)).await, Ended::Closed(4001));
    // alg: none, no signature.
    let none = format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "typ": "JWT" })),
        parts[1]
    );
    assert_eq!(refused(&app, hello(&none)).await, Ended::Closed(4001));
    // A token for A presented to B's screen.
    let other = json!({ "type": "hello", "token": a.owner, "restaurant_id": b.id });
    assert_eq!(refused(&app, other).await, Ended::Closed(4003));
    // A deleted account's still-unexpired token.
    let (waiter, waiter_token) = app.staff(&a, "waiter").await;
    app.delete(&format!("/api/v1/users/{waiter}"), &a.owner)
        .await;
    assert_eq!(
        refused(&app, hello(&waiter_token)).await,
        Ended::Closed(4001)
    );
    // Expired.
    app.clock.advance_ms(15 * 60 * 1000);
    assert_eq!(refused(&app, hello(&a.owner)).await, Ended::Closed(4001));
}

async fn hello_must_come_first_and_in_time(backend: Backend) {
    let app = TestApp::spawn_with(backend, &["--ws-hello-timeout-ms", "300"]).await;
    let t = app.tenant("bistro").await;
    let mut silent = WsClient::connect(&app).await;
    assert_eq!(silent.ended().await, Ended::Closed(4008));
    assert_eq!(
        refused(&app, json!({ "type": "ping", "id": 1 })).await,
        Ended::Closed(4000)
    );
    let mut ws = WsClient::connect(&app).await;
    ws.send_text("not json").await;
    assert_eq!(ws.ended().await, Ended::Closed(4000));
    // A second hello on a live session is an error, not a close.
    let (mut ws, _) = WsClient::join(&app, &t.owner).await;
    let again = ws
        .command(json!({ "type": "hello", "token": t.owner }))
        .await;
    assert_eq!(again["code"], "CONFLICT", "{again}");
    ws.assert_alive().await;
}

async fn connections_are_limited_per_account_and_instance(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            "--ws-max-connections-per-user",
            "2",
            "--ws-max-connections",
            "3",
        ],
    )
    .await;
    let t = app.tenant("bistro").await;
    let (_one, _) = WsClient::join(&app, &t.owner).await;
    let (mut two, _) = WsClient::join(&app, &t.owner).await;
    let third = json!({ "type": "hello", "token": t.owner });
    assert_eq!(refused(&app, third).await, Ended::Closed(4031));
    // Another account still gets in, until the instance is full.
    let (_, waiter) = app.staff(&t, "waiter").await;
    let (_three, _) = WsClient::join(&app, &waiter).await;
    assert_eq!(WsClient::connect_with(&app, &[]).await.err(), Some(503));
    // Closing frees a slot.
    two.stream.close(None).await.unwrap();
    assert_eq!(two.ended().await, Ended::Dropped);
    let mut freed = None;
    for _ in 0..50 {
        if let Ok(ws) = WsClient::connect_with(&app, &[]).await {
            freed = Some(ws);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        freed.is_some(),
        "the closed connection's slot was not freed"
    );
}

async fn browsers_from_other_sites_are_refused(backend: Backend) {
    let app = TestApp::spawn_with(backend, &["--allowed-origins", "https://pos.example.com"]).await;
    let evil = WsClient::connect_with(&app, &[("origin", "https://evil.example.com")]).await;
    assert_eq!(evil.err(), Some(403));
    assert!(
        WsClient::connect_with(&app, &[("origin", "https://pos.example.com")])
            .await
            .is_ok()
    );
    let same = format!("http://{}", app.addr);
    assert!(WsClient::connect_with(&app, &[("origin", &same)])
        .await
        .is_ok());
    // Native clients send no Origin.
    assert!(WsClient::connect_with(&app, &[]).await.is_ok());
}

async fn shutdown_tells_every_session_to_reconnect(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let t = app.tenant("bistro").await;
    let (mut first, _) = WsClient::join(&app, &t.owner).await;
    let mut second = WsClient::staff(&app, &t, "waiter").await;
    app.shut_down();
    assert_eq!(first.ended().await, Ended::Closed(1012));
    assert_eq!(second.ended().await, Ended::Closed(1012));
}

crate::both_backends!(
    every_role_is_welcomed_into_its_rooms,
    a_bearer_header_replaces_the_token_in_hello,
    bad_tokens_are_closed_with_their_codes,
    hello_must_come_first_and_in_time,
    connections_are_limited_per_account_and_instance,
    browsers_from_other_sites_are_refused,
    shutdown_tells_every_session_to_reconnect,
);
