//! `/health/ready` says which dependency is down, why, and since when; the
//! since holds over repeated requests and moves when the state changes.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::db_outage::PrivatePostgres;
use crate::support::*;

async fn ready(app: &TestApp) -> (StatusCode, Value) {
    app.call(Method::GET, "/health/ready", None, None).await
}

/// Asks until `component` reports `status` (bounded); the report.
async fn until(app: &TestApp, component: &str, status: &str) -> Value {
    for _ in 0..200 {
        let (_, report) = ready(app).await;
        if report["components"][component]["status"] == status {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{component} never became {status}: {:?}", ready(app).await);
}

fn since_ms(report: &Value, component: &str) -> i64 {
    let c = &report["components"][component];
    let ms = c["since_ms"].as_i64().unwrap_or_else(|| panic!("{report}"));
    let text = c["since"].as_str().unwrap();
    let parsed = chrono::DateTime::parse_from_rfc3339(text).unwrap();
    assert_eq!(parsed.timestamp_millis(), ms, "{report}");
    ms
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_database_is_down_since_it_stopped_and_up_again_after() {
    let pg = PrivatePostgres::start();
    let app = TestApp::spawn_on_postgres(&pg.url(), &[]).await;
    let report = until(&app, "database", "up").await;
    assert_eq!(since_ms(&report, "database"), T0);
    assert_eq!(since_ms(&report, "redis"), T0);

    app.clock.advance_ms(60_000);
    pg.stop();
    let (status, report) = {
        until(&app, "database", "down").await;
        ready(&app).await
    };
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{report}");
    assert_eq!(report["status"], "degraded");
    let db = &report["components"]["database"];
    assert!(!db["error"].as_str().unwrap_or("").is_empty(), "{report}");
    assert_eq!(since_ms(&report, "database"), T0 + 60_000);
    // Asked again later (and checked by the hub meanwhile): still down
    // since the same moment.
    app.clock.advance_ms(30_000);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (_, later) = ready(&app).await;
    assert_eq!(later["components"]["database"]["status"], "down", "{later}");
    assert_eq!(since_ms(&later, "database"), T0 + 60_000);
    // The component that did not change kept its since.
    assert_eq!(since_ms(&later, "redis"), T0);

    pg.resume();
    let report = until(&app, "database", "up").await;
    assert_eq!(since_ms(&report, "database"), T0 + 90_000);
    assert!(
        report["components"]["database"].get("error").is_none(),
        "{report}"
    );
    let (status, _) = ready(&app).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_is_named_with_its_error_and_a_steady_since() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}");
    let app = TestApp::spawn_with(Backend::Sqlite, &["--redis-url", &url]).await;
    let report = until(&app, "redis", "down").await;
    let redis = &report["components"]["redis"];
    assert!(
        redis["error"].as_str().unwrap_or("").contains("refused"),
        "{report}"
    );
    let since = since_ms(&report, "redis");
    for _ in 0..3 {
        app.clock.advance_ms(5_000);
        let (status, again) = ready(&app).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(since_ms(&again, "redis"), since, "{again}");
        assert_eq!(again["components"]["database"]["status"], "up");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_redis_is_down_since_it_stopped_and_up_again_after() {
    let mut redis = crate::scale::PrivateRedis::start();
    let app = TestApp::spawn_with(Backend::Sqlite, &["--redis-url", &redis.url()]).await;
    until(&app, "redis", "up").await;
    app.clock.advance_ms(10_000);
    redis.stop();
    let report = until(&app, "redis", "down").await;
    assert_eq!(since_ms(&report, "redis"), T0 + 10_000);
    assert!(
        !report["components"]["redis"]["error"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "{report}"
    );
    app.clock.advance_ms(5_000);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, later) = ready(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{later}");
    assert_eq!(since_ms(&later, "redis"), T0 + 10_000);
    assert_eq!(since_ms(&later, "database"), T0);

    redis.resume();
    let report = until(&app, "redis", "up").await;
    assert_eq!(since_ms(&report, "redis"), T0 + 15_000);
}
