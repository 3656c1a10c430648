//! The `backup` and `restore` commands: which database the configuration
//! names, and what they print.

use std::path::PathBuf;

use anyhow::bail;

use crate::config::{BackupArgs, Config, Database, RestoreArgs};

/// Why the file commands stop at PostgreSQL: its backups are the
/// database's own tools (pg_dump must match the server's major version;
/// managed databases bring snapshots and point-in-time recovery), and the
/// hub cannot choose their format, compression or retention for an
/// operator.
const POSTGRES_TOOLS: &str = "DATABASE_URL is PostgreSQL: back it up with the database's own \
    tools (pg_dump -Fc, or pg_basebackup with WAL archiving for point-in-time recovery) and \
    restore with pg_restore; the steps are in docs/OPERATIONS.md (Backups)";

fn sqlite_file(config: &Config) -> anyhow::Result<PathBuf> {
    match &config.database {
        Database::SqliteFile(path) => Ok(path.clone()),
        Database::Postgres(_) => bail!("{POSTGRES_TOOLS}"),
    }
}

/// `restohub backup --to FILE` / `restohub backup --verify FILE`.
pub async fn backup(config: &Config, args: BackupArgs) -> anyhow::Result<()> {
    if let Some(file) = args.verify {
        let verified = tokio::task::spawn_blocking(move || super::backup::verify(&file)).await??;
        println!("{}", verified.describe());
        return Ok(());
    }
    let Some(target) = args.to else {
        bail!("give --to FILE (or --verify FILE)");
    };
    let source = sqlite_file(config)?;
    let written =
        tokio::task::spawn_blocking(move || super::backup::backup(&source, &target)).await??;
    println!(
        "backup written to {} ({} bytes in {} ms)\n{}",
        written.path.display(),
        written.bytes,
        written.took.as_millis(),
        written.verified.describe()
    );
    Ok(())
}

/// `restohub restore --from FILE [--force]`.
pub async fn restore(config: &Config, args: RestoreArgs) -> anyhow::Result<()> {
    let database = sqlite_file(config)?;
    let shown = database.clone();
    let verified = tokio::task::spawn_blocking(move || {
        super::restore::restore(&args.from, &database, args.force)
    })
    .await??;
    println!(
        "restored {} (start the hub to serve it)\n{}",
        shown.display(),
        verified.describe()
    );
    Ok(())
}
