//! `restohub backup`: a consistent copy of the hub's SQLite file while the
//! hub keeps writing, and the check of a copy (`--verify`).
//!
//! The copy is SQLite's online backup API in one step: one read
//! transaction on a WAL snapshot, so it sees exactly the transactions
//! committed before it began (every acknowledged order and its events, or
//! none of a transaction) and never blocks the hub's writer. Stepping a few
//! pages at a time instead would restart whenever the hub commits, and
//! could never finish on a busy hub. The copy is written beside the target
//! under a temporary name, switched out of WAL mode (a backup is one
//! self-contained file), verified, synced, and only then renamed into
//! place: a file at the target name is always a complete, checked backup.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

/// What a backup file holds, as checked by [`verify`].
#[derive(Debug, Clone)]
pub struct Verified {
    /// The newest migration the file's schema has.
    pub schema_version: i64,
    /// Rows per table, by table name.
    pub rows: Vec<(String, i64)>,
}

impl Verified {
    /// One line per fact, as the commands print them.
    pub fn describe(&self) -> String {
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|(table, n)| format!("{table} {n}"))
            .collect();
        format!(
            "integrity: ok\nschema: migration {} (this binary knows up to {})\nrows: {}",
            self.schema_version,
            newest_known_migration(),
            rows.join(", ")
        )
    }

    pub fn rows_in(&self, table: &str) -> Option<i64> {
        self.rows.iter().find(|(t, _)| t == table).map(|(_, n)| *n)
    }
}

/// A finished backup.
#[derive(Debug)]
pub struct Written {
    pub path: PathBuf,
    pub bytes: u64,
    pub took: Duration,
    pub verified: Verified,
}

/// The newest migration this binary carries: a backup from a newer schema
/// than this cannot be restored by it.
pub fn newest_known_migration() -> i64 {
    crate::storage::sqlite_migrations()
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// Copies the live database `source` to `target` (which must not exist)
/// and verifies the copy.
pub fn backup(source: &Path, target: &Path) -> anyhow::Result<Written> {
    let started = Instant::now();
    if !source.exists() {
        bail!(
            "there is no database at {} (is --data-dir the hub's?)",
            source.display()
        );
    }
    if target.exists() {
        bail!(
            "{} already exists; a backup never overwrites a file, choose a new name",
            target.display()
        );
    }
    // Held while copying, so a restore cannot swap the file underneath.
    let _in_use = crate::lockfile::shared(source).map_err(|e| match e {
        crate::lockfile::LockError::Held(_) => anyhow::anyhow!(
            "{} is being restored; back it up once the restore has finished",
            source.display()
        ),
        other => other.into(),
    })?;
    let temporary = temporary_beside(target)?;
    let written = copy(source, &temporary).and_then(|()| {
        let verified = verify(&temporary)?;
        sync_file(&temporary)?;
        Ok(verified)
    });
    let verified = match written {
        Ok(verified) => verified,
        Err(e) => {
            let _ = std::fs::remove_file(&temporary);
            return Err(e);
        }
    };
    if let Err(e) = std::fs::rename(&temporary, target) {
        let _ = std::fs::remove_file(&temporary);
        return Err(e)
            .with_context(|| format!("cannot move the backup into place at {}", target.display()));
    }
    sync_parent(target)?;
    let bytes = std::fs::metadata(target)?.len();
    Ok(Written {
        path: target.to_owned(),
        bytes,
        took: started.elapsed(),
        verified,
    })
}

/// Copies the database at `source` into a new file `target` with SQLite's
/// backup API, in one step (one consistent snapshot), and leaves `target`
/// in rollback-journal mode: a single file with no -wal beside it.
pub(crate) fn copy(source: &Path, target: &Path) -> anyhow::Result<()> {
    let from = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open {}", source.display()))?;
    // Opening a snapshot can meet a writer mid-checkpoint for a moment.
    from.busy_timeout(Duration::from_secs(10))?;
    let mut to =
        Connection::open(target).with_context(|| format!("cannot create {}", target.display()))?;
    {
        let backup = Backup::new(&from, &mut to).context("cannot start the backup")?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match backup
                .step(-1)
                .with_context(|| format!("cannot copy {}", source.display()))?
            {
                StepResult::Done => break,
                // Only when the source is locked (not in WAL mode's normal
                // operation): wait and try the whole copy again.
                StepResult::Busy | StepResult::Locked | StepResult::More
                    if Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                other => bail!("the database stayed locked ({other:?}); no backup taken"),
            }
        }
    }
    let mode: String = to.query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("delete") {
        bail!("cannot take the copy out of WAL mode (still {mode})");
    }
    to.close()
        .map_err(|(_, e)| e)
        .context("cannot close the copy")?;
    Ok(())
}

/// Checks that `file` is an intact restohub database this binary can serve:
/// SQLite's integrity check passes, it has restohub's migrations, none newer
/// than this binary knows. Counts the rows of every table.
pub fn verify(file: &Path) -> anyhow::Result<Verified> {
    if !file.is_file() {
        bail!("{} is not a file", file.display());
    }
    let db = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open {}", file.display()))?;
    db.busy_timeout(Duration::from_secs(10))?;
    let not_sqlite = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseCorrupt) => anyhow::anyhow!(
            "{} is damaged (fails SQLite's integrity check): {e}",
            file.display()
        ),
        _ => anyhow::anyhow!("{} is not a SQLite database: {e}", file.display()),
    };
    let mut check = db.prepare("PRAGMA integrity_check").map_err(not_sqlite)?;
    let problems: Vec<String> = check
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(not_sqlite)?
        .collect::<Result<_, _>>()
        .map_err(not_sqlite)?;
    drop(check);
    if problems != ["ok"] {
        let shown: Vec<&str> = problems.iter().take(5).map(String::as_str).collect();
        bail!(
            "{} fails SQLite's integrity check ({} problem(s)): {}",
            file.display(),
            problems.len(),
            shown.join("; ")
        );
    }
    Ok(Verified {
        schema_version: schema_version(&db, file)?,
        rows: row_counts(&db)?,
    })
}

/// The newest migration applied to `db`; an error if it is not a restohub
/// database (no migrations table, or migrations this binary does not have).
fn schema_version(db: &Connection, file: &Path) -> anyhow::Result<i64> {
    let has_table: bool = db.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master \
         WHERE type = 'table' AND name = '_sqlx_migrations')",
        [],
        |row| row.get(0),
    )?;
    if !has_table {
        bail!(
            "{} is not a restohub database (it has no _sqlx_migrations table)",
            file.display()
        );
    }
    let mut query = db.prepare("SELECT version, success FROM _sqlx_migrations")?;
    let applied: Vec<(i64, bool)> = query
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    if let Some((version, _)) = applied.iter().find(|(_, ok)| !ok) {
        bail!(
            "{}: migration {version} did not finish; this copy is not usable",
            file.display()
        );
    }
    let Some(newest) = applied.iter().map(|(v, _)| *v).max() else {
        bail!(
            "{} is not a restohub database (no migrations applied)",
            file.display()
        );
    };
    let ours = newest_known_migration();
    if newest > ours {
        bail!(
            "{} has schema migration {newest}, newer than this restohub knows ({ours}); \
             restore it with the restohub version that wrote it",
            file.display()
        );
    }
    let known = crate::storage::sqlite_migrations();
    if let Some((stranger, _)) = applied
        .iter()
        .find(|(v, _)| !known.iter().any(|m| m.version == *v))
    {
        bail!(
            "{}: migration {stranger} is not one of restohub's",
            file.display()
        );
    }
    Ok(newest)
}

/// Rows in every table of `db`, by name.
fn row_counts(db: &Connection) -> anyhow::Result<Vec<(String, i64)>> {
    let mut tables = db.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )?;
    let names: Vec<String> = tables
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    names
        .into_iter()
        .map(|name| {
            let quoted = name.replace('"', "\"\"");
            let n: i64 =
                db.query_row(&format!("SELECT count(*) FROM \"{quoted}\""), [], |row| {
                    row.get(0)
                })?;
            Ok((name, n))
        })
        .collect()
}

/// A name for a file being written beside `target`, in the same directory
/// (so the final rename is atomic).
pub(crate) fn temporary_beside(target: &Path) -> anyhow::Result<PathBuf> {
    let name = target
        .file_name()
        .with_context(|| format!("{} names no file", target.display()))?;
    let mut temporary = name.to_owned();
    temporary.push(format!(".partial-{}", std::process::id()));
    let path = target.with_file_name(temporary);
    // A leftover from an interrupted run of this very process id.
    let _ = std::fs::remove_file(&path);
    Ok(path)
}

fn sync_file(path: &Path) -> anyhow::Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot sync {}", path.display()))
}

/// Makes a rename in `path`'s directory durable.
pub(crate) fn sync_parent(path: &Path) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync directory {}", dir.display()))
}
