//! Prometheus metrics: the figures an operator reads move with real
//! traffic, `/metrics` can be kept off the public listener, Prometheus'
//! own checker accepts the exposition and the alert rules, and the alerts
//! and the Grafana dashboard name only metrics the hub exposes.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::orders::{floor, Floor};
use crate::support::*;
use crate::ws_client::WsClient;

/// One sample of the exposition: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// The Prometheus text format, read back (enough of it for our labels:
/// values without quotes, commas or escapes).
fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample line has a value");
            let (name, labels) = match series.split_once('{') {
                None => (series, Vec::new()),
                Some((name, rest)) => {
                    let inner = rest.strip_suffix('}').expect("labels close");
                    let labels = inner
                        .split("\",")
                        .filter(|p| !p.is_empty())
                        .map(|pair| {
                            let (k, v) = pair.split_once("=\"").expect("label=\"value\"");
                            (k.to_owned(), v.trim_end_matches('"').to_owned())
                        })
                        .collect();
                    (name, labels)
                }
            };
            Sample {
                name: name.to_owned(),
                labels,
                value: value.parse().unwrap_or_else(|_| panic!("value in {line}")),
            }
        })
        .collect()
}

/// The value of the series `name` with (at least) `labels`; None if the
/// hub does not show it.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|s| s.value)
}

fn must(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    value(samples, name, labels)
        .unwrap_or_else(|| panic!("/metrics has no {name} {labels:?}; it has {samples:#?}"))
}

async fn scrape_at(addr: std::net::SocketAddr) -> (StatusCode, String) {
    let res = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("scrape");
    let status = res.status();
    (status, res.text().await.expect("body"))
}

pub(crate) async fn scrape(app: &TestApp) -> String {
    let (status, body) = scrape_at(app.addr).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn dine_in(key: &str, f: &Floor, item: i64, qty: i64) -> serde_json::Value {
    json!({ "idempotency_key": key, "table_id": f.t1, "source": "dine_in", "lines": [{ "menu_item_id": item, "qty": qty }] })
}

/// Real traffic: screens connected, orders placed and refused, a retry,
/// a payment and a resume. Returns the waiter's token.
async fn traffic(app: &TestApp, f: &Floor) -> (WsClient, String) {
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let mut chef = WsClient::staff(app, &f.t, "chef").await;
    for key in ["m1", "m2", "m3"] {
        let (status, body) = app
            .post("/api/v1/orders", Some(&waiter), dine_in(key, f, f.steak, 1))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // A retry after a lost reply is the same order, not a fourth.
    let (status, again) = app
        .post(
            "/api/v1/orders",
            Some(&waiter),
            dine_in("m3", f, f.steak, 1),
        )
        .await;
    assert!(status.is_success(), "{again}");
    assert_eq!(again["duplicate"], true);
    // 47 steaks left: 48 are refused, and so is a dine-in order without
    // its table.
    let short = app
        .post(
            "/api/v1/orders",
            Some(&waiter),
            dine_in("m4", f, f.steak, 48),
        )
        .await;
    assert_error(&short, StatusCode::CONFLICT, "OUT_OF_STOCK");
    let mut tableless = dine_in("m5", f, f.steak, 1);
    tableless["table_id"] = serde_json::Value::Null;
    let refused = app.post("/api/v1/orders", Some(&waiter), tableless).await;
    assert_error(
        &refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_FAILED",
    );
    // The chef's screen gets each order's ticket.
    for _ in 0..3 {
        chef.next_of("event").await;
    }
    // The table pays its check in cash.
    let (status, check) = app
        .post("/api/v1/checks", Some(&waiter), json!({ "table_id": f.t1 }))
        .await;
    assert!(status.is_success(), "{check}");
    let total = check["total_cents"].as_i64().unwrap();
    assert_eq!(total, 3 * 2500);
    let (status, paid) = app
        .post(
            &format!("/api/v1/checks/{}/payments", check["id"]),
            Some(&waiter),
            json!({ "idempotency_key": "pay-1", "method": "cash", "amount_cents": total }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    (chef, waiter)
}

async fn metrics_follow_real_traffic(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "metered").await;
    let (chef, waiter) = traffic(&app, &f).await;
    // A waiter's phone and a kitchen screen back from a Wi-Fi drop with
    // `since`: replayed from the log.
    let mut waiter_ws = WsClient::connect(&app).await;
    waiter_ws
        .send(json!({ "type": "hello", "token": waiter, "since": 0 }))
        .await;
    let welcome = waiter_ws.recv().await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["resync_required"], false);

    let m = parse(&scrape(&app).await);
    assert_eq!(must(&m, "restohub_build_info", &[]), 1.0);
    assert_eq!(
        must(&m, "restohub_orders_placed_total", &[("source", "dine_in")]),
        3.0
    );
    assert_eq!(
        must(
            &m,
            "restohub_orders_refused_total",
            &[("code", "OUT_OF_STOCK")]
        ),
        1.0
    );
    assert_eq!(
        must(
            &m,
            "restohub_orders_refused_total",
            &[("code", "VALIDATION_FAILED")]
        ),
        1.0
    );
    let committed = |kind| must(&m, "restohub_events_committed_total", &[("kind", kind)]);
    assert_eq!(committed("order.placed"), 3.0);
    assert_eq!(committed("ticket.placed"), 3.0);
    assert_eq!(committed("payment.recorded"), 1.0);
    assert_eq!(committed("ticket.late"), 0.0);
    // Who is connected, by role: one chef screen, one waiter's phone.
    let sessions = |role| must(&m, "restohub_ws_sessions", &[("role", role)]);
    assert_eq!(sessions("chef"), 1.0);
    assert_eq!(sessions("waiter"), 1.0);
    assert_eq!(sessions("guest"), 0.0);
    assert_eq!(must(&m, "restohub_ws_connections", &[]), 2.0);
    assert_eq!(
        must(&m, "restohub_ws_resumes_total", &[("outcome", "replayed")]),
        1.0
    );
    assert_eq!(
        must(&m, "restohub_ws_resumes_total", &[("outcome", "resync")]),
        0.0
    );
    // Every event reached the chef: its latency was measured, its frame
    // was written (the welcome is not from the queue; the tickets are).
    assert!(must(&m, "restohub_delivery_latency_seconds_count", &[]) >= 3.0);
    assert!(must(&m, "restohub_ws_frames_sent_total", &[]) >= 3.0);
    assert!(must(&m, "restohub_ws_bytes_sent_total", &[]) > 300.0);
    assert!(must(&m, "restohub_ws_events_queued_total", &[]) >= 3.0);
    assert_eq!(must(&m, "restohub_ws_slow_consumers_total", &[]), 0.0);
    // Transactions: three placements, the retry and the refusal.
    let tx = |op| must(&m, "restohub_db_transaction_seconds_count", &[("op", op)]);
    assert_eq!(tx("place_order"), 5.0);
    assert!(tx("change_check") >= 1.0);
    assert_eq!(
        must(&m, "restohub_dependency_up", &[("dependency", "database")]),
        1.0
    );
    let pool = match backend {
        Backend::Sqlite => "write",
        Backend::Postgres => "main",
    };
    assert!(must(&m, "restohub_db_pool_max_connections", &[("pool", pool)]) >= 1.0);
    assert!(value(
        &m,
        "restohub_db_pool_connections",
        &[("pool", pool), ("state", "idle")]
    )
    .is_some());
    // HTTP by route template, never by id.
    let orders = |status| {
        must(
            &m,
            "restohub_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/api/v1/orders"),
                ("status", status),
            ],
        )
    };
    assert_eq!(orders("2xx"), 4.0);
    assert_eq!(orders("4xx"), 2.0);
    assert!(value(
        &m,
        "restohub_http_requests_total",
        &[("route", "/api/v1/checks/{id}/payments"), ("status", "2xx")]
    )
    .is_some());
    assert!(m
        .iter()
        .all(|s| !s.labels.iter().any(|(_, v)| v.contains("/checks/1/"))));
    assert!(must(&m, "restohub_uptime_seconds", &[]) >= 0.0);

    // The chef's screen goes away: the gauge follows.
    drop(chef);
    let gone = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let m = parse(&scrape(&app).await);
            if must(&m, "restohub_ws_sessions", &[("role", "chef")]) == 0.0 {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the chef's session is no longer counted");
    assert_eq!(
        must(&gone, "restohub_ws_sessions", &[("role", "waiter")]),
        1.0
    );
}

/// With `--metrics-listen`, `/metrics` is there and only there.
async fn metrics_listen_keeps_metrics_off_the_public_listener(backend: Backend) {
    let app = TestApp::spawn_with(backend, &["--metrics-listen", "127.0.0.1:0"]).await;
    let private = app.metrics_addr.expect("a metrics listener");
    assert_ne!(private, app.addr);
    let (status, body) = scrape_at(app.addr).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(!body.contains("restohub_"), "{body}");
    // Traffic on the public listener is counted on the private one.
    let (status, _) = app.login("nowhere", "a@b.test", "wrong-password").await;
    assert!(status.is_client_error());
    let (status, body) = scrape_at(private).await;
    assert_eq!(status, StatusCode::OK);
    let m = parse(&body);
    assert_eq!(must(&m, "restohub_build_info", &[]), 1.0);
    assert_eq!(
        must(
            &m,
            "restohub_http_requests_total",
            &[("route", "/api/v1/auth/login"), ("status", "4xx")]
        ),
        1.0
    );
    // The private listener serves nothing else.
    let res = reqwest::get(format!("http://{private}/health/live"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

both_backends!(
    metrics_follow_real_traffic,
    metrics_listen_keeps_metrics_off_the_public_listener
);

fn repo_file(path: &str) -> String {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {full}: {e}"))
}

/// Runs promtool (Debian's `prometheus` package; .ci/run installs it):
/// missing, the test fails rather than skips.
fn promtool(args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new("promtool")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("promtool is needed (apt-get install prometheus): {e}"));
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} failed:\n{said}");
    said
}

/// The names a text mentions that look like ours.
/// The metrics section of the operator guide (other sections name
/// databases and backends that are not metrics).
fn metrics_section() -> String {
    let guide = repo_file("docs/OPERATIONS.md");
    let start = guide
        .find("\n## Metrics")
        .expect("docs/OPERATIONS.md has a Metrics section");
    let section = &guide[start + 1..];
    let end = section.find("\n## ").unwrap_or(section.len());
    section[..end].to_owned()
}

fn restohub_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("restohub_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

/// promtool accepts the real exposition, the rules and their unit tests;
/// every metric the alerts, the dashboard and the docs name is exposed,
/// and the docs describe every metric exposed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_accepts_the_exposition_and_the_alerts_name_real_metrics() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let f = floor(&app, "linted").await;
    let _screens = traffic(&app, &f).await;
    let exposition = scrape(&app).await;
    promtool(&["check", "metrics"], Some(&exposition));
    let rules = promtool(&["check", "rules", "deploy/prometheus/alerts.yml"], None);
    assert!(rules.contains("SUCCESS"), "{rules}");
    promtool(
        &["test", "rules", "deploy/prometheus/alerts_test.yml"],
        None,
    );
    promtool(
        &["check", "config", "deploy/prometheus/prometheus.yml"],
        None,
    );

    // Exposed series names, and the families they belong to.
    let mut exposed = BTreeSet::new();
    for line in exposition.lines() {
        if let Some(family) = line.strip_prefix("# TYPE ") {
            let (name, kind) = family.split_once(' ').unwrap();
            exposed.insert(name.to_owned());
            if kind == "histogram" {
                for suffix in ["_bucket", "_sum", "_count"] {
                    exposed.insert(format!("{name}{suffix}"));
                }
            }
        }
    }
    for (file, text) in [
        (
            "deploy/prometheus/alerts.yml",
            repo_file("deploy/prometheus/alerts.yml"),
        ),
        (
            "deploy/grafana/restohub.json",
            repo_file("deploy/grafana/restohub.json"),
        ),
        ("docs/OPERATIONS.md", metrics_section()),
    ] {
        let named = restohub_names(&text);
        assert!(!named.is_empty(), "{file} names no metric");
        let unknown: Vec<_> = named.difference(&exposed).collect();
        assert!(
            unknown.is_empty(),
            "{file} names metrics the hub does not expose: {unknown:?}"
        );
    }
    let dashboard: serde_json::Value =
        serde_json::from_str(&repo_file("deploy/grafana/restohub.json")).expect("dashboard JSON");
    assert!(dashboard["panels"].as_array().is_some_and(|p| p.len() >= 8));
    // Every family is documented.
    let documented = restohub_names(&metrics_section());
    for (name, _) in restohub::instruments::DESCRIPTIONS {
        assert!(
            documented.contains(*name),
            "docs/OPERATIONS.md does not describe {name}"
        );
        assert!(
            exposed.contains(*name),
            "{name} is described but not exposed"
        );
    }
}

/// Scrapes until `done` holds for what it reads (10 s at most).
async fn scrape_until(app: &TestApp, what: &str, done: impl Fn(&[Sample]) -> bool) -> Vec<Sample> {
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let m = parse(&scrape(app).await);
            if done(&m) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("/metrics never showed {what}"))
}

/// Redis going away and coming back shows as the operator's alerts read
/// it: the dependency down, publishes failing, then a new subscription.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_shows_in_the_metrics() {
    let mut redis = crate::scale::PrivateRedis::start();
    let url = redis.url();
    let app = TestApp::spawn_with(Backend::Sqlite, &["--redis-url", &url]).await;
    crate::health::wait_until_ready(&app).await;
    let m = parse(&scrape(&app).await);
    assert_eq!(
        must(&m, "restohub_dependency_up", &[("dependency", "redis")]),
        1.0
    );
    assert_eq!(must(&m, "restohub_redis_publish_failures_total", &[]), 0.0);
    assert_eq!(must(&m, "restohub_redis_resubscribes_total", &[]), 0.0);

    let f = floor(&app, "outage").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    redis.stop();
    scrape_until(&app, "Redis down", |m| {
        value(m, "restohub_dependency_up", &[("dependency", "redis")]) == Some(0.0)
    })
    .await;
    let (status, body) = app
        .post(
            "/api/v1/orders",
            Some(&waiter),
            dine_in("r1", &f, f.steak, 1),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    scrape_until(&app, "a failed publish", |m| {
        value(m, "restohub_redis_publish_failures_total", &[]) >= Some(1.0)
    })
    .await;

    redis.resume();
    let m = scrape_until(&app, "Redis back", |m| {
        value(m, "restohub_dependency_up", &[("dependency", "redis")]) == Some(1.0)
    })
    .await;
    assert_eq!(must(&m, "restohub_redis_resubscribes_total", &[]), 1.0);
}

/// Two instances with no bus between them: what one commits reaches the
/// other's screen through its log poller, and only there is it a catch-up;
/// each event is counted as committed once, by the instance that wrote it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_poller_catch_ups_are_counted_where_they_happen() {
    let here = TestApp::spawn_with(Backend::Sqlite, &["--event-poll-ms", "100"]).await;
    let there = here.sibling_with(&["--event-poll-ms", "100"]).await;
    let f = floor(&here, "twohubs").await;
    let (_, waiter) = here.staff(&f.t, "waiter").await;
    let (_, chef) = here.staff(&f.t, "chef").await;
    let (mut screen, _) = WsClient::join(&there, &chef).await;
    let (status, body) = here
        .post(
            "/api/v1/orders",
            Some(&waiter),
            dine_in("c1", &f, f.steak, 1),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The kitchen-wide screen gets the order (tickets go to stations).
    let placed = screen
        .next_matching(|e| e["type"] == "event" && e["kind"] == "order.placed")
        .await;
    assert_eq!(placed["data"]["id"], body["order"]["id"], "{placed}");

    let far = parse(&scrape(&there).await);
    let near = parse(&scrape(&here).await);
    assert!(must(&far, "restohub_log_catchup_events_total", &[]) >= 2.0);
    assert_eq!(must(&near, "restohub_log_catchup_events_total", &[]), 0.0);
    assert!(must(&far, "restohub_delivery_latency_seconds_count", &[]) >= 1.0);
    let placed = |m: &[Sample]| {
        must(
            m,
            "restohub_events_committed_total",
            &[("kind", "order.placed")],
        )
    };
    assert_eq!((placed(&near), placed(&far)), (1.0, 0.0));
    assert_eq!(must(&far, "restohub_ws_sessions", &[("role", "chef")]), 1.0);
    assert_eq!(
        must(&near, "restohub_ws_sessions", &[("role", "chef")]),
        0.0
    );
}

/// The kitchen's alarms an operator is paged on: a ticket past its due
/// time and a station with open tickets and no screen, each counted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_tickets_and_unattended_stations_are_counted() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--screen-flush-ms", "50"]).await;
    let f = floor(&app, "kitchen").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    // The expo watches the whole kitchen; nobody watches the grill itself.
    let mut expo = WsClient::staff(&app, &f.t, "chef").await;
    let (status, body) = app
        .post(
            "/api/v1/orders",
            Some(&waiter),
            dine_in("k1", &f, f.steak, 1),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Seen unattended once, then 9 minutes later (hub time): past the 10 s
    // alert and the 8-minute dine-in target.
    app.clock.advance_ms(1_000);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    app.clock.advance_ms(9 * 60_000);
    let mut seen = BTreeSet::new();
    while seen.len() < 2 {
        let alarm = expo
            .next_matching(|e| {
                e["type"] == "event"
                    && (e["kind"] == "ticket.late" || e["kind"] == "station.unattended")
            })
            .await;
        seen.insert(alarm["kind"].as_str().unwrap().to_owned());
    }
    let m = scrape_until(&app, "both alarms", |m| {
        let kind = |k| value(m, "restohub_events_committed_total", &[("kind", k)]);
        kind("ticket.late") == Some(1.0) && kind("station.unattended") == Some(1.0)
    })
    .await;
    let committed = |kind| must(&m, "restohub_events_committed_total", &[("kind", kind)]);
    assert_eq!(committed("station.attended"), 0.0);
}
