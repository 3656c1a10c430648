//! `restohub check-config`: everything `serve` needs, checked without
//! serving. One line per check; an error naming what failed.
//!
//! The settings were already validated before this runs (a bad value ends
//! the process with its one line, as for every command).

use std::fmt::Display;
use std::path::Path;
use std::time::Duration;

use secrecy::ExposeSecret;

use crate::config::{Config, Database};

/// How long a server may take to answer before its check fails.
const REACH_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs every check; prints each; fails naming the ones that failed.
pub async fn check_config(config: &Config) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    let mut report = |name: &'static str, outcome: Result<String, String>| match outcome {
        Ok(detail) => println!("ok    {name}: {detail}"),
        Err(detail) => {
            println!("FAIL  {name}: {detail}");
            failed.push(name);
        }
    };
    report(
        "settings",
        Ok(format!("valid ({:?})", config.environment).to_lowercase()),
    );
    report("data dir", writable(&config.data_dir));
    if let Some(schedule) = &config.backup {
        report("backup dir", writable(&schedule.dir));
    }
    report("database", database(config).await);
    report("redis", redis(config).await);
    report("listen", listen(config));
    if failed.is_empty() {
        println!("all checks passed");
        Ok(())
    } else {
        anyhow::bail!(
            "check-config: {} check(s) failed: {}",
            failed.len(),
            failed.join(", ")
        )
    }
}

fn why(e: impl Display) -> String {
    format!("{e:#}")
}

/// The directory exists (or can be made) and a file can be written in it.
fn writable(dir: &Path) -> Result<String, String> {
    let shown = dir.display();
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {shown}: {e}"))?;
    let probe = dir.join(format!(".check-config-{}", std::process::id()));
    std::fs::write(&probe, b"restohub").map_err(|e| format!("cannot write in {shown}: {e}"))?;
    let _ = std::fs::remove_file(&probe);
    Ok(format!("{shown} is writable"))
}

/// Reachable, and its schema is one this binary serves.
async fn database(config: &Config) -> Result<String, String> {
    let which = match &config.database {
        Database::SqliteFile(path) if !path.exists() => {
            return Ok(format!(
                "no SQLite file yet at {}; serve creates it",
                path.display()
            ))
        }
        Database::SqliteFile(path) => format!("SQLite {}", path.display()),
        Database::Postgres(_) => "PostgreSQL".to_owned(),
    };
    let opened = tokio::time::timeout(REACH_TIMEOUT, super::open_store(config)).await;
    let store = match opened {
        Ok(Ok(store)) => store,
        Ok(Err(e)) => return Err(format!("{which}: {}", why(e))),
        Err(_) => return Err(format!("{which}: no answer within {REACH_TIMEOUT:?}")),
    };
    let status = store.migration_status().await;
    store.close().await;
    let status = status.map_err(|e| format!("{which}: cannot read its migrations: {e}"))?;
    if !status.failed.is_empty() {
        return Err(format!(
            "{which}: migration(s) {:?} failed part-way; repair before serving",
            status.failed
        ));
    }
    if !status.unknown().is_empty() {
        return Err(format!(
            "{which}: has migration(s) {:?} this restohub does not know (a newer version \
             wrote it)",
            status.unknown()
        ));
    }
    let pending = status.pending();
    Ok(match pending.len() {
        0 => format!(
            "{which} reachable, all {} migrations applied",
            status.known.len()
        ),
        n => format!(
            "{which} reachable, {n} migration(s) pending ({:?}); serve or `restohub migrate` \
             applies them",
            pending
        ),
    })
}

/// Answers PING.
async fn redis(config: &Config) -> Result<String, String> {
    let Some(url) = &config.redis_url else {
        return Ok("not configured (one instance, no fan-out)".into());
    };
    let client = redis::Client::open(url.expose_secret()).map_err(why)?;
    let ping = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    match tokio::time::timeout(REACH_TIMEOUT, ping).await {
        Ok(Ok(reply)) => Ok(format!("reachable (PING: {reply})")),
        Ok(Err(e)) => Err(format!("cannot reach Redis: {e}")),
        Err(_) => Err(format!("Redis did not answer within {REACH_TIMEOUT:?}")),
    }
}

/// The listen address can be bound now (nothing else holds it).
fn listen(config: &Config) -> Result<String, String> {
    std::net::TcpListener::bind(config.listen)
        .map(|_| format!("{} can be bound", config.listen))
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))
}
