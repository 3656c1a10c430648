//! Checks and payments: the money side of a table or a takeaway order.
//!
//! A check gathers a table's open orders (orders placed on the table later
//! join it while it is open) or one takeaway order. Its amounts are integer
//! minor units of the restaurant's currency, computed by the hub by the rules
//! in PROTOCOL.md §7.7 (tax once per rate per check, half up; discounts spread
//! over lines; parts by largest remainder, always summing to the total).
//! Every operation is offered over REST and as a WebSocket command with the
//! same body; both run the same use case.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationError};

use crate::Timestamp;

/// At most this many parts in a split.
pub const MAX_PARTS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Nothing paid yet.
    Open,
    /// Some of the total paid.
    PartiallyPaid,
    /// The total paid; it has a receipt number.
    Paid,
    /// Paid and done: its orders are closed.
    Closed,
    /// Voided by a manager, with a reason.
    Void,
}

impl CheckStatus {
    pub const ALL: [CheckStatus; 5] = [
        CheckStatus::Open,
        CheckStatus::PartiallyPaid,
        CheckStatus::Paid,
        CheckStatus::Closed,
        CheckStatus::Void,
    ];

    /// Its name on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Open => "open",
            CheckStatus::PartiallyPaid => "partially_paid",
            CheckStatus::Paid => "paid",
            CheckStatus::Closed => "closed",
            CheckStatus::Void => "void",
        }
    }

    /// Open or partially paid: orders still join it, payments are taken.
    pub fn is_open(self) -> bool {
        matches!(self, CheckStatus::Open | CheckStatus::PartiallyPaid)
    }
}

impl TryFrom<String> for CheckStatus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        CheckStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown check status {s:?}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Card,
    Other,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 3] = [
        PaymentMethod::Cash,
        PaymentMethod::Card,
        PaymentMethod::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "cash",
            PaymentMethod::Card => "card",
            PaymentMethod::Other => "other",
        }
    }
}

impl TryFrom<String> for PaymentMethod {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        PaymentMethod::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown payment method {s:?}"))
    }
}

/// One order line as the check counts it (voided lines and cancelled
/// orders are left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckLine {
    pub line_id: i64,
    pub order_id: i64,
    pub name: String,
    pub qty: i64,
    pub unit_price_cents: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat: Option<i64>,
    /// `unit_price_cents × qty`.
    pub gross_cents: i64,
    /// Its own discounts and its share of the check's.
    pub discount_cents: i64,
    pub net_cents: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_rate_id: Option<i64>,
}

/// What a discount takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiscountKind {
    /// `value` minor units.
    Amount,
    /// `value` basis points (1000 = 10%).
    Percent,
}

impl DiscountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DiscountKind::Amount => "amount",
            DiscountKind::Percent => "percent",
        }
    }
}

impl TryFrom<String> for DiscountKind {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "amount" => Ok(DiscountKind::Amount),
            "percent" => Ok(DiscountKind::Percent),
            _ => Err(format!("unknown discount kind {s:?}")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Discount {
    pub id: i64,
    /// The line it is on; absent: the whole check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_id: Option<i64>,
    pub kind: DiscountKind,
    pub value: i64,
    /// A comp (given away, e.g. a dish sent back) rather than a discount.
    pub comp: bool,
    pub reason: String,
    /// What it takes off the check as it is now.
    pub amount_cents: i64,
    /// The manager who approved it, when it was above the restaurant's limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<i64>,
}

/// A tax rate's part of a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckTax {
    pub tax_rate_id: i64,
    pub name: String,
    pub rate_bp: i64,
    /// Included in the menu prices (not added to the total).
    pub included: bool,
    pub base_cents: i64,
    pub tax_cents: i64,
}

/// How a check is split; its parts always sum exactly to the total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "by", rename_all = "snake_case", deny_unknown_fields)]
pub enum Split {
    /// Evenly, `ways` parts (1–50).
    Even { ways: i64 },
    /// By line: each group of line ids is a part; lines named in no group
    /// form a last part, `rest`.
    Lines { lines: Vec<Vec<i64>> },
    /// One part per seat; lines without a seat are shared evenly.
    Seats,
    /// By amount: each amount a part; what is left a last part, `rest`.
    Amounts { amounts: Vec<i64> },
}

/// One payable part of a split check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckPart {
    /// Its number, from 0; payments name it.
    pub index: i64,
    pub label: String,
    pub amount_cents: i64,
    pub paid_cents: i64,
    pub due_cents: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line_ids: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat: Option<i64>,
}

/// A payment as the check shows it. `reference` (the card terminal's or
/// provider's) is shown to staff only: guests and events never carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Payment {
    pub id: i64,
    pub check_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<i64>,
    pub method: PaymentMethod,
    pub amount_cents: i64,
    pub tip_cents: i64,
    /// Cash handed over, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tendered_cents: Option<i64>,
    pub change_cents: i64,
    pub refunded_cents: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Check {
    pub id: i64,
    /// The table whose orders it gathers; absent for a takeaway check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_id: Option<i64>,
    pub order_ids: Vec<i64>,
    pub status: CheckStatus,
    pub currency: String,
    /// Guests at the table; the service charge may depend on it.
    pub covers: i64,
    pub lines: Vec<CheckLine>,
    pub discounts: Vec<Discount>,
    pub taxes: Vec<CheckTax>,
    /// Σ line gross.
    pub subtotal_cents: i64,
    /// Discounts and comps.
    pub discount_cents: i64,
    pub service_cents: i64,
    /// All tax, included and added.
    pub tax_cents: i64,
    /// The part of `tax_cents` already in the prices.
    pub tax_included_cents: i64,
    /// What is owed: net lines + service + added tax. Tips are on top.
    pub total_cents: i64,
    pub paid_cents: i64,
    pub tip_cents: i64,
    pub refunded_cents: i64,
    pub due_cents: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    pub parts: Vec<CheckPart>,
    pub payments: Vec<Payment>,
    /// Gap-free per restaurant, given when it is first paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_no: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub void_reason: Option<String>,
    pub opened_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
}

/// Opens the check of a table (its open orders) or of a takeaway order. A
/// table's open check is returned as it is if there is one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCheck {
    /// A guest's own table when omitted and no `order_id` is given.
    #[serde(default)]
    pub table_id: Option<i64>,
    /// A takeaway order.
    #[serde(default)]
    pub order_id: Option<i64>,
    #[serde(default)]
    #[validate(range(min = 0, max = 500))]
    pub covers: Option<i64>,
}

/// A manager's approval given with a request that needs it: their email
/// and their password or PIN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    #[validate(length(min = 3, max = 254))]
    pub email: String,
    #[serde(default)]
    #[validate(length(min = 1, max = 256))]
    pub password: Option<String>,
    #[serde(default)]
    #[validate(length(min = 4, max = 12))]
    pub pin: Option<String>,
}

/// Adds a discount or comp to a check or one of its lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddDiscount {
    #[serde(default)]
    pub line_id: Option<i64>,
    pub kind: DiscountKind,
    /// Minor units (`amount`, ≥ 1) or basis points (`percent`, 1–10000).
    #[validate(range(min = 1, max = 100_000_000))]
    pub value: i64,
    #[serde(default)]
    pub comp: bool,
    #[validate(length(min = 1, max = 200), custom(function = "crate::api::not_blank"))]
    pub reason: String,
    #[serde(default)]
    #[validate(nested)]
    pub approval: Option<Approval>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitCheck {
    /// `null` removes the split.
    #[validate(custom(function = "split_in_bounds"))]
    pub split: Option<Split>,
}

/// At most this many line ids in a split by line.
pub const MAX_SPLIT_LINES: usize = 500;

fn split_in_bounds(split: &Split) -> Result<(), ValidationError> {
    if let Split::Lines { lines } = split {
        if lines.iter().map(Vec::len).sum::<usize>() > MAX_SPLIT_LINES {
            return Err(ValidationError::new("length")
                .with_message("a split by line names at most 500 lines".into()));
        }
    }
    let parts = match split {
        Split::Even { ways } => *ways as usize,
        Split::Lines { lines } => lines.len().max(1),
        Split::Seats => 1,
        Split::Amounts { amounts } => amounts.len().max(1),
    };
    if parts == 0 || parts > MAX_PARTS {
        return Err(ValidationError::new("range").with_message("a split has 1 to 50 parts".into()));
    }
    Ok(())
}

/// Records a payment. The same `idempotency_key` (per caller) again returns
/// the original payment and changes nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordPayment {
    #[validate(length(min = 1, max = 100))]
    pub idempotency_key: String,
    /// The part of a split check it pays; absent: the check.
    #[serde(default)]
    pub part: Option<i64>,
    pub method: PaymentMethod,
    /// Applied to what is due; more than is due is refused.
    #[validate(range(min = 1, max = 100_000_000))]
    pub amount_cents: i64,
    #[serde(default)]
    #[validate(range(min = 0, max = 100_000_000))]
    pub tip_cents: i64,
    /// Cash handed over: the change is computed.
    #[serde(default)]
    #[validate(range(min = 0, max = 100_000_000))]
    pub tendered_cents: Option<i64>,
    #[serde(default)]
    #[validate(length(max = 100))]
    pub reference: Option<String>,
}

/// A payment recorded (or found again by its key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentRecorded {
    pub payment: Payment,
    pub check: Check,
    /// This key had already recorded this payment: nothing changed.
    pub duplicate: bool,
}

/// Gives money back on a payment (managers), never more than it took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Refund {
    pub payment_id: i64,
    #[validate(range(min = 1, max = 100_000_000))]
    pub amount_cents: i64,
    #[validate(length(min = 1, max = 200), custom(function = "crate::api::not_blank"))]
    pub reason: String,
}

/// A manager action that needs a reason: voiding or reopening a check,
/// closing an unpaid order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    #[validate(length(min = 1, max = 200), custom(function = "crate::api::not_blank"))]
    pub reason: String,
}

/// Sets the guests at the table (the service charge may depend on it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCovers {
    #[validate(range(min = 0, max = 500))]
    pub covers: i64,
}

/// A tax rate of the restaurant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaxRate {
    pub id: i64,
    pub name: String,
    /// Basis points: 1000 = 10%.
    pub rate_bp: i64,
    /// Included in menu prices (VAT style) rather than added (sales tax).
    pub included: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTaxRate {
    #[validate(length(min = 1, max = 60), custom(function = "crate::api::not_blank"))]
    pub name: String,
    #[validate(range(min = 0, max = 100_000))]
    pub rate_bp: i64,
    pub included: bool,
}

/// A payment intent for paying at the table through an external provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentIntent {
    /// Opaque; the provider names it when it confirms.
    pub id: String,
    pub check_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<i64>,
    pub amount_cents: i64,
    pub tip_cents: i64,
    pub currency: String,
    pub status: IntentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<i64>,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntentStatus {
    Pending,
    Succeeded,
}

impl TryFrom<String> for IntentStatus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "pending" => Ok(IntentStatus::Pending),
            "succeeded" => Ok(IntentStatus::Succeeded),
            _ => Err(format!("unknown intent status {s:?}")),
        }
    }
}

/// Asks for a payment intent: a part of the check or an amount of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIntent {
    #[validate(length(min = 1, max = 100))]
    pub idempotency_key: String,
    #[serde(default)]
    pub part: Option<i64>,
    /// Absent: all that is due (of the part, if one is named).
    #[serde(default)]
    #[validate(range(min = 1, max = 100_000_000))]
    pub amount_cents: Option<i64>,
    #[serde(default)]
    #[validate(range(min = 0, max = 100_000_000))]
    pub tip_cents: i64,
}

/// What the payment provider posts to `POST /api/v1/payments/webhook`,
/// signed (see PROTOCOL.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEvent {
    /// The provider's id of this notification.
    #[validate(length(min = 1, max = 200))]
    pub event_id: String,
    #[validate(length(min = 1, max = 100))]
    pub intent_id: String,
    /// Only `succeeded` records a payment.
    #[validate(length(min = 1, max = 40))]
    pub status: String,
    pub amount_cents: i64,
    #[serde(default)]
    pub tip_cents: i64,
    #[validate(length(equal = 3))]
    pub currency: String,
    /// The provider's reference for the charge.
    #[serde(default)]
    #[validate(length(max = 100))]
    pub reference: Option<String>,
}

/// What a restaurant sets for its checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckSettings {
    /// Basis points of the net (after discounts) added as a service charge; 0: none.
    #[validate(range(min = 0, max = 10_000))]
    pub service_charge_bp: i64,
    /// The service charge applies to checks with at least this many covers (0: all).
    #[validate(range(min = 0, max = 500))]
    pub service_charge_min_covers: i64,
    /// A discount or comp worth more than this needs a manager's approval
    /// when a waiter or cashier gives it.
    #[validate(range(min = 0, max = 100_000_000))]
    pub discount_limit_cents: i64,
}

/// Sets (or with `null` clears) the tax rate of a category or menu item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignTaxRate {
    pub tax_rate_id: Option<i64>,
}

/// Sets the caller's own approval PIN (owners and managers): 4–12 digits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPin {
    #[validate(length(min = 4, max = 12))]
    pub pin: String,
}

/// The payment webhook secret, shown once when it is (re)generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookSecret {
    pub secret: String,
}

/// What the hub answers a webhook it accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookReceived {
    /// The payment recorded for the intent (absent for a status other than `succeeded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<i64>,
    /// The intent had already been paid: nothing changed.
    pub duplicate: bool,
}
