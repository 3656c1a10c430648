//! Tenant isolation as a matrix: every endpoint that names a row, called
//! with restaurant A's owner token on restaurant B's rows, is 404 and
//! changes nothing; lists never show B's rows; A cannot point at B's rows.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

struct Rows {
    station: i64,
    category: i64,
    item: i64,
    table: i64,
    user: i64,
}

async fn populate(app: &TestApp, tenant: &Tenant) -> Rows {
    let station = app
        .create(tenant, "/api/v1/stations", json!({ "name": "Grill" }))
        .await;
    let category = app
        .create(
            tenant,
            "/api/v1/menu/categories",
            json!({ "name": "Mains" }),
        )
        .await;
    let item = app
        .create(
            tenant,
            "/api/v1/menu/items",
            json!({ "name": "Steak", "price_cents": 2500, "stock": 5,
                    "category_id": category["id"], "station_id": station["id"] }),
        )
        .await;
    let table = app
        .create(
            tenant,
            "/api/v1/tables",
            json!({ "label": "T1", "seats": 2 }),
        )
        .await;
    let (user, _) = app.staff(tenant, "waiter").await;
    Rows {
        station: station["id"].as_i64().unwrap(),
        category: category["id"].as_i64().unwrap(),
        item: item["id"].as_i64().unwrap(),
        table: table["id"].as_i64().unwrap(),
        user,
    }
}

/// Everything a tenant has, as its owner sees it.
async fn snapshot(app: &TestApp, tenant: &Tenant) -> Vec<Value> {
    let mut all = Vec::new();
    for path in [
        "/api/v1/restaurant",
        "/api/v1/stations",
        "/api/v1/menu/categories",
        "/api/v1/menu/items",
        "/api/v1/tables",
        "/api/v1/users",
    ] {
        let (status, body) = app.get(path, &tenant.owner).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        all.push(body);
    }
    all
}

fn ids(list: &Value) -> Vec<i64> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

async fn another_restaurants_rows_are_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("beta").await;
    let rows_a = populate(&app, &a).await;
    let rows_b = populate(&app, &b).await;
    let before = snapshot(&app, &b).await;

    let patches: [(&str, i64, Value); 5] = [
        (
            "/api/v1/stations",
            rows_b.station,
            json!({ "name": "Hijacked" }),
        ),
        (
            "/api/v1/menu/categories",
            rows_b.category,
            json!({ "name": "Hijacked" }),
        ),
        (
            "/api/v1/menu/items",
            rows_b.item,
            json!({ "stock": 0, "available": false }),
        ),
        (
            "/api/v1/tables",
            rows_b.table,
            json!({ "status": "reserved" }),
        ),
        ("/api/v1/users", rows_b.user, json!({ "name": "Hijacked" })),
    ];
    let mut checked = 0;
    for (collection, id, patch) in &patches {
        let path = format!("{collection}/{id}");
        for (method, body) in [
            (Method::GET, None),
            (Method::PATCH, Some(patch.clone())),
            (Method::DELETE, None),
        ] {
            let reply = app.call(method.clone(), &path, Some(&a.owner), body).await;
            assert_error(&reply, StatusCode::NOT_FOUND, "NOT_FOUND");
            checked += 1;
        }
    }
    for action in [
        format!("/api/v1/tables/{}/guest-code", rows_b.table),
        format!("/api/v1/users/{}/unlock", rows_b.user),
    ] {
        let reply = app.post(&action, Some(&a.owner), json!({})).await;
        assert_error(&reply, StatusCode::NOT_FOUND, "NOT_FOUND");
        checked += 1;
    }
    assert_eq!(checked, 17);

    // A's lists hold A's rows only.
    let mine = snapshot(&app, &a).await;
    assert_eq!(mine[0]["slug"], "alpha");
    assert_eq!(ids(&mine[1]), [rows_a.station]);
    assert_eq!(ids(&mine[2]), [rows_a.category]);
    assert_eq!(ids(&mine[3]), [rows_a.item]);
    assert_eq!(ids(&mine[4]), [rows_a.table]);
    assert_eq!(ids(&mine[5]), [a.owner_id, rows_a.user]);

    // A cannot point its own rows at B's category or station.
    let cross = app
        .post(
            "/api/v1/menu/items",
            Some(&a.owner),
            json!({ "name": "Sneaky", "price_cents": 1, "category_id": rows_b.category }),
        )
        .await;
    assert_error(
        &cross,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_FAILED",
    );
    assert!(cross.1["error"]["details"]["fields"]["category_id"].is_array());
    let cross = app
        .patch(
            &format!("/api/v1/menu/items/{}", rows_a.item),
            &a.owner,
            json!({ "station_id": rows_b.station }),
        )
        .await;
    assert_error(
        &cross,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_FAILED",
    );
    assert!(cross.1["error"]["details"]["fields"]["station_id"].is_array());

    // B is exactly as it was.
    assert_eq!(snapshot(&app, &b).await, before);
}

async fn a_guest_sees_only_its_restaurant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("beta").await;
    let rows_b = populate(&app, &b).await;
    let table = app
        .create(&a, "/api/v1/tables", json!({ "label": "T9", "seats": 2 }))
        .await;
    let (_, guest) = app
        .post(
            "/api/v1/guest-sessions",
            None,
            json!({ "table_code": table["guest_code"] }),
        )
        .await;
    let token = token_of(&guest);
    let (_, menu) = app.get("/api/v1/menu/items", &token).await;
    assert_eq!(ids(&menu), Vec::<i64>::new());
    let item = app
        .get(&format!("/api/v1/menu/items/{}", rows_b.item), &token)
        .await;
    assert_error(&item, StatusCode::NOT_FOUND, "NOT_FOUND");
    let (_, restaurant) = app.get("/api/v1/restaurant", &token).await;
    assert_eq!(restaurant["slug"], "alpha");
}

crate::both_backends!(
    another_restaurants_rows_are_not_found,
    a_guest_sees_only_its_restaurant
);
