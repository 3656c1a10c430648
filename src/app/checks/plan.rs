//! One change of a check, decided from its facts under its lock: what it
//! writes (the figures recomputed, the payment, refund or discount, the
//! status, the receipt number and the orders it closes), the events it
//! announces and the audit entries of the money it moves. Pure: storage
//! runs it inside the transaction (`storage::change_check`).

use restohub_protocol::api::checks::{
    AddDiscount, Check, CheckStatus, PaymentMethod, RecordPayment, Split,
};
use restohub_protocol::api::orders::OrderStatus;
use restohub_protocol::api::tables::TableStatus;
use restohub_protocol::{ErrorCode, Role};
use serde_json::json;

use super::money::{self, PayError};
use super::view::{self, Computed};
use crate::error::ApiError;
use crate::storage::{
    AuditDraft, CheckAmounts, CheckChanged, CheckFacts, CheckOpen, CheckPlan, CheckWrite,
    EventDraft, IntentRow, NewDiscount, NewPayment, NewRefund, TableRules,
};

pub use super::step::{CheckAction, Refused, Step};

fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> Refused {
    Refused::Error(ApiError::invalid_field(field, code, &message.into()))
}

fn conflict(message: &str, status: CheckStatus) -> Refused {
    Refused::Error(ApiError::with_details(
        ErrorCode::InvalidTransition,
        format!("{message} (the check is {})", status.as_str()),
        json!({ "current": status }),
    ))
}

fn is_manager(role: Role) -> bool {
    matches!(role, Role::Owner | Role::Manager)
}

impl Step {
    fn business_day(&self, facts: &CheckFacts) -> String {
        let zone = crate::stats::zone(&facts.settings.timezone);
        crate::stats::business_hour(zone, self.now).0
    }

    /// A write of a check that is no longer open: its figures as kept.
    fn kept(&self, facts: &CheckFacts) -> CheckWrite {
        let c = &facts.check;
        let amounts = CheckAmounts {
            subtotal_cents: c.subtotal_cents,
            discount_cents: c.discount_cents,
            comp_cents: c.comp_cents,
            service_cents: c.service_cents,
            tax_cents: c.tax_cents,
            total_cents: c.total_cents,
        };
        self.unchanged(facts, c.covers, c.split.clone(), amounts)
    }

    /// The check's write as it stands: kept figures once it is no longer
    /// open, recomputed ones while it is.
    fn as_is(&self, facts: &CheckFacts) -> CheckWrite {
        if facts.check.status.is_open() {
            self.write(facts, &view::current(facts))
        } else {
            self.kept(facts)
        }
    }

    /// A write of the check as it is, with `computed`'s figures.
    fn write(&self, facts: &CheckFacts, computed: &Computed) -> CheckWrite {
        let split = view::encode_split(&computed.split);
        self.unchanged(facts, computed.covers, split, computed.amounts.clone())
    }

    /// A write that changes nothing but these figures.
    fn unchanged(
        &self,
        facts: &CheckFacts,
        covers: i64,
        split: Option<String>,
        amounts: CheckAmounts,
    ) -> CheckWrite {
        CheckWrite {
            status: facts.check.status,
            covers,
            split,
            amounts,
            void_reason: None,
            receipt: false,
            paid_day: None,
            closed: false,
            reopened: false,
            discount: None,
            payment: None,
            refund: None,
            close_orders: Vec::new(),
            business_day: self.business_day(facts),
        }
    }

    /// A check whose paid amount reaches its total is paid: it takes a
    /// receipt number, its served orders close, and it closes with them
    /// when none is left in the kitchen.
    fn settle(&self, facts: &CheckFacts, w: &mut CheckWrite, paid: i64) {
        if !w.status.is_open() {
            return;
        }
        let total = w.amounts.total_cents;
        w.status = if paid == 0 {
            CheckStatus::Open
        } else if paid < total {
            CheckStatus::PartiallyPaid
        } else {
            CheckStatus::Paid
        };
        if w.status == CheckStatus::Paid {
            self.pay_off(facts, w);
        }
    }

    fn pay_off(&self, facts: &CheckFacts, w: &mut CheckWrite) {
        w.status = CheckStatus::Paid;
        w.receipt = facts.check.receipt_no.is_none();
        w.paid_day = Some(w.business_day.clone());
        let live = facts
            .orders
            .iter()
            .filter(|o| !matches!(o.status, OrderStatus::Cancelled | OrderStatus::Closed));
        w.close_orders = live
            .clone()
            .filter(|o| o.status == OrderStatus::Served)
            .map(|o| o.id)
            .collect();
        if live.clone().all(|o| o.status == OrderStatus::Served) {
            w.status = CheckStatus::Closed;
            w.closed = true;
        }
    }

    fn computed(
        &self,
        facts: &CheckFacts,
        covers: i64,
        split: Option<&Split>,
        extra: Option<&NewDiscount>,
    ) -> Result<Computed, Refused> {
        let setting = matches!(self.action, CheckAction::Split(_));
        view::computed(facts, covers, split, extra, !setting)
            .map_err(|e| invalid(e.field(), "split", e.message()))
    }

    fn decide_action(&self, facts: &CheckFacts) -> Result<CheckWrite, Refused> {
        let c = &facts.check;
        let split = view::stored_split(facts);
        match &self.action {
            CheckAction::Open { .. } | CheckAction::Refresh if !c.status.is_open() => {
                Err(Refused::Unchanged)
            }
            CheckAction::Open { covers } => {
                let covers = covers.unwrap_or(c.covers);
                let computed = self.computed(facts, covers, split.as_ref(), None)?;
                let mut w = self.write(facts, &computed);
                self.settle(facts, &mut w, c.paid_cents);
                Ok(w)
            }
            CheckAction::Refresh => {
                let computed = self.computed(facts, c.covers, split.as_ref(), None)?;
                let mut w = self.write(facts, &computed);
                self.settle(facts, &mut w, c.paid_cents);
                Ok(w)
            }
            CheckAction::Covers(covers) => {
                self.open_only(c.status)?;
                let computed = self.computed(facts, *covers, split.as_ref(), None)?;
                self.keeps_paid(facts, &computed)?;
                let mut w = self.write(facts, &computed);
                self.settle(facts, &mut w, c.paid_cents);
                Ok(w)
            }
            CheckAction::Split(new) => {
                self.open_only(c.status)?;
                if !facts.payments.is_empty() {
                    return Err(conflict("a check with payments keeps its split", c.status));
                }
                let computed = self.computed(facts, c.covers, new.as_ref(), None)?;
                Ok(self.write(facts, &computed))
            }
            CheckAction::Discount { req, approved_by } => {
                self.open_only(c.status)?;
                self.discount(facts, req, *approved_by, split.as_ref())
            }
            CheckAction::Pay {
                req,
                key,
                hash,
                intent,
            } => {
                if let Some(existing) = &facts.existing_payment {
                    return if existing.request_hash == *hash && existing.check_id == c.id {
                        Err(Refused::Duplicate(Box::new(existing.clone())))
                    } else {
                        Err(Refused::Error(ApiError::conflict(
                            "this idempotency_key was already used for a different payment",
                        )))
                    };
                }
                self.open_only(c.status)?;
                self.pay(facts, req, key, hash, intent.as_ref(), split.as_ref())
            }
            CheckAction::Refund(req) => {
                let Some(p) = facts.payments.iter().find(|p| p.id == req.payment_id) else {
                    return Err(Refused::Error(ApiError::not_found("payment")));
                };
                let left = p.amount_cents + p.tip_cents - p.refunded_cents;
                if req.amount_cents > left {
                    return Err(invalid(
                        "amount_cents",
                        "range",
                        format!("at most {left} is left to refund on this payment"),
                    ));
                }
                let mut w = self.as_is(facts);
                w.refund = Some(NewRefund {
                    payment_id: p.id,
                    amount_cents: req.amount_cents,
                    reason: req.reason.trim().to_owned(),
                    by_user: self.user_id,
                });
                Ok(w)
            }
            CheckAction::Void(reason) => {
                if matches!(c.status, CheckStatus::Void | CheckStatus::Closed) {
                    return Err(conflict("the check cannot be voided", c.status));
                }
                let kept: i64 = facts
                    .payments
                    .iter()
                    .map(|p| p.amount_cents + p.tip_cents - p.refunded_cents)
                    .sum();
                if kept > 0 {
                    return Err(conflict(
                        "refund its payments before voiding a check",
                        c.status,
                    ));
                }
                let mut w = self.as_is(facts);
                w.status = CheckStatus::Void;
                w.void_reason = Some(reason.trim().to_owned());
                w.closed = true;
                Ok(w)
            }
            CheckAction::Reopen(_) => {
                if !matches!(c.status, CheckStatus::Paid | CheckStatus::Closed) {
                    return Err(conflict("only a paid check can be reopened", c.status));
                }
                // Open to changes again: its figures are computed anew (its
                // receipt number stays). Paid in full still, it shows as
                // partially paid until a change leaves nothing due again.
                let mut w = self.write(facts, &view::current(facts));
                w.reopened = true;
                w.status = if c.paid_cents == 0 {
                    CheckStatus::Open
                } else {
                    CheckStatus::PartiallyPaid
                };
                Ok(w)
            }
            CheckAction::Close => {
                let mut w = self.as_is(facts);
                let due = (w.amounts.total_cents - c.paid_cents).max(0);
                match c.status {
                    CheckStatus::Paid => {}
                    s if s.is_open() && due == 0 => {}
                    s => return Err(conflict("only a paid check can be closed", s)),
                }
                let in_kitchen: Vec<i64> = facts
                    .orders
                    .iter()
                    .filter(|o| {
                        !matches!(
                            o.status,
                            OrderStatus::Served | OrderStatus::Closed | OrderStatus::Cancelled
                        )
                    })
                    .map(|o| o.id)
                    .collect();
                if !in_kitchen.is_empty() {
                    return Err(Refused::Error(ApiError::with_details(
                        ErrorCode::InvalidTransition,
                        format!("orders {in_kitchen:?} are not served yet"),
                        json!({ "orders": in_kitchen }),
                    )));
                }
                w.status = CheckStatus::Paid;
                self.pay_off(facts, &mut w);
                Ok(w)
            }
        }
    }

    fn open_only(&self, status: CheckStatus) -> Result<(), Refused> {
        if status.is_open() {
            Ok(())
        } else {
            Err(conflict("the check is no longer open", status))
        }
    }

    /// A change may not bring the total below what was already paid.
    fn keeps_paid(&self, facts: &CheckFacts, computed: &Computed) -> Result<(), Refused> {
        if computed.amounts.total_cents < facts.check.paid_cents {
            return Err(invalid(
                "check",
                "range",
                format!(
                    "the total would fall to {}, below the {} already paid",
                    computed.amounts.total_cents, facts.check.paid_cents
                ),
            ));
        }
        Ok(())
    }

    fn discount(
        &self,
        facts: &CheckFacts,
        req: &AddDiscount,
        approved_by: Option<i64>,
        split: Option<&Split>,
    ) -> Result<CheckWrite, Refused> {
        use restohub_protocol::api::checks::DiscountKind;
        if req.kind == DiscountKind::Percent && req.value > 10_000 {
            return Err(invalid(
                "value",
                "range",
                "a percentage is 1 to 10000 basis points",
            ));
        }
        if let Some(line) = req.line_id {
            if !view::lines(facts).iter().any(|l| l.id == line) {
                return Err(invalid(
                    "line_id",
                    "not_found",
                    "no such line on this check",
                ));
            }
        }
        let new = NewDiscount {
            line_id: req.line_id,
            kind: req.kind,
            value: req.value,
            comp: req.comp,
            reason: req.reason.trim().to_owned(),
            by_user: self.user_id,
            approved_by,
        };
        let computed = self.computed(facts, facts.check.covers, split, Some(&new))?;
        let worth = computed.discount(view::NEW_DISCOUNT);
        if worth == 0 {
            return Err(invalid("value", "range", "the discount takes nothing off"));
        }
        if worth > facts.settings.discount_limit_cents
            && !is_manager(self.role)
            && approved_by.is_none()
        {
            return Err(Refused::Error(approval_required(
                worth,
                facts.settings.discount_limit_cents,
            )));
        }
        self.keeps_paid(facts, &computed)?;
        let mut w = self.write(facts, &computed);
        w.discount = Some(new);
        self.settle(facts, &mut w, facts.check.paid_cents);
        Ok(w)
    }

    fn pay(
        &self,
        facts: &CheckFacts,
        req: &RecordPayment,
        key: &str,
        hash: &str,
        intent: Option<&IntentRow>,
        split: Option<&Split>,
    ) -> Result<CheckWrite, Refused> {
        let c = &facts.check;
        let computed = self.computed(facts, c.covers, split, None)?;
        let due = computed.due_on(req.part, c.paid_cents)?;
        if req.tendered_cents.is_some() && req.method != PaymentMethod::Cash {
            return Err(invalid("tendered_cents", "method", "only cash is tendered"));
        }
        let tender =
            money::pay(due, req.amount_cents, req.tip_cents, req.tendered_cents).map_err(|e| {
                match e {
                    PayError::Overpaid { due } => invalid(
                        "amount_cents",
                        "overpaid",
                        format!("only {due} is due; pay more only as a tip"),
                    ),
                    PayError::TenderShort { needed } => invalid(
                        "tendered_cents",
                        "range",
                        format!("{needed} is needed (amount and tip)"),
                    ),
                    other => invalid("amount_cents", "range", other.to_string()),
                }
            })?;
        let mut w = self.write(facts, &computed);
        w.payment = Some(NewPayment {
            part: req.part,
            method: req.method,
            amount_cents: req.amount_cents,
            tip_cents: req.tip_cents,
            tendered_cents: req.tendered_cents,
            change_cents: tender.change_cents,
            reference: req.reference.as_ref().map(|r| r.trim().to_owned()),
            idempotency_key: key.to_owned(),
            request_hash: hash.to_owned(),
            by_user: self.user_id,
            by_role: self.role,
            intent_id: intent.map(|i| i.id.clone()),
        });
        self.settle(facts, &mut w, c.paid_cents + req.amount_cents);
        Ok(w)
    }
}

pub fn approval_required(worth: i64, limit: i64) -> ApiError {
    ApiError::with_details(
        ErrorCode::ApprovalRequired,
        format!("a discount of {worth} is above the limit of {limit}: a manager must approve it"),
        json!({ "amount_cents": worth, "limit_cents": limit }),
    )
}

impl TableRules for Step {
    fn table_after(&self, wanted: TableStatus, now: TableStatus, open: i64) -> Option<TableStatus> {
        crate::app::floor::table_after(wanted, now, open)
    }

    fn ends_visit(&self, from: TableStatus, to: TableStatus) -> bool {
        crate::app::floor::ends_visit(from, to)
    }
}

impl CheckPlan for Step {
    type Refusal = Refused;

    fn opens(&self) -> Option<CheckOpen> {
        match &self.action {
            CheckAction::Open { covers } => Some(CheckOpen {
                covers: covers.unwrap_or(0),
                opened_by: self.user_id,
            }),
            _ => None,
        }
    }

    fn payment_key(&self) -> Option<&str> {
        match &self.action {
            CheckAction::Pay { key, .. } => Some(key),
            _ => None,
        }
    }

    fn decide(&self, facts: &CheckFacts) -> Result<CheckWrite, Refused> {
        let w = self.decide_action(facts)?;
        // A refresh or an open that changes nothing writes nothing.
        let unchanged = matches!(self.action, CheckAction::Open { .. } | CheckAction::Refresh)
            && !facts.just_opened
            && w.status == facts.check.status
            && w.covers == facts.check.covers
            && w.amounts.total_cents == facts.check.total_cents
            && w.amounts.subtotal_cents == facts.check.subtotal_cents;
        if unchanged {
            return Err(Refused::Unchanged);
        }
        Ok(w)
    }

    fn overdrawn(&self) -> Refused {
        Refused::Error(ApiError::with_details(
            ErrorCode::Conflict,
            "the check changed while this was decided; nothing was recorded — try again",
            json!({}),
        ))
    }

    fn frozen(&self, after: &CheckFacts) -> Option<Check> {
        let mut kept = view::computed_check(after, &view::current(after), false);
        // Payments are always shown as they are now, never from here.
        kept.payments.clear();
        Some(kept)
    }

    fn events(&self, changed: &CheckChanged<'_>) -> Vec<EventDraft> {
        super::report::events(self, changed)
    }

    fn audit(&self, changed: &CheckChanged<'_>) -> Vec<AuditDraft> {
        super::report::audit(self, changed)
    }
}
