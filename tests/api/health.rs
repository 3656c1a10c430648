//! Liveness and readiness, with Redis up, absent, and unreachable.

use reqwest::{Method, StatusCode};

use crate::support::*;

async fn get(app: &TestApp, path: &str) -> (StatusCode, serde_json::Value) {
    app.call(Method::GET, path, None, None).await
}

/// Polls readiness until 200 (bounded), returning the report.
pub async fn wait_until_ready(app: &TestApp) -> serde_json::Value {
    for _ in 0..100 {
        let (status, ready) = get(app, "/health/ready").await;
        if status == StatusCode::OK {
            return ready;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "the instance never became ready: {:?}",
        get(app, "/health/ready").await
    );
}

async fn ready_reports_each_component(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, live) = get(&app, "/health/live").await;
    assert_eq!(
        (status, live["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, ready) = get(&app, "/health/ready").await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["components"]["database"]["status"], "up");
    assert_eq!(ready["components"]["redis"]["status"], "disabled");
}

async fn ready_checks_redis_when_configured(backend: Backend) {
    let app = TestApp::spawn_with(backend, &["--redis-url", "redis://127.0.0.1:6379"]).await;
    // Ready once the instance has subscribed to events.
    let ready = wait_until_ready(&app).await;
    assert_eq!(ready["components"]["redis"]["status"], "up");
}

async fn ready_is_not_green_when_redis_is_down(backend: Backend) {
    // A port nothing listens on: bind one, note it, let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}");
    let app = TestApp::spawn_with(backend, &["--redis-url", &url]).await;
    let (status, ready) = get(&app, "/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["status"], "degraded");
    assert_eq!(ready["components"]["redis"]["status"], "down");
    assert_eq!(ready["components"]["database"]["status"], "up");
    // Liveness is about the process only.
    assert_eq!(get(&app, "/health/live").await.0, StatusCode::OK);
}

async fn a_lost_database_is_reported_not_hidden(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = app.tenant("bistro").await;
    app.store.close().await;
    let reply = app.get("/api/v1/stations", &tenant.owner).await;
    assert_error(&reply, StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE");
    let (status, ready) = get(&app, "/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["components"]["database"]["status"], "down");
}

/// Every response, errors included, tells browsers not to sniff types,
/// frame the hub or send referrers; responses that carry tokens tell every
/// cache not to keep them.
async fn responses_carry_security_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("bistro").await;
    for path in ["/health/live", "/api/v1/nowhere"] {
        let res = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(
            h["content-security-policy"], "frame-ancestors 'none'",
            "{path}"
        );
    }
    for password in [PASSWORD, "wrong-password"] {
        let login = serde_json::json!({ "restaurant": t.slug, "email": "owner@bistro.test", "password": password });
        let res = app
            .http
            .post(format!("{}/api/v1/auth/login", app.base))
            .json(&login)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["cache-control"], "no-store", "{password}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    }
}

crate::both_backends!(
    responses_carry_security_headers,
    a_lost_database_is_reported_not_hidden,
    ready_reports_each_component,
    ready_checks_redis_when_configured,
    ready_is_not_green_when_redis_is_down,
);
