//! Readiness of the hub's dependencies (database, Redis), tracked over
//! time: each component's status, why it is down, and since when it has
//! been so. Checked every second by [`watch`] and on every readiness
//! request, so a change is stamped within a second of happening and
//! "down since 07:12:03" stays true however often it is asked.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use restohub_protocol::api::health::{ComponentHealth, ComponentState};
use restohub_protocol::Timestamp;

use crate::clock::SharedClock;
use crate::node::broker::BrokerHealth;
use crate::node::Node;
use crate::storage::Store;

/// How long one check may take before the component counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// How often [`watch`] checks.
pub const WATCH_EVERY: Duration = Duration::from_secs(1);

/// The last status seen of each component, and when it began.
#[derive(Default)]
pub struct Readiness {
    seen: Mutex<BTreeMap<&'static str, ComponentHealth>>,
    /// The connection Redis is pinged on, kept between checks (a check a
    /// second would otherwise open a connection, and a TLS session, each
    /// time); dropped after a failure and made again by the next check.
    redis: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
}

impl Readiness {
    async fn ping_redis(&self, client: &redis::Client) -> Result<(), String> {
        let mut cached = self.redis.lock().await;
        // Taken out while in use: a check that fails, or is cut off by its
        // timeout, leaves none behind, so the next one connects afresh.
        let mut conn = match cached.take() {
            Some(conn) => conn,
            None => client
                .get_multiplexed_async_connection()
                .await
                .map_err(|e| e.to_string())?,
        };
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        *cached = Some(conn);
        Ok(())
    }

    /// Records a check's outcome at `now_ms`; the status keeps its `since`
    /// unless it changed. Returns what is now known of the component.
    pub fn observe(
        &self,
        component: &'static str,
        status: ComponentState,
        error: Option<String>,
        now_ms: i64,
    ) -> ComponentHealth {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let since_ms = match seen.get(component) {
            Some(before) if before.status == status => before.since_ms,
            _ => now_ms,
        };
        let health = ComponentHealth {
            status,
            error,
            since: Timestamp(since_ms),
            since_ms,
        };
        if seen.get(component).map(|b| b.status) != Some(status) {
            match &health.error {
                Some(why) => {
                    tracing::warn!(component, ?status, error = %why, "dependency status changed")
                }
                None => tracing::info!(component, ?status, "dependency status changed"),
            }
        }
        seen.insert(component, health.clone());
        health
    }
}

/// What readiness checks, and where it records what it saw (from
/// `AppState::dependencies`).
pub struct Dependencies {
    pub store: Store,
    /// Present for a single Redis server (not for a Redis Cluster).
    pub redis: Option<redis::Client>,
    pub node: Node,
    pub clock: SharedClock,
    pub readiness: std::sync::Arc<Readiness>,
}

/// Checks every component now and records the outcome.
pub async fn check(state: &Dependencies) -> BTreeMap<String, ComponentHealth> {
    let now = || state.clock.now_ms();
    let (status, error) =
        outcome(async { state.store.ping().await.map_err(|e| e.to_string()) }).await;
    let database = state.readiness.observe("database", status, error, now());
    let (status, error) = match &state.redis {
        // No single server to ping: either no Redis at all, or a Redis
        // Cluster, whose broker pings every master it receives from, so its
        // word covers reachability too.
        None => match state.node.broker_health() {
            BrokerHealth::Local => (ComponentState::Disabled, None),
            BrokerHealth::Up => (ComponentState::Up, None),
            BrokerHealth::Down(why) => (ComponentState::Down, Some(why)),
        },
        Some(client) => match outcome(state.readiness.ping_redis(client)).await {
            // Reachable is not enough: this instance must be receiving events.
            (ComponentState::Up, _) => match state.node.broker_health() {
                BrokerHealth::Down(why) => (ComponentState::Down, Some(why)),
                BrokerHealth::Up | BrokerHealth::Local => (ComponentState::Up, None),
            },
            down => down,
        },
    };
    let redis = state.readiness.observe("redis", status, error, now());
    BTreeMap::from([
        ("database".to_owned(), database),
        ("redis".to_owned(), redis),
    ])
}

/// Checks every [`WATCH_EVERY`], so changes are stamped when they happen
/// even when nobody asks.
pub async fn watch(state: Dependencies) {
    let mut every = tokio::time::interval(WATCH_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        check(&state).await;
    }
}

async fn outcome(
    probe: impl std::future::Future<Output = Result<(), String>>,
) -> (ComponentState, Option<String>) {
    match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Ok(())) => (ComponentState::Up, None),
        Ok(Err(e)) => (ComponentState::Down, Some(e)),
        Err(_) => (
            ComponentState::Down,
            Some(format!("no answer within {CHECK_TIMEOUT:?}")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_moves_only_when_the_status_changes() {
        let r = Readiness::default();
        let up = r.observe("database", ComponentState::Up, None, 1_000);
        assert_eq!(up.since_ms, 1_000);
        let down = r.observe(
            "database",
            ComponentState::Down,
            Some("refused".into()),
            5_000,
        );
        assert_eq!(down.since_ms, 5_000);
        let still = r.observe(
            "database",
            ComponentState::Down,
            Some("timed out".into()),
            9_000,
        );
        assert_eq!(
            (still.since_ms, still.error.as_deref()),
            (5_000, Some("timed out"))
        );
        let back = r.observe("database", ComponentState::Up, None, 12_000);
        assert_eq!((back.since_ms, back.error), (12_000, None));
        // Components are tracked apart.
        assert_eq!(
            r.observe("redis", ComponentState::Disabled, None, 13_000)
                .since_ms,
            13_000
        );
    }
}
