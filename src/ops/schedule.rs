//! Scheduled backups while serving (`--backup-every`): SQLite only. Each
//! run is logged; a failed run is logged and retried at the next tick,
//! never taking the hub down with it.

use std::path::{Path, PathBuf};

use super::backup::{backup, Written};
pub use crate::config::BackupSchedule;

const PREFIX: &str = "restohub-";
const SUFFIX: &str = ".db";

/// Takes a backup of `database` every `schedule.every` (the first one
/// period after start), forever.
pub async fn take_backups(database: PathBuf, schedule: BackupSchedule) {
    let start = tokio::time::Instant::now() + schedule.every;
    let mut every = tokio::time::interval_at(start, schedule.every);
    // A backup that overran its period is followed by the next one at the
    // next period, not by a burst of make-up runs.
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let (database, schedule) = (database.clone(), schedule.clone());
        match tokio::task::spawn_blocking(move || take_one(&database, &schedule)).await {
            Ok(Ok((written, removed))) => tracing::info!(
                path = %written.path.display(),
                bytes = written.bytes,
                took_ms = written.took.as_millis() as u64,
                schema = written.verified.schema_version,
                orders = written.verified.rows_in("orders"),
                events = written.verified.rows_in("events"),
                removed_old = removed.len(),
                "scheduled backup written and verified"
            ),
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "scheduled backup failed; will try again at the next period")
            }
            Err(e) => {
                tracing::error!(error = %e, "scheduled backup task failed; will try again at the next period")
            }
        }
    }
}

/// One scheduled run: a backup named by the time it was taken, then the
/// oldest ones beyond `keep` removed. Returns what was removed.
pub fn take_one(
    database: &Path,
    schedule: &BackupSchedule,
) -> anyhow::Result<(Written, Vec<PathBuf>)> {
    std::fs::create_dir_all(&schedule.dir)?;
    // The wall clock, not the hub's clock: these are the operator's files,
    // and their names must sort by when they were really taken.
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let target = schedule.dir.join(format!("{PREFIX}{stamp}{SUFFIX}"));
    let written = backup(database, &target)?;
    let removed = prune(&schedule.dir, schedule.keep)?;
    Ok((written, removed))
}

/// Deletes all but the newest `keep` scheduled backups in `dir` (their
/// names sort by time); files of any other name are left alone.
pub fn prune(dir: &Path, keep: usize) -> anyhow::Result<Vec<PathBuf>> {
    let mut backups: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    backups.sort();
    let old = backups.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for path in backups.into_iter().take(old) {
        std::fs::remove_file(&path)?;
        tracing::info!(path = %path.display(), "removed an old scheduled backup");
        removed.push(path);
    }
    Ok(removed)
}
