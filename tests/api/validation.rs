//! Bad input gets one error shape, a 4xx, a stable code, per-field details,
//! and changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

/// The menu as the owner sees it: the witness that nothing changed.
async fn menu(app: &TestApp, tenant: &Tenant) -> Value {
    let (status, items) = app.get("/api/v1/menu/items", &tenant.owner).await;
    assert_eq!(status, StatusCode::OK);
    items
}

async fn raw(
    app: &TestApp,
    tenant: &Tenant,
    method: Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let res = app
        .http
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(&tenant.owner)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    read(res).await
}

/// The fields named in a VALIDATION_FAILED reply, with their first code.
fn fields(reply: &(StatusCode, Value)) -> Vec<(String, String)> {
    assert_error(reply, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let mut out: Vec<(String, String)> = reply.1["error"]["details"]["fields"]
        .as_object()
        .unwrap_or_else(|| panic!("no field details in {}", reply.1))
        .iter()
        .map(|(k, v)| (k.clone(), v[0]["code"].as_str().unwrap().to_owned()))
        .collect();
    out.sort();
    out
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

async fn invalid_fields_are_each_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = app.tenant("bistro").await;
    let item = app
        .create(
            &tenant,
            "/api/v1/menu/items",
            json!({ "name": "Soup", "price_cents": 500, "stock": 3 }),
        )
        .await;
    let before = menu(&app, &tenant).await;

    let reply = app
        .post(
            "/api/v1/menu/items",
            Some(&tenant.owner),
            json!({ "name": "   ", "price_cents": -1, "stock": -5, "description": "x".repeat(1001) }),
        )
        .await;
    assert_eq!(
        fields(&reply),
        pairs(&[
            ("description", "length"),
            ("name", "blank"),
            ("price_cents", "range"),
            ("stock", "range")
        ])
    );

    let patch = app
        .patch(
            &format!("/api/v1/menu/items/{}", item["id"]),
            &tenant.owner,
            json!({ "stock": -1, "name": "" }),
        )
        .await;
    assert_eq!(
        fields(&patch),
        pairs(&[("name", "length"), ("stock", "range")])
    );

    let user = app
        .post(
            "/api/v1/users",
            Some(&tenant.owner),
            json!({ "email": "not-an-email", "name": "N", "role": "waiter", "password": "short" }),
        )
        .await;
    assert_eq!(
        fields(&user),
        pairs(&[("email", "email"), ("password", "length")])
    );

    let table = app
        .post(
            "/api/v1/tables",
            Some(&tenant.owner),
            json!({ "label": "T1", "seats": 0 }),
        )
        .await;
    assert_eq!(fields(&table), pairs(&[("seats", "range")]));

    let tz = app
        .patch(
            "/api/v1/restaurant",
            &tenant.owner,
            json!({ "timezone": "Mars/Olympus" }),
        )
        .await;
    assert_eq!(fields(&tz), pairs(&[("timezone", "timezone")]));

    assert_eq!(menu(&app, &tenant).await, before);
}

async fn wrong_shapes_name_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = app.tenant("bistro").await;
    let before = menu(&app, &tenant).await;
    let post = |body: Value| app.post("/api/v1/menu/items", Some(&tenant.owner), body);

    let wrong_type = post(json!({ "name": "Soup", "price_cents": "five" })).await;
    assert_eq!(fields(&wrong_type), pairs(&[("price_cents", "type")]));
    let missing = post(json!({ "name": "Soup" })).await;
    assert_eq!(fields(&missing), pairs(&[("price_cents", "required")]));
    let unknown = post(json!({ "name": "Soup", "price_cents": 1, "prise": 2 })).await;
    assert_eq!(fields(&unknown), pairs(&[("prise", "unknown_field")]));
    let not_object = post(json!([1, 2])).await;
    assert_eq!(fields(&not_object), pairs(&[("body", "type")]));
    let bad_enum = app
        .post(
            "/api/v1/users",
            Some(&tenant.owner),
            json!({ "email": "a@b.test", "name": "N", "role": "emperor", "password": "long enough" }),
        )
        .await;
    assert_eq!(fields(&bad_enum), pairs(&[("role", "type")]));
    let guest_staff = app
        .post(
            "/api/v1/users",
            Some(&tenant.owner),
            json!({ "email": "a@b.test", "name": "N", "role": "guest", "password": "long enough" }),
        )
        .await;
    assert_eq!(fields(&guest_staff), pairs(&[("role", "role")]));

    assert_eq!(menu(&app, &tenant).await, before);
}

async fn malformed_bodies_are_refused_cleanly(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = app.tenant("bistro").await;
    let before = menu(&app, &tenant).await;
    let items = "/api/v1/menu/items";

    for body in [
        &b"{\"name\": \"Soup\", \"price_cents\": "[..],
        b"not json",
        b"",
        b"{\"name\":\"a\"} trailing",
    ] {
        let reply = raw(
            &app,
            &tenant,
            Method::POST,
            items,
            "application/json",
            body.to_vec(),
        )
        .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "MALFORMED_JSON");
    }
    let truncated_wrong_type = raw(
        &app,
        &tenant,
        Method::POST,
        items,
        "application/json",
        b"{\"price_cents\": \"x".to_vec(),
    )
    .await;
    assert_error(
        &truncated_wrong_type,
        StatusCode::BAD_REQUEST,
        "MALFORMED_JSON",
    );

    let good = br#"{"name":"Soup","price_cents":500}"#.to_vec();
    let text = raw(
        &app,
        &tenant,
        Method::POST,
        items,
        "text/plain",
        good.clone(),
    )
    .await;
    assert_error(
        &text,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
    );
    let form = raw(
        &app,
        &tenant,
        Method::POST,
        items,
        "application/x-www-form-urlencoded",
        good,
    )
    .await;
    assert_error(
        &form,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
    );

    // Over the 64 KiB body limit, even as valid JSON.
    let huge = serde_json::to_vec(
        &json!({ "name": "Soup", "price_cents": 1, "description": "x".repeat(70_000) }),
    )
    .unwrap();
    let big = raw(&app, &tenant, Method::POST, items, "application/json", huge).await;
    assert_error(&big, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");

    // Over-long strings within the limit.
    let long = app
        .post(
            items,
            Some(&tenant.owner),
            json!({ "name": "n".repeat(101), "price_cents": 1 }),
        )
        .await;
    assert_eq!(fields(&long), pairs(&[("name", "length")]));

    assert_eq!(menu(&app, &tenant).await, before);
}

async fn bad_paths_and_queries_get_the_error_shape(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = app.tenant("bistro").await;
    for path in [
        "/api/v1/stations/abc",
        "/api/v1/stations/99999999999999999999999",
        "/api/v1/nothing-here",
    ] {
        assert_error(
            &app.get(path, &tenant.owner).await,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        );
    }
    let limit = app.get("/api/v1/stations?limit=0", &tenant.owner).await;
    assert_eq!(fields(&limit), pairs(&[("limit", "range")]));
    let too_many = app.get("/api/v1/stations?limit=201", &tenant.owner).await;
    assert_eq!(fields(&too_many), pairs(&[("limit", "range")]));
    let not_number = app.get("/api/v1/stations?after=x", &tenant.owner).await;
    assert_eq!(fields(&not_number), pairs(&[("query", "type")]));
    let wrong_method = app
        .call(
            Method::PUT,
            "/api/v1/stations",
            Some(&tenant.owner),
            Some(json!({})),
        )
        .await;
    assert_error(
        &wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
    );
}

/// A NUL character (which PostgreSQL cannot store in text) anywhere in a
/// request is VALIDATION_FAILED on its field, over REST and the WebSocket,
/// on both backends, and changes nothing.
async fn nul_characters_are_refused_on_their_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = crate::orders::floor(&app, "bistro").await;
    let nul = "a\u{0}b";
    let login = json!({ "restaurant": "bistro", "email": nul, "password": "x" });
    let reply = app.post("/api/v1/auth/login", None, login).await;
    assert_eq!(fields(&reply), pairs(&[("email", "nul")]));
    let login = json!({ "restaurant": nul, "email": "a@b.c", "password": "x" });
    let reply = app.post("/api/v1/auth/login", None, login).await;
    assert_eq!(fields(&reply), pairs(&[("restaurant", "nul")]));
    let guest = json!({ "table_code": nul });
    let reply = app.post("/api/v1/guest-sessions", None, guest).await;
    assert_eq!(fields(&reply), pairs(&[("table_code", "nul")]));
    let owner = Some(f.t.owner.as_str());
    let station = json!({ "name": nul });
    let reply = app.post("/api/v1/stations", owner, station).await;
    assert_eq!(fields(&reply), pairs(&[("name", "nul")]));
    let lines = json!([{ "menu_item_id": f.bread, "qty": 1, "note": nul }]);
    let order =
        json!({ "idempotency_key": "k1", "table_id": f.t1, "source": "dine_in", "lines": lines });
    let reply = app.post("/api/v1/orders", owner, order).await;
    assert_eq!(fields(&reply), pairs(&[("lines[0].note", "nul")]));
    let order = json!({ "idempotency_key": nul, "table_id": f.t1, "source": "dine_in", "note": nul,
        "lines": [{ "menu_item_id": f.bread, "qty": 1 }] });
    let reply = app.post("/api/v1/orders", owner, order).await;
    let named = fields(&reply);
    assert_eq!(named.len(), 1, "{named:?}");
    assert!(
        ["idempotency_key", "note"].contains(&named[0].0.as_str()),
        "{named:?}"
    );
    let (mut ws, _) = crate::ws_client::WsClient::join(&app, &f.t.owner).await;
    let place = json!({ "type": "order.place", "idempotency_key": nul, "table_id": f.t1,
        "source": "dine_in", "lines": [{ "menu_item_id": f.bread, "qty": 1 }] });
    let reply = ws.command(place).await;
    assert_eq!(reply["code"], "VALIDATION_FAILED", "{reply}");
    assert_eq!(
        reply["details"]["fields"]["idempotency_key"][0]["code"],
        "nul"
    );
    // Nothing was written: no station, no order, and the table still free.
    let (_, stations) = app.get("/api/v1/stations", &f.t.owner).await;
    assert_eq!(stations["items"].as_array().unwrap().len(), 2);
    assert_eq!(app.store.order_count(f.t.id).await.unwrap(), 0);
    let (_, table) = app
        .get(&format!("/api/v1/tables/{}", f.t1), &f.t.owner)
        .await;
    assert_eq!(table["status"], "free");
}

crate::both_backends!(
    nul_characters_are_refused_on_their_field,
    invalid_fields_are_each_named,
    wrong_shapes_name_the_field,
    malformed_bodies_are_refused_cleanly,
    bad_paths_and_queries_get_the_error_shape,
);
