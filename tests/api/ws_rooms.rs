//! Rooms: who may join which (every role × every room kind × own and other
//! restaurant), and presence in them.

use std::collections::BTreeMap;

use serde_json::json;

use crate::support::*;
use crate::ws_client::{error_code, Ended, WsClient};

const ROLES: [&str; 6] = ["owner", "manager", "waiter", "chef", "cashier", "guest"];

/// The documented rule (protocol/PROTOCOL.md, "Rooms"), as a table.
fn expected(role: &str, kind: &str) -> bool {
    let staff = role != "guest";
    let manager = role == "owner" || role == "manager";
    match kind {
        "restaurant" => staff,
        "kitchen" | "station" => matches!(role, "owner" | "manager" | "chef" | "waiter"),
        "own_table" => true,
        "table" => staff,
        "own_role" => staff,
        "other_role" => manager,
        "own_user" => staff,
        "other_user" => false,
        "dashboard" => manager,
        _ => unreachable!(),
    }
}

async fn the_room_matrix_holds(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut places = BTreeMap::new();
    for slug in ["alpha", "beta"] {
        let t = app.tenant(slug).await;
        let station = app
            .create(&t, "/api/v1/stations", json!({ "name": "Grill" }))
            .await["id"]
            .as_i64()
            .unwrap();
        let own = app
            .create(&t, "/api/v1/tables", json!({ "label": "T1", "seats": 2 }))
            .await;
        let other = app
            .create(&t, "/api/v1/tables", json!({ "label": "T2", "seats": 2 }))
            .await["id"]
            .as_i64()
            .unwrap();
        places.insert(slug, (t, station, own, other));
    }
    let (a, station, own_table, other_table) = &places["alpha"];
    let (b, b_station, b_table, b_other_table) = &places["beta"];
    let r = a.id;
    let mut checked = 0;
    for role in ROLES {
        let (user_id, token) = match role {
            "owner" => (a.owner_id, a.owner.clone()),
            "guest" => {
                let (_, g) = app
                    .post(
                        "/api/v1/guest-sessions",
                        None,
                        json!({ "table_code": own_table["guest_code"] }),
                    )
                    .await;
                // Someone else's account id: a guest has none of its own.
                (a.owner_id, token_of(&g))
            }
            staff => app.staff(a, staff).await,
        };
        let (mut ws, _) = WsClient::join(&app, &token).await;
        let other_role = if role == "cashier" { "chef" } else { "cashier" };
        let own_role = if role == "guest" { "waiter" } else { role };
        let rooms_of = |rid: i64, st: i64, own_t: i64, other_t: i64| {
            vec![
                ("restaurant", format!("restaurant:{rid}")),
                ("kitchen", format!("kitchen:{rid}")),
                ("station", format!("kitchen:{rid}:{st}")),
                ("own_table", format!("table:{rid}:{own_t}")),
                ("table", format!("table:{rid}:{other_t}")),
                ("own_role", format!("role:{rid}:{own_role}")),
                ("other_role", format!("role:{rid}:{other_role}")),
                ("dashboard", format!("dashboard:{rid}")),
            ]
        };
        let mut cases: Vec<(&str, String, bool)> =
            rooms_of(r, *station, own_table["id"].as_i64().unwrap(), *other_table)
                .into_iter()
                .map(|(kind, room)| (kind, room, expected(role, kind)))
                .collect();
        // Nothing of restaurant B, whatever the role.
        cases.extend(
            rooms_of(
                b.id,
                *b_station,
                b_table["id"].as_i64().unwrap(),
                *b_other_table,
            )
            .into_iter()
            .map(|(kind, room)| (kind, room, false)),
        );
        cases.push(("own_user", format!("user:{user_id}"), role != "guest"));
        cases.push(("other_user", format!("user:{}", b.owner_id), false));
        for (kind, room, allowed) in cases {
            for command in ["subscribe", "presence"] {
                let reply = ws.command(json!({ "type": command, "room": room })).await;
                if allowed {
                    assert_eq!(
                        reply["type"], "ack",
                        "{role} {command} {kind} {room}: {reply}"
                    );
                    assert_eq!(reply["room"], room.as_str());
                } else {
                    assert_eq!(
                        error_code(&reply),
                        "FORBIDDEN",
                        "{role} {command} {kind} {room}: {reply}"
                    );
                }
                checked += 1;
            }
        }
        // Errors leave the connection working.
        ws.assert_alive().await;
    }
    assert_eq!(checked, 6 * 18 * 2);
}

async fn bad_and_unknown_rooms_are_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.tenant("bistro").await;
    let (mut ws, _) = WsClient::join(&app, &t.owner).await;
    let missing = ws.subscribe(&format!("kitchen:{}:999999", t.id)).await;
    assert_eq!(error_code(&missing), "NOT_FOUND");
    let missing = ws.subscribe(&format!("table:{}:999999", t.id)).await;
    assert_eq!(error_code(&missing), "NOT_FOUND");
    for junk in ["lobby:1", "kitchen", "kitchen:x", ""] {
        let bad = ws.subscribe(junk).await;
        assert_eq!(error_code(&bad), "VALIDATION_FAILED", "{junk}");
        assert!(bad["details"]["fields"]["room"].is_array());
    }
    // Unsubscribing is idempotent.
    let room = format!("restaurant:{}", t.id);
    for _ in 0..2 {
        let ack = ws
            .command(json!({ "type": "unsubscribe", "room": room }))
            .await;
        assert_eq!(
            (ack["type"].as_str(), ack["command"].as_str()),
            (Some("ack"), Some("unsubscribe"))
        );
    }
    ws.assert_alive().await;
}

async fn presence_shows_who_is_connected(backend: Backend) {
    let app = TestApp::spawn_with(backend, &["--ws-heartbeat-ms", "300"]).await;
    let t = app.tenant("bistro").await;
    let kitchen = format!("kitchen:{}", t.id);
    let (mut manager, _) = WsClient::join(&app, &t.owner).await;
    // Asking who is there also starts watching the room.
    let list = manager
        .command(json!({ "type": "presence", "room": kitchen }))
        .await;
    assert_eq!(list["members"], json!([]), "{list}");
    assert_eq!(manager.subscribe(&kitchen).await["type"], "ack");

    // A kitchen screen comes online: the watching manager sees it join.
    let (chef_id, chef_token) = app.staff(&t, "chef").await;
    let (mut chef, chef_welcome) = WsClient::join(&app, &chef_token).await;
    let in_kitchen = |kind: &'static str| {
        let room = kitchen.clone();
        move |f: &serde_json::Value| f["type"] == kind && f["room"] == room.as_str()
    };
    let joined = manager.next_matching(in_kitchen("presence.joined")).await;
    assert_eq!(joined["room"], kitchen.as_str());
    assert_eq!(joined["member"]["session_id"], chef_welcome["session_id"]);
    assert_eq!(joined["member"]["user_id"], chef_id);
    assert_eq!(joined["member"]["role"], "chef");
    assert_eq!(joined["member"]["name"], "chef");

    let list = manager
        .command(json!({ "type": "presence", "room": kitchen }))
        .await;
    let members: Vec<&str> = list["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(members.len(), 2, "{list}");
    assert!(
        members.contains(&"chef") && members.contains(&"owner"),
        "{list}"
    );

    // It closes: it leaves.
    chef.stream.close(None).await.unwrap();
    let left = manager.next_matching(in_kitchen("presence.left")).await;
    assert_eq!(left["member"]["session_id"], chef_welcome["session_id"]);

    // Another screen vanishes without a close frame (it stops answering
    // pings): it is dropped after the heartbeat timeout and leaves too.
    let (silent, silent_welcome) = WsClient::join(&app, &chef_token).await;
    let joined = manager.next_matching(in_kitchen("presence.joined")).await;
    assert_eq!(joined["member"]["session_id"], silent_welcome["session_id"]);
    let left = manager.next_matching(in_kitchen("presence.left")).await;
    assert_eq!(left["member"]["session_id"], silent_welcome["session_id"]);
    let mut silent = silent;
    assert_eq!(silent.ended().await, Ended::Closed(4032));
    let list = manager
        .command(json!({ "type": "presence", "room": kitchen }))
        .await;
    assert_eq!(list["members"].as_array().unwrap().len(), 1, "{list}");
    // Sessions that never asked are not told (presence is opt-in per room,
    // so a join costs nothing for a big room's members).
    let mut bystander = WsClient::staff(&app, &t, "chef").await;
    let (_late, _) = WsClient::join(&app, &chef_token).await;
    manager.next_matching(in_kitchen("presence.joined")).await;
    bystander.assert_alive().await;
    assert!(
        bystander.no_pending_presence(),
        "presence went to a session that did not watch"
    );
}

crate::both_backends!(
    the_room_matrix_holds,
    bad_and_unknown_rooms_are_errors,
    presence_shows_who_is_connected,
);
