//! The PostgreSQL runbook (docs/OPERATIONS.md, Backups) as a test: a
//! `pg_dump` of a database a hub has written (orders, events, a payment),
//! restored with `pg_restore` into a fresh database, serves every order,
//! check and event as it was, with the same seq numbers.

use std::path::PathBuf;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::json;

use crate::backup::{history, owner_token, place};
use crate::orders::floor;
use crate::support::*;

/// The newest installed PostgreSQL's client programs (pg_dump must be at
/// least the server's version).
fn postgres_tool(name: &str) -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL must be installed under /usr/lib/postgresql")
        .map(|e| e.unwrap().path())
        .collect();
    versions.sort_by_key(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
    });
    let tool = versions
        .last()
        .expect("a PostgreSQL version")
        .join("bin")
        .join(name);
    assert!(tool.exists(), "{} is missing", tool.display());
    tool
}

fn run(tool: &str, args: &[&str]) {
    let out = Command::new(postgres_tool(tool))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    assert!(
        out.status.success(),
        "{tool} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pg_dump_restored_into_a_fresh_database_serves_everything() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let f = floor(&app, "bistro").await;
    let owner = &f.t.owner;
    let mut orders = Vec::new();
    for n in 0..4 {
        let reply = place(&app, owner, &format!("o{n}"), f.t2, f.bread).await;
        orders.push(reply["order"]["id"].as_i64().unwrap());
    }
    // The table's check (its four orders) paid by card with a tip.
    let (status, check) = app
        .post("/api/v1/checks", Some(owner), json!({ "table_id": f.t2 }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{check}");
    let check_id = check["id"].as_i64().unwrap();
    let due = check["total_cents"].as_i64().unwrap();
    let (status, paid) = app
        .post(
            &format!("/api/v1/checks/{check_id}/payments"),
            Some(owner),
            json!({ "idempotency_key": "pay-1", "method": "card", "amount_cents": due, "tip_cents": 100 }),
        )
        .await;
    assert!(status.is_success(), "{paid}");
    let events = history(&app, owner).await;
    assert!(events.iter().any(|e| e["kind"] == "order.placed"));

    // The runbook: pg_dump -Fc, a new database, pg_restore.
    let dump_dir = tempfile::tempdir().unwrap();
    let dump = dump_dir.path().join("bistro.dump");
    let source = app.db.database_url().unwrap();
    run(
        "pg_dump",
        &["-Fc", "-f", dump.to_str().unwrap(), "-d", &source],
    );
    let fresh = TestDb::new(Backend::Postgres).await;
    let target = fresh.database_url().unwrap();
    run(
        "pg_restore",
        &[
            "--no-owner",
            "--exit-on-error",
            "-d",
            &target,
            dump.to_str().unwrap(),
        ],
    );

    let copy = TestApp::start_on(fresh).await;
    let token = owner_token(&copy, "bistro").await;
    for id in &orders {
        let path = format!("/api/v1/orders/{id}");
        let (status, restored) = copy.get(&path, &token).await;
        assert_eq!(status, StatusCode::OK, "{restored}");
        assert_eq!(restored, app.get(&path, owner).await.1, "order {id}");
    }
    let path = format!("/api/v1/checks/{check_id}");
    let (status, restored) = copy.get(&path, &token).await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert_eq!(restored, app.get(&path, owner).await.1);
    assert_eq!(
        restored["payments"].as_array().map(Vec::len),
        Some(1),
        "{restored}"
    );
    // The same log, seq for seq, and it continues where it stopped.
    assert_eq!(history(&copy, &token).await, events);
    let next = place(&copy, &token, "after-restore", f.t2, f.bread).await;
    let last = events.last().unwrap()["seq"].as_u64().unwrap();
    assert!(
        next["order"]["placed_seq"].as_u64().unwrap() > last,
        "{next}"
    );
}
