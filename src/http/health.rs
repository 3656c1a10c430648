//! Liveness and readiness, with per-component status.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use restohub_protocol::api::health::{ComponentHealth, ComponentState, Health};

use crate::node::broker::BrokerHealth;
use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
}

async fn live() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        components: BTreeMap::new(),
    })
}

async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let database = check(async { state.store.ping().await.map_err(|e| e.to_string()) }).await;
    let redis = match &state.redis {
        None => match state.node.broker_health() {
            BrokerHealth::Local => ComponentHealth {
                status: ComponentState::Disabled,
                error: None,
            },
            // A Redis Cluster: the broker pings every master it receives
            // from, so its word covers reachability too.
            BrokerHealth::Up => ComponentHealth {
                status: ComponentState::Up,
                error: None,
            },
            BrokerHealth::Down(why) => ComponentHealth {
                status: ComponentState::Down,
                error: Some(why),
            },
        },
        Some(client) => {
            let mut redis = check(ping_redis(client)).await;
            // Reachable is not enough: this instance must be receiving events.
            if let (ComponentState::Up, BrokerHealth::Down(why)) =
                (redis.status, state.node.broker_health())
            {
                redis = ComponentHealth {
                    status: ComponentState::Down,
                    error: Some(why),
                };
            }
            redis
        }
    };
    let all_up = [&database, &redis]
        .iter()
        .all(|c| c.status != ComponentState::Down);
    let components = BTreeMap::from([
        ("database".to_owned(), database),
        ("redis".to_owned(), redis),
    ]);
    let (status, word) = if all_up {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "degraded")
    };
    (
        status,
        Json(Health {
            status: word.into(),
            components,
        }),
    )
}

async fn ping_redis(client: &redis::Client) -> Result<(), String> {
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn check(probe: impl std::future::Future<Output = Result<(), String>>) -> ComponentHealth {
    match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Ok(())) => ComponentHealth {
            status: ComponentState::Up,
            error: None,
        },
        Ok(Err(e)) => ComponentHealth {
            status: ComponentState::Down,
            error: Some(e),
        },
        Err(_) => ComponentHealth {
            status: ComponentState::Down,
            error: Some("timed out".into()),
        },
    }
}
