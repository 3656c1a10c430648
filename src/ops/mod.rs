//! Operating a hub: backups of its SQLite file and their restore, scheduled
//! backups, and `check-config`. These run beside a hub (or instead of one)
//! on the files and servers the configuration names; they never serve.

pub mod backup;
pub mod check;
pub mod commands;
pub mod restore;
pub mod schedule;
