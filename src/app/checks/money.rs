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
mod tests {
    use super::*;

    fn line(id: i64, gross_cents: i64, rate: Option<i64>, seat: Option<i64>) -> Line {
        Line {
            id,
            gross_cents,
            rate,
            seat,
        }
    }

    fn rate(id: i64, bp: i64, included: bool) -> Rate {
        Rate { id, bp, included }
    }

    fn off_line(id: i64, line_id: i64, off: Off) -> Discount {
        Discount {
            id,
            line_id: Some(line_id),
            off,
        }
    }

    fn off_check(id: i64, off: Off) -> Discount {
        Discount {
            id,
            line_id: None,
            off,
        }
    }

    fn nets(totals: &Totals) -> Vec<i64> {
        totals.lines.iter().map(|l| l.net_cents).collect()
    }

    #[test]
    fn half_a_cent_rounds_up() {
        assert_eq!(round_half_up(5, 10), 1);
        assert_eq!(round_half_up(4, 10), 0);
        assert_eq!(round_half_up(15, 10), 2);
        assert_eq!(round_half_up(25, 10), 3);
        assert_eq!(round_half_up(1, 3), 0);
        assert_eq!(round_half_up(2, 3), 1);
        assert_eq!(round_half_up(0, 7), 0);
        assert_eq!(round_half_up(7, 7), 1);
        assert_eq!(percent_of(5, 5000), 3);
        assert_eq!(percent_of(1, 5000), 1);
        assert_eq!(percent_of(1, 4999), 0);
        assert_eq!(percent_of(999, 1250), 125);
        assert_eq!(percent_of(1000, 10_000), 1000);
        assert_eq!(percent_of(0, 2500), 0);
    }

    #[test]
    fn allocate_gives_leftover_cents_to_the_largest_remainders() {
        assert_eq!(allocate(100, &[1, 1, 1]), [34, 33, 33]);
        assert_eq!(allocate(2, &[1, 1, 1]), [1, 1, 0]);
        assert_eq!(allocate(10, &[1, 2]), [3, 7]);
        assert_eq!(allocate(100, &[333, 333, 334]), [33, 33, 34]);
        assert_eq!(allocate(7, &[0, 3]), [0, 7]);
        assert_eq!(allocate(0, &[5, 5]), [0, 0]);
    }

    #[test]
    fn allocate_splits_equally_without_weights() {
        assert_eq!(allocate(100, &[0, 0]), [50, 50]);
        assert_eq!(allocate(1, &[0, 0, 0]), [1, 0, 0]);
        assert_eq!(allocate(100, &[]), Vec::<i64>::new());
    }

    #[test]
    fn an_added_tax_is_rounded_once_per_check() {
        let lines = [
            line(1, 1005, Some(1), None),
            line(2, 1005, Some(1), None),
            line(3, 1005, Some(1), None),
        ];
        let t = totals(&lines, &[rate(1, 1000, false)], &[], 0);
        // Per line it would be 3 × 100.5 → 3 × 101 = 303; per check 301.5 → 302.
        assert_eq!(
            t.taxes,
            [TaxTotal {
                rate_id: 1,
                base_cents: 3015,
                tax_cents: 302,
                included: false,
            }]
        );
        assert_eq!(t.subtotal_cents, 3015);
        assert_eq!(t.tax_cents, 302);
        assert_eq!(t.tax_included_cents, 0);
        assert_eq!(t.total_cents, 3317);
    }

    #[test]
    fn an_included_tax_is_the_part_of_the_price_that_is_tax() {
        let vat = [rate(1, 2000, true)];
        let t = totals(&[line(1, 1200, Some(1), None)], &vat, &[], 0);
        assert_eq!(t.taxes[0].base_cents, 1200);
        assert_eq!(t.tax_cents, 200);
        assert_eq!(t.tax_included_cents, 200);
        assert_eq!(t.total_cents, 1200);

        // 1000 / 1.2 = 833.33 → 833 net of tax, so 167 of tax.
        let t = totals(&[line(1, 1000, Some(1), None)], &vat, &[], 0);
        assert_eq!(t.tax_cents, 167);
        assert_eq!(t.total_cents, 1000);
    }

    #[test]
    fn taxes_are_listed_by_rate_and_unknown_rates_are_untaxed() {
        let lines = [
            line(1, 1000, Some(7), None),
            line(2, 1200, Some(3), None),
            line(3, 500, None, None),
            line(4, 300, Some(99), None),
        ];
        let rates = [rate(7, 1000, false), rate(3, 2000, true)];
        let t = totals(&lines, &rates, &[], 0);
        assert_eq!(
            t.taxes,
            [
                TaxTotal {
                    rate_id: 3,
                    base_cents: 1200,
                    tax_cents: 200,
                    included: true,
                },
                TaxTotal {
                    rate_id: 7,
                    base_cents: 1000,
                    tax_cents: 100,
                    included: false,
                },
            ]
        );
        assert_eq!(t.tax_cents, 300);
        assert_eq!(t.tax_included_cents, 200);
        assert_eq!(t.total_cents, 3100);
    }

    #[test]
    fn line_discounts_apply_in_order_and_never_exceed_the_line() {
        let lines = [line(1, 1000, None, None), line(2, 500, None, None)];
        let discounts = [
            off_line(1, 1, Off::Amount(700)),
            // 50 % of the gross is 500, but only 300 is left.
            off_line(2, 1, Off::Percent(5000)),
            off_line(3, 42, Off::Amount(100)),
            off_line(4, 2, Off::Amount(900)),
        ];
        let t = totals(&lines, &[], &discounts, 0);
        assert_eq!(t.discounts, [(1, 700), (2, 300), (3, 0), (4, 500)]);
        assert_eq!(t.discount_cents, 1500);
        assert_eq!(nets(&t), [0, 0]);
        assert_eq!(t.total_cents, 0);
    }

    #[test]
    fn a_check_discount_is_spread_over_the_lines() {
        let lines = [
            line(1, 333, Some(1), None),
            line(2, 333, Some(1), None),
            line(3, 334, Some(1), None),
        ];
        let t = totals(
            &lines,
            &[rate(1, 1000, false)],
            &[off_check(9, Off::Percent(1000))],
            0,
        );
        assert_eq!(t.discounts, [(9, 100)]);
        let discounts: Vec<i64> = t.lines.iter().map(|l| l.discount_cents).collect();
        assert_eq!(discounts, [33, 33, 34]);
        assert_eq!(nets(&t), [300, 300, 300]);
        // The tax is on what is left after the discount.
        assert_eq!(t.taxes[0].base_cents, 900);
        assert_eq!(t.total_cents, 990);
    }

    #[test]
    fn check_percentages_are_of_what_line_discounts_left_and_do_not_compound() {
        let lines = [line(1, 1000, None, None), line(2, 1000, None, None)];
        let discounts = [
            off_check(2, Off::Amount(500)),
            off_line(1, 1, Off::Percent(1000)),
            off_check(3, Off::Percent(1000)),
        ];
        let t = totals(&lines, &[], &discounts, 0);
        // Line 1 is 900 after its own 10 %; 500 is spread 900 : 1000, then
        // 10 % of 1900 (not of 1400) is spread 663 : 737.
        assert_eq!(t.discounts, [(2, 500), (1, 100), (3, 190)]);
        assert_eq!(nets(&t), [573, 637]);
        assert_eq!(t.discount_cents, 790);
    }

    #[test]
    fn check_discounts_stop_at_what_is_left() {
        let lines = [line(1, 1000, None, None)];
        let discounts = [
            off_check(1, Off::Amount(1500)),
            off_check(2, Off::Percent(5000)),
        ];
        let t = totals(&lines, &[], &discounts, 1000);
        assert_eq!(t.discounts, [(1, 1000), (2, 0)]);
        assert_eq!(t.service_cents, 0);
        assert_eq!(t.total_cents, 0);
    }

    #[test]
    fn the_service_charge_is_on_the_net_and_not_taxed() {
        let t = totals(
            &[line(1, 1999, Some(1), None)],
            &[rate(1, 1000, false)],
            &[],
            1250,
        );
        // 12.5 % of 1999 = 249.875 → 250; 10 % tax of 1999 only = 200.
        assert_eq!(t.service_cents, 250);
        assert_eq!(t.tax_cents, 200);
        assert_eq!(t.total_cents, 2449);
    }

    #[test]
    fn an_empty_check_adds_up_to_nothing() {
        let t = totals(&[], &[], &[off_check(1, Off::Amount(100))], 1000);
        assert_eq!(t.total_cents, 0);
        assert_eq!(t.discounts, [(1, 0)]);
        assert!(t.lines.is_empty() && t.taxes.is_empty());
    }

    /// Lines 1..=3 of 1000, 2000 and 3000, untaxed, 10 % service: 6600.
    fn three_lines() -> (Vec<Line>, Totals) {
        let lines = vec![
            line(1, 1000, None, None),
            line(2, 2000, None, None),
            line(3, 3000, None, None),
        ];
        let t = totals(&lines, &[], &[], 1000);
        (lines, t)
    }

    fn amounts(parts: &[Part]) -> Vec<i64> {
        parts.iter().map(|p| p.amount_cents).collect()
    }

    fn labels(parts: &[Part]) -> Vec<&str> {
        parts.iter().map(|p| p.label.as_str()).collect()
    }

    #[test]
    fn an_even_split_spreads_the_odd_cents() {
        let lines = [line(1, 1000, None, None)];
        let t = totals(&lines, &[], &[], 0);
        let parts = split(&t, &lines, &SplitRule::Even(3)).unwrap();
        assert_eq!(amounts(&parts), [334, 333, 333]);
        assert_eq!(labels(&parts), ["1/3", "2/3", "3/3"]);
        assert!(parts
            .iter()
            .all(|p| p.line_ids.is_empty() && p.seat.is_none()));

        for n in [0, 51, -1] {
            let err = split(&t, &lines, &SplitRule::Even(n)).unwrap_err();
            assert!(matches!(err, SplitError::PartCount { .. }));
            assert_eq!(err.field(), "split.even");
        }
    }

    #[test]
    fn a_split_by_lines_pays_for_its_lines_and_the_rest_is_one_part() {
        let (lines, t) = three_lines();
        let rule = SplitRule::Lines(vec![vec![2], vec![1]]);
        let parts = split(&t, &lines, &rule).unwrap();
        assert_eq!(labels(&parts), ["part 1", "part 2", "rest"]);
        assert_eq!(amounts(&parts), [2200, 1100, 3300]);
        assert_eq!(parts[2].line_ids, [3]);

        let rule = SplitRule::Lines(vec![vec![3, 1], vec![2]]);
        let parts = split(&t, &lines, &rule).unwrap();
        assert_eq!(labels(&parts), ["part 1", "part 2"]);
        assert_eq!(amounts(&parts), [4400, 2200]);
    }

    #[test]
    fn a_split_by_lines_names_the_field_at_fault() {
        let (lines, t) = three_lines();
        let fails =
            |groups: Vec<Vec<i64>>| split(&t, &lines, &SplitRule::Lines(groups)).unwrap_err();

        let err = fails(vec![]);
        assert!(matches!(err, SplitError::PartCount { .. }));
        assert_eq!(err.field(), "split.lines");

        let err = fails(vec![vec![1], vec![]]);
        assert!(matches!(err, SplitError::EmptyGroup { .. }));
        assert_eq!(err.field(), "split.lines[1]");

        let err = fails(vec![vec![1], vec![4]]);
        assert!(matches!(err, SplitError::UnknownLine { .. }));
        assert_eq!(err.field(), "split.lines[1][0]");
        assert_eq!(err.message(), "line 4 is not on this check");

        let err = fails(vec![vec![1, 2], vec![3, 2]]);
        assert!(matches!(err, SplitError::RepeatedLine { .. }));
        assert_eq!(err.field(), "split.lines[1][1]");
        assert_eq!(err.message(), "line 2 is already in part 1");
        assert_eq!(
            err.to_string(),
            "split.lines[1][1]: line 2 is already in part 1"
        );
    }

    #[test]
    fn seats_share_the_lines_nobody_sat_at() {
        let lines = [
            line(1, 2000, None, Some(2)),
            line(2, 1000, None, Some(1)),
            line(3, 600, None, None),
        ];
        let t = totals(&lines, &[], &[], 0);
        let parts = split(&t, &lines, &SplitRule::Seats).unwrap();
        assert_eq!(
            parts,
            [
                Part {
                    label: "seat 1".into(),
                    amount_cents: 1300,
                    line_ids: vec![2],
                    seat: Some(1),
                },
                Part {
                    label: "seat 2".into(),
                    amount_cents: 2300,
                    line_ids: vec![1],
                    seat: Some(2),
                },
            ]
        );
    }

    #[test]
    fn without_seats_one_part_pays_all() {
        let (lines, t) = three_lines();
        let parts = split(&t, &lines, &SplitRule::Seats).unwrap();
        assert_eq!(
            parts,
            [Part {
                label: "all".into(),
                amount_cents: 6600,
                line_ids: vec![1, 2, 3],
                seat: None,
            }]
        );
    }

    #[test]
    fn a_split_by_amounts_leaves_the_rest_in_a_last_part() {
        let (lines, t) = three_lines();
        let by = |a: Vec<i64>| split(&t, &lines, &SplitRule::Amounts(a));

        let parts = by(vec![3000, 1000]).unwrap();
        assert_eq!(labels(&parts), ["part 1", "part 2", "rest"]);
        assert_eq!(amounts(&parts), [3000, 1000, 2600]);
        assert_eq!(amounts(&by(vec![6600]).unwrap()), [6600]);

        let err = by(vec![]).unwrap_err();
        assert_eq!(err.field(), "split.amounts");
        let err = by(vec![1; 51]).unwrap_err();
        assert!(matches!(err, SplitError::PartCount { .. }));
        let err = by(vec![100, 0]).unwrap_err();
        assert!(matches!(err, SplitError::NonPositiveAmount { .. }));
        assert_eq!(err.field(), "split.amounts[1]");
        let err = by(vec![6000, 601]).unwrap_err();
        assert!(matches!(err, SplitError::OverTotal { .. }));
        assert_eq!(err.field(), "split.amounts");
    }

    #[test]
    fn a_payment_gives_change_from_cash() {
        assert_eq!(pay(1000, 1000, 0, None), Ok(Tender { change_cents: 0 }));
        assert_eq!(pay(1000, 400, 0, None), Ok(Tender { change_cents: 0 }));
        // A tip may go beyond what is due; the amount may not.
        assert_eq!(
            pay(1000, 1000, 150, Some(2000)),
            Ok(Tender { change_cents: 850 })
        );
        assert_eq!(
            pay(1000, 1000, 0, Some(1000)),
            Ok(Tender { change_cents: 0 })
        );
    }

    #[test]
    fn a_payment_is_refused_beyond_what_is_due() {
        assert_eq!(
            pay(1000, 1001, 0, None),
            Err(PayError::Overpaid { due: 1000 })
        );
        assert_eq!(pay(0, 1, 0, None), Err(PayError::Overpaid { due: 0 }));
        assert_eq!(
            pay(1000, 1000, 150, Some(1100)),
            Err(PayError::TenderShort { needed: 1150 })
        );
        let err = pay(1000, 0, 0, None).unwrap_err();
        assert_eq!(err, PayError::NonPositiveAmount { amount: 0 });
        assert_eq!(err.field(), "amount_cents");
        assert_eq!(
            pay(1000, 100, -1, None),
            Err(PayError::NegativeTip { tip: -1 })
        );
        assert_eq!(
            PayError::Overpaid { due: 250 }.to_string(),
            "only 250 cents are due; anything more can only be a tip"
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;
        use proptest::sample::Index;

        #[derive(Debug, Clone)]
        struct Check {
            lines: Vec<Line>,
            rates: Vec<Rate>,
            discounts: Vec<Discount>,
            service_bp: i64,
        }

        impl Check {
            fn totals(&self) -> Totals {
                totals(&self.lines, &self.rates, &self.discounts, self.service_bp)
            }
        }

        /// Some of rates 1..=4, each added or included.
        fn rates() -> impl Strategy<Value = Vec<Rate>> {
            let slot = prop::option::of((prop_oneof![0i64..=3_000, 0i64..=100_000], any::<bool>()));
            prop::collection::vec(slot, 4).prop_map(|slots| {
                (1..)
                    .zip(slots)
                    .filter_map(|(id, slot)| slot.map(|(bp, included)| Rate { id, bp, included }))
                    .collect()
            })
        }

        /// Lines 10, 20, ... naming rates 1..=5 (5 never exists), seats
        /// 1..=4; discounts on a line (one index past the end: a line not on
        /// the check) or on the whole check.
        fn check() -> impl Strategy<Value = Check> {
            (1usize..=20)
                .prop_flat_map(|n| {
                    let line = (
                        0i64..100_000,
                        prop::option::of(1i64..=5),
                        prop::option::of(1i64..=4),
                    );
                    let off = prop_oneof![
                        (0i64..50_000).prop_map(Off::Amount),
                        (1i64..=10_000).prop_map(Off::Percent),
                    ];
                    let discount = (prop::option::of(0..=n), off);
                    (
                        prop::collection::vec(line, n),
                        rates(),
                        prop::collection::vec(discount, 0..6),
                        0i64..=2_500,
                    )
                })
                .prop_map(|(lines, rates, discounts, service_bp)| Check {
                    lines: (1..)
                        .zip(lines)
                        .map(|(i, (gross_cents, rate, seat))| Line {
                            id: 10 * i,
                            gross_cents,
                            rate,
                            seat,
                        })
                        .collect(),
                    rates,
                    discounts: (1..)
                        .zip(discounts)
                        .map(|(id, (target, off))| Discount {
                            id,
                            line_id: target.map(|i| 10 * (i as i64 + 1)),
                            off,
                        })
                        .collect(),
                    service_bp,
                })
        }

        /// A split rule to build against a check: Lines assigns each line
        /// to one of four groups or none.
        #[derive(Debug, Clone)]
        enum Seed {
            Even(i64),
            Lines(Vec<Option<usize>>),
            Seats,
            Amounts(Vec<i64>),
        }

        fn seed() -> impl Strategy<Value = Seed> {
            let amount = prop_oneof![9 => 1i64..=40_000, 1 => -5i64..=0];
            prop_oneof![
                (-1i64..=52).prop_map(Seed::Even),
                prop::collection::vec(prop::option::of(0usize..4), 20).prop_map(Seed::Lines),
                Just(Seed::Seats),
                prop::collection::vec(amount, 0..=52).prop_map(Seed::Amounts),
            ]
        }

        /// The rule and whether it must be accepted.
        fn rule(seed: &Seed, lines: &[Line], total: i64) -> (SplitRule, bool) {
            match seed {
                Seed::Even(n) => (SplitRule::Even(*n), (1..=50).contains(n)),
                Seed::Lines(groups) => {
                    let groups: Vec<Vec<i64>> = (0..4)
                        .map(|g| {
                            lines
                                .iter()
                                .zip(groups)
                                .filter(|(_, to)| **to == Some(g))
                                .map(|(l, _)| l.id)
                                .collect::<Vec<_>>()
                        })
                        .filter(|group| !group.is_empty())
                        .collect();
                    let ok = !groups.is_empty();
                    (SplitRule::Lines(groups), ok)
                }
                Seed::Seats => (SplitRule::Seats, true),
                Seed::Amounts(a) => {
                    let ok = (1..=50).contains(&a.len())
                        && a.iter().all(|&a| a > 0)
                        && a.iter().sum::<i64>() <= total;
                    (SplitRule::Amounts(a.clone()), ok)
                }
            }
        }

        /// (part, pay exactly what it owes?, amount, tip, cash tendered
        /// beyond amount + tip).
        type Payment = (Index, bool, i64, i64, Option<i64>);

        fn payments() -> impl Strategy<Value = Vec<Payment>> {
            let payment = (
                any::<Index>(),
                any::<bool>(),
                -10i64..=200_000,
                0i64..=500,
                prop::option::of(-50i64..=1_000),
            );
            prop::collection::vec(payment, 0..40)
        }

        fn sorted(mut ids: Vec<i64>) -> Vec<i64> {
            ids.sort_unstable();
            ids
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn totals_add_up(check in check()) {
                let t = check.totals();
                let net: i64 = t.lines.iter().map(|l| l.net_cents).sum();
                let added: i64 = t.taxes.iter().filter(|x| !x.included).map(|x| x.tax_cents).sum();

                for amount in [t.subtotal_cents, t.discount_cents, t.service_cents,
                               t.tax_cents, t.tax_included_cents, t.total_cents] {
                    prop_assert!(amount >= 0);
                }
                for l in &t.lines {
                    prop_assert!(l.net_cents >= 0 && l.discount_cents >= 0);
                    prop_assert_eq!(l.net_cents, l.gross_cents - l.discount_cents);
                }
                prop_assert!(t.discounts.iter().all(|&(_, cents)| cents >= 0));
                prop_assert_eq!(t.discounts.iter().map(|d| d.1).sum::<i64>(), t.discount_cents);
                prop_assert!(t.discount_cents <= t.subtotal_cents);
                prop_assert_eq!(net, t.subtotal_cents - t.discount_cents);
                prop_assert_eq!(t.service_cents, percent_of(net, check.service_bp));
                prop_assert_eq!(t.total_cents, net + t.service_cents + added);
                prop_assert!(t.tax_included_cents <= t.tax_cents);
                prop_assert!(t.taxes.windows(2).all(|w| w[0].rate_id < w[1].rate_id));
                for tax in &t.taxes {
                    prop_assert!(tax.tax_cents >= 0 && tax.base_cents >= 0);
                    let base: i64 = check.lines.iter().zip(&t.lines)
                        .filter(|(l, _)| l.rate == Some(tax.rate_id))
                        .map(|(_, lt)| lt.net_cents)
                        .sum();
                    prop_assert_eq!(tax.base_cents, base);
                }
            }

            #[test]
            fn allocate_is_exact_and_within_a_cent(
                total in 0i64..1_000_000_000_000,
                weights in prop::collection::vec(prop_oneof![0i64..=3, 0i64..=1_000_000_000], 0..30),
            ) {
                let shares = allocate(total, &weights);
                prop_assert_eq!(shares.len(), weights.len());
                if weights.is_empty() {
                    return Ok(());
                }
                prop_assert_eq!(shares.iter().sum::<i64>(), total);
                let weights: Vec<i128> = if weights.iter().all(|&w| w == 0) {
                    vec![1; weights.len()]
                } else {
                    weights.iter().map(|&w| i128::from(w)).collect()
                };
                let sum: i128 = weights.iter().sum();
                for (&share, &w) in shares.iter().zip(&weights) {
                    prop_assert!(share >= 0);
                    // |share − total × w / W| < 1, multiplied through by W.
                    prop_assert!((i128::from(share) * sum - i128::from(total) * w).abs() < sum);
                }
            }

            #[test]
            fn splits_are_exact_and_payments_never_exceed_a_part(
                check in check(),
                seed in seed(),
                payments in payments(),
            ) {
                let t = check.totals();
                let (rule, acceptable) = rule(&seed, &check.lines, t.total_cents);
                let result = split(&t, &check.lines, &rule);
                prop_assert_eq!(result.is_ok(), acceptable, "{:?} gave {:?}", rule, result);
                let Ok(parts) = result else {
                    return Ok(());
                };

                prop_assert!(!parts.is_empty());
                prop_assert!(parts.iter().all(|p| p.amount_cents >= 0));
                prop_assert_eq!(parts.iter().map(|p| p.amount_cents).sum::<i64>(), t.total_cents);
                let all_ids = sorted(check.lines.iter().map(|l| l.id).collect());
                let named = sorted(parts.iter().flat_map(|p| p.line_ids.clone()).collect());
                match &rule {
                    SplitRule::Even(n) => prop_assert_eq!(parts.len() as i64, *n),
                    SplitRule::Lines(_) => prop_assert_eq!(named, all_ids),
                    SplitRule::Seats => {
                        let seated: Vec<i64> = check.lines.iter()
                            .filter(|l| l.seat.is_some()).map(|l| l.id).collect();
                        if seated.is_empty() {
                            prop_assert_eq!(named, all_ids);
                        } else {
                            prop_assert_eq!(named, sorted(seated));
                            prop_assert!(parts.windows(2).all(|w| w[0].seat < w[1].seat));
                        }
                    }
                    SplitRule::Amounts(a) => {
                        prop_assert_eq!(&parts.iter().map(|p| p.amount_cents).take(a.len()).collect::<Vec<_>>(), a);
                    }
                }

                let mut paid = vec![0i64; parts.len()];
                for (which, exact, raw, tip, extra) in payments {
                    let i = which.index(parts.len());
                    let due = parts[i].amount_cents - paid[i];
                    let amount = if exact { due.max(1) } else { raw };
                    let tendered = extra.map(|x| amount + tip + x);
                    let result = pay(due, amount, tip, tendered);
                    let allowed = 0 < amount && amount <= due && tendered.is_none_or(|c| c >= amount + tip);
                    prop_assert_eq!(result.is_ok(), allowed, "{:?}", result);
                    if let Ok(tender) = result {
                        prop_assert_eq!(tender.change_cents, tendered.map_or(0, |c| c - amount - tip));
                        paid[i] += amount;
                    }
                    let check_paid: i64 = paid.iter().sum();
                    prop_assert!(paid[i] <= parts[i].amount_cents);
                    prop_assert!(check_paid <= t.total_cents);
                    let every_part_paid = parts.iter().zip(&paid).all(|(p, &x)| x == p.amount_cents);
                    prop_assert_eq!(check_paid == t.total_cents, every_part_paid);
                }

                // Paying what each part still owes settles the check.
                for (part, paid) in parts.iter().zip(&mut paid) {
                    let due = part.amount_cents - *paid;
                    if due > 0 {
                        prop_assert!(pay(due, due, 0, None).is_ok());
                        *paid += due;
                    }
                }
                prop_assert_eq!(paid.iter().sum::<i64>(), t.total_cents);
            }
        }
    }
}
