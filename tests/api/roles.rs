//! What each role may do: owners and managers configure, staff read what
//! their job needs, guests read the menu; only owners manage managers.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

const ROLES: [&str; 6] = ["owner", "manager", "waiter", "chef", "cashier", "guest"];

async fn tokens(app: &TestApp, tenant: &Tenant) -> Vec<(&'static str, String)> {
    let table = app
        .create(
            tenant,
            "/api/v1/tables",
            json!({ "label": "T1", "seats": 2 }),
        )
        .await;
    let mut out = Vec::new();
    for role in ROLES {
        let token = match role {
            "owner" => tenant.owner.clone(),
            "guest" => {
                let (_, g) = app
                    .post(
                        "/api/v1/guest-sessions",
                        None,
                        json!({ "table_code": table["guest_code"] }),
                    )
                    .await;
                token_of(&g)
            }
            staff => app.staff(tenant, staff).await.1,
        };
        out.push((role, token));
    }
    out
}

async fn each_role_gets_what_its_job_needs(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = app.tenant("bistro").await;
    let item = app
        .create(
            &tenant,
            "/api/v1/menu/items",
            json!({ "name": "Soup", "price_cents": 500 }),
        )
        .await;
    let item_path = format!("/api/v1/menu/items/{}", item["id"]);
    let tokens = tokens(&app, &tenant).await;

    // (method, path, body, roles allowed). Writes use a fresh name per role so
    // an allowed write succeeds instead of conflicting.
    type Case = (
        Method,
        String,
        Option<fn(&str) -> Value>,
        &'static [&'static str],
    );
    const MANAGERS: &[&str] = &["owner", "manager"];
    const STAFF: &[&str] = &["owner", "manager", "waiter", "chef", "cashier"];
    const EVERYONE: &[&str] = &ROLES;
    let cases: Vec<Case> = vec![
        (Method::GET, "/api/v1/restaurant".into(), None, EVERYONE),
        (
            Method::PATCH,
            "/api/v1/restaurant".into(),
            Some(|r| json!({ "name": format!("By {r}") })),
            MANAGERS,
        ),
        (Method::GET, "/api/v1/stations".into(), None, STAFF),
        (
            Method::POST,
            "/api/v1/stations".into(),
            Some(|r| json!({ "name": r })),
            MANAGERS,
        ),
        (
            Method::GET,
            "/api/v1/menu/categories".into(),
            None,
            EVERYONE,
        ),
        (
            Method::POST,
            "/api/v1/menu/categories".into(),
            Some(|r| json!({ "name": r })),
            MANAGERS,
        ),
        (Method::GET, "/api/v1/menu/items".into(), None, EVERYONE),
        (Method::GET, item_path.clone(), None, EVERYONE),
        (
            Method::POST,
            "/api/v1/menu/items".into(),
            Some(|r| json!({ "name": r, "price_cents": 1 })),
            MANAGERS,
        ),
        (
            Method::PATCH,
            item_path.clone(),
            Some(|_| json!({ "stock": 10 })),
            MANAGERS,
        ),
        (Method::GET, "/api/v1/tables".into(), None, STAFF),
        (
            Method::POST,
            "/api/v1/tables".into(),
            Some(|r| json!({ "label": r, "seats": 2 })),
            MANAGERS,
        ),
        (Method::GET, "/api/v1/users".into(), None, MANAGERS),
        (Method::GET, "/api/v1/auth/me".into(), None, EVERYONE),
    ];
    for (method, path, body, allowed) in &cases {
        for (role, token) in &tokens {
            let reply = app
                .call(method.clone(), path, Some(token), body.map(|b| b(role)))
                .await;
            if allowed.contains(role) {
                assert!(reply.0.is_success(), "{role} {method} {path}: {reply:?}");
            } else {
                assert_error(&reply, StatusCode::FORBIDDEN, "FORBIDDEN");
            }
        }
    }
}

async fn only_managers_see_table_codes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = app.tenant("bistro").await;
    let tokens = tokens(&app, &tenant).await;
    for (role, token) in tokens.iter().filter(|(r, _)| *r != "guest") {
        let (_, tables) = app.get("/api/v1/tables", token).await;
        let has_code = tables["items"][0].get("guest_code").is_some();
        assert_eq!(
            has_code,
            ["owner", "manager"].contains(role),
            "{role}: {tables}"
        );
    }
}

async fn only_owners_manage_managers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = app.tenant("bistro").await;
    let (manager_id, manager) = app.staff(&tenant, "manager").await;
    let (waiter_id, _) = app.staff(&tenant, "waiter").await;
    let new = |role: &str| json!({ "email": format!("{role}@new.test"), "name": "N", "role": role, "password": PASSWORD });

    // A manager hires waiters but not managers or owners.
    assert_eq!(
        app.post("/api/v1/users", Some(&manager), new("cashier"))
            .await
            .0,
        StatusCode::CREATED
    );
    for role in ["manager", "owner"] {
        let reply = app.post("/api/v1/users", Some(&manager), new(role)).await;
        assert_error(&reply, StatusCode::FORBIDDEN, "FORBIDDEN");
    }
    // ...promotes nobody to manager, edits no owner, deletes no owner.
    let promote = app
        .patch(
            &format!("/api/v1/users/{waiter_id}"),
            &manager,
            json!({ "role": "manager" }),
        )
        .await;
    assert_error(&promote, StatusCode::FORBIDDEN, "FORBIDDEN");
    let owner_path = format!("/api/v1/users/{}", tenant.owner_id);
    assert_error(
        &app.patch(&owner_path, &manager, json!({ "name": "x" }))
            .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    assert_error(
        &app.delete(&owner_path, &manager).await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    // Nobody changes their own role or deletes themselves.
    let own = app
        .patch(&owner_path, &tenant.owner, json!({ "role": "waiter" }))
        .await;
    assert_error(&own, StatusCode::FORBIDDEN, "FORBIDDEN");
    assert_error(
        &app.delete(&owner_path, &tenant.owner).await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    // The owner can do all of it.
    let (status, promoted) = app
        .patch(
            &format!("/api/v1/users/{waiter_id}"),
            &tenant.owner,
            json!({ "role": "manager" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(promoted["role"], "manager");
    assert_eq!(
        app.delete(&format!("/api/v1/users/{manager_id}"), &tenant.owner)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    // The deleted account is gone.
    let (status, _) = app
        .get(&format!("/api/v1/users/{manager_id}"), &tenant.owner)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

crate::both_backends!(
    each_role_gets_what_its_job_needs,
    only_managers_see_table_codes,
    only_owners_manage_managers,
);
