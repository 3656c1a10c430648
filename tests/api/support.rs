//! Spawning hubs for tests, and talking to them.

use std::sync::Arc;

use clap::Parser;
use reqwest::{Method, StatusCode};
use restohub::clock::ManualClock;
use restohub::config::{Cli, Config};
use restohub::hub::Hub;
use restohub::storage::Store;
use secrecy::SecretString;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use restohub::storage::Backend;

/// PostgreSQL server for tests; each test creates its own database on it.
pub fn postgres_admin_url() -> String {
    std::env::var("RESTOHUB_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The instant every test clock starts at (2027-01-15T08:00:00Z).
pub const T0: i64 = 1_800_000_000_000;

/// Runs each listed `async fn name(backend: Backend)` once per backend, as
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Postgres).await
                }
            )*
        }
    };
}

/// A database that lives as long as the test: a temporary directory for
/// SQLite, a fresh database for PostgreSQL (dropped at the end, even when
/// the test fails).
pub struct TestDb {
    pub dir: tempfile::TempDir,
    pub pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let pg_name = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let name = format!("rh_test_{}", uuid::Uuid::new_v4().simple());
                let admin = admin_connection().await;
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&admin)
                    .await
                    .expect("CREATE DATABASE for the test");
                admin.close().await;
                Some(name)
            }
        };
        TestDb { dir, pg_name }
    }

    pub fn database_url(&self) -> Option<String> {
        self.pg_name.as_ref().map(|name| {
            let admin = postgres_admin_url();
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            format!("{base}/{name}")
        })
    }

    /// Command-line arguments selecting this database.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec!["--data-dir".into(), self.dir.path().display().to_string()];
        if let Some(url) = self.database_url() {
            args.push("--database-url".into());
            args.push(url);
        }
        args
    }
}

async fn admin_connection() -> sqlx::PgPool {
    let url = postgres_admin_url();
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL tests need a server at {url} (set RESTOHUB_TEST_POSTGRES_URL): {e}")
        })
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs inside the test's runtime; use a runtime of our own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let admin = admin_connection().await;
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&admin)
                    .await;
                admin.close().await;
            });
        })
        .join();
    }
}

/// A running hub.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub store: Store,
    pub node: restohub::node::Node,
    /// The hub's password hasher (to seed the demo restaurant).
    pub passwords: Arc<restohub::auth::passwords::Passwords>,
    pub addr: std::net::SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    pub db: Arc<TestDb>,
    /// Where `/metrics` is served when started with `--metrics-listen`.
    pub metrics_addr: Option<std::net::SocketAddr>,
}

pub fn test_config(db: &TestDb, extra: &[&str]) -> Config {
    let mut args: Vec<String> = vec!["restohub".into(), "--listen".into(), "127.0.0.1:0".into()];
    args.extend(db.args());
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut cli = Cli::try_parse_from(args).expect("test arguments parse");
    // Never pick up the developer's environment.
    if db.pg_name.is_none() && !extra.contains(&"--database-url") {
        cli.options.database_url = None;
    }
    if !extra.contains(&"--redis-url") {
        cli.options.redis_url = None;
    }
    if !extra.contains(&"--redis-cluster") {
        cli.options.redis_cluster = false;
    }
    cli.options.jwt_secret = Some(SecretString::from(
        "test-secret-of-at-least-thirty-two-bytes",
    ));
    if !extra.contains(&"--allowed-origins") {
        cli.options.allowed_origins.clear();
    }
    cli.options.validate().expect("test configuration is valid")
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, &[]).await
    }

    pub async fn spawn_with(backend: Backend, extra: &[&str]) -> TestApp {
        let db = Arc::new(TestDb::new(backend).await);
        Self::start(db, Arc::new(ManualClock::new(T0)), extra).await
    }

    /// A hub on a PostgreSQL server at `url` that the test runs itself.
    pub async fn spawn_on_postgres(url: &str, extra: &[&str]) -> TestApp {
        // The directory is still the hub's data dir; the database is `url`.
        let db = Arc::new(TestDb::new(Backend::Sqlite).await);
        let mut args = vec!["--database-url", url];
        args.extend_from_slice(extra);
        Self::start(db, Arc::new(ManualClock::new(T0)), &args).await
    }

    /// A hub on an existing test database.
    pub async fn start_on(db: TestDb) -> TestApp {
        Self::start(Arc::new(db), Arc::new(ManualClock::new(T0)), &[]).await
    }

    /// A second instance on the same database (and clock).
    pub async fn sibling(&self) -> TestApp {
        Self::start(self.db.clone(), self.clock.clone(), &[]).await
    }

    /// Another instance on the same database, with its own arguments.
    pub async fn sibling_with(&self, extra: &[&str]) -> TestApp {
        Self::start(self.db.clone(), self.clock.clone(), extra).await
    }

    async fn start(db: Arc<TestDb>, clock: Arc<ManualClock>, extra: &[&str]) -> TestApp {
        let config = test_config(&db, extra);
        let hub = Hub::open(&config, clock.clone()).await.expect("hub starts");
        let store = hub.state.store.clone();
        let node = hub.state.node.clone();
        let passwords = hub.state.passwords.clone();
        let metrics_addr = hub.metrics_addr();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(hub.serve(listener, async {
            let _ = rx.await;
        }));
        TestApp {
            base: format!("http://{addr}"),
            addr,
            node,
            passwords,
            http: reqwest::Client::new(),
            clock,
            store,
            shutdown: Some(tx),
            db,
            metrics_addr,
        }
    }

    /// Sends a request; returns the status and the JSON body (Null if none).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        read(res).await
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    pub async fn login(
        &self,
        restaurant: &str,
        email: &str,
        password: &str,
    ) -> (StatusCode, Value) {
        self.post(
            "/api/v1/auth/login",
            None,
            json!({ "restaurant": restaurant, "email": email, "password": password }),
        )
        .await
    }

    /// A restaurant with its owner logged in.
    pub async fn tenant(&self, slug: &str) -> Tenant {
        let passwords = restohub::auth::Passwords::new().await.unwrap();
        let args = restohub::app::accounts::NewOwner {
            restaurant: format!("{slug} restaurant"),
            slug: Some(slug.into()),
            email: format!("owner@{slug}.test"),
            password: PASSWORD.into(),
            name: "Owner".into(),
            timezone: "Europe/Paris".into(),
            currency: "EUR".into(),
        };
        let (restaurant, owner) =
            restohub::app::accounts::create_owner(&self.store, &passwords, &args, T0)
                .await
                .expect("create owner");
        let (status, body) = self.login(slug, &args.email, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        Tenant {
            slug: slug.into(),
            id: restaurant.id,
            owner_id: owner.id,
            owner: token_of(&body),
        }
    }

    /// A staff account of `role` in `tenant`, created through the API, and
    /// its access token.
    pub async fn staff(&self, tenant: &Tenant, role: &str) -> (i64, String) {
        let email = format!(
            "{role}-{}@{}.test",
            uuid::Uuid::new_v4().simple(),
            tenant.slug
        );
        let (status, user) = self
            .post(
                "/api/v1/users",
                Some(&tenant.owner),
                json!({ "email": email, "name": role, "role": role, "password": PASSWORD }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        let (status, body) = self.login(&tenant.slug, &email, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (user["id"].as_i64().unwrap(), token_of(&body))
    }

    /// A guest session's access token for the table with `code`.
    pub async fn guest_token(&self, code: impl serde::Serialize) -> String {
        let (status, guest) = self
            .post(
                "/api/v1/guest-sessions",
                None,
                json!({ "table_code": code }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{guest}");
        token_of(&guest)
    }

    /// Creates through the API as the owner; returns the new row.
    pub async fn create(&self, tenant: &Tenant, path: &str, body: Value) -> Value {
        let (status, row) = self.post(path, Some(&tenant.owner), body).await;
        assert_eq!(status, StatusCode::CREATED, "POST {path}: {row}");
        row
    }
}

impl TestApp {
    /// Triggers the hub's graceful shutdown, as SIGTERM would.
    pub fn shut_down(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub const PASSWORD: &str = "correct horse battery";

pub struct Tenant {
    pub slug: String,
    pub id: i64,
    pub owner_id: i64,
    pub owner: String,
}

pub fn token_of(login_reply: &Value) -> String {
    login_reply["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token in {login_reply}"))
        .to_owned()
}

pub async fn read(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let bytes = res.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "non-JSON body with {status}: {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, body)
}

/// Asserts an error reply: status, code, and the standard shape.
#[track_caller]
pub fn assert_error(reply: &(StatusCode, Value), status: StatusCode, code: &str) {
    let (got, body) = reply;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}
