//! The arithmetic of a check: discounts, service charge, taxes, total,
//! splitting it into parts and taking a payment against a part. Pure: no
//! I/O, no clock, nothing from the rest of the crate, so each rule below is
//! decided here once and tested on its own.
//!
//! Amounts are integer minor units (`i64` cents), rates and percentages are
//! basis points (1 bp = 0.01 %), products go through `i128`, and no float
//! is ever involved. Inputs are assumed validated at the edge (a check is far
//! below `i64::MAX / 100_000` cents), so the sums cannot overflow.
//!
//! # Rounding rules
//!
//! 1. A line's gross is unit price × quantity (the caller computes it, ≥ 0).
//!    The subtotal is the sum of the gross amounts.
//! 2. Line discounts (`line_id` set) are applied first, in the order given.
//!    `Amount(a)` takes `min(a, what is left of the line)`; `Percent(bp)`
//!    takes [`percent_of`]`(line gross, bp)`, capped at what is left. A
//!    discount naming a line not on the check takes 0.
//! 3. Check discounts (`line_id` none) then apply, in the order given, to
//!    what is left after the line discounts. `Amount(a)` takes
//!    `min(a, left)`; `Percent(bp)` takes `percent_of(left after the line
//!    discounts, before any check discount, bp)`, capped at what is left.
//!    Each check discount is spread over the lines pro rata to their net so
//!    far with [`allocate`], so every line knows its net for the tax base.
//!    [`Totals::discounts`] lists each discount's effective cents in input
//!    order; `discount_cents` is their sum.
//! 4. A line's net is its gross minus its discounts, never negative. The
//!    service charge is `percent_of(Σ net, service_bp)` (0 bp = none) and
//!    is not taxed.
//! 5. Taxes are rounded once per rate per check, not per line: the base of
//!    a rate is the sum of the nets of its lines. An added rate's tax is
//!    `percent_of(base, bp)`; an included rate's tax is the part of the
//!    price that is tax, `base − round_half_up(base × 10 000, 10 000 + bp)`.
//!    Lines without a rate, or naming a rate that is not given, are untaxed.
//!    [`Totals::taxes`] lists the rates that have at least one line, by
//!    ascending rate id; `tax_cents` sums them all, `tax_included_cents`
//!    only the included ones.
//! 6. `total = Σ net + service + Σ added taxes` (included taxes are already
//!    in the prices).
//! 7. [`allocate`] splits an amount by weights with the largest remainder
//!    (Hamilton) method: the parts always sum exactly to the amount, each
//!    is within one cent of its exact share, the leftover cents go one each
//!    to the largest remainders (ties to the lower index), and all-zero
//!    weights split equally.
//! 8. [`split`] turns a check into parts that always sum exactly to its
//!    total (see [`SplitRule`] for each rule).
//! 9. [`pay`] takes a positive amount and a non-negative tip against what a
//!    part still owes. Paying more than is due other than as tip is refused,
//!    so two payments can never pay a part twice; cash tendered must cover
//!    amount and tip, and the difference is the change.
//!
//! Half rounds up everywhere ([`round_half_up`]): 0.5 cent is 1 cent.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

/// Basis points in a whole (100 %).
const WHOLE_BP: i128 = 10_000;

/// The most parts a check can be split into evenly or by amounts.
pub const MAX_PARTS: i64 = 50;

/// A tax rate: `bp` basis points (0..=100 000), included in the prices or
/// added on top of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    pub id: i64,
    pub bp: i64,
    pub included: bool,
}

/// A line of the check: `gross_cents` is unit price × quantity (≥ 0),
/// `rate` the id of its tax rate (none: untaxed), `seat` who had it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub id: i64,
    pub gross_cents: i64,
    pub rate: Option<i64>,
    pub seat: Option<i64>,
}

/// How much a discount takes off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Off {
    /// A fixed amount in cents.
    Amount(i64),
    /// A percentage in basis points, 1..=10 000.
    Percent(i64),
}

/// A discount on one line (`line_id`) or on the whole check (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discount {
    pub id: i64,
    pub line_id: Option<i64>,
    pub off: Off,
}

/// A line after discounts: `net_cents = gross_cents − discount_cents`, its
/// own discounts and its share of the check discounts together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTotal {
    pub id: i64,
    pub gross_cents: i64,
    pub discount_cents: i64,
    pub net_cents: i64,
}

/// The tax of one rate over the whole check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxTotal {
    pub rate_id: i64,
    pub base_cents: i64,
    pub tax_cents: i64,
    pub included: bool,
}

/// Everything a check adds up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub subtotal_cents: i64,
    pub discount_cents: i64,
    pub service_cents: i64,
    /// All taxes, included and added.
    pub tax_cents: i64,
    /// The part of `tax_cents` already in the prices.
    pub tax_included_cents: i64,
    pub total_cents: i64,
    /// One per line, in input order.
    pub lines: Vec<LineTotal>,
    /// (discount id, effective cents), in input order.
    pub discounts: Vec<(i64, i64)>,
    /// One per rate with at least one line, by ascending rate id.
    pub taxes: Vec<TaxTotal>,
}

/// `numerator / denominator` rounded to the nearest integer, half up
/// (towards +∞). Meant for non-negative numerators.
///
/// # Panics
/// If `denominator` is not positive or the result does not fit in `i64`:
/// both are bugs in the caller, not data to recover from.
pub fn round_half_up(numerator: i128, denominator: i128) -> i64 {
    assert!(denominator > 0, "round_half_up: denominator {denominator}");
    let quotient = numerator.div_euclid(denominator);
    let remainder = numerator.rem_euclid(denominator);
    // `remainder * 2 >= denominator`, written so it cannot overflow.
    let rounded = if remainder >= denominator - remainder {
        quotient + 1
    } else {
        quotient
    };
    i64::try_from(rounded).expect("a rounded amount fits in i64")
}

/// `bp` basis points of `amount`, half up: `percent_of(5, 5000) == 3`.
pub fn percent_of(amount: i64, bp: i64) -> i64 {
    round_half_up(i128::from(amount) * i128::from(bp), WHOLE_BP)
}

/// Splits `total` (≥ 0) in proportion to `weights` (≥ 0; a negative weight
/// counts as 0) by largest remainder: the shares always sum exactly to
/// `total`, each is `floor(total × w / W)` or one cent more, and the
/// leftover cents go to the largest remainders, ties to the lower index.
/// All-zero weights split equally; no weights give no shares.
pub fn allocate(total: i64, weights: &[i64]) -> Vec<i64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let mut weights: Vec<i128> = weights.iter().map(|&w| i128::from(w.max(0))).collect();
    let mut sum: i128 = weights.iter().sum();
    if sum == 0 {
        weights.fill(1);
        sum = weights.len() as i128;
    }
    let total = i128::from(total);
    let (mut shares, remainders): (Vec<i128>, Vec<i128>) = weights
        .iter()
        .map(|&w| ((total * w).div_euclid(sum), (total * w).rem_euclid(sum)))
        .unzip();
    // Σ remainders = leftover × W with each remainder < W, so the leftover
    // is below the number of shares and only positive remainders get a cent.
    let leftover = total - shares.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    // A stable sort keeps equal remainders in index order.
    order.sort_by_key(|&i| std::cmp::Reverse(remainders[i]));
    for &i in order.iter().take(leftover as usize) {
        shares[i] += 1;
    }
    shares
        .into_iter()
        .map(|s| i64::try_from(s).expect("a share is at most the total"))
        .collect()
}

/// Adds up a check by the rules in the module documentation.
pub fn totals(lines: &[Line], rates: &[Rate], discounts: &[Discount], service_bp: i64) -> Totals {
    let subtotal_cents: i64 = lines.iter().map(|l| l.gross_cents).sum();
    let mut net: Vec<i64> = lines.iter().map(|l| l.gross_cents).collect();
    let mut effective = vec![0; discounts.len()];

    for (k, discount) in discounts.iter().enumerate() {
        let Some(line_id) = discount.line_id else {
            continue;
        };
        let Some(i) = lines.iter().position(|l| l.id == line_id) else {
            continue;
        };
        let wanted = match discount.off {
            Off::Amount(a) => a,
            Off::Percent(bp) => percent_of(lines[i].gross_cents, bp),
        };
        let take = wanted.clamp(0, net[i].max(0));
        net[i] -= take;
        effective[k] = take;
    }

    // Percentages off the check are of what the line discounts left, so two
    // of them do not compound.
    let after_line_discounts: i64 = net.iter().sum();
    for (k, discount) in discounts.iter().enumerate() {
        if discount.line_id.is_some() {
            continue;
        }
        let left: i64 = net.iter().map(|&n| n.max(0)).sum();
        let wanted = match discount.off {
            Off::Amount(a) => a,
            Off::Percent(bp) => percent_of(after_line_discounts, bp),
        };
        let take = wanted.clamp(0, left);
        // Shares are pro rata to the nets and take ≤ Σ nets, so none
        // exceeds its line's net.
        let shares = allocate(take, &net);
        for (n, share) in net.iter_mut().zip(shares) {
            *n -= share;
        }
        effective[k] = take;
    }

    let net_cents: i64 = net.iter().sum();
    let service_cents = percent_of(net_cents, service_bp).max(0);
    let taxes = taxes(lines, &net, rates);
    let tax_cents: i64 = taxes.iter().map(|t| t.tax_cents).sum();
    let tax_included_cents: i64 = taxes
        .iter()
        .filter(|t| t.included)
        .map(|t| t.tax_cents)
        .sum();

    Totals {
        subtotal_cents,
        discount_cents: effective.iter().sum(),
        service_cents,
        tax_cents,
        tax_included_cents,
        total_cents: net_cents + service_cents + (tax_cents - tax_included_cents),
        lines: lines
            .iter()
            .zip(&net)
            .map(|(line, &net_cents)| LineTotal {
                id: line.id,
                gross_cents: line.gross_cents,
                discount_cents: line.gross_cents - net_cents,
                net_cents,
            })
            .collect(),
        discounts: discounts.iter().map(|d| d.id).zip(effective).collect(),
        taxes,
    }
}

/// One tax per rate over the nets of its lines, by ascending rate id.
fn taxes(lines: &[Line], net: &[i64], rates: &[Rate]) -> Vec<TaxTotal> {
    let mut bases: BTreeMap<i64, (i64, &Rate)> = BTreeMap::new();
    for (line, &net_cents) in lines.iter().zip(net) {
        let Some(rate) = line
            .rate
            .and_then(|id| rates.iter().find(|rate| rate.id == id))
        else {
            continue;
        };
        bases.entry(rate.id).or_insert((0, rate)).0 += net_cents;
    }
    bases
        .into_iter()
        .map(|(rate_id, (base_cents, rate))| {
            let bp = i128::from(rate.bp.max(0));
            let tax_cents = if rate.included {
                base_cents - round_half_up(i128::from(base_cents) * WHOLE_BP, WHOLE_BP + bp)
            } else {
                percent_of(base_cents, rate.bp.max(0))
            };
            TaxTotal {
                rate_id,
                base_cents,
                tax_cents,
                included: rate.included,
            }
        })
        .collect()
}

/// How to split a check. Whatever the rule, the parts sum exactly to the
/// check's total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitRule {
    /// Into n equal parts (1..=50), labelled "1/n", "2/n", ...
    Even(i64),
    /// One part per group of line ids ("part 1", ...), plus a "rest" part
    /// for the lines no group names; each part pays in proportion to the
    /// nets of its lines (service and taxes follow the lines).
    Lines(Vec<Vec<i64>>),
    /// One part per seat ("seat 3"), ascending; lines without a seat are
    /// shared evenly by the seats. No seated line: one part "all".
    Seats,
    /// Fixed amounts (1..=50, each > 0, summing to at most the total),
    /// "part 1", ..., plus a "rest" part for any difference.
    Amounts(Vec<i64>),
}

/// One part of a split check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub label: String,
    pub amount_cents: i64,
    /// The lines this part pays for (its own lines for a seat; empty for
    /// an even split or a fixed amount).
    pub line_ids: Vec<i64>,
    pub seat: Option<i64>,
}

/// A split rule the check cannot be split by: each names the field at fault
/// (as in `split.lines[1][0]`) and says why in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitError {
    /// Too few or too many parts asked for.
    PartCount { field: String, message: String },
    /// A group of lines that names no line.
    EmptyGroup { field: String, message: String },
    /// A line id that is not on the check.
    UnknownLine { field: String, message: String },
    /// A line id already named by an earlier group.
    RepeatedLine { field: String, message: String },
    /// A fixed amount that is zero or negative.
    NonPositiveAmount { field: String, message: String },
    /// Fixed amounts that add up to more than the check.
    OverTotal { field: String, message: String },
}

impl SplitError {
    /// The path of the field at fault, e.g. `split.lines[1][0]`.
    pub fn field(&self) -> &str {
        self.parts().0
    }

    /// Why, in words for the person splitting the check.
    pub fn message(&self) -> &str {
        self.parts().1
    }

    fn parts(&self) -> (&str, &str) {
        match self {
            Self::PartCount { field, message }
            | Self::EmptyGroup { field, message }
            | Self::UnknownLine { field, message }
            | Self::RepeatedLine { field, message }
            | Self::NonPositiveAmount { field, message }
            | Self::OverTotal { field, message } => (field, message),
        }
    }
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field(), self.message())
    }
}

impl std::error::Error for SplitError {}

/// Splits a check (`totals` of `lines`) into parts by `rule`; the parts sum
/// exactly to `totals.total_cents`.
pub fn split(totals: &Totals, lines: &[Line], rule: &SplitRule) -> Result<Vec<Part>, SplitError> {
    match rule {
        SplitRule::Even(n) => split_even(totals.total_cents, *n),
        SplitRule::Lines(groups) => split_by_lines(totals, groups),
        SplitRule::Seats => Ok(split_by_seats(totals, lines)),
        SplitRule::Amounts(amounts) => split_by_amounts(totals.total_cents, amounts),
    }
}

fn part(label: String, line_ids: Vec<i64>, seat: Option<i64>) -> Part {
    Part {
        label,
        amount_cents: 0,
        line_ids,
        seat,
    }
}

/// Shares `total` among `parts` by `weights` (one each).
fn share(total: i64, mut parts: Vec<Part>, weights: &[i64]) -> Vec<Part> {
    for (part, amount) in parts.iter_mut().zip(allocate(total, weights)) {
        part.amount_cents = amount;
    }
    parts
}

fn split_even(total: i64, n: i64) -> Result<Vec<Part>, SplitError> {
    if !(1..=MAX_PARTS).contains(&n) {
        return Err(SplitError::PartCount {
            field: "split.even".into(),
            message: format!("split evenly into 1 to {MAX_PARTS} parts, not {n}"),
        });
    }
    let parts = (1..=n)
        .map(|i| part(format!("{i}/{n}"), Vec::new(), None))
        .collect();
    Ok(share(total, parts, &vec![1; n as usize]))
}

fn split_by_lines(totals: &Totals, groups: &[Vec<i64>]) -> Result<Vec<Part>, SplitError> {
    if groups.is_empty() {
        return Err(SplitError::PartCount {
            field: "split.lines".into(),
            message: "name at least one group of lines".into(),
        });
    }
    let net: HashMap<i64, i64> = totals.lines.iter().map(|l| (l.id, l.net_cents)).collect();
    // Which part (1-based, as labelled) already has each line.
    let mut named: HashMap<i64, usize> = HashMap::new();
    for (g, group) in groups.iter().enumerate() {
        if group.is_empty() {
            return Err(SplitError::EmptyGroup {
                field: format!("split.lines[{g}]"),
                message: format!("part {} names no line", g + 1),
            });
        }
        for (j, &id) in group.iter().enumerate() {
            let field = format!("split.lines[{g}][{j}]");
            if !net.contains_key(&id) {
                return Err(SplitError::UnknownLine {
                    field,
                    message: format!("line {id} is not on this check"),
                });
            }
            if let Some(earlier) = named.insert(id, g + 1) {
                return Err(SplitError::RepeatedLine {
                    field,
                    message: format!("line {id} is already in part {earlier}"),
                });
            }
        }
    }

    let mut parts: Vec<Part> = groups
        .iter()
        .enumerate()
        .map(|(g, group)| part(format!("part {}", g + 1), group.clone(), None))
        .collect();
    let rest: Vec<i64> = totals
        .lines
        .iter()
        .map(|l| l.id)
        .filter(|id| !named.contains_key(id))
        .collect();
    if !rest.is_empty() {
        parts.push(part("rest".into(), rest, None));
    }
    let weights: Vec<i64> = parts
        .iter()
        .map(|p| p.line_ids.iter().map(|id| net[id]).sum())
        .collect();
    Ok(share(totals.total_cents, parts, &weights))
}

fn split_by_seats(totals: &Totals, lines: &[Line]) -> Vec<Part> {
    let net: HashMap<i64, i64> = totals.lines.iter().map(|l| (l.id, l.net_cents)).collect();
    let net_of = |line: &Line| net.get(&line.id).copied().unwrap_or(0);
    let seats: BTreeSet<i64> = lines.iter().filter_map(|l| l.seat).collect();
    if seats.is_empty() {
        let all = lines.iter().map(|l| l.id).collect();
        return share(
            totals.total_cents,
            vec![part("all".into(), all, None)],
            &[1],
        );
    }
    // Each seat pays its own lines and 1/k of the shared ones; scaling by k
    // keeps the weights whole.
    let k = seats.len() as i64;
    let shared: i64 = lines.iter().filter(|l| l.seat.is_none()).map(net_of).sum();
    let (parts, weights): (Vec<Part>, Vec<i64>) = seats
        .into_iter()
        .map(|seat| {
            let own: Vec<&Line> = lines.iter().filter(|l| l.seat == Some(seat)).collect();
            let own_net: i64 = own.iter().map(|l| net_of(l)).sum();
            let ids = own.iter().map(|l| l.id).collect();
            (
                part(format!("seat {seat}"), ids, Some(seat)),
                own_net * k + shared,
            )
        })
        .unzip();
    share(totals.total_cents, parts, &weights)
}

fn split_by_amounts(total: i64, amounts: &[i64]) -> Result<Vec<Part>, SplitError> {
    if !(1..=MAX_PARTS as usize).contains(&amounts.len()) {
        return Err(SplitError::PartCount {
            field: "split.amounts".into(),
            message: format!("split into 1 to {MAX_PARTS} amounts, not {}", amounts.len()),
        });
    }
    if let Some((i, &a)) = amounts.iter().enumerate().find(|(_, &a)| a <= 0) {
        return Err(SplitError::NonPositiveAmount {
            field: format!("split.amounts[{i}]"),
            message: format!("an amount must be more than 0 cents, not {a}"),
        });
    }
    let sum: i128 = amounts.iter().map(|&a| i128::from(a)).sum();
    if sum > i128::from(total) {
        return Err(SplitError::OverTotal {
            field: "split.amounts".into(),
            message: format!("the amounts add up to {sum} cents, more than the check's {total}"),
        });
    }
    let mut parts: Vec<Part> = amounts
        .iter()
        .enumerate()
        .map(|(i, &amount_cents)| Part {
            amount_cents,
            ..part(format!("part {}", i + 1), Vec::new(), None)
        })
        .collect();
    // The sum is at most the total, so it fits in i64.
    let rest = total - sum as i64;
    if rest > 0 {
        parts.push(Part {
            amount_cents: rest,
            ..part("rest".into(), Vec::new(), None)
        });
    }
    Ok(parts)
}

/// A payment accepted: the change to give back (0 unless cash was tendered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tender {
    pub change_cents: i64,
}

/// A payment refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayError {
    /// The amount paid is zero or negative.
    NonPositiveAmount { amount: i64 },
    /// The tip is negative.
    NegativeTip { tip: i64 },
    /// The amount is more than is due (only the tip may go beyond it).
    Overpaid { due: i64 },
    /// The cash tendered does not cover amount and tip.
    TenderShort { needed: i64 },
}

impl PayError {
    /// The argument at fault, named as in [`pay`].
    pub fn field(&self) -> &'static str {
        match self {
            Self::NonPositiveAmount { .. } | Self::Overpaid { .. } => "amount_cents",
            Self::NegativeTip { .. } => "tip_cents",
            Self::TenderShort { .. } => "tendered_cents",
        }
    }

    /// Why, in words for the person taking the payment.
    pub fn message(&self) -> String {
        match self {
            Self::NonPositiveAmount { amount } => {
                format!("the amount must be more than 0 cents, not {amount}")
            }
            Self::NegativeTip { tip } => format!("the tip cannot be negative ({tip} cents)"),
            Self::Overpaid { due } => {
                format!("only {due} cents are due; anything more can only be a tip")
            }
            Self::TenderShort { needed } => {
                format!("the cash tendered must be at least {needed} cents (amount and tip)")
            }
        }
    }
}

impl fmt::Display for PayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for PayError {}

/// Takes `amount_cents` (> 0) plus `tip_cents` (≥ 0) against `due_cents`,
/// with `tendered_cents` of cash if it is a cash payment. Refuses an amount
/// above what is due, so a part is never paid beyond its amount.
pub fn pay(
    due_cents: i64,
    amount_cents: i64,
    tip_cents: i64,
    tendered_cents: Option<i64>,
) -> Result<Tender, PayError> {
    if amount_cents <= 0 {
        return Err(PayError::NonPositiveAmount {
            amount: amount_cents,
        });
    }
    if tip_cents < 0 {
        return Err(PayError::NegativeTip { tip: tip_cents });
    }
    if amount_cents > due_cents {
        return Err(PayError::Overpaid { due: due_cents });
    }
    let Some(tendered) = tendered_cents else {
        return Ok(Tender { change_cents: 0 });
    };
    let needed = i128::from(amount_cents) + i128::from(tip_cents);
    if i128::from(tendered) < needed {
        return Err(PayError::TenderShort {
            needed: i64::try_from(needed).unwrap_or(i64::MAX),
        });
    }
    // 0 ≤ change ≤ tendered, so it fits.
    Ok(Tender {
        change_cents: (i128::from(tendered) - needed) as i64,
    })
}

#[cfg(test)]
mod tests;
