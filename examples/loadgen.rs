//! Load generator for restohub benchmarks (see BENCHMARKS.md). It measures;
//! it asserts nothing.
//!
//! Scenario `idle`: open N authenticated WebSocket sessions (spread over
//! loopback source addresses 127.0.0.1-127.0.0.250 so ports do not run out),
//! keep them alive (answering heartbeats), and report the hub's resident
//! memory before and after, per connection.
//!
//!     cargo run --release --example loadgen -- idle <hub url> <hub pid> <restaurant> <email> <password> <connections>

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use restohub_protocol::api::auth::{LoginRequest, Tokens};
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("idle") if args.len() == 7 => {
            idle(
                &args[1],
                args[2].parse()?,
                &args[3],
                &args[4],
                &args[5],
                args[6].parse()?,
            )
            .await
        }
        _ => {
            eprintln!("usage: loadgen idle <hub url> <hub pid> <restaurant> <email> <password> <connections>");
            std::process::exit(2);
        }
    }
}

/// Resident memory of a process, in bytes.
fn rss(pid: u32) -> Result<u64, Error> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .ok_or("no VmRSS")?
        .parse()?;
    Ok(kb * 1024)
}

async fn login(base: &str, restaurant: &str, email: &str, password: &str) -> Result<Tokens, Error> {
    let body = LoginRequest {
        restaurant: restaurant.into(),
        email: email.into(),
        password: password.into(),
    };
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&body)
        .send()
        .await?;
    if !res.status().is_success() {
        return Err(format!("login failed: {}", res.text().await?).into());
    }
    Ok(res.json().await?)
}

/// Connects from `source` and says hello; the returned task keeps the
/// session alive (reading answers the hub's pings) until aborted.
async fn screen(
    hub: SocketAddr,
    source: IpAddr,
    token: Arc<str>,
) -> Result<tokio::task::JoinHandle<()>, Error> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let tcp = socket.connect(hub).await?;
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{hub}/ws"), tcp).await?;
    ws.send(Message::text(format!(
        r#"{{"type":"hello","token":"{token}"}}"#
    )))
    .await?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.as_str().contains("\"welcome\"") => {}
        other => return Err(format!("no welcome: {other:?}").into()),
    }
    Ok(tokio::spawn(async move {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => {
                    eprintln!("screen closed by the hub: {frame:?}");
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    eprintln!("screen connection failed: {e}");
                    break;
                }
                None => break,
            }
        }
    }))
}

async fn idle(
    base: &str,
    pid: u32,
    restaurant: &str,
    email: &str,
    password: &str,
    n: usize,
) -> Result<(), Error> {
    let hub: SocketAddr = base.trim_start_matches("http://").parse()?;
    let token: Arc<str> = login(base, restaurant, email, password)
        .await?
        .access_token
        .into();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss(pid)?;
    let started = Instant::now();
    let handshakes = Arc::new(Semaphore::new(256));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let permit = handshakes.clone().acquire_owned().await?;
        let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (i % 250) as u8));
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let result = screen(hub, source, token).await;
            drop(permit);
            result
        }));
    }
    let mut alive = Vec::with_capacity(n);
    let mut failed = 0;
    for task in tasks {
        match task.await? {
            Ok(keeper) => alive.push(keeper),
            Err(e) => {
                failed += 1;
                if failed <= 3 {
                    eprintln!("connection failed: {e}");
                }
            }
        }
    }
    let connect_time = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss(pid)?;
    let per = (after.saturating_sub(before)) as f64 / alive.len().max(1) as f64;
    println!(
        "connections: {} open, {failed} failed, in {:.1} s",
        alive.len(),
        connect_time.as_secs_f64()
    );
    println!(
        "hub RSS: {:.1} MiB before, {:.1} MiB after",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0
    );
    println!("per connection: {:.0} bytes ({:.2} KiB)", per, per / 1024.0);
    for keeper in alive {
        keeper.abort();
    }
    Ok(())
}
