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
