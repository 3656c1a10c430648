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
    let fails = |groups: Vec<Vec<i64>>| split(&t, &lines, &SplitRule::Lines(groups)).unwrap_err();

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
