//! Hub instances on a Redis Cluster this test owns (three masters, sharded
//! pub/sub): every screen gets every event once and in order through the
//! cluster, and losing a master while orders flow makes its shards' events
//! late (read from the log), never lost.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use restohub::node::redis_cluster::{event_channel, presence_channel, shard_of, SHARDS};
use serde_json::{json, Value};

use crate::health::wait_until_ready;
use crate::orders::{floor, Floor};
use crate::scale::{collect, expo, place};
use crate::support::*;
use crate::ws_client::WsClient;

/// One master of the private cluster.
struct Master {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Master {
    fn start(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes"])
            .args(["--cluster-config-file", "nodes.conf"])
            .args(["--cluster-node-timeout", "2000"])
            // The masters still up keep serving their slots while one is
            // lost; the hub reads the lost shards' events from the log.
            .args(["--cluster-require-full-coverage", "no"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed for the cluster tests");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli must be installed for the cluster tests");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Three masters without replicas on free ports, each in its own
/// directory, stopped when dropped.
struct PrivateCluster {
    masters: Vec<Master>,
    _dir: tempfile::TempDir,
}

impl PrivateCluster {
    fn start() -> PrivateCluster {
        let dir = tempfile::tempdir().unwrap();
        let mut masters = Vec::new();
        for n in 0..3 {
            let path = dir.path().join(format!("master-{n}"));
            std::fs::create_dir(&path).unwrap();
            masters.push(Master {
                port: free_cluster_port(),
                dir: path,
                child: None,
            });
        }
        for master in &mut masters {
            master.start();
        }
        let addresses: Vec<String> = masters
            .iter()
            .map(|m| format!("127.0.0.1:{}", m.port))
            .collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli must be installed for the cluster tests");
        assert!(
            created.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        let cluster = PrivateCluster { masters, _dir: dir };
        for n in 0..3 {
            cluster.wait_until_ok(n);
        }
        cluster
    }

    /// Every master as a seed, the way an operator would list them.
    fn url(&self) -> String {
        self.masters
            .iter()
            .map(|m| format!("redis://127.0.0.1:{}", m.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn wait_until_ok(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.masters[n]
            .cli(&["cluster", "info"])
            .contains("cluster_state:ok")
        {
            assert!(Instant::now() < deadline, "the cluster never became ok");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The master that serves `shard`: the one that answers for a key in
    /// the shard's slot instead of redirecting.
    fn owner_of(&self, shard: u16) -> usize {
        let key = event_channel(shard);
        (0..3)
            .find(|&n| !self.masters[n].cli(&["exists", &key]).contains("MOVED"))
            .expect("some master serves every slot")
    }

    /// Subscribers of shard `shard`'s channels on master `n`.
    fn subscribers(&self, n: usize, shard: u16) -> Vec<i64> {
        let (events, presence) = (event_channel(shard), presence_channel(shard));
        let out = self.masters[n].cli(&["pubsub", "shardnumsub", &events, &presence]);
        let lines: Vec<&str> = out.lines().collect();
        vec![
            lines.get(1).and_then(|l| l.parse().ok()).unwrap_or(-1),
            lines.get(3).and_then(|l| l.parse().ok()).unwrap_or(-1),
        ]
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        for master in &mut self.masters {
            master.stop();
        }
    }
}

/// A free port whose cluster bus port (10000 above it) is free too.
fn free_cluster_port() -> u16 {
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if port < 55_000 && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

async fn instances(cluster: &PrivateCluster, n: usize, poll_ms: &str) -> Vec<Arc<TestApp>> {
    let url = cluster.url();
    let args = [
        "--redis-cluster",
        "--redis-url",
        url.as_str(),
        "--event-poll-ms",
        poll_ms,
        "--account-write-rate-limit",
        "0",
        "--restaurant-write-rate-limit",
        "0",
    ];
    let first = TestApp::spawn_with(Backend::Postgres, &args).await;
    let mut all = Vec::new();
    for _ in 1..n {
        all.push(Arc::new(first.sibling_with(&args).await));
    }
    all.insert(0, Arc::new(first));
    for app in &all {
        wait_until_ready(app).await;
    }
    all
}

#[test]
fn shard_channels_spread_over_three_masters() {
    let cluster = PrivateCluster::start();
    let mut per_master = [0; 3];
    for shard in 0..SHARDS {
        per_master[cluster.owner_of(shard)] += 1;
    }
    assert!(
        per_master.iter().all(|&n| n >= 3),
        "shards per master: {per_master:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_deliver_every_event_once_in_order_through_the_cluster() {
    let cluster = PrivateCluster::start();
    // The log poller waits a minute: whatever reaches a screen within the
    // test came through the cluster.
    let apps = instances(&cluster, 3, "60000").await;
    let mut floors: Vec<Arc<Floor>> = Vec::new();
    for name in ["north", "south", "east", "west"] {
        floors.push(Arc::new(floor(&apps[0], name).await));
    }
    let owners: std::collections::BTreeSet<usize> = floors
        .iter()
        .map(|f| cluster.owner_of(shard_of(f.t.id)))
        .collect();
    assert!(owners.len() >= 2, "the restaurants all share one master");
    let mut screens = Vec::new();
    let mut waiters = Vec::new();
    for f in &floors {
        let (_, chef) = apps[0].staff(&f.t, "chef").await;
        let mut on_each = Vec::new();
        for app in &apps {
            on_each.push(expo(app, &chef).await);
        }
        screens.push(on_each);
        waiters.push(apps[0].staff(&f.t, "waiter").await.1);
    }
    const ORDERS: usize = 120;
    let mut tasks = Vec::new();
    for (r, f) in floors.iter().enumerate() {
        let floor_of = f.clone();
        let waiter = waiters[r].clone();
        let app = apps[r % 3].clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..ORDERS {
                let status = place(&app, &floor_of, &waiter, format!("o{n}")).await;
                assert_eq!(status, StatusCode::CREATED);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for (r, on_each) in screens.iter_mut().enumerate() {
        let mut lists = Vec::new();
        for (ws, start) in on_each.iter_mut() {
            lists.push(collect(ws, *start, "order.placed", ORDERS).await);
        }
        assert_eq!(lists[0], lists[1], "restaurant {r}: screens 1 and 2 differ");
        assert_eq!(lists[0], lists[2], "restaurant {r}: screens 1 and 3 differ");
        for (ws, _) in on_each.iter_mut() {
            ws.assert_alive().await;
            assert!(
                ws.pending_events_of("order.placed").is_empty(),
                "a duplicate arrived"
            );
        }
    }
}

/// /health/ready until `ok` says whether the Redis component is up.
async fn wait_for_redis(app: &TestApp, up: bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = app
            .call(reqwest::Method::GET, "/health/ready", None, None)
            .await;
        let redis_up = body["components"]["redis"]["status"] == "up";
        if redis_up == up {
            let expected = if up {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            assert_eq!(status, expected, "{body}");
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "redis never became {}: {body}",
            if up { "up" } else { "down" }
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_a_master_delays_but_loses_nothing() {
    let mut cluster = PrivateCluster::start();
    let apps = instances(&cluster, 3, "200").await;
    let f = floor(&apps[0], "chain").await;
    let shard = shard_of(f.t.id);
    let lost = cluster.owner_of(shard);
    let (_, chef) = apps[0].staff(&f.t, "chef").await;
    let (_, waiter) = apps[0].staff(&f.t, "waiter").await;
    let mut screens = Vec::new();
    for app in &apps {
        screens.push(expo(app, &chef).await);
    }
    assert_eq!(cluster.subscribers(lost, shard), vec![3, 3]);

    let mut placed = 0;
    for n in 0..10 {
        assert_eq!(
            place(&apps[n % 2], &f, &waiter, format!("before-{n}")).await,
            StatusCode::CREATED
        );
        placed += 1;
    }
    cluster.masters[lost].stop();
    // Every instance says which part of the cluster it lost.
    for app in &apps {
        let body = wait_for_redis(app, false).await;
        let why = body["components"]["redis"]["error"].as_str().unwrap();
        assert!(why.contains("of 16 shard channels"), "{why}");
        assert!(
            why.contains(&cluster.masters[lost].port.to_string()),
            "{why}"
        );
    }
    // Orders keep being accepted for a few seconds without the master.
    for n in 0..20 {
        assert_eq!(
            place(&apps[n % 2], &f, &waiter, format!("during-{n}")).await,
            StatusCode::CREATED
        );
        placed += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The master comes back with its nodes.conf; every instance
    // resubscribes on it and is ready again.
    cluster.masters[lost].start();
    cluster.wait_until_ok(lost);
    for app in &apps {
        wait_for_redis(app, true).await;
    }
    assert_eq!(cluster.subscribers(lost, shard), vec![3, 3]);
    for n in 0..10 {
        assert_eq!(
            place(&apps[n % 2], &f, &waiter, format!("after-{n}")).await,
            StatusCode::CREATED
        );
        placed += 1;
    }
    let mut lists = Vec::new();
    for (ws, start) in screens.iter_mut() {
        lists.push(collect(ws, *start, "order.placed", placed).await);
        ws.assert_alive().await;
        assert!(
            ws.pending_events_of("order.placed").is_empty(),
            "a duplicate arrived"
        );
    }
    assert_eq!(lists[0], lists[1]);
    assert_eq!(lists[0], lists[2]);
    assert_eq!(
        apps[0].store.order_count(f.t.id).await.unwrap(),
        placed as i64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_spans_instances_through_the_cluster() {
    let cluster = PrivateCluster::start();
    let apps = instances(&cluster, 2, "200").await;
    let f = floor(&apps[0], "chain").await;
    let kitchen = format!("kitchen:{}", f.t.id);
    let (mut manager, _) = WsClient::join(&apps[0], &f.t.owner).await;
    let before = manager
        .command(json!({ "type": "presence", "room": kitchen }))
        .await;
    assert_eq!(before["members"], json!([]), "{before}");

    // A kitchen screen comes online on the other instance.
    let (_, chef) = apps[0].staff(&f.t, "chef").await;
    let (screen, welcome) = WsClient::join(&apps[1], &chef).await;
    let session = welcome["session_id"].clone();
    let room = kitchen.clone();
    let joined = manager
        .next_matching(move |f| f["type"] == "presence.joined" && f["room"] == room.as_str())
        .await;
    assert_eq!(joined["member"]["session_id"], session);
    let now = manager
        .command(json!({ "type": "presence", "room": kitchen }))
        .await;
    let ids: Vec<&Value> = now["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["session_id"])
        .collect();
    assert_eq!(ids, [&session], "{now}");

    // It closes: the manager is told, and the list is empty again.
    drop(screen);
    let room = kitchen.clone();
    let left = manager
        .next_matching(move |f| f["type"] == "presence.left" && f["room"] == room.as_str())
        .await;
    assert_eq!(left["member"]["session_id"], session);
    let after = manager
        .command(json!({ "type": "presence", "room": kitchen }))
        .await;
    assert_eq!(after["members"], json!([]), "{after}");
}
