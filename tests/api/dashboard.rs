//! The live dashboard and the analytics endpoint: every number pushed to a
//! manager's screen is checked against a recomputation from the raw orders,
//! menu, tables and checks read back over REST, with the definitions written
//! out independently here (money's in `money.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use chrono::{DateTime, NaiveDate, TimeZone, Timelike};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use restohub_protocol::api::analytics::{
    Amount, Analytics, DashboardStats, Figures, HourCount, ItemSales, ItemStock, KitchenTimes,
    OldestTicket, OpenOrders, StationQueue,
};
use restohub_protocol::api::checks::{Check, CheckStatus};
use restohub_protocol::api::orders::{LineStatus, Order, OrderStatus};
use restohub_protocol::Timestamp;
use serde_json::{json, Value};

use crate::orders::{floor, Floor};
use crate::support::{Backend, TestApp};
use crate::ws_client::{error_code, WsClient};

const ZONE: &str = "America/New_York";
const HOUR: i64 = 3_600_000;

fn zone() -> Tz {
    ZONE.parse().unwrap()
}

fn local(at: i64) -> DateTime<Tz> {
    zone().timestamp_millis_opt(at).unwrap()
}

fn day_of(at: i64) -> NaiveDate {
    local(at).date_naive()
}

fn hour_of(at: i64) -> i64 {
    let t = local(at);
    t.with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap()
        .timestamp_millis()
}

/// Everything the numbers are recomputed from.
struct World {
    orders: Vec<Order>,
    menu: Vec<Value>,
    tables: Vec<Value>,
    stations: Vec<Value>,
    ledger: crate::money::Ledger,
}

async fn world(app: &TestApp, f: &Floor, ids: &BTreeSet<i64>) -> World {
    let mut orders = Vec::new();
    for id in ids {
        let (status, order) = app.get(&format!("/api/v1/orders/{id}"), &f.t.owner).await;
        assert_eq!(status, StatusCode::OK, "{order}");
        orders.push(serde_json::from_value(order).unwrap());
    }
    let list = |v: Value| v["items"].as_array().unwrap().clone();
    World {
        orders,
        menu: list(app.get("/api/v1/menu/items?limit=200", &f.t.owner).await.1),
        tables: list(app.get("/api/v1/tables?limit=200", &f.t.owner).await.1),
        stations: list(app.get("/api/v1/stations?limit=200", &f.t.owner).await.1),
        ledger: crate::money::ledger(app, &f.t.owner).await,
    }
}

fn value(l: &restohub_protocol::api::orders::OrderLine) -> i64 {
    l.unit_price_cents * l.qty
}

fn round(sum: i64, n: i64) -> i64 {
    (sum + n / 2) / n
}

/// The figures of the orders `pick` selects, by the protocol's definitions.
fn figures(orders: &[&Order]) -> Figures {
    let live: Vec<&&Order> = orders
        .iter()
        .filter(|o| o.status != OrderStatus::Cancelled)
        .collect();
    let cancelled: Vec<&&Order> = orders
        .iter()
        .filter(|o| o.status == OrderStatus::Cancelled)
        .collect();
    let kept = |o: &Order| -> i64 {
        o.lines
            .iter()
            .filter(|l| l.status != LineStatus::Voided)
            .map(value)
            .sum()
    };
    let booked: i64 = live.iter().map(|o| kept(o)).sum();
    let closed: i64 = live
        .iter()
        .filter(|o| o.status == OrderStatus::Closed)
        .map(|o| kept(o))
        .sum();
    let voided: Vec<_> = live
        .iter()
        .flat_map(|o| o.lines.iter())
        .filter(|l| l.status == LineStatus::Voided)
        .collect();
    let mut times: Vec<i64> = live
        .iter()
        .filter_map(|o| o.ready_at.map(|r| r.0 - o.created_at.0))
        .collect();
    times.sort();
    let n = times.len() as i64;
    let orders_n = live.len() as i64;
    Figures {
        orders: orders_n,
        revenue_closed_cents: closed,
        revenue_open_cents: booked - closed,
        average_order_cents: (orders_n > 0).then(|| round(booked, orders_n)),
        cancellations: Amount {
            count: cancelled.len() as i64,
            cents: cancelled
                .iter()
                .flat_map(|o| o.lines.iter())
                .map(value)
                .sum(),
        },
        voids: Amount {
            count: voided.len() as i64,
            cents: voided.iter().map(|l| value(l)).sum(),
        },
        kitchen: KitchenTimes {
            orders: n,
            average_ms: (n > 0).then(|| round(times.iter().sum(), n)),
            p90_ms: (n > 0).then(|| times[(9 * n as usize).div_ceil(10) - 1]),
        },
    }
}

fn top(orders: &[&Order], menu: &[Value], by_revenue: bool) -> Vec<ItemSales> {
    let mut sold: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for o in orders.iter().filter(|o| o.status != OrderStatus::Cancelled) {
        for l in o.lines.iter().filter(|l| l.status != LineStatus::Voided) {
            let e = sold.entry(l.menu_item_id).or_default();
            e.0 += l.qty;
            e.1 += value(l);
        }
    }
    let mut rows: Vec<ItemSales> = sold
        .into_iter()
        .map(|(id, (qty, revenue_cents))| ItemSales {
            menu_item_id: id,
            name: menu.iter().find(|m| m["id"] == id).unwrap()["name"]
                .as_str()
                .unwrap()
                .into(),
            qty,
            revenue_cents,
        })
        .collect();
    rows.sort_by_key(|s| {
        (
            -(if by_revenue { s.revenue_cents } else { s.qty }),
            s.menu_item_id,
        )
    });
    rows.truncate(10);
    rows
}

fn item_stock(m: &Value) -> ItemStock {
    ItemStock {
        menu_item_id: m["id"].as_i64().unwrap(),
        name: m["name"].as_str().unwrap().into(),
        stock: m["stock"].as_i64(),
        low_stock_threshold: m["low_stock_threshold"].as_i64().unwrap(),
    }
}

/// `expected` with the average ticket times `stats` shows, where the
/// model counts done tickets (and none where it counts none).
fn with_ticket_times(mut expected: DashboardStats, stats: &DashboardStats) -> DashboardStats {
    for (want, got) in expected.stations.iter_mut().zip(&stats.stations) {
        if want.tickets_done_today > 0 {
            assert!(got.average_ticket_ms.is_some_and(|ms| ms >= 0), "{got:?}");
            want.average_ticket_ms = got.average_ticket_ms;
        }
    }
    expected
}

/// The dashboard the hub should show at `at` with the log at `seq`.
fn expected(w: &World, restaurant: i64, seq: u64, at: i64) -> DashboardStats {
    let today = day_of(at);
    let todays: Vec<&Order> = w
        .orders
        .iter()
        .filter(|o| day_of(o.created_at.0) == today)
        .collect();
    let open = |s: OrderStatus| w.orders.iter().filter(|o| o.status == s).count() as i64;
    let waiting = |o: &&Order| matches!(o.status, OrderStatus::Placed | OrderStatus::InProgress);
    let slowest = w
        .orders
        .iter()
        .filter(waiting)
        .min_by_key(|o| (o.created_at, o.id))
        .map(|o| OldestTicket {
            order_id: o.id,
            placed_at: o.created_at,
            age_ms: at - o.created_at.0,
        });
    let stations = w
        .stations
        .iter()
        .map(|s| {
            let id = s["id"].as_i64().unwrap();
            let pending: Vec<(&Order, i64)> = w
                .orders
                .iter()
                .flat_map(|o| o.lines.iter().map(move |l| (o, l)))
                .filter(|(_, l)| {
                    l.station_id == Some(id)
                        && matches!(l.status, LineStatus::Queued | LineStatus::Preparing)
                })
                .map(|(o, l)| (o, l.id))
                .collect();
            let tickets: BTreeSet<i64> = pending.iter().map(|(o, _)| o.id).collect();
            let oldest = pending.iter().map(|(o, _)| o.created_at.0).min();
            StationQueue {
                station_id: id,
                name: s["name"].as_str().unwrap().into(),
                tickets: tickets.len() as i64,
                lines: pending.len() as i64,
                oldest_placed_at: oldest.map(Timestamp),
                oldest_age_ms: oldest.map(|t| at - t),
                tickets_done_today: todays
                    .iter()
                    .filter(|o| o.status != OrderStatus::Cancelled)
                    .filter(|o| {
                        let mine: Vec<_> = o
                            .lines
                            .iter()
                            .filter(|l| l.station_id == Some(id) && l.status != LineStatus::Voided)
                            .collect();
                        !mine.is_empty()
                            && mine
                                .iter()
                                .all(|l| matches!(l.status, LineStatus::Ready | LineStatus::Served))
                    })
                    .count() as i64,
                // Timed by the hub (tests/api/timers.rs checks the figure);
                // see `with_ticket_times`.
                average_ticket_ms: None,
            }
        })
        .collect();
    let occupied: Vec<&Value> = w
        .tables
        .iter()
        .filter(|t| t["status"] == "occupied")
        .collect();
    let current_hour = hour_of(at);
    let live: Vec<&Order> = w
        .orders
        .iter()
        .filter(|o| o.status != OrderStatus::Cancelled)
        .collect();
    DashboardStats {
        restaurant_id: restaurant,
        seq,
        at: Timestamp(at),
        timezone: ZONE.into(),
        business_day: today.to_string(),
        today: figures(&todays),
        money: crate::money::expected(&w.ledger, zone(), today..=today),
        top_by_qty: top(&todays, &w.menu, false),
        top_by_revenue: top(&todays, &w.menu, true),
        open_orders: OpenOrders {
            placed: open(OrderStatus::Placed),
            in_progress: open(OrderStatus::InProgress),
            ready: open(OrderStatus::Ready),
            served: open(OrderStatus::Served),
        },
        slowest_open_ticket: slowest,
        stations,
        tables_occupied: occupied.len() as i64,
        covers: occupied.iter().map(|t| t["seats"].as_i64().unwrap()).sum(),
        eighty_sixed: w
            .menu
            .iter()
            .filter(|m| m["available"] == false)
            .map(item_stock)
            .collect(),
        low_stock: w
            .menu
            .iter()
            .filter(|m| {
                m["available"] == true
                    && m["stock"]
                        .as_i64()
                        .is_some_and(|s| s <= m["low_stock_threshold"].as_i64().unwrap())
            })
            .map(item_stock)
            .collect(),
        orders_per_hour: (0..24)
            .map(|k| {
                let start = current_hour - (23 - k) * HOUR;
                HourCount {
                    hour_start: Timestamp(start),
                    orders: live
                        .iter()
                        .filter(|o| hour_of(o.created_at.0) == start)
                        .count() as i64,
                }
            })
            .collect(),
    }
}

fn stats_of(frame: &Value) -> DashboardStats {
    assert_eq!(frame["type"], "dashboard", "{frame}");
    serde_json::from_value(frame.clone()).expect("a dashboard frame")
}

/// Reads dashboard frames until one reflects `seq`; returns it and how many
/// dashboard frames were read (it included).
pub(crate) async fn dashboard_at(screen: &mut WsClient, seq: u64) -> (DashboardStats, usize) {
    let mut read = 0;
    loop {
        let stats = stats_of(&screen.next_of("dashboard").await);
        read += 1;
        assert!(stats.seq <= seq, "a snapshot from the future");
        if stats.seq == seq {
            return (stats, read);
        }
    }
}

async fn current_seq(app: &TestApp, f: &Floor) -> u64 {
    app.store.current_seq(f.t.id).await.unwrap()
}

async fn new_york(app: &TestApp, f: &Floor) {
    let (status, body) = app
        .patch(
            "/api/v1/restaurant",
            &f.t.owner,
            json!({ "timezone": ZONE }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn placement(key: &str, lines: Value, table: Option<i64>) -> Value {
    let source = if table.is_some() {
        "dine_in"
    } else {
        "takeaway"
    };
    json!({ "type": "order.place", "idempotency_key": key, "table_id": table, "source": source, "lines": lines })
}

/// Staff on one instance: a waiter and a chef on sockets, and a cashier
/// at the till (REST).
struct Crew<'a> {
    app: &'a TestApp,
    waiter: WsClient,
    chef: WsClient,
    cashier: String,
    /// Approves voids of fired lines.
    owner_email: String,
}

async fn crew<'a>(app: &'a TestApp, f: &Floor) -> Crew<'a> {
    Crew {
        app,
        waiter: WsClient::staff(app, &f.t, "waiter").await,
        chef: WsClient::staff(app, &f.t, "chef").await,
        cashier: app.staff(&f.t, "cashier").await.1,
        owner_email: format!("owner@{}.test", f.t.slug),
    }
}

/// The cashier settles order `o`'s check: opens it (for the order's table,
/// or for the takeaway order) if the order has none; while it is open,
/// sometimes discounts or comps it, then pays all or half of what is due,
/// by any method, sometimes with a tip; once it is paid, closes it. The ids
/// of the check's orders, or the error code of a refusal.
async fn settle(
    rng: &mut StdRng,
    crew: &Crew<'_>,
    o: &Order,
    n: usize,
) -> Result<Vec<i64>, String> {
    let (app, token) = (crew.app, crew.cashier.as_str());
    let ok = |(status, body): (StatusCode, Value)| {
        if status.is_success() {
            Ok(body)
        } else {
            Err(body["error"]["code"].as_str().unwrap_or("?").to_owned())
        }
    };
    let check = |body: Value| serde_json::from_value::<Check>(body).unwrap();
    let (status, list) = app.get("/api/v1/checks?limit=200", token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(list["next_after"].is_null(), "one page holds them all");
    let found = serde_json::from_value::<Vec<Check>>(list["items"].clone())
        .unwrap()
        .into_iter()
        .find(|c| c.order_ids.contains(&o.id) && c.status != CheckStatus::Void);
    let mut c = match found {
        Some(c) => c,
        None => {
            let body = match o.table_id {
                Some(t) => json!({ "table_id": t }),
                None => json!({ "order_id": o.id }),
            };
            check(ok(app.post("/api/v1/checks", Some(token), body).await)?)
        }
    };
    let id = c.id;
    let path = |what: &str| format!("/api/v1/checks/{id}/{what}");
    if c.status == CheckStatus::Paid {
        c = check(ok(app.post(&path("close"), Some(token), json!({})).await)?);
    } else if c.status.is_open() && c.due_cents > 0 {
        if rng.random_range(0..4) == 0 {
            let discount = json!({ "kind": "amount", "value": rng.random_range(50..300), "comp": rng.random_bool(0.5), "reason": "workload" });
            c = check(ok(app
                .post(&path("discounts"), Some(token), discount)
                .await)?);
        }
        let amount = match rng.random_range(0..3) {
            0 => (c.due_cents / 2).max(1),
            _ => c.due_cents,
        };
        let method = ["cash", "card", "other"][rng.random_range(0..3)];
        let tip = [0, 0, 150, 275][rng.random_range(0..4)];
        let payment = json!({ "idempotency_key": format!("pay-{n}"), "method": method, "amount_cents": amount, "tip_cents": tip });
        let reply = ok(app.post(&path("payments"), Some(token), payment).await)?;
        c = check(reply["check"].clone());
    }
    Ok(c.order_ids)
}

/// One random step against the orders so far; refusals (stock, transitions)
/// are part of the workload and change nothing.
async fn step(
    rng: &mut StdRng,
    crew: &mut Crew<'_>,
    f: &Floor,
    orders: &mut BTreeMap<i64, Order>,
    n: usize,
) {
    let pick = orders
        .keys()
        .nth(rng.random_range(0..orders.len().max(1)))
        .copied();
    let order = pick.and_then(|id| orders.get(&id)).cloned();
    let roll = rng.random_range(0..100);
    let reply = match (roll, order) {
        (0..30, _) | (_, None) => {
            let items = [f.steak, f.burger, f.wine, f.bread];
            let lines: Vec<Value> = (0..rng.random_range(1..4))
                .map(|i| json!({ "menu_item_id": items[rng.random_range(0..4)], "qty": rng.random_range(1..4), "note": format!("n{i}") }))
                .collect();
            let table = [None, Some(f.t1), Some(f.t2)][rng.random_range(0..3)];
            crew.waiter
                .command(placement(&format!("w-{n}"), json!(lines), table))
                .await
        }
        (30..65, Some(o)) => {
            let line = &o.lines[rng.random_range(0..o.lines.len())];
            let to = match line.status {
                LineStatus::Queued => "preparing",
                LineStatus::Preparing if rng.random_range(0..5) == 0 => "queued",
                LineStatus::Preparing => "ready",
                _ => "served",
            };
            let who = if to == "served" {
                &mut crew.waiter
            } else {
                &mut crew.chef
            };
            who.command(json!({ "type": "item.set_status", "order_id": o.id, "line_id": line.id, "status": to }))
                .await
        }
        (65..75, Some(o)) => {
            crew.waiter
                .command(
                    json!({ "type": "order.set_status", "order_id": o.id, "status": "served" }),
                )
                .await
        }
        (75..87, Some(o)) => {
            match settle(rng, crew, &o, n).await {
                Ok(ids) => {
                    for id in ids {
                        let path = format!("/api/v1/orders/{id}");
                        let (status, order) = crew.app.get(&path, &crew.cashier).await;
                        assert_eq!(status, StatusCode::OK, "{order}");
                        orders.insert(id, serde_json::from_value(order).unwrap());
                    }
                }
                Err(code) => assert!(
                    ["INVALID_TRANSITION", "NOT_FOUND", "VALIDATION_FAILED"]
                        .contains(&code.as_str()),
                    "the till refused with {code}"
                ),
            }
            return;
        }
        (87..93, Some(o)) => crew
            .waiter
            .command(
                json!({ "type": "order.cancel", "order_id": o.id, "reason": "changed their mind" }),
            )
            .await,
        (_, Some(o)) => {
            let line = &o.lines[rng.random_range(0..o.lines.len())];
            crew.waiter
                .command(json!({
                    "type": "item.void", "order_id": o.id, "line_id": line.id, "reason": "sent back",
                    "approval": { "email": crew.owner_email, "password": crate::support::PASSWORD },
                }))
                .await
        }
    };
    if reply["type"] == "ack" {
        let order: Order = serde_json::from_value(reply["order"].clone()).unwrap();
        orders.insert(order.id, order);
    } else {
        let code = error_code(&reply);
        assert!(
            ["INVALID_TRANSITION", "OUT_OF_STOCK", "VALIDATION_FAILED"].contains(&code),
            "{reply}"
        );
    }
}

async fn randomized_workload_matches_a_recomputation(backend: Backend) {
    let redis = (backend == Backend::Postgres).then(crate::scale::PrivateRedis::start);
    let url = redis.as_ref().map(|r| r.url());
    // Commands go out back to back: lift the per-session rate limit.
    let mut args = vec![
        "--event-poll-ms",
        "100",
        "--dashboard-interval-ms",
        "50",
        "--ws-commands-per-sec",
        "100000",
        // The model counts only the workload's events: no station alerts
        // of the hub's own while the clock runs (it has no station screens).
        "--screen-alert-ms",
        "3600000",
    ];
    if let Some(url) = &url {
        args.extend(["--redis-url", url.as_str()]);
    }
    let a = TestApp::spawn_with(backend, &args).await;
    let b = a.sibling_with(&args).await;
    // Six minutes before midnight in New York; accounts made now keep valid
    // access tokens (15 minutes) through the workload (about 12 minutes).
    let midnight = zone()
        .from_local_datetime(
            &(day_of(a.clock.now())
                .succ_opt()
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()),
        )
        .unwrap()
        .timestamp_millis();
    a.clock.advance_ms(midnight - 6 * 60_000 - a.clock.now());
    let f = floor(&a, "diner").await;
    new_york(&a, &f).await;
    // Nor late tickets: the workload's clock runs about twelve minutes.
    let never_late = json!({ "caution_seconds": 14_000, "late_seconds": 14_400 });
    for station in [f.grill, f.bar] {
        let targets = json!({ "dine_in": never_late, "takeaway": never_late, "qr": never_late });
        let (status, body) = a
            .patch(
                &format!("/api/v1/stations/{station}"),
                &f.t.owner,
                json!({ "targets": targets }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let first_day = day_of(a.clock.now());

    let (_, manager) = a.staff(&f.t, "manager").await;
    let (mut screen_a, _) = WsClient::join(&a, &manager).await;
    let (mut screen_b, _) = WsClient::join(&b, &f.t.owner).await;
    let mut crews = [crew(&a, &f).await, crew(&b, &f).await];
    let mut rng = StdRng::seed_from_u64(0x5eed_da5b);
    let mut orders = BTreeMap::new();
    for n in 0..360 {
        a.clock.advance_ms(rng.random_range(0..4_000));
        step(&mut rng, &mut crews[n % 2], &f, &mut orders, n).await;
        if n % 60 == 59 {
            let seq = current_seq(&a, &f).await;
            let w = world(&a, &f, &orders.keys().copied().collect()).await;
            for screen in [&mut screen_a, &mut screen_b] {
                let (stats, _) = dashboard_at(screen, seq).await;
                assert_eq!(
                    stats,
                    with_ticket_times(expected(&w, f.t.id, seq, stats.at.0), &stats),
                    "after step {n}"
                );
            }
        }
    }
    let last_day = day_of(a.clock.now());
    assert!(last_day > first_day, "the workload crossed midnight");
    let days: BTreeSet<NaiveDate> = orders.values().map(|o| day_of(o.created_at.0)).collect();
    assert_eq!(days.len(), 2, "orders on both business days");
    let statuses: BTreeSet<String> = orders
        .values()
        .map(|o| json!(o.status).to_string())
        .collect();
    assert!(
        statuses.len() >= 5,
        "the workload reached most states: {statuses:?}"
    );

    // The analytics endpoint, same definitions, over both days.
    let w = world(&a, &f, &orders.keys().copied().collect()).await;
    let paid_days: BTreeSet<NaiveDate> = w.ledger.paid_at.values().map(|at| day_of(*at)).collect();
    assert_eq!(paid_days.len(), 2, "checks paid on both business days");
    let (from, to) = (first_day.to_string(), last_day.to_string());
    let all: Vec<&Order> = w.orders.iter().collect();
    for (group_by, limit) in [("day", 1), ("hour", 7)] {
        let mut buckets = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut path =
                format!("/api/v1/analytics?from={from}&to={to}&group_by={group_by}&limit={limit}");
            if let Some(after) = &after {
                path.push_str(&format!("&after={after}"));
            }
            let (status, body) = b.get(&path, &manager).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let page: Analytics = serde_json::from_value(body).unwrap();
            assert_eq!(page.totals, figures(&all));
            assert_eq!(
                page.money,
                crate::money::expected(&w.ledger, zone(), first_day..=last_day)
            );
            assert_eq!(page.top_by_qty, top(&all, &w.menu, false));
            assert_eq!(page.top_by_revenue, top(&all, &w.menu, true));
            assert!(page.buckets.len() <= limit);
            buckets.extend(page.buckets);
            match page.next_after {
                Some(next) => {
                    after = Some(
                        serde_json::to_value(next)
                            .unwrap()
                            .as_str()
                            .unwrap()
                            .to_owned(),
                    )
                }
                None => break,
            }
        }
        let expected_starts: Vec<i64> = if group_by == "day" {
            vec![day_start(first_day), day_start(last_day)]
        } else {
            (0..48).map(|h| day_start(first_day) + h * HOUR).collect()
        };
        assert_eq!(
            buckets.iter().map(|b| b.start.0).collect::<Vec<_>>(),
            expected_starts
        );
        for bucket in &buckets {
            let inside: Vec<&Order> = w
                .orders
                .iter()
                .filter(|o| match group_by {
                    "day" => day_of(o.created_at.0).to_string() == bucket.business_day,
                    _ => hour_of(o.created_at.0) == bucket.start.0,
                })
                .collect();
            assert_eq!(
                bucket.figures,
                figures(&inside),
                "bucket {}",
                bucket.start.to_rfc3339()
            );
        }
    }
}

fn day_start(day: NaiveDate) -> i64 {
    zone()
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .timestamp_millis()
}

async fn a_burst_of_orders_gives_few_snapshots_and_an_exact_last_one(backend: Backend) {
    let a = TestApp::spawn_with(backend, &["--ws-commands-per-sec", "100000"]).await;
    let f = floor(&a, "rush").await;
    new_york(&a, &f).await;
    let (mut screen, _) = WsClient::join(&a, &f.t.owner).await;
    let first = stats_of(&screen.next_of("dashboard").await);
    assert_eq!(first.today.orders, 0);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..4 {
        let (_, waiter) = a.staff(&f.t, "waiter").await;
        let (mut ws, _) = WsClient::join(&a, &waiter).await;
        let bread = f.bread;
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..250 {
                let reply = ws
                    .command(placement(
                        &format!("b-{c}-{n}"),
                        json!([{ "menu_item_id": bread, "qty": 1 + n % 3 }]),
                        None,
                    ))
                    .await;
                assert_eq!(reply["type"], "ack", "{reply}");
                ids.push(reply["order"]["id"].as_i64().unwrap());
            }
            ids
        }));
    }
    let mut ids = BTreeSet::new();
    for task in tasks {
        ids.extend(task.await.unwrap());
    }
    let seq = current_seq(&a, &f).await;
    let (last, received) = dashboard_at(&mut screen, seq).await;
    let elapsed = started.elapsed();
    // At most one snapshot per 250 ms interval (the default), plus the one in
    // flight when the burst started.
    let bound = (elapsed.as_millis() / 250) as usize + 2;
    assert!(
        received <= bound,
        "{received} snapshots in {elapsed:?} (bound {bound})"
    );
    assert!(received < 100, "{received} snapshots for 1,000 orders");
    assert_eq!(last.today.orders, 1000);
    let w = world(&a, &f, &ids).await;
    assert_eq!(
        last,
        with_ticket_times(expected(&w, f.t.id, seq, last.at.0), &last)
    );
}

async fn only_managers_see_statistics_and_only_their_own(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "mine").await;
    let other = floor(&app, "theirs").await;
    let room = format!("dashboard:{}", f.t.id);
    for role in ["waiter", "chef", "cashier"] {
        let (_, token) = app.staff(&f.t, role).await;
        let (mut ws, welcome) = WsClient::join(&app, &token).await;
        assert!(!welcome["rooms"].as_array().unwrap().contains(&json!(room)));
        assert_eq!(
            error_code(&ws.subscribe(&room).await),
            "FORBIDDEN",
            "{role}"
        );
        let (status, body) = app
            .get("/api/v1/analytics?from=2027-01-01&to=2027-01-31", &token)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}: {body}");
        assert_eq!(body["error"]["code"], "FORBIDDEN");
        ws.assert_alive().await;
        assert!(ws.pending_events_of("dashboard").is_empty());
    }
    let mut guest = WsClient::guest(&app, &f.t1_code).await;
    assert_eq!(error_code(&guest.subscribe(&room).await), "FORBIDDEN");
    let guest_token = app.guest_token(&f.t1_code).await;
    let (status, _) = app
        .get(
            "/api/v1/analytics?from=2027-01-01&to=2027-01-31",
            &guest_token,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call(
            reqwest::Method::GET,
            "/api/v1/analytics?from=2027-01-01&to=2027-01-31",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A manager cannot watch another restaurant's dashboard...
    let (mut mine, _) = WsClient::join(&app, &f.t.owner).await;
    let before = stats_of(&mine.next_of("dashboard").await);
    assert_eq!(
        error_code(&mine.subscribe(&format!("dashboard:{}", other.t.id)).await),
        "FORBIDDEN"
    );
    // ...and the other restaurant's orders never reach these numbers.
    let mut theirs = WsClient::staff(&app, &other.t, "waiter").await;
    for n in 0..3 {
        let reply = theirs
            .command(placement(
                &format!("o-{n}"),
                json!([{ "menu_item_id": other.steak, "qty": 2 }]),
                Some(other.t1),
            ))
            .await;
        assert_eq!(reply["type"], "ack", "{reply}");
    }
    let mut own = WsClient::staff(&app, &f.t, "waiter").await;
    let reply = own
        .command(placement(
            "m-1",
            json!([{ "menu_item_id": f.wine, "qty": 1 }]),
            None,
        ))
        .await;
    assert_eq!(reply["type"], "ack", "{reply}");
    let seq = current_seq(&app, &f).await;
    let (after, _) = dashboard_at(&mut mine, seq).await;
    assert_eq!((before.today.orders, after.today.orders), (0, 1));
    assert_eq!(after.today.revenue_open_cents, 800);
    assert_eq!(after.tables_occupied, 0);
    let day = after.business_day.clone();
    let (status, body) = app
        .get(
            &format!("/api/v1/analytics?from={day}&to={day}"),
            &f.t.owner,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["totals"]["orders"], 1);
    assert_eq!(body["top_by_qty"][0]["menu_item_id"], f.wine);
    let (_, body) = app
        .get(
            &format!("/api/v1/analytics?from={day}&to={day}"),
            &other.t.owner,
        )
        .await;
    assert_eq!(body["totals"]["orders"], 3);
}

async fn bad_analytics_queries_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "picky").await;
    for (query, field) in [
        ("from=2027-01-02&to=2027-01-01", "to"),
        ("from=2026-01-01&to=2027-01-02", "to"),
        ("from=yesterday&to=2027-01-01", "from"),
        ("from=2027-01-01&to=2027-01-02&limit=0", "limit"),
    ] {
        let (status, body) = app
            .get(&format!("/api/v1/analytics?{query}"), &f.t.owner)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["error"]["code"], "VALIDATION_FAILED", "{query}");
        assert!(
            body["error"]["details"]["fields"][field].is_array(),
            "{query}: {body}"
        );
    }
    let (status, body) = app
        .get(
            "/api/v1/analytics?from=2027-01-01&to=2027-01-02&group_by=week",
            &f.t.owner,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "VALIDATION_FAILED");
}

crate::both_backends!(
    randomized_workload_matches_a_recomputation,
    a_burst_of_orders_gives_few_snapshots_and_an_exact_last_one,
    only_managers_see_statistics_and_only_their_own,
    bad_analytics_queries_are_refused,
);
