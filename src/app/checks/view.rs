//! A check's figures computed from its facts ([`compute`], by the rules of
//! [`super::money`]), and the check as clients see it ([`check`]): staff
//! with payment references, guests and events without.

use restohub_protocol::api::checks::{
    Check, CheckLine, CheckPart, CheckStatus, CheckTax, Discount, Payment, Split,
};
use restohub_protocol::api::orders::{LineStatus, OrderStatus};
use restohub_protocol::Timestamp;

use super::money::{self, Off, SplitRule};
use crate::error::{ApiError, ApiResult};
use crate::storage::{CheckAmounts, CheckFacts, NewDiscount, PaymentRow};

/// The id a discount not yet written is computed under.
pub const NEW_DISCOUNT: i64 = i64::MAX;

/// What a check comes to, as computed from its facts (and a change's
/// covers, split or new discount).
#[derive(Debug, Clone)]
pub struct Computed {
    pub lines: Vec<money::Line>,
    pub totals: money::Totals,
    pub amounts: CheckAmounts,
    pub split: Option<Split>,
    pub parts: Vec<CheckPart>,
    pub covers: i64,
}

impl Computed {
    /// What is still owed on the check.
    pub fn due(&self, paid: i64) -> i64 {
        (self.amounts.total_cents - paid).max(0)
    }

    /// What is due on `part` of a split check, or on an unsplit check as a
    /// whole (`part` absent): a payment or intent names a part exactly when
    /// the check is split.
    pub fn due_on(&self, part: Option<i64>, paid: i64) -> ApiResult<i64> {
        let refused = |code, message| Err(ApiError::invalid_field("part", code, message));
        match (part, self.parts.is_empty()) {
            (None, true) => Ok(self.due(paid)),
            (None, false) => refused("required", "this check is split: name the part"),
            (Some(_), true) => refused("not_found", "this check is not split"),
            (Some(i), false) => match self.parts.iter().find(|p| p.index == i) {
                Some(p) => Ok(p.due_cents.min(self.due(paid))),
                None => refused("not_found", "no such part"),
            },
        }
    }

    /// The effective amount of a discount (by id).
    pub fn discount(&self, id: i64) -> i64 {
        self.totals
            .discounts
            .iter()
            .find(|(d, _)| *d == id)
            .map_or(0, |(_, cents)| *cents)
    }
}

/// The lines a check counts: its orders' lines, leaving out cancelled
/// orders and voided lines.
pub fn lines(facts: &CheckFacts) -> Vec<money::Line> {
    facts
        .orders
        .iter()
        .filter(|o| o.status != OrderStatus::Cancelled)
        .flat_map(|o| o.lines.iter())
        .filter(|l| l.status != LineStatus::Voided)
        .map(|l| money::Line {
            id: l.id,
            gross_cents: l.unit_price_cents * l.qty,
            rate: facts.item_rates.get(&l.menu_item_id).copied(),
            seat: l.seat,
        })
        .collect()
}

/// The split as the check keeps it (JSON in storage).
pub fn stored_split(facts: &CheckFacts) -> Option<Split> {
    // Written by `encode_split` only; a value that no longer parses is
    // treated as no split rather than failing every read of the check.
    facts
        .check
        .split
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
}

pub fn encode_split(split: &Option<Split>) -> Option<String> {
    split.as_ref().and_then(|s| serde_json::to_string(s).ok())
}

fn rule(split: &Split, lines: &[money::Line], lenient: bool) -> SplitRule {
    match split {
        Split::Even { ways } => SplitRule::Even(*ways),
        Split::Lines { lines: groups } if !lenient => SplitRule::Lines(groups.clone()),
        // Lines voided since the split was made drop out of their part.
        Split::Lines { lines: groups } => SplitRule::Lines(
            groups
                .iter()
                .map(|g| {
                    g.iter()
                        .copied()
                        .filter(|id| lines.iter().any(|l| l.id == *id))
                        .collect::<Vec<_>>()
                })
                .filter(|g| !g.is_empty())
                .collect(),
        ),
        Split::Seats => SplitRule::Seats,
        Split::Amounts { amounts } => SplitRule::Amounts(amounts.clone()),
    }
}

/// The check's figures with `covers`, `split` and an extra discount.
/// A split that no longer fits (amounts above a total lowered since) is an
/// error for a change that sets it and one part for a check that has it.
/// `lenient`: a split the check already has, whose parts by line drop the
/// lines voided since; otherwise a split being set, taken as given.
pub fn computed(
    facts: &CheckFacts,
    covers: i64,
    split: Option<&Split>,
    extra: Option<&NewDiscount>,
    lenient: bool,
) -> Result<Computed, money::SplitError> {
    let lines = lines(facts);
    let rates: Vec<money::Rate> = facts
        .rates
        .iter()
        .map(|r| money::Rate {
            id: r.id,
            bp: r.rate_bp,
            included: r.included,
        })
        .collect();
    let new = extra.map(|d| (NEW_DISCOUNT, d.line_id, d.kind, d.value, d.comp));
    let all: Vec<(i64, Option<i64>, _, i64, bool)> = facts
        .discounts
        .iter()
        .map(|d| (d.id, d.line_id, d.kind, d.value, d.comp))
        .chain(new)
        .collect();
    let discounts: Vec<money::Discount> = all
        .iter()
        .map(|&(id, line_id, kind, value, _)| money::Discount {
            id,
            line_id,
            off: match kind {
                restohub_protocol::api::checks::DiscountKind::Amount => Off::Amount(value),
                restohub_protocol::api::checks::DiscountKind::Percent => Off::Percent(value),
            },
        })
        .collect();
    let s = &facts.settings;
    let service_bp = if covers >= s.service_charge_min_covers {
        s.service_charge_bp
    } else {
        0
    };
    let totals = money::totals(&lines, &rates, &discounts, service_bp);
    let comp_cents = all
        .iter()
        .filter(|d| d.4)
        .map(|d| {
            totals
                .discounts
                .iter()
                .find(|(id, _)| *id == d.0)
                .map_or(0, |x| x.1)
        })
        .sum();
    let amounts = CheckAmounts {
        subtotal_cents: totals.subtotal_cents,
        discount_cents: totals.discount_cents,
        comp_cents,
        service_cents: totals.service_cents,
        tax_cents: totals.tax_cents,
        total_cents: totals.total_cents,
    };
    let parts = match split {
        None => Vec::new(),
        Some(split) => {
            let parts = money::split(&totals, &lines, &rule(split, &lines, lenient))?;
            parts
                .into_iter()
                .enumerate()
                .map(|(i, p)| {
                    let index = i as i64;
                    let paid = paid_on(&facts.payments, Some(index));
                    CheckPart {
                        index,
                        label: p.label,
                        amount_cents: p.amount_cents,
                        paid_cents: paid,
                        due_cents: (p.amount_cents - paid).max(0),
                        line_ids: p.line_ids,
                        seat: p.seat,
                    }
                })
                .collect()
        }
    };
    Ok(Computed {
        lines,
        totals,
        amounts,
        split: split.cloned(),
        parts,
        covers,
    })
}

/// The figures of the check as it is stored (its own covers and split).
/// Lines voided since a split by line was made drop out of their parts; a
/// split that no longer fits at all (amounts above a total lowered since)
/// shows the check unsplit until it is split again.
pub fn current(facts: &CheckFacts) -> Computed {
    let split = stored_split(facts);
    let covers = facts.check.covers;
    match computed(facts, covers, split.as_ref(), None, true) {
        Ok(c) => c,
        Err(_) => unsplit(facts, covers),
    }
}

fn unsplit(facts: &CheckFacts, covers: i64) -> Computed {
    match computed(facts, covers, None, None, true) {
        Ok(c) => c,
        // Without a split there is nothing to refuse.
        Err(_) => unreachable!("a check without a split always computes"),
    }
}

/// What payments naming `part` (or none) paid.
pub fn paid_on(payments: &[PaymentRow], part: Option<i64>) -> i64 {
    payments
        .iter()
        .filter(|p| p.part == part)
        .map(|p| p.amount_cents)
        .sum()
}

/// A payment as staff see it (with its reference) or not.
pub fn payment_view(p: &PaymentRow, staff: bool) -> Payment {
    Payment {
        id: p.id,
        check_id: p.check_id,
        part: p.part,
        method: p.method,
        amount_cents: p.amount_cents,
        tip_cents: p.tip_cents,
        tendered_cents: p.tendered_cents,
        change_cents: p.change_cents,
        refunded_cents: p.refunded_cents,
        reference: if staff { p.reference.clone() } else { None },
        at: Timestamp(p.created_at),
    }
}

/// The check as clients see it; `staff` adds payment references. A check
/// no longer open shows the figures it was paid (or voided) with, and its
/// payments, refunds and status as they are now.
pub fn check(facts: &CheckFacts, computed: &Computed, staff: bool) -> Check {
    match &facts.frozen {
        Some(kept) => live(kept.clone(), facts, staff),
        None => computed_check(facts, computed, staff),
    }
}

/// The check's figures as they are kept, as they stand now.
pub fn kept(facts: &CheckFacts, staff: bool) -> Option<Check> {
    facts.frozen.clone().map(|k| live(k, facts, staff))
}

fn live(mut kept: Check, facts: &CheckFacts, staff: bool) -> Check {
    let c = &facts.check;
    kept.status = c.status;
    kept.paid_cents = c.paid_cents;
    kept.tip_cents = c.tip_cents;
    kept.refunded_cents = c.refunded_cents;
    kept.due_cents = if c.status == CheckStatus::Void {
        0
    } else {
        (kept.total_cents - c.paid_cents).max(0)
    };
    kept.payments = facts
        .payments
        .iter()
        .map(|p| payment_view(p, staff))
        .collect();
    for part in &mut kept.parts {
        part.paid_cents = paid_on(&facts.payments, Some(part.index));
        part.due_cents = (part.amount_cents - part.paid_cents).max(0);
    }
    kept.receipt_no = c.receipt_no;
    kept.void_reason = c.void_reason.clone();
    kept.closed_at = c.closed_at.map(Timestamp);
    kept
}

/// The check computed from its facts now.
pub fn computed_check(facts: &CheckFacts, computed: &Computed, staff: bool) -> Check {
    let c = &facts.check;
    let orders = &facts.orders;
    let lines = orders
        .iter()
        .filter(|o| o.status != OrderStatus::Cancelled)
        .flat_map(|o| o.lines.iter().map(move |l| (o.id, l)))
        .filter(|(_, l)| l.status != LineStatus::Voided)
        .map(|(order_id, l)| {
            let t = computed.totals.lines.iter().find(|t| t.id == l.id);
            CheckLine {
                line_id: l.id,
                order_id,
                name: l.name.clone(),
                qty: l.qty,
                unit_price_cents: l.unit_price_cents,
                seat: l.seat,
                gross_cents: l.unit_price_cents * l.qty,
                discount_cents: t.map_or(0, |t| t.discount_cents),
                net_cents: t.map_or(l.unit_price_cents * l.qty, |t| t.net_cents),
                tax_rate_id: facts.item_rates.get(&l.menu_item_id).copied(),
            }
        })
        .collect();
    let discounts = facts
        .discounts
        .iter()
        .map(|d| Discount {
            id: d.id,
            line_id: d.line_id,
            kind: d.kind,
            value: d.value,
            comp: d.comp,
            reason: d.reason.clone(),
            amount_cents: computed.discount(d.id),
            approved_by: d.approved_by,
        })
        .collect();
    let taxes = computed
        .totals
        .taxes
        .iter()
        .filter_map(|t| {
            let rate = facts.rates.iter().find(|r| r.id == t.rate_id)?;
            Some(CheckTax {
                tax_rate_id: t.rate_id,
                name: rate.name.clone(),
                rate_bp: rate.rate_bp,
                included: rate.included,
                base_cents: t.base_cents,
                tax_cents: t.tax_cents,
            })
        })
        .collect();
    let a = &computed.amounts;
    let due = if matches!(c.status, CheckStatus::Void) {
        0
    } else {
        computed.due(c.paid_cents)
    };
    Check {
        id: c.id,
        table_id: c.table_id,
        order_ids: orders.iter().map(|o| o.id).collect(),
        status: c.status,
        currency: facts.settings.currency.clone(),
        covers: c.covers,
        lines,
        discounts,
        taxes,
        subtotal_cents: a.subtotal_cents,
        discount_cents: a.discount_cents,
        service_cents: a.service_cents,
        tax_cents: a.tax_cents,
        tax_included_cents: computed.totals.tax_included_cents,
        total_cents: a.total_cents,
        paid_cents: c.paid_cents,
        tip_cents: c.tip_cents,
        refunded_cents: c.refunded_cents,
        due_cents: due,
        split: computed.split.clone(),
        parts: computed.parts.clone(),
        payments: facts
            .payments
            .iter()
            .map(|p| payment_view(p, staff))
            .collect(),
        receipt_no: c.receipt_no,
        void_reason: c.void_reason.clone(),
        opened_at: Timestamp(c.opened_at),
        closed_at: c.closed_at.map(Timestamp),
    }
}
