//! Command line and environment: parsed by clap, validated once at start.
//!
//! A bad value ends the process with one clear line (see `main.rs`), never a
//! panic. Secrets are held in `SecretString` so they never reach `Debug`
//! output or logs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::http::HeaderValue;
use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::{ExposeSecret, SecretString};

use crate::gateway::GatewaySettings;
use crate::http::{ConnectionTimeouts, WriteQuotas};

/// Minimum JWT signing secret length in production.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Parser)]
#[command(
    name = "restohub",
    version,
    about = "Real-time, WebSocket-first hub for restaurants",
    long_about = "restohub keeps live sessions for kitchen screens, waiter apps, customer apps \
                  and dashboards. With no configuration it stores everything in a SQLite file \
                  in --data-dir; set DATABASE_URL (and REDIS_URL) to run many instances on \
                  PostgreSQL (and Redis)."
)]
pub struct Cli {
    #[command(flatten)]
    pub options: Options,
    /// The same as the `check-config` command.
    #[arg(long)]
    pub check_config: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the hub (the default when no command is given).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create a restaurant and its owner account, then exit.
    CreateOwner(CreateOwner),
    /// Create (once) a demo restaurant with a menu, tables and one login per
    /// role, print the logins, and serve. Refused in production.
    Demo,
    /// Work with the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Copy the SQLite database to a file while the hub serves (a
    /// consistent, verified copy), or verify a backup file. PostgreSQL:
    /// use pg_dump (docs/OPERATIONS.md).
    Backup(BackupArgs),
    /// Replace the SQLite database with a verified backup. Refused while a
    /// hub has the database open, and over an existing one without --force.
    Restore(RestoreArgs),
    /// Check the settings, the database and its migrations, Redis, the data
    /// directory and the listen address; one line per check; exit non-zero
    /// naming what failed.
    CheckConfig,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the backup (must not exist yet).
    #[arg(long, value_name = "FILE", required_unless_present = "verify")]
    pub to: Option<PathBuf>,
    /// Check a backup file (integrity, schema, rows per table) instead.
    #[arg(long, value_name = "FILE", conflicts_with = "to")]
    pub verify: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup to restore.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Replace an existing database.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every restaurant's audit hash chain; exit non-zero naming the
    /// first entry that was altered, removed or inserted. Entries pruned by
    /// retention are not checked: the oldest kept entry's prev_hash is
    /// trusted.
    Verify,
}

#[derive(Debug, Args)]
pub struct CreateOwner {
    /// The restaurant's display name.
    #[arg(long)]
    pub restaurant: String,
    /// Short unique name used at login; derived from the name if omitted.
    #[arg(long)]
    pub slug: Option<String>,
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub password: String,
    /// The owner's display name.
    #[arg(long, default_value = "Owner")]
    pub name: String,
    /// IANA time zone; "today" in statistics is counted in it.
    #[arg(long, default_value = "UTC")]
    pub timezone: String,
    /// ISO 4217 currency code.
    #[arg(long, default_value = "EUR")]
    pub currency: String,
}

impl From<CreateOwner> for crate::app::accounts::NewOwner {
    fn from(args: CreateOwner) -> Self {
        crate::app::accounts::NewOwner {
            restaurant: args.restaurant,
            slug: args.slug,
            email: args.email,
            password: args.password,
            name: args.name,
            timezone: args.timezone,
            currency: args.currency,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct Options {
    /// Address to listen on.
    #[arg(
        long,
        env = "RESTOHUB_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: SocketAddr,

    /// Serve Prometheus metrics (/metrics) on this address only (e.g. a
    /// private interface), instead of on --listen beside the API.
    #[arg(long, env = "RESTOHUB_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    /// Directory for the SQLite database and the development JWT secret.
    #[arg(
        long,
        env = "RESTOHUB_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// PostgreSQL URL (postgres://...). Without it, SQLite in --data-dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<SecretString>,

    /// Database connections per instance. On PostgreSQL keep the sum over
    /// all instances near two per core of the database's machine.
    #[arg(
        long,
        env = "RESTOHUB_DB_MAX_CONNECTIONS",
        default_value_t = 16,
        global = true
    )]
    pub db_max_connections: u32,

    /// Redis URL (redis://...) for fan-out between instances.
    #[arg(long, env = "REDIS_URL", hide_env_values = true, global = true)]
    pub redis_url: Option<SecretString>,

    /// CA certificate(s), PEM, that alone are trusted for a rediss:// server
    /// (default: the system's CA store).
    #[arg(long, env = "RESTOHUB_REDIS_CA_FILE", global = true)]
    pub redis_ca_file: Option<PathBuf>,

    /// Client certificate chain, PEM, for a Redis that requires clients to
    /// authenticate (redis-server's tls-auth-clients, on by default).
    #[arg(long, env = "RESTOHUB_REDIS_CLIENT_CERT_FILE", global = true)]
    pub redis_client_cert_file: Option<PathBuf>,

    /// The client certificate's private key, PEM.
    #[arg(long, env = "RESTOHUB_REDIS_CLIENT_KEY_FILE", global = true)]
    pub redis_client_key_file: Option<PathBuf>,

    /// In production, allow plain-text connections to a PostgreSQL or Redis
    /// on another machine (only on a network no one else can read).
    #[arg(long, env = "RESTOHUB_ALLOW_PLAINTEXT_DATASTORES", global = true)]
    pub allow_plaintext_datastores: bool,

    /// REDIS_URL names a Redis Cluster (7.0 or later): one or more of its
    /// nodes, comma separated, from which the hub learns the rest. Events
    /// then travel on sharded pub/sub (SPUBLISH/SSUBSCRIBE).
    #[arg(long, env = "RESTOHUB_REDIS_CLUSTER", global = true)]
    pub redis_cluster: bool,

    /// HS256 signing secret for access tokens, at least 32 bytes. Required in
    /// production; in development one is generated and kept in --data-dir.
    #[arg(
        long,
        env = "RESTOHUB_JWT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub jwt_secret: Option<SecretString>,

    /// `production` refuses to start with unsafe settings.
    #[arg(
        long = "env",
        env = "RESTOHUB_ENV",
        value_enum,
        default_value = "development",
        global = true
    )]
    pub environment: Environment,

    /// Browser origins allowed to call the API (comma separated), e.g.
    /// https://pos.example.com. None: no cross-origin access.
    #[arg(
        long,
        env = "RESTOHUB_ALLOWED_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub allowed_origins: Vec<String>,

    /// Log format.
    #[arg(
        long,
        env = "RESTOHUB_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `restohub=debug`.
    #[arg(long, env = "RESTOHUB_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Lifetime of access tokens, in seconds.
    #[arg(
        long,
        env = "RESTOHUB_ACCESS_TOKEN_TTL",
        default_value_t = 900,
        global = true
    )]
    pub access_token_ttl: u64,

    /// Lifetime of refresh tokens, in days.
    #[arg(
        long,
        env = "RESTOHUB_REFRESH_TOKEN_TTL_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub refresh_token_ttl_days: u64,

    /// Lifetime of a guest session at a table, in seconds.
    #[arg(long, env = "RESTOHUB_GUEST_SESSION_TTL", default_value_t = 6 * 3600, global = true)]
    pub guest_session_ttl: u64,

    /// Attempts per minute per client address at login, refresh and guest
    /// sessions; 0 turns the limit off.
    #[arg(
        long,
        env = "RESTOHUB_AUTH_RATE_LIMIT",
        default_value_t = 120,
        global = true
    )]
    pub auth_rate_limit: u32,

    /// REST writes (POST, PUT, PATCH, DELETE) per minute per staff account,
    /// or per table for its guests together; 0 turns the limit off. Ten a
    /// second, sustained, with bursts of a whole minute's worth: far above
    /// a person tapping or a kitchen screen bumping, far below a loop.
    #[arg(
        long,
        env = "RESTOHUB_ACCOUNT_WRITE_RATE_LIMIT",
        default_value_t = 600,
        global = true
    )]
    pub account_write_rate_limit: u32,

    /// REST writes per minute per restaurant, all its devices together; 0
    /// turns the limit off. Five accounts at their own limit: a busy
    /// restaurant never reaches it, and one restaurant's runaway devices
    /// cannot take the hub from the others.
    #[arg(
        long,
        env = "RESTOHUB_RESTAURANT_WRITE_RATE_LIMIT",
        default_value_t = 3000,
        global = true
    )]
    pub restaurant_write_rate_limit: u32,

    /// Behind a trusted reverse proxy: the header carrying the client's
    /// address (e.g. x-forwarded-for). Never set it without such a proxy.
    #[arg(long, env = "RESTOHUB_CLIENT_IP_HEADER", global = true)]
    pub client_ip_header: Option<String>,

    /// Addresses of the proxies in front of the hub (comma-separated). The
    /// client is the rightmost address in the client-address header that is
    /// not one of them: entries to its left were written by the client.
    #[arg(
        long,
        env = "RESTOHUB_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Seconds a new WebSocket has to send its hello.
    #[arg(
        long,
        env = "RESTOHUB_WS_HELLO_TIMEOUT_MS",
        default_value_t = 5000,
        global = true
    )]
    pub ws_hello_timeout_ms: u64,

    /// Milliseconds between heartbeat pings; a peer silent for three is dropped.
    #[arg(
        long,
        env = "RESTOHUB_WS_HEARTBEAT_MS",
        default_value_t = 15000,
        global = true
    )]
    pub ws_heartbeat_ms: u64,

    /// How often screens' `screen.seen` acknowledgements are written and
    /// announced (`ticket.seen`), in milliseconds. Each flush is a write per
    /// station whose screens acknowledged: at 250 ms, 100 stations'
    /// flushes cost the hub about a fifth of its CPU at 400 orders/s
    /// (BENCHMARKS.md), at 1 s a tenth of that.
    #[arg(
        long,
        env = "RESTOHUB_SCREEN_FLUSH_MS",
        default_value_t = 1000,
        global = true
    )]
    pub screen_flush_ms: u64,

    /// How long a station may have open tickets and no screen, or a screen
    /// leave a ticket unacknowledged, before the expo is alerted
    /// (`station.unattended`, `screen.behind`), in milliseconds.
    #[arg(
        long,
        env = "RESTOHUB_SCREEN_ALERT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub screen_alert_ms: u64,

    /// Largest accepted WebSocket message, in bytes.
    #[arg(long, env = "RESTOHUB_WS_MAX_MESSAGE_BYTES", default_value_t = 16 * 1024, global = true)]
    pub ws_max_message_bytes: usize,

    /// Frames a WebSocket session may have queued before it is disconnected
    /// as a slow consumer.
    #[arg(long, env = "RESTOHUB_WS_QUEUE", default_value_t = 256, global = true)]
    pub ws_queue: usize,

    /// A session writes to its socket at most once per this many
    /// milliseconds: frames that come sooner wait for the next write and go
    /// out together (one system call instead of one each). The first frame
    /// after a quiet spell goes out at once. 0: write every frame at once.
    #[arg(
        long,
        env = "RESTOHUB_WS_COALESCE_MS",
        default_value_t = 0,
        global = true
    )]
    pub ws_coalesce_ms: u64,

    /// Commands per second per WebSocket (bursts of twice that are allowed).
    #[arg(
        long,
        env = "RESTOHUB_WS_COMMANDS_PER_SEC",
        default_value_t = 20,
        global = true
    )]
    pub ws_commands_per_sec: u32,

    /// WebSocket connections per instance.
    #[arg(
        long,
        env = "RESTOHUB_WS_MAX_CONNECTIONS",
        default_value_t = 50_000,
        global = true
    )]
    pub ws_max_connections: usize,

    /// WebSocket connections per staff account (or guest session).
    #[arg(
        long,
        env = "RESTOHUB_WS_MAX_CONNECTIONS_PER_USER",
        default_value_t = 20,
        global = true
    )]
    pub ws_max_connections_per_user: usize,

    /// Resumes (hellos with `since`) replaying at once per staff account
    /// or guest session; another waits briefly for one to finish. (How
    /// often each may start one is paced as well: PROTOCOL.md, 9.7.)
    #[arg(
        long,
        env = "RESTOHUB_WS_RESUMES_PER_ACCOUNT",
        default_value_t = 2,
        global = true
    )]
    pub ws_resumes_per_account: usize,

    /// Resumes replaying at once per client address (see
    /// --client-ip-header behind a proxy). Higher than per account: a
    /// restaurant's devices often share one address.
    #[arg(
        long,
        env = "RESTOHUB_WS_RESUMES_PER_ADDRESS",
        default_value_t = 4,
        global = true
    )]
    pub ws_resumes_per_address: usize,

    /// WebSocket handshakes doing their work (the account, rooms, a
    /// resume's reads of the event log) at once per instance; others wait
    /// their turn. At most --db-max-connections less one are (at least
    /// one): handshakes then never hold every database connection order
    /// placements need (a reconnect storm, BENCHMARKS.md).
    #[arg(
        long,
        env = "RESTOHUB_WS_HANDSHAKES",
        default_value_t = 4,
        global = true
    )]
    pub ws_handshakes: usize,

    /// Handshakes that may wait for a turn per instance; past that a new
    /// one is refused at once with close code 1013 TRY_AGAIN_LATER and a
    /// retry-after (as is one still waiting 4 s after its hello).
    #[arg(
        long,
        env = "RESTOHUB_WS_HANDSHAKE_QUEUE",
        default_value_t = 1000,
        global = true
    )]
    pub ws_handshake_queue: usize,

    /// Milliseconds between checks of the event log for events this
    /// instance has not delivered (the bound on delivery delay when a
    /// publisher dies after commit or a bus message is lost).
    #[arg(
        long,
        env = "RESTOHUB_EVENT_POLL_MS",
        default_value_t = 1000,
        global = true
    )]
    pub event_poll_ms: u64,

    /// The shortest time between two dashboard snapshots of one restaurant:
    /// changes in between are coalesced into the next snapshot.
    #[arg(
        long,
        env = "RESTOHUB_DASHBOARD_INTERVAL_MS",
        default_value_t = 250,
        global = true
    )]
    pub dashboard_interval_ms: u64,

    /// Milliseconds after which an open dashboard gets a fresh snapshot
    /// even with no change (ticket ages move, the business day turns).
    #[arg(
        long,
        env = "RESTOHUB_DASHBOARD_REFRESH_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub dashboard_refresh_ms: u64,

    /// Hours the event log keeps events (clients further behind resync).
    #[arg(
        long,
        env = "RESTOHUB_EVENT_RETENTION_HOURS",
        default_value_t = 72,
        global = true
    )]
    pub event_retention_hours: u64,

    /// Days the audit trail keeps entries; older ones are pruned (0: never).
    #[arg(
        long,
        env = "RESTOHUB_AUDIT_RETENTION_DAYS",
        default_value_t = 400,
        global = true
    )]
    pub audit_retention_days: u64,

    /// On shutdown, seconds to wait for sessions to close.
    #[arg(
        long,
        env = "RESTOHUB_SHUTDOWN_DRAIN_SECS",
        default_value_t = 10,
        global = true
    )]
    pub shutdown_drain_secs: u64,

    /// Largest accepted HTTP request body, in bytes.
    #[arg(long, env = "RESTOHUB_MAX_BODY_BYTES", default_value_t = 64 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Seconds a client has to send a request's line and headers, counted
    /// from when the hub starts waiting for them (on a new connection, or
    /// after the previous response); then the connection is closed.
    #[arg(
        long,
        env = "RESTOHUB_HEADER_READ_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub header_read_timeout_secs: u64,

    /// Seconds an HTTP connection may stay silent while the hub waits for
    /// the client (between requests, for a request body, for it to read a
    /// response) before it is closed. WebSockets are watched by their
    /// heartbeat instead.
    #[arg(
        long,
        env = "RESTOHUB_IDLE_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub idle_timeout_secs: u64,

    /// While serving, back the SQLite database up this often (e.g. `1h`,
    /// `30m`); off when unset. PostgreSQL: see docs/OPERATIONS.md.
    #[arg(long, env = "RESTOHUB_BACKUP_EVERY", value_parser = humantime::parse_duration, global = true)]
    pub backup_every: Option<Duration>,

    /// Where scheduled backups are written [default: <data-dir>/backups].
    #[arg(long, env = "RESTOHUB_BACKUP_DIR", global = true)]
    pub backup_dir: Option<PathBuf>,

    /// How many scheduled backups to keep; older ones are deleted.
    #[arg(
        long,
        env = "RESTOHUB_BACKUP_KEEP",
        default_value_t = 24,
        global = true
    )]
    pub backup_keep: usize,
}

/// When and where scheduled backups are taken, and how many are kept.
#[derive(Debug, Clone)]
pub struct BackupSchedule {
    pub every: Duration,
    pub dir: PathBuf,
    /// The newest this many backups are kept; older ones are deleted.
    pub keep: usize,
}

/// Where the hub keeps its data.
#[derive(Debug, Clone)]
pub enum Database {
    SqliteFile(PathBuf),
    Postgres(SecretString),
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// `None`: /metrics is on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    pub data_dir: PathBuf,
    pub database: Database,
    pub db_max_connections: u32,
    pub redis_url: Option<SecretString>,
    /// CA and client certificate for a rediss:// URL.
    pub redis_tls: crate::datastore_tls::RedisTls,
    /// `redis_url` lists seed nodes of a Redis Cluster.
    pub redis_cluster: bool,
    pub jwt_secret: Option<SecretString>,
    pub environment: Environment,
    pub allowed_origins: Vec<HeaderValue>,
    pub log_format: LogFormat,
    pub log: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub guest_session_ttl: Duration,
    pub max_body_bytes: usize,
    pub connection_timeouts: ConnectionTimeouts,
    pub auth_rate_limit: Option<std::num::NonZeroU32>,
    pub write_quotas: WriteQuotas,
    pub client_ip_header: Option<String>,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub gateway: GatewaySettings,
    pub event_retention: Duration,
    pub event_poll: Duration,
    /// `None`: the audit trail is never pruned.
    pub audit_retention: Option<Duration>,
    pub screens: crate::app::screens::ScreenSettings,
    /// Scheduled backups while serving (SQLite only).
    pub backup: Option<BackupSchedule>,
}

impl Options {
    /// `--ws-handshakes`, less where it would let handshakes, each of
    /// which holds one database connection at a time, hold them all: one
    /// is always left for order placements. In a reconnect storm with two
    /// connections and four handshakes, orders waited behind resumes' reads
    /// (ack p99 161 ms against 40 ms with one handshake, BENCHMARKS.md).
    fn handshakes(&self) -> usize {
        let spare = (self.db_max_connections as usize).saturating_sub(1).max(1);
        self.ws_handshakes.min(spare)
    }

    /// Checks every value; in production also refuses unsafe settings.
    pub fn validate(&self) -> anyhow::Result<Config> {
        let production = self.environment == Environment::Production;
        let database = match &self.database_url {
            None => Database::SqliteFile(self.data_dir.join("restohub.db")),
            Some(url)
                if url.expose_secret().starts_with("postgres://")
                    || url.expose_secret().starts_with("postgresql://") =>
            {
                crate::datastore_tls::check_postgres(url)?;
                Database::Postgres(url.clone())
            }
            Some(_) => {
                bail!("DATABASE_URL must start with postgres:// (leave it unset for SQLite)")
            }
        };
        let redis_tls = crate::datastore_tls::RedisTls::read(
            self.redis_ca_file.as_deref(),
            self.redis_client_cert_file.as_deref(),
            self.redis_client_key_file.as_deref(),
        )?;
        let tls_files = self.redis_ca_file.is_some() || self.redis_client_cert_file.is_some();
        match (&self.redis_url, self.redis_cluster) {
            (Some(url), true) => {
                let seeds = redis_cluster_seeds(url)?;
                // The cluster's own connections are built by the cluster
                // client, which this hub does not give TLS settings yet.
                if tls_files
                    || seeds
                        .iter()
                        .any(|s| matches!(s.addr, redis::ConnectionAddr::TcpTls { .. }))
                {
                    bail!("TLS to a Redis Cluster is not supported; use rediss:// with a single Redis server, or a private network");
                }
                if production && !self.allow_plaintext_datastores {
                    for seed in &seeds {
                        if let redis::ConnectionAddr::Tcp(host, _) = &seed.addr {
                            if !crate::datastore_tls::is_local_host(host) {
                                bail!("REDIS_URL names cluster nodes on another machine, which the hub reaches in plain text; refusing to start in production (--allow-plaintext-datastores if the network is private)");
                            }
                        }
                    }
                }
            }
            (Some(url), false) if url.expose_secret().contains(',') => bail!(
                "REDIS_URL lists several servers; set RESTOHUB_REDIS_CLUSTER=true (--redis-cluster) if they are nodes of a Redis Cluster"
            ),
            (Some(url), false) => {
                crate::datastore_tls::redis_client(url, &redis_tls)?;
            }
            (None, true) => bail!(
                "--redis-cluster needs REDIS_URL: one or more nodes of the cluster, comma separated"
            ),
            (None, false) if tls_files => bail!("Redis TLS files are set but REDIS_URL is not"),
            (None, false) => {}
        }
        if production && !self.allow_plaintext_datastores {
            let single_redis = self.redis_url.as_ref().filter(|_| !self.redis_cluster);
            crate::datastore_tls::refuse_plain_text(self.database_url.as_ref(), single_redis)?;
        }
        match &self.jwt_secret {
            Some(s) if s.expose_secret().len() < MIN_SECRET_BYTES && production => bail!(
                "RESTOHUB_JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes; refusing to start in production"
            ),
            None if production => bail!(
                "RESTOHUB_JWT_SECRET is not set; production needs a secret of at least {MIN_SECRET_BYTES} bytes"
            ),
            _ => {}
        }
        let mut allowed_origins = Vec::new();
        for origin in &self.allowed_origins {
            let origin = origin.trim();
            if origin == "*" {
                bail!("RESTOHUB_ALLOWED_ORIGINS may not be \"*\"; list the origins of your apps");
            }
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                bail!("allowed origin {origin:?} must start with http:// or https://");
            }
            if production && origin.starts_with("http://") && !is_loopback_origin(origin) {
                bail!("allowed origin {origin:?} is plain http; production needs https");
            }
            allowed_origins.push(
                HeaderValue::from_str(origin).context("allowed origin is not a valid header")?,
            );
        }
        if self.db_max_connections == 0 {
            bail!("--db-max-connections must be at least 1");
        }
        if self.access_token_ttl == 0
            || self.guest_session_ttl == 0
            || self.refresh_token_ttl_days == 0
        {
            bail!("token lifetimes must be positive");
        }
        let per_second = std::num::NonZeroU32::new(self.ws_commands_per_sec)
            .context("--ws-commands-per-sec must be at least 1")?;
        if self.ws_queue == 0
            || self.ws_max_connections == 0
            || self.ws_max_connections_per_user == 0
            || self.ws_resumes_per_account == 0
            || self.ws_resumes_per_address == 0
            || self.ws_handshakes == 0
        {
            bail!("WebSocket queue, connection, resume and handshake limits must be at least 1");
        }
        if self.ws_heartbeat_ms == 0 || self.ws_hello_timeout_ms == 0 {
            bail!("WebSocket timeouts must be positive");
        }
        if self.header_read_timeout_secs == 0 || self.idle_timeout_secs == 0 {
            bail!("--header-read-timeout-secs and --idle-timeout-secs must be at least 1");
        }
        if self.screen_flush_ms < 10 || self.screen_flush_ms > 60_000 {
            bail!("--screen-flush-ms must be between 10 and 60000");
        }
        if self.screen_alert_ms < 1000 || self.screen_alert_ms > 3_600_000 {
            bail!("--screen-alert-ms must be between 1000 and 3600000");
        }
        if self.ws_coalesce_ms > 1000 {
            bail!("--ws-coalesce-ms must be at most 1000");
        }
        if self.ws_max_message_bytes < 1024 {
            bail!("--ws-max-message-bytes must be at least 1024");
        }
        let backup = self.backup_schedule(&database)?;
        let gateway = GatewaySettings {
            hello_timeout: Duration::from_millis(self.ws_hello_timeout_ms),
            heartbeat_interval: Duration::from_millis(self.ws_heartbeat_ms),
            max_message_bytes: self.ws_max_message_bytes,
            queue_capacity: self.ws_queue,
            coalesce: Duration::from_millis(self.ws_coalesce_ms),
            commands_per_second: per_second,
            command_burst: per_second.saturating_mul(std::num::NonZeroU32::MIN.saturating_add(1)),
            max_connections: self.ws_max_connections,
            max_connections_per_user: self.ws_max_connections_per_user,
            resumes_per_account: self.ws_resumes_per_account,
            resumes_per_address: self.ws_resumes_per_address,
            handshakes: self.handshakes(),
            handshake_queue: self.ws_handshake_queue,
            drain_timeout: Duration::from_secs(self.shutdown_drain_secs),
            dashboard_interval: Duration::from_millis(self.dashboard_interval_ms.max(10)),
            dashboard_refresh: Duration::from_millis(self.dashboard_refresh_ms.max(100)),
        };
        if self.metrics_listen == Some(self.listen) && self.listen.port() != 0 {
            bail!("--metrics-listen must differ from --listen (leave it unset to serve /metrics on --listen)");
        }
        Ok(Config {
            listen: self.listen,
            metrics_listen: self.metrics_listen,
            data_dir: self.data_dir.clone(),
            database,
            db_max_connections: self.db_max_connections,
            redis_url: self.redis_url.clone(),
            redis_tls,
            redis_cluster: self.redis_cluster,
            jwt_secret: self.jwt_secret.clone(),
            environment: self.environment,
            allowed_origins,
            log_format: self.log_format,
            log: self.log.clone(),
            access_token_ttl: Duration::from_secs(self.access_token_ttl),
            refresh_token_ttl: Duration::from_secs(self.refresh_token_ttl_days * 86_400),
            guest_session_ttl: Duration::from_secs(self.guest_session_ttl),
            max_body_bytes: self.max_body_bytes,
            connection_timeouts: ConnectionTimeouts {
                header_read: Duration::from_secs(self.header_read_timeout_secs),
                idle: Duration::from_secs(self.idle_timeout_secs),
            },
            auth_rate_limit: std::num::NonZeroU32::new(self.auth_rate_limit),
            write_quotas: WriteQuotas {
                per_writer: std::num::NonZeroU32::new(self.account_write_rate_limit),
                per_restaurant: std::num::NonZeroU32::new(self.restaurant_write_rate_limit),
            },
            client_ip_header: self.client_ip_header.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            gateway,
            event_retention: Duration::from_secs(self.event_retention_hours.max(1) * 3600),
            event_poll: Duration::from_millis(self.event_poll_ms.max(10)),
            audit_retention: match self.audit_retention_days {
                0 => None,
                days => Some(Duration::from_secs(days.saturating_mul(86_400))),
            },
            screens: crate::app::screens::ScreenSettings {
                flush_every: Duration::from_millis(self.screen_flush_ms),
                alert_after_ms: self.screen_alert_ms as i64,
            },
            backup,
        })
    }

    fn backup_schedule(&self, database: &Database) -> anyhow::Result<Option<BackupSchedule>> {
        let Some(every) = self.backup_every else {
            return Ok(None);
        };
        if matches!(database, Database::Postgres(_)) {
            bail!(
                "--backup-every backs up the SQLite file; on PostgreSQL use pg_dump or \
                 pg_basebackup with WAL archiving (docs/OPERATIONS.md)"
            );
        }
        if every < Duration::from_millis(100) {
            bail!("--backup-every must be at least 100ms");
        }
        if self.backup_keep == 0 {
            bail!("--backup-keep must be at least 1");
        }
        Ok(Some(BackupSchedule {
            every,
            dir: self
                .backup_dir
                .clone()
                .unwrap_or_else(|| self.data_dir.join("backups")),
            keep: self.backup_keep,
        }))
    }
}

/// An origin whose host is this machine: the host is parsed, so
/// `http://localhost.evil.com` or `http://localhost@evil.com` is not one.
/// The seed nodes of a Redis Cluster named in REDIS_URL (comma separated).
/// The error never repeats the URL: it may hold a password.
pub fn redis_cluster_seeds(url: &SecretString) -> anyhow::Result<Vec<redis::ConnectionInfo>> {
    use redis::IntoConnectionInfo;
    let mut seeds = Vec::new();
    for (n, seed) in url.expose_secret().split(',').enumerate() {
        let seed = seed.trim();
        if seed.is_empty() {
            bail!(
                "REDIS_URL has an empty entry (node {}) in its list of cluster nodes",
                n + 1
            );
        }
        let info = seed.into_connection_info().map_err(|e| {
            anyhow::anyhow!("REDIS_URL node {} is not a valid redis:// URL: {e}", n + 1)
        })?;
        if matches!(info.addr, redis::ConnectionAddr::Unix(_)) {
            bail!(
                "REDIS_URL node {} is a Unix socket; cluster nodes are reached over TCP",
                n + 1
            );
        }
        if info.redis.db != 0 {
            bail!(
                "REDIS_URL node {} names database {}; a Redis Cluster has only database 0",
                n + 1,
                info.redis.db
            );
        }
        seeds.push(info);
    }
    Ok(seeds)
}

fn is_loopback_origin(origin: &str) -> bool {
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    loopback && url.username().is_empty() && url.password().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_is_a_loopback_origin() {
        for local in [
            "http://localhost",
            "http://localhost:3000",
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
        ] {
            assert!(is_loopback_origin(local), "{local}");
        }
        for other in [
            "http://localhost.evil.com",
            "http://localhost@evil.com",
            "http://127.0.0.1.evil.com",
            "http://[::1].evil.com",
            "http://evil.com/localhost",
        ] {
            assert!(!is_loopback_origin(other), "{other}");
        }
    }

    fn parse(args: &[&str]) -> anyhow::Result<Config> {
        let mut cli = Cli::try_parse_from(std::iter::once("restohub").chain(args.iter().copied()))?;
        cli.options
            .allowed_origins
            .retain(|o| args.contains(&o.as_str()));
        cli.options.validate()
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = parse(&[
            "--jwt-secret",
            "super-secret-signing-key-of-length-32",
            "--database-url",
            "postgres://app:db-password@db.internal/restohub",
            "--redis-url",
            "redis://:redis-password@cache.internal",
        ])
        .unwrap();
        let debug = format!("{config:?}");
        for secret in ["super-secret-signing-key", "db-password", "redis-password"] {
            assert!(!debug.contains(secret), "{secret} leaked: {debug}");
        }
    }

    #[test]
    fn metrics_get_a_listener_of_their_own_or_none() {
        let config = parse(&["--metrics-listen", "127.0.0.1:9464"]).unwrap();
        assert_eq!(
            config.metrics_listen,
            Some("127.0.0.1:9464".parse().unwrap())
        );
        let same = [
            "--listen",
            "127.0.0.1:9464",
            "--metrics-listen",
            "127.0.0.1:9464",
        ];
        let err = parse(&same).unwrap_err();
        assert!(err.to_string().contains("must differ"), "{err}");
        assert!(parse(&["--metrics-listen", "nowhere"]).is_err());
    }

    #[test]
    fn handshakes_leave_a_database_connection_for_orders() {
        let handshakes = |args: &[&str]| parse(args).unwrap().gateway.handshakes;
        assert_eq!(handshakes(&[]), 4, "the default, beside 16 connections");
        let two = ["--db-max-connections", "2", "--ws-handshakes", "4"];
        assert_eq!(handshakes(&two), 1);
        let one = ["--db-max-connections", "1", "--ws-handshakes", "4"];
        assert_eq!(handshakes(&one), 1, "never none");
        let many = ["--db-max-connections", "8", "--ws-handshakes", "6"];
        assert_eq!(handshakes(&many), 6);
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        let err = parse(&["--database-url", "mysql://x"]).unwrap_err();
        assert!(err.to_string().contains("postgres://"), "{err}");
        let err = parse(&["--allowed-origins", "pos.example.com"]).unwrap_err();
        assert!(err.to_string().contains("http"), "{err}");
        assert!(parse(&["--listen", "not-an-address"]).is_err());
        for flag in ["--header-read-timeout-secs", "--idle-timeout-secs"] {
            let err = parse(&[flag, "0"]).unwrap_err();
            assert!(err.to_string().contains("at least 1"), "{err}");
        }
    }

    #[test]
    fn a_redis_cluster_is_named_by_its_seed_nodes() {
        let config = parse(&[
            "--redis-cluster",
            "--redis-url",
            "redis://:pw@10.0.0.1:7000, redis://:pw@10.0.0.2:7000",
        ])
        .unwrap();
        assert!(config.redis_cluster);
        let seeds = redis_cluster_seeds(config.redis_url.as_ref().unwrap()).unwrap();
        assert_eq!(seeds.len(), 2);
        assert_eq!(
            seeds[1].addr,
            redis::ConnectionAddr::Tcp("10.0.0.2".into(), 7000)
        );
        let refused = [
            (vec!["--redis-cluster"], "needs REDIS_URL"),
            (
                vec!["--redis-url", "redis://a:7000,redis://b:7000"],
                "RESTOHUB_REDIS_CLUSTER",
            ),
            (
                vec![
                    "--redis-cluster",
                    "--redis-url",
                    "redis://a:7000,,redis://b",
                ],
                "empty entry (node 2)",
            ),
            (
                vec!["--redis-cluster", "--redis-url", "redis://:secret-pw@a/3"],
                "only database 0",
            ),
            (
                vec!["--redis-cluster", "--redis-url", "http://:secret-pw@a"],
                "node 1 is not a valid",
            ),
        ];
        for (args, reason) in refused {
            let err = format!("{:#}", parse(&args).unwrap_err());
            assert!(err.contains(reason), "{args:?}: {err}");
            assert!(!err.contains("secret-pw"), "the password leaked: {err}");
        }
    }

    #[test]
    fn connections_time_out_after_thirty_seconds_by_default() {
        let timeouts = parse(&[]).unwrap().connection_timeouts;
        assert_eq!(timeouts.header_read, Duration::from_secs(30));
        assert_eq!(timeouts.idle, Duration::from_secs(30));
    }

    #[test]
    fn write_quotas_default_and_turn_off() {
        let quotas = parse(&[]).unwrap().write_quotas;
        assert_eq!(quotas.per_writer.map(|n| n.get()), Some(600));
        assert_eq!(quotas.per_restaurant.map(|n| n.get()), Some(3000));
        let off = parse(&[
            "--account-write-rate-limit",
            "0",
            "--restaurant-write-rate-limit",
            "0",
        ])
        .unwrap()
        .write_quotas;
        assert_eq!((off.per_writer, off.per_restaurant), (None, None));
    }
}
