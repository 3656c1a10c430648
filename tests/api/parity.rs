//! REST and WebSocket are two edges over the same use cases: every
//! operation offered on both produces the same events, to the same screens,
//! whichever edge asked. Each operation runs once over REST and once over
//! the WebSocket from the same starting state (restored in between), and
//! the events each screen received are compared.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::orders::{floor, Floor};
use crate::support::*;
use crate::ws_client::WsClient;

/// Screens that between them are in every room an event can go to here:
/// the manager (restaurant, dashboard), the grill and bar screens, a
/// waiter, and a guest at table 1.
struct Screens {
    all: Vec<WsClient>,
    marker: i64,
    marker_free: bool,
}

impl Screens {
    async fn open(app: &TestApp, f: &Floor) -> Screens {
        let r = f.t.id;
        let (manager, _) = WsClient::join(app, &f.t.owner).await;
        let (_, chef) = app.staff(&f.t, "chef").await;
        let (mut grill, _) = WsClient::join(app, &chef).await;
        grill.subscribe(&format!("kitchen:{r}:{}", f.grill)).await;
        let (mut bar, _) = WsClient::join(app, &chef).await;
        bar.subscribe(&format!("kitchen:{r}:{}", f.bar)).await;
        let (_, waiter) = app.staff(&f.t, "waiter").await;
        let (waiter, _) = WsClient::join(app, &waiter).await;
        let guest = WsClient::guest(app, &f.t1_code).await;
        let marker = app
            .create(
                &f.t,
                "/api/v1/tables",
                json!({ "label": "Marker", "seats": 1 }),
            )
            .await["id"]
            .as_i64()
            .unwrap();
        Screens {
            all: vec![manager, grill, bar, waiter, guest],
            marker,
            marker_free: true,
        }
    }

    /// The events each screen received since the last call (ids that differ
    /// between two runs blanked), up to a marker event every staff screen
    /// gets; the guest's screen is read up to its events' count in the log.
    async fn received(&mut self, app: &TestApp, f: &Floor) -> Vec<Vec<Value>> {
        self.read(app, f, false).await
    }

    /// [`Self::received`] after a change that ended the guest's visit: its
    /// screen gets the change's events, then is closed; the next party's
    /// screen (the table's new code) takes its place.
    async fn received_ending_visit(&mut self, app: &TestApp, f: &Floor) -> Vec<Vec<Value>> {
        self.read(app, f, true).await
    }

    async fn read(&mut self, app: &TestApp, f: &Floor, ends_visit: bool) -> Vec<Vec<Value>> {
        let status = if self.marker_free { "reserved" } else { "free" };
        self.marker_free = !self.marker_free;
        let (code, _) = app
            .patch(
                &format!("/api/v1/tables/{}", self.marker),
                &f.t.owner,
                json!({ "status": status }),
            )
            .await;
        assert_eq!(code, StatusCode::OK);
        // The guest is not told of other tables: a call to its own table
        // closes its part.
        let guest = self.all.len() - 1;
        let mut guest_events = Vec::new();
        if ends_visit {
            let (events, code) = self.all[guest].events_until_closed().await;
            assert_eq!(code, restohub_protocol::ws::close::SESSION_REVOKED);
            guest_events = events
                .into_iter()
                .map(|e| json!({ "kind": e["kind"], "data": blank_ids(e["data"].clone()) }))
                .collect();
            let (_, table) = app
                .get(&format!("/api/v1/tables/{}", f.t1), &f.t.owner)
                .await;
            self.all[guest] = WsClient::guest(app, table["guest_code"].as_str().unwrap()).await;
        }
        let (code, _) = app
            .post(
                &format!("/api/v1/tables/{}/call-waiter", f.t1),
                Some(&f.t.owner),
                json!(null),
            )
            .await;
        assert_eq!(code, StatusCode::NO_CONTENT);
        // Accepted, so that the next read's call is a new one (a call while
        // one is open is that call, with no event).
        let (code, _) = app
            .post(
                &format!("/api/v1/tables/{}/accept-call", f.t1),
                Some(&f.t.owner),
                json!(null),
            )
            .await;
        assert_eq!(code, StatusCode::NO_CONTENT);
        let mut out = Vec::new();
        for (i, screen) in self.all.iter_mut().enumerate() {
            let mut events = Vec::new();
            loop {
                let e = screen.next_of("event").await;
                let end = if i == guest {
                    e["kind"] == "table.call_accepted"
                } else {
                    e["kind"] == "table.status_changed" && e["data"]["table_id"] == self.marker
                };
                if end {
                    break;
                }
                if !matches!(
                    e["kind"].as_str(),
                    Some("table.waiter_called" | "table.call_accepted")
                ) {
                    events.push(json!({ "kind": e["kind"], "data": blank_ids(e["data"].clone()) }));
                }
            }
            if i == guest && ends_visit {
                assert!(
                    events.is_empty(),
                    "the new party saw nothing yet: {events:?}"
                );
                events = std::mem::take(&mut guest_events);
            }
            out.push(events);
        }
        out
    }
}

/// The ids an order gets anew each time it is placed.
fn blank_ids(mut data: Value) -> Value {
    match &mut data {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if matches!(key.as_str(), "id" | "order_id" | "line_id" | "placed_seq") {
                    *value = Value::Null;
                } else {
                    *value = blank_ids(value.take());
                }
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                *item = blank_ids(item.take());
            }
        }
        _ => {}
    }
    data
}

fn kinds(received: &[Vec<Value>]) -> Vec<String> {
    let mut kinds: Vec<String> = received
        .iter()
        .flatten()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

async fn rest_ok(reply: (StatusCode, Value)) -> Value {
    assert!(reply.0.is_success(), "{reply:?}");
    reply.1
}

fn ack(reply: Value) -> Value {
    assert_eq!(reply["type"], "ack", "{reply}");
    reply
}

async fn both_edges_announce_the_same_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = floor(&app, "bistro").await;
    let mut screens = Screens::open(&app, &f).await;
    let owner = f.t.owner.clone();
    let (_, waiter) = app.staff(&f.t, "waiter").await;
    let (_, chef) = app.staff(&f.t, "chef").await;
    let (mut waiter_ws, _) = WsClient::join(&app, &waiter).await;
    let (mut chef_ws, _) = WsClient::join(&app, &chef).await;
    let table = format!("/api/v1/tables/{}", f.t1);
    let steak = format!("/api/v1/menu/items/{}", f.steak);

    // Table status (free and cleaning: a change that ends no visit, so the
    // guest's screen stays).
    rest_ok(
        app.patch(&table, &owner, json!({ "status": "cleaning" }))
            .await,
    )
    .await;
    let by_rest = screens.received(&app, &f).await;
    rest_ok(app.patch(&table, &owner, json!({ "status": "free" })).await).await;
    screens.received(&app, &f).await;
    let set = json!({ "type": "table.set_status", "table_id": f.t1, "status": "cleaning" });
    ack(waiter_ws.command(set).await);
    let by_ws = screens.received(&app, &f).await;
    assert_eq!(kinds(&by_rest), ["table.status_changed"]);
    assert_eq!(by_rest, by_ws, "table status");
    rest_ok(app.patch(&table, &owner, json!({ "status": "free" })).await).await;
    screens.received(&app, &f).await;

    // Stock, down past the low-stock threshold.
    rest_ok(app.patch(&steak, &owner, json!({ "stock": 2 })).await).await;
    let by_rest = screens.received(&app, &f).await;
    rest_ok(app.patch(&steak, &owner, json!({ "stock": 50 })).await).await;
    screens.received(&app, &f).await;
    let set = json!({ "type": "menu.set_stock", "menu_item_id": f.steak, "stock": 2 });
    ack(chef_ws.command(set).await);
    let by_ws = screens.received(&app, &f).await;
    assert_eq!(kinds(&by_rest), ["menu.stock_changed", "menu.stock_low"]);
    assert_eq!(by_rest, by_ws, "stock");
    rest_ok(app.patch(&steak, &owner, json!({ "stock": 50 })).await).await;
    screens.received(&app, &f).await;

    // Availability (86ing by hand).
    rest_ok(
        app.patch(&steak, &owner, json!({ "available": false }))
            .await,
    )
    .await;
    let by_rest = screens.received(&app, &f).await;
    rest_ok(
        app.patch(&steak, &owner, json!({ "available": true }))
            .await,
    )
    .await;
    screens.received(&app, &f).await;
    let set = json!({ "type": "menu.set_available", "menu_item_id": f.steak, "available": false });
    ack(chef_ws.command(set).await);
    let by_ws = screens.received(&app, &f).await;
    assert_eq!(kinds(&by_rest), ["menu.availability_changed"]);
    assert_eq!(by_rest, by_ws, "availability");
    rest_ok(
        app.patch(&steak, &owner, json!({ "available": true }))
            .await,
    )
    .await;
    screens.received(&app, &f).await;

    // Placement on a free table, then its cancellation.
    let lines =
        json!([{ "menu_item_id": f.steak, "qty": 1 }, { "menu_item_id": f.wine, "qty": 2 }]);
    let body =
        json!({ "idempotency_key": "rest", "table_id": f.t1, "source": "dine_in", "lines": lines });
    let placed = rest_ok(app.post("/api/v1/orders", Some(&waiter), body).await).await;
    let placed_by_rest = screens.received(&app, &f).await;
    let cancel = format!("/api/v1/orders/{}/cancel", placed["order"]["id"]);
    rest_ok(
        app.post(
            &cancel,
            Some(&waiter),
            json!({ "reason": "changed their mind" }),
        )
        .await,
    )
    .await;
    let cancelled_by_rest = screens.received_ending_visit(&app, &f).await;
    let place = json!({ "type": "order.place", "idempotency_key": "ws", "table_id": f.t1, "source": "dine_in", "lines": lines });
    let placed = ack(waiter_ws.command(place).await);
    let placed_by_ws = screens.received(&app, &f).await;
    let cancel = json!({ "type": "order.cancel", "order_id": placed["order"]["id"], "reason": "changed their mind" });
    ack(waiter_ws.command(cancel).await);
    let cancelled_by_ws = screens.received_ending_visit(&app, &f).await;
    assert_eq!(
        kinds(&placed_by_rest),
        [
            "menu.stock_changed",
            "order.placed",
            "table.status_changed",
            "ticket.placed"
        ]
    );
    assert_eq!(placed_by_rest, placed_by_ws, "placement");
    assert_eq!(
        kinds(&cancelled_by_rest),
        [
            "menu.stock_changed",
            "order.cancelled",
            "order.line_status_changed",
            "table.status_changed"
        ]
    );
    assert_eq!(cancelled_by_rest, cancelled_by_ws, "cancellation");
}

crate::both_backends!(both_edges_announce_the_same_events);
