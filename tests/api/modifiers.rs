//! The modifier catalogue and allergens over real sockets, on both
//! backends: who may configure groups and options and what they must be,
//! the menu showing them, lines choosing options (prices add, choices and
//! allergens recorded on the line, the ticket and the kitchen snapshot, the
//! check adds up), every wrong choice refused on its field with nothing
//! changed, retries, and guests.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::orders::{floor, order, Floor};
use crate::support::*;
use crate::ws_client::{error_code, WsClient};

/// The burger (1500, stock 20) with allergens gluten and milk, a required
/// doneness (one of rare, medium, well done) and optional extras (up to 2
/// of bacon +250 with no allergen, cheese +150 with milk, egg +120 with
/// eggs, no bun -100).
struct Burger {
    f: Floor,
    doneness: Value,
    extras: Value,
}

impl Burger {
    fn option(&self, name: &str) -> i64 {
        [&self.doneness, &self.extras]
            .iter()
            .flat_map(|g| g["options"].as_array().unwrap())
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("no option {name}"))["id"]
            .as_i64()
            .unwrap()
    }
}

fn group_body(name: &str, min: i64, max: i64, options: Value) -> Value {
    json!({ "name": name, "min_choices": min, "max_choices": max, "options": options })
}

async fn burger(app: &TestApp, slug: &str) -> Burger {
    let f = floor(app, slug).await;
    let owner = &f.t.owner;
    let (status, item) = app
        .patch(
            &format!("/api/v1/menu/items/{}", f.burger),
            owner,
            json!({ "allergens": ["milk", "gluten"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{item}");
    assert_eq!(item["allergens"], json!(["gluten", "milk"]));
    let groups = format!("/api/v1/menu/items/{}/modifier-groups", f.burger);
    let doneness = group_body(
        "Doneness",
        1,
        1,
        json!([{ "name": "Rare" }, { "name": "Medium", "position": 1 }, { "name": "Well done", "position": 2 }]),
    );
    let (status, doneness) = app.post(&groups, Some(owner), doneness).await;
    assert_eq!(status, StatusCode::CREATED, "{doneness}");
    let extras = group_body(
        "Extras",
        0,
        2,
        json!([
            { "name": "Bacon", "price_delta_cents": 250 },
            { "name": "Cheese", "price_delta_cents": 150, "allergens": ["milk"], "position": 1 },
            { "name": "Egg", "price_delta_cents": 120, "allergens": ["eggs"], "position": 2 },
            { "name": "No bun", "price_delta_cents": -100, "position": 3 }
        ]),
    );
    let (status, extras) = app.post(&groups, Some(owner), extras).await;
    assert_eq!(status, StatusCode::CREATED, "{extras}");
    Burger {
        f,
        doneness,
        extras,
    }
}

fn line(item: i64, qty: i64, choices: &[i64]) -> Value {
    json!({ "menu_item_id": item, "qty": qty, "choices": choices })
}

async fn the_catalogue_is_configured_by_managers_and_shown_in_the_menu(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let b = burger(&app, "bistro").await;
    let (f, owner) = (&b.f, &b.f.t.owner);
    assert_eq!(b.doneness["required"], true);
    assert_eq!(b.extras["required"], false);
    assert_eq!(b.extras["options"][1]["allergens"], json!(["milk"]));
    assert_eq!(b.extras["options"][3]["price_delta_cents"], -100);

    // The menu reads carry the groups in display order, for everyone.
    let guest = app.guest_token(&f.t1_code).await;
    let (_, item) = app
        .get(&format!("/api/v1/menu/items/{}", f.burger), &guest)
        .await;
    let names: Vec<&Value> = item["modifier_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| &g["name"])
        .collect();
    assert_eq!(names, ["Doneness", "Extras"]);
    assert_eq!(
        item["modifier_groups"][0]["options"][2]["name"],
        "Well done"
    );
    let (_, page) = app.get("/api/v1/menu/items", &guest).await;
    let listed = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == f.burger)
        .unwrap()
        .clone();
    assert_eq!(listed, item);
    let mut ws = WsClient::guest(&app, &f.t1_code).await;
    let menu = ws.command(json!({ "type": "menu.snapshot" })).await;
    let snap = menu["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == f.burger)
        .unwrap()
        .clone();
    assert_eq!(snap, item);
    let steak = menu["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == f.steak)
        .unwrap()
        .clone();
    assert_eq!(
        (&steak["modifier_groups"], &steak["allergens"]),
        (&json!([]), &json!([]))
    );

    // Patch a group and an option; add and delete options.
    let gid = b.extras["id"].as_i64().unwrap();
    let (status, g) = app
        .patch(
            &format!("/api/v1/menu/modifier-groups/{gid}"),
            owner,
            json!({ "max_choices": 3, "name": " Add-ons " }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{g}");
    assert_eq!(
        (&g["name"], &g["max_choices"]),
        (&json!("Add-ons"), &json!(3))
    );
    let bacon = b.option("Bacon");
    let (status, g) = app
        .patch(
            &format!("/api/v1/menu/modifier-options/{bacon}"),
            owner,
            json!({ "price_delta_cents": 300, "allergens": ["sulphites"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{g}");
    assert_eq!(g["options"][0]["price_delta_cents"], 300);
    assert_eq!(g["options"][0]["allergens"], json!(["sulphites"]));
    // A delta is a price: its change is in the audit trail (a rename is not).
    let (_, trail) = app
        .get("/api/v1/audit?action=menu.price_changed", owner)
        .await;
    let entries = trail["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{trail}");
    assert_eq!(entries[0]["target"], format!("modifier_option:{bacon}"));
    assert_eq!(entries[0]["before"], json!({ "price_delta_cents": 250 }));
    assert_eq!(entries[0]["after"], json!({ "price_delta_cents": 300 }));
    let (status, g) = app
        .post(
            &format!("/api/v1/menu/modifier-groups/{gid}/options"),
            Some(owner),
            json!({ "name": "Onions", "position": 9 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{g}");
    assert_eq!(g["options"].as_array().unwrap().len(), 5);
    let onions = g["options"][4]["id"].as_i64().unwrap();
    let gone = app
        .delete(&format!("/api/v1/menu/modifier-options/{onions}"), owner)
        .await;
    assert_eq!(gone.0, StatusCode::NO_CONTENT, "{}", gone.1);
    assert_error(
        &app.delete(&format!("/api/v1/menu/modifier-options/{onions}"), owner)
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );

    // A manager may configure; waiters, chefs and guests may not.
    let (_, manager) = app.staff(&f.t, "manager").await;
    let (status, _) = app
        .patch(
            &format!("/api/v1/menu/modifier-groups/{gid}"),
            &manager,
            json!({ "position": 4 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let groups = format!("/api/v1/menu/items/{}/modifier-groups", f.steak);
    let body = group_body("Sauce", 0, 1, json!([{ "name": "Pepper" }]));
    for token in [&waiter, &chef, &guest] {
        assert_error(
            &app.post(&groups, Some(token), body.clone()).await,
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
        );
        assert_error(
            &app.delete(&format!("/api/v1/menu/modifier-groups/{gid}"), token)
                .await,
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
        );
    }

    // Another restaurant's owner sees none of it and changes nothing.
    let other = app.tenant("other").await;
    assert_error(
        &app.post(&groups, Some(&other.owner), body.clone()).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    for (path, patch) in [
        (
            format!("/api/v1/menu/modifier-groups/{gid}"),
            json!({ "name": "Mine" }),
        ),
        (
            format!("/api/v1/menu/modifier-options/{bacon}"),
            json!({ "name": "Mine" }),
        ),
    ] {
        assert_error(
            &app.patch(&path, &other.owner, patch).await,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        );
        assert_error(
            &app.delete(&path, &other.owner).await,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        );
    }
    assert_error(
        &app.post(
            &format!("/api/v1/menu/modifier-groups/{gid}/options"),
            Some(&other.owner),
            json!({ "name": "Mine" }),
        )
        .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );

    // Deleting the item's groups: the item is plain again.
    for g in [&b.doneness, &b.extras] {
        let path = format!("/api/v1/menu/modifier-groups/{}", g["id"]);
        assert_eq!(app.delete(&path, owner).await.0, StatusCode::NO_CONTENT);
    }
    let (_, item) = app
        .get(&format!("/api/v1/menu/items/{}", f.burger), owner)
        .await;
    assert_eq!(item["modifier_groups"], json!([]));
}

#[track_caller]
fn assert_field(reply: &(StatusCode, Value), field: &str, code: &str) {
    assert_error(reply, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert_eq!(
        reply.1["error"]["details"]["fields"][field][0]["code"], code,
        "{}",
        reply.1
    );
}

async fn a_bad_catalogue_is_refused_on_its_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let b = burger(&app, "bistro").await;
    let owner = &b.f.t.owner;
    let groups = format!("/api/v1/menu/items/{}/modifier-groups", b.f.steak);
    let one = json!([{ "name": "A" }]);
    let cases = [
        (
            group_body("Sauce", 2, 1, json!([{ "name": "A" }, { "name": "B" }])),
            "min_choices",
            "range",
        ),
        (
            group_body("Sauce", 2, 2, one.clone()),
            "min_choices",
            "range",
        ),
        (
            group_body("Sauce", 0, 0, one.clone()),
            "max_choices",
            "range",
        ),
        (group_body(" ", 0, 1, one.clone()), "name", "blank"),
        (group_body("Sauce", 0, 1, json!([])), "options", "length"),
        (
            group_body(
                "Sauce",
                0,
                1,
                json!([{ "name": "A", "price_delta_cents": 1_000_001 }]),
            ),
            "options[0].price_delta_cents",
            "range",
        ),
        (
            group_body(
                "Sauce",
                0,
                1,
                json!([{ "name": "A", "allergens": ["pollen"] }]),
            ),
            "options[0].allergens",
            "shape",
        ),
    ];
    for (body, field, code) in cases {
        let reply = app.post(&groups, Some(owner), body.clone()).await;
        assert_error(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        );
        let fields = reply.1["error"]["details"]["fields"].as_object().unwrap();
        assert!(
            fields.keys().any(|k| k.starts_with(field)),
            "{body} -> {}",
            reply.1
        );
        if code != "shape" {
            assert_field(&reply, field, code);
        }
    }
    // Two options of one name, or a second group of the same name.
    let twice = group_body("Sauce", 0, 1, json!([{ "name": "A" }, { "name": "A" }]));
    assert_error(
        &app.post(&groups, Some(owner), twice).await,
        StatusCode::CONFLICT,
        "CONFLICT",
    );
    let burger_groups = format!("/api/v1/menu/items/{}/modifier-groups", b.f.burger);
    assert_error(
        &app.post(
            &burger_groups,
            Some(owner),
            group_body("Extras", 0, 1, one.clone()),
        )
        .await,
        StatusCode::CONFLICT,
        "CONFLICT",
    );
    let unknown = format!("/api/v1/menu/items/{}/modifier-groups", b.f.steak + 1000);
    assert_error(
        &app.post(&unknown, Some(owner), group_body("Sauce", 0, 1, one))
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    // A patch cannot make the group unsatisfiable; the last option required stays.
    let doneness = b.doneness["id"].as_i64().unwrap();
    let path = format!("/api/v1/menu/modifier-groups/{doneness}");
    assert_field(
        &app.patch(&path, owner, json!({ "min_choices": 4, "max_choices": 4 }))
            .await,
        "min_choices",
        "range",
    );
    assert_field(
        &app.patch(&path, owner, json!({ "min_choices": 2 })).await,
        "min_choices",
        "range",
    );
    assert_field(
        &app.patch(
            &format!("/api/v1/menu/modifier-options/{}", b.option("Rare")),
            owner,
            json!({ "price_delta_cents": -1_000_001 }),
        )
        .await,
        "price_delta_cents",
        "range",
    );
    let (_, g) = app
        .patch(&path, owner, json!({ "min_choices": 3, "max_choices": 3 }))
        .await;
    assert_eq!(g["min_choices"], 3);
    assert_error(
        &app.delete(
            &format!("/api/v1/menu/modifier-options/{}", b.option("Rare")),
            owner,
        )
        .await,
        StatusCode::CONFLICT,
        "CONFLICT",
    );
    // Nothing above changed the steak.
    let (_, steak) = app
        .get(&format!("/api/v1/menu/items/{}", b.f.steak), owner)
        .await;
    assert_eq!(steak["modifier_groups"], json!([]));
}

async fn choices_add_up_on_the_line_the_ticket_and_the_check(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let b = burger(&app, "bistro").await;
    let f = &b.f;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let (mut kitchen, _) = WsClient::join(&app, &chef).await;
    kitchen
        .subscribe(&format!("kitchen:{}:{}", f.t.id, f.grill))
        .await;
    let mut waiter = WsClient::staff(&app, &f.t, "waiter").await;

    let (medium, cheese, egg, no_bun) = (
        b.option("Medium"),
        b.option("Cheese"),
        b.option("Egg"),
        b.option("No bun"),
    );
    let lines = json!([
        line(f.burger, 2, &[egg, medium, cheese]),
        line(f.burger, 1, &[b.option("Rare"), no_bun]),
        line(f.burger, 1, &[cheese, egg, medium]),
        { "menu_item_id": f.steak, "qty": 1, "modifiers": ["no salt"] }
    ]);
    let placed = waiter.command(order("mods", f.t1, lines.clone())).await;
    assert_eq!(placed["type"], "ack", "{placed}");
    let o = placed["order"].clone();
    let got = o["lines"].as_array().unwrap();
    // The same choices in another order are the same line: merged.
    assert_eq!(got.len(), 3, "{o}");
    assert_eq!(got[0]["qty"], 3);
    assert_eq!(got[0]["unit_price_cents"], 1500 + 150 + 120);
    assert_eq!(
        got[0]["choices"],
        json!([
            { "group_id": b.doneness["id"], "group": "Doneness", "option_id": medium, "name": "Medium", "price_delta_cents": 0 },
            { "group_id": b.extras["id"], "group": "Extras", "option_id": cheese, "name": "Cheese", "price_delta_cents": 150 },
            { "group_id": b.extras["id"], "group": "Extras", "option_id": egg, "name": "Egg", "price_delta_cents": 120 }
        ])
    );
    assert_eq!(got[0]["allergens"], json!(["gluten", "eggs", "milk"]));
    assert_eq!(got[1]["unit_price_cents"], 1400);
    assert_eq!(got[1]["allergens"], json!(["gluten", "milk"]));
    // A plain item: no choices, no allergens, free text as before.
    assert_eq!(got[2].get("choices"), None);
    assert_eq!(got[2].get("allergens"), None);
    assert_eq!(got[2]["modifiers"], json!(["no salt"]));
    let total = 3 * 1770 + 1400 + 2500;
    assert_eq!(o["total_cents"], total);

    // The ticket and the kitchen snapshot flag the same.
    let ticket = kitchen
        .next_matching(|e| e["kind"] == "ticket.placed")
        .await;
    assert_eq!(ticket["data"]["lines"][0], got[0]);
    let snap = kitchen
        .command(json!({ "type": "kitchen.snapshot", "station_id": f.grill }))
        .await;
    assert_eq!(snap["tickets"][0]["order"]["lines"][0], got[0]);
    // Read back, the line is as it was ordered even after the menu changes.
    let bacon = b.option("Bacon");
    app.patch(
        &format!("/api/v1/menu/modifier-options/{cheese}"),
        &f.t.owner,
        json!({ "price_delta_cents": 999, "name": "Gouda" }),
    )
    .await;
    let (_, read) = app
        .get(&format!("/api/v1/orders/{}", o["id"]), &f.t.owner)
        .await;
    assert_eq!(read["lines"], o["lines"]);
    let _ = bacon;

    // The retry returns the original order; stock was taken once.
    let again = waiter.command(order("mods", f.t1, lines)).await;
    assert_eq!(again["duplicate"], true, "{again}");
    assert_eq!(again["order"], o);
    let (_, burger) = app
        .get(&format!("/api/v1/menu/items/{}", f.burger), &f.t.owner)
        .await;
    assert_eq!(burger["stock"], 20 - 4);

    // The check adds the deltas in.
    let (status, check) = app
        .post(
            "/api/v1/checks",
            Some(&f.t.owner),
            json!({ "table_id": f.t1 }),
        )
        .await;
    assert!(status.is_success(), "{check}");
    assert_eq!(check["subtotal_cents"], total, "{check}");
    assert_eq!(check["total_cents"], total, "{check}");
}

async fn wrong_choices_are_refused_on_their_field_and_change_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let b = burger(&app, "bistro").await;
    let f = &b.f;
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let mut ws = WsClient::staff(&app, &f.t, "waiter").await;
    let (rare, medium, bacon, cheese, egg) = (
        b.option("Rare"),
        b.option("Medium"),
        b.option("Bacon"),
        b.option("Cheese"),
        b.option("Egg"),
    );
    // Another item's option, and another restaurant's.
    let other = burger(&app, "other").await;
    let theirs = other.option("Rare");
    let steak_sauce = app
        .create(
            &f.t,
            &format!("/api/v1/menu/items/{}/modifier-groups", f.steak),
            group_body("Sauce", 0, 1, json!([{ "name": "Pepper" }])),
        )
        .await;
    let pepper = steak_sauce["options"][0]["id"].as_i64().unwrap();
    let plain = json!({ "menu_item_id": f.wine, "qty": 1 });
    let cases = [
        (line(f.burger, 1, &[]), "required"),
        (line(f.burger, 1, &[bacon]), "required"),
        (line(f.burger, 1, &[rare, medium]), "too_many"),
        (line(f.burger, 1, &[rare, bacon, cheese, egg]), "too_many"),
        (line(f.burger, 1, &[rare, pepper]), "not_an_option"),
        (line(f.burger, 1, &[rare, theirs]), "not_an_option"),
        (line(f.wine, 1, &[rare]), "not_an_option"),
        (line(f.burger, 1, &[rare, bacon, rare]), "duplicate"),
    ];
    let before = app.store.current_seq(f.t.id).await.unwrap();
    for (n, (bad, code)) in cases.into_iter().enumerate() {
        // The bad line is the second, after a line merged into the first.
        let lines = json!([plain, plain, bad]);
        let key = format!("bad-{n}");
        let reply = app
            .post(
                "/api/v1/orders",
                Some(&waiter),
                json!({ "idempotency_key": key, "table_id": f.t1, "source": "dine_in", "lines": lines }),
            )
            .await;
        assert_field(&reply, "lines[2].choices", code);
        let ws_reply = ws.command(order(&key, f.t1, lines)).await;
        assert_eq!(error_code(&ws_reply), "VALIDATION_FAILED", "{ws_reply}");
        assert_eq!(
            ws_reply["details"]["fields"]["lines[2].choices"][0]["code"], code,
            "{ws_reply}"
        );
    }
    // Too many choices on one line is bounded before anything is read.
    let many: Vec<i64> = (1..=21).collect();
    assert_field(
        &app.post(
            "/api/v1/orders",
            Some(&waiter),
            json!({ "idempotency_key": "many", "table_id": f.t1, "source": "dine_in", "lines": [line(f.burger, 1, &many)] }),
        )
        .await,
        "lines[0].choices",
        "length",
    );
    // A price taken below zero by its deltas.
    let no_bun = b.option("No bun");
    app.patch(
        &format!("/api/v1/menu/items/{}", f.burger),
        &f.t.owner,
        json!({ "price_cents": 50 }),
    )
    .await;
    assert_field(
        &app.post(
            "/api/v1/orders",
            Some(&waiter),
            json!({ "idempotency_key": "cheap", "table_id": f.t1, "source": "dine_in", "lines": [line(f.burger, 1, &[rare, no_bun])] }),
        )
        .await,
        "lines[0].choices",
        "price",
    );
    // Nothing changed: no order, no event, the stock as it was.
    assert_eq!(app.store.order_count(f.t.id).await.unwrap(), 0);
    assert_eq!(app.store.current_seq(f.t.id).await.unwrap(), before);
    let (_, burger) = app
        .get(&format!("/api/v1/menu/items/{}", f.burger), &f.t.owner)
        .await;
    assert_eq!(burger["stock"], 20);
}

async fn guests_choose_too(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let b = burger(&app, "bistro").await;
    let f = &b.f;
    let mut guest = WsClient::guest(&app, &f.t1_code).await;
    let lines = json!([line(
        f.burger,
        1,
        &[b.option("Well done"), b.option("Bacon")]
    )]);
    let placed = guest
        .command(json!({ "type": "order.place", "idempotency_key": "g1", "source": "qr", "lines": lines }))
        .await;
    assert_eq!(placed["type"], "ack", "{placed}");
    let l = &placed["order"]["lines"][0];
    assert_eq!(l["unit_price_cents"], 1750);
    assert_eq!(l["choices"][1]["name"], "Bacon");
    // The guest's table hears the order with its choices.
    let heard = guest.next_matching(|e| e["kind"] == "order.placed").await;
    assert_eq!(&heard["data"]["lines"][0], l);
    let wrong = guest
        .command(json!({ "type": "order.place", "idempotency_key": "g2", "source": "qr", "lines": [line(f.burger, 1, &[])] }))
        .await;
    assert_eq!(error_code(&wrong), "VALIDATION_FAILED", "{wrong}");
}

crate::both_backends!(
    the_catalogue_is_configured_by_managers_and_shown_in_the_menu,
    a_bad_catalogue_is_refused_on_its_field,
    choices_add_up_on_the_line_the_ticket_and_the_check,
    wrong_choices_are_refused_on_their_field_and_change_nothing,
    guests_choose_too,
);
