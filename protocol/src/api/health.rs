//! `GET /health/live` and `GET /health/ready`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComponentState {
    Up,
    Down,
    /// Not configured on this instance (e.g. Redis on a single box).
    Disabled,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ComponentHealth {
    pub status: ComponentState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `status` is `ok` only when every configured component is up; the HTTP
/// status is 200 then and 503 otherwise.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    pub status: String,
    pub components: BTreeMap<String, ComponentHealth>,
}
