//! Which schema migrations a database has, against those this binary
//! carries (for `check-config` and for checking backups).

use sqlx::migrate::Migrator;

use super::{Db, Store};

pub(super) static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
pub(super) static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// The migrations this binary applies to a SQLite database.
pub(crate) fn sqlite_migrations() -> &'static Migrator {
    &SQLITE
}

/// Migrations applied to a database and those this binary knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Applied and finished, ascending.
    pub applied: Vec<i64>,
    /// Started and not finished (sqlx marks them so on failure).
    pub failed: Vec<i64>,
    /// This binary's, ascending.
    pub known: Vec<i64>,
}

impl MigrationStatus {
    /// Known to this binary and not yet applied (`serve` applies them).
    pub fn pending(&self) -> Vec<i64> {
        let done = |v: &&i64| self.applied.contains(v);
        self.known.iter().filter(|v| !done(v)).copied().collect()
    }

    /// Applied but unknown to this binary: a newer version wrote the schema.
    pub fn unknown(&self) -> Vec<i64> {
        let ours = |v: &&i64| self.known.contains(v);
        self.applied.iter().filter(|v| !ours(v)).copied().collect()
    }
}

impl Store {
    /// Reads the migrations table (absent on a database never migrated).
    pub async fn migration_status(&self) -> sqlx::Result<MigrationStatus> {
        let (exists, migrator) = match &self.db {
            Db::Sqlite { read, .. } => (
                sqlx::query_scalar::<_, bool>(
                    "SELECT EXISTS (SELECT 1 FROM sqlite_master \
                     WHERE type = 'table' AND name = '_sqlx_migrations')",
                )
                .fetch_one(read)
                .await?,
                &SQLITE,
            ),
            Db::Postgres(pool) => (
                sqlx::query_scalar::<_, bool>("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(pool)
                    .await?,
                &POSTGRES,
            ),
        };
        let rows: Vec<(i64, bool)> = if exists {
            on_db!(self, |pool| sqlx::query_as(
                "SELECT version, success FROM _sqlx_migrations ORDER BY version"
            )
            .fetch_all(pool)
            .await?)
        } else {
            Vec::new()
        };
        let pick = |ok: bool| rows.iter().filter(|r| r.1 == ok).map(|r| r.0).collect();
        Ok(MigrationStatus {
            applied: pick(true),
            failed: pick(false),
            known: migrator.iter().map(|m| m.version).collect(),
        })
    }
}

/// PostgreSQL's tables that have never had statistics gathered, by hand or by
/// autovacuum, and have since seen at least `$1` rows inserted, updated or
/// deleted, among those this role may analyze (it owns them, or is a member
/// of their owner): each one's name and its quoted, schema-qualified name.
const NEW_TABLES: &str = "SELECT s.relname::TEXT, format('%I.%I', s.schemaname, s.relname) \
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
    WHERE s.schemaname = current_schema() AND s.last_analyze IS NULL \
    AND s.last_autoanalyze IS NULL AND s.n_mod_since_analyze >= $1 \
    AND pg_has_role(c.relowner, 'USAGE') ORDER BY s.relname";

impl Store {
    /// Gives PostgreSQL's planner its first statistics of each table that has
    /// none yet and has seen at least `min_changes` changed rows; returns the
    /// tables analyzed.
    ///
    /// Without statistics the planner takes a new table to hold a few rows,
    /// and every index that starts with `restaurant_id` then looks as good as
    /// the unique one a lookup matches in full. The plans a pool connection
    /// caches in its first minutes keep that choice: on a new database the
    /// placement's idempotency-key lookup and the order lines' foreign-key
    /// check each walked all of the restaurant's orders through
    /// `orders_by_placed_seq`, for as long as the connection lived or until
    /// autovacuum's first analysis (a minute or more). Analyzing invalidates
    /// those plans. On SQLite there is nothing to do: its planner takes a
    /// unique index whose columns a lookup all matches, statistics or not.
    pub async fn analyze_new_tables(&self, min_changes: i64) -> sqlx::Result<Vec<String>> {
        let Db::Postgres(pool) = &self.db else {
            return Ok(Vec::new());
        };
        let due: Vec<(String, String)> = sqlx::query_as(NEW_TABLES)
            .bind(min_changes)
            .fetch_all(pool)
            .await?;
        for (_, quoted) in &due {
            sqlx::raw_sql(&format!("ANALYZE {quoted}"))
                .execute(pool)
                .await?;
        }
        Ok(due.into_iter().map(|(name, _)| name).collect())
    }
}
