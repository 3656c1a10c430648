//! `restohub check-config` (and `--check-config`): one line per check,
//! exit 0 when all pass, non-zero naming what failed.

use std::process::Output;

use crate::cli::{restohub, stderr};
use crate::support::*;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_good_configuration_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = restohub(dir.path()).arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for how in [&["check-config"][..], &["--check-config"][..]] {
        let out = restohub(dir.path())
            .env("REDIS_URL", "redis://127.0.0.1:6379")
            .args(how)
            .output()
            .unwrap();
        let printed = stdout(&out);
        assert!(out.status.success(), "{how:?}: {printed}{}", stderr(&out));
        for line in [
            "ok    settings",
            "ok    data dir",
            "ok    database: SQLite",
            "all 12 migrations applied",
            "ok    redis: reachable",
            "ok    listen",
            "all checks passed",
        ] {
            assert!(printed.contains(line), "{how:?}: no {line:?} in {printed}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_postgres_database_is_reachable_with_migrations_pending() {
    let db = TestDb::new(Backend::Postgres).await;
    let url = db.database_url().unwrap();
    let dir = db.dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        restohub(&dir)
            .env("DATABASE_URL", url)
            .arg("check-config")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let printed = stdout(&out);
    assert!(out.status.success(), "{printed}{}", stderr(&out));
    assert!(
        printed.contains("ok    database: PostgreSQL reachable, 15 migration(s) pending"),
        "{printed}"
    );
}

#[test]
fn an_unreachable_redis_fails_naming_redis() {
    let dir = tempfile::tempdir().unwrap();
    let out = restohub(dir.path())
        .env("REDIS_URL", format!("redis://127.0.0.1:{}", free_port()))
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let printed = stdout(&out);
    assert!(
        printed.contains("FAIL  redis: cannot reach Redis"),
        "{printed}"
    );
    assert!(printed.contains("ok    database"), "{printed}");
    assert!(
        stderr(&out).contains("1 check(s) failed: redis"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_database_url_fails() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens there.
    let url = format!("postgres://postgres@127.0.0.1:{}/restohub", free_port());
    let out = restohub(dir.path())
        .env("DATABASE_URL", &url)
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).contains("FAIL  database: PostgreSQL"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("failed: database"),
        "{}",
        stderr(&out)
    );
    // Not a PostgreSQL URL at all: refused with the settings' one line.
    let out = restohub(dir.path())
        .env("DATABASE_URL", "mysql://db/restohub")
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("must start with postgres://"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_taken_listen_address_and_a_read_only_data_dir_fail() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let blocked = dir.path().join("file");
    std::fs::write(&blocked, b"not a directory").unwrap();
    let out = restohub(&blocked.join("data"))
        .env("RESTOHUB_LISTEN", &addr)
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let printed = stdout(&out);
    assert!(
        printed.contains(&format!("FAIL  listen: cannot listen on {addr}")),
        "{printed}"
    );
    assert!(printed.contains("FAIL  data dir"), "{printed}");
    assert!(
        stderr(&out).contains("data dir, database, listen") || stderr(&out).contains("data dir"),
        "{}",
        stderr(&out)
    );
}
