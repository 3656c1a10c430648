//! PostgreSQL going away under load: every request that fails because of it
//! is `503 UNAVAILABLE`, never `500 INTERNAL`, and the hub recovers when the
//! database is back.
//!
//! PostgreSQL only, by nature: the failure is a server shutting down under
//! open connections (`57P01 terminating connection due to administrator
//! command`); SQLite is a file inside the hub's own process. The test runs a
//! PostgreSQL server of its own (initdb and pg_ctl from
//! /usr/lib/postgresql/*/bin, on a free port, in a temporary directory), so
//! stopping it disturbs no other test.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::orders::floor;
use crate::support::*;

/// A PostgreSQL server of the test's own, stopped and removed when dropped.
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    pub fn start() -> PrivatePostgres {
        let bin = postgres_bin();
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if is_root() {
            // PostgreSQL refuses to run as root: hand the directory to the
            // postgres account and run its tools as that account.
            let (uid, gid) = postgres_account();
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let pg = PrivatePostgres { dir, bin, port };
        let data = pg.data().display().to_string();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        pg.resume();
        pg
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub(crate) fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts (again) and waits until it accepts connections.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        let data = self.data().display().to_string();
        self.run(
            "pg_ctl",
            &["-D", &data, "-o", &options, "-l", &log, "-w", "start"],
        );
    }

    /// A fast shutdown: open sessions are ended at once (57P01), as when
    /// an operator or an orchestrator stops the database.
    pub fn stop(&self) {
        let data = self.data().display().to_string();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let program = self.bin.join("pg_ctl");
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The newest installed PostgreSQL's programs.
fn postgres_bin() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .expect("PostgreSQL must be installed under /usr/lib/postgresql")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("initdb under /usr/lib/postgresql/*/bin")
        .1
}

pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

pub(crate) fn postgres_account() -> (u32, u32) {
    let name = std::ffi::CString::new("postgres").unwrap();
    // SAFETY: getpwnam returns null or a pointer to a static record read
    // here at once, in a test process that calls it from one place.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(!entry.is_null(), "running as root needs a postgres account");
    // SAFETY: checked non-null above.
    unsafe { ((*entry).pw_uid, (*entry).pw_gid) }
}

/// What the load saw: status and error code of every reply.
type Replies = Arc<std::sync::Mutex<Vec<(StatusCode, Value)>>>;
/// Set when the load should stop.
type Done = Arc<AtomicBool>;

/// Reads and writes, back to back, until `done`.
async fn keep_busy(app: Arc<TestApp>, token: String, body: Value, done: Done, seen: Replies) {
    let mut n = 0;
    while !done.load(Ordering::Relaxed) {
        n += 1;
        let reply = if n % 2 == 0 {
            app.get("/api/v1/menu/items", &token).await
        } else {
            let mut order = body.clone();
            order["idempotency_key"] = json!(format!("outage-{}", uuid::Uuid::new_v4()));
            app.post("/api/v1/orders", Some(&token), order).await
        };
        seen.lock().unwrap().push(reply);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_during_a_postgres_shutdown_are_unavailable_never_internal() {
    let pg = PrivatePostgres::start();
    let app = TestApp::spawn_on_postgres(&pg.url(), &["--db-max-connections", "4"]).await;
    let app = Arc::new(app);
    let f = floor(&app, "bistro").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let order = json!({ "table_id": f.t1, "source": "dine_in",
                        "lines": [{ "menu_item_id": f.bread, "qty": 1 }] });

    let seen: Replies = Arc::default();
    let done: Done = Arc::default();
    let load: Vec<_> = (0..6)
        .map(|_| {
            let (app, waiter, order) = (app.clone(), waiter.clone(), order.clone());
            tokio::spawn(keep_busy(app, waiter, order, done.clone(), seen.clone()))
        })
        .collect();
    // The database stops while the load runs.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let pg = tokio::task::spawn_blocking(move || {
        pg.stop();
        pg
    })
    .await
    .unwrap();
    // The load goes on a little past the stop: requests then fail too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    done.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    // And a request after it has gone.
    let after = app.get("/api/v1/menu/items", &waiter).await;
    assert_error(&after, StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE");

    let replies = seen.lock().unwrap().clone();
    let failed: Vec<_> = replies.iter().filter(|(s, _)| !s.is_success()).collect();
    assert!(
        !failed.is_empty(),
        "no request failed: the database stopped too late"
    );
    for (status, body) in &failed {
        assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["error"]["code"], "UNAVAILABLE", "{body}");
    }

    // The database is back: so is the hub, on the same pool.
    let _pg = tokio::task::spawn_blocking(move || {
        pg.resume();
        pg
    })
    .await
    .unwrap();
    let mut recovered = false;
    for _ in 0..50 {
        if app.get("/api/v1/menu/items", &waiter).await.0 == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the hub did not recover with the database");
}
