//! Who is using a SQLite database (for `restohub restore`): every process that opens it through
//! [`crate::storage::Store`] holds a shared lock on `<file>.lock`; `restore`
//! takes it exclusively. So a restore refuses while a hub (or `migrate`, or
//! a second instance) has the database open, and a hub refuses to start
//! while a restore replaces the file.
//!
//! The lock is `flock(2)` on a separate file, not on the database: SQLite
//! takes its own (POSIX) locks on the database file, and a restore renames
//! a new file over it, which would leave a lock on the database file
//! guarding the old inode. The kernel releases the lock when the holder's
//! process ends, so a crashed hub never leaves a stale lock behind (the
//! file stays, empty and harmless).

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// A held lock on a database's lock file, released when dropped.
#[derive(Debug)]
pub struct DatabaseLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock in a conflicting mode.
    #[error("{} is locked by another process", .0.display())]
    Held(PathBuf),
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The lock file that guards `database`.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// A shared lock: any number of hubs and commands may hold one at once.
pub fn shared(database: &Path) -> Result<DatabaseLock, LockError> {
    take(database, libc::LOCK_SH)
}

/// The exclusive lock a restore needs: refused while anyone holds either.
pub fn exclusive(database: &Path) -> Result<DatabaseLock, LockError> {
    take(database, libc::LOCK_EX)
}

fn take(database: &Path, mode: libc::c_int) -> Result<DatabaseLock, LockError> {
    let path = lock_path(database);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| LockError::Io {
            path: path.clone(),
            source,
        })?;
    // SAFETY: flock on a file descriptor we own; it touches no memory.
    let taken = unsafe { libc::flock(file.as_raw_fd(), mode | libc::LOCK_NB) };
    if taken == 0 {
        return Ok(DatabaseLock { _file: file });
    }
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Err(LockError::Held(path))
    } else {
        Err(LockError::Io {
            path,
            source: error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_locks_coexist_and_exclude_an_exclusive_one() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("restohub.db");
        let a = shared(&db).unwrap();
        let b = shared(&db).unwrap();
        assert!(matches!(exclusive(&db), Err(LockError::Held(_))));
        drop((a, b));
        let x = exclusive(&db).unwrap();
        assert!(matches!(shared(&db), Err(LockError::Held(_))));
        drop(x);
        shared(&db).unwrap();
    }
}
