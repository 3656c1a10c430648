//! The kitchen display (`/kds`) and the expo (`/expo`) in a real browser:
//! orders placed over REST by the demo waiter reach a station's screen with
//! their modifiers and allergens; a cook bumps and recalls by tap and by
//! keyboard, and the hub agrees; the clocks colour by the hub's time; the
//! screen survives a cut connection and a move to another instance without
//! a reload; the expo sees every order's stations and rushes one to the top
//! of the kitchen display.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::{json, Value};

use super::{demo_hub, demo_token, Browser, Proxy, PATIENCE};
use crate::support::TestApp;

/// The demo restaurant as a test orders from it.
struct Demo {
    waiter: String,
    items: Vec<Value>,
    stations: HashMap<String, i64>,
    tables: Vec<i64>,
}

impl Demo {
    async fn read(app: &TestApp) -> Demo {
        let waiter = demo_token(app, "waiter").await;
        let (status, items) = app.get("/api/v1/menu/items?limit=200", &waiter).await;
        assert_eq!(status, 200, "{items}");
        let (status, stations) = app.get("/api/v1/stations?limit=200", &waiter).await;
        assert_eq!(status, 200, "{stations}");
        let (status, tables) = app.get("/api/v1/tables?limit=200", &waiter).await;
        assert_eq!(status, 200, "{tables}");
        Demo {
            waiter,
            items: items["items"].as_array().unwrap().clone(),
            stations: stations["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["name"].as_str().unwrap().to_owned(),
                        s["id"].as_i64().unwrap(),
                    )
                })
                .collect(),
            tables: tables["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_i64().unwrap())
                .collect(),
        }
    }

    fn item(&self, name: &str) -> i64 {
        self.find(name)["id"].as_i64().unwrap()
    }

    fn find(&self, name: &str) -> &Value {
        self.items
            .iter()
            .find(|i| i["name"] == name)
            .unwrap_or_else(|| panic!("no {name} on the demo menu"))
    }

    /// The id of an option of one of `item`'s modifier groups.
    fn option(&self, item: &str, option: &str) -> i64 {
        self.find(item)["modifier_groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["options"].as_array().unwrap())
            .find(|o| o["name"] == option)
            .unwrap_or_else(|| panic!("{item} has no option {option}"))["id"]
            .as_i64()
            .unwrap()
    }

    fn station(&self, name: &str) -> i64 {
        self.stations[name]
    }

    /// Places an order at table number `table` (0-based) as the waiter.
    async fn place(&self, app: &TestApp, table: usize, lines: Value) -> Value {
        let (status, order) = app
            .post(
                "/api/v1/orders",
                Some(&self.waiter),
                json!({
                    "idempotency_key": uuid::Uuid::new_v4().to_string(),
                    "table_id": self.tables[table],
                    "source": "dine_in",
                    "lines": lines,
                }),
            )
            .await;
        assert_eq!(status, 201, "{order}");
        order["order"].clone()
    }

    /// A plain order of grilled halloumi (a main, fired at once as course 1).
    async fn halloumi(&self, app: &TestApp, table: usize) -> i64 {
        let lines = json!([{"menu_item_id": self.item("Grilled halloumi"), "qty": 1, "course": 1}]);
        self.place(app, table, lines).await["id"].as_i64().unwrap()
    }
}

/// The status of an order's line as the hub has it.
async fn line_status(app: &TestApp, token: &str, order: i64, line: i64) -> String {
    let (status, body) = app.get(&format!("/api/v1/orders/{order}"), token).await;
    assert_eq!(status, 200, "{body}");
    body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == line)
        .unwrap_or_else(|| panic!("no line {line} in {body}"))["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn line_ids(order: &Value) -> Vec<i64> {
    order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect()
}

/// Presses keys one after another, as a bump bar (a USB keyboard) does.
async fn press(browser: &Browser, keys: &[char]) {
    let mut actions = KeyActions::new("bump-bar".into());
    for &key in keys {
        actions = actions
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
    }
    browser
        .client
        .perform_actions(actions)
        .await
        .expect("keys pressed");
}

/// The connection badge's state (`live`, `connecting`, `down`).
async fn badge_state(browser: &Browser) -> String {
    let value = browser
        .eval("const b = document.getElementById('connection'); return b ? (b.dataset.state || '') : '';")
        .await;
    value.as_str().unwrap_or_default().to_owned()
}

async fn wait_badge(browser: &Browser, state: &str, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if badge_state(browser).await == state {
            return started.elapsed();
        }
        if started.elapsed() > within {
            let text = browser.text("#connection").await;
            panic!("the badge did not turn {state} within {within:?}; it says {text:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A kitchen display for `station` (None: the whole kitchen), signed in as the chef.
async fn open_kds(base: &str, station: Option<i64>) -> Browser {
    let browser = Browser::open(1280, 800).await;
    let page = match station {
        Some(id) => format!("/kds?station={id}"),
        None => "/kds?station=all".to_owned(),
    };
    browser.sign_in(base, "chef", &page).await;
    browser.wait_for("#connection", "live").await;
    browser
}

/// The order ids of the tickets on the board, top to bottom.
async fn board(browser: &Browser) -> Vec<i64> {
    let value = browser
        .eval("return [...document.querySelectorAll('#tickets .ticket')].map(t => Number(t.dataset.order));")
        .await;
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_grill_ticket_is_bumped_by_tap_and_by_keyboard_and_recalled() {
    let (app, _) = demo_hub().await;
    let demo = Demo::read(&app).await;
    let grill = demo.station("Grill");
    let browser = open_kds(&app.base, Some(grill)).await;
    browser.wait_for("h1", "Grill").await;
    browser.wait_for("#keys", "Enter").await;

    let lines = json!([
        {"menu_item_id": demo.item("Grilled halloumi"), "qty": 2, "course": 1, "note": "extra crispy", "modifiers": ["no salt"]},
        {"menu_item_id": demo.item("Cheeseburger"), "qty": 1, "course": 1, "choices": [
            demo.option("Cheeseburger", "Medium rare"), demo.option("Cheeseburger", "Bacon")]},
        {"menu_item_id": demo.item("Burrata"), "qty": 1},
    ]);
    let order = demo.place(&app, 0, lines).await;
    let id = order["id"].as_i64().unwrap();
    let lines = line_ids(&order);
    let (halloumi, burger, burrata) = (lines[0], lines[1], lines[2]);
    let card = format!("#tickets .ticket[data-order='{id}']");

    // The grill's ticket: its lines with modifiers, choices, the note and
    // allergens, the other station named, and not the cold kitchen's line.
    let text = browser.wait_for(&card, "Grilled halloumi").await;
    assert!(text.contains("T1"), "{text}");
    assert!(text.contains("Cheeseburger"), "{text}");
    assert!(!text.contains("Burrata"), "another station's line: {text}");
    assert!(text.contains("also at Cold kitchen"), "{text}");
    browser
        .wait_for(
            &format!("{card} .line[data-line='{halloumi}'] .mod"),
            "no salt",
        )
        .await;
    browser
        .wait_for(
            &format!("{card} .line[data-line='{halloumi}'] .line-note"),
            "extra crispy",
        )
        .await;
    browser
        .wait_for(
            &format!("{card} .line[data-line='{halloumi}'] .allergens"),
            "MILK",
        )
        .await;
    let burger_text = browser
        .wait_for(&format!("{card} .line[data-line='{burger}']"), "Bacon")
        .await;
    assert!(burger_text.contains("Medium rare"), "{burger_text}");
    for allergen in ["GLUTEN", "MILK", "SESAME", "MUSTARD"] {
        assert!(burger_text.contains(allergen), "{allergen}: {burger_text}");
    }
    // The hub hears that it is on screen (proof of display).
    let placed_seq = order["placed_seq"].as_u64().unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, screens) = app
            .get(&format!("/api/v1/stations/{grill}/screens"), &demo.waiter)
            .await;
        assert_eq!(status, 200, "{screens}");
        let seen = screens.as_array().unwrap().iter().any(|s| {
            s["screen"]
                .as_str()
                .unwrap()
                .starts_with(&format!("kds-{grill}-"))
                && s["seen_seq"].as_u64().unwrap() >= placed_seq
        });
        if seen {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the screen never acknowledged: {screens}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Bump by tap: a tap on a line moves it one step.
    let line_css = |line: i64, status: &str| {
        format!("{card} .line[data-line='{line}'][data-status='{status}']")
    };
    browser
        .tap(&format!("{card} .line[data-line='{halloumi}'] .line-main"))
        .await;
    browser
        .wait_count(&line_css(halloumi, "preparing"), 1)
        .await;
    assert_eq!(
        line_status(&app, &demo.waiter, id, halloumi).await,
        "preparing"
    );
    browser
        .tap(&format!("{card} .line[data-line='{halloumi}'] .line-main"))
        .await;
    browser.wait_count(&line_css(halloumi, "ready"), 1).await;
    assert_eq!(line_status(&app, &demo.waiter, id, halloumi).await, "ready");
    assert_eq!(line_status(&app, &demo.waiter, id, burrata).await, "queued");

    // Bump by keyboard: ticket 1, Enter starts what is to do, Enter again
    // makes it ready; the finished ticket leaves the board for the recall list.
    press(&browser, &['1', Key::Enter.into()]).await;
    browser.wait_count(&line_css(burger, "preparing"), 1).await;
    assert_eq!(
        line_status(&app, &demo.waiter, id, burger).await,
        "preparing"
    );
    press(&browser, &[' ']).await;
    browser
        .wait_count(&format!("#done .done-item[data-order='{id}']"), 1)
        .await;
    browser.wait_count(&card, 0).await;
    assert_eq!(line_status(&app, &demo.waiter, id, burger).await, "ready");
    assert_eq!(line_status(&app, &demo.waiter, id, halloumi).await, "ready");

    // Recall by tap: the ticket comes back, its lines cooking again.
    browser
        .tap(&format!("#done .done-item[data-order='{id}'] .recall"))
        .await;
    browser.wait_count(&line_css(burger, "preparing"), 1).await;
    browser
        .wait_count(&line_css(halloumi, "preparing"), 1)
        .await;
    assert_eq!(
        line_status(&app, &demo.waiter, id, halloumi).await,
        "preparing"
    );
    browser.screenshot("kds-recalled").await;

    // Recall by keyboard: ready again, then R brings back the last ticket done.
    press(&browser, &['1', Key::Enter.into()]).await;
    browser
        .wait_count(&format!("#done .done-item[data-order='{id}']"), 1)
        .await;
    assert_eq!(line_status(&app, &demo.waiter, id, burger).await, "ready");
    press(&browser, &['r']).await;
    browser.wait_count(&line_css(burger, "preparing"), 1).await;
    assert_eq!(
        line_status(&app, &demo.waiter, id, burger).await,
        "preparing"
    );
    // The all-day counts: what the grill has to make.
    browser.wait_for("#all-day", "Cheeseburger").await;
    browser.close().await;
}

#[tokio::test]
async fn tickets_are_coloured_by_the_hubs_clock_and_thresholds() {
    let (app, _) = demo_hub().await;
    let demo = Demo::read(&app).await;
    let grill = demo.station("Grill");
    let browser = open_kds(&app.base, Some(grill)).await;
    // The first ticket is 9 minutes old (late after 8), the second 5 (caution
    // after 5), two more are new: by the hub's clock, not the browser's.
    let late = demo.halloumi(&app, 0).await;
    app.clock.advance_ms(4 * 60_000);
    let lines = json!([
        {"menu_item_id": demo.item("Ribeye steak"), "qty": 2, "course": 1, "choices": [demo.option("Ribeye steak", "Rare")]},
        {"menu_item_id": demo.item("Grilled halloumi"), "qty": 1, "course": 2},
    ]);
    let caution = demo.place(&app, 1, lines).await["id"].as_i64().unwrap();
    app.clock.advance_ms(5 * 60_000 + 1_000);
    let lines = json!([
        {"menu_item_id": demo.item("Cheeseburger"), "qty": 2, "course": 1, "note": "no pickles", "choices": [
            demo.option("Cheeseburger", "Well done"), demo.option("Cheeseburger", "Extra cheese")]},
        {"menu_item_id": demo.item("Tomato soup"), "qty": 1},
    ]);
    let fresh = demo.place(&app, 2, lines).await["id"].as_i64().unwrap();
    let another = demo.halloumi(&app, 3).await;

    for id in [late, caution, fresh, another] {
        browser
            .wait_count(&format!("#tickets .ticket[data-order='{id}']"), 1)
            .await;
    }
    browser
        .wait_count(&format!(".ticket.late[data-order='{late}']"), 1)
        .await;
    browser
        .wait_count(&format!(".ticket.caution[data-order='{caution}']"), 1)
        .await;
    browser
        .wait_count(&format!(".ticket.ok[data-order='{fresh}']"), 1)
        .await;
    // Oldest first; the timer counts from the hub's clock.
    assert_eq!(board(&browser).await, vec![late, caution, fresh, another]);
    let timer = browser
        .text(&format!(".ticket[data-order='{late}'] .timer"))
        .await;
    assert!(timer.starts_with("9:"), "the late ticket's clock: {timer}");
    // The held course shows as held.
    browser
        .wait_for(
            &format!(".ticket[data-order='{caution}'] .course.held"),
            "HELD",
        )
        .await;
    browser.wait_for("#all-day", "Ribeye steak").await;
    browser.screenshot("kds").await;

    // On a phone the same screen is one column.
    browser
        .client
        .set_window_size(390, 844)
        .await
        .expect("phone size");
    browser
        .wait_count(&format!(".ticket[data-order='{late}']"), 1)
        .await;
    browser.screenshot("kds-phone").await;
    browser.close().await;
}

#[tokio::test]
async fn a_kitchen_screen_cut_off_for_ten_seconds_shows_every_missed_ticket_without_a_reload() {
    let (app, _) = demo_hub().await;
    let demo = Demo::read(&app).await;
    let grill = demo.station("Grill");
    let proxy = Proxy::start(app.addr).await;
    let browser = open_kds(&proxy.base, Some(grill)).await;
    let first = demo.halloumi(&app, 0).await;
    browser
        .wait_count(&format!(".ticket[data-order='{first}']"), 1)
        .await;
    browser.eval("window.__noReload = 1; return 1;").await;

    proxy.cut();
    let cut_at = Instant::now();
    let took = wait_badge(&browser, "down", Duration::from_secs(2)).await;
    let said = browser.text("#connection").await;
    assert!(said.contains("offline"), "{said} (after {took:?})");
    browser.wait_for("#offline", "OFFLINE").await;
    let mut placed = Vec::new();
    for table in 1..=5 {
        placed.push(demo.halloumi(&app, table).await);
    }
    browser.screenshot("kds-offline").await;
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(cut_at.elapsed())).await;
    // Still said in red while it cannot reach the hub.
    assert_eq!(badge_state(&browser).await, "down");
    proxy.restore();

    wait_badge(&browser, "live", PATIENCE).await;
    for id in &placed {
        browser
            .wait_count(&format!("#tickets .ticket[data-order='{id}']"), 1)
            .await;
    }
    browser.wait_count("#tickets .ticket", 6).await;
    assert_eq!(
        browser.eval("return window.__noReload;").await,
        json!(1),
        "the page was reloaded"
    );
    // The new tickets rang.
    let beeps = browser
        .eval("return Number(document.getElementById('mute').dataset.beeps);")
        .await;
    assert!(beeps.as_i64().unwrap() >= 1, "no sound for the new tickets");
    browser.close().await;
}

#[tokio::test]
async fn a_kitchen_screen_follows_a_move_to_another_instance() {
    let (app, _) = demo_hub().await;
    let demo = Demo::read(&app).await;
    let grill = demo.station("Grill");
    let proxy = Proxy::start(app.addr).await;
    let browser = open_kds(&proxy.base, Some(grill)).await;
    let before = demo.halloumi(&app, 0).await;
    browser
        .wait_count(&format!(".ticket[data-order='{before}']"), 1)
        .await;
    browser.eval("window.__noReload = 1; return 1;").await;

    let sibling = app.sibling().await;
    proxy.point_at(sibling.addr);
    wait_badge(&browser, "down", Duration::from_secs(2)).await;
    wait_badge(&browser, "live", PATIENCE).await;
    // Placed on either instance, they reach the screen on the other one.
    let on_first = demo.halloumi(&app, 1).await;
    let on_sibling = demo.halloumi(&sibling, 2).await;
    for id in [before, on_first, on_sibling] {
        browser
            .wait_count(&format!("#tickets .ticket[data-order='{id}']"), 1)
            .await;
    }
    // And a bump from the moved screen reaches the hub.
    let (_, order) = app
        .get(&format!("/api/v1/orders/{on_sibling}"), &demo.waiter)
        .await;
    let line = line_ids(&order)[0];
    browser
        .tap(&format!(".ticket[data-order='{on_sibling}'] .line-main"))
        .await;
    browser
        .wait_count(
            &format!(".line[data-line='{line}'][data-status='preparing']"),
            1,
        )
        .await;
    assert_eq!(
        line_status(&app, &demo.waiter, on_sibling, line).await,
        "preparing"
    );
    assert_eq!(browser.eval("return window.__noReload;").await, json!(1));
    browser.close().await;
}

#[tokio::test]
async fn the_expo_sees_each_orders_stations_fires_rushes_and_serves() {
    let (app, _) = demo_hub().await;
    let demo = Demo::read(&app).await;
    let grill = demo.station("Grill");
    let kds = open_kds(&app.base, Some(grill)).await;
    let expo = Browser::open(1280, 800).await;
    expo.sign_in(&app.base, "manager", "/expo").await;
    expo.wait_for("#connection", "live").await;

    let older = demo.halloumi(&app, 0).await;
    let lines = json!([
        {"menu_item_id": demo.item("Cheeseburger"), "qty": 1, "course": 1, "choices": [demo.option("Cheeseburger", "Medium")]},
        {"menu_item_id": demo.item("Burrata"), "qty": 1},
        {"menu_item_id": demo.item("Grilled halloumi"), "qty": 1, "course": 2},
    ]);
    let order = demo.place(&app, 4, lines).await;
    let id = order["id"].as_i64().unwrap();
    let held = line_ids(&order)[2];
    let card = format!("#orders .order[data-order='{id}']");

    // Which stations hold it: the grill and the cold kitchen, both cooking.
    let text = expo.wait_for(&card, "Cheeseburger").await;
    assert!(text.contains("T5"), "{text}");
    expo.wait_for(&format!("{card} .station.holding"), "Grill")
        .await;
    expo.wait_for(&format!("{card} .stations"), "Cold kitchen")
        .await;
    expo.wait_for(&format!("{card} .course.held"), "HELD").await;

    // On the grill it is second (newer), until the expo rushes it.
    kds.wait_count(&format!(".ticket[data-order='{id}']"), 1)
        .await;
    assert_eq!(board(&kds).await, vec![older, id]);
    expo.tap(&format!("{card} .rush-toggle")).await;
    kds.wait_for(&format!(".ticket[data-order='{id}']"), "RUSH")
        .await;
    assert_eq!(board(&kds).await, vec![id, older]);
    let (_, read) = app.get(&format!("/api/v1/orders/{id}"), &demo.waiter).await;
    assert_eq!(read["rush"], true, "{read}");
    expo.wait_for(&format!("{card} .order-head"), "RUSH").await;

    // The held course is fired from the expo: the grill's line is no longer held.
    kds.wait_count(&format!(".line[data-line='{held}'][data-status='held']"), 1)
        .await;
    expo.tap(&format!("{card} .fire")).await;
    kds.wait_count(
        &format!(".line[data-line='{held}'][data-status='queued']"),
        1,
    )
    .await;

    // Nine minutes on by the hub's clock: both tickets are late, and the
    // cold kitchen has had open tickets with no screen for longer than 10 s.
    app.clock.advance_ms(9 * 60_000);
    expo.wait_for("#alerts", "LATE: T5 at Grill").await;
    // The hub counts a station's unattended time by its clock from the
    // first sweep (once a second of real time) that found it so: the clock
    // moves on 11 s at a time until a sweep has seen both sides of 10 s.
    let deadline = Instant::now() + PATIENCE;
    loop {
        app.clock.advance_ms(11_000);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let alerts = expo.text("#alerts").await;
        if alerts.contains("Cold kitchen: no screen is watching") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no unattended alert for the cold kitchen: {alerts}"
        );
    }
    kds.wait_count(&format!(".ticket.late[data-order='{id}']"), 1)
        .await;

    // The grill finishes the older ticket; the expo has it ready for pickup
    // and serves it, and it leaves both screens.
    kds.tap(&format!(".ticket[data-order='{older}'] .bump"))
        .await;
    kds.wait_for(&format!(".ticket[data-order='{older}'] .bump"), "All ready")
        .await;
    kds.tap(&format!(".ticket[data-order='{older}'] .bump"))
        .await;
    expo.wait_for(
        &format!("#pickup .pickup-item[data-order='{older}']"),
        "ALL READY",
    )
    .await;
    expo.wait_for("#pickup", "T1").await;
    expo.wait_count("#toasts .toast", 0).await;
    expo.screenshot("expo").await;
    expo.tap(&format!(
        "#pickup .pickup-item[data-order='{older}'] .serve"
    ))
    .await;
    expo.wait_count(&format!("#orders .order[data-order='{older}']"), 0)
        .await;
    expo.client
        .set_window_size(390, 844)
        .await
        .expect("phone size");
    expo.wait_count(&format!("#orders .order[data-order='{id}']"), 1)
        .await;
    expo.screenshot("expo-phone").await;
    kds.wait_count(&format!("#done .done-item[data-order='{older}']"), 0)
        .await;
    let (_, read) = app
        .get(&format!("/api/v1/orders/{older}"), &demo.waiter)
        .await;
    assert_eq!(read["status"], "served", "{read}");
    kds.close().await;
    expo.close().await;
}

#[tokio::test]
async fn the_whole_kitchen_screen_shows_every_station() {
    let (app, _) = demo_hub().await;
    let demo = Demo::read(&app).await;
    let browser = open_kds(&app.base, None).await;
    browser.wait_for("h1", "All stations").await;
    let lines = json!([
        {"menu_item_id": demo.item("Cheeseburger"), "qty": 1, "course": 1, "choices": [demo.option("Cheeseburger", "Rare")]},
        {"menu_item_id": demo.item("Burrata"), "qty": 2},
        {"menu_item_id": demo.item("Espresso"), "qty": 1, "course": 1, "choices": [demo.option("Espresso", "Oat milk")]},
    ]);
    let order = demo.place(&app, 5, lines).await;
    let id = order["id"].as_i64().unwrap();
    let burrata = line_ids(&order)[1];
    let card = format!("#tickets .ticket[data-order='{id}']");
    let text = browser.wait_for(&card, "Burrata").await;
    for what in [
        "Cheeseburger",
        "Espresso",
        "Oat milk",
        "T6",
        "Cold kitchen",
        "Bar",
    ] {
        assert!(text.contains(what), "{what}: {text}");
    }
    browser
        .tap(&format!("{card} .line[data-line='{burrata}'] .line-main"))
        .await;
    browser
        .wait_count(
            &format!("{card} .line[data-line='{burrata}'][data-status='preparing']"),
            1,
        )
        .await;
    assert_eq!(
        line_status(&app, &demo.waiter, id, burrata).await,
        "preparing"
    );
    // The all-day counts of every station, by station.
    let all_day = browser.wait_for("#all-day", "Cold kitchen").await;
    for what in ["Grill", "Bar", "Burrata", "Espresso"] {
        assert!(all_day.contains(what), "{what}: {all_day}");
    }
    browser.screenshot("kds-kitchen").await;
    browser.close().await;
}
