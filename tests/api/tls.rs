//! TLS to the data stores, against a PostgreSQL and a Redis of the test's
//! own that accept nothing but TLS, with a CA made here (rcgen):
//! `sslmode=verify-full` with a client certificate serves, a wrong CA or
//! host name or a missing client certificate is refused at start, plain
//! text is refused by the server; to a server on this machine a URL naming
//! no TLS mode is served in plain text, or in TLS when the server needs it;
//! two instances fan out over
//! `rediss://` with a client certificate, and a wrong CA or a missing client
//! certificate shows as Redis down.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use reqwest::{Method, StatusCode};
use restohub::clock::ManualClock;
use restohub::hub::Hub;
use serde_json::{json, Value};
use sqlx::Connection;

use crate::cli::{restohub, stderr};
use crate::db_outage::PrivatePostgres;
use crate::health::wait_until_ready;
use crate::orders::floor;
use crate::support::*;
use crate::ws_client::WsClient;

/// A test CA, a server certificate for `localhost` only (so a connection
/// to 127.0.0.1 fails the host name check), a client certificate, and a
/// second CA that signed none of them.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = make_ca("restohub test CA");
        std::fs::write(dir.path().join("ca.pem"), ca.0.pem()).unwrap();
        let other = make_ca("someone else's CA");
        std::fs::write(dir.path().join("other-ca.pem"), other.0.pem()).unwrap();
        // PostgreSQL's `cert` authentication takes the user from the CN.
        let clients = [
            ("server", "localhost"),
            ("client", "restohub"),
            ("pg-client", "postgres"),
        ];
        for (name, san) in clients {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(vec![san.to_owned()]).unwrap();
            params.distinguished_name.push(DnType::CommonName, san);
            let cert = params.signed_by(&key, &ca.0).unwrap();
            std::fs::write(dir.path().join(format!("{name}.pem")), cert.pem()).unwrap();
            std::fs::write(dir.path().join(format!("{name}.key")), key.serialize_pem()).unwrap();
        }
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn arg(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

/// A self-signed CA (the key lives inside the issuer).
struct Ca(CertifiedIssuer<'static, KeyPair>);

fn make_ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ca(CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap())
}

/// A private PostgreSQL with ssl on and a pg_hba that admits TCP clients
/// over TLS only (`hostssl`; no `host` line), each with a client
/// certificate from the test CA naming the user (`cert`).
/// The `pg_hba.conf` of a server that takes nothing but TLS with a client
/// certificate over TCP.
const TLS_ONLY: &str =
    "local all all trust\nhostssl all all 127.0.0.1/32 cert\nhostssl all all ::1/128 cert\n";

fn tls_postgres(pki: &Pki, hba: &str) -> (PrivatePostgres, u16) {
    let pg = PrivatePostgres::start();
    let port: u16 = pg
        .url()
        .rsplit_once(':')
        .unwrap()
        .1
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    pg.stop();
    let data = pg.data();
    std::fs::copy(pki.path("server.pem"), data.join("server.crt")).unwrap();
    std::fs::copy(pki.path("server.key"), data.join("server.key")).unwrap();
    std::fs::copy(pki.path("ca.pem"), data.join("ca.crt")).unwrap();
    let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
    conf.push_str(
        "\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
         ssl_ca_file = 'ca.crt'\n",
    );
    std::fs::write(data.join("postgresql.conf"), conf).unwrap();
    std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
    // PostgreSQL refuses a key file others can read, or one it does not own.
    for file in [
        "server.crt",
        "server.key",
        "ca.crt",
        "postgresql.conf",
        "pg_hba.conf",
    ] {
        give_to_postgres(&data.join(file));
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        data.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    pg.resume();
    (pg, port)
}

fn give_to_postgres(path: &Path) {
    if crate::db_outage::is_root() {
        let (uid, gid) = crate::db_outage::postgres_account();
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    }
}

/// Opens a hub on `url` and returns why it could not start, failing the
/// test if it starts or takes longer than a refusal should.
async fn refused(url: &str) -> String {
    let db = TestDb::new(Backend::Sqlite).await;
    let config = test_config(&db, &["--database-url", url]);
    let started = Instant::now();
    let opened = tokio::time::timeout(
        Duration::from_secs(20),
        Hub::open(&config, std::sync::Arc::new(ManualClock::new(T0))),
    )
    .await
    .expect("the hub gave up in time instead of hanging");
    let err = match opened {
        Ok(_) => panic!("the hub started on {url}"),
        Err(e) => format!("{e:#}"),
    };
    assert!(started.elapsed() < Duration::from_secs(15), "{err}");
    err
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_is_reached_only_over_verified_tls() {
    let pki = Pki::new();
    let (_pg, port) = tls_postgres(&pki, TLS_ONLY);
    let base = format!("postgres://postgres@localhost:{port}/postgres");

    // The server itself turns plain text away: TLS is really required.
    let err = refused(&format!("{base}?sslmode=disable")).await;
    assert!(err.contains("no encryption"), "{err}");
    // A CA that did not sign the server's certificate.
    let err = refused(&format!(
        "{base}?sslmode=verify-full&sslrootcert={}",
        pki.arg("other-ca.pem")
    ))
    .await;
    assert!(err.contains("UnknownIssuer"), "{err}");
    // The right CA, but a host the certificate is not for.
    let client = format!(
        "sslcert={}&sslkey={}",
        pki.arg("pg-client.pem"),
        pki.arg("pg-client.key")
    );
    let err = refused(&format!(
        "postgres://postgres@127.0.0.1:{port}/postgres?sslmode=verify-full&sslrootcert={}&{client}",
        pki.arg("ca.pem")
    ))
    .await;
    assert!(err.contains("not valid for name"), "{err}");
    // The right CA and host, but no client certificate.
    let err = refused(&format!(
        "{base}?sslmode=verify-full&sslrootcert={}",
        pki.arg("ca.pem")
    ))
    .await;
    assert!(err.contains("requires a valid client certificate"), "{err}");

    // verify-full with the right CA and a client certificate: the hub
    // serves, end to end.
    let url = format!(
        "{base}?sslmode=verify-full&sslrootcert={}&{client}",
        pki.arg("ca.pem")
    );
    let app = TestApp::spawn_on_postgres(&url, &[]).await;
    let f = floor(&app, "tls-bistro").await;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (mut screen, _) = WsClient::join(&app, &chef).await;
    let body = json!({ "idempotency_key": "tls-1", "table_id": f.t1, "source": "dine_in",
                       "lines": [{ "menu_item_id": f.steak, "qty": 2 }] });
    let (status, order) = app.post("/api/v1/orders", Some(&waiter), body).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let event = screen
        .next_matching(|e| e["type"] == "event" && e["kind"] == "order.placed")
        .await;
    assert_eq!(event["data"]["order"]["id"], order["id"], "{event}");
    assert_eq!(app.store.order_count(f.t.id).await.unwrap(), 1);
    let (status, ready) = app.call(Method::GET, "/health/ready", None, None).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
}

/// Whether each connection to `database` is encrypted, read by the server
/// itself over `admin`.
async fn encrypted(admin: &mut sqlx::PgConnection, database: &str) -> Vec<bool> {
    sqlx::query_scalar(
        "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.datname = $1",
    )
    .bind(database)
    .fetch_all(admin)
    .await
    .unwrap()
}

/// To this machine, a URL that names no `sslmode` is served in plain text
/// when the server takes it (TLS there would only cost CPU), in TLS when the
/// URL asks for it, and in TLS when the server takes nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_database_is_reached_in_plain_text_unless_tls_is_asked_or_needed() {
    let pki = Pki::new();
    let either = "local all all trust\nhost all all 127.0.0.1/32 trust\n";
    let (pg, port) = tls_postgres(&pki, either);
    let admin = format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable");
    let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
    for db in ["plain", "asked", "needed"] {
        sqlx::query(&format!("CREATE DATABASE {db}"))
            .execute(&mut c)
            .await
            .unwrap();
    }
    let url = |db: &str| format!("postgres://postgres@127.0.0.1:{port}/{db}");
    let serves = |app: TestApp| async move {
        let f = floor(&app, "bistro").await;
        let (_, waiter) = app.staff(&f.t, "waiter").await;
        let body = json!({ "idempotency_key": "k", "table_id": f.t1, "source": "dine_in",
                           "lines": [{ "menu_item_id": f.steak, "qty": 1 }] });
        let (status, order) = app.post("/api/v1/orders", Some(&waiter), body).await;
        assert_eq!(status, StatusCode::CREATED, "{order}");
        app
    };

    let _plain = serves(TestApp::spawn_on_postgres(&url("plain"), &[]).await).await;
    let seen = encrypted(&mut c, "plain").await;
    assert!(!seen.is_empty() && seen.iter().all(|tls| !tls), "{seen:?}");

    let asked = format!("{}?sslmode=prefer", url("asked"));
    let _asked = serves(TestApp::spawn_on_postgres(&asked, &[]).await).await;
    let seen = encrypted(&mut c, "asked").await;
    assert!(!seen.is_empty() && seen.iter().all(|tls| *tls), "{seen:?}");

    // Now the server takes TLS only: the same kind of URL falls back to it.
    std::fs::write(
        pg.data().join("pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
    )
    .unwrap();
    sqlx::query("SELECT pg_reload_conf()")
        .execute(&mut c)
        .await
        .unwrap();
    let _needed = serves(TestApp::spawn_on_postgres(&url("needed"), &[]).await).await;
    let seen = encrypted(&mut c, "needed").await;
    assert!(!seen.is_empty() && seen.iter().all(|tls| *tls), "{seen:?}");
}

/// A redis-server that listens for TLS only (`--port 0`), requires client
/// certificates (its default), and is killed when dropped.
struct TlsRedis {
    port: u16,
    child: Child,
}

impl TlsRedis {
    fn start(pki: &Pki) -> TlsRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--tls-cert-file", &pki.arg("server.pem")])
            .args(["--tls-key-file", &pki.arg("server.key")])
            .args(["--tls-ca-cert-file", &pki.arg("ca.pem")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (built with TLS) must be installed");
        let redis = TlsRedis { port, child };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return redis;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server did not start");
    }

    fn url(&self) -> String {
        format!("rediss://localhost:{}", self.port)
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The hub's settings for this Redis, with a CA and optionally the client
/// certificate.
fn redis_args(pki: &Pki, redis: &TlsRedis, ca: &str, client_cert: bool) -> Vec<String> {
    let mut args = vec![
        "--redis-url".to_owned(),
        redis.url(),
        "--redis-ca-file".to_owned(),
        pki.arg(ca),
    ];
    if client_cert {
        args.extend([
            "--redis-client-cert-file".to_owned(),
            pki.arg("client.pem"),
            "--redis-client-key-file".to_owned(),
            pki.arg("client.key"),
        ]);
    }
    args
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_fan_out_over_rediss() {
    let pki = Pki::new();
    let redis = TlsRedis::start(&pki);

    // The server has no plain-text port, and its TLS port does not speak
    // plain text.
    let tls = restohub::datastore_tls::RedisTls::read(
        Some(&pki.path("ca.pem")),
        Some(&pki.path("client.pem")),
        Some(&pki.path("client.key")),
    )
    .unwrap();
    let client = restohub::datastore_tls::redis_client(&redis.url().into(), &tls).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let port: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("port")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(port, ["port", "0"]);
    let plain = redis::Client::open(format!("redis://127.0.0.1:{}", redis.port)).unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), async {
        let mut conn = plain.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    })
    .await;
    assert!(
        !matches!(answer, Ok(Ok(_))),
        "plain text was answered: {answer:?}"
    );

    // The log poller is held off for ten minutes, so an event can only
    // reach the other instance through Redis.
    let mut args = redis_args(&pki, &redis, "ca.pem", true);
    args.extend(["--event-poll-ms".to_owned(), "600000".to_owned()]);
    let first = TestApp::spawn_with(Backend::Postgres, &strs(&args)).await;
    let second = first.sibling_with(&strs(&args)).await;
    for app in [&first, &second] {
        let ready = wait_until_ready(app).await;
        assert_eq!(ready["components"]["redis"]["status"], "up", "{ready}");
    }
    let f = floor(&first, "tls-chain").await;
    let (_, chef) = first.staff(&f.t, "chef").await;
    let (_, waiter) = first.staff(&f.t, "waiter").await;
    let (mut screen, _) = WsClient::join(&second, &chef).await;
    for n in 0..3 {
        let body = json!({ "idempotency_key": format!("rediss-{n}"), "table_id": f.t1,
                           "source": "dine_in", "lines": [{ "menu_item_id": f.bread, "qty": 1 }] });
        let (status, order) = first.post("/api/v1/orders", Some(&waiter), body).await;
        assert_eq!(status, StatusCode::CREATED, "{order}");
        let event = screen
            .next_matching(|e| e["type"] == "event" && e["kind"] == "order.placed")
            .await;
        assert_eq!(event["data"]["order"]["id"], order["id"], "{event}");
    }
}

/// Polls readiness until Redis is reported down (bounded); returns the
/// report.
async fn redis_down(app: &TestApp) -> Value {
    for _ in 0..100 {
        let (status, ready) = app.call(Method::GET, "/health/ready", None, None).await;
        if status == StatusCode::SERVICE_UNAVAILABLE
            && ready["components"]["redis"]["status"] == "down"
        {
            return ready;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("Redis never reported down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ca_or_no_client_certificate_shows_redis_down() {
    let pki = Pki::new();
    let redis = TlsRedis::start(&pki);
    let wrong_ca = TestApp::spawn_with(
        Backend::Sqlite,
        &strs(&redis_args(&pki, &redis, "other-ca.pem", true)),
    )
    .await;
    let ready = redis_down(&wrong_ca).await;
    let why = ready["components"]["redis"]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(why.contains("UnknownIssuer"), "{ready}");

    let anonymous = TestApp::spawn_with(
        Backend::Sqlite,
        &strs(&redis_args(&pki, &redis, "ca.pem", false)),
    )
    .await;
    redis_down(&anonymous).await;

    // The same server with the right CA and certificate: up.
    let right = TestApp::spawn_with(
        Backend::Sqlite,
        &strs(&redis_args(&pki, &redis, "ca.pem", true)),
    )
    .await;
    let ready = wait_until_ready(&right).await;
    assert_eq!(ready["components"]["redis"]["status"], "up", "{ready}");
}

#[test]
fn bad_tls_settings_stop_the_binary_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-ca.pem");
    let missing = missing.display().to_string();
    type Env<'a> = &'a [(&'a str, &'a str)];
    let db_url = format!("postgres://app@db.example/app?sslmode=verify-full&sslrootcert={missing}");
    let cases: [(Env, &str); 5] = [
        (
            &[
                ("REDIS_URL", "rediss://cache.example"),
                ("RESTOHUB_REDIS_CA_FILE", &missing),
            ],
            "--redis-ca-file",
        ),
        (&[("DATABASE_URL", &db_url)], "sslrootcert"),
        (
            &[("REDIS_URL", "rediss://cache.example/#insecure")],
            "#insecure",
        ),
        (
            &[
                ("RESTOHUB_ENV", "production"),
                (
                    "RESTOHUB_JWT_SECRET",
                    "0123456789abcdef0123456789abcdef-strong",
                ),
                ("REDIS_URL", "redis://cache.example:6379"),
            ],
            "without TLS",
        ),
        (
            &[
                ("RESTOHUB_ENV", "production"),
                (
                    "RESTOHUB_JWT_SECRET",
                    "0123456789abcdef0123456789abcdef-strong",
                ),
                ("DATABASE_URL", "postgres://app:pw@db.example/app"),
            ],
            "sslmode=verify-full",
        ),
    ];
    for (env, message) in cases {
        let out = restohub(dir.path())
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "expected one line, got: {err}");
        assert!(
            lines[0].starts_with("restohub: error:") && lines[0].contains(message),
            "{err}"
        );
        assert!(!err.contains("pw@"), "{err}");
    }
}

#[test]
fn help_names_the_tls_settings() {
    let out = Command::new(env!("CARGO_BIN_EXE_restohub"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "RESTOHUB_REDIS_CA_FILE",
        "RESTOHUB_REDIS_CLIENT_CERT_FILE",
        "RESTOHUB_REDIS_CLIENT_KEY_FILE",
        "RESTOHUB_ALLOW_PLAINTEXT_DATASTORES",
    ] {
        assert!(help.contains(needle), "--help does not mention {needle}");
    }
}
