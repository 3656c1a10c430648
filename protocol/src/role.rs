//! Who a session is acting as.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Manager,
    Waiter,
    Chef,
    Cashier,
    /// A customer at one table, via the table's QR code. Never a staff account.
    Guest,
}

impl Role {
    /// Roles a staff account can have (everything but `guest`).
    pub const STAFF: [Role; 5] = [
        Role::Owner,
        Role::Manager,
        Role::Waiter,
        Role::Chef,
        Role::Cashier,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Waiter => "waiter",
            Role::Chef => "chef",
            Role::Cashier => "cashier",
            Role::Guest => "guest",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Guest]
            .into_iter()
            .chain(Role::STAFF)
            .find(|r| r.as_str() == s)
    }

    /// Owners and managers configure the restaurant.
    pub fn is_manager(self) -> bool {
        matches!(self, Role::Owner | Role::Manager)
    }

    pub fn is_staff(self) -> bool {
        self != Role::Guest
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Role {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Role::parse(&s).ok_or_else(|| format!("unknown role {s:?}"))
    }
}
