use super::*;
use restohub_protocol::api::checks::{CheckLine, CheckTax, Discount};

const LONG_NAME: &str =
    "Slow-roasted heritage pork belly with apple and celeriac purée, crackling, cider jus and seasonal greens";

fn line(line_id: i64, order_id: i64, name: &str, qty: i64, unit: i64, discount: i64) -> CheckLine {
    CheckLine {
        line_id,
        order_id,
        name: name.to_string(),
        qty,
        unit_price_cents: unit,
        seat: None,
        gross_cents: qty * unit,
        discount_cents: discount,
        net_cents: qty * unit - discount,
        tax_rate_id: Some(1),
    }
}

fn payment(id: i64, method: PaymentMethod, amount: i64, reference: Option<&str>) -> Payment {
    Payment {
        id,
        check_id: 7,
        part: None,
        method,
        amount_cents: amount,
        tip_cents: 0,
        tendered_cents: None,
        change_cents: 0,
        refunded_cents: 0,
        reference: reference.map(str::to_string),
        at: Timestamp(1_709_666_000_000),
    }
}

/// Two orders, a long name, a discount and a comp, an included and an
/// added tax, service, cash with change and a card with a reference.
fn sample() -> Check {
    let mut cash = payment(1, PaymentMethod::Cash, 4000, None);
    cash.tendered_cents = Some(5000);
    cash.change_cents = 1000;
    let mut card = payment(2, PaymentMethod::Card, 3932, Some("AUTH-99887766"));
    card.tip_cents = 500;
    Check {
        id: 7,
        table_id: Some(3),
        order_ids: vec![11, 12],
        status: CheckStatus::Closed,
        currency: "EUR".to_string(),
        covers: 2,
        lines: vec![
            line(1, 11, "Steak frites", 2, 2250, 300),
            line(2, 11, LONG_NAME, 1, 2400, 200),
            line(3, 12, "Espresso", 3, 250, 0),
            line(4, 12, "Chocolate fondant", 1, 900, 900),
        ],
        discounts: vec![
            Discount {
                id: 1,
                line_id: None,
                kind: DiscountKind::Amount,
                value: 500,
                comp: false,
                reason: "Loyalty card".to_string(),
                amount_cents: 500,
                approved_by: None,
            },
            Discount {
                id: 2,
                line_id: Some(4),
                kind: DiscountKind::Percent,
                value: 10_000,
                comp: true,
                reason: "Dish sent back".to_string(),
                amount_cents: 900,
                approved_by: Some(2),
            },
        ],
        taxes: vec![
            CheckTax {
                tax_rate_id: 1,
                name: "VAT".into(),
                rate_bp: 2000,
                included: true,
                base_cents: 7150,
                tax_cents: 1192,
            },
            CheckTax {
                tax_rate_id: 2,
                name: "Tax".into(),
                rate_bp: 888,
                included: false,
                base_cents: 750,
                tax_cents: 67,
            },
        ],
        subtotal_cents: 8550,
        discount_cents: 1400,
        service_cents: 715,
        tax_cents: 1259,
        tax_included_cents: 1192,
        total_cents: 7932,
        paid_cents: 7932,
        tip_cents: 500,
        refunded_cents: 0,
        due_cents: 0,
        split: None,
        parts: vec![],
        payments: vec![cash, card],
        receipt_no: Some(1042),
        void_reason: None,
        opened_at: Timestamp(1_709_662_000_000),
        // 2024-03-05 19:15 UTC, 20:15 in Paris.
        closed_at: Some(Timestamp(1_709_666_100_000)),
    }
}

fn header() -> ReceiptHeader<'static> {
    ReceiptHeader {
        restaurant: "Le Petit Bistro",
        timezone: "Europe/Paris",
        table_label: Some("T12"),
    }
}

fn assert_fits(text: &str) {
    for line in text.lines() {
        assert!(width(line) <= WIDTH, "{} columns: {line:?}", width(line));
    }
}

#[test]
fn text_fits_the_printer_and_says_what_was_paid() {
    let text = text(&sample(), &header());
    assert_fits(&text);
    assert!(text.lines().any(|l| l == "-".repeat(WIDTH)));
    assert!(text
        .lines()
        .filter(|l| l.starts_with('-'))
        .all(|l| l == "-".repeat(WIDTH)));
    assert!(text.contains("Receipt No. 1042"));
    assert!(!text.contains("PROVISIONAL"));
    let total = text.lines().find(|l| l.starts_with("TOTAL")).unwrap();
    assert!(
        total.ends_with(" 79.32") && width(total) == WIDTH,
        "{total:?}"
    );
    assert!(text.contains("Check 7") && text.contains("Table T12"));
    assert!(text.contains("2024-03-05 20:15 CET"));
    assert!(text
        .lines()
        .any(|l| l.starts_with("2 x Steak frites") && l.ends_with(" 45.00")));
    assert!(text.contains("1 x Slow-roasted heritage"));
    assert!(text
        .lines()
        .any(|l| l.starts_with("COMP Dish sent back (100%)") && l.ends_with(" -9.00")));
    assert!(text
        .lines()
        .any(|l| l.starts_with("Loyalty card") && l.ends_with(" -5.00")));
    for label in [
        "Subtotal",
        "Discounts",
        "Service",
        "VAT 20% incl.",
        "Tax 8.88%",
        "Paid",
        "Tips",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(label)),
            "no {label} in\n{text}"
        );
    }
    assert!(text.contains("  Change") && text.contains("  Tip"));
    assert!(!text.contains("Due") && !text.contains("Refunded"));
    assert!(text.contains("Amounts in EUR"));
}

#[test]
fn a_card_reference_shows_only_its_last_four_characters() {
    let text = text(&sample(), &header());
    let html = html(&sample(), &header());
    for out in [&text, &html] {
        assert!(
            !out.contains("AUTH-99887766") && !out.contains("99887766") && !out.contains("AUTH")
        );
        assert!(out.contains("ref …7766"));
    }
    let mut check = sample();
    check.payments[1].reference = Some("7766".into());
    let text = super::text(&check, &header());
    assert!(!text.contains("7766") && !text.contains("ref"));
}

#[test]
fn an_unpaid_check_is_marked_provisional() {
    let mut check = sample();
    check.receipt_no = None;
    check.status = CheckStatus::PartiallyPaid;
    check.closed_at = None;
    check.paid_cents = 4000;
    check.due_cents = 3932;
    check.payments.truncate(1);
    let text = text(&check, &header());
    assert_fits(&text);
    assert!(text.contains("PROVISIONAL - NOT PAID") && !text.contains("Receipt No."));
    assert!(text
        .lines()
        .any(|l| l.starts_with("Due") && l.ends_with(" 39.32")));
    // Opened at 18:06:40 UTC.
    assert!(text.contains("2024-03-05 19:06 CET"));
}

#[test]
fn long_and_hostile_text_never_breaks_the_columns() {
    let mut check = sample();
    check.lines[0].name = "Soup\nTOTAL                 0.00".into();
    check.lines[1].name = "X".repeat(200);
    check.lines[2].qty = 1_000_000;
    check.discounts[0].reason = "r".repeat(200);
    check.status = CheckStatus::Void;
    check.void_reason = Some("w ".repeat(100));
    let long = "Ristorante ".repeat(10);
    let header = ReceiptHeader {
        restaurant: &long,
        timezone: "Mars/Olympus",
        table_label: Some(&long),
    };
    let text = text(&check, &header);
    assert_fits(&text);
    assert!(!text
        .lines()
        .any(|l| l.starts_with("TOTAL  ") && l.ends_with(" 0.00")));
    assert!(text.contains("…") && text.contains("*** VOID ***"));
    // An unknown zone prints in UTC rather than failing.
    assert!(text.contains("2024-03-05 19:15 UTC"));
}

#[test]
fn wrap_breaks_words_and_cuts_with_an_ellipsis() {
    assert_eq!(wrap("a bb ccc", 4, 4, 3), ["a bb", "ccc"]);
    assert_eq!(wrap("abcdefghij", 4, 4, 3), ["abcd", "efgh", "ij"]);
    assert_eq!(wrap("abcdefghijklm", 4, 4, 3), ["abcd", "efgh", "ijk…"]);
    assert_eq!(wrap("", 4, 4, 3), [""]);
    assert_eq!(fit("abcdef", 4), "abc…");
    assert_eq!(fit("abcd", 4), "abcd");
    assert_eq!(pair_line(0, "Subtotal", "85.50").len(), WIDTH);
}

#[test]
fn money_uses_the_currency_minor_units() {
    assert_eq!(money(1250, "EUR"), "12.50");
    assert_eq!(money(-300, "EUR"), "-3.00");
    assert_eq!(money(5, "EUR"), "0.05");
    assert_eq!(money(-5, "USD"), "-0.05");
    assert_eq!(money(0, "EUR"), "0.00");
    assert_eq!(money(123_456_789, "EUR"), "1234567.89");
    assert_eq!(money(1200, "JPY"), "1200");
    assert_eq!(money(-1200, "jpy"), "-1200");
    assert_eq!(money(12_345, "KWD"), "12.345");
    assert_eq!(money(-5, "KWD"), "-0.005");
    assert_eq!(money(i64::MIN, "EUR"), "-92233720368547758.08");
}

#[test]
fn percent_trims_trailing_zeros() {
    assert_eq!(percent(2000), "20");
    assert_eq!(percent(850), "8.5");
    assert_eq!(percent(888), "8.88");
    assert_eq!(percent(5), "0.05");
}

#[test]
fn escape_covers_the_five_html_characters() {
    assert_eq!(
        escape(r#"<a href="x">Tom & Jerry's</a>"#),
        "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
    );
}

#[test]
fn html_escapes_check_text_and_loads_nothing() {
    let mut check = sample();
    check.lines[0].name = "<script>alert(1)</script>".into();
    check.discounts[0].reason = r#""><img src=x onerror=alert(2)>"#.into();
    let header = ReceiptHeader {
        restaurant: "Bob & Sons' <Grill>",
        timezone: "Europe/Paris",
        table_label: Some("<b>"),
    };
    let html = html(&check, &header);
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.to_lowercase().contains("<script"));
    assert!(!html.contains("<img") && html.contains("&quot;&gt;&lt;img src=x"));
    assert!(html.contains("Bob &amp; Sons&#39; &lt;Grill&gt;") && html.contains("Table &lt;b&gt;"));
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<link"));
    assert!(html.contains("Receipt No. 1042") && html.contains("79.32"));
}
