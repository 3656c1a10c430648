//! One change of a check as asked: what it does, who asks, and why it may
//! write nothing. [`super::plan`] decides it; [`super::report`] announces it.

use restohub_protocol::api::checks::{AddDiscount, RecordPayment, Refund, Split};
use restohub_protocol::Role;

use crate::app::audit::Actor;
use crate::error::ApiError;
use crate::storage::{IntentRow, PaymentRow};

/// What a change does to a check.
#[derive(Debug, Clone)]
pub enum CheckAction {
    /// Open the target's check, or find it (setting its covers if given).
    Open {
        covers: Option<i64>,
    },
    /// Take in the table's new orders (after a placement).
    Refresh,
    Discount {
        req: AddDiscount,
        /// The manager who approved it, checked before the transaction.
        approved_by: Option<i64>,
    },
    Split(Option<Split>),
    Covers(i64),
    Pay {
        req: RecordPayment,
        /// The caller-scoped idempotency key and the request's fingerprint.
        key: String,
        hash: String,
        /// Settles this payment intent (pay at the table).
        intent: Option<IntentRow>,
    },
    Refund(Refund),
    Void(String),
    Reopen(String),
    Close,
}

/// Why a change wrote nothing.
#[derive(Debug)]
pub enum Refused {
    Error(ApiError),
    /// The payment's key had recorded this payment already.
    Duplicate(Box<PaymentRow>),
    /// Nothing to change (a refresh with no new orders, an open that
    /// found the check as it was).
    Unchanged,
}

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Self {
        Refused::Error(e)
    }
}

/// One check change by one actor.
pub struct Step {
    pub actor: Actor,
    pub user_id: Option<i64>,
    pub role: Role,
    pub action: CheckAction,
    pub now: i64,
}
