//! The audit trail: `GET /api/v1/audit` (owners and managers).
//!
//! Every security- or money-relevant action of a restaurant is one entry,
//! numbered by `seq` (from 1, without gaps) and chained: each entry's `hash`
//! is a SHA-256 over the previous entry's hash and its own fields, so an
//! entry changed or removed after the fact breaks the chain
//! (`restohub audit verify`). Entries are never changed by the hub; old
//! ones are pruned after the retention period.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Role, Timestamp};

/// What was done. The strings are stable; new actions may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum AuditAction {
    /// A staff login succeeded.
    #[serde(rename = "login.succeeded")]
    LoginSucceeded,
    /// A login to the restaurant failed (wrong email or password).
    #[serde(rename = "login.failed")]
    LoginFailed,
    /// Failed logins locked an email (`after.locked_until`).
    #[serde(rename = "account.locked")]
    AccountLocked,
    /// A manager lifted a lock.
    #[serde(rename = "account.unlocked")]
    AccountUnlocked,
    #[serde(rename = "staff.created")]
    StaffCreated,
    /// Name or email changed.
    #[serde(rename = "staff.updated")]
    StaffUpdated,
    /// A password was set by a manager (the password is never recorded).
    #[serde(rename = "staff.password_changed")]
    StaffPasswordChanged,
    #[serde(rename = "staff.role_changed")]
    StaffRoleChanged,
    #[serde(rename = "staff.deleted")]
    StaffDeleted,
    #[serde(rename = "menu.price_changed")]
    MenuPriceChanged,
    /// Stock counted or changed by hand (not by orders).
    #[serde(rename = "menu.stock_changed")]
    MenuStockChanged,
    /// 86'd or brought back.
    #[serde(rename = "menu.availability_changed")]
    MenuAvailabilityChanged,
    /// One line of an order voided.
    #[serde(rename = "order.voided")]
    OrderVoided,
    #[serde(rename = "order.cancelled")]
    OrderCancelled,
    /// Closed at the till by a person (not by a payment).
    #[serde(rename = "order.closed_manually")]
    OrderClosedManually,
    /// The restaurant's settings (name, time zone, currency, MFA rule).
    #[serde(rename = "restaurant.updated")]
    RestaurantUpdated,
    /// An account turned MFA on (enrolment confirmed).
    #[serde(rename = "mfa.enabled")]
    MfaEnabled,
    /// An account turned its MFA off with a code.
    #[serde(rename = "mfa.disabled")]
    MfaDisabled,
    /// An owner or manager turned another account's MFA off.
    #[serde(rename = "mfa.reset")]
    MfaReset,
    /// A discount or comp on a check (`after.approved_by`: the approving manager).
    #[serde(rename = "check.discounted")]
    CheckDiscounted,
    /// A manager's approval given at the till was refused.
    #[serde(rename = "approval.refused")]
    ApprovalRefused,
    /// A payment taken against a check.
    #[serde(rename = "payment.recorded")]
    PaymentRecorded,
    /// Money given back on a payment.
    #[serde(rename = "payment.refunded")]
    PaymentRefunded,
    /// A check was paid in full and took its receipt number.
    #[serde(rename = "check.paid")]
    CheckPaid,
    /// A paid check closed at the till.
    #[serde(rename = "check.closed")]
    CheckClosed,
    /// A check voided by a manager.
    #[serde(rename = "check.voided")]
    CheckVoided,
    /// A paid check reopened by a manager.
    #[serde(rename = "check.reopened")]
    CheckReopened,
    /// Tax rates, their assignment, the service charge or the discount limit changed.
    #[serde(rename = "tax.changed")]
    TaxChanged,
    /// The payment webhook secret was generated anew.
    #[serde(rename = "payments.webhook_secret_rotated")]
    WebhookSecretRotated,
    /// An owner or manager set their approval PIN (never recorded).
    #[serde(rename = "staff.pin_changed")]
    PinChanged,
}

impl AuditAction {
    pub const ALL: [AuditAction; 30] = [
        AuditAction::LoginSucceeded,
        AuditAction::LoginFailed,
        AuditAction::AccountLocked,
        AuditAction::AccountUnlocked,
        AuditAction::StaffCreated,
        AuditAction::StaffUpdated,
        AuditAction::StaffPasswordChanged,
        AuditAction::StaffRoleChanged,
        AuditAction::StaffDeleted,
        AuditAction::MenuPriceChanged,
        AuditAction::MenuStockChanged,
        AuditAction::MenuAvailabilityChanged,
        AuditAction::OrderVoided,
        AuditAction::OrderCancelled,
        AuditAction::OrderClosedManually,
        AuditAction::RestaurantUpdated,
        AuditAction::MfaEnabled,
        AuditAction::MfaDisabled,
        AuditAction::MfaReset,
        AuditAction::CheckDiscounted,
        AuditAction::ApprovalRefused,
        AuditAction::PaymentRecorded,
        AuditAction::PaymentRefunded,
        AuditAction::CheckPaid,
        AuditAction::CheckClosed,
        AuditAction::CheckVoided,
        AuditAction::CheckReopened,
        AuditAction::TaxChanged,
        AuditAction::WebhookSecretRotated,
        AuditAction::PinChanged,
    ];

    /// The stable string, as on the wire.
    pub fn as_str(self) -> &'static str {
        use AuditAction::*;
        match self {
            LoginSucceeded => "login.succeeded",
            LoginFailed => "login.failed",
            AccountLocked => "account.locked",
            AccountUnlocked => "account.unlocked",
            StaffCreated => "staff.created",
            StaffUpdated => "staff.updated",
            StaffPasswordChanged => "staff.password_changed",
            StaffRoleChanged => "staff.role_changed",
            StaffDeleted => "staff.deleted",
            MenuPriceChanged => "menu.price_changed",
            MenuStockChanged => "menu.stock_changed",
            MenuAvailabilityChanged => "menu.availability_changed",
            OrderVoided => "order.voided",
            OrderCancelled => "order.cancelled",
            OrderClosedManually => "order.closed_manually",
            RestaurantUpdated => "restaurant.updated",
            MfaEnabled => "mfa.enabled",
            MfaDisabled => "mfa.disabled",
            MfaReset => "mfa.reset",
            CheckDiscounted => "check.discounted",
            ApprovalRefused => "approval.refused",
            PaymentRecorded => "payment.recorded",
            PaymentRefunded => "payment.refunded",
            CheckPaid => "check.paid",
            CheckClosed => "check.closed",
            CheckVoided => "check.voided",
            CheckReopened => "check.reopened",
            TaxChanged => "tax.changed",
            WebhookSecretRotated => "payments.webhook_secret_rotated",
            PinChanged => "staff.pin_changed",
        }
    }

    pub fn parse(s: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditEntry {
    /// Its place in the restaurant's chain: 1, 2, 3, … without gaps.
    pub seq: i64,
    pub at: Timestamp,
    pub action: AuditAction,
    /// Who did it, as their token names them: `user:<id>` or
    /// `guest:<uuid>`. Absent when nobody was authenticated (a failed login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_role: Option<Role>,
    /// The address the request or WebSocket came from (behind a trusted
    /// proxy, the one it names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_address: Option<String>,
    /// What it was done to: `user:<id>`, `menu_item:<id>`, `order:<id>`,
    /// `restaurant:<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The changed fields as they were, and as they became.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The previous entry's `hash` (64 zeros before the first).
    pub prev_hash: String,
    /// SHA-256 (hex) over `prev_hash` and this entry's fields.
    pub hash: String,
}

/// `GET /api/v1/audit` query: every filter optional, combined with AND.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub action: Option<AuditAction>,
    /// A token subject, e.g. `user:12`.
    pub actor: Option<String>,
    /// Entries at or after this instant.
    pub from: Option<Timestamp>,
    /// Entries before this instant.
    pub to: Option<Timestamp>,
    /// The `seq` of the last entry seen (`next_after` of the previous page).
    pub after: Option<i64>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::AuditAction;

    #[test]
    fn action_strings_are_the_wire_names() {
        for action in AuditAction::ALL {
            let wire = serde_json::to_value(action).unwrap();
            assert_eq!(wire, action.as_str());
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(AuditAction::parse("login.maybe"), None);
    }
}
