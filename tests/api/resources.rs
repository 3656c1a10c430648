//! The admin API end to end: create, read, update, delete and list every
//! resource a restaurant configures.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

async fn stations_and_categories_round_trip(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("bistro").await;
    let grill = app
        .create(&t, "/api/v1/stations", json!({ "name": "  Grill " }))
        .await;
    assert_eq!(grill["name"], "Grill");
    let path = format!("/api/v1/stations/{}", grill["id"]);
    assert_eq!(app.get(&path, &t.owner).await.1, grill);
    let (status, renamed) = app
        .patch(&path, &t.owner, json!({ "name": "Charcoal grill" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(renamed["name"], "Charcoal grill");
    let dup = app
        .post(
            "/api/v1/stations",
            Some(&t.owner),
            json!({ "name": "Charcoal grill" }),
        )
        .await;
    assert_error(&dup, StatusCode::CONFLICT, "CONFLICT");

    let mains = app
        .create(
            &t,
            "/api/v1/menu/categories",
            json!({ "name": "Mains", "position": 2 }),
        )
        .await;
    assert_eq!(mains["position"], 2);
    let cat_path = format!("/api/v1/menu/categories/{}", mains["id"]);
    let (_, moved) = app
        .patch(&cat_path, &t.owner, json!({ "position": 1 }))
        .await;
    assert_eq!(
        moved,
        json!({ "id": mains["id"], "name": "Mains", "position": 1, "course": 1 })
    );

    // Still in use by an item: refused, nothing removed.
    let item = app
        .create(
            &t,
            "/api/v1/menu/items",
            json!({ "name": "Steak", "price_cents": 2000,
                "station_id": grill["id"], "category_id": mains["id"] }),
        )
        .await;
    assert_error(
        &app.delete(&path, &t.owner).await,
        StatusCode::CONFLICT,
        "CONFLICT",
    );
    assert_error(
        &app.delete(&cat_path, &t.owner).await,
        StatusCode::CONFLICT,
        "CONFLICT",
    );
    let item_path = format!("/api/v1/menu/items/{}", item["id"]);
    assert_eq!(
        app.delete(&item_path, &t.owner).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.delete(&path, &t.owner).await.0, StatusCode::NO_CONTENT);
    assert_eq!(
        app.delete(&cat_path, &t.owner).await.0,
        StatusCode::NO_CONTENT
    );
    for gone in [path, cat_path, item_path] {
        assert_error(
            &app.get(&gone, &t.owner).await,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        );
        assert_error(
            &app.delete(&gone, &t.owner).await,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        );
    }
}

async fn menu_items_carry_stock_and_availability(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("bistro").await;
    let bar = app
        .create(&t, "/api/v1/stations", json!({ "name": "Bar" }))
        .await;
    let item = app
        .create(
            &t,
            "/api/v1/menu/items",
            json!({ "name": "Negroni", "price_cents": 1100,
                "station_id": bar["id"], "stock": 30, "low_stock_threshold": 5 }),
        )
        .await;
    assert_eq!(
        item,
        json!({ "id": item["id"], "category_id": null, "station_id": bar["id"], "name": "Negroni",
                "description": "", "price_cents": 1100, "stock": 30, "low_stock_threshold": 5,
                "available": true, "prep_seconds": 0, "allergens": [], "modifier_groups": [] })
    );
    let path = format!("/api/v1/menu/items/{}", item["id"]);

    // Set stock, 86 it, then stop tracking stock and clear the station;
    // fields not named stay as they were.
    let (_, set) = app
        .patch(&path, &t.owner, json!({ "stock": 0, "available": false }))
        .await;
    assert_eq!(
        (set["stock"].clone(), set["available"].clone()),
        (json!(0), json!(false))
    );
    assert_eq!(set["price_cents"], 1100);
    let (_, cleared) = app
        .patch(
            &path,
            &t.owner,
            json!({ "stock": null, "station_id": null }),
        )
        .await;
    assert_eq!(cleared["stock"], Value::Null);
    assert_eq!(cleared["station_id"], Value::Null);
    assert_eq!(cleared["available"], false);
    let (_, back) = app
        .patch(
            &path,
            &t.owner,
            json!({ "stock": 12, "available": true, "price_cents": 1200 }),
        )
        .await;
    assert_eq!(
        (back["stock"].clone(), back["price_cents"].clone()),
        (json!(12), json!(1200))
    );
    assert_eq!(app.get(&path, &t.owner).await.1, back);

    // The database itself refuses negative stock, whatever the API lets by.
    let direct = app
        .store
        .update_menu_item(
            t.id,
            item["id"].as_i64().unwrap(),
            &restohub_protocol::api::menu::MenuItemPatch {
                stock: Some(Some(-1)),
                ..Default::default()
            },
        )
        .await;
    assert!(direct
        .unwrap_err()
        .as_database_error()
        .unwrap()
        .is_check_violation());
    assert_eq!(app.get(&path, &t.owner).await.1["stock"], 12);
}

async fn tables_have_status_and_codes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("bistro").await;
    let table = app
        .create(
            &t,
            "/api/v1/tables",
            json!({ "label": "Terrace 1", "seats": 6 }),
        )
        .await;
    assert_eq!(table["status"], "free");
    assert_eq!(table["guest_code"].as_str().unwrap().len(), 10);
    let path = format!("/api/v1/tables/{}", table["id"]);
    let (_, reserved) = app
        .patch(&path, &t.owner, json!({ "status": "reserved", "seats": 8 }))
        .await;
    assert_eq!(
        (reserved["status"].clone(), reserved["seats"].clone()),
        (json!("reserved"), json!(8))
    );
    let dup = app
        .post(
            "/api/v1/tables",
            Some(&t.owner),
            json!({ "label": "Terrace 1", "seats": 2 }),
        )
        .await;
    assert_error(&dup, StatusCode::CONFLICT, "CONFLICT");
    assert_eq!(app.delete(&path, &t.owner).await.0, StatusCode::NO_CONTENT);
    let (_, list) = app.get("/api/v1/tables", &t.owner).await;
    assert_eq!(list["items"], json!([]));
}

async fn staff_accounts_round_trip(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("bistro").await;
    let user = app
        .create(
            &t,
            "/api/v1/users",
            json!({ "email": "Chef@Bistro.test", "name": "Chris", "role": "chef",
                "password": "long enough password" }),
        )
        .await;
    assert_eq!(user["email"], "chef@bistro.test");
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    let dup = app
        .post(
            "/api/v1/users",
            Some(&t.owner),
            json!({ "email": "chef@bistro.test", "name": "Other",
              "role": "waiter", "password": "long enough password" }),
        )
        .await;
    assert_error(&dup, StatusCode::CONFLICT, "CONFLICT");
    let path = format!("/api/v1/users/{}", user["id"]);
    let (_, changed) = app
        .patch(
            &path,
            &t.owner,
            json!({ "name": "Chris B.", "role": "cashier" }),
        )
        .await;
    assert_eq!(
        (changed["name"].clone(), changed["role"].clone()),
        (json!("Chris B."), json!("cashier"))
    );
    // The new role is in the next token.
    let (_, login) = app
        .login("bistro", "chef@bistro.test", "long enough password")
        .await;
    assert_eq!(login["user"]["role"], "cashier");
    assert_eq!(app.delete(&path, &t.owner).await.0, StatusCode::NO_CONTENT);
    assert_error(
        &app.login("bistro", "chef@bistro.test", "long enough password")
            .await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    );
}

async fn lists_are_paginated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("bistro").await;
    let mut created = Vec::new();
    for n in 0..7 {
        let s = app
            .create(&t, "/api/v1/stations", json!({ "name": format!("S{n}") }))
            .await;
        created.push(s["id"].as_i64().unwrap());
    }
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut path = "/api/v1/stations?limit=3".to_owned();
    loop {
        let (status, page) = app.get(&path, &t.owner).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().unwrap();
        sizes.push(items.len());
        seen.extend(items.iter().map(|s| s["id"].as_i64().unwrap()));
        match page["next_after"].as_i64() {
            Some(after) => path = format!("/api/v1/stations?limit=3&after={after}"),
            None => break,
        }
    }
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(seen, created);
    // The default page holds them all; a full last page has no next.
    let (_, all) = app.get("/api/v1/stations", &t.owner).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 7);
    assert!(all.get("next_after").is_none());
    let (_, exact) = app.get("/api/v1/stations?limit=7", &t.owner).await;
    assert!(exact.get("next_after").is_none());
}

async fn the_restaurant_is_configurable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("bistro").await;
    let (_, before) = app.get("/api/v1/restaurant", &t.owner).await;
    assert_eq!(before["timezone"], "Europe/Paris");
    let (status, after) = app
        .patch(
            "/api/v1/restaurant",
            &t.owner,
            json!({ "name": "Bistro Deux", "timezone": "America/New_York", "currency": "USD" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(
        (
            after["name"].clone(),
            after["timezone"].clone(),
            after["currency"].clone(),
            after["slug"].clone()
        ),
        (
            json!("Bistro Deux"),
            json!("America/New_York"),
            json!("USD"),
            json!("bistro")
        )
    );
    let bad = app
        .patch("/api/v1/restaurant", &t.owner, json!({ "currency": "usd" }))
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert_eq!(app.get("/api/v1/restaurant", &t.owner).await.1, after);
}

crate::both_backends!(
    stations_and_categories_round_trip,
    menu_items_carry_stock_and_availability,
    tables_have_status_and_codes,
    staff_accounts_round_trip,
    lists_are_paginated,
    the_restaurant_is_configurable,
);
