//! A check's receipt, as plain text for a 42-column receipt printer and as a
//! small self-contained HTML page.
//!
//! Pure: it reads a [`Check`] and prints it, deciding and storing nothing.
//! Both forms are drawn from one list of rows, so they cannot disagree on
//! what a receipt says. It must never print a payment's `reference` in full
//! (only its last four characters), never let text from the check break the
//! 42-column layout (control characters are blanked, long text wrapped or cut
//! with "…"), and never put unescaped check text into the HTML.

use std::str::FromStr;

use chrono::DateTime;
use chrono_tz::Tz;
use restohub_protocol::api::checks::{Check, CheckStatus, DiscountKind, Payment, PaymentMethod};
use restohub_protocol::Timestamp;

/// Columns of an 80 mm receipt printer in its normal font.
const WIDTH: usize = 42;
/// An item name wraps onto at most this many lines; the rest is cut.
const ITEM_LINES: usize = 3;
/// A title or note wraps onto at most this many lines.
const NOTE_LINES: usize = 2;
/// Continuation lines of a wrapped item name are indented at most this much,
/// so a huge quantity cannot leave them no room.
const MAX_ITEM_INDENT: usize = 8;
/// Payment sub-lines (tendered, change, tip) are indented this much.
const SUB_INDENT: usize = 2;

/// What the receipt needs to know about the restaurant and the table that
/// the check itself does not carry.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptHeader<'a> {
    pub restaurant: &'a str,
    /// IANA name, e.g. "Europe/Paris"; an unknown one prints in UTC.
    pub timezone: &'a str,
    pub table_label: Option<&'a str>,
}

/// `cents` minor units of `currency` as a plain decimal: "12.50", "-3.00",
/// "1200" for JPY, "12.345" for KWD. No thousands separator, no symbol.
pub fn money(cents: i64, currency: &str) -> String {
    let decimals = decimals(currency);
    let sign = if cents < 0 { "-" } else { "" };
    // unsigned_abs: i64::MIN has no positive i64.
    let abs = cents.unsigned_abs();
    if decimals == 0 {
        return format!("{sign}{abs}");
    }
    let unit = 10u64.pow(decimals);
    let width = decimals as usize;
    format!("{sign}{}.{:0width$}", abs / unit, abs % unit)
}

/// ISO 4217 minor-unit digits; 2 for every code not listed.
fn decimals(currency: &str) -> u32 {
    const ZERO: [&str; 8] = ["JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"];
    const THREE: [&str; 5] = ["BHD", "JOD", "KWD", "OMR", "TND"];
    let is = |code: &&str| code.eq_ignore_ascii_case(currency.trim());
    if ZERO.iter().any(is) {
        0
    } else if THREE.iter().any(is) {
        3
    } else {
        2
    }
}

/// The receipt for a 42-column printer: every line at most 42 characters,
/// each ending with '\n'.
pub fn text(check: &Check, header: &ReceiptHeader) -> String {
    let mut out = String::new();
    let mut push = |line: String| {
        // The last guard of the width: rows are laid out to fit, but a
        // degenerate one (a 19-digit quantity) is cut rather than overflow.
        out.push_str(&fit(line.trim_end(), WIDTH));
        out.push('\n');
    };
    for row in rows(check, header) {
        match row {
            Row::Title(s) | Row::Centre(s) => {
                for line in wrap(&s, WIDTH, WIDTH, NOTE_LINES) {
                    push(format!("{}{line}", " ".repeat((WIDTH - width(&line)) / 2)));
                }
            }
            Row::Rule => push("-".repeat(WIDTH)),
            Row::Pair { left, right, kind } => {
                let indent = if kind == Kind::Sub { SUB_INDENT } else { 0 };
                push(pair_line(indent, &left, &right));
            }
            Row::Item { qty, name, amount } => {
                let prefix = format!("{qty} x ");
                let first = WIDTH.saturating_sub(width(&prefix) + 1 + width(&amount));
                let indent = width(&prefix).min(MAX_ITEM_INDENT);
                let lines = wrap(&name, first, WIDTH - indent, ITEM_LINES);
                let gap = WIDTH.saturating_sub(width(&prefix) + width(&lines[0]) + width(&amount));
                push(format!(
                    "{prefix}{}{}{amount}",
                    lines[0],
                    " ".repeat(gap.max(1))
                ));
                for line in &lines[1..] {
                    push(format!("{}{line}", " ".repeat(indent)));
                }
            }
        }
    }
    out
}

/// The receipt as a complete HTML5 document: inline style, no script, no
/// external resource; all text from the check escaped.
pub fn html(check: &Check, header: &ReceiptHeader) -> String {
    let mut table = String::new();
    for row in rows(check, header) {
        let tr = match row {
            Row::Title(s) => format!(
                r#"<tr><th colspan="2" class="title">{}</th></tr>"#,
                escape(&s)
            ),
            Row::Centre(s) => format!(
                r#"<tr><td colspan="2" class="centre">{}</td></tr>"#,
                escape(&s)
            ),
            Row::Rule => r#"<tr class="rule"><td colspan="2"></td></tr>"#.to_string(),
            Row::Item { qty, name, amount } => format!(
                r#"<tr><td>{qty} x {}</td><td class="amount">{}</td></tr>"#,
                escape(&name),
                escape(&amount)
            ),
            Row::Pair { left, right, kind } => format!(
                r#"<tr class="{}"><td>{}</td><td class="amount">{}</td></tr>"#,
                kind.class(),
                escape(&left),
                escape(&right)
            ),
        };
        table.push_str(&tr);
        table.push('\n');
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ margin: 0 auto; padding: 4mm; width: 72mm; font: 12px/1.35 ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", "Courier New", monospace; color: #000; background: #fff; }}
table {{ width: 100%; border-collapse: collapse; }}
td, th {{ padding: 1px 0; vertical-align: top; text-align: left; overflow-wrap: anywhere; }}
th.title {{ font-size: 1.3em; text-align: center; padding-bottom: 2px; }}
td.centre {{ text-align: center; }}
td.amount {{ text-align: right; white-space: nowrap; padding-left: 1em; }}
tr.rule td {{ border-top: 1px dashed #000; padding: 0; height: 4px; }}
tr.sub td:first-child {{ padding-left: 1.5em; }}
tr.total td {{ font-weight: bold; font-size: 1.2em; }}
@media print {{ @page {{ size: 80mm auto; margin: 0; }} }}
</style>
</head>
<body>
<table>
{table}</table>
</body>
</html>
"#,
        title = escape(&format!("Receipt - {}", clean(header.restaurant))),
    )
}

/// Text made safe to put in HTML, in element content or in a quoted
/// attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// One row of a receipt, before it is drawn as text or HTML.
enum Row {
    Title(String),
    Centre(String),
    Rule,
    Item {
        qty: i64,
        name: String,
        amount: String,
    },
    Pair {
        left: String,
        right: String,
        kind: Kind,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    /// A detail of the row above (a payment's change or tip).
    Sub,
    Total,
}

impl Kind {
    fn class(self) -> &'static str {
        match self {
            Kind::Plain => "plain",
            Kind::Sub => "sub",
            Kind::Total => "total",
        }
    }
}

fn pair(left: impl Into<String>, right: impl Into<String>, kind: Kind) -> Row {
    Row::Pair {
        left: left.into(),
        right: right.into(),
        kind,
    }
}

/// What the receipt says, in order. Every string from the check or the
/// header goes through [`clean`] here, once.
fn rows(check: &Check, header: &ReceiptHeader) -> Vec<Row> {
    let m = |cents: i64| money(cents, &check.currency);
    let mut rows = vec![Row::Title(clean(header.restaurant))];
    rows.push(Row::Centre(match check.receipt_no {
        Some(n) => format!("Receipt No. {n}"),
        None => "PROVISIONAL - NOT PAID".to_string(),
    }));
    if check.status == CheckStatus::Void {
        rows.push(Row::Centre("*** VOID ***".to_string()));
        if let Some(reason) = &check.void_reason {
            rows.push(Row::Centre(clean(reason)));
        }
    }
    let place = match (header.table_label, check.table_id) {
        (Some(label), _) => format!("Table {}", clean(label)),
        (None, None) => "Takeaway".to_string(),
        (None, Some(_)) => String::new(),
    };
    rows.push(pair(format!("Check {}", check.id), place, Kind::Plain));
    let at = check.closed_at.unwrap_or(check.opened_at);
    rows.push(pair(local_time(at, header.timezone), "", Kind::Plain));
    rows.push(Row::Rule);

    for line in &check.lines {
        rows.push(Row::Item {
            qty: line.qty,
            name: clean(&line.name),
            amount: m(line.gross_cents),
        });
    }
    if !check.discounts.is_empty() {
        rows.push(Row::Rule);
    }
    for d in &check.discounts {
        let mut label = if d.comp {
            format!("COMP {}", clean(&d.reason))
        } else {
            clean(&d.reason)
        };
        if d.kind == DiscountKind::Percent {
            label = format!("{label} ({}%)", percent(d.value));
        }
        rows.push(pair(label, m(-d.amount_cents), Kind::Plain));
    }

    rows.push(Row::Rule);
    rows.push(pair("Subtotal", m(check.subtotal_cents), Kind::Plain));
    if check.discount_cents != 0 {
        rows.push(pair("Discounts", m(-check.discount_cents), Kind::Plain));
    }
    if check.service_cents != 0 {
        rows.push(pair("Service", m(check.service_cents), Kind::Plain));
    }
    for tax in &check.taxes {
        let incl = if tax.included { " incl." } else { "" };
        let label = format!("{} {}%{incl}", clean(&tax.name), percent(tax.rate_bp));
        rows.push(pair(label, m(tax.tax_cents), Kind::Plain));
    }
    rows.push(pair("TOTAL", m(check.total_cents), Kind::Total));

    if !check.parts.is_empty() {
        rows.push(Row::Rule);
    }
    for part in &check.parts {
        rows.push(pair(clean(&part.label), m(part.amount_cents), Kind::Plain));
        if part.due_cents > 0 {
            rows.push(pair("Due", m(part.due_cents), Kind::Sub));
        }
    }

    if !check.payments.is_empty() {
        rows.push(Row::Rule);
    }
    for p in &check.payments {
        payment_rows(&mut rows, p, &m);
    }

    rows.push(Row::Rule);
    rows.push(pair("Paid", m(check.paid_cents), Kind::Plain));
    rows.push(pair("Tips", m(check.tip_cents), Kind::Plain));
    if check.refunded_cents > 0 {
        rows.push(pair("Refunded", m(check.refunded_cents), Kind::Plain));
    }
    if check.due_cents > 0 {
        rows.push(pair("Due", m(check.due_cents), Kind::Plain));
    }
    rows.push(Row::Centre(format!(
        "Amounts in {}",
        clean(&check.currency)
    )));
    rows
}

fn payment_rows(rows: &mut Vec<Row>, p: &Payment, m: &impl Fn(i64) -> String) {
    let method = match p.method {
        PaymentMethod::Cash => "Cash",
        PaymentMethod::Card => "Card",
        PaymentMethod::Other => "Other",
    };
    let label = match masked_reference(p.reference.as_deref()) {
        Some(tail) => format!("{method} ref …{tail}"),
        None => method.to_string(),
    };
    rows.push(pair(label, m(p.amount_cents), Kind::Plain));
    if let Some(tendered) = p.tendered_cents {
        rows.push(pair("Tendered", m(tendered), Kind::Sub));
    }
    if p.change_cents > 0 {
        rows.push(pair("Change", m(p.change_cents), Kind::Sub));
    }
    if p.tip_cents > 0 {
        rows.push(pair("Tip", m(p.tip_cents), Kind::Sub));
    }
    if p.refunded_cents > 0 {
        rows.push(pair("Refunded", m(p.refunded_cents), Kind::Sub));
    }
}

/// The last four characters of a payment reference, enough for staff to
/// match a terminal slip. A reference of four characters or fewer is not
/// shown at all: its last four would be all of it.
fn masked_reference(reference: Option<&str>) -> Option<String> {
    let reference = clean(reference?);
    let reference = reference.trim();
    let n = width(reference);
    (n > 4).then(|| reference.chars().skip(n - 4).collect())
}

/// The check's time in the restaurant's zone, with the zone's abbreviation.
fn local_time(at: Timestamp, zone: &str) -> String {
    let tz = Tz::from_str(zone).unwrap_or(Tz::UTC);
    match DateTime::from_timestamp_millis(at.0) {
        Some(t) => t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string(),
        None => String::new(),
    }
}

/// Basis points as a percentage without trailing zeros: 2000 → "20",
/// 850 → "8.5", 888 → "8.88".
fn percent(bp: i64) -> String {
    let sign = if bp < 0 { "-" } else { "" };
    let (whole, frac) = (bp.unsigned_abs() / 100, bp.unsigned_abs() % 100);
    match frac {
        0 => format!("{sign}{whole}"),
        f if f % 10 == 0 => format!("{sign}{whole}.{}", f / 10),
        f => format!("{sign}{whole}.{f:02}"),
    }
}

/// Check text with control characters (a newline would start a line of its
/// own, past the layout) and bidirectional overrides (which can make a
/// printed amount read backwards) turned into spaces.
fn clean(s: &str) -> String {
    let bidi = |c: char| matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    s.chars()
        .map(|c| if c.is_control() || bidi(c) { ' ' } else { c })
        .collect()
}

/// Columns a string takes: one per character, as the brief of a 42-column
/// printer counts them (a double-width CJK glyph is still counted as one).
fn width(s: &str) -> usize {
    s.chars().count()
}

/// `s` cut to at most `room` characters, ending with "…" when cut.
fn fit(s: &str, room: usize) -> String {
    if width(s) <= room {
        return s.to_string();
    }
    if room == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(room - 1).collect();
    out.push('…');
    out
}

/// `left` and `right` on one line, `right` flush with the last column;
/// `left` is cut first when both do not fit.
fn pair_line(indent: usize, left: &str, right: &str) -> String {
    let room = WIDTH - indent;
    // The right side (an amount, a table label) keeps some room for the
    // left label, so "Check 7" survives a very long table label.
    let keep = if left.is_empty() {
        0
    } else {
        width(left).min(12) + 1
    };
    let right = fit(right, room.saturating_sub(keep));
    let rw = width(&right);
    let left = fit(
        left,
        if rw == 0 {
            room
        } else {
            room.saturating_sub(rw + 1)
        },
    );
    let gap = if rw == 0 { 0 } else { room - width(&left) - rw };
    format!("{}{left}{}{right}", " ".repeat(indent), " ".repeat(gap))
}

/// Words of `s` in lines of at most `first` characters, then `rest`; a word
/// longer than a line is broken. Past `max_lines` the last line ends in "…".
/// Always at least one (possibly empty) line.
fn wrap(s: &str, first: usize, rest: usize, max_lines: usize) -> Vec<String> {
    let room = |i: usize| if i == 0 { first } else { rest }.max(1);
    let mut lines = vec![String::new()];
    for word in s.split_whitespace() {
        let mut word: String = word.to_string();
        while !word.is_empty() {
            let i = lines.len() - 1;
            let used = width(&lines[i]);
            let sep = usize::from(used > 0);
            if used + sep + width(&word) <= room(i) {
                if sep == 1 {
                    lines[i].push(' ');
                }
                lines[i].push_str(&word);
                word.clear();
            } else if used == 0 {
                let head: String = word.chars().take(room(i)).collect();
                word = word.chars().skip(room(i)).collect();
                lines[i] = head;
                lines.push(String::new());
            } else {
                lines.push(String::new());
            }
        }
    }
    if lines.len() > 1 && lines[lines.len() - 1].is_empty() {
        lines.pop();
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        let last = max_lines - 1;
        // Force the ellipsis: the line may fit exactly yet text follows it.
        let cut: String = lines[last]
            .chars()
            .take(room(last).saturating_sub(1))
            .collect();
        lines[last] = format!("{}…", cut.trim_end());
    }
    lines
}

#[cfg(test)]
mod tests;
