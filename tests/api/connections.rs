//! Connections that never finish a request are closed: silent ones, ones
//! that trickle a header line now and then, idle keep-alive ones, ones
//! whose body stops arriving; and while hundreds of them are open, on a hub
//! short of file descriptors, other clients are still served. An open
//! WebSocket is not cut by these timeouts. Connections are read on the
//! hub's intake runtime and requests handled on its main one.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::routing;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;
use crate::ws_client::WsClient;

/// Reads until the hub closes the connection (EOF or reset) and returns
/// how long that took, or None if it was still open after `patience`.
async fn closed_within(tcp: &mut TcpStream, patience: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = patience.checked_sub(start.elapsed())?;
        match tokio::time::timeout(left, tcp.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// Sends a whole keep-alive request and reads its whole response.
async fn one_request(tcp: &mut TcpStream, addr: &str) {
    let request = format!("GET /health/live HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("\"ok\"") {
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
            .await
            .expect("a response")
            .unwrap();
        assert!(n > 0, "closed before the response");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 200"), "{got:?}");
}

#[track_caller]
fn assert_closed_near(closed: Option<Duration>, timeout: Duration, what: &str) {
    let took = closed.unwrap_or_else(|| panic!("{what}: still open long after {timeout:?}"));
    assert!(
        took >= timeout.saturating_sub(Duration::from_millis(300)),
        "{what}: closed after {took:?}, before the {timeout:?} timeout"
    );
}

/// The header-read timeout closes a connection that sends nothing, and a
/// keep-alive connection that sends no next request; the idle timeout,
/// set long here, does not interfere.
async fn silent_connections_are_closed_after_the_header_timeout(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            "--header-read-timeout-secs",
            "1",
            "--idle-timeout-secs",
            "60",
        ],
    )
    .await;
    let second = Duration::from_secs(1);
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let closed = closed_within(&mut silent, Duration::from_secs(5)).await;
    assert_closed_near(closed, second, "a silent connection");

    let mut kept_alive = TcpStream::connect(app.addr).await.unwrap();
    one_request(&mut kept_alive, &app.addr.to_string()).await;
    let closed = closed_within(&mut kept_alive, Duration::from_secs(5)).await;
    assert_closed_near(closed, second, "an idle keep-alive connection");
}

/// A request head trickling in a line at a time, each well within any
/// idle timeout, is cut when the header-read timeout runs out.
async fn a_trickling_request_head_is_cut(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            "--header-read-timeout-secs",
            "2",
            "--idle-timeout-secs",
            "60",
        ],
    )
    .await;
    let mut tcp = TcpStream::connect(app.addr).await.unwrap();
    let start = Instant::now();
    tcp.write_all(b"GET /health/live HTTP/1.1\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let closed_after = loop {
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "a trickling request is still open after 8 s"
        );
        match tokio::time::timeout(Duration::from_millis(300), tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break start.elapsed(),
            // Whatever the hub says (a 408 or nothing), it must then close.
            Ok(Ok(_)) => continue,
            Err(_) => {}
        }
        if tcp.write_all(b"X-Trickle: 1\r\n").await.is_err() {
            break start.elapsed();
        }
    };
    assert!(
        closed_after >= Duration::from_millis(1700),
        "cut after {closed_after:?}, before the 2 s timeout"
    );
}

/// The idle timeout closes a keep-alive connection between requests, a
/// silent new one, and one whose request body stopped arriving; the
/// header-read timeout, set long here, does not interfere.
async fn idle_connections_are_closed_after_the_idle_timeout(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            "--header-read-timeout-secs",
            "60",
            "--idle-timeout-secs",
            "1",
        ],
    )
    .await;
    let second = Duration::from_secs(1);
    let addr = app.addr.to_string();
    let patience = Duration::from_secs(5);

    let mut kept_alive = TcpStream::connect(app.addr).await.unwrap();
    one_request(&mut kept_alive, &addr).await;
    // Still usable within the timeout.
    tokio::time::sleep(Duration::from_millis(300)).await;
    one_request(&mut kept_alive, &addr).await;
    let closed = closed_within(&mut kept_alive, patience).await;
    assert_closed_near(closed, second, "an idle keep-alive connection");

    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let closed = closed_within(&mut silent, patience).await;
    assert_closed_near(closed, second, "a silent connection");

    let mut stalled = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"restaurant\""
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    let closed = closed_within(&mut stalled, patience).await;
    assert_closed_near(closed, second, "a connection with a stalled body");
}

/// An open WebSocket, quiet for longer than both timeouts (its heartbeat
/// is far off), is still open and answers.
async fn a_websocket_outlives_the_http_timeouts(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            "--header-read-timeout-secs",
            "1",
            "--idle-timeout-secs",
            "1",
        ],
    )
    .await;
    let tenant = app.tenant("bistro").await;
    let (mut ws, _) = WsClient::join(&app, &tenant.owner).await;
    tokio::time::sleep(Duration::from_millis(3000)).await;
    ws.assert_alive().await;
}

/// The hub binary with at most `open_files` file descriptors, on `db`.
struct ChildHub {
    child: Child,
    base: String,
}

impl ChildHub {
    fn start(db: &TestDb, open_files: u64, extra: &[&str]) -> ChildHub {
        use std::io::{BufRead, BufReader};
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(env!("CARGO_BIN_EXE_restohub"));
        command
            .env_clear()
            .args(db.args())
            .args(extra)
            .env(
                "RESTOHUB_JWT_SECRET",
                "test-secret-of-at-least-thirty-two-bytes",
            )
            .env("RESTOHUB_LISTEN", "127.0.0.1:0")
            .env("RESTOHUB_LOG_FORMAT", "json")
            .env("RESTOHUB_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let limit = libc::rlimit {
            rlim_cur: open_files,
            rlim_max: open_files,
        };
        // SAFETY: setrlimit is async-signal-safe and touches only the child.
        unsafe {
            command.pre_exec(move || {
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let mut child = command.spawn().expect("the hub binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("the child hub exited").unwrap();
            let Ok(log) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if log["message"] == "restohub listening" {
                break log["addr"].as_str().unwrap().to_owned();
            }
        };
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if line.contains("ERROR") || line.contains("WARN") {
                    eprintln!("CHILD {line}");
                }
            }
        });
        ChildHub {
            child,
            base: format!("http://{addr}"),
        }
    }
}

impl Drop for ChildHub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The attack: 300 connections that send nothing and one that
/// trickles a header line, against a hub allowed 256 open files. Requests
/// queued behind them (a health check and a login) are answered once the
/// timeouts have freed descriptors; before, they waited forever.
async fn silent_connections_cannot_starve_other_clients(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = app.tenant("bistro").await;
    let hub = ChildHub::start(
        &app.db,
        256,
        &[
            "--header-read-timeout-secs",
            "1",
            "--idle-timeout-secs",
            "1",
            "--db-max-connections",
            "4",
        ],
    );
    let addr = hub.base.trim_start_matches("http://").to_owned();
    let mut silent = Vec::new();
    for _ in 0..300 {
        silent.push(TcpStream::connect(&addr).await.unwrap());
    }
    let mut trickler = TcpStream::connect(&addr).await.unwrap();
    let trickle = tokio::spawn(async move {
        let _ = trickler.write_all(b"GET / HTTP/1.1\r\n").await;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if trickler.write_all(b"X-Trickle: 1\r\n").await.is_err() {
                break;
            }
        }
    });

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let start = Instant::now();
    let live = http
        .get(format!("{}/health/live", hub.base))
        .send()
        .await
        .expect("the health check is answered");
    assert_eq!(live.status(), StatusCode::OK);
    let login = http
        .post(format!("{}/api/v1/auth/login", hub.base))
        .json(&json!({
            "restaurant": tenant.slug,
            "email": "owner@bistro.test",
            "password": PASSWORD,
        }))
        .send()
        .await
        .expect("the login is answered");
    assert_eq!(login.status(), StatusCode::OK);
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "served only after {:?}",
        start.elapsed()
    );
    trickle.abort();
    drop(silent);
}

crate::both_backends!(
    silent_connections_are_closed_after_the_header_timeout,
    a_trickling_request_head_is_cut,
    idle_connections_are_closed_after_the_idle_timeout,
    a_websocket_outlives_the_http_timeouts,
    silent_connections_cannot_starve_other_clients,
);

/// The name of the thread it runs on.
fn thread() -> String {
    std::thread::current().name().unwrap_or_default().to_owned()
}

/// Connections are read on the intake runtime and requests handled on
/// the caller's; a WebSocket upgrade, and the session it starts, stay on
/// the intake's. A handler that panics answers 500 with the stable
/// error body, and the connection goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn requests_are_handled_on_the_callers_runtime_and_upgrades_on_the_intakes() {
    let router = axum::Router::new()
        .route("/where", routing::get(|| async { thread() }))
        .route(
            "/boom",
            routing::get(|| async {
                if thread() != "restohub-intake" {
                    panic!("a handler's bug");
                }
                "not on the handlers' runtime"
            }),
        )
        .route(
            "/ws",
            routing::get(|ws: WebSocketUpgrade| async move {
                ws.on_upgrade(|mut socket| async move {
                    let _ = socket.send(Message::Text(thread().into())).await;
                })
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let timeouts = restohub::http::ConnectionTimeouts {
        header_read: Duration::from_secs(5),
        idle: Duration::from_secs(5),
    };
    let stop = tokio_util::sync::CancellationToken::new();
    let server = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let intake = restohub::http::Intake::start().unwrap();
            intake
                .serve(listener, router, timeouts, 64, async move {
                    stop.cancelled().await
                })
                .await
        })
    };
    let client = reqwest::Client::new();
    let base = format!("http://{addr}");
    let here = client.get(format!("{base}/where")).send().await.unwrap();
    let here = here.text().await.unwrap();
    assert!(!here.is_empty() && here != "restohub-intake", "{here}");
    let boom = client.get(format!("{base}/boom")).send().await.unwrap();
    assert_eq!(boom.status(), 500);
    let body: serde_json::Value = boom.json().await.unwrap();
    assert_eq!(body["error"]["code"], "INTERNAL", "{body}");
    let again = client.get(format!("{base}/where")).send().await.unwrap();
    assert_eq!(again.status(), 200);
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    let first = ws.next().await.unwrap().unwrap();
    assert_eq!(first.into_text().unwrap().as_str(), "restohub-intake");
    stop.cancel();
    server.await.unwrap().unwrap();
}
