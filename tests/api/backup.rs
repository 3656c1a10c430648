//! Backups of the SQLite file while a hub serves and writes, their restore
//! (and its refusals), and scheduled backups. The commands run as the real
//! binary, as an operator would run them.

use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::cli::{restohub, stderr};
use crate::orders::floor;
use crate::support::*;
use crate::ws_client::WsClient;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the binary on `data_dir` with `args`, off the async workers.
async fn run(data_dir: &Path, args: &[&str]) -> Output {
    let mut cmd = restohub(data_dir);
    cmd.args(args);
    tokio::task::spawn_blocking(move || cmd.output().expect("run restohub"))
        .await
        .unwrap()
}

/// Places one order for bread (never out of stock) at `table`; its reply.
pub async fn place(app: &TestApp, token: &str, key: &str, table: i64, item: i64) -> Value {
    let body = json!({ "idempotency_key": key, "table_id": table, "source": "dine_in",
                       "lines": [{ "menu_item_id": item, "qty": 1 }] });
    let (status, reply) = app.post("/api/v1/orders", Some(token), body).await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    reply
}

/// Every event of the restaurant `token` belongs to, as a screen resuming
/// from seq 0 receives them: checks the chain has no gap and returns them.
pub async fn history(app: &TestApp, token: &str) -> Vec<Value> {
    let mut ws = WsClient::connect(app).await;
    ws.send(json!({ "type": "hello", "token": token, "since": 0 }))
        .await;
    let mut events = Vec::new();
    let mut last = 0;
    loop {
        let frame = ws.recv().await;
        match frame["type"].as_str() {
            Some("event") => {
                assert_eq!(frame["prev"].as_u64(), Some(last), "gap before {frame}");
                last = frame["seq"].as_u64().unwrap();
                events.push(frame);
            }
            Some("resumed") => return events,
            Some("welcome") => assert_eq!(frame["resync_required"], false, "{frame}"),
            _ => {}
        }
    }
}

/// The owner of `slug` logged in to `app`.
pub async fn owner_token(app: &TestApp, slug: &str) -> String {
    let (status, body) = app
        .login(slug, &format!("owner@{slug}.test"), PASSWORD)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    token_of(&body)
}

/// The placed orders' ids among `events`.
fn placed_orders(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .filter(|e| e["kind"] == "order.placed")
        .map(|e| e["data"]["id"].as_i64().unwrap())
        .collect()
}

const UNLIMITED: [&str; 4] = [
    "--account-write-rate-limit",
    "0",
    "--restaurant-write-rate-limit",
    "0",
];

/// A backup taken while orders are being placed holds every order (and its
/// events) acknowledged before the backup began, passes SQLite's integrity
/// check, and a hub started on its restore serves all of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_every_acknowledged_order() {
    let app = Arc::new(TestApp::spawn_with(Backend::Sqlite, &UNLIMITED).await);
    let f = floor(&app, "bistro").await;
    let acked: Arc<Mutex<Vec<i64>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (app, acked, stop, token) =
            (app.clone(), acked.clone(), stop.clone(), f.t.owner.clone());
        let (table, bread) = (f.t2, f.bread);
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let reply = place(&app, &token, &format!("load-{n}"), table, bread).await;
                acked
                    .lock()
                    .unwrap()
                    .push(reply["order"]["id"].as_i64().unwrap());
                n += 1;
            }
        })
    };
    while acked.lock().unwrap().len() < 20 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before: Vec<i64> = acked.lock().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bistro.db");
    let out = run(
        app.db.dir.path(),
        &["backup", "--to", file.to_str().unwrap()],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    // Orders kept coming while the copy was taken.
    let during = acked.lock().unwrap().len();
    while acked.lock().unwrap().len() < during + 5 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    load.await.unwrap();
    let printed = stdout(&out);
    assert!(printed.contains("integrity: ok"), "{printed}");
    assert!(printed.contains("schema: migration"), "{printed}");
    let orders_line = printed
        .lines()
        .find(|l| l.starts_with("rows:"))
        .unwrap_or_else(|| panic!("no row counts: {printed}"));
    let copied: usize = orders_line
        .split(", ")
        .find_map(|part| part.trim_start_matches("rows: ").strip_prefix("orders "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        copied >= before.len(),
        "{copied} < {}: {printed}",
        before.len()
    );
    assert!(
        !dir.path().join("bistro.db-wal").exists(),
        "a backup is one file"
    );

    // `backup --verify` says the same of the file.
    let out = run(dir.path(), &["backup", "--verify", file.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(orders_line), "{}", stdout(&out));

    // Restored into a new data directory and served.
    let restored = TestDb::new(Backend::Sqlite).await;
    let out = run(
        restored.dir.path(),
        &["restore", "--from", file.to_str().unwrap()],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("integrity: ok"), "{}", stdout(&out));
    let copy = TestApp::start_on(restored).await;
    let token = owner_token(&copy, "bistro").await;
    for id in &before {
        let path = format!("/api/v1/orders/{id}");
        let (status, order) = copy.get(&path, &token).await;
        assert_eq!(status, StatusCode::OK, "order {id} lost: {order}");
        assert_eq!(order, app.get(&path, &f.t.owner).await.1, "order {id}");
    }
    // Every acknowledged order's events are there, in a gap-free log that
    // matches the original's seq for seq.
    let events = history(&copy, &token).await;
    let placed = placed_orders(&events);
    for id in &before {
        assert!(placed.contains(id), "order.placed of {id} missing");
    }
    let original = history(&app, &f.t.owner).await;
    assert_eq!(events[..], original[..events.len()]);
}

/// Restore refuses a live database, an existing one without --force, and
/// files that are not intact restohub databases, each with a clear line,
/// and changes nothing when it refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_what_it_must() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let f = floor(&app, "bistro").await;
    place(&app, &f.t.owner, "one", f.t2, f.bread).await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.db");
    let out = run(
        app.db.dir.path(),
        &["backup", "--to", good.to_str().unwrap()],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    // A backup never overwrites a file.
    let again = run(
        app.db.dir.path(),
        &["backup", "--to", good.to_str().unwrap()],
    )
    .await;
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );

    // Over the database the hub is serving: refused even with --force.
    let live = app.db.dir.path().join("restohub.db");
    // The file's identity: a restore would have renamed another over it
    // (its size may change meanwhile, as the hub checkpoints its log).
    let inode = |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    let before = inode(&live);
    let out = run(
        app.db.dir.path(),
        &["restore", "--force", "--from", good.to_str().unwrap()],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("in use by a running hub"),
        "{}",
        stderr(&out)
    );
    assert_eq!(inode(&live), before, "the live database was replaced");
    assert!(app.get("/api/v1/stations", &f.t.owner).await.0.is_success());

    // Over an existing (stopped) database: only with --force.
    let target = tempfile::tempdir().unwrap();
    let from = good.to_str().unwrap();
    let out = run(target.path(), &["restore", "--from", from]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(target.path(), &["restore", "--from", from]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("pass --force"), "{}", stderr(&out));
    let out = run(target.path(), &["restore", "--force", "--from", from]).await;
    assert!(out.status.success(), "{}", stderr(&out));

    // Not a database; a database that is not restohub's; a damaged copy.
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x42u8; 8192]).unwrap();
    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');")
        .unwrap();
    let damaged = dir.path().join("damaged.db");
    let mut bytes = std::fs::read(&good).unwrap();
    // Scribble over the pages past the first (the schema stays readable).
    for b in bytes.iter_mut().skip(4096 * 3).step_by(7) {
        *b = 0xA5;
    }
    std::fs::write(&damaged, bytes).unwrap();
    // A backup from a newer restohub (a migration this one lacks).
    let newer = dir.path().join("newer.db");
    std::fs::copy(&good, &newer).unwrap();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (99990101, 'from the future', 1, x'00', 0)",
        )
        .unwrap();
    let fresh = tempfile::tempdir().unwrap();
    for (file, message) in [
        (&newer, "newer than this restohub knows"),
        (&garbage, "is not a SQLite database"),
        (&foreign, "is not a restohub database"),
        (&damaged, "integrity"),
    ] {
        let out = run(fresh.path(), &["restore", "--from", file.to_str().unwrap()]).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{file:?}: {}", stdout(&out));
        assert!(
            err.contains("not restored") && err.contains(message),
            "{file:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            !fresh.path().join("restohub.db").exists(),
            "{file:?} left a database"
        );
        let out = run(
            fresh.path(),
            &["backup", "--verify", file.to_str().unwrap()],
        )
        .await;
        assert_eq!(out.status.code(), Some(2), "{file:?}");
    }
}

/// Scheduled backups: taken every period while serving, each a verified
/// copy, only the newest N kept; a failing run leaves the hub serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_keep_the_newest_n() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            "--backup-every",
            "150ms",
            "--backup-keep",
            "2",
            "--backup-dir",
            backups.to_str().unwrap(),
        ],
    )
    .await;
    let f = floor(&app, "bistro").await;
    place(&app, &f.t.owner, "one", f.t2, f.bread).await;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        if let Ok(entries) = std::fs::read_dir(&backups) {
            seen.extend(
                entries
                    .map(|e| e.unwrap().file_name())
                    .filter(|n| !n.to_string_lossy().contains(".partial-")),
            );
        }
        if seen.len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen.len() >= 5, "only {seen:?} after 10 s");
    // Once the hub has stopped (a run in flight finishes its pruning),
    // exactly the newest two remain, and no partial file.
    let mut app = app;
    app.shut_down();
    let mut kept = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut now: Vec<_> = std::fs::read_dir(&backups)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        now.sort();
        if now == kept {
            break;
        }
        kept = now;
    }
    assert_eq!(kept.len(), 2, "{kept:?}");
    let names: Vec<_> = kept
        .iter()
        .map(|p| p.file_name().unwrap().to_owned())
        .collect();
    let newest: Vec<_> = seen.iter().rev().take(2).rev().cloned().collect();
    assert!(
        names >= newest,
        "kept {names:?}, not the newest of {seen:?}"
    );
    for file in &kept {
        let verified = restohub::ops::backup::verify(file).unwrap();
        assert_eq!(verified.rows_in("orders"), Some(1), "{file:?}");
    }

    // A backup directory that cannot be created: each run fails, is
    // logged, and the hub keeps serving.
    let blocked = dir.path().join("not-a-dir");
    std::fs::write(&blocked, b"a file").unwrap();
    let failing = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            "--backup-every",
            "100ms",
            "--backup-dir",
            blocked.join("x").to_str().unwrap(),
        ],
    )
    .await;
    let t = failing.tenant("cafe").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(failing
        .get("/api/v1/stations", &t.owner)
        .await
        .0
        .is_success());
}

/// The file commands name PostgreSQL's own tools instead.
#[test]
fn postgres_backups_are_pointed_at_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["backup", "--to", "x.db"][..],
        &["restore", "--from", "x.db"][..],
        &["--backup-every", "1h"][..],
    ] {
        let out = restohub(dir.path())
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains("pg_dump") && err.contains("docs/OPERATIONS.md"),
            "{args:?}: {err}"
        );
    }
}
