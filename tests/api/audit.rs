//! The audit trail over real HTTP and WebSockets: what each action records
//! (actor, address, before and after), who may read it, filters and pages,
//! `restohub audit verify` on a real database, retention, and one chain per
//! restaurant under concurrent appends from two instances.

use std::time::Duration;

use reqwest::StatusCode;
use restohub_protocol::Timestamp;
use serde_json::{json, Value};

use crate::orders::floor;
use crate::support::*;
use crate::ws_client::WsClient;

/// The caller's trail for `query` (e.g. `action=login.failed`), one page.
async fn page(app: &TestApp, token: &str, query: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/audit?{query}"), token).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

/// Every entry for `query`, following `next_after` page by page.
async fn trail(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut after = 0;
    loop {
        let body = page(app, token, &format!("{query}&limit=200&after={after}")).await;
        entries.extend(body["items"].as_array().unwrap().iter().cloned());
        match body["next_after"].as_i64() {
            Some(next) => after = next,
            None => return entries,
        }
    }
}

/// The one entry of `action`.
async fn only(app: &TestApp, token: &str, action: &str) -> Value {
    let entries = trail(app, token, &format!("action={action}")).await;
    assert_eq!(entries.len(), 1, "{action}: {entries:?}");
    entries[0].clone()
}

#[track_caller]
fn assert_by(entry: &Value, actor: &str, role: &str, address: &str) {
    assert_eq!(entry["actor"], actor, "{entry}");
    assert_eq!(entry["actor_role"], role, "{entry}");
    assert_eq!(entry["client_address"], address, "{entry}");
}

fn line_of(order: &Value, name: &str) -> i64 {
    order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

async fn place(app: &TestApp, token: &str, key: &str, table: i64, lines: Value) -> Value {
    let body =
        json!({ "idempotency_key": key, "table_id": table, "source": "dine_in", "lines": lines });
    let (status, placed) = app.post("/api/v1/orders", Some(token), body).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    placed["order"].clone()
}

async fn ok_post(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (status, reply) = app.post(path, Some(token), body).await;
    assert_eq!(status, StatusCode::OK, "{path}: {reply}");
    reply
}

/// Voids, closes, cancellations, prices, stock and 86ing — over REST and
/// over the WebSocket — each with who did it, from where, and the fields
/// before and after; a refused action records nothing.
async fn money_and_stock_actions_are_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let (waiter_id, waiter) = app.staff(&f.t, "waiter").await;
    let (chef_id, chef) = app.staff(&f.t, "chef").await;
    let (cashier_id, cashier) = app.staff(&f.t, "cashier").await;

    // The waiter voids the wine of an order over the WebSocket.
    let lines =
        json!([{ "menu_item_id": f.steak, "qty": 1 }, { "menu_item_id": f.wine, "qty": 2 }]);
    let o = place(&app, &waiter, "a1", f.t1, lines).await;
    let id = o["id"].as_i64().unwrap();
    let (wine, steak) = (line_of(&o, "Wine"), line_of(&o, "Steak"));
    let (mut waiter_ws, _) = WsClient::join(&app, &waiter).await;
    // The wine was fired with the order: a waiter voids it with the owner's approval.
    let approval = json!({ "email": "owner@bistro.test", "password": PASSWORD });
    let void = json!({ "type": "item.void", "order_id": id, "line_id": wine, "reason": "corked", "approval": approval });
    assert_eq!(waiter_ws.command(void.clone()).await["type"], "ack");
    // Voiding it again is refused, and records nothing.
    assert_eq!(waiter_ws.command(void).await["type"], "error");

    // The cashier takes the table's payment (recorded in the trail)...
    let (_, check) = app
        .post(
            "/api/v1/checks",
            Some(&cashier),
            json!({ "table_id": f.t1 }),
        )
        .await;
    let check_id = check["id"].as_i64().unwrap();
    let payment =
        json!({ "idempotency_key": "a1", "method": "card", "amount_cents": check["due_cents"] });
    let (status, paid) = app
        .post(
            &format!("/api/v1/checks/{check_id}/payments"),
            Some(&cashier),
            payment,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    assert_eq!(paid["check"]["status"], "paid");
    let recorded = only(&app, &f.t.owner, "payment.recorded").await;
    assert_by(
        &recorded,
        &format!("user:{cashier_id}"),
        "cashier",
        "127.0.0.1",
    );
    assert_eq!(recorded["after"]["amount_cents"], 2500);

    // ...then the steak goes through the kitchen and the paid order is
    // closed at the till.
    let line = format!("/api/v1/orders/{id}/lines/{steak}/status");
    for status in ["preparing", "ready"] {
        ok_post(&app, &chef, &line, json!({ "status": status })).await;
    }
    let status = format!("/api/v1/orders/{id}/status");
    ok_post(&app, &waiter, &status, json!({ "status": "served" })).await;
    ok_post(&app, &cashier, &status, json!({ "status": "closed" })).await;

    // Another order is cancelled.
    let lines = json!([{ "menu_item_id": f.burger, "qty": 1 }]);
    let other = place(&app, &waiter, "a2", f.t2, lines).await;
    let other_id = other["id"].as_i64().unwrap();
    let cancel = format!("/api/v1/orders/{other_id}/cancel");
    ok_post(
        &app,
        &waiter,
        &cancel,
        json!({ "reason": "changed their mind" }),
    )
    .await;

    // The owner reprices the burger; the chef counts it at 0 over the WebSocket.
    let item = format!("/api/v1/menu/items/{}", f.burger);
    let (status, _) = app
        .patch(&item, &f.t.owner, json!({ "price_cents": 1700 }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (mut chef_ws, _) = WsClient::join(&app, &chef).await;
    let count = json!({ "type": "menu.set_stock", "menu_item_id": f.burger, "stock": 0 });
    assert_eq!(chef_ws.command(count).await["type"], "ack");

    let owner = &f.t.owner;
    let local = "127.0.0.1";
    let voided = only(&app, owner, "order.voided").await;
    assert_by(&voided, &format!("user:{waiter_id}"), "waiter", local);
    assert_eq!(voided["target"], format!("order:{id}"));
    assert_eq!(voided["before"]["line_id"], wine);
    assert_eq!(voided["before"]["name"], "Wine");
    assert_eq!(voided["before"]["qty"], 2);
    assert_eq!(voided["before"]["unit_price_cents"], 800);
    assert_eq!(voided["before"]["status"], "queued");
    assert_eq!(voided["after"]["status"], "voided");
    assert_eq!(voided["after"]["wasted"], false);
    assert_eq!(voided["after"]["void_reason"], "corked");
    assert_eq!(voided["after"]["approved_by"], f.t.owner_id);
    assert_eq!(voided["reason"], "corked");

    let closed = only(&app, owner, "order.closed_manually").await;
    assert_by(&closed, &format!("user:{cashier_id}"), "cashier", local);
    assert_eq!(closed["target"], format!("order:{id}"));
    assert_eq!(closed["before"]["status"], "served");
    assert_eq!(closed["after"]["status"], "closed");
    assert_eq!(closed["after"]["total_cents"], o["total_cents"]);

    let cancelled = only(&app, owner, "order.cancelled").await;
    assert_by(&cancelled, &format!("user:{waiter_id}"), "waiter", local);
    assert_eq!(cancelled["target"], format!("order:{other_id}"));
    assert_eq!(cancelled["before"]["status"], "placed");
    assert_eq!(cancelled["after"]["status"], "cancelled");

    let price = only(&app, owner, "menu.price_changed").await;
    assert_by(&price, &format!("user:{}", f.t.owner_id), "owner", local);
    assert_eq!(price["target"], format!("menu_item:{}", f.burger));
    assert_eq!(price["before"], json!({ "price_cents": 1500 }));
    assert_eq!(price["after"], json!({ "price_cents": 1700 }));

    // The cancellation gave its burger back: 20 counted down to 0.
    let stock = only(&app, owner, "menu.stock_changed").await;
    assert_by(&stock, &format!("user:{chef_id}"), "chef", local);
    assert_eq!(stock["before"], json!({ "stock": 20 }));
    assert_eq!(stock["after"], json!({ "stock": 0 }));
    let sold_out = only(&app, owner, "menu.availability_changed").await;
    assert_by(&sold_out, &format!("user:{chef_id}"), "chef", local);
    assert_eq!(sold_out["before"], json!({ "available": true }));
    assert_eq!(sold_out["after"], json!({ "available": false }));
    assert_eq!(sold_out["reason"], "the stock is 0");

    // Placing orders and moving lines through the kitchen are not audited,
    // and stock taken by orders is not a stock edit.
    let chef_did: Vec<Value> = trail(&app, owner, &format!("actor=user:{chef_id}"))
        .await
        .into_iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(
        chef_did,
        [
            "login.succeeded",
            "menu.stock_changed",
            "menu.availability_changed"
        ]
    );
}

/// Logins and failures, lockouts and unlocks, staff and role changes and
/// settings, with the address a trusted proxy names; no secret is recorded.
async fn accounts_and_settings_are_audited(backend: Backend) {
    let app = TestApp::spawn_with(backend, &["--client-ip-header", "x-forwarded-for"]).await;
    let t = app.tenant("bistro").await;
    let owner_actor = format!("user:{}", t.owner_id);
    let login = |email: &str, password: &str, forwarded: &str| {
        app.http
            .post(format!("{}/api/v1/auth/login", app.base))
            .header("x-forwarded-for", forwarded)
            .json(&json!({ "restaurant": "bistro", "email": email, "password": password }))
            .send()
    };

    // A failed login from behind the proxy: the client wrote the first
    // address, the proxy appended the real one.
    let res = login(
        &format!("owner@{}.test", t.slug),
        "wrong password",
        "198.51.100.1, 203.0.113.7",
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let failed = only(&app, &t.owner, "login.failed").await;
    assert!(failed.get("actor").is_none(), "{failed}");
    assert!(failed.get("actor_role").is_none(), "{failed}");
    assert_eq!(failed["client_address"], "203.0.113.7");
    assert_eq!(failed["target"], format!("user:{}", t.owner_id));
    assert_eq!(failed["after"]["email"], "owner@bistro.test");

    // Staff: created, renamed with a new password and role, deleted.
    let email = "wanda@bistro.test";
    let body = json!({ "email": email, "name": "Wanda", "role": "waiter", "password": PASSWORD });
    let (status, user) = app.post("/api/v1/users", Some(&t.owner), body).await;
    assert_eq!(status, StatusCode::CREATED);
    let user_id = user["id"].as_i64().unwrap();
    let created = only(&app, &t.owner, "staff.created").await;
    assert_by(&created, &owner_actor, "owner", "127.0.0.1");
    assert_eq!(created["target"], format!("user:{user_id}"));
    assert_eq!(
        created["after"],
        json!({ "email": email, "name": "Wanda", "role": "waiter" })
    );
    let new_password = "a brand new password";
    let patch = json!({ "name": "Wanda W", "role": "chef", "password": new_password });
    let path = format!("/api/v1/users/{user_id}");
    assert_eq!(app.patch(&path, &t.owner, patch).await.0, StatusCode::OK);
    let updated = only(&app, &t.owner, "staff.updated").await;
    assert_eq!(updated["before"], json!({ "name": "Wanda" }));
    assert_eq!(updated["after"], json!({ "name": "Wanda W" }));
    let role = only(&app, &t.owner, "staff.role_changed").await;
    assert_eq!(role["target"], format!("user:{user_id}"));
    assert_eq!(role["before"], json!({ "role": "waiter" }));
    assert_eq!(role["after"], json!({ "role": "chef" }));
    let password = only(&app, &t.owner, "staff.password_changed").await;
    assert_eq!(password["target"], format!("user:{user_id}"));

    // Five failures lock the account; the owner unlocks it; it logs in.
    for _ in 0..5 {
        login(email, "wrong password", "203.0.113.8").await.unwrap();
    }
    let failures = trail(&app, &t.owner, "action=login.failed").await;
    assert_eq!(failures.len(), 6);
    assert!(failures[1..]
        .iter()
        .all(|e| e["target"] == format!("user:{user_id}") && e["client_address"] == "203.0.113.8"));
    let locked = only(&app, &t.owner, "account.locked").await;
    assert!(locked.get("actor").is_none(), "{locked}");
    assert_eq!(locked["target"], format!("user:{user_id}"));
    assert_eq!(locked["reason"], "5 failed logins in a row");
    let until = locked["after"]["locked_until"].clone();
    assert!(until.is_string(), "{locked}");
    let unlock = format!("/api/v1/users/{user_id}/unlock");
    assert_eq!(
        app.post(&unlock, Some(&t.owner), json!({})).await.0,
        StatusCode::OK
    );
    let unlocked = only(&app, &t.owner, "account.unlocked").await;
    assert_by(&unlocked, &owner_actor, "owner", "127.0.0.1");
    assert_eq!(unlocked["before"], json!({ "locked_until": until }));
    assert_eq!(unlocked["after"], json!({ "locked_until": null }));
    let res = login(email, new_password, "203.0.113.9").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let theirs = trail(&app, &t.owner, &format!("actor=user:{user_id}")).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["action"], "login.succeeded");
    assert_by(
        &theirs[0],
        &format!("user:{user_id}"),
        "chef",
        "203.0.113.9",
    );

    // Settings: only what changed.
    let patch = json!({ "name": "Bistro Deux", "timezone": "Europe/Paris" });
    assert_eq!(
        app.patch("/api/v1/restaurant", &t.owner, patch).await.0,
        StatusCode::OK
    );
    let settings = only(&app, &t.owner, "restaurant.updated").await;
    assert_eq!(settings["target"], format!("restaurant:{}", t.id));
    assert_eq!(settings["before"], json!({ "name": "bistro restaurant" }));
    assert_eq!(settings["after"], json!({ "name": "Bistro Deux" }));

    assert_eq!(app.delete(&path, &t.owner).await.0, StatusCode::NO_CONTENT);
    let deleted = only(&app, &t.owner, "staff.deleted").await;
    assert_eq!(
        deleted["before"],
        json!({ "email": email, "name": "Wanda W", "role": "chef" })
    );

    // No password is ever in the trail.
    let everything = serde_json::to_string(&trail(&app, &t.owner, "").await).unwrap();
    for secret in [PASSWORD, new_password, "wrong password"] {
        assert!(!everything.contains(secret), "{secret} recorded");
    }
}

/// Owners and managers read their own restaurant's trail and nothing else;
/// bad filters are VALIDATION_FAILED.
async fn only_owners_and_managers_read_their_own_trail(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let other = app.tenant("cafe").await;
    let patch = json!({ "name": "Cafe Deux" });
    assert_eq!(
        app.patch("/api/v1/restaurant", &other.owner, patch).await.0,
        StatusCode::OK
    );

    for role in ["waiter", "chef", "cashier"] {
        let (_, token) = app.staff(&f.t, role).await;
        assert_error(
            &app.get("/api/v1/audit", &token).await,
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
        );
    }
    let guest = app.guest_token(&f.t1_code).await;
    assert_error(
        &app.get("/api/v1/audit", &guest).await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    let anonymous = app
        .call(reqwest::Method::GET, "/api/v1/audit", None, None)
        .await;
    assert_error(&anonymous, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");

    let (manager_id, manager) = app.staff(&f.t, "manager").await;
    let ours = trail(&app, &manager, "").await;
    let theirs = trail(&app, &other.owner, "").await;
    let actors = |entries: &[Value]| -> Vec<String> {
        entries
            .iter()
            .filter_map(|e| e["actor"].as_str().map(str::to_owned))
            .collect()
    };
    let other_owner = format!("user:{}", other.owner_id);
    assert!(actors(&ours).contains(&format!("user:{manager_id}")));
    assert!(!actors(&ours).contains(&other_owner), "{ours:?}");
    assert!(!ours.iter().any(|e| e["action"] == "restaurant.updated"));
    // The cafe's trail: its owner's login and rename, its own chain from 1.
    let actions: Vec<&Value> = theirs.iter().map(|e| &e["action"]).collect();
    assert_eq!(actions, ["login.succeeded", "restaurant.updated"]);
    assert!(actors(&theirs).iter().all(|a| *a == other_owner));
    assert_eq!(theirs[0]["seq"], 1);
    // Naming the other restaurant's actor finds nothing.
    let probe = trail(&app, &manager, &format!("actor={other_owner}")).await;
    assert!(probe.is_empty());

    for bad in [
        "action=login.maybe",
        "actor=bogus",
        "actor=user:1%00",
        "from=2027-01-02T00:00:00Z&to=2027-01-01T00:00:00Z",
        "from=yesterday",
        "limit=0",
        "limit=201",
        "colour=red",
    ] {
        assert_error(
            &app.get(&format!("/api/v1/audit?{bad}"), &manager).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        );
    }
}

/// `action`, `actor`, `from` and `to` combine; pages follow `seq`.
async fn filters_and_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("bistro").await; // login.succeeded at T0
                                        // Minutes apart: the owner's access token lives for 15.
    const STEP: i64 = 60_000;
    app.clock.advance_ms(STEP);
    for n in 0..5 {
        let (status, _) = app
            .login(
                "bistro",
                &format!("nobody{n}@bistro.test"),
                "wrong password",
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    app.clock.advance_ms(STEP);
    let patch = json!({ "name": "Renamed" });
    assert_eq!(
        app.patch("/api/v1/restaurant", &t.owner, patch).await.0,
        StatusCode::OK
    );

    // Pages of two, in chain order, until next_after is absent.
    let mut seqs = Vec::new();
    let mut after = 0;
    loop {
        let body = page(&app, &t.owner, &format!("limit=2&after={after}")).await;
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seqs.extend(items.iter().map(|e| e["seq"].as_i64().unwrap()));
        match body["next_after"].as_i64() {
            Some(next) => {
                assert_eq!(Some(next), seqs.last().copied());
                after = next;
            }
            None => break,
        }
    }
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6, 7]);

    let count = |entries: Vec<Value>| entries.len();
    let failed = trail(&app, &t.owner, "action=login.failed").await;
    assert_eq!(failed.len(), 5);
    assert!(failed
        .iter()
        .all(|e| e["at"] == Timestamp(T0 + STEP).to_rfc3339()));
    let first_two = page(&app, &t.owner, "action=login.failed&limit=2").await;
    assert_eq!(first_two["items"][1]["seq"], 3);
    assert_eq!(first_two["next_after"], 3);
    let owner = format!("actor=user:{}", t.owner_id);
    let by_owner: Vec<Value> = trail(&app, &t.owner, &owner)
        .await
        .into_iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(by_owner, ["login.succeeded", "restaurant.updated"]);
    let at = |ms: i64| Timestamp(ms).to_rfc3339();
    let window = format!("from={}&to={}", at(T0 + STEP), at(T0 + 2 * STEP));
    assert_eq!(
        count(trail(&app, &t.owner, &window).await),
        5,
        "from is inclusive, to is not"
    );
    let later = format!("from={}", at(T0 + STEP + 1));
    assert_eq!(count(trail(&app, &t.owner, &later).await), 1);
    let earlier = format!("to={}", at(T0 + STEP));
    assert_eq!(count(trail(&app, &t.owner, &earlier).await), 1);
    let none = format!("action=login.failed&{owner}");
    assert_eq!(count(trail(&app, &t.owner, &none).await), 0);
}

/// Runs `sql` on the hub's database; an error is the database's refusal.
async fn run_sql(db: &TestDb, sql: &str) -> Result<(), sqlx::Error> {
    match db.database_url() {
        Some(url) => {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            let done = sqlx::query(sql).execute(&pool).await.map(drop);
            pool.close().await;
            done
        }
        None => {
            let path = db.dir.path().join("restohub.db");
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            let done = sqlx::query(sql).execute(&pool).await.map(drop);
            pool.close().await;
            done
        }
    }
}

/// Runs `sql` on the hub's database behind its back, as someone with the
/// database's keys would: first dropping the triggers that keep the trail
/// append-only.
async fn tamper(db: &TestDb, sql: &str) {
    let drops: &[&str] = match db.database_url() {
        Some(_) => &["DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log"],
        None => &[
            "DROP TRIGGER IF EXISTS audit_log_no_update",
            "DROP TRIGGER IF EXISTS audit_log_no_delete",
        ],
    };
    for drop in drops {
        run_sql(db, drop).await.unwrap();
    }
    run_sql(db, sql).await.unwrap();
}

/// `restohub audit verify` on the test's database: (exit code, stdout, stderr).
async fn verify_cli(db: &TestDb) -> (Option<i32>, String, String) {
    let mut cmd = crate::cli::restohub(db.dir.path());
    if let Some(url) = db.database_url() {
        cmd.env("DATABASE_URL", url);
    }
    cmd.args(["audit", "verify"]);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code(), stdout, crate::cli::stderr(&out))
}

/// The verifier passes on a real database after activity in two
/// restaurants, and fails, naming the entry, when one is removed or altered
/// directly in the database.
async fn verify_names_the_first_broken_entry(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let other = app.tenant("cafe").await;
    app.login("bistro", "nobody@bistro.test", "wrong password")
        .await;
    let item = format!("/api/v1/menu/items/{}", f.wine);
    app.patch(&item, &f.t.owner, json!({ "price_cents": 900 }))
        .await;
    app.patch(&item, &f.t.owner, json!({ "stock": 3 })).await;
    app.patch(
        "/api/v1/restaurant",
        &other.owner,
        json!({ "name": "Cafe Deux" }),
    )
    .await;
    app.login("cafe", "nobody@cafe.test", "wrong password")
        .await;

    let (code, stdout, stderr) = verify_cli(&app.db).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("audit trail intact: 7 entries in 2 restaurant chain(s)"),
        "{stdout}"
    );
    // The database itself refuses to change or delete an entry.
    for sql in [
        "UPDATE audit_log SET reason = 'tidied up'",
        "DELETE FROM audit_log",
    ] {
        assert!(run_sql(&app.db, sql).await.is_err(), "{sql}");
    }

    // The cafe's middle entry removed.
    let sql = format!(
        "DELETE FROM audit_log WHERE restaurant_id = {} AND seq = 2",
        other.id
    );
    tamper(&app.db, &sql).await;
    let (code, _, stderr) = verify_cli(&app.db).await;
    assert_eq!(code, Some(2), "{stderr}");
    let named = format!("restaurant {}, audit entry 2: entry 2 is missing", other.id);
    assert!(stderr.contains(&named), "{stderr}");

    // The bistro's price change rewritten: it comes first (by restaurant).
    let price = only(&app, &f.t.owner, "menu.price_changed").await;
    let seq = price["seq"].as_i64().unwrap();
    let sql = format!(
        "UPDATE audit_log SET after_json = '{{\"price_cents\":1}}' WHERE restaurant_id = {} \
         AND seq = {seq}",
        f.t.id
    );
    tamper(&app.db, &sql).await;
    let (code, _, stderr) = verify_cli(&app.db).await;
    assert_eq!(code, Some(2), "{stderr}");
    let named = format!(
        "audit trail broken: restaurant {}, audit entry {seq}: menu.price_changed at",
        f.t.id
    );
    assert!(stderr.contains(&named), "{stderr}");
    assert!(stderr.contains("was altered"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| !l.is_empty()).count(),
        1,
        "{stderr}"
    );
}

/// Retention deletes the oldest entries; the chain still verifies from the
/// oldest kept one, and the pruned range is remembered, so deleting that
/// entry, or the newest, is still caught.
async fn pruned_chains_still_verify(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.tenant("bistro").await;
    app.login("bistro", "nobody@bistro.test", "wrong password")
        .await;
    app.clock.advance_ms(3 * 86_400_000);
    let (_, login) = app.login("bistro", "owner@bistro.test", PASSWORD).await;
    let owner = token_of(&login);
    app.patch("/api/v1/restaurant", &owner, json!({ "name": "Later" }))
        .await;
    app.login("bistro", "nobody@bistro.test", "wrong password")
        .await;
    // An instance keeping two days prunes the two old entries as it starts.
    let _pruning = app.sibling_with(&["--audit-retention-days", "2"]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.store.audit_heads().await.unwrap()[0].pruned_through == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never pruned");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let kept: Vec<i64> = trail(&app, &owner, "")
        .await
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(kept, [3, 4, 5]);
    let (code, stdout, stderr) = verify_cli(&app.db).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("3 entries in 1 restaurant chain(s)"),
        "{stdout}"
    );
    assert!(stdout.contains("pruned by retention"), "{stdout}");

    // The newest entry removed: the chain head still names it.
    tamper(&app.db, "DELETE FROM audit_log WHERE seq = 5").await;
    let (code, _, stderr) = verify_cli(&app.db).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("audit entry 5: entry 5 is missing"),
        "{stderr}"
    );
    // The oldest kept entry removed: retention only went up to 2.
    tamper(&app.db, "DELETE FROM audit_log WHERE seq = 3").await;
    let (code, _, stderr) = verify_cli(&app.db).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("audit entry 3: entry 3 is missing"),
        "{stderr}"
    );
}

/// Appends from two instances at once — the in-transaction path (price
/// changes) and the standalone one (failed logins) — still form one chain
/// per restaurant: every seq once, each linked to the one before.
async fn concurrent_appends_keep_one_chain(backend: Backend) {
    let app = TestApp::spawn_with(backend, &["--auth-rate-limit", "0"]).await;
    let sibling = app.sibling_with(&["--auth-rate-limit", "0"]).await;
    let f = floor(&app, "bistro").await;
    let owner = f.t.owner.clone();
    let item = format!("/api/v1/menu/items/{}", f.steak);
    let mut tasks = Vec::new();
    for (i, hub) in [&app, &sibling].into_iter().enumerate() {
        for task in 0..3 {
            let (base, http) = (hub.base.clone(), hub.http.clone());
            let (owner, item) = (owner.clone(), item.clone());
            tasks.push(tokio::spawn(async move {
                for n in 0..8 {
                    let price = 10_000 + i * 1000 + task * 100 + n;
                    let res = http
                        .patch(format!("{base}{item}"))
                        .bearer_auth(&owner)
                        .json(&json!({ "price_cents": price }))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), StatusCode::OK);
                    let email = format!("nobody-{i}-{task}-{n}@bistro.test");
                    let res = http
                        .post(format!("{base}/api/v1/auth/login"))
                        .json(&json!({ "restaurant": "bistro", "email": email, "password": "wrong password" }))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let entries = trail(&app, &owner, "").await;
    let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    for pair in entries.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
    }
    let of = |action: &str| entries.iter().filter(|e| e["action"] == action).count();
    assert_eq!((of("menu.price_changed"), of("login.failed")), (48, 48));
    let checked = restohub::app::audit::verify(&app.store)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(checked.entries, entries.len() as u64);
}

crate::both_backends!(
    money_and_stock_actions_are_audited,
    accounts_and_settings_are_audited,
    only_owners_and_managers_read_their_own_trail,
    filters_and_pages,
    verify_names_the_first_broken_entry,
    pruned_chains_still_verify,
    concurrent_appends_keep_one_chain,
);
