//! restohub: a real-time, WebSocket-first hub for restaurants.
//!
//! `main.rs` only parses the command line and calls [`run`]; everything else
//! lives here so tests and examples can start a real hub in-process.

pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod datastore_tls;
pub mod demo;
pub mod error;
pub mod events;
pub mod gateway;
pub mod http;
pub mod hub;
pub mod input;
pub mod instruments;
pub mod lockfile;
pub mod node;
pub mod ops;
pub mod readiness;
pub mod secret;
pub mod state;
pub mod stats;
pub mod storage;
pub mod telemetry;

use std::sync::Arc;

use anyhow::bail;
use tokio::net::TcpListener;

use crate::clock::{Clock, SystemClock};
use crate::config::{AuditCommand, Cli, Command, Config, Environment};
use crate::hub::{shutdown_signal, Hub};
use crate::ops::open_store;

/// Runs the command the user asked for.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.options.validate()?;
    telemetry::init(config.log_format, &config.log);
    let command = match cli.command {
        None if cli.check_config => Command::CheckConfig,
        Some(_) if cli.check_config => {
            bail!("--check-config is a command of its own; give it without another command")
        }
        command => command.unwrap_or(Command::Serve),
    };
    match command {
        Command::Serve => serve(&config, None).await,
        Command::Migrate => {
            let store = open_store(&config).await?;
            store.migrate().await?;
            store.close().await;
            println!("migrations applied");
            Ok(())
        }
        Command::CreateOwner(args) => {
            let store = open_store(&config).await?;
            store.migrate().await?;
            let passwords = auth::Passwords::new().await?;
            let (restaurant, owner) =
                app::accounts::create_owner(&store, &passwords, &args.into(), SystemClock.now_ms())
                    .await?;
            store.close().await;
            println!(
                "created restaurant {:?} (slug {:?}, id {}) with owner {}",
                restaurant.name, restaurant.slug, restaurant.id, owner.email
            );
            Ok(())
        }
        Command::Demo => {
            if config.environment == Environment::Production {
                bail!("the demo restaurant has published passwords; refusing to create it in production");
            }
            serve(&config, Some(())).await
        }
        Command::Audit(AuditCommand::Verify) => verify_audit(&config).await,
        Command::Backup(args) => ops::commands::backup(&config, args).await,
        Command::Restore(args) => ops::commands::restore(&config, args).await,
        Command::CheckConfig => ops::check::check_config(&config).await,
    }
}

/// `restohub audit verify`: one line either way; a broken chain is an
/// error naming its first bad entry (exit code 2).
async fn verify_audit(config: &Config) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let checked = app::audit::verify(&store).await;
    store.close().await;
    let checked = checked
        .map_err(|e| anyhow::anyhow!("cannot read the audit trail (run `restohub migrate`?): {e}"))?
        .map_err(|broken| anyhow::anyhow!("audit trail broken: {broken}"))?;
    let pruned = match checked.pruned {
        0 => String::new(),
        n => format!(
            "; {n} chain(s) start after entries pruned by retention, from the oldest kept \
             entry's stored prev_hash"
        ),
    };
    println!(
        "audit trail intact: {} entries in {} restaurant chain(s){pruned}",
        checked.entries, checked.restaurants
    );
    Ok(())
}

async fn serve(config: &Config, demo: Option<()>) -> anyhow::Result<()> {
    let hub = Hub::open(config, Arc::new(SystemClock)).await?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    if demo.is_some() {
        let state = &hub.state;
        let restaurant = demo::seed(&state.store, &state.passwords, state.clock.now_ms()).await?;
        let url = format!("http://{}", listener.local_addr()?);
        println!("{}", demo::describe(&state.store, restaurant, &url).await?);
    }
    hub.serve(listener, shutdown_signal()).await
}
