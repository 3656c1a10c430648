//! Storage: one API over SQLite (embedded default) and PostgreSQL (scaled out).
//!
//! Every query is written once, in SQL both databases accept (`$n` parameters,
//! `RETURNING`, `ON CONFLICT`), and runs on whichever pool is configured via
//! [`on_db!`]. Backend differences live only in `migrations/sqlite` and
//! `migrations/postgres`, in [`connect`], in the statements every write
//! shares ([`append`]: events and statistics, once per backend), and in how
//! a placement runs ([`placement`]): on SQLite directly on the writer's
//! handle ([`direct`]), on PostgreSQL as a read and a write. Every query is
//! scoped to one restaurant; this module never decides who may call it, nor
//! anything else a business rule would (a placement is decided by the
//! caller's plan), and it calls nothing above it. A stored value that cannot
//! be read back is an error naming its row ([`decoded`]), never a default.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use dashmap::DashMap;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgConnection, PgPool, SqlitePool};

/// Runs `$body` with `$pool` bound to the concrete pool, so the same query
/// text is compiled once per backend with that backend's native types. The
/// body is written like a closure (`on_db!(self, |pool| ...)`, it is not
/// one: it is expanded once per backend in place, `.await` and `?`
/// included) so that rustfmt formats it. On SQLite these connections refuse
/// writes; [`on_writer!`] binds the pool that may write.
macro_rules! on_db {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::storage::Db::Sqlite { read: $pool, .. } => $body,
            $crate::storage::Db::Postgres($pool) => $body,
        }
    };
}

/// [`on_db!`] with the pool that may write: on SQLite its single writer
/// connection (see [`Db`]).
macro_rules! on_writer {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::storage::Db::Sqlite { write: $pool, .. } => $body,
            $crate::storage::Db::Postgres($pool) => $body,
        }
    };
}

// Before `analytics`, which uses its `money_between!`.
#[macro_use]
mod money;

mod analytics;
mod append;
mod audit;
mod checks;
mod courses;
mod direct;
mod events;
mod lifecycle;
mod login_attempts;
// Before `snapshots`, which reads items with its `item_cols!`.
#[macro_use]
mod menu;
mod mfa;
mod modifiers;
mod orders;
mod placement;
mod refresh_tokens;
mod restaurants;
mod revocations;
mod schema;
mod screens;
mod snapshots;
mod stations;
mod tables;
mod timers;
mod users;

pub use analytics::AnalyticsRange;
pub(crate) use append::Append;
pub(crate) use audit::AppendAudit;
pub use audit::{AuditDraft, AuditFilter, AuditHead, AuditRow, GENESIS_HASH};
pub use checks::{
    CheckAmounts, CheckChanged, CheckDone, CheckFacts, CheckOpen, CheckPlan, CheckRow, CheckTarget,
    CheckWrite, DiscountRow, IntentRow, MoneySettings, NewDiscount, NewPayment, NewRefund,
    PaymentRow, TaxedThing,
};
pub use events::{EventDraft, RoomSeqs};
pub use lifecycle::{Changed, OrderChange, OrderChangePlan, OrderChanged, StockReturn};
pub use lifecycle::{LineUpdate, StockChange, TableChange, TableRules};
pub use login_attempts::{LoginKey, LoginLock};
pub use mfa::MfaState;
pub use placement::{
    ItemFacts, NewLine, NewOrder, PlaceOutcome, Placed, PlacementAsk, PlacementFacts,
    PlacementPlan, PlacementWrite, Shortage, StockTake, Written,
};
pub use refresh_tokens::{NewRefreshToken, Rotation};
pub(crate) use schema::sqlite_migrations;
pub use schema::MigrationStatus;
pub use screens::{Advanced, ScreenRow, SeenOrder};
pub use snapshots::KitchenSnapshot;
pub use tables::GuestTable;
pub use timers::TicketAlarm;
pub use users::{Credentials, NewUser, UserChanges};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub(crate) enum Db {
    /// SQLite lets one connection write at a time, and a writer that finds
    /// the lock taken sleeps in SQLite's busy handler (1, 2, 5, 10 … 100 ms
    /// steps), which under load cost both throughput and tail latency. So all
    /// writes go through `write`, a pool of one connection whose queue is
    /// fair and wakes the next writer at once; `read` connections run beside
    /// it on WAL snapshots and are opened `query_only`, so a write sent to
    /// them fails loudly instead of contending.
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// Order transactions of one restaurant in flight at once per instance
/// (see [`Store::lane`]): enough to overlap one commit's wait with the next
/// transaction's statements, few enough not to pile up on its row locks.
const LANE_WIDTH: usize = 4;

/// The hub's database. Cheap to clone (the pools are shared).
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Db,
    lanes: Arc<DashMap<i64, Arc<tokio::sync::Semaphore>>>,
    /// PostgreSQL: each restaurant's placements waiting to be written
    /// together (see `placement/batch.rs`).
    queues: Arc<placement::Queues>,
    /// PostgreSQL: the menu facts placements read, kept per restaurant with
    /// their menu version (see `placement/menus.rs`).
    menus: Arc<placement::Menus>,
    /// Times the main write transactions (inert unless a hub instruments it).
    meters: crate::instruments::DbMeters,
    /// SQLite's checkpoint task, stopped when the last clone is dropped.
    _checkpointer: Option<Arc<AbortOnDrop>>,
    /// SQLite: a shared hold on the file's lock, so `restore` refuses to
    /// replace it while this store has it open (see [`crate::lockfile`]).
    _in_use: Option<Arc<crate::lockfile::DatabaseLock>>,
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A pooled PostgreSQL connection idle this long is pinged before use.
const PING_IF_IDLE: Duration = Duration::from_secs(10);

/// How often SQLite's WAL is checkpointed into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Checkpoints SQLite's WAL from a read connection, beside the writer.
/// Left to itself, SQLite runs a checkpoint inside the commit that takes the
/// WAL past 1,000 pages, syncing the files to disk while every writer waits:
/// that put a 6-7 ms p99 on placements (2.2 ms with the file on tmpfs). A
/// passive checkpoint (allowed on `query_only` connections) copies what
/// it can without blocking writers or readers.
async fn checkpoints(pool: SqlitePool) {
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    loop {
        every.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "SQLite checkpoint failed; will retry");
        }
    }
}

/// Where the data lives.
pub enum Location<'a> {
    /// A SQLite file, created with its directory if missing.
    SqliteFile(&'a Path),
    /// A `postgres://` URL.
    Postgres(&'a str),
}

impl Store {
    /// Opens the pool (creating a SQLite file if needed) without migrating.
    pub async fn connect(location: Location<'_>, max_connections: u32) -> anyhow::Result<Store> {
        let mut checkpointer = None;
        let mut in_use = None;
        let db = match location {
            Location::SqliteFile(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).with_context(|| {
                        format!("cannot create data directory {}", dir.display())
                    })?;
                }
                in_use = Some(Arc::new(crate::lockfile::shared(path).map_err(
                    |e| match e {
                        crate::lockfile::LockError::Held(_) => anyhow::anyhow!(
                            "{} is being restored (restohub restore holds its lock); \
                         start once the restore has finished",
                            path.display()
                        ),
                        other => other.into(),
                    },
                )?));
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true);
                let open = |options: SqliteConnectOptions, connections: u32| async move {
                    SqlitePoolOptions::new()
                        .max_connections(connections)
                        .acquire_timeout(Duration::from_secs(10))
                        // A ping is a round trip to the connection's thread,
                        // and a local file does not go stale.
                        .test_before_acquire(false)
                        .connect_with(options)
                        .await
                        .with_context(|| format!("cannot open SQLite database {}", path.display()))
                };
                // The writer first: it creates the file and switches it to WAL.
                // It never checkpoints itself (see `checkpoints`).
                let write = open(options.clone().pragma("wal_autocheckpoint", "0"), 1).await?;
                let read = open(options.pragma("query_only", "ON"), max_connections).await?;
                let task = tokio::spawn(checkpoints(read.clone()));
                checkpointer = Some(Arc::new(AbortOnDrop(task.abort_handle())));
                Db::Sqlite { read, write }
            }
            Location::Postgres(url) => {
                let options = postgres_options(url).await?;
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(5))
                    // sqlx pings every connection as it returns to the pool;
                    // one more ping as it leaves would be a third round trip
                    // for a single query. Only a connection that sat idle
                    // (the database may have restarted since) is tested.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for > PING_IF_IDLE {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .connect_with(options)
                    .await
                    // sqlx's message already ends with its cause (a TLS
                    // error, say); chaining the cause would print it twice.
                    .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL: {e}"))?;
                Db::Postgres(pool)
            }
        };
        Ok(Store {
            db,
            lanes: Arc::default(),
            queues: Arc::default(),
            menus: Arc::default(),
            meters: crate::instruments::DbMeters::default(),
            _checkpointer: checkpointer,
            _in_use: in_use,
        })
    }

    /// Applies the embedded migrations for this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.db {
            Db::Sqlite { write, .. } => schema::SQLITE.run(write).await,
            Db::Postgres(pool) => schema::POSTGRES.run(pool).await,
        }
        .context("database migration failed")
    }

    /// The store with its transactions timed into `meters`.
    pub fn instrumented(mut self, meters: crate::instruments::DbMeters) -> Store {
        self.meters = meters;
        self
    }

    /// Each pool's (name, open connections, idle ones, most it may open),
    /// for metrics. Reads the pools' own counters; no query.
    pub fn pool_usage(&self) -> Vec<(&'static str, u32, usize, u32)> {
        fn usage<DB: sqlx::Database>(
            name: &'static str,
            pool: &sqlx::Pool<DB>,
        ) -> (&'static str, u32, usize, u32) {
            let max = pool.options().get_max_connections();
            (name, pool.size(), pool.num_idle(), max)
        }
        match &self.db {
            Db::Sqlite { read, write } => vec![usage("read", read), usage("write", write)],
            Db::Postgres(pool) => vec![usage("main", pool)],
        }
    }

    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> sqlx::Result<()> {
        on_db!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ()))
    }

    /// Waits for one of this instance's [`LANE_WIDTH`] turns to write
    /// `restaurant`'s orders. Placements and order changes of a restaurant
    /// serialize on its rows from the statistics upsert to commit (the hour's
    /// figures, the event seq); more of them at once only queue on those row
    /// locks, where PostgreSQL spends CPU on waits and re-checks: pgbench on
    /// `bench/place_order.sql` commits 940 per second with 4 clients and 410
    /// with 16 (BENCHMARKS.md). Waiting here instead also leaves the pool's
    /// other connections to other restaurants. On PostgreSQL a restaurant's
    /// placements take one turn per batch (see `placement/batch.rs`).
    async fn lane(&self, restaurant: i64) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.lane_of(restaurant).acquire_owned().await.ok()
    }

    /// A turn of [`Store::lane`] if one is free now.
    fn free_lane(&self, restaurant: i64) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.lane_of(restaurant).try_acquire_owned().ok()
    }

    fn lane_of(&self, restaurant: i64) -> Arc<tokio::sync::Semaphore> {
        self.lanes
            .entry(restaurant)
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(LANE_WIDTH)))
            .clone()
    }

    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// The options to connect to `url` with: in plain text to this machine when
/// the URL names no TLS mode and the server takes plain text (see
/// [`crate::datastore_tls::plain_text_first`]), else as the URL says.
async fn postgres_options(url: &str) -> anyhow::Result<PgConnectOptions> {
    let options =
        PgConnectOptions::from_str(url).context("DATABASE_URL is not a valid postgres:// URL")?;
    let mode_in_env = std::env::var_os("PGSSLMODE").is_some();
    if !crate::datastore_tls::plain_text_first(url, mode_in_env) {
        return Ok(options);
    }
    let plain = options.clone().ssl_mode(PgSslMode::Disable);
    let probe = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect_with(&plain));
    match probe.await {
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            Ok(plain)
        }
        // Refused in plain text (a server that takes only TLS), or not
        // reached yet: libpq's default, as the URL would have had.
        _ => Ok(options),
    }
}

/// Opening a transaction that will write. On SQLite it takes the write lock
/// up front (`BEGIN IMMEDIATE`), so a transaction never starts on a read
/// snapshot it then cannot upgrade ("database is locked"); writers already
/// queue for the single writer connection (see [`Db`]).
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    /// Appended to a SELECT that must lock its rows until commit.
    const FOR_UPDATE: &'static str;
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, Self::Db>>;
    /// A read-only transaction whose reads all see one snapshot.
    async fn begin_snapshot(&self) -> sqlx::Result<sqlx::Transaction<'static, Self::Db>>;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    // The IMMEDIATE transaction already holds the database's write lock.
    const FOR_UPDATE: &'static str = "";
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
    // In WAL mode a deferred transaction reads one snapshot from its first read.
    async fn begin_snapshot(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.begin().await
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    // The lock an update of the row's other columns takes anyway. Not `FOR
    // UPDATE`, which also waits for (and holds up) the key-share lock a
    // foreign-key check takes: an order's write checks its lines' items and
    // its table after taking its restaurant's event seq, and a change that
    // held the item or table `FOR UPDATE` and then wanted the seq for its
    // own events deadlocked with it. A change of a key column still takes
    // `FOR UPDATE` when it is written.
    const FOR_UPDATE: &'static str = " FOR NO KEY UPDATE";
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.begin().await
    }
    async fn begin_snapshot(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
    }
}

/// The row-locking suffix of the pool's backend.
pub(crate) fn lock_suffix<P: BeginWrite>(_: &P) -> &'static str {
    P::FOR_UPDATE
}

/// A JSON column of a stored row, parsed. A value that does not parse is a
/// corrupt row: an error naming the row (`what`) and the column, logged
/// here, never a default.
pub(crate) fn decoded<T: serde::de::DeserializeOwned>(
    text: &str,
    column: &str,
    what: impl FnOnce() -> String,
) -> sqlx::Result<T> {
    serde_json::from_str(text).map_err(|e| corrupt(what(), column, e))
}

/// The error for a stored value that cannot be read back, logged with the
/// row it is in.
pub(crate) fn corrupt(row: String, column: &str, cause: impl std::fmt::Display) -> sqlx::Error {
    let message = format!("{row}: column {column} cannot be read: {cause}");
    tracing::error!(%message, "corrupt row");
    sqlx::Error::Decode(message.into())
}

/// Keyset pagination: rows with `id > after`, at most `limit` of them.
#[derive(Debug, Clone, Copy)]
pub struct PageQuery {
    pub after: i64,
    pub limit: i64,
}
