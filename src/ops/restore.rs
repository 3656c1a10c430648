//! `restohub restore`: puts a backup in place of the hub's SQLite file.
//!
//! Refused unless the backup verifies (see [`super::backup::verify`]),
//! while anyone has the database open (the exclusive [`crate::lockfile`]), and
//! over an existing database without `--force`. The backup is copied
//! beside the database under a temporary name and renamed over it, so the
//! database is either the old one or the whole new one; the old file's
//! `-wal` and `-shm` are removed first, since SQLite would otherwise replay
//! the old database's log into the new file.

use std::path::Path;

use anyhow::{bail, Context};

use super::backup::{copy, sync_parent, temporary_beside, verify, Verified};
use crate::lockfile::{self, LockError};

/// Restores `backup` as the database at `database`.
pub fn restore(backup: &Path, database: &Path, force: bool) -> anyhow::Result<Verified> {
    verify(backup).context("the backup was not restored")?;
    if let Some(dir) = database.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    }
    let _lock = lockfile::exclusive(database).map_err(|e| match e {
        LockError::Held(_) => anyhow::anyhow!(
            "{} is in use by a running hub or another restohub command; stop it before \
             restoring (nothing was changed)",
            database.display()
        ),
        other => other.into(),
    })?;
    if database.exists() && !force {
        bail!(
            "{} already exists; restoring would replace it. Take a backup of it first \
             (restohub backup --to FILE), then pass --force",
            database.display()
        );
    }
    let temporary = temporary_beside(database)?;
    let copied = copy(backup, &temporary).and_then(|()| verify(&temporary));
    let verified = match copied {
        Ok(verified) => verified,
        Err(e) => {
            let _ = std::fs::remove_file(&temporary);
            return Err(e.context("the backup was not restored"));
        }
    };
    std::fs::File::open(&temporary)
        .and_then(|f| f.sync_all())
        .context("cannot sync the restored copy")?;
    for suffix in ["-wal", "-shm"] {
        let mut sidecar = database.as_os_str().to_owned();
        sidecar.push(suffix);
        match std::fs::remove_file(&sidecar) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot remove {}", Path::new(&sidecar).display()))
            }
        }
    }
    std::fs::rename(&temporary, database)
        .with_context(|| format!("cannot move the restored copy to {}", database.display()))?;
    sync_parent(database)?;
    Ok(verified)
}
