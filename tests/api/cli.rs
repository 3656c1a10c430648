//! The binary itself: --help, production refusals, migrate, create-owner.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

use crate::support::*;

const BIN: &str = env!("CARGO_BIN_EXE_restohub");
const STRONG: &str = "0123456789abcdef0123456789abcdef-strong";

/// The binary with a clean environment (nothing of the developer's leaks in).
pub(crate) fn restohub(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("RESTOHUB_LISTEN", "127.0.0.1:0")
        .env("RESTOHUB_DATA_DIR", data_dir)
        .stdin(Stdio::null());
    cmd
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn help_documents_every_setting() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--listen",
        "RESTOHUB_LISTEN",
        "--data-dir",
        "RESTOHUB_DATA_DIR",
        "--database-url",
        "DATABASE_URL",
        "--redis-url",
        "REDIS_URL",
        "RESTOHUB_JWT_SECRET",
        "RESTOHUB_ENV",
        "RESTOHUB_ALLOWED_ORIGINS",
        "--log-format",
        "create-owner",
        "demo",
        "migrate",
        "audit",
        "--audit-retention-days",
        "RESTOHUB_AUDIT_RETENTION_DAYS",
        "backup",
        "restore",
        "check-config",
        "--backup-every",
        "RESTOHUB_BACKUP_KEEP",
    ] {
        assert!(
            help.contains(needle),
            "--help does not mention {needle}:\n{help}"
        );
    }
}

#[test]
fn production_refuses_unsafe_settings_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    type Env<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Env, &[&str], &str); 5] = [
        (&[], &[], "RESTOHUB_JWT_SECRET is not set"),
        (
            &[("RESTOHUB_JWT_SECRET", "too-short")],
            &[],
            "shorter than 32 bytes",
        ),
        (
            &[
                ("RESTOHUB_JWT_SECRET", STRONG),
                ("RESTOHUB_ALLOWED_ORIGINS", "*"),
            ],
            &[],
            "may not be \"*\"",
        ),
        (
            &[
                ("RESTOHUB_JWT_SECRET", STRONG),
                ("RESTOHUB_ALLOWED_ORIGINS", "http://pos.example.com"),
            ],
            &[],
            "production needs https",
        ),
        (
            &[("RESTOHUB_JWT_SECRET", STRONG)],
            &["demo"],
            "refusing to create it in production",
        ),
    ];
    for (env, args, message) in cases {
        let out = restohub(dir.path())
            .env("RESTOHUB_ENV", "production")
            .envs(env.iter().copied())
            .args(args)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{env:?} {args:?}: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "expected one line, got: {err}");
        assert!(
            lines[0].starts_with("restohub: error:") && lines[0].contains(message),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    // The secret never appears in what is printed.
    let out = restohub(dir.path())
        .env("RESTOHUB_ENV", "production")
        .env("RESTOHUB_JWT_SECRET", "short-secret-value")
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("short-secret-value"));
}

/// Starts the binary and waits for its "listening" log line.
fn start_and_wait(mut cmd: Command) -> std::process::Child {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut listening = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.contains("restohub listening") {
            listening = true;
            break;
        }
    }
    assert!(listening, "the hub exited without listening");
    child
}

#[test]
fn production_starts_with_a_strong_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = restohub(dir.path());
    cmd.env("RESTOHUB_ENV", "production")
        .env("RESTOHUB_JWT_SECRET", STRONG)
        .env("RESTOHUB_LOG_FORMAT", "json");
    let mut child = start_and_wait(cmd);
    child.kill().unwrap();
    child.wait().unwrap();
    // No development secret was written: production uses the configured one.
    assert!(!dir.path().join("jwt-secret").exists());
}

#[test]
fn development_generates_and_keeps_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let out = restohub(dir.path()).arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut child = start_and_wait(restohub(dir.path()));
    child.kill().unwrap();
    child.wait().unwrap();
    let secret = std::fs::read_to_string(dir.path().join("jwt-secret")).unwrap();
    assert!(secret.len() >= 32);
    let mut child = start_and_wait(restohub(dir.path()));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("jwt-secret")).unwrap(),
        secret
    );
}

/// The README's first command: a demo restaurant one can log in to and
/// whose menu one can list.
#[tokio::test]
async fn demo_serves_a_restaurant_to_log_in_to() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = restohub(dir.path())
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut printed = String::new();
    let mut base = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if let Some(rest) = line.split("ready at ").nth(1) {
            base = Some(rest.trim().to_owned());
        }
        if line.contains("restohub listening") {
            break;
        }
    }
    let base = base.unwrap_or_else(|| panic!("no URL printed:\n{printed}"));
    for role in ["owner", "manager", "waiter", "chef", "cashier"] {
        assert!(
            printed.contains(&format!("{role}@demo.restohub")),
            "{printed}"
        );
    }
    let http = reqwest::Client::new();
    let login = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "restaurant": "demo", "email": "waiter@demo.restohub", "password": "restohub-demo" }))
        .send()
        .await
        .unwrap();
    let (status, tokens) = read(login).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{tokens}");
    let menu = http
        .get(format!("{base}/api/v1/menu/items"))
        .bearer_auth(token_of(&tokens))
        .send()
        .await
        .unwrap();
    let (status, menu) = read(menu).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let items = menu["items"].as_array().unwrap();
    assert!(items.len() >= 10, "{menu}");
    assert!(
        items.iter().any(|i| i["stock"].as_i64().is_some()),
        "some stock is tracked"
    );
    // The burger shows choices (a required doneness, optional extras) and
    // allergens, for the kitchen display and guests to draw.
    let burger = items.iter().find(|i| i["name"] == "Cheeseburger").unwrap();
    let groups: Vec<(&Value, &Value)> = burger["modifier_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (&g["name"], &g["required"]))
        .collect();
    assert_eq!(
        groups,
        [
            (&json!("Doneness"), &json!(true)),
            (&json!("Extras"), &json!(false))
        ]
    );
    assert!(burger["allergens"]
        .as_array()
        .unwrap()
        .contains(&json!("gluten")));
    // A table code printed by the demo opens a guest session.
    let code = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("T1 ").map(|c| c.trim().to_owned()))
        .expect("T1 code printed");
    let guest = http
        .post(format!("{base}/api/v1/guest-sessions"))
        .json(&serde_json::json!({ "table_code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(guest.status(), reqwest::StatusCode::CREATED);
    // It prints the pages' addresses, and each is a page the hub serves:
    // sign-in, every station's display, expo, waiter, dashboard, and a
    // guest page per table.
    let pages: Vec<&str> = printed
        .split_whitespace()
        .filter(|word| word.starts_with(&format!("{base}/")))
        .filter(|word| !word.contains("/api/"))
        .collect();
    for path in [
        "/",
        "/kds",
        "/kds?station=1",
        "/expo",
        "/waiter",
        "/dashboard",
    ] {
        assert!(
            pages.contains(&format!("{base}{path}").as_str()),
            "{path} not printed:\n{printed}"
        );
    }
    assert!(
        pages.contains(&format!("{base}/t/{code}").as_str()),
        "T1's page not printed:\n{printed}"
    );
    for page in pages {
        let res = http.get(page).send().await.unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::OK, "{page}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{page}"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `migrate` and `create-owner` through the binary, then log in to a hub on
/// the same database.
async fn create_owner_bootstraps_a_restaurant(backend: Backend) {
    let db = TestDb::new(backend).await;
    let cli = |args: &[&str]| {
        let mut cmd = restohub(db.dir.path());
        if let Some(url) = db.database_url() {
            cmd.env("DATABASE_URL", url);
        }
        cmd.args(args).output().unwrap()
    };
    let out = cli(&["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let create = [
        "create-owner",
        "--restaurant",
        "Chez Test",
        "--email",
        "Boss@Chez.test",
        "--password",
        "owner password 1",
        "--timezone",
        "Europe/Rome",
    ];
    let out = cli(&create);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("slug \"chez-test\""));
    // Again: the slug is taken, one clear line.
    let out = cli(&create);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    // Bad input is refused before anything is written.
    let out = cli(&[
        "create-owner",
        "--restaurant",
        "X",
        "--email",
        "nope",
        "--password",
        "owner password 1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("email"), "{}", stderr(&out));

    let app = TestApp::start_on(db).await;
    let (status, login) = app
        .login("chez-test", "boss@chez.test", "owner password 1")
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{login}");
    let (_, restaurant) = app.get("/api/v1/restaurant", &token_of(&login)).await;
    assert_eq!(restaurant["timezone"], "Europe/Rome");
    assert!(app.store.restaurant_by_slug("x").await.unwrap().is_none());
}

crate::both_backends!(create_owner_bootstraps_a_restaurant);
