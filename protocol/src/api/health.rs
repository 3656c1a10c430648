//! `GET /health/live` and `GET /health/ready`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComponentState {
    Up,
    Down,
    /// Not configured on this instance (e.g. Redis on a single box).
    Disabled,
}

/// One dependency's state, why it is down, and since when it has been in
/// that state: the moment the hub first saw it so (checked every second and
/// on every request), not the moment of the request.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ComponentHealth {
    pub status: ComponentState,
    /// While down: what the last check ran into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When this instance first saw the component in `status` (RFC 3339).
    pub since: Timestamp,
    /// `since` in milliseconds since the Unix epoch.
    pub since_ms: i64,
}

/// `status` is `ok` only when every configured component is up; the HTTP
/// status is 200 then and 503 otherwise.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    pub status: String,
    pub components: BTreeMap<String, ComponentHealth>,
}
