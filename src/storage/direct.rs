//! SQLite's writer driven directly, for the transaction on the hot path.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands it every
//! statement over a channel: two thread wake-ups per statement. A placement
//! is about a dozen statements, and under load those hand-offs were most of
//! the hub's CPU (perf: futex waits and wake-ups from `flume`) and what held
//! SQLite near 1,000 orders/s. Here the writer's handle is borrowed from its
//! sqlx connection (`lock_handle`, which sqlx offers for direct SQLite calls)
//! and the whole transaction runs on the calling thread through rusqlite: one
//! hand-off per transaction instead of one per statement.
//!
//! Running on a tokio worker is acceptable because the transaction does not
//! wait on the disk: WAL with `synchronous=NORMAL` does not sync on commit,
//! checkpoints run from the checkpoint task, and the single writer never
//! waits for SQLite's lock. A placement holds the thread for well under a
//! millisecond.
//!
//! The same handle serves the statements every write shares (`super::append`)
//! inside sqlx's own transactions too ([`within`]): SQLite has one version of
//! them, and an order change appends its events in one hand-off, not one per
//! statement.

use std::borrow::Cow;

use rusqlite::{Connection, ToSql, Transaction, TransactionBehavior};
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::{SqliteConnection, SqlitePool};

/// How the transaction ends, with what the body returns either way.
pub(super) enum End<T> {
    Commit(T),
    Rollback(T),
}

/// Runs `body` inside one `BEGIN IMMEDIATE` transaction on the writer
/// connection of `pool`, on this thread. Any error, or a panic, rolls back.
pub(super) async fn write<T>(
    pool: &SqlitePool,
    body: impl FnOnce(&Connection) -> rusqlite::Result<End<T>>,
) -> sqlx::Result<T> {
    let mut pooled = pool.acquire().await?;
    within(&mut pooled, |conn| {
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        match body(&tx)? {
            End::Commit(value) => {
                tx.commit()?;
                Ok(value)
            }
            End::Rollback(value) => {
                tx.rollback()?;
                Ok(value)
            }
        }
    })
    .await
}

/// Runs `body` on the handle of the sqlx connection `conn`, on this thread,
/// inside whatever transaction `conn` has open: how sqlx transactions on
/// SQLite share the statements of [`super::append`] with the direct path.
pub(super) async fn within<T>(
    conn: &mut SqliteConnection,
    body: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> sqlx::Result<T> {
    let mut handle = conn.lock_handle().await?;
    // SAFETY: `handle` keeps the connection locked away from its sqlx worker
    // thread until it drops, and `conn` (which neither owns nor closes the
    // handle) is dropped before it, with every statement it prepared.
    let conn =
        unsafe { Connection::from_handle(handle.as_raw_handle().as_ptr()) }.map_err(failed)?;
    let result = body(&conn);
    drop(conn);
    drop(handle);
    result.map_err(failed)
}

/// Parameter names as sqlx writes them for both backends: `$1`, `$2`, …
const NAMES: [&str; 24] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15",
    "$16", "$17", "$18", "$19", "$20", "$21", "$22", "$23", "$24",
];

/// Prepares `sql` (the same text the sqlx path runs, with `$n` parameters)
/// and binds `args[n - 1]` to each `$n` it uses.
fn bound<'c>(
    conn: &'c Connection,
    sql: &str,
    args: &[&dyn ToSql],
) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    // More arguments than names would leave the last ones unbound (NULL).
    if args.len() > NAMES.len() {
        return Err(rusqlite::Error::InvalidParameterCount(
            args.len(),
            NAMES.len(),
        ));
    }
    let mut stmt = conn.prepare_cached(sql)?;
    for (name, arg) in NAMES.iter().zip(args) {
        if let Some(index) = stmt.parameter_index(name)? {
            stmt.raw_bind_parameter(index, arg)?;
        }
    }
    Ok(stmt)
}

/// Runs a statement that returns no rows.
pub(super) fn execute(conn: &Connection, sql: &str, args: &[&dyn ToSql]) -> rusqlite::Result<()> {
    bound(conn, sql, args)?.raw_execute().map(drop)
}

/// The first row mapped by `map`, or `None`.
pub(super) fn optional<T>(
    conn: &Connection,
    sql: &str,
    args: &[&dyn ToSql],
    map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let mut stmt = bound(conn, sql, args)?;
    let mut rows = stmt.raw_query();
    rows.next()?.map(map).transpose()
}

/// Every row, each mapped by `map`.
pub(super) fn all<T>(
    conn: &Connection,
    sql: &str,
    args: &[&dyn ToSql],
    mut map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut stmt = bound(conn, sql, args)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(map(row)?);
    }
    Ok(out)
}

/// The first row mapped by `map`; no row is an error.
pub(super) fn one<T>(
    conn: &Connection,
    sql: &str,
    args: &[&dyn ToSql],
    map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    optional(conn, sql, args, map)?.ok_or(rusqlite::Error::QueryReturnedNoRows)
}

/// rusqlite's error as a sqlx database error, so callers classify it
/// (unique violation and so on) as they do any other.
fn failed(e: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::Database(Box::new(DirectError {
        message: e.to_string(),
        code: e.sqlite_error().map(|f| f.extended_code),
    }))
}

#[derive(Debug)]
struct DirectError {
    message: String,
    code: Option<i32>,
}

impl std::fmt::Display for DirectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DirectError {}

impl DatabaseError for DirectError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        self.code.map(|c| Cow::Owned(c.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        use rusqlite::ffi;
        match self.code {
            Some(ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
                ErrorKind::UniqueViolation
            }
            Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => ErrorKind::ForeignKeyViolation,
            Some(ffi::SQLITE_CONSTRAINT_NOTNULL) => ErrorKind::NotNullViolation,
            Some(ffi::SQLITE_CONSTRAINT_CHECK) => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pool() -> SqlitePool {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        pool
    }

    async fn rows(pool: &SqlitePool) -> Vec<(String, i64)> {
        sqlx::query_as("SELECT k, n FROM t ORDER BY k")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn commits_rolls_back_and_reports_constraints_as_sqlx_does() {
        let pool = pool().await;
        // Parameters bind by name, whatever order they appear in.
        let n = write(&pool, |c| {
            execute(c, "INSERT INTO t (n, k) VALUES ($2, $1)", &[&"a", &1])?;
            one(c, "SELECT n + $2 FROM t WHERE k = $1", &[&"a", &10], |r| {
                r.get::<_, i64>(0)
            })
            .map(End::Commit)
        })
        .await
        .unwrap();
        assert_eq!(n, 11);
        let kept = write(&pool, |c| {
            execute(c, "INSERT INTO t (k, n) VALUES ($1, $2)", &[&"b", &2])?;
            Ok(End::Rollback("kept"))
        })
        .await
        .unwrap();
        assert_eq!(kept, "kept");
        // An error mid-way rolls back what came before it.
        let err = write(&pool, |c| {
            execute(c, "INSERT INTO t (k, n) VALUES ($1, $2)", &[&"c", &3])?;
            execute(c, "INSERT INTO t (k, n) VALUES ($1, $2)", &[&"a", &4])?;
            Ok(End::Commit(()))
        })
        .await
        .unwrap_err();
        let sqlx::Error::Database(e) = err else {
            panic!("{err:?}")
        };
        assert!(e.is_unique_violation(), "{e}");
        assert_eq!(rows(&pool).await, [("a".to_string(), 1)]);
        // The connection is sqlx's again, outside any transaction.
        sqlx::query("INSERT INTO t (k, n) VALUES ('d', 5)")
            .execute(&pool)
            .await
            .unwrap();
        let all = write(&pool, |c| {
            all(c, "SELECT n FROM t ORDER BY k", &[], |r| r.get::<_, i64>(0)).map(End::Commit)
        })
        .await
        .unwrap();
        assert_eq!(all, [1, 5]);
    }
}
