//! Money on the dashboard and in analytics: a day of checks (tax included
//! and added, a service charge, discounts and comps, mixed payments with
//! tips, refunds, a voided check, one left open) and the next morning's,
//! then every money figure compared with a recomputation, written out
//! independently here, from the checks, payments and audit trail read back
//! over REST.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use reqwest::{Method, StatusCode};
use restohub_protocol::api::analytics::{
    Analytics, MethodTotals, MoneyFigures, OpenChecks, PaymentsByMethod,
};
use restohub_protocol::api::audit::AuditEntry;
use restohub_protocol::api::checks::{Check, CheckStatus, PaymentMethod};
use restohub_protocol::api::orders::Order;
use restohub_protocol::Page;
use serde_json::{json, Value};

use crate::dashboard::dashboard_at;
use crate::orders::{floor, Floor};
use crate::support::{Backend, TestApp};
use crate::ws_client::WsClient;

/// Everything money is recomputed from, as the API shows it.
pub struct Ledger {
    pub checks: Vec<Check>,
    /// When each check became paid: its `check.paid` audit entry.
    pub paid_at: BTreeMap<i64, i64>,
    /// Refunds given: when, and how much (`payment.refunded` entries).
    pub refunds: Vec<(i64, i64)>,
}

async fn audit(app: &TestApp, token: &str, action: &str) -> Vec<AuditEntry> {
    let (status, body) = app
        .get(&format!("/api/v1/audit?action={action}&limit=200"), token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page: Page<AuditEntry> = serde_json::from_value(body).unwrap();
    assert!(page.next_after.is_none(), "more than one page of {action}");
    page.items
}

/// The restaurant's checks, payments and refunds, read with `token` (an
/// owner's or a manager's).
pub async fn ledger(app: &TestApp, token: &str) -> Ledger {
    let (status, body) = app.get("/api/v1/checks?limit=200", token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["next_after"].is_null(), "one page holds them all");
    let checks: Vec<Check> = serde_json::from_value(body["items"].clone()).unwrap();
    for check in &checks {
        let (status, one) = app
            .get(&format!("/api/v1/checks/{}", check.id), token)
            .await;
        assert_eq!(status, StatusCode::OK, "{one}");
        assert_eq!(serde_json::from_value::<Check>(one).unwrap(), *check);
    }
    let paid_at = audit(app, token, "check.paid")
        .await
        .into_iter()
        .map(|e| {
            let target = e.target.expect("a paid check names it");
            let id = target.strip_prefix("check:").unwrap().parse().unwrap();
            (id, e.at.0)
        })
        .collect();
    let refunds = audit(app, token, "payment.refunded")
        .await
        .into_iter()
        .map(|e| (e.at.0, e.after.unwrap()["amount_cents"].as_i64().unwrap()))
        .collect();
    Ledger {
        checks,
        paid_at,
        refunds,
    }
}

/// The money of the business days `days` in `zone`, by the protocol's
/// definitions, and the checks open now.
pub fn expected(l: &Ledger, zone: Tz, days: RangeInclusive<NaiveDate>) -> MoneyFigures {
    let within = |at: i64| days.contains(&zone.timestamp_millis_opt(at).unwrap().date_naive());
    let sold: Vec<&Check> = l
        .checks
        .iter()
        .filter(|c| matches!(c.status, CheckStatus::Paid | CheckStatus::Closed))
        .filter(|c| within(l.paid_at[&c.id]))
        .collect();
    let comps: i64 = sold
        .iter()
        .flat_map(|c| c.discounts.iter())
        .filter(|d| d.comp)
        .map(|d| d.amount_cents)
        .sum();
    let gross: i64 = sold.iter().map(|c| c.subtotal_cents).sum();
    let discounts = sold.iter().map(|c| c.discount_cents).sum::<i64>() - comps;
    let payments: Vec<_> = l
        .checks
        .iter()
        .flat_map(|c| c.payments.iter())
        .filter(|p| within(p.at.0))
        .collect();
    let by = |method: PaymentMethod| {
        let of: Vec<_> = payments.iter().filter(|p| p.method == method).collect();
        MethodTotals {
            count: of.len() as i64,
            amount_cents: of.iter().map(|p| p.amount_cents).sum(),
            tip_cents: of.iter().map(|p| p.tip_cents).sum(),
        }
    };
    let open: Vec<&Check> = l.checks.iter().filter(|c| c.status.is_open()).collect();
    let n = sold.len() as i64;
    MoneyFigures {
        gross_sales_cents: gross,
        discounts_cents: discounts,
        comps_cents: comps,
        net_sales_cents: gross - discounts - comps,
        service_cents: sold.iter().map(|c| c.service_cents).sum(),
        tax_cents: sold.iter().map(|c| c.tax_cents).sum(),
        tips_cents: payments.iter().map(|p| p.tip_cents).sum(),
        refunds_cents: l
            .refunds
            .iter()
            .filter(|(at, _)| within(*at))
            .map(|(_, cents)| cents)
            .sum(),
        payments: PaymentsByMethod {
            cash: by(PaymentMethod::Cash),
            card: by(PaymentMethod::Card),
            other: by(PaymentMethod::Other),
        },
        paid_checks: n,
        average_check_cents: match n {
            0 => 0,
            n => sold.iter().map(|c| c.total_cents).sum::<i64>() / n,
        },
        open_checks: OpenChecks {
            count: open.len() as i64,
            due_cents: open.iter().map(|c| c.total_cents - c.paid_cents).sum(),
        },
    }
}

const ZONE: &str = "Europe/Paris";

/// The till: REST calls that must succeed, as `token`.
struct Till<'a> {
    app: &'a TestApp,
    f: &'a Floor,
}

impl Till<'_> {
    async fn send(&self, method: Method, path: &str, token: &str, body: Value) -> Value {
        let (status, reply) = self
            .app
            .call(method.clone(), path, Some(token), Some(body))
            .await;
        assert!(status.is_success(), "{method} {path}: {status} {reply}");
        reply
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        self.send(Method::POST, path, token, body).await
    }

    async fn check(&self, path: &str, token: &str, body: Value) -> Check {
        serde_json::from_value(self.post(path, token, body).await).unwrap()
    }

    async fn order(&self, key: &str, table: Option<i64>, lines: Value) -> Order {
        let source = if table.is_some() {
            "dine_in"
        } else {
            "takeaway"
        };
        let body =
            json!({ "idempotency_key": key, "table_id": table, "source": source, "lines": lines });
        let placed = self.post("/api/v1/orders", &self.f.t.owner, body).await;
        serde_json::from_value(placed["order"].clone()).unwrap()
    }

    /// Through the kitchen and to the table.
    async fn serve(&self, order: &Order) {
        let owner = &self.f.t.owner;
        for line in &order.lines {
            for status in ["preparing", "ready"] {
                let path = format!("/api/v1/orders/{}/lines/{}/status", order.id, line.id);
                self.post(&path, owner, json!({ "status": status })).await;
            }
        }
        let path = format!("/api/v1/orders/{}/status", order.id);
        self.post(&path, owner, json!({ "status": "served" })).await;
    }

    async fn pay(
        &self,
        token: &str,
        check: i64,
        key: &str,
        method: &str,
        amount: i64,
        tip: i64,
    ) -> (i64, Check) {
        let mut body = json!({ "idempotency_key": key, "method": method, "amount_cents": amount, "tip_cents": tip });
        if method == "cash" {
            // Notes handed over, change given.
            body["tendered_cents"] = json!((amount + tip + 999) / 1000 * 1000);
        }
        let reply = self
            .post(&format!("/api/v1/checks/{check}/payments"), token, body)
            .await;
        (
            reply["payment"]["id"].as_i64().unwrap(),
            serde_json::from_value(reply["check"].clone()).unwrap(),
        )
    }
}

fn zone() -> Tz {
    ZONE.parse().unwrap()
}

fn day_of(at: i64) -> NaiveDate {
    zone().timestamp_millis_opt(at).unwrap().date_naive()
}

async fn analytics(app: &TestApp, token: &str, days: &RangeInclusive<NaiveDate>) -> MoneyFigures {
    let path = format!("/api/v1/analytics?from={}&to={}", days.start(), days.end());
    let (status, body) = app.get(&path, token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value::<Analytics>(body).unwrap().money
}

async fn money_matches_a_recomputation_from_checks_and_payments(backend: Backend) {
    // Snapshots only after changes: the long refresh keeps the periodic
    // ones from answering for them.
    let app = TestApp::spawn_with(
        backend,
        &[
            "--dashboard-interval-ms",
            "50",
            "--dashboard-refresh-ms",
            "600000",
        ],
    )
    .await;
    // Six minutes before midnight in Paris (the tenant's zone): the first
    // day's checks, then the next day's, on access tokens still valid.
    let tomorrow = day_of(app.clock.now()).succ_opt().unwrap();
    let midnight = zone()
        .from_local_datetime(&tomorrow.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .timestamp_millis();
    app.clock
        .advance_ms(midnight - 6 * 60_000 - app.clock.now());
    let f = floor(&app, "till").await;
    let till = Till { app: &app, f: &f };
    let owner = f.t.owner.as_str();
    let (_, manager) = app.staff(&f.t, "manager").await;
    let (_, cashier) = app.staff(&f.t, "cashier").await;

    // Food carries 10% VAT in its prices; wine 8.75% sales tax on top. A
    // 12.5% service charge from three covers.
    let rate = |name: &str, bp: i64, included: bool| json!({ "name": name, "rate_bp": bp, "included": included });
    let vat = till
        .post("/api/v1/tax-rates", owner, rate("VAT", 1000, true))
        .await["id"]
        .clone();
    let sales_tax = till
        .post("/api/v1/tax-rates", owner, rate("Sales tax", 875, false))
        .await["id"]
        .clone();
    let food = till
        .post("/api/v1/menu/categories", owner, json!({ "name": "Food" }))
        .await["id"]
        .as_i64()
        .unwrap();
    for item in [f.steak, f.burger, f.bread] {
        let path = format!("/api/v1/menu/items/{item}");
        till.send(Method::PATCH, &path, owner, json!({ "category_id": food }))
            .await;
    }
    let path = format!("/api/v1/menu/categories/{food}/tax-rate");
    till.send(Method::PUT, &path, owner, json!({ "tax_rate_id": vat }))
        .await;
    let path = format!("/api/v1/menu/items/{}/tax-rate", f.wine);
    till.send(
        Method::PUT,
        &path,
        owner,
        json!({ "tax_rate_id": sales_tax }),
    )
    .await;
    let settings = json!({ "service_charge_bp": 1250, "service_charge_min_covers": 3, "discount_limit_cents": 100_000 });
    till.send(Method::PUT, "/api/v1/restaurant/checks", owner, settings)
        .await;

    let (mut screen, _) = WsClient::join(&app, owner).await;
    let first_day = day_of(app.clock.now());
    let line = |item: i64, qty: i64| json!({ "menu_item_id": item, "qty": qty });

    // Table 1, four covers: a discount and a comp; served, then paid by
    // card and cash with a tip, so the check closes.
    let a_order = till
        .order(
            "a",
            Some(f.t1),
            json!([line(f.steak, 2), line(f.wine, 2), line(f.bread, 1)]),
        )
        .await;
    let a = till
        .check(
            "/api/v1/checks",
            owner,
            json!({ "table_id": f.t1, "covers": 4 }),
        )
        .await;
    let bread = a.lines.iter().find(|l| l.name == "Bread").unwrap().line_id;
    let path = format!("/api/v1/checks/{}/discounts", a.id);
    till.check(
        &path,
        owner,
        json!({ "kind": "percent", "value": 1000, "reason": "regulars" }),
    )
    .await;
    let a = till
        .check(
            &path,
            owner,
            json!({ "kind": "amount", "value": 300, "comp": true, "line_id": bread, "reason": "burnt" }),
        )
        .await;
    assert!(a.service_cents > 0 && a.tax_cents > 0 && a.discount_cents > 300);
    till.serve(&a_order).await;
    till.pay(&cashier, a.id, "a-card", "card", 4000, 600).await;
    let (_, a) = till
        .pay(&cashier, a.id, "a-cash", "cash", a.due_cents - 4000, 0)
        .await;
    assert_eq!(a.status, CheckStatus::Closed);

    // A takeaway, paid by card with a tip and not yet served (paid, not
    // closed); part of it is refunded tomorrow.
    let b_order = till
        .order("b", None, json!([line(f.burger, 1), line(f.wine, 1)]))
        .await;
    let b = till
        .check("/api/v1/checks", owner, json!({ "order_id": b_order.id }))
        .await;
    let (b_payment, b) = till
        .pay(&cashier, b.id, "b-card", "card", b.due_cents, 250)
        .await;
    assert_eq!(b.status, CheckStatus::Paid);
    // The dashboard shows the payment, pushed because of it.
    let seq = app.store.current_seq(f.t.id).await.unwrap();
    let (stats, _) = dashboard_at(&mut screen, seq).await;
    let day_one = first_day..=first_day;
    assert_eq!(
        stats.money,
        expected(&ledger(&app, owner).await, zone(), day_one.clone())
    );
    assert_eq!(stats.money.paid_checks, 2);

    // Table 2, two covers (no service charge): part paid, left open.
    till.order("c", Some(f.t2), json!([line(f.burger, 2)]))
        .await;
    let c = till
        .check(
            "/api/v1/checks",
            owner,
            json!({ "table_id": f.t2, "covers": 2 }),
        )
        .await;
    assert_eq!(c.service_cents, 0);
    till.pay(&cashier, c.id, "c-cash", "cash", 1000, 0).await;

    // Paid in cash, all of it given back and the check voided: its payment
    // and refund count, its sales do not.
    let d_order = till.order("d", None, json!([line(f.bread, 2)])).await;
    let d = till
        .check("/api/v1/checks", owner, json!({ "order_id": d_order.id }))
        .await;
    let (d_payment, d) = till
        .pay(&cashier, d.id, "d-cash", "cash", d.due_cents, 0)
        .await;
    let refund =
        json!({ "payment_id": d_payment, "amount_cents": d.paid_cents, "reason": "wrong order" });
    till.post("/api/v1/payments/refunds", &manager, refund)
        .await;
    let path = format!("/api/v1/checks/{}/void", d.id);
    let d = till
        .check(&path, &manager, json!({ "reason": "wrong order" }))
        .await;
    assert_eq!(d.status, CheckStatus::Void);

    // After midnight: part of yesterday's takeaway refunded, and a new one
    // paid some other way.
    app.clock
        .advance_ms(midnight + 2 * 60_000 - app.clock.now());
    let second_day = day_of(app.clock.now());
    assert_eq!(second_day, tomorrow);
    let refund = json!({ "payment_id": b_payment, "amount_cents": 700, "reason": "cold fries" });
    till.post("/api/v1/payments/refunds", &manager, refund)
        .await;
    let e_order = till
        .order("e", None, json!([line(f.steak, 1), line(f.wine, 1)]))
        .await;
    let e = till
        .check("/api/v1/checks", owner, json!({ "order_id": e_order.id }))
        .await;
    let path = format!("/api/v1/checks/{}/discounts", e.id);
    let e = till
        .check(
            &path,
            &cashier,
            json!({ "kind": "amount", "value": 250, "reason": "voucher" }),
        )
        .await;
    till.pay(&cashier, e.id, "e-other", "other", e.due_cents, 100)
        .await;

    let l = ledger(&app, owner).await;
    let seq = app.store.current_seq(f.t.id).await.unwrap();
    let (stats, _) = dashboard_at(&mut screen, seq).await;
    assert_eq!(stats.business_day, second_day.to_string());
    let day_two = second_day..=second_day;
    assert_eq!(stats.money, expected(&l, zone(), day_two.clone()));

    for days in [day_one, day_two, first_day..=second_day] {
        let money = analytics(&app, &manager, &days).await;
        assert_eq!(money, expected(&l, zone(), days.clone()), "{days:?}");
        assert_eq!(
            money.net_sales_cents,
            money.gross_sales_cents - money.discounts_cents - money.comps_cents
        );
    }
    // The story reached every figure, independently of the recomputation.
    let both = analytics(&app, owner, &(first_day..=second_day)).await;
    assert_eq!(both.paid_checks, 3, "A, B and E; D is void, C open");
    assert_eq!(both.refunds_cents, d.refunded_cents + 700);
    assert_eq!(both.tips_cents, 600 + 250 + 100);
    let p = both.payments;
    assert_eq!((p.cash.count, p.card.count, p.other.count), (3, 2, 1));
    assert_eq!(both.open_checks.count, 1);
    assert_eq!(
        both.open_checks.due_cents,
        c.total_cents - 1000,
        "what table 2 still owes"
    );
    assert!(both.discounts_cents > 250 && both.comps_cents > 0);
    assert!(both.service_cents > 0 && both.tax_cents > 0);
}

crate::both_backends!(money_matches_a_recomputation_from_checks_and_payments);
