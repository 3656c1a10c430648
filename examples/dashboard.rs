//! A terminal dashboard for owners and managers: logs in, joins the
//! restaurant's `dashboard:{r}` room (managers are placed in it on hello)
//! and redraws the live statistics each time the hub pushes a snapshot.
//! Reconnects on its own, logging in again.
//!
//!     cargo run --example dashboard -- http://127.0.0.1:8080 demo manager@demo.restohub restohub-demo

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use restohub_protocol::api::analytics::{DashboardStats, ItemSales};
use restohub_protocol::api::auth::{LoginRequest, Tokens};
use restohub_protocol::ws::{ClientMessage, Hello, ServerMessage};
use restohub_protocol::ErrorEnvelope;
use tokio_tungstenite::tungstenite::Message;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, restaurant, email, password] = args.as_slice() else {
        eprintln!("usage: dashboard <hub url> <restaurant slug> <email> <password>");
        std::process::exit(2);
    };
    let login = LoginRequest {
        restaurant: restaurant.clone(),
        email: email.clone(),
        password: password.clone(),
        otp: None,
    };
    let http = reqwest::Client::new();
    let mut backoff = Duration::from_millis(500);
    loop {
        let outcome = match login_to(&http, base, &login).await {
            Ok(tokens) => watch(base, &tokens).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(reason) => println!("disconnected: {reason}; reconnecting"),
            Err(e) => println!("connection failed: {e}; retrying in {backoff:?}"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

async fn login_to(
    http: &reqwest::Client,
    base: &str,
    login: &LoginRequest,
) -> Result<Tokens, Error> {
    let res = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(login)
        .send()
        .await?;
    if res.status().is_success() {
        return Ok(res.json().await?);
    }
    let error: ErrorEnvelope = res.json().await?;
    Err(format!("{}: {}", error.error.code, error.error.message).into())
}

/// One connection; returns why it ended.
async fn watch(base: &str, tokens: &Tokens) -> Result<String, Error> {
    let url = format!("{}/ws", base.replacen("http", "ws", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let hello = ClientMessage::Hello(Hello {
        token: Some(tokens.access_token.clone()),
        since: None,
        restaurant_id: None,
        rooms: Vec::new(),
    });
    ws.send(Message::text(serde_json::to_string(&hello)?))
        .await?;
    while let Some(frame) = ws.next().await {
        let text = match frame? {
            Message::Text(text) => text,
            Message::Close(close) => {
                return Ok(close.map_or("closed".into(), |c| {
                    format!("closed {} {}", u16::from(c.code), c.reason)
                }))
            }
            _ => continue,
        };
        match serde_json::from_str::<ServerMessage>(text.as_str())? {
            ServerMessage::Dashboard(stats) => draw(&stats),
            ServerMessage::Welcome(w) if !w.rooms.iter().any(|r| r.starts_with("dashboard:")) => {
                return Err(format!(
                    "{} accounts have no dashboard; log in as an owner or manager",
                    w.role
                )
                .into())
            }
            _ => {}
        }
    }
    Ok("connection lost".into())
}

fn money(cents: i64) -> String {
    format!(
        "{}{}.{:02}",
        if cents < 0 { "-" } else { "" },
        cents.abs() / 100,
        cents.abs() % 100
    )
}

fn minutes(ms: i64) -> String {
    format!("{}m{:02}s", ms / 60_000, ms % 60_000 / 1000)
}

fn items(title: &str, rows: &[ItemSales]) -> String {
    let mut out = format!("{title}\n");
    for (i, row) in rows.iter().enumerate() {
        out.push_str(&format!(
            "  {:>2}. {:<24} {:>5} × {:>10}\n",
            i + 1,
            row.name,
            row.qty,
            money(row.revenue_cents)
        ));
    }
    out
}

fn draw(s: &DashboardStats) {
    let t = &s.today;
    let mut out = String::from("\x1b[2J\x1b[H");
    out.push_str(&format!(
        "DASHBOARD — {} ({}) — at {} — seq {}\n\n",
        s.business_day,
        s.timezone,
        s.at.to_rfc3339(),
        s.seq
    ));
    out.push_str(&format!(
        "Revenue closed {}   open {}   orders {}   average {}\n",
        money(t.revenue_closed_cents),
        money(t.revenue_open_cents),
        t.orders,
        t.average_order_cents.map_or("-".into(), money)
    ));
    out.push_str(&format!(
        "Cancelled {} ({})   voided lines {} ({})\n",
        t.cancellations.count,
        money(t.cancellations.cents),
        t.voids.count,
        money(t.voids.cents)
    ));
    let m = &s.money;
    out.push_str(&format!(
        "Sales gross {}   discounts {}   comps {}   net {}   service {}   tax {}\n",
        money(m.gross_sales_cents),
        money(m.discounts_cents),
        money(m.comps_cents),
        money(m.net_sales_cents),
        money(m.service_cents),
        money(m.tax_cents)
    ));
    let p = &m.payments;
    out.push_str(&format!(
        "Paid checks {} (average {})   cash {}   card {}   other {}   tips {}   refunds {}\n",
        m.paid_checks,
        money(m.average_check_cents),
        money(p.cash.amount_cents),
        money(p.card.amount_cents),
        money(p.other.amount_cents),
        money(m.tips_cents),
        money(m.refunds_cents)
    ));
    out.push_str(&format!(
        "Open checks {}   due {}\n",
        m.open_checks.count,
        money(m.open_checks.due_cents)
    ));
    out.push_str(&format!(
        "Kitchen time avg {}   p90 {}   over {} orders\n",
        t.kitchen.average_ms.map_or("-".into(), minutes),
        t.kitchen.p90_ms.map_or("-".into(), minutes),
        t.kitchen.orders
    ));
    let o = &s.open_orders;
    out.push_str(&format!(
        "Open orders: placed {}  in progress {}  ready {}  served {}   slowest {}\n",
        o.placed,
        o.in_progress,
        o.ready,
        o.served,
        s.slowest_open_ticket.map_or("-".into(), |t| format!(
            "#{} {}",
            t.order_id,
            minutes(t.age_ms)
        ))
    ));
    out.push_str(&format!(
        "Tables occupied {}   covers {}\n\nStations\n",
        s.tables_occupied, s.covers
    ));
    for q in &s.stations {
        out.push_str(&format!(
            "  {:<16} {:>3} tickets {:>3} lines   oldest {}\n",
            q.name,
            q.tickets,
            q.lines,
            q.oldest_age_ms.map_or("-".into(), minutes)
        ));
    }
    out.push('\n');
    out.push_str(&items("Top by quantity", &s.top_by_qty));
    out.push_str(&items("Top by revenue", &s.top_by_revenue));
    let names = |rows: &[restohub_protocol::api::analytics::ItemStock]| {
        rows.iter()
            .map(|i| match i.stock {
                Some(n) => format!("{} ({n})", i.name),
                None => i.name.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push_str(&format!(
        "\n86'd: {}\nLow stock: {}\n",
        names(&s.eighty_sixed),
        names(&s.low_stock)
    ));
    let peak = s
        .orders_per_hour
        .iter()
        .map(|h| h.orders)
        .max()
        .unwrap_or(0)
        .max(1);
    out.push_str("\nOrders per hour (last 24)\n");
    let zone: chrono_tz::Tz = s.timezone.parse().unwrap_or(chrono_tz::UTC);
    for h in &s.orders_per_hour {
        let bar = "#".repeat((h.orders * 40 / peak) as usize);
        let local = h.hour_start.to_datetime().with_timezone(&zone);
        out.push_str(&format!(
            "  {} {:>4} {bar}\n",
            local.format("%H:%M"),
            h.orders
        ));
    }
    print!("{out}");
}
