//! Assembling and running one hub instance: storage, keys, router, server.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::auth::{Passwords, RevocationIndex, TokenKeys};
use crate::clock::SharedClock;
use crate::config::{Config, Database};
use crate::gateway::Gateway;
use crate::http::HttpOptions;
use crate::node::broker::{Broker, LocalBroker};
use crate::node::redis::RedisBroker;
use crate::node::redis_cluster::{cluster_client, RedisClusterBroker};
use crate::node::Node;
use crate::state::{AppState, Settings};

pub struct Hub {
    pub state: AppState,
    /// The WebSocket edge: connection limits and session tasks.
    gateway: Gateway,
    router: Router,
    connection_timeouts: crate::http::ConnectionTimeouts,
    /// Client sockets this process has file descriptors for.
    max_sockets: usize,
    event_retention: std::time::Duration,
    event_poll: std::time::Duration,
    audit_retention: Option<std::time::Duration>,
    screens: crate::app::screens::ScreenSettings,
    /// `/metrics` on an address of its own (`--metrics-listen`), bound.
    metrics_listener: Option<TcpListener>,
    /// The SQLite file and when to back it up (`--backup-every`).
    backups: Option<(std::path::PathBuf, crate::ops::schedule::BackupSchedule)>,
}

impl Hub {
    /// Connects, migrates, loads the signing secret: everything but listening.
    pub async fn open(config: &Config, clock: SharedClock) -> anyhow::Result<Hub> {
        let metrics = Arc::new(crate::instruments::Metrics::new(clock.clone()));
        let store = crate::ops::open_store(config)
            .await?
            .instrumented(metrics.db_meters());
        store.migrate().await?;
        // Bound now, so a taken address fails the start, not a later scrape.
        let metrics_listener = match config.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} for metrics"))?,
            ),
            None => None,
        };
        let secret = crate::secret::jwt_secret(config)?;
        let redis = match &config.redis_url {
            Some(url) if !config.redis_cluster => {
                Some(crate::datastore_tls::redis_client(url, &config.redis_tls)?)
            }
            _ => None,
        };
        // A Redis Cluster: its health is the broker's (every shard
        // subscribed), not one server's PING.
        let cluster = match &config.redis_url {
            Some(url) if config.redis_cluster => {
                let seeds = crate::config::redis_cluster_seeds(url)?;
                let client = cluster_client(&seeds).context("invalid Redis Cluster settings")?;
                Some((client, seeds))
            }
            _ => None,
        };
        let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let node = Node::new(
            config.gateway.queue_capacity,
            Arc::new(store.clone()),
            |instance| -> Arc<dyn Broker> {
                match (&redis, cluster) {
                    (Some(client), _) => Arc::new(RedisBroker::new(client.clone(), instance)),
                    (None, Some((client, seeds))) => {
                        Arc::new(RedisClusterBroker::new(client, seeds, instance))
                    }
                    (None, None) => Arc::new(LocalBroker),
                }
            },
            metrics,
        );
        let gateway = Gateway::new(config.gateway.clone(), node.clone());
        let state = AppState::new(crate::state::Shared {
            node,
            store,
            clock,
            tokens: Arc::new(TokenKeys::new(&secret)),
            passwords: Arc::new(Passwords::new().await?),
            revoked: Arc::new(RevocationIndex::default()),
            settings: Arc::new(Settings {
                access_token_ttl_ms: ms(config.access_token_ttl),
                refresh_token_ttl_ms: ms(config.refresh_token_ttl),
                guest_session_ttl_ms: ms(config.guest_session_ttl),
            }),
            redis,
            readiness: Default::default(),
        });
        crate::app::revocations::load_revocations(&state)
            .await
            .map_err(|e| anyhow::anyhow!("cannot read revocations: {e}"))?;
        let router = crate::http::router(
            state.clone(),
            HttpOptions {
                max_body_bytes: config.max_body_bytes,
                allowed_origins: config.allowed_origins.clone(),
                auth_rate_limit: config.auth_rate_limit,
                write_quotas: config.write_quotas,
                client_ip_header: config.client_ip_header.clone(),
                trusted_proxies: config.trusted_proxies.clone(),
                gateway: gateway.clone(),
                serve_metrics: metrics_listener.is_none(),
            },
        );
        Ok(Hub {
            state,
            gateway,
            router,
            connection_timeouts: config.connection_timeouts,
            max_sockets: crate::http::socket_budget(config.db_max_connections),
            event_retention: config.event_retention,
            event_poll: config.event_poll,
            audit_retention: config.audit_retention,
            screens: config.screens,
            metrics_listener,
            backups: match (&config.database, &config.backup) {
                (Database::SqliteFile(path), Some(schedule)) => {
                    Some((path.clone(), schedule.clone()))
                }
                _ => None,
            },
        })
    }

    /// Where `/metrics` is served when it has a listener of its own.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// Serves on an already bound listener until `shutdown` completes; then
    /// tells every WebSocket session to reconnect elsewhere (close code 1012),
    /// finishes in-flight requests, waits for sessions to close (up to the
    /// drain timeout) and closes the database pool.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = listener.local_addr()?;
        tracing::info!(
            %addr,
            backend = ?self.state.store.backend(),
            max_sockets = self.max_sockets,
            "restohub listening"
        );
        // Connections are read on an intake runtime of their own (see
        // `crate::http::serve`); it stops when the hub does.
        let intake = crate::http::Intake::start().context("cannot start the intake runtime")?;
        let pruner = tokio::spawn(prune_events(self.state.clone(), self.event_retention));
        let audit_pruner = self
            .audit_retention
            .map(|keep| tokio::spawn(prune_audit(self.state.clone(), keep)));
        let poller = tokio::spawn(self.state.node.clone().poll_log(self.event_poll));
        let revocations = tokio::spawn(crate::app::revocations::follow_revocations(
            self.state.clone(),
        ));
        let dashboards = tokio::spawn(
            self.gateway
                .clone()
                .refresh_dashboards(self.state.store.clone(), self.state.clock.clone()),
        );
        let late_tickets = tokio::spawn(crate::app::timers::sweep_late_tickets(self.state.clone()));
        let all_day = tokio::spawn(
            self.gateway
                .clone()
                .push_all_day_counts(self.state.store.clone(), self.state.clock.clone()),
        );
        let courses = tokio::spawn(crate::app::expo::fire_when_due(self.state.clone()));
        let screens = tokio::spawn(crate::app::screens::watch_screens(
            self.state.clone(),
            self.screens,
        ));
        let upkeep = tokio::spawn(metrics_upkeep(self.state.clone()));
        let statistics = tokio::spawn(analyze_new_tables(self.state.clone()));
        let stop_metrics = tokio_util::sync::CancellationToken::new();
        let metrics_server = self.metrics_listener.map(|listener| {
            let router =
                crate::http::metrics::router(self.gateway.clone()).with_state(self.state.clone());
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(%addr, "metrics listening");
            }
            let stop = stop_metrics.clone();
            tokio::spawn(crate::http::serve(
                listener,
                router,
                self.connection_timeouts,
                METRICS_SOCKETS,
                None,
                async move { stop.cancelled().await },
            ))
        });
        let readiness = tokio::spawn(crate::readiness::watch(self.state.dependencies()));
        let backups = self.backups.map(|(database, schedule)| {
            tokio::spawn(crate::ops::schedule::take_backups(database, schedule))
        });
        let gateway = self.gateway.clone();
        let stop_sessions = gateway.clone();
        let served = intake
            .serve(
                listener,
                self.router,
                self.connection_timeouts,
                self.max_sockets,
                async move {
                    shutdown.await;
                    tracing::info!("shutting down: closing sessions with the restart code");
                    stop_sessions.begin_shutdown();
                },
            )
            .await
            .context("the HTTP server stopped");
        gateway.drained().await;
        drop(intake);
        stop_metrics.cancel();
        if let Some(server) = metrics_server {
            let _ = server.await;
        }
        upkeep.abort();
        statistics.abort();
        pruner.abort();
        if let Some(task) = audit_pruner {
            task.abort();
        }
        poller.abort();
        revocations.abort();
        dashboards.abort();
        late_tickets.abort();
        all_day.abort();
        courses.abort();
        screens.abort();
        readiness.abort();
        if let Some(task) = backups {
            task.abort();
        }
        self.state.store.close().await;
        served?;
        tracing::info!("restohub stopped");
        Ok(())
    }
}

/// Connections the metrics listener serves at once: Prometheus needs one
/// or two; the rest of the descriptors belong to clients.
const METRICS_SOCKETS: usize = 16;

/// Folds recorded latencies into their buckets every few seconds, so they
/// do not pile up between scrapes (or forever, when nothing scrapes).
async fn metrics_upkeep(state: AppState) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        every.tick().await;
        state.node.metrics.upkeep();
    }
}

/// Rows a table must have seen changed before the hub analyzes it for the
/// first time: enough that its statistics tell the restaurant's orders
/// apart from one order, few enough that a new restaurant's first second of
/// orders reaches it.
const ANALYZE_AFTER_CHANGES: i64 = 100;

/// Every second, gives PostgreSQL's planner the first statistics of each
/// table that has none yet and has seen [`ANALYZE_AFTER_CHANGES`] rows
/// changed ([`crate::storage::Store::analyze_new_tables`]): a new database
/// would otherwise serve its first minutes, until autovacuum's first pass,
/// with lookups that walk every order of the restaurant. Cheap once done:
/// one read of the table statistics a second.
async fn analyze_new_tables(state: AppState) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        every.tick().await;
        match state.store.analyze_new_tables(ANALYZE_AFTER_CHANGES).await {
            Ok(tables) if tables.is_empty() => {}
            Ok(tables) => tracing::info!(?tables, "analyzed tables new to the planner"),
            Err(e) => tracing::debug!(error = %e, "analyzing new tables failed; will retry"),
        }
    }
}

/// Retention: every ten minutes, deletes events older than `keep`.
async fn prune_events(state: AppState, keep: std::time::Duration) {
    let keep_ms = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        every.tick().await;
        match state
            .store
            .prune_events(state.clock.now_ms().saturating_sub(keep_ms))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, "pruned old events"),
            Err(e) => tracing::warn!(error = %e, "event pruning failed; will retry"),
        }
    }
}

/// Audit retention: at start and then hourly, deletes entries older than
/// `keep`, oldest first, so each chain still verifies from its oldest kept
/// entry.
async fn prune_audit(state: AppState, keep: std::time::Duration) {
    let keep_ms = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every.tick().await;
        match state
            .store
            .prune_audit(state.clock.now_ms().saturating_sub(keep_ms))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(entries = n, "pruned old audit entries"),
            Err(e) => tracing::warn!(error = %e, "audit pruning failed; will retry"),
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
