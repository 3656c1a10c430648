//! Operating a hub: backups of its SQLite file and their restore, scheduled
//! backups, and `check-config`. These run beside a hub (or instead of one)
//! on the files and servers the configuration names; they never serve.

pub mod backup;
pub mod check;
pub mod commands;
pub mod restore;
pub mod schedule;

use secrecy::ExposeSecret;

use crate::config::{Config, Database};
use crate::storage::{Location, Store};

/// Opens the database the configuration names (no migrations).
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let location = match &config.database {
        Database::SqliteFile(path) => Location::SqliteFile(path),
        Database::Postgres(url) => {
            if let Some(warning) = crate::datastore_tls::postgres_warning(url) {
                tracing::warn!("{warning}");
            }
            Location::Postgres(url.expose_secret())
        }
    };
    Store::connect(location, config.db_max_connections).await
}
