//! The money of a period for the dashboard and analytics: sums over the
//! figures the hub stored with each check, and over payments and refunds,
//! by business day. They are read inside the caller's snapshot transaction
//! ([`money_between!`]) so that they agree with the rest of its numbers and
//! its seq. The definitions are in the protocol (`api/analytics.rs`); this
//! module only sums what is stored and never recomputes a check.

use restohub_protocol::api::analytics::{MethodTotals, MoneyFigures, OpenChecks, PaymentsByMethod};
use restohub_protocol::api::checks::PaymentMethod;

/// The paid checks of a period, summed.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub(super) struct Sales {
    pub checks: i64,
    pub subtotal_cents: i64,
    pub discount_cents: i64,
    pub comp_cents: i64,
    pub service_cents: i64,
    pub tax_cents: i64,
    pub total_cents: i64,
}

/// The paid checks of restaurant `$1` paid on the business days
/// `$2..=$3`. `paid_day` is set when a check becomes paid and cleared when
/// it is reopened; a voided check keeps it, hence the status.
pub(super) const SALES: &str = "SELECT COUNT(*) AS checks, \
    CAST(COALESCE(SUM(subtotal_cents), 0) AS BIGINT) AS subtotal_cents, \
    CAST(COALESCE(SUM(discount_cents - comp_cents), 0) AS BIGINT) AS discount_cents, \
    CAST(COALESCE(SUM(comp_cents), 0) AS BIGINT) AS comp_cents, \
    CAST(COALESCE(SUM(service_cents), 0) AS BIGINT) AS service_cents, \
    CAST(COALESCE(SUM(tax_cents), 0) AS BIGINT) AS tax_cents, \
    CAST(COALESCE(SUM(total_cents), 0) AS BIGINT) AS total_cents \
    FROM checks WHERE restaurant_id = $1 AND paid_day BETWEEN $2 AND $3 \
    AND status IN ('paid', 'closed')";

/// One method's payments of a period.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct ByMethod {
    #[sqlx(try_from = "String")]
    pub method: PaymentMethod,
    pub count: i64,
    pub amount_cents: i64,
    pub tip_cents: i64,
}

pub(super) const PAYMENTS: &str = "SELECT method, COUNT(*) AS count, \
    CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) AS amount_cents, \
    CAST(COALESCE(SUM(tip_cents), 0) AS BIGINT) AS tip_cents \
    FROM payments WHERE restaurant_id = $1 AND business_day BETWEEN $2 AND $3 \
    GROUP BY method";

pub(super) const REFUNDS: &str = "SELECT CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) \
    FROM refunds WHERE restaurant_id = $1 AND business_day BETWEEN $2 AND $3";

/// The checks of restaurant `$1` open now, and what is due on them.
pub(super) const OPEN: &str = "SELECT COUNT(*), \
    CAST(COALESCE(SUM(total_cents - paid_cents), 0) AS BIGINT) FROM checks \
    WHERE restaurant_id = $1 AND status IN ('open', 'partially_paid')";

/// The money of restaurant `$r` on the business days `$from..=$to`, read
/// in transaction `$tx`.
macro_rules! money_between {
    ($tx:expr, $r:expr, $from:expr, $to:expr) => {{
        use $crate::storage::money as m;
        let sales: m::Sales = sqlx::query_as(m::SALES)
            .bind($r)
            .bind($from)
            .bind($to)
            .fetch_one(&mut *$tx)
            .await?;
        let methods: Vec<m::ByMethod> = sqlx::query_as(m::PAYMENTS)
            .bind($r)
            .bind($from)
            .bind($to)
            .fetch_all(&mut *$tx)
            .await?;
        let refunds: i64 = sqlx::query_scalar(m::REFUNDS)
            .bind($r)
            .bind($from)
            .bind($to)
            .fetch_one(&mut *$tx)
            .await?;
        let open: (i64, i64) = sqlx::query_as(m::OPEN)
            .bind($r)
            .fetch_one(&mut *$tx)
            .await?;
        m::figures(sales, &methods, refunds, open)
    }};
}

/// The figures from the sums read.
pub(super) fn figures(
    sales: Sales,
    methods: &[ByMethod],
    refunds_cents: i64,
    (open, due): (i64, i64),
) -> MoneyFigures {
    let method = |which: PaymentMethod| {
        methods
            .iter()
            .find(|m| m.method == which)
            .map_or(MethodTotals::default(), |m| MethodTotals {
                count: m.count,
                amount_cents: m.amount_cents,
                tip_cents: m.tip_cents,
            })
    };
    let payments = PaymentsByMethod {
        cash: method(PaymentMethod::Cash),
        card: method(PaymentMethod::Card),
        other: method(PaymentMethod::Other),
    };
    MoneyFigures {
        gross_sales_cents: sales.subtotal_cents,
        discounts_cents: sales.discount_cents,
        comps_cents: sales.comp_cents,
        net_sales_cents: sales.subtotal_cents - sales.discount_cents - sales.comp_cents,
        service_cents: sales.service_cents,
        tax_cents: sales.tax_cents,
        tips_cents: methods.iter().map(|m| m.tip_cents).sum(),
        refunds_cents,
        payments,
        paid_checks: sales.checks,
        average_check_cents: if sales.checks > 0 {
            sales.total_cents / sales.checks
        } else {
            0
        },
        open_checks: OpenChecks {
            count: open,
            due_cents: due,
        },
    }
}
