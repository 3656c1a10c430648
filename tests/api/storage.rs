//! The storage API called directly, function by function, on both backends,
//! so SQLite and PostgreSQL cannot drift apart. A guard test fails when a
//! public storage function is not called here.

use restohub::app::floor::ends_visit;
pub use restohub::app::orders::plan::LineRequest;
use restohub::app::orders::plan::{decide, Invalid, Plan, Request};
use restohub::auth::revocation::Revoked;
use restohub::clock::ManualClock;
use restohub::storage::{
    AuditDraft, AuditFilter, Backend, EventDraft, Location, LoginKey, MfaState, NewRefreshToken,
    NewUser, PageQuery, PlaceOutcome, Placed, PlacementAsk, PlacementFacts, PlacementPlan,
    PlacementWrite, Rotation, Store, UserChanges, Written, GENESIS_HASH,
};
use restohub_protocol::api::menu::{CategoryPatch, MenuItemPatch, NewMenuItem};
use restohub_protocol::api::orders::Order;
use restohub_protocol::api::restaurant::RestaurantPatch;
use restohub_protocol::api::stations::StationPatch;
use restohub_protocol::api::tables::{TablePatch, TableStatus};
use restohub_protocol::Role;

use crate::support::TestDb;

const ALL: PageQuery = PageQuery {
    after: 0,
    limit: 100,
};

/// An event draft's data when the test does not read it: `{}`.
fn empty_data() -> Box<serde_json::value::RawValue> {
    serde_json::value::to_raw_value(&serde_json::json!({})).expect("{} serializes")
}

/// One event of `kind` for `r`'s kitchen, with `{}` as its data.
fn kitchen_draft(kind: &str, r: i64) -> Vec<EventDraft> {
    vec![EventDraft {
        kind: kind.into(),
        rooms: vec![restohub_protocol::ws::Room::Kitchen(r)],
        data: empty_data(),
    }]
}

async fn open(backend: Backend) -> (TestDb, Store) {
    reopen(TestDb::new(backend).await, backend).await
}

/// Connects to `db` and migrates it.
async fn reopen(db: TestDb, backend: Backend) -> (TestDb, Store) {
    let path = db.dir.path().join("store.db");
    let url = db.database_url();
    let location = match &url {
        None => Location::SqliteFile(&path),
        Some(url) => Location::Postgres(url),
    };
    let store = Store::connect(location, 4).await.expect("connect");
    store.migrate().await.expect("migrate");
    // Migrating twice is a no-op.
    store.migrate().await.expect("migrate again");
    assert_eq!(store.backend(), backend);
    store.ping().await.expect("ping");
    (db, store)
}

/// A placement as the hub asks one of storage: the application's request,
/// and the clock that stamps its events as they are appended.
pub struct Placement<'a> {
    pub request: Request<'a>,
    pub clock: &'a dyn restohub::clock::Clock,
}

/// The application's plan, with its events replaced by what `events`
/// drafts from the placed order and what the write found.
struct Drafting<F> {
    plan: Plan,
    events: std::sync::Arc<F>,
}

impl<F: Fn(&Order, &Written<'_>) -> Vec<EventDraft>> PlacementPlan for Drafting<F> {
    fn write(&self) -> &PlacementWrite {
        self.plan.write()
    }

    fn placed(&self, written: &Written<'_>) -> Placed {
        let placed = self.plan.placed(written);
        let events = (self.events)(&placed.order, written);
        Placed {
            order: placed.order,
            events,
            order_event: 0,
        }
    }
}

/// An order change decided by `decide` (once), with the events `events`
/// drafts from what changed, under the application's rules for stock given
/// back and the table.
struct ByClosures<D, V> {
    decide: std::cell::Cell<Option<D>>,
    events: V,
}

fn by_closures<D, V, E>(decide: D, events: V) -> ByClosures<D, V>
where
    D: FnOnce(&Order) -> Result<restohub::storage::OrderChange, E>,
    V: Fn(
        &Order,
        &Order,
        &[restohub::storage::StockChange],
        Option<&restohub::storage::TableChange>,
    ) -> Vec<EventDraft>,
{
    ByClosures {
        decide: std::cell::Cell::new(Some(decide)),
        events,
    }
}

impl<D, V> restohub::storage::TableRules for ByClosures<D, V> {
    fn table_after(&self, wanted: TableStatus, now: TableStatus, open: i64) -> Option<TableStatus> {
        restohub::app::floor::table_after(wanted, now, open)
    }

    fn ends_visit(&self, from: TableStatus, to: TableStatus) -> bool {
        restohub::app::floor::ends_visit(from, to)
    }
}

impl<D, V, E> restohub::storage::OrderChangePlan for ByClosures<D, V>
where
    D: FnOnce(&Order) -> Result<restohub::storage::OrderChange, E>,
    V: Fn(
        &Order,
        &Order,
        &[restohub::storage::StockChange],
        Option<&restohub::storage::TableChange>,
    ) -> Vec<EventDraft>,
{
    type Refusal = E;

    fn decide(&self, order: &Order) -> Result<restohub::storage::OrderChange, E> {
        let decide = self.decide.take().expect("a change is decided once");
        decide(order)
    }

    fn restores_availability(&self, before: i64, available: bool) -> bool {
        restohub::app::kitchen::restores_availability(before, available)
    }

    fn events(&self, c: &restohub::storage::OrderChanged<'_>) -> Vec<EventDraft> {
        (self.events)(c.before, c.after, c.stock, c.table)
    }
}

/// Places `p` through [`Store::place_order`] with the events `events` drafts.
pub async fn place(
    s: &Store,
    p: &Placement<'_>,
    events: impl Fn(&Order, &Written<'_>) -> Vec<EventDraft> + Send + Sync + 'static,
) -> PlaceOutcome<Invalid> {
    let request = &p.request;
    let item_ids = request.item_ids();
    let events = std::sync::Arc::new(events);
    s.place_order(&request.ask(&item_ids, p.clock), |facts| {
        decide(request, facts).map(|plan| Drafting {
            plan,
            events: events.clone(),
        })
    })
    .await
    .unwrap()
}

/// A waiter's dine-in order at `table` under idempotency key `key`, taken
/// at `now`.
fn waiters_order<'a>(
    restaurant_id: i64,
    table: i64,
    lines: &'a [LineRequest],
    key: &'a str,
    now: i64,
    clock: &'a dyn restohub::clock::Clock,
) -> Placement<'a> {
    Placement {
        request: Request {
            restaurant_id,
            table_id: Some(table),
            source: restohub_protocol::api::orders::OrderSource::DineIn,
            note: "",
            lines,
            placed_by_user: None,
            placed_by_role: Role::Waiter,
            idempotency_key: key,
            request_hash: "h",
            now,
        },
        clock,
    }
}

/// A line of `qty` × `menu_item_id` with no note, modifier, seat, course
/// or choice.
pub fn plain_line(menu_item_id: i64, qty: i64) -> LineRequest {
    LineRequest {
        menu_item_id,
        qty,
        note: String::new(),
        modifiers: vec![],
        seat: None,
        course: None,
        choices: vec![],
        index: 0,
    }
}

fn is_unique_violation(e: sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

async fn restaurants_and_configuration(backend: Backend) {
    let (_db, s) = open(backend).await;
    let r = s
        .create_restaurant("one", "One", "UTC", "EUR", 10)
        .await
        .unwrap();
    let other = s
        .create_restaurant("two", "Two", "UTC", "GBP", 10)
        .await
        .unwrap();
    assert!(is_unique_violation(
        s.create_restaurant("one", "Again", "UTC", "EUR", 10)
            .await
            .unwrap_err()
    ));
    assert_eq!(s.restaurant(r.id).await.unwrap().unwrap(), r);
    assert_eq!(s.restaurant_by_slug("two").await.unwrap().unwrap(), other);
    assert!(s.restaurant_by_slug("three").await.unwrap().is_none());
    let patch = RestaurantPatch {
        name: Some("Uno".into()),
        ..Default::default()
    };
    let updated = s.update_restaurant(r.id, &patch).await.unwrap().unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.currency.as_str()),
        ("Uno", "EUR")
    );
    assert!(s.update_restaurant(9999, &patch).await.unwrap().is_none());

    // Stations.
    let grill = s
        .create_station(r.id, "Grill", &Default::default())
        .await
        .unwrap();
    s.create_station(other.id, "Grill", &Default::default())
        .await
        .expect("names are unique per restaurant only");
    assert!(is_unique_violation(
        s.create_station(r.id, "Grill", &Default::default())
            .await
            .unwrap_err()
    ));
    assert_eq!(s.station(r.id, grill.id).await.unwrap().unwrap(), grill);
    assert!(s.station(other.id, grill.id).await.unwrap().is_none());
    let renamed = StationPatch {
        name: Some("Fire".into()),
        ..Default::default()
    };
    assert_eq!(
        s.update_station(r.id, grill.id, &renamed)
            .await
            .unwrap()
            .unwrap()
            .name,
        "Fire"
    );
    assert!(s
        .update_station(other.id, grill.id, &renamed)
        .await
        .unwrap()
        .is_none());
    assert_eq!(s.stations(r.id, ALL).await.unwrap().len(), 1);

    // Categories.
    let mains = s.create_category(r.id, "Mains", 3, 2).await.unwrap();
    assert_eq!(s.category(r.id, mains.id).await.unwrap().unwrap(), mains);
    assert!(s.category(other.id, mains.id).await.unwrap().is_none());
    let moved = CategoryPatch {
        position: Some(1),
        ..Default::default()
    };
    let moved = s
        .update_category(r.id, mains.id, &moved)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((moved.name.as_str(), moved.position), ("Mains", 1));
    assert_eq!(s.categories(r.id, ALL).await.unwrap(), vec![moved]);

    // Menu items: stock, the CHECK, cross-restaurant references.
    let new = NewMenuItem {
        prep_seconds: 0,
        name: "Steak".into(),
        description: "Aged".into(),
        price_cents: 2500,
        category_id: Some(mains.id),
        station_id: Some(grill.id),
        stock: Some(4),
        low_stock_threshold: 1,
        available: true,
        allergens: Default::default(),
    };
    let steak = s.create_menu_item(r.id, &new).await.unwrap();
    assert_eq!((steak.stock, steak.station_id), (Some(4), Some(grill.id)));
    assert_eq!(s.menu_item(r.id, steak.id).await.unwrap().unwrap(), steak);
    assert!(s.menu_item(other.id, steak.id).await.unwrap().is_none());
    let foreign = s.create_menu_item(other.id, &new).await.unwrap_err();
    assert!(foreign
        .as_database_error()
        .unwrap()
        .is_foreign_key_violation());
    let untrack = MenuItemPatch {
        stock: Some(None),
        category_id: Some(None),
        ..Default::default()
    };
    let untracked = s
        .update_menu_item(r.id, steak.id, &untrack)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (untracked.stock, untracked.category_id, untracked.station_id),
        (None, None, Some(grill.id))
    );
    let negative = MenuItemPatch {
        stock: Some(Some(-1)),
        ..Default::default()
    };
    let refused = s
        .update_menu_item(r.id, steak.id, &negative)
        .await
        .unwrap_err();
    assert!(refused.as_database_error().unwrap().is_check_violation());
    assert_eq!(s.menu_items(r.id, ALL).await.unwrap(), vec![untracked]);

    // In-use rows cannot be deleted; others can, once.
    assert!(s
        .delete_station(r.id, grill.id)
        .await
        .unwrap_err()
        .as_database_error()
        .unwrap()
        .is_foreign_key_violation());
    assert!(!s.delete_menu_item(other.id, steak.id).await.unwrap());
    assert!(s.delete_menu_item(r.id, steak.id).await.unwrap());
    assert!(s.delete_station(r.id, grill.id).await.unwrap());
    assert!(!s.delete_station(r.id, grill.id).await.unwrap());
    assert!(s.delete_category(r.id, mains.id).await.unwrap());
    assert!(!s.delete_category(r.id, mains.id).await.unwrap());

    // Tables and guest codes.
    let t1 = s.create_table(r.id, "T1", 4, "CODE000001").await.unwrap();
    assert_eq!(
        (t1.status, t1.guest_code.as_deref()),
        (TableStatus::Free, Some("CODE000001"))
    );
    assert!(is_unique_violation(
        s.create_table(other.id, "T1", 4, "CODE000001")
            .await
            .unwrap_err()
    ));
    assert_eq!(s.table(r.id, t1.id).await.unwrap().unwrap(), t1);
    let found = s.table_by_guest_code("CODE000001").await.unwrap().unwrap();
    assert_eq!((found.restaurant_id, found.table.id), (r.id, t1.id));
    let busy = TablePatch {
        status: Some(TableStatus::Occupied),
        ..Default::default()
    };
    assert_eq!(
        s.change_table(r.id, t1.id, &busy, 1000, ends_visit, |_, _| vec![])
            .await
            .unwrap()
            .unwrap()
            .0
            .status,
        TableStatus::Occupied
    );
    assert_eq!(found.visit, 1);
    let rotated = s
        .rotate_guest_code(r.id, t1.id, 1100)
        .await
        .unwrap()
        .unwrap();
    assert!(s.table_by_guest_code("CODE000001").await.unwrap().is_none());
    let code = rotated.guest_code.unwrap();
    assert_eq!(
        s.table_by_guest_code(&code).await.unwrap().unwrap().visit,
        2
    );
    assert!(s
        .rotate_guest_code(r.id, 999_999, 1100)
        .await
        .unwrap()
        .is_none());
    // The party leaves: a new visit and code, the old visit's guests revoked.
    let leave = TablePatch {
        status: Some(TableStatus::Cleaning),
        ..Default::default()
    };
    let (left, _) = s
        .change_table(r.id, t1.id, &leave, 1200, ends_visit, |_, _| vec![])
        .await
        .unwrap()
        .unwrap();
    assert_ne!(left.guest_code.as_deref(), Some(code.as_str()));
    let visits: Vec<(Revoked, i64)> = s
        .revocations_since(i64::MAX, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.revoked, r.at))
        .collect();
    let table = |below| Revoked::Table {
        table_id: t1.id,
        below,
    };
    assert_eq!(visits, vec![(table(2), 1100), (table(3), 1200)]);
    assert_eq!(
        s.tables(
            r.id,
            PageQuery {
                after: t1.id,
                limit: 10
            }
        )
        .await
        .unwrap(),
        vec![]
    );
    assert!(s.delete_table(r.id, t1.id, 1300).await.unwrap());
    let last = s.revocations_since(i64::MAX, 1300).await.unwrap();
    assert_eq!(last[0].revoked, table(i64::MAX));
    assert!(s.tables(r.id, ALL).await.unwrap().is_empty());
    s.close().await;
}

async fn accounts_lockout_and_refresh_tokens(backend: Backend) {
    let (_db, s) = open(backend).await;
    let r = s
        .create_restaurant("one", "One", "UTC", "EUR", 10)
        .await
        .unwrap();
    let other = s
        .create_restaurant("two", "Two", "UTC", "EUR", 10)
        .await
        .unwrap();
    let new = NewUser {
        email: "a@one.test",
        name: "A",
        role: Role::Chef,
        password_hash: "h1",
    };
    let user = s.create_user(r.id, &new, 20).await.unwrap();
    assert_eq!(
        (user.role, user.created_at.millis(), user.locked_until),
        (Role::Chef, 20, None)
    );
    assert!(is_unique_violation(
        s.create_user(r.id, &new, 20).await.unwrap_err()
    ));
    s.create_user(other.id, &new, 20)
        .await
        .expect("emails are unique per restaurant only");
    assert_eq!(s.user(r.id, user.id, 30).await.unwrap().unwrap(), user);
    assert!(s.user(other.id, user.id, 30).await.unwrap().is_none());
    let creds = s
        .user_credentials(r.id, "a@one.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((creds.id, creds.password_hash.as_str()), (user.id, "h1"));
    assert!(s
        .user_credentials(r.id, "b@one.test")
        .await
        .unwrap()
        .is_none());

    // Lockout state.
    let schedule = |n: i64| (n >= 2).then_some(1000);
    assert_eq!(
        s.record_login_failure(LoginKey::Restaurant(r.id), "a@one.test", 100, schedule)
            .await
            .unwrap()
            .locked_until,
        None
    );
    let lock = s
        .record_login_failure(LoginKey::Restaurant(r.id), "a@one.test", 200, schedule)
        .await
        .unwrap();
    assert_eq!((lock.failures, lock.locked_until), (2, Some(1200)));
    assert_eq!(
        s.login_lock(LoginKey::Restaurant(r.id), "a@one.test", 1199)
            .await
            .unwrap(),
        Some(1200)
    );
    assert_eq!(
        s.login_lock(LoginKey::Restaurant(r.id), "a@one.test", 1200)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.login_lock(LoginKey::Restaurant(other.id), "a@one.test", 300)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.user(r.id, user.id, 300)
            .await
            .unwrap()
            .unwrap()
            .locked_until
            .map(|t| t.millis()),
        Some(1200)
    );
    assert_eq!(
        s.users(r.id, ALL, 300).await.unwrap()[0]
            .locked_until
            .map(|t| t.millis()),
        Some(1200)
    );
    s.clear_login_failures(LoginKey::Restaurant(r.id), "a@one.test")
        .await
        .unwrap();
    assert_eq!(
        s.login_lock(LoginKey::Restaurant(r.id), "a@one.test", 300)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.record_login_failure(LoginKey::Restaurant(r.id), "a@one.test", 400, schedule)
            .await
            .unwrap()
            .failures,
        1
    );
    // A slug with no restaurant is counted and locked the same way, apart.
    let nowhere = LoginKey::UnknownSlug("no-such-place");
    s.record_login_failure(nowhere, "a@one.test", 100, schedule)
        .await
        .unwrap();
    let lock = s
        .record_login_failure(nowhere, "a@one.test", 200, schedule)
        .await
        .unwrap();
    assert_eq!((lock.failures, lock.locked_until), (2, Some(1200)));
    assert_eq!(
        s.login_lock(nowhere, "a@one.test", 300).await.unwrap(),
        Some(1200)
    );
    assert_eq!(
        s.login_lock(LoginKey::UnknownSlug("elsewhere"), "a@one.test", 300)
            .await
            .unwrap(),
        None
    );
    s.clear_login_failures(nowhere, "a@one.test").await.unwrap();
    assert_eq!(
        s.login_lock(nowhere, "a@one.test", 300).await.unwrap(),
        None
    );

    // Refresh tokens: rotate once, reuse revokes the family.
    let token = |hash: &'static str| NewRefreshToken {
        restaurant_id: r.id,
        user_id: user.id,
        family: "fam",
        token_hash: hash,
        expires_at: 10_000,
    };
    s.insert_refresh_token(&token("h-a"), 100).await.unwrap();
    let rotated = s
        .rotate_refresh_token("h-a", "h-b", 200, 10_000)
        .await
        .unwrap();
    assert_eq!(
        rotated,
        Rotation::Rotated {
            restaurant_id: r.id,
            user_id: user.id,
            family: "fam".into(),
        }
    );
    assert_eq!(
        s.rotate_refresh_token("h-a", "h-c", 300, 10_000)
            .await
            .unwrap(),
        Rotation::Reused
    );
    assert_eq!(
        s.rotate_refresh_token("h-b", "h-d", 400, 10_000)
            .await
            .unwrap(),
        Rotation::Invalid
    );
    assert_eq!(
        s.rotate_refresh_token("unknown", "h-e", 400, 10_000)
            .await
            .unwrap(),
        Rotation::Invalid
    );
    // Expiry, and logout by family.
    s.insert_refresh_token(
        &NewRefreshToken {
            family: "fam2",
            ..token("h-f")
        },
        100,
    )
    .await
    .unwrap();
    assert_eq!(
        s.rotate_refresh_token("h-f", "h-g", 10_000, 20_000)
            .await
            .unwrap(),
        Rotation::Invalid
    );
    s.insert_refresh_token(
        &NewRefreshToken {
            family: "fam3",
            ..token("h-h")
        },
        100,
    )
    .await
    .unwrap();
    assert!(s.revoke_refresh_family("h-h", 500).await.unwrap());
    assert!(!s.revoke_refresh_family("h-h", 600).await.unwrap());
    assert_eq!(
        s.rotate_refresh_token("h-h", "h-i", 700, 10_000)
            .await
            .unwrap(),
        Rotation::Invalid
    );

    // A new password revokes the user's live refresh tokens.
    s.insert_refresh_token(
        &NewRefreshToken {
            family: "fam4",
            ..token("h-j")
        },
        100,
    )
    .await
    .unwrap();
    // A name change keeps the session version; a role or password change
    // moves it on and revokes the tokens below it.
    let version = || async {
        s.user_for_token(r.id, user.id, 800)
            .await
            .unwrap()
            .unwrap()
            .1
    };
    assert_eq!(version().await, 0);
    let renamed = UserChanges {
        name: Some("Renamed"),
        ..Default::default()
    };
    s.update_user(r.id, user.id, &renamed, 790).await.unwrap();
    assert_eq!(version().await, 0);
    let changes = UserChanges {
        password_hash: Some("h2"),
        role: Some(Role::Waiter),
        ..Default::default()
    };
    let changed = s
        .update_user(r.id, user.id, &changes, 800)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.role, Role::Waiter);
    let (as_token, v) = s.user_for_token(r.id, user.id, 800).await.unwrap().unwrap();
    assert_eq!((as_token, v), (changed.clone(), 1));
    assert_eq!(
        s.revocations_since(i64::MAX, 800).await.unwrap()[0].revoked,
        Revoked::Account {
            user_id: user.id,
            below: 1
        }
    );
    assert!(s
        .user_for_token(other.id, user.id, 800)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        s.user_credentials(r.id, "a@one.test")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "h2"
    );
    assert_eq!(
        s.rotate_refresh_token("h-j", "h-k", 900, 10_000)
            .await
            .unwrap(),
        Rotation::Invalid
    );
    assert!(s
        .update_user(other.id, user.id, &changes, 800)
        .await
        .unwrap()
        .is_none());

    assert!(!s.delete_user(other.id, user.id, 850).await.unwrap());
    assert!(s.delete_user(r.id, user.id, 850).await.unwrap());
    let gone = s.revocations_since(i64::MAX, 850).await.unwrap();
    assert_eq!(
        (gone.len(), &gone[0].revoked),
        (
            1,
            &Revoked::Account {
                user_id: user.id,
                below: i64::MAX
            }
        )
    );
    // Every revocation is read back by id too, and pruned by age.
    let all = s.revocations_since(0, i64::MAX).await.unwrap();
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(all.last().unwrap().id, gone[0].id);
    assert_eq!(
        s.prune_revocations(850).await.unwrap(),
        all.len() as u64 - 1
    );
    assert_eq!(s.revocations_since(0, i64::MAX).await.unwrap().len(), 1);
    assert!(s.user(r.id, user.id, 900).await.unwrap().is_none());
    s.close().await;
}

/// An available menu item with no category or station.
fn menu_item(
    name: &str,
    price_cents: i64,
    stock: Option<i64>,
    low_stock_threshold: i64,
) -> NewMenuItem {
    NewMenuItem {
        prep_seconds: 0,
        name: name.into(),
        description: String::new(),
        price_cents,
        category_id: None,
        station_id: None,
        stock,
        low_stock_threshold,
        available: true,
        allergens: Default::default(),
    }
}

async fn orders_and_the_event_log(backend: Backend) {
    use restohub_protocol::api::orders::OrderSource;
    use restohub_protocol::ws::Room;

    let (_db, s) = open(backend).await;
    let r = s
        .create_restaurant("one", "One", "UTC", "EUR", 10)
        .await
        .unwrap();
    let item = |name: &str, stock: Option<i64>| menu_item(name, 100, stock, 0);
    let soup = s
        .create_menu_item(r.id, &item("Soup", Some(3)))
        .await
        .unwrap();
    let tea = s.create_menu_item(r.id, &item("Tea", None)).await.unwrap();
    let table = s.create_table(r.id, "T1", 2, "STORECODE1").await.unwrap();
    assert_eq!(s.table_ids(r.id).await.unwrap(), vec![table.id]);
    assert_eq!(s.current_seq(r.id).await.unwrap(), 0);

    let lines = |qty: i64| {
        vec![
            plain_line(soup.id, qty),
            LineRequest {
                menu_item_id: tea.id,
                qty: 1,
                note: "hot".into(),
                modifiers: vec!["lemon".into()],
                seat: None,
                course: None,
                choices: vec![],
                index: 0,
            },
        ]
    };
    let two = lines(2);
    // The order is taken at 1000; its events are appended later, at 1200
    // (after waiting for the writer, say), and say so.
    let clock: &'static ManualClock = Box::leak(Box::new(ManualClock::new(1200)));
    let placement =
        |key: &'static str, lines: &'static [LineRequest], hash: &'static str| Placement {
            request: Request {
                restaurant_id: r.id,
                table_id: Some(table.id),
                source: OrderSource::DineIn,
                note: "",
                lines,
                placed_by_user: None,
                placed_by_role: Role::Waiter,
                idempotency_key: key,
                request_hash: hash,
                now: 1000,
            },
            clock,
        };
    let two: &'static [LineRequest] = Box::leak(two.into_boxed_slice());
    let rid = r.id;
    let drafts = move |kinds: &[&str]| -> Vec<EventDraft> {
        kinds
            .iter()
            .map(|k| EventDraft {
                kind: (*k).into(),
                rooms: vec![Room::Kitchen(rid)],
                data: empty_data(),
            })
            .collect()
    };
    let table_id = table.id;
    let outcome = place(&s, &placement("a", two, "h1"), move |order, written| {
        assert_eq!(order.total_cents, 300);
        // Stock changed, so the tables (whose guests see it) are listed.
        assert_eq!(written.tables, [table_id]);
        // Soup went from 3 to 1.
        assert_eq!(written.stock_after, [1]);
        assert!(written.table_changed, "the free table was taken");
        drafts(&["order.placed", "menu.stock_changed"])
    })
    .await;
    let PlaceOutcome::Placed { order, events, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(
        events.iter().map(|e| e.at).collect::<Vec<_>>(),
        [1200, 1200]
    );
    assert_eq!(order.created_at.0, 1000);
    assert_eq!(order.placed_seq, 1);
    assert_eq!(s.order(r.id, order.id).await.unwrap().unwrap(), order);
    assert_eq!(order.lines[1].modifiers, ["lemon"]);
    assert_eq!(s.current_seq(r.id).await.unwrap(), 2);
    // Every restaurant's seq in one read; an unknown id is left out.
    let quiet = s
        .create_restaurant("quiet", "Quiet", "UTC", "EUR", 10)
        .await
        .unwrap();
    let mut seqs = s.current_seqs(&[quiet.id, r.id, 999_999]).await.unwrap();
    seqs.sort_unstable();
    assert_eq!(seqs, [(r.id, 2), (quiet.id, 0)]);
    assert!(s.current_seqs(&[]).await.unwrap().is_empty());

    // The same key: the original; with another body: refused.
    // (Telling a retry from a reuse is the caller's: it compares the hash.)
    let again = place(&s, &placement("a", two, "h1"), move |_, _| drafts(&["x"])).await;
    assert!(
        matches!(again, PlaceOutcome::Existing { order: ref o, ref request_hash } if o == &order && request_hash == "h1")
    );
    let reused = place(&s, &placement("a", two, "other"), move |_, _| {
        drafts(&["x"])
    })
    .await;
    assert!(
        matches!(reused, PlaceOutcome::Existing { ref request_hash, .. } if request_hash == "h1")
    );
    // Short: nothing taken, nothing written.
    let short = place(&s, &placement("b", two, "h2"), move |_, _| drafts(&["x"])).await;
    let PlaceOutcome::OutOfStock(items) = short else {
        panic!("{short:?}")
    };
    assert_eq!(
        (
            items[0].menu_item_id,
            items[0].requested,
            items[0].available
        ),
        (soup.id, 2, Some(1))
    );
    assert_eq!(items[0].name, "Soup");
    let gone: &'static [LineRequest] = Box::leak(vec![plain_line(999_999, 1)].into_boxed_slice());
    let invalid = place(&s, &placement("c", gone, "h3"), move |_, _| drafts(&["x"])).await;
    assert!(
        matches!(invalid, PlaceOutcome::Refused(Invalid(ref field, "not_found", _)) if field == "lines[0].menu_item_id")
    );
    assert_eq!(s.order_count(r.id).await.unwrap(), 1);
    assert_eq!(s.current_seq(r.id).await.unwrap(), 2);
    assert_eq!(
        s.menu_item(r.id, soup.id).await.unwrap().unwrap().stock,
        Some(1)
    );

    // Changing an order: refused (nothing changes), unknown, and applied
    // with stock back to a sold-out item and the table freed.
    use restohub::storage::{LineUpdate, OrderChange, StockReturn};
    use restohub_protocol::api::orders::{LineStatus, OrderStatus};
    let refused = s
        .change_order(
            r.id,
            order.id,
            2000,
            &by_closures(
                |_| Err::<OrderChange, &str>("no"),
                |_, _, _, _| drafts(&["x"]),
            ),
        )
        .await
        .unwrap();
    assert_eq!(refused.refusal(), Some("no"));
    let unknown = s
        .change_order(
            r.id,
            999_999,
            2000,
            &by_closures(|_| Ok::<_, ()>(OrderChange::default()), |_, _, _, _| vec![]),
        )
        .await
        .unwrap();
    assert!(matches!(unknown, restohub::storage::Changed::NotFound));
    let sold_out = MenuItemPatch {
        stock: Some(Some(0)),
        available: Some(false),
        ..Default::default()
    };
    s.update_menu_item(r.id, soup.id, &sold_out).await.unwrap();
    let line = order.lines[0].id;
    let changed = s
        .change_order(
            r.id,
            order.id,
            2000,
            &by_closures(
                |current| {
                    assert_eq!(current.status, OrderStatus::Placed);
                    Ok::<_, ()>(OrderChange {
                        order_status: Some(OrderStatus::Cancelled),
                        lines: vec![LineUpdate {
                            id: line,
                            status: LineStatus::Voided,
                            fired_at: Some(1000),
                            start_at: Some(1000),
                            started_at: None,
                            ready_at: None,
                            served_at: None,
                            void_reason: Some("spilt".into()),
                        }],
                        stock_returns: vec![StockReturn {
                            menu_item_id: soup.id,
                            qty: 2,
                        }],
                        table_status: Some(TableStatus::Free),
                        rush: None,
                    })
                },
                |before, after, stock, table| {
                    assert_eq!(
                        (before.status, after.status),
                        (OrderStatus::Placed, OrderStatus::Cancelled)
                    );
                    assert_eq!(after.lines[0].status, LineStatus::Voided);
                    assert_eq!(after.lines[0].void_reason.as_deref(), Some("spilt"));
                    assert_eq!(
                        (stock[0].before, stock[0].after, stock[0].became_available),
                        (0, 2, true)
                    );
                    assert_eq!(
                        table.map(|t| (t.from, t.to)),
                        Some((TableStatus::Occupied, TableStatus::Free))
                    );
                    drafts(&["order.cancelled"])
                },
            ),
        )
        .await
        .unwrap()
        .done()
        .unwrap();
    assert_eq!(changed.1.iter().map(|e| e.seq).collect::<Vec<_>>(), [3]);
    let soup_now = s.menu_item(r.id, soup.id).await.unwrap().unwrap();
    assert_eq!((soup_now.stock, soup_now.available), (Some(2), true));
    assert_eq!(
        s.table(r.id, table.id).await.unwrap().unwrap().status,
        TableStatus::Free
    );

    // No held course to fire: nothing open (the timed fire is exercised
    // end to end in tests/api/courses.rs).
    assert!(s.held_courses_due(i64::MAX / 4).await.unwrap().is_empty());

    // Snapshots carry the seq they are consistent with.
    let kitchen = s.kitchen_snapshot(r.id).await.unwrap();
    assert_eq!(
        (kitchen.seq, kitchen.orders.len(), kitchen.all_day.len()),
        (3, 0, 0),
        "the only order was cancelled"
    );
    let (seq, tables, open) = s.table_snapshot(r.id, Some(table.id)).await.unwrap();
    assert_eq!((seq, tables.len(), open.len()), (3, 1, 0));
    let (seq, categories, items) = s.menu_snapshot(r.id).await.unwrap();
    assert_eq!((seq, categories.len(), items.len()), (3, 0, 2));
    // Table status and stand-alone events, each with its seq.
    let reserve = TablePatch {
        status: Some(TableStatus::Reserved),
        ..Default::default()
    };
    let set = s
        .change_table(
            r.id,
            table.id,
            &reserve,
            1500,
            ends_visit,
            |before, after| {
                assert_eq!(
                    (before.status, after.status),
                    (TableStatus::Free, TableStatus::Reserved)
                );
                drafts(&["table.status_changed"])
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((set.0.status, set.1[0].seq), (TableStatus::Reserved, 4));
    let same = s
        .change_table(
            r.id,
            table.id,
            &reserve,
            1500,
            ends_visit,
            |before, after| {
                assert_eq!(before, after);
                vec![]
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(same.1.is_empty(), "nothing drafted, nothing appended");
    assert!(s
        .change_table(r.id, 999_999, &reserve, 1500, ends_visit, |_, _| vec![])
        .await
        .unwrap()
        .is_none());
    let called = s
        .append_events(r.id, drafts(&["table.waiter_called"]), 1500)
        .await
        .unwrap();
    assert_eq!(called[0].seq, 5);
    // A menu change with its events, and one refused.
    let restock = s
        .change_menu_item(
            r.id,
            soup.id,
            1500,
            |_| {
                Ok::<_, ()>(MenuItemPatch {
                    stock: Some(Some(9)),
                    ..Default::default()
                })
            },
            |b, a| {
                assert_eq!((b.stock, a.stock), (Some(2), Some(9)));
                drafts(&["menu.stock_changed"])
            },
            |b, a| vec![audit_draft("menu.stock_changed", b.stock, a.stock)],
        )
        .await
        .unwrap()
        .done()
        .unwrap();
    assert_eq!((restock.0.stock, restock.1[0].seq), (Some(9), 6));
    // Its audit entry committed with it.
    let audited = s
        .audit_entries(r.id, &AuditFilter::default(), ALL)
        .await
        .unwrap();
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].before_json.as_deref(), Some("2"));
    let refused = s
        .change_menu_item(
            r.id,
            soup.id,
            1500,
            |_| Err::<MenuItemPatch, _>("no"),
            |_, _| vec![],
            |_, _| vec![audit_draft("menu.stock_changed", None, None)],
        )
        .await
        .unwrap();
    assert_eq!(refused.refusal(), Some("no"));
    let heads = s.audit_heads().await.unwrap();
    assert_eq!(heads[0].seq, 1, "a refused change records nothing");
    assert_eq!(s.current_seq(r.id).await.unwrap(), 6);

    // The log reads back in order, and retention prunes by age.
    let logged = s.events_between(r.id, 0, 3, 100).await.unwrap();
    assert_eq!(
        logged
            .iter()
            .map(|e| (e.seq, e.kind.as_str()))
            .collect::<Vec<_>>(),
        [
            (1, "order.placed"),
            (2, "menu.stock_changed"),
            (3, "order.cancelled")
        ]
    );
    assert_eq!(logged[0].rooms, [Room::Kitchen(r.id)]);
    assert_eq!(s.events_between(r.id, 1, 2, 100).await.unwrap().len(), 1);
    assert_eq!(s.prune_events(1200).await.unwrap(), 0);
    assert_eq!(s.prune_events(1201).await.unwrap(), 2);
    let left = s.events_between(r.id, 0, 10, 100).await.unwrap();
    assert_eq!(left.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5, 6]);
    assert_eq!(
        s.current_seq(r.id).await.unwrap(),
        6,
        "pruning never reuses seqs"
    );

    // Several lines, one item twice: the lines keep the request's order and
    // their ids; the last of the stock sells the item out.
    let line = |id: i64, qty: i64, note: &str| LineRequest {
        menu_item_id: id,
        qty,
        note: note.into(),
        modifiers: vec![note.into()],
        seat: None,
        course: None,
        choices: vec![],
        index: 0,
    };
    let three: &'static [LineRequest] = Box::leak(
        vec![
            line(tea.id, 1, "a"),
            line(soup.id, 9, "b"),
            line(tea.id, 2, "c"),
        ]
        .into_boxed_slice(),
    );
    let outcome = place(&s, &placement("d", three, "h4"), move |order, written| {
        assert_eq!(written.stock_after, [0]);
        assert!(!written.table_changed, "the table was reserved, not free");
        assert_eq!(order.total_cents, 1200);
        drafts(&[
            "order.placed",
            "menu.stock_changed",
            "menu.availability_changed",
        ])
    })
    .await;
    let PlaceOutcome::Placed { order, events, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        order
            .lines
            .iter()
            .map(|l| (l.menu_item_id, l.qty, l.note.as_str(), l.name.as_str()))
            .collect::<Vec<_>>(),
        [
            (tea.id, 1, "a", "Tea"),
            (soup.id, 9, "b", "Soup"),
            (tea.id, 2, "c", "Tea")
        ]
    );
    assert!(order.lines.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(s.order(r.id, order.id).await.unwrap().unwrap(), order);
    assert_eq!(order.placed_seq, 7);
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [7, 8, 9]);
    let logged = s.events_between(r.id, 6, 9, 100).await.unwrap();
    assert_eq!(
        logged.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        [
            "order.placed",
            "menu.stock_changed",
            "menu.availability_changed"
        ]
    );
    let soup_now = s.menu_item(r.id, soup.id).await.unwrap().unwrap();
    assert_eq!((soup_now.stock, soup_now.available), (Some(0), false));
    s.close().await;
}

/// The counters follow placements and every later change exactly, on the
/// business day (in the restaurant's zone) the order was placed.
async fn statistics_follow_every_change(backend: Backend) {
    use restohub::storage::{AnalyticsRange, LineUpdate, OrderChange};
    use restohub_protocol::api::analytics::{Amount, GroupBy};
    use restohub_protocol::api::orders::{LineStatus, OrderSource, OrderStatus};

    let (_db, s) = open(backend).await;
    // Kolkata is UTC+05:30: local hours start at :30 UTC.
    let r = s
        .create_restaurant("stats", "Stats", "Asia/Kolkata", "INR", 0)
        .await
        .unwrap();
    let item =
        |name: &str, price_cents: i64, stock: Option<i64>| menu_item(name, price_cents, stock, 4);
    let dal = s
        .create_menu_item(r.id, &item("Dal", 250, Some(5)))
        .await
        .unwrap();
    let naan = s
        .create_menu_item(r.id, &item("Naan", 100, None))
        .await
        .unwrap();
    // 2027-01-15 23:10 in Kolkata.
    let late = 1_800_034_800_000; // 2027-01-15T17:40:00Z
    let placement = |key: &'static str, lines: Vec<LineRequest>, now: i64| {
        let lines: &'static [LineRequest] = Box::leak(lines.into_boxed_slice());
        Placement {
            request: Request {
                restaurant_id: r.id,
                table_id: None,
                source: OrderSource::Takeaway,
                note: "",
                lines,
                placed_by_user: None,
                placed_by_role: Role::Cashier,
                idempotency_key: key,
                request_hash: key,
                now,
            },
            clock: &restohub::clock::SystemClock,
        }
    };
    let PlaceOutcome::Placed { order: a, .. } = place(
        &s,
        &placement(
            "a",
            vec![plain_line(dal.id, 2), plain_line(naan.id, 1)],
            late,
        ),
        |_, _| vec![],
    )
    .await
    else {
        panic!("not placed")
    };
    let d = s.dashboard(r.id, late).await.unwrap().unwrap();
    assert_eq!(d.business_day, "2027-01-15");
    assert_eq!(
        (
            d.today.orders,
            d.today.revenue_open_cents,
            d.today.average_order_cents
        ),
        (1, 600, Some(600))
    );
    assert_eq!(
        (
            d.open_orders.placed,
            d.slowest_open_ticket.map(|t| t.order_id)
        ),
        (1, Some(a.id))
    );
    assert_eq!(
        d.top_by_qty
            .iter()
            .map(|i| (i.menu_item_id, i.qty))
            .collect::<Vec<_>>(),
        [(dal.id, 2), (naan.id, 1)]
    );
    assert_eq!(d.top_by_revenue[0].revenue_cents, 500);
    assert_eq!(
        d.low_stock
            .iter()
            .map(|i| (i.menu_item_id, i.stock))
            .collect::<Vec<_>>(),
        [(dal.id, Some(3))]
    );
    assert_eq!(d.orders_per_hour.len(), 24);
    let now_hour = d.orders_per_hour[23];
    assert_eq!(
        (now_hour.hour_start.0, now_hour.orders),
        (late - 10 * 60_000, 1)
    );
    assert!(s.dashboard(999_999, late).await.unwrap().is_none());

    // Ready after five minutes; a line voided; closed after midnight: all
    // of it counts on the 15th.
    let change = |lines: Vec<(i64, LineStatus)>, status: Option<OrderStatus>| {
        move |_: &restohub_protocol::api::orders::Order| {
            Ok::<_, ()>(OrderChange {
                order_status: status,
                lines: lines
                    .iter()
                    .map(|&(id, status)| LineUpdate {
                        id,
                        status,
                        fired_at: Some(1),
                        start_at: Some(1),
                        started_at: None,
                        ready_at: None,
                        served_at: None,
                        void_reason: None,
                    })
                    .collect(),
                ..OrderChange::default()
            })
        }
    };
    let all_ready = a.lines.iter().map(|l| (l.id, LineStatus::Ready)).collect();
    let (ready, _) = s
        .change_order(
            r.id,
            a.id,
            late + 300_000,
            &by_closures(
                change(all_ready, Some(OrderStatus::Ready)),
                |_, _, _, _| vec![],
            ),
        )
        .await
        .unwrap()
        .done()
        .unwrap();
    assert_eq!(ready.ready_at.map(|t| t.0), Some(late + 300_000));
    let naan_line = a
        .lines
        .iter()
        .find(|l| l.menu_item_id == naan.id)
        .unwrap()
        .id;
    s.change_order(
        r.id,
        a.id,
        late + 400_000,
        &by_closures(
            change(vec![(naan_line, LineStatus::Voided)], None),
            |_, _, _, _| vec![],
        ),
    )
    .await
    .unwrap()
    .done()
    .unwrap();
    let after_midnight = late + 3_600_000;
    let (closed, _) = s
        .change_order(
            r.id,
            a.id,
            after_midnight,
            &by_closures(
                change(vec![], Some(OrderStatus::Closed)),
                |_, _, _, _| vec![],
            ),
        )
        .await
        .unwrap()
        .done()
        .unwrap();
    assert_eq!(
        closed.ready_at, ready.ready_at,
        "closing keeps the ready time"
    );

    // A second order on the 16th, cancelled.
    let PlaceOutcome::Placed { order: b, .. } = place(
        &s,
        &placement("b", vec![plain_line(naan.id, 3)], after_midnight),
        |_, _| vec![],
    )
    .await
    else {
        panic!("not placed")
    };
    let voided = b.lines.iter().map(|l| (l.id, LineStatus::Voided)).collect();
    s.change_order(
        r.id,
        b.id,
        after_midnight,
        &by_closures(
            change(voided, Some(OrderStatus::Cancelled)),
            |_, _, _, _| vec![],
        ),
    )
    .await
    .unwrap()
    .done()
    .unwrap();

    let d = s.dashboard(r.id, after_midnight).await.unwrap().unwrap();
    assert_eq!(d.business_day, "2027-01-16");
    assert_eq!(
        (d.today.orders, d.today.cancellations),
        (
            0,
            Amount {
                count: 1,
                cents: 300
            }
        )
    );
    assert_eq!(d.open_orders, Default::default());
    assert!(d.top_by_qty.is_empty());
    // Orders alone take no money: that comes from checks (tests/api/money.rs).
    assert_eq!(d.money, Default::default());

    let range = |group_by, after, limit| AnalyticsRange {
        from: "2027-01-15".parse().unwrap(),
        to: "2027-01-16".parse().unwrap(),
        group_by,
        after,
        limit,
    };
    let days = s
        .analytics(r.id, &range(GroupBy::Day, None, 50))
        .await
        .unwrap()
        .unwrap();
    let t = &days.totals;
    assert_eq!(
        (t.orders, t.revenue_closed_cents, t.revenue_open_cents),
        (1, 500, 0)
    );
    assert_eq!(
        (t.voids, t.cancellations),
        (
            Amount {
                count: 1,
                cents: 100
            },
            Amount {
                count: 1,
                cents: 300
            }
        )
    );
    assert_eq!(
        (t.kitchen.orders, t.kitchen.average_ms, t.kitchen.p90_ms),
        (1, Some(300_000), Some(300_000))
    );
    assert_eq!(
        days.top_by_qty
            .iter()
            .map(|i| (i.menu_item_id, i.qty))
            .collect::<Vec<_>>(),
        [(dal.id, 2)]
    );
    assert_eq!(days.buckets.len(), 2);
    assert_eq!(
        (
            days.buckets[0].business_day.as_str(),
            days.buckets[0].figures.revenue_closed_cents
        ),
        ("2027-01-15", 500)
    );
    assert_eq!(days.buckets[1].figures.cancellations.count, 1);
    assert_eq!(days.next_after, None);
    let hours = s
        .analytics(r.id, &range(GroupBy::Hour, None, 24))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hours.buckets.len(), 24);
    assert_eq!(hours.buckets[23].figures.orders, 1, "23:00 on the 15th");
    let next = hours.next_after.unwrap();
    let rest = s
        .analytics(r.id, &range(GroupBy::Hour, Some(next.0), 24))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((rest.buckets.len(), rest.next_after), (24, None));
    assert_eq!(
        rest.buckets[0].figures.cancellations.count, 1,
        "00:00 on the 16th"
    );
    assert!(s
        .analytics(999_999, &range(GroupBy::Day, None, 5))
        .await
        .unwrap()
        .is_none());
    s.close().await;
}

/// SQLite's writer never checkpoints inside a commit; the store's own task
/// copies the WAL into the database file. Were that task gone, the file
/// would stay at its first pages and the WAL would grow without end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writes_reach_the_database_file() {
    let (db, s) = open(Backend::Sqlite).await;
    let file = db.dir.path().join("store.db");
    let size = || std::fs::metadata(&file).unwrap().len();
    let r = s
        .create_restaurant("wal", "Wal", "UTC", "EUR", 10)
        .await
        .unwrap();
    let before = size();
    let note = "x".repeat(1000);
    for i in 0..200 {
        let draft = restohub::storage::EventDraft {
            kind: "table.waiter_called".into(),
            rooms: vec![],
            data: serde_json::value::to_raw_value(&serde_json::json!({ "n": i, "note": note }))
                .unwrap(),
        };
        s.append_events(r.id, vec![draft], 1000 + i).await.unwrap();
    }
    // 200 KB of events: at least that much must leave the WAL.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while size() < before + 200_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file is still {} bytes (was {before})",
            size()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    s.close().await;
}

/// A PostgreSQL store with a restaurant `slug` selling a tracked soup (5 in
/// stock) and an untracked tea, and a raw pool beside it for the test's own
/// transactions.
async fn soup_and_tea(
    slug: &str,
    name: &str,
) -> (
    TestDb,
    Store,
    sqlx::PgPool,
    restohub_protocol::api::restaurant::Restaurant,
    restohub_protocol::api::menu::MenuItem,
    restohub_protocol::api::menu::MenuItem,
) {
    let (db, s) = open(Backend::Postgres).await;
    let raw = sqlx::PgPool::connect(&db.database_url().unwrap())
        .await
        .unwrap();
    let r = s
        .create_restaurant(slug, name, "UTC", "EUR", 10)
        .await
        .unwrap();
    let soup = s
        .create_menu_item(r.id, &menu_item("Soup", 100, Some(5), 0))
        .await
        .unwrap();
    let tea = s
        .create_menu_item(r.id, &menu_item("Tea", 100, None, 0))
        .await
        .unwrap();
    (db, s, raw, r, soup, tea)
}

/// A menu change moves the menu's version as it commits, not when it is
/// made: until then the restaurant's row stays free for the transactions
/// that take it last (an order's or a payment's event seq, after an audit
/// chain's head), so a menu change waiting for the head cannot hold the
/// row they wait for. Each kind of change, made in a transaction held open
/// by hand, leaves the row to the lock an update of its seq takes (`FOR NO
/// KEY UPDATE`; a new row's foreign key holds only a key-share lock, which
/// does not conflict); committed, the version has moved once per row
/// changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_menu_change_takes_its_restaurants_row_as_it_commits() {
    let (_db, s, raw, r, soup, _tea) = soup_and_tea("late", "Late").await;
    let rid = r.id;
    let version = |raw: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, i64>(&format!(
            "SELECT menu_version FROM restaurants WHERE id = {rid}"
        ))
        .fetch_one(&raw)
        .await
        .unwrap()
    };
    let changes = [
        format!(
            "UPDATE menu_items SET price_cents = 250 WHERE id = {}",
            soup.id
        ),
        format!("INSERT INTO stations (restaurant_id, name) VALUES ({rid}, 'Bar')"),
        format!("INSERT INTO menu_categories (restaurant_id, name) VALUES ({rid}, 'Soups')"),
        format!(
            "INSERT INTO dining_tables (restaurant_id, label, seats, guest_code) \
             VALUES ({rid}, 'T9', 2, 'LATECODE9')"
        ),
    ];
    for sql in &changes {
        let before = version(raw.clone()).await;
        let mut change = raw.begin().await.unwrap();
        sqlx::query(sql).execute(&mut *change).await.unwrap();
        let mut other = raw.begin().await.unwrap();
        sqlx::query(&format!(
            "SELECT id FROM restaurants WHERE id = {rid} FOR NO KEY UPDATE NOWAIT"
        ))
        .execute(&mut *other)
        .await
        .unwrap_or_else(|e| panic!("after {sql} the restaurant's row is held: {e}"));
        other.rollback().await.unwrap();
        change.commit().await.unwrap();
        assert_eq!(version(raw.clone()).await, before + 1, "{sql}");
    }
    s.close().await;
}

/// An order of an item whose change is under way (its row locked, its
/// decision not yet taken) is written without waiting for the change: the
/// change locks the row as its update will (`FOR NO KEY UPDATE`), which the
/// order's foreign-key check on its line's item does not wait for. With
/// `FOR UPDATE` the order waited, holding its restaurant's event seq, and
/// the change then waited for that seq: a deadlock.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_order_does_not_wait_for_a_change_of_its_item() {
    let (_db, s, _raw, r, _soup, tea) = soup_and_tea("locks", "Locks").await;
    let rid = r.id;
    let (locked, is_locked) = std::sync::mpsc::channel::<()>();
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let changing = {
        let s = s.clone();
        tokio::spawn(async move {
            s.change_menu_item(
                r.id,
                tea.id,
                1500,
                move |_| {
                    locked.send(()).unwrap();
                    let _ = wait.recv_timeout(std::time::Duration::from_secs(20));
                    Ok::<_, ()>(MenuItemPatch {
                        price_cents: Some(150),
                        ..Default::default()
                    })
                },
                move |_, _| kitchen_draft("menu.item_updated", rid),
                |b, a| {
                    vec![audit_draft(
                        "menu.price_changed",
                        Some(b.price_cents),
                        Some(a.price_cents),
                    )]
                },
            )
            .await
        })
    };
    tokio::task::spawn_blocking(move || is_locked.recv().unwrap())
        .await
        .unwrap();
    let clock: &'static ManualClock = Box::leak(Box::new(ManualClock::new(1000)));
    let placing = spawn_takeaway(&s, r.id, "locks-1", "h", tea.id, 1, clock);
    let placed = tokio::time::timeout(std::time::Duration::from_secs(10), placing).await;
    go.send(()).unwrap();
    let outcome = placed
        .expect("the order waited for the item's change")
        .unwrap();
    assert!(
        matches!(outcome, PlaceOutcome::Placed { .. }),
        "{outcome:?}"
    );
    let (item, _) = changing.await.unwrap().unwrap().done().unwrap();
    assert_eq!(item.price_cents, 150);
    s.close().await;
}

/// Writes an order with `key` and `hash` in `tx`, as another placement
/// would (for the PostgreSQL race tests); its id.
async fn rival_order(tx: &mut sqlx::PgConnection, r: i64, key: &str, hash: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO orders (restaurant_id, source, status, note, total_cents, placed_by_role, \
         idempotency_key, request_hash, placed_seq, created_at, updated_at) \
         VALUES ($1, 'takeaway', 'placed', '', 0, 'waiter', $2, $3, 0, 1, 1) RETURNING id",
    )
    .bind(r)
    .bind(key)
    .bind(hash)
    .fetch_one(tx)
    .await
    .unwrap()
}

/// Places a takeaway of `qty` × `item` under `key` and `hash` in restaurant
/// `r`, drafting one `order.placed` to its kitchen, in a task of its own
/// (for the PostgreSQL race tests).
fn spawn_takeaway(
    s: &Store,
    r: i64,
    key: &'static str,
    hash: &'static str,
    item: i64,
    qty: i64,
    clock: &'static ManualClock,
) -> tokio::task::JoinHandle<PlaceOutcome<Invalid>> {
    use restohub_protocol::api::orders::OrderSource;

    let store = s.clone();
    tokio::spawn(async move {
        let lines = [plain_line(item, qty)];
        let placement = Placement {
            request: Request {
                restaurant_id: r,
                table_id: None,
                source: OrderSource::Takeaway,
                note: "",
                lines: &lines,
                placed_by_user: None,
                placed_by_role: Role::Waiter,
                idempotency_key: key,
                request_hash: hash,
                now: 1000,
            },
            clock,
        };
        let drafts = move |_: &Order, _: &Written<'_>| kitchen_draft("order.placed", r);
        place(&store, &placement, drafts).await
    })
}

/// On PostgreSQL the opening read and the write are separate statements, so
/// a placement can find its key free and then lose it to another placement
/// that commits first. It answers as a retry of the winner would (the
/// winner's order, or a conflict when the bodies differ) and takes nothing:
/// no stock, no seq, no second order. The winner here is a transaction held
/// open by hand until the placement waits on the key's index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_won_by_a_concurrent_placement_takes_nothing() {
    let (_db, s, raw, r, soup, tea) = soup_and_tea("race", "Race").await;
    let clock: &'static ManualClock = Box::leak(Box::new(ManualClock::new(1000)));
    // Tea alone is written without a transaction; soup's stock needs one.
    for (key, item, winner_hash, outcome_is_existing) in [
        ("tea", tea.id, "same", true),
        ("soup", soup.id, "different", false),
    ] {
        let mut winner = raw.begin().await.unwrap();
        let winner_id = rival_order(&mut winner, r.id, key, winner_hash).await;
        let placing = spawn_takeaway(&s, r.id, key, "same", item, 2, clock);
        // The placement waits on the winner's uncommitted key.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&raw)
            .await
            .unwrap();
            if waiting == 1 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the placement never waited"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        winner.commit().await.unwrap();
        match placing.await.unwrap() {
            PlaceOutcome::Existing {
                order,
                request_hash,
            } if outcome_is_existing => {
                assert_eq!((order.id, request_hash.as_str()), (winner_id, "same"))
            }
            PlaceOutcome::Existing { request_hash, .. } if !outcome_is_existing => {
                assert_eq!(request_hash, "different")
            }
            other => panic!("{key}: {other:?}"),
        }
    }
    assert_eq!(s.order_count(r.id).await.unwrap(), 2);
    assert_eq!(s.current_seq(r.id).await.unwrap(), 0);
    assert_eq!(
        s.menu_item(r.id, soup.id).await.unwrap().unwrap().stock,
        Some(5)
    );
    raw.close().await;
    s.close().await;
}

/// On PostgreSQL placements queued behind one another are written in one
/// transaction; when a statement of it fails, each of its orders is
/// written again on its own. Here the batch fails on a key another writer
/// committed while the batch queued: that order answers as a retry of the
/// winner's would, and the others are placed, each in its own transaction,
/// with stock taken once and seqs in queue order with no gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_is_written_one_by_one() {
    let (_db, s, raw, r, soup, tea) = soup_and_tea("batch", "Batch").await;
    let clock: &'static ManualClock = Box::leak(Box::new(ManualClock::new(1000)));
    // Another writer holds the soup's row and has the key "taken".
    let mut other = raw.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM menu_items WHERE id = $1 FOR UPDATE")
        .bind(soup.id)
        .execute(&mut *other)
        .await
        .unwrap();
    let winner_id = rival_order(&mut other, r.id, "taken", "theirs").await;
    let spawn_placement =
        |key: &'static str, item: i64| spawn_takeaway(&s, r.id, key, "ours", item, 1, clock);
    let count = |sql: &'static str| {
        let raw = raw.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&raw)
                .await
                .unwrap()
        }
    };
    let until = |what: &'static str, sql: &'static str, n: i64| async move {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while count(sql).await < n {
            assert!(std::time::Instant::now() < deadline, "{what}");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    // The first waits on the row; the rest queue behind it.
    let first = spawn_placement("first", soup.id);
    until(
        "the first placement never waited",
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock'",
        1,
    )
    .await;
    let drawn = count("SELECT last_value FROM orders_id_seq").await;
    let queued = [
        spawn_placement("taken", soup.id),
        spawn_placement("second", soup.id),
    ];
    until(
        "the queued placements never read",
        "SELECT last_value FROM orders_id_seq",
        drawn + 2,
    )
    .await;
    let third = {
        // Read last, so it queues last.
        let t = spawn_placement("third", soup.id);
        until(
            "the third never read",
            "SELECT last_value FROM orders_id_seq",
            drawn + 3,
        )
        .await;
        t
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    other.commit().await.unwrap();

    let placed = |outcome: PlaceOutcome<Invalid>| match outcome {
        PlaceOutcome::Placed { order, .. } => order,
        other => panic!("{other:?}"),
    };
    let first = placed(first.await.unwrap());
    let [taken, second] = queued;
    match taken.await.unwrap() {
        PlaceOutcome::Existing {
            order,
            request_hash,
        } => assert_eq!((order.id, request_hash.as_str()), (winner_id, "theirs")),
        other => panic!("{other:?}"),
    }
    let second = placed(second.await.unwrap());
    let third = placed(third.await.unwrap());
    // Seqs in queue order, no gap; the key's order took none.
    assert_eq!(
        [first.placed_seq, second.placed_seq, third.placed_seq],
        [1, 2, 3]
    );
    assert_eq!(s.current_seq(r.id).await.unwrap(), 3);
    assert_eq!(s.order_count(r.id).await.unwrap(), 4);
    // Stock taken once for each soup placed.
    assert_eq!(
        s.menu_item(r.id, soup.id).await.unwrap().unwrap().stock,
        Some(2)
    );
    // An untracked order does not queue: it is written while the queue
    // waits on the soup's row.
    let mut other = raw.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM menu_items WHERE id = $1 FOR UPDATE")
        .bind(soup.id)
        .execute(&mut *other)
        .await
        .unwrap();
    let waiting = spawn_placement("waiting", soup.id);
    until(
        "the soup placement never waited",
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock'",
        1,
    )
    .await;
    let tea = placed(spawn_placement("tea", tea.id).await.unwrap());
    assert_eq!(tea.placed_seq, 4);
    other.commit().await.unwrap();
    assert_eq!(placed(waiting.await.unwrap()).placed_seq, 5);
    // Written one by one: each order in a transaction of its own.
    let transactions: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT xmin::TEXT) FROM orders WHERE restaurant_id = $1 AND id = ANY($2)",
    )
    .bind(r.id)
    .bind(vec![first.id, second.id, third.id])
    .fetch_one(&raw)
    .await
    .unwrap();
    assert_eq!(transactions, 3);
    raw.close().await;
    s.close().await;
}

/// An audit draft at 1500 whose before and after are two JSON values.
fn audit_draft(action: &str, before: Option<i64>, after: Option<i64>) -> AuditDraft {
    AuditDraft {
        at: 1500,
        action: action.into(),
        actor: Some("user:1".into()),
        actor_role: Some("manager".into()),
        before_json: Some(serde_json::json!(before).to_string()),
        after_json: Some(serde_json::json!(after).to_string()),
        ..Default::default()
    }
}

async fn the_audit_trail_chains_filters_and_prunes(backend: Backend) {
    let (_db, s) = open(backend).await;
    let r = s
        .create_restaurant("one", "One", "UTC", "EUR", 10)
        .await
        .unwrap();
    let other = s
        .create_restaurant("two", "Two", "UTC", "EUR", 10)
        .await
        .unwrap();
    assert!(s.append_audit(r.id, &[]).await.unwrap().is_empty());
    assert!(
        s.audit_heads().await.unwrap().is_empty(),
        "no entry, no head"
    );
    let draft = |at: i64, action: &str, actor: Option<&str>| AuditDraft {
        at,
        action: action.into(),
        actor: actor.map(Into::into),
        actor_role: actor.map(|_| "owner".into()),
        client_address: Some("203.0.113.9".into()),
        target: Some("user:7".into()),
        before_json: Some(r#"{"role":"waiter"}"#.into()),
        after_json: Some(r#"{"role":"manager"}"#.into()),
        reason: Some("promotion".into()),
    };
    let first = s
        .append_audit(
            r.id,
            &[
                draft(100, "login.failed", None),
                draft(200, "staff.role_changed", Some("user:1")),
            ],
        )
        .await
        .unwrap();
    let later = s
        .append_audit(r.id, &[draft(300, "login.failed", None)])
        .await
        .unwrap();
    s.append_audit(other.id, &[draft(100, "login.failed", None)])
        .await
        .unwrap();
    // One chain per restaurant, each link the hash of the one before.
    let chain: Vec<_> = first.iter().chain(&later).collect();
    assert_eq!(chain.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(chain[0].prev_hash, GENESIS_HASH);
    for pair in chain.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    for entry in &chain {
        assert_eq!(entry.computed_hash(), entry.hash);
    }
    let all = s
        .audit_entries(r.id, &AuditFilter::default(), ALL)
        .await
        .unwrap();
    assert_eq!(
        all.iter().collect::<Vec<_>>(),
        chain,
        "read back as written"
    );
    let heads = s.audit_heads().await.unwrap();
    assert_eq!(
        heads
            .iter()
            .map(|h| (h.restaurant_id, h.seq, h.hash.as_str(), h.pruned_through))
            .collect::<Vec<_>>(),
        [
            (r.id, 3, chain[2].hash.as_str(), 0),
            (other.id, 1, heads[1].hash.as_str(), 0)
        ]
    );
    let theirs = s
        .audit_entries(other.id, &AuditFilter::default(), ALL)
        .await
        .unwrap();
    assert_eq!((theirs.len(), theirs[0].seq), (1, 1));
    assert_eq!(theirs[0].prev_hash, GENESIS_HASH);

    // Filters and pages.
    let seqs =
        |rows: Vec<restohub::storage::AuditRow>| rows.iter().map(|e| e.seq).collect::<Vec<_>>();
    let failed = AuditFilter {
        action: Some("login.failed".into()),
        ..Default::default()
    };
    assert_eq!(
        seqs(s.audit_entries(r.id, &failed, ALL).await.unwrap()),
        [1, 3]
    );
    let by_owner = AuditFilter {
        actor: Some("user:1".into()),
        ..Default::default()
    };
    assert_eq!(
        seqs(s.audit_entries(r.id, &by_owner, ALL).await.unwrap()),
        [2]
    );
    let window = AuditFilter {
        from: Some(200),
        to: Some(300),
        ..Default::default()
    };
    assert_eq!(
        seqs(s.audit_entries(r.id, &window, ALL).await.unwrap()),
        [2]
    );
    let page = PageQuery { after: 1, limit: 1 };
    let filtered = s
        .audit_entries(r.id, &AuditFilter::default(), page)
        .await
        .unwrap();
    assert_eq!(seqs(filtered), [2]);

    // The wire form, and a stored value that cannot be read back.
    let entry = all[1].clone().into_entry().unwrap();
    assert_eq!(entry.action.as_str(), "staff.role_changed");
    assert_eq!(entry.actor_role, Some(restohub_protocol::Role::Owner));
    assert_eq!(entry.after, Some(serde_json::json!({ "role": "manager" })));
    let mut bad = all[1].clone();
    bad.action = "staff.promoted".into();
    assert!(bad.into_entry().is_err());
    let mut bad = all[1].clone();
    bad.before_json = Some("{not json".into());
    assert!(bad.into_entry().is_err());

    // Retention deletes a prefix of each chain and records where it ends.
    assert_eq!(s.prune_audit(100).await.unwrap(), 0);
    assert_eq!(s.prune_audit(201).await.unwrap(), 3, "two here, one there");
    let heads = s.audit_heads().await.unwrap();
    assert_eq!(
        heads
            .iter()
            .map(|h| (h.seq, h.pruned_through))
            .collect::<Vec<_>>(),
        [(3, 2), (1, 1)]
    );
    assert_eq!(
        seqs(
            s.audit_entries(r.id, &AuditFilter::default(), ALL)
                .await
                .unwrap()
        ),
        [3]
    );
    // Appends continue the chain after pruning.
    let next = s
        .append_audit(r.id, &[draft(50, "login.failed", None)])
        .await
        .unwrap();
    assert_eq!(
        (next[0].seq, next[0].prev_hash.as_str()),
        (4, chain[2].hash.as_str())
    );
    // An entry written with an earlier time behind a later one goes with
    // the prefix, never leaving a hole.
    assert_eq!(
        s.prune_audit(60).await.unwrap(),
        2,
        "seq 4, and seq 3 before it"
    );
    let heads = s.audit_heads().await.unwrap();
    assert_eq!((heads[0].seq, heads[0].pruned_through), (4, 4));
}

/// Runs `sql` on the test database behind the store's back and returns
/// how the database refused it (`None`: it did not).
async fn raw_refusal(db: &TestDb, sql: &str) -> Option<sqlx::Error> {
    match db.database_url() {
        Some(url) => {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            let result = sqlx::query(sql).execute(&pool).await.err();
            pool.close().await;
            result
        }
        None => {
            let path = db.dir.path().join("store.db");
            let url = format!("sqlite://{}", path.display());
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let result = sqlx::query(sql).execute(&pool).await.err();
            pool.close().await;
            result
        }
    }
}

/// Runs `sql` on the test database behind the store's back.
async fn raw(db: &TestDb, sql: &str) {
    if let Some(refused) = raw_refusal(db, sql).await {
        panic!("{sql}: {refused}");
    }
}

/// The log's room index: every way an event is written indexes its rooms
/// (a placement, an order or table change's transaction, events on their
/// own); a resume's read finds exactly its rooms' seqs, merged, cut at the
/// limit, beside the oldest seq the log holds; retention prunes the index
/// with the events, even past a row whose rooms cannot be read.
async fn the_log_indexes_each_events_rooms(backend: Backend) {
    use restohub_protocol::ws::Room;

    let (db, s) = open(backend).await;
    let r = s
        .create_restaurant("rooms", "Rooms", "UTC", "EUR", 10)
        .await
        .unwrap();
    let other = s
        .create_restaurant("other", "Other", "UTC", "EUR", 10)
        .await
        .unwrap();
    let soup = s
        .create_menu_item(r.id, &menu_item("Soup", 100, None, 0))
        .await
        .unwrap();
    let table = s.create_table(r.id, "T1", 2, "ROOMCODE1").await.unwrap();
    let kitchen = Room::Kitchen(r.id);
    let guests = Room::Table(r.id, table.id);
    let draft = |rooms: Vec<Room>| EventDraft {
        kind: "table.waiter_called".into(),
        rooms,
        data: empty_data(),
    };
    // 1-3 on their own at 1000; the second names the table twice.
    let drafts = vec![
        draft(vec![kitchen]),
        draft(vec![kitchen, guests, guests]),
        draft(vec![guests]),
    ];
    let live = s.append_events(r.id, drafts, 1000).await.unwrap();
    assert_eq!(live[1].rooms, [kitchen, guests], "each room once, live too");
    s.append_events(other.id, vec![draft(vec![Room::Kitchen(other.id)])], 1000)
        .await
        .unwrap();
    // 4-5 from a placement, at 2000; the first names the table twice.
    let clock = ManualClock::new(2000);
    let lines: &'static [LineRequest] = Box::leak(Box::new([plain_line(soup.id, 1)]));
    let placement = waiters_order(r.id, table.id, lines, "rooms-1", 2000, &clock);
    let outcome = place(&s, &placement, move |_, _| {
        vec![draft(vec![guests, guests]), draft(vec![kitchen])]
    })
    .await;
    assert!(
        matches!(outcome, PlaceOutcome::Placed { .. }),
        "{outcome:?}"
    );
    // 6 from a table change's transaction, at 3000, naming it twice too.
    let reserve = TablePatch {
        status: Some(TableStatus::Reserved),
        ..Default::default()
    };
    s.change_table(r.id, table.id, &reserve, 3000, ends_visit, |_, _| {
        vec![draft(vec![guests, guests])]
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(s.current_seq(r.id).await.unwrap(), 6);

    let seqs = |rooms: Vec<Room>, after: u64, up_to: u64, limit: usize| {
        let s = s.clone();
        async move {
            s.room_seqs(r.id, &rooms, after, up_to, limit, 0)
                .await
                .unwrap()
        }
    };
    let found = seqs(vec![guests], 0, 6, 100).await;
    assert_eq!(found.oldest, Some(1));
    assert_eq!(found.seqs, [2, 3, 4, 6]);
    assert_eq!(seqs(vec![kitchen], 0, 6, 100).await.seqs, [1, 2, 5]);
    let both = seqs(vec![kitchen, guests], 0, 6, 100).await;
    assert_eq!(both.seqs, [1, 2, 3, 4, 5, 6], "merged, each seq once");
    assert_eq!(seqs(vec![kitchen, guests], 0, 6, 3).await.seqs, [1, 2, 3]);
    assert_eq!(seqs(vec![guests, kitchen], 0, 6, 3).await.seqs, [1, 2, 3]);
    assert_eq!(seqs(vec![kitchen, guests], 2, 5, 100).await.seqs, [3, 4, 5]);
    assert!(seqs(vec![Room::Table(r.id, 999)], 0, 6, 100)
        .await
        .seqs
        .is_empty());
    // Another restaurant's room is not in this restaurant's index.
    assert!(seqs(vec![Room::Kitchen(other.id)], 0, 6, 100)
        .await
        .seqs
        .is_empty());

    let read = s.events_at(r.id, &[2, 4, 99]).await.unwrap();
    assert_eq!(read.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 4]);
    // A room named twice in one event is logged once.
    assert_eq!(read[0].rooms, [kitchen, guests]);
    // With the seqs, the events at the first of them, read with the index.
    let with_events = |read: usize| {
        let s = s.clone();
        async move { s.room_seqs(r.id, &[guests], 1, 6, 100, read).await.unwrap() }
    };
    let found = with_events(2).await;
    assert_eq!(found.seqs, [2, 3, 4, 6]);
    let first: Vec<_> = found.first.iter().map(|e| (e.seq, e.at)).collect();
    assert_eq!(first, [(2, 1000), (3, 1000)]);
    assert_eq!(found.first[0].rooms, [kitchen, guests]);
    assert_eq!(found.first[0].restaurant_id, r.id);
    let all: Vec<_> = with_events(10).await.first.iter().map(|e| e.seq).collect();
    assert_eq!(all, [2, 3, 4, 6]);
    assert!(with_events(0).await.first.is_empty());

    // Retention: the index entries go with their events.
    assert_eq!(s.prune_events(1001).await.unwrap(), 4, "both restaurants");
    let left = seqs(vec![kitchen, guests], 0, 6, 100).await;
    assert_eq!(left.oldest, Some(4));
    assert_eq!(left.seqs, [4, 5, 6]);
    assert!(s.events_at(r.id, &[1, 2, 3]).await.unwrap().is_empty());
    // A row whose rooms cannot be read is pruned with its entries anyway.
    raw(
        &db,
        &format!(
            "UPDATE events SET rooms = 'junk' WHERE restaurant_id = {} AND seq = 4",
            r.id
        ),
    )
    .await;
    assert_eq!(s.prune_events(2001).await.unwrap(), 2);
    let left = seqs(vec![kitchen, guests], 0, 6, 100).await;
    assert_eq!((left.oldest, left.seqs), (Some(6), vec![6]));
    assert_eq!(s.prune_events(i64::MAX).await.unwrap(), 1);
    let left = seqs(vec![kitchen, guests], 0, 6, 100).await;
    assert_eq!((left.oldest, left.seqs), (None, vec![]));
    s.close().await;
}

/// A database whose events were logged before the room index existed gets
/// them indexed by the index's migration.
async fn the_migration_indexes_events_already_logged(backend: Backend) {
    use restohub_protocol::ws::Room;

    let (db, s) = open(backend).await;
    let r = s
        .create_restaurant("old", "Old", "UTC", "EUR", 10)
        .await
        .unwrap();
    let draft = |rooms: Vec<Room>| EventDraft {
        kind: "table.waiter_called".into(),
        rooms,
        data: empty_data(),
    };
    let (kitchen, guests) = (Room::Kitchen(r.id), Room::Table(r.id, 7));
    let drafts = vec![
        draft(vec![kitchen]),
        draft(vec![guests, kitchen]),
        draft(vec![]),
    ];
    s.append_events(r.id, drafts, 1000).await.unwrap();
    s.close().await;
    // Back to the schema before the index: its migration never ran.
    raw(&db, "DROP TABLE event_rooms").await;
    raw(&db, "DELETE FROM _sqlx_migrations WHERE version = 5").await;

    let (_db, s) = reopen(db, backend).await;
    let found = s.room_seqs(r.id, &[guests], 0, 3, 100, 0).await.unwrap();
    assert_eq!((found.oldest, found.seqs), (Some(1), vec![2]));
    let found = s.room_seqs(r.id, &[kitchen], 0, 3, 100, 0).await.unwrap();
    assert_eq!(found.seqs, [1, 2]);
    // New events are indexed as before.
    s.append_events(r.id, vec![draft(vec![guests])], 1000)
        .await
        .unwrap();
    let found = s.room_seqs(r.id, &[guests], 0, 4, 100, 0).await.unwrap();
    assert_eq!(found.seqs, [2, 4]);
    s.close().await;
}

/// The pools' use as metrics read it: per pool, open and idle connections
/// and the most it may open (tests/api/metrics.rs checks what the
/// instrumented store's transactions record).
async fn pools_report_their_use(backend: Backend) {
    let (_db, s) = open(backend).await;
    let metrics =
        restohub::instruments::Metrics::new(std::sync::Arc::new(restohub::clock::SystemClock));
    let s = s.instrumented(metrics.db_meters());
    s.ping().await.unwrap();
    let pools = s.pool_usage();
    let names: Vec<_> = pools.iter().map(|p| (p.0, p.3)).collect();
    match backend {
        // Reads on up to 4 connections beside the single writer.
        Backend::Sqlite => assert_eq!(names, [("read", 4), ("write", 1)]),
        Backend::Postgres => assert_eq!(names, [("main", 4)]),
    }
    for (name, open, idle, max) in pools {
        assert!(open >= 1 && open <= max, "{name}: {open} open of {max}");
        assert!(idle <= open as usize, "{name}: {idle} idle of {open}");
    }
    s.close().await;
}

/// Every public function of the storage layer must be called in this file.
#[test]
fn every_storage_function_is_exercised_here() {
    let this_file = include_str!("storage.rs");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/storage");
    let mut missing = Vec::new();
    let mut count = 0;
    // The storage folder and its subfolders (e.g. `placement/`).
    let mut files = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(dir)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    for path in files {
        let source = std::fs::read_to_string(path).unwrap();
        for line in source.lines() {
            let line = line.trim_start();
            let Some(rest) = line
                .strip_prefix("pub async fn ")
                .or_else(|| line.strip_prefix("pub fn "))
            else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            count += 1;
            if !this_file.contains(&format!(".{name}("))
                && !this_file.contains(&format!("::{name}("))
            {
                missing.push(name);
            }
        }
    }
    assert!(
        count > 30,
        "found only {count} storage functions; is the scan broken?"
    );
    assert!(
        missing.is_empty(),
        "storage functions not tested on both backends: {missing:?}"
    );
}

async fn mfa_secrets_steps_and_recovery_codes(backend: Backend) {
    let (_db, s) = open(backend).await;
    let r = s
        .create_restaurant("one", "One", "UTC", "EUR", 10)
        .await
        .unwrap();
    let other = s
        .create_restaurant("two", "Two", "UTC", "EUR", 10)
        .await
        .unwrap();
    let new = NewUser {
        email: "m@one.test",
        name: "M",
        role: Role::Manager,
        password_hash: "h",
    };
    let user = s.create_user(r.id, &new, 20).await.unwrap();
    let off = MfaState {
        secret: None,
        pending: None,
        last_step: 0,
    };
    assert_eq!(s.mfa_state(r.id, user.id).await.unwrap(), Some(off.clone()));
    assert_eq!(s.mfa_state(other.id, user.id).await.unwrap(), None);
    assert!(s.set_mfa_pending(r.id, user.id, "SECRETA").await.unwrap());
    assert!(!s
        .set_mfa_pending(other.id, user.id, "SECRETA")
        .await
        .unwrap());
    let codes = vec!["hash-1".to_owned(), "hash-2".to_owned()];
    // Only the pending secret can be confirmed.
    assert!(!s
        .confirm_mfa(r.id, user.id, "OTHER", 5, &codes)
        .await
        .unwrap());
    assert!(s
        .confirm_mfa(r.id, user.id, "SECRETA", 5, &codes)
        .await
        .unwrap());
    assert_eq!(
        s.mfa_state(r.id, user.id).await.unwrap(),
        Some(MfaState {
            secret: Some("SECRETA".into()),
            pending: None,
            last_step: 5
        })
    );
    // A step is accepted once, and never an earlier one.
    assert!(!s.use_mfa_step(r.id, user.id, 5).await.unwrap());
    assert!(s.use_mfa_step(r.id, user.id, 6).await.unwrap());
    assert!(!s.use_mfa_step(r.id, user.id, 6).await.unwrap());
    assert!(!s.use_mfa_step(other.id, user.id, 9).await.unwrap());
    // A recovery code works once, and only for its account.
    assert!(!s
        .use_recovery_code(other.id, user.id, "hash-1", 30)
        .await
        .unwrap());
    assert!(s
        .use_recovery_code(r.id, user.id, "hash-1", 30)
        .await
        .unwrap());
    assert!(!s
        .use_recovery_code(r.id, user.id, "hash-1", 31)
        .await
        .unwrap());
    assert!(!s
        .use_recovery_code(r.id, user.id, "nope", 31)
        .await
        .unwrap());
    // Off again: the secret and the codes are gone.
    assert!(s.disable_mfa(r.id, user.id).await.unwrap());
    assert!(!s
        .use_recovery_code(r.id, user.id, "hash-2", 32)
        .await
        .unwrap());
    let state = s.mfa_state(r.id, user.id).await.unwrap().unwrap();
    assert_eq!((state.secret, state.pending), (None, None));
    assert!(!s.disable_mfa(other.id, user.id).await.unwrap());
    s.close().await;
}

/// The database itself refuses a value outside its column's rules, written
/// by any statement (a bug, a hand edit), on both backends: PostgreSQL keeps
/// the rules of the tables every order writes in the columns' types, SQLite
/// in CHECK constraints, and both answer with a check violation that
/// changes nothing. The keys that can fail stay: a line must name an item
/// of its restaurant.
async fn the_database_refuses_values_outside_the_rules(backend: Backend) {
    let (db, s) = open(backend).await;
    let r = s
        .create_restaurant("rules", "Rules", "UTC", "EUR", 10)
        .await
        .unwrap();
    let soup = s
        .create_menu_item(r.id, &menu_item("Soup", 450, Some(5), 1))
        .await
        .unwrap();
    let table = s.create_table(r.id, "T1", 2, "RULESCODE1").await.unwrap();
    let clock: &'static ManualClock = Box::leak(Box::new(ManualClock::new(1000)));
    let lines: &'static [LineRequest] = Box::leak(vec![plain_line(soup.id, 2)].into_boxed_slice());
    let rid = r.id;
    let placement = waiters_order(r.id, table.id, lines, "rules-1", 1000, clock);
    let outcome = place(&s, &placement, move |_, _| {
        kitchen_draft("order.placed", rid)
    })
    .await;
    let PlaceOutcome::Placed { order, .. } = outcome else {
        panic!("{outcome:?}")
    };
    let (o, l, m) = (order.id, order.lines[0].id, soup.id);
    let restaurant = s.restaurant(r.id).await.unwrap().unwrap();
    let item = s.menu_item(r.id, m).await.unwrap().unwrap();

    let broken = [
        format!("UPDATE orders SET status = 'lost' WHERE id = {o}"),
        format!("UPDATE orders SET source = 'drone' WHERE id = {o}"),
        format!("UPDATE orders SET total_cents = -1 WHERE id = {o}"),
        format!("UPDATE order_lines SET qty = 0 WHERE id = {l}"),
        format!("UPDATE order_lines SET qty = 100 WHERE id = {l}"),
        format!("UPDATE order_lines SET status = 'eaten' WHERE id = {l}"),
        format!("UPDATE order_lines SET unit_price_cents = -5 WHERE id = {l}"),
        format!("UPDATE menu_items SET price_cents = -1 WHERE id = {m}"),
        format!("UPDATE menu_items SET stock = stock - 6 WHERE id = {m}"),
        format!("UPDATE menu_items SET low_stock_threshold = -1 WHERE id = {m}"),
        format!("UPDATE menu_items SET prep_seconds = 86401 WHERE id = {m}"),
        format!("UPDATE menu_items SET allergens = 16384 WHERE id = {m}"),
        format!("UPDATE restaurants SET currency = 'EURO' WHERE id = {rid}"),
        format!("UPDATE restaurants SET service_charge_bp = 10001 WHERE id = {rid}"),
        format!("UPDATE restaurants SET fire_next_on = 'never' WHERE id = {rid}"),
        format!("UPDATE restaurants SET fire_after_ready_minutes = 0 WHERE id = {rid}"),
        format!("UPDATE restaurants SET recall_window_minutes = 241 WHERE id = {rid}"),
    ];
    for sql in &broken {
        let refused = raw_refusal(&db, sql).await;
        let refused = refused.unwrap_or_else(|| panic!("{sql} was written"));
        assert!(
            refused
                .as_database_error()
                .is_some_and(|e| e.is_check_violation()),
            "{sql}: {refused}"
        );
    }
    // A line of an item that does not exist, or of another restaurant's.
    let other = s
        .create_restaurant("other", "Other", "UTC", "EUR", 10)
        .await
        .unwrap();
    let theirs = s
        .create_menu_item(other.id, &menu_item("Tea", 100, None, 0))
        .await
        .unwrap();
    for item in [999_999, theirs.id] {
        let sql = format!("UPDATE order_lines SET menu_item_id = {item} WHERE id = {l}");
        let refused = raw_refusal(&db, &sql).await;
        let refused = refused.unwrap_or_else(|| panic!("{sql} was written"));
        assert!(
            refused
                .as_database_error()
                .is_some_and(|e| e.is_foreign_key_violation()),
            "{sql}: {refused}"
        );
    }
    // Nothing changed; values inside the rules are written.
    assert_eq!(s.order(r.id, o).await.unwrap().unwrap(), order);
    assert_eq!(s.menu_item(r.id, m).await.unwrap().unwrap(), item);
    assert_eq!(s.restaurant(r.id).await.unwrap().unwrap(), restaurant);
    let allowed = [
        format!("UPDATE order_lines SET qty = 99, status = 'voided' WHERE id = {l}"),
        format!("UPDATE menu_items SET stock = 0, allergens = 16383 WHERE id = {m}"),
        format!(
            "UPDATE restaurants SET currency = 'USD', recall_window_minutes = 0 WHERE id = {rid}"
        ),
    ];
    for sql in &allowed {
        assert!(raw_refusal(&db, sql).await.is_none(), "{sql} was refused");
    }
    let line = &s.order(r.id, o).await.unwrap().unwrap().lines[0];
    assert_eq!(line.qty, 99);
    assert_eq!(s.menu_item(r.id, m).await.unwrap().unwrap().stock, Some(0));
    assert_eq!(s.restaurant(r.id).await.unwrap().unwrap().currency, "USD");
    s.close().await;
}

/// What a placement's facts must show after a change.
type Holds<'a> = dyn Fn(&PlacementFacts) -> bool + 'a;

/// The facts a placement of `items` at `table` is decided from (refused
/// with them: nothing is written).
async fn facts_for(s: &Store, r: i64, table: i64, items: &[i64]) -> PlacementFacts {
    let clock = ManualClock::new(1000);
    let ask = PlacementAsk {
        restaurant_id: r,
        idempotency_key: "facts",
        table_id: Some(table),
        item_ids: items,
        line_count: items.len(),
        clock: &clock,
    };
    match s
        .place_order(&ask, |facts| Err::<Plan, _>(facts.clone()))
        .await
        .unwrap()
    {
        PlaceOutcome::Refused(facts) => facts,
        other => panic!("{other:?}"),
    }
}

/// Every change to what a placement reads of the menu, made behind the
/// store's back, reaches the next placement: PostgreSQL's placements decide
/// from the facts they kept while the menu's version is the one they were
/// read at (migration 0015), and every such change moves the version. The
/// live values (stock, availability, the table's status) are read with
/// every order; a new table reaches the guests' stock events.
async fn a_menu_change_reaches_the_next_placement(backend: Backend) {
    let (db, s) = open(backend).await;
    let r = s
        .create_restaurant("menus", "Menus", "UTC", "EUR", 10)
        .await
        .unwrap();
    let rid = r.id;
    let soup = s
        .create_menu_item(rid, &menu_item("Soup", 450, Some(50), 1))
        .await
        .unwrap()
        .id;
    let tea = s
        .create_menu_item(rid, &menu_item("Tea", 200, None, 0))
        .await
        .unwrap()
        .id;
    let t1 = s.create_table(rid, "T1", 2, "MENUSCODE1").await.unwrap().id;
    let both = [soup, tea];
    let kept = facts_for(&s, rid, t1, &both).await;
    assert_eq!(kept.items[&soup].price_cents, 450);
    assert_eq!(kept.table, Some(TableStatus::Free));
    // Read again unchanged: the same facts.
    assert_eq!(facts_for(&s, rid, t1, &both).await, kept);

    let item = |f: &PlacementFacts| f.items[&soup].clone();
    let changes: [(String, &Holds<'_>); 15] = [
        (
            format!("UPDATE menu_items SET price_cents = 460 WHERE id = {soup}"),
            &|f| item(f).price_cents == 460,
        ),
        (
            format!("UPDATE menu_items SET name = 'Soup of the day' WHERE id = {soup}"),
            &|f| item(f).name == "Soup of the day",
        ),
        (
            format!("UPDATE menu_items SET low_stock_threshold = 7 WHERE id = {soup}"),
            &|f| item(f).low_stock_threshold == 7,
        ),
        (
            format!("UPDATE menu_items SET prep_seconds = 600 WHERE id = {soup}"),
            &|f| item(f).prep_seconds == 600,
        ),
        (
            format!("UPDATE menu_items SET allergens = 5 WHERE id = {soup}"),
            &|f| item(f).allergens.bits() == 5,
        ),
        (
            format!("INSERT INTO stations (restaurant_id, name) VALUES ({rid}, 'Grill')"),
            &|f| f.stations.len() == 1,
        ),
        (
            format!(
                "UPDATE menu_items SET station_id = (SELECT id FROM stations \
                 WHERE restaurant_id = {rid}) WHERE id = {soup}"
            ),
            &|f| item(f).station_id == Some(f.stations[0].0),
        ),
        (
            format!("UPDATE stations SET late_qr_s = 1234 WHERE restaurant_id = {rid}"),
            &|f| f.stations[0].1.qr.late_seconds == 1234,
        ),
        (
            format!(
                "INSERT INTO menu_categories (restaurant_id, name, course) \
                 VALUES ({rid}, 'Mains', 2)"
            ),
            &|f| item(f).course == 1,
        ),
        (
            format!(
                "UPDATE menu_items SET category_id = (SELECT id FROM menu_categories \
                 WHERE restaurant_id = {rid}) WHERE id = {soup}"
            ),
            &|f| item(f).course == 2,
        ),
        (
            format!("UPDATE menu_categories SET course = 3 WHERE restaurant_id = {rid}"),
            &|f| item(f).course == 3,
        ),
        (
            format!(
                "INSERT INTO modifier_groups (restaurant_id, menu_item_id, name, min_choices, \
                 max_choices) VALUES ({rid}, {soup}, 'Bread', 0, 1)"
            ),
            &|f| item(f).groups.len() == 1 && item(f).groups[0].options.is_empty(),
        ),
        (
            format!(
                "INSERT INTO modifier_options (restaurant_id, group_id, name, price_delta_cents) \
                 SELECT {rid}, id, 'Rye', 50 FROM modifier_groups WHERE restaurant_id = {rid}"
            ),
            &|f| item(f).groups[0].options[0].price_delta_cents == 50,
        ),
        (
            format!(
                "UPDATE modifier_options SET price_delta_cents = 70 WHERE restaurant_id = {rid}"
            ),
            &|f| item(f).groups[0].options[0].price_delta_cents == 70,
        ),
        (format!("DELETE FROM menu_items WHERE id = {tea}"), &|f| {
            !f.items.contains_key(&tea) && f.items.contains_key(&soup)
        }),
    ];
    for (sql, holds) in &changes {
        raw(&db, sql).await;
        let facts = facts_for(&s, rid, t1, &both).await;
        assert!(holds(&facts), "after {sql}: {facts:?}");
    }
    // The live values, with no change to the menu's facts.
    raw(
        &db,
        &format!("UPDATE menu_items SET stock = 9, available = FALSE WHERE id = {soup}"),
    )
    .await;
    raw(
        &db,
        &format!("UPDATE dining_tables SET status = 'reserved' WHERE id = {t1}"),
    )
    .await;
    let facts = facts_for(&s, rid, t1, &[soup]).await;
    assert_eq!(
        (item(&facts).stock, item(&facts).available),
        (Some(9), false)
    );
    assert_eq!(facts.table, Some(TableStatus::Reserved));
    raw(
        &db,
        &format!("UPDATE menu_items SET available = TRUE WHERE id = {soup}"),
    )
    .await;
    raw(
        &db,
        &format!("UPDATE dining_tables SET status = 'free' WHERE id = {t1}"),
    )
    .await;

    // A tracked item's stock events reach every table, a new one too.
    let clock: &'static ManualClock = Box::leak(Box::new(ManualClock::new(1000)));
    let lines: &'static [LineRequest] = Box::leak(vec![plain_line(soup, 1)].into_boxed_slice());
    let mut reached = Vec::new();
    for key in ["menus-1", "menus-2"] {
        let tables = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = tables.clone();
        let placement = waiters_order(rid, t1, lines, key, 1000, clock);
        let outcome = place(&s, &placement, move |_, written| {
            *seen.lock().unwrap() = written.tables.to_vec();
            kitchen_draft("order.placed", rid)
        })
        .await;
        assert!(
            matches!(outcome, PlaceOutcome::Placed { .. }),
            "{outcome:?}"
        );
        reached.push(tables.lock().unwrap().clone());
        if key == "menus-1" {
            raw(
                &db,
                &format!(
                    "INSERT INTO dining_tables (restaurant_id, label, seats, guest_code) \
                     VALUES ({rid}, 'T2', 2, 'MENUSCODE2')"
                ),
            )
            .await;
        }
    }
    let t2 = s.tables(rid, ALL).await.unwrap()[1].id;
    assert_eq!(reached, [vec![t1], vec![t1, t2]]);
    s.close().await;
}

crate::both_backends!(
    a_menu_change_reaches_the_next_placement,
    the_database_refuses_values_outside_the_rules,
    pools_report_their_use,
    checks_payments_and_intents,
    a_placement_says_whether_its_table_has_an_open_check,
    mfa_secrets_steps_and_recovery_codes,
    restaurants_and_configuration,
    accounts_lockout_and_refresh_tokens,
    orders_and_the_event_log,
    statistics_follow_every_change,
    the_audit_trail_chains_filters_and_prunes,
    the_log_indexes_each_events_rooms,
    the_migration_indexes_events_already_logged,
    kitchen_timers_alarms_and_all_day_counts,
    modifier_groups_and_options,
    screens_seen_alerts_and_calls,
    migrations_are_reported_against_the_binarys,
    new_tables_get_the_planners_first_statistics,
);

/// `analyze_new_tables`: on PostgreSQL, a table with no statistics that has
/// seen enough changed rows is analyzed once, and the lookups a placement
/// makes on `orders` (the idempotency key, the lines' foreign key) are then
/// planned, as a pool connection caches them, on the unique index they
/// match in full rather than on any index that starts with the restaurant.
/// SQLite needs nothing.
async fn new_tables_get_the_planners_first_statistics(backend: Backend) {
    let (db, s) = open(backend).await;
    let r = s
        .create_restaurant("one", "One", "UTC", "EUR", 10)
        .await
        .unwrap();
    if backend == Backend::Sqlite {
        assert!(s.analyze_new_tables(0).await.unwrap().is_empty());
        s.close().await;
        return;
    }
    let raw = sqlx::PgPool::connect(&db.database_url().unwrap())
        .await
        .unwrap();
    let mut conn = raw.acquire().await.unwrap();
    // The two lookups as a pool connection plans them in its first minute:
    // its generic plan (what it caches after five runs of a statement),
    // made while the restaurant has no orders yet.
    sqlx::raw_sql(
        "SET plan_cache_mode = force_generic_plan; \
         PREPARE by_key (BIGINT, TEXT) AS SELECT id FROM orders \
         WHERE restaurant_id = $1 AND idempotency_key = $2; \
         PREPARE by_id (BIGINT, BIGINT) AS SELECT 1 FROM ONLY orders x \
         WHERE restaurant_id = $1 AND id = $2 FOR KEY SHARE OF x",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let lookups = [
        ("by_key", "'key-7'", "idempotency_key = "),
        ("by_id", "7", "id = "),
    ];
    let mut plans = Vec::new();
    for (statement, args, _) in lookups {
        let explain = format!("EXPLAIN EXECUTE {statement} ({}, {args})", r.id);
        let plan: Vec<String> = sqlx::query_scalar(&explain)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        plans.push(plan);
    }
    // Then the orders come: enough that walking them costs more than a
    // unique lookup.
    sqlx::query(
        "INSERT INTO orders (restaurant_id, source, status, note, total_cents, placed_by_role, \
         idempotency_key, request_hash, placed_seq, created_at, updated_at) \
         SELECT $1, 'takeaway', 'placed', '', 0, 'waiter', 'key-' || n, 'hash', n, 1, 1 \
         FROM generate_series(1, 3000) AS n",
    )
    .bind(r.id)
    .execute(&mut *conn)
    .await
    .unwrap();
    // This connection's counts reach the statistics views at its next
    // transaction's end (otherwise within seconds).
    sqlx::query("SELECT pg_stat_force_next_flush()")
        .execute(&mut *conn)
        .await
        .unwrap();
    // Fewer changes than asked: nothing yet.
    assert!(s.analyze_new_tables(10_000).await.unwrap().is_empty());
    let mut analyzed = Vec::new();
    for _ in 0..100 {
        analyzed = s.analyze_new_tables(100).await.unwrap();
        if !analyzed.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(analyzed.contains(&"orders".to_string()), "{analyzed:?}");
    assert!(
        !analyzed.contains(&"menu_items".to_string()),
        "{analyzed:?}"
    );
    // The cached plans are made again, and each is now an index lookup on
    // the column that singles the order out, not a walk of the restaurant's
    // orders filtered by it.
    for ((statement, args, column), before) in lookups.into_iter().zip(plans) {
        let explain = format!("EXPLAIN EXECUTE {statement} ({}, {args})", r.id);
        let plan: Vec<String> = sqlx::query_scalar(&explain)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        let on = |kind: &str| {
            plan.iter()
                .any(|l| l.contains(kind) && l.contains(&format!("({column}")))
        };
        assert!(
            on("Index Cond") && !on("Filter"),
            "{statement}: {plan:#?}, planned on the new table as {before:#?}"
        );
    }
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM last_analyze)::BIGINT FROM pg_stat_user_tables \
         WHERE relname = 'orders'",
    )
    .fetch_one(&raw)
    .await
    .unwrap();
    assert!(last.is_some());
    // Once analyzed, a table is not analyzed again.
    let again = s.analyze_new_tables(100).await.unwrap();
    assert!(!again.contains(&"orders".to_string()), "{again:?}");
    drop(conn);
    raw.close().await;
    s.close().await;
}

/// `migration_status` (check-config): a database never migrated has every
/// migration pending; a migrated one, none, and none unknown.
async fn migrations_are_reported_against_the_binarys(backend: Backend) {
    let db = TestDb::new(backend).await;
    let path = db.dir.path().join("store.db");
    let url = db.database_url();
    let location = match &url {
        None => Location::SqliteFile(&path),
        Some(url) => Location::Postgres(url),
    };
    let s = Store::connect(location, 2).await.expect("connect");
    let fresh = s.migration_status().await.unwrap();
    assert!(
        fresh.applied.is_empty() && fresh.failed.is_empty(),
        "{fresh:?}"
    );
    assert!(fresh.known.len() >= 11, "{fresh:?}");
    assert_eq!(fresh.pending(), fresh.known);
    s.migrate().await.unwrap();
    let done = s.migration_status().await.unwrap();
    assert_eq!(done.applied, done.known);
    assert!(
        done.pending().is_empty() && done.unknown().is_empty(),
        "{done:?}"
    );
    s.close().await;
}

/// Station thresholds, late-ticket candidates, alarms raised once, and the
/// all-day counts.
async fn kitchen_timers_alarms_and_all_day_counts(backend: Backend) {
    use restohub::storage::TicketAlarm;
    use restohub_protocol::api::orders::OrderSource;
    use restohub_protocol::api::stations::{Target, Targets, TargetsPatch};
    use restohub_protocol::ws::Room;

    let (_db, s) = open(backend).await;
    let r = s
        .create_restaurant("one", "One", "UTC", "EUR", 10)
        .await
        .unwrap();
    let fast = Targets {
        takeaway: Target {
            caution_seconds: 30,
            late_seconds: 60,
        },
        ..Default::default()
    };
    let grill = s.create_station(r.id, "Grill", &fast).await.unwrap();
    assert_eq!(grill.targets, fast);
    let patch = StationPatch {
        targets: TargetsPatch {
            qr: Some(Target {
                caution_seconds: 40,
                late_seconds: 90,
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let patched = s.update_station(r.id, grill.id, &patch).await.unwrap();
    assert_eq!(patched.unwrap().targets.qr.late_seconds, 90);
    let targets = s.station_targets(r.id).await.unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(
        (targets[0].0, targets[0].1.takeaway),
        (grill.id, fast.takeaway)
    );

    let mut steak = menu_item("Steak", 100, None, 0);
    steak.station_id = Some(grill.id);
    let steak = s.create_menu_item(r.id, &steak).await.unwrap();
    let lines: &'static [LineRequest] = Box::leak(Box::new([plain_line(steak.id, 3)]));
    let clock: &'static ManualClock = Box::leak(Box::new(ManualClock::new(1000)));
    let placement = Placement {
        request: Request {
            restaurant_id: r.id,
            table_id: None,
            source: OrderSource::Takeaway,
            note: "",
            lines,
            placed_by_user: None,
            placed_by_role: Role::Waiter,
            idempotency_key: "late",
            request_hash: "h",
            now: 1000,
        },
        clock,
    };
    // Placed with the application's own events: the placement reads the
    // grill's thresholds with its facts, and the ticket's clock is due at
    // its takeaway thresholds.
    let item_ids = placement.request.item_ids();
    let ask = placement.request.ask(&item_ids, clock);
    let placed = s.place_order(&ask, |facts| decide(&placement.request, facts));
    let PlaceOutcome::Placed { order, events, .. } = placed.await.unwrap() else {
        panic!("not placed")
    };
    let ticket = events.iter().find(|e| e.kind == "ticket.placed").unwrap();
    let ticket_data: serde_json::Value = serde_json::from_str(ticket.data.get()).unwrap();
    assert_eq!(
        (
            &ticket_data["timer"]["due_at"],
            &ticket_data["timer"]["caution_at"]
        ),
        (
            &serde_json::json!("1970-01-01T00:01:01.000Z"),
            &serde_json::json!("1970-01-01T00:00:31.000Z")
        )
    );
    let (_, counts) = s.all_day_counts(r.id).await.unwrap();
    assert_eq!(
        counts
            .iter()
            .map(|c| (c.station_id, c.menu_item_id, c.qty))
            .collect::<Vec<_>>(),
        [(grill.id, steak.id, 3)]
    );

    // Takeaway at the grill: late 60 s after placement, not before.
    assert!(s
        .late_ticket_candidates(60_999, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.late_ticket_candidates(61_000, 10).await.unwrap(),
        [(r.id, order.id)]
    );
    let alarm = || TicketAlarm {
        order_id: order.id,
        station_id: grill.id,
        event: EventDraft {
            kind: "ticket.late".into(),
            rooms: vec![Room::Kitchen(r.id)],
            data: empty_data(),
        },
    };
    let raised = s
        .raise_ticket_alarms(r.id, vec![alarm()], 61_000)
        .await
        .unwrap();
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].at, 61_000);
    // Once: a second raise (another instance) appends nothing.
    let again = s
        .raise_ticket_alarms(r.id, vec![alarm()], 62_000)
        .await
        .unwrap();
    assert!(again.is_empty());
    assert!(s
        .late_ticket_candidates(99_000, 10)
        .await
        .unwrap()
        .is_empty());
    let kitchen = s.kitchen_snapshot(r.id).await.unwrap();
    assert_eq!(kitchen.all_day, counts);
    assert_eq!(kitchen.seq, s.current_seq(r.id).await.unwrap());
}

/// A placement's write says whether its table has an open check (the app
/// then has the check take the order in), on the same statement or
/// transaction as the order: only that table's open check counts.
async fn a_placement_says_whether_its_table_has_an_open_check(backend: Backend) {
    use restohub::app::audit::Actor;
    use restohub::app::checks::plan::{CheckAction, Step};
    use restohub::storage::{Changed, CheckTarget};
    use restohub_protocol::api::orders::OrderSource;

    let (_db, s) = open(backend).await;
    let r = s
        .create_restaurant("one", "One", "UTC", "EUR", 10)
        .await
        .unwrap();
    let other = s
        .create_restaurant("two", "Two", "UTC", "EUR", 10)
        .await
        .unwrap();
    let soup = s
        .create_menu_item(r.id, &menu_item("Soup", 1200, None, 0))
        .await
        .unwrap();
    let bread = s
        .create_menu_item(r.id, &menu_item("Bread", 300, Some(10), 0))
        .await
        .unwrap();
    let a = s.create_table(r.id, "A", 2, "TABLECODEA").await.unwrap();
    let b = s.create_table(r.id, "B", 2, "TABLECODEB").await.unwrap();
    let theirs = s
        .create_table(other.id, "A", 2, "TABLECODEC")
        .await
        .unwrap();
    let clock = restohub::clock::SystemClock;
    let place_at = |restaurant: i64, table: Option<i64>, item: i64, key: &'static str| {
        let s = &s;
        let clock = &clock;
        async move {
            let lines: &'static [LineRequest] = Box::leak(Box::new([plain_line(item, 1)]));
            let source = match table {
                Some(_) => OrderSource::DineIn,
                None => OrderSource::Takeaway,
            };
            let placement = Placement {
                request: Request {
                    restaurant_id: restaurant,
                    table_id: table,
                    source,
                    note: "",
                    lines,
                    placed_by_user: None,
                    placed_by_role: Role::Waiter,
                    idempotency_key: key,
                    request_hash: key,
                    now: 1000,
                },
                clock,
            };
            match place(s, &placement, |_, _| vec![]).await {
                PlaceOutcome::Placed { open_check, .. } => open_check,
                other => panic!("{key} not placed: {other:?}"),
            }
        }
    };
    assert!(!place_at(r.id, Some(a.id), soup.id, "a1").await);

    let open = Step {
        actor: Actor {
            restaurant_id: r.id,
            subject: Some("user:1".into()),
            role: Some(Role::Cashier),
            client: None,
        },
        user_id: None,
        role: Role::Cashier,
        action: CheckAction::Open { covers: Some(2) },
        now: 2000,
    };
    let opened = s
        .change_check(r.id, CheckTarget::Table(a.id), 2000, &open)
        .await
        .unwrap();
    assert!(matches!(opened, Changed::Done(..)), "{opened:?}");
    // Alone, and written in turn with stock taken (PostgreSQL's two ways).
    assert!(place_at(r.id, Some(a.id), soup.id, "a2").await);
    assert!(place_at(r.id, Some(a.id), bread.id, "a3").await);
    assert!(!place_at(r.id, Some(b.id), soup.id, "b1").await);
    assert!(!place_at(r.id, None, soup.id, "t1").await);
    let other_soup = s
        .create_menu_item(other.id, &menu_item("Soup", 1200, None, 0))
        .await
        .unwrap();
    assert!(!place_at(other.id, Some(theirs.id), other_soup.id, "c1").await);
    s.close().await;
}

/// Checks, payments, tax rates, settings, intents, webhook signatures and
/// approval PINs, function by function.
async fn checks_payments_and_intents(backend: Backend) {
    use restohub::app::audit::Actor;
    use restohub::app::checks::plan::{CheckAction, Refused, Step};
    use restohub::storage::{Changed, CheckTarget, IntentRow, TaxedThing};
    use restohub_protocol::api::checks::{CheckStatus, IntentStatus, PaymentMethod, RecordPayment};
    use restohub_protocol::api::orders::OrderSource;

    let (_db, s) = open(backend).await;
    let r = s
        .create_restaurant("one", "One", "UTC", "EUR", 10)
        .await
        .unwrap();
    let other = s
        .create_restaurant("two", "Two", "UTC", "EUR", 10)
        .await
        .unwrap();
    let m = s.money_settings(r.id).await.unwrap().unwrap();
    assert_eq!((m.service_charge_bp, m.discount_limit_cents), (0, 1000));
    s.set_money_settings(r.id, 1250, 6, 500).await.unwrap();
    let m = s.money_settings(r.id).await.unwrap().unwrap();
    assert_eq!(
        (
            m.service_charge_bp,
            m.service_charge_min_covers,
            m.discount_limit_cents
        ),
        (1250, 6, 500)
    );

    let vat = s
        .add_tax_rate(r.id, "VAT", 2000, true)
        .await
        .unwrap()
        .unwrap();
    assert!(s
        .add_tax_rate(r.id, "VAT", 1000, false)
        .await
        .unwrap()
        .is_none());
    let old = s
        .add_tax_rate(r.id, "Old", 500, false)
        .await
        .unwrap()
        .unwrap();
    let soup = s
        .create_menu_item(r.id, &menu_item("Soup", 1200, None, 0))
        .await
        .unwrap();
    let item = TaxedThing::Item(soup.id);
    assert!(s.assign_tax_rate(r.id, item, Some(old.id)).await.unwrap());
    assert!(!s.assign_tax_rate(r.id, item, Some(999_999)).await.unwrap());
    assert!(!s.assign_tax_rate(other.id, item, None).await.unwrap());
    assert!(!s
        .assign_tax_rate(r.id, TaxedThing::Category(999_999), None)
        .await
        .unwrap());
    // Deleting a rate clears it from the items that had it.
    assert!(s.delete_tax_rate(r.id, old.id).await.unwrap());
    assert!(!s.delete_tax_rate(r.id, old.id).await.unwrap());
    assert_eq!(s.tax_rates(r.id).await.unwrap(), vec![vat.clone()]);
    assert!(s.assign_tax_rate(r.id, item, Some(vat.id)).await.unwrap());

    let table = s.create_table(r.id, "T9", 2, "CHECKCODE1").await.unwrap();
    assert_eq!(
        s.table_label(r.id, table.id).await.unwrap().as_deref(),
        Some("T9")
    );
    assert_eq!(s.table_label(other.id, table.id).await.unwrap(), None);
    let lines: &'static [LineRequest] = Box::leak(Box::new([LineRequest {
        menu_item_id: soup.id,
        qty: 1,
        note: String::new(),
        modifiers: vec![],
        seat: Some(2),
        course: None,
        choices: vec![],
        index: 0,
    }]));
    let PlaceOutcome::Placed { order, .. } = place(
        &s,
        &Placement {
            request: Request {
                restaurant_id: r.id,
                table_id: Some(table.id),
                source: OrderSource::DineIn,
                note: "",
                lines,
                placed_by_user: None,
                placed_by_role: Role::Waiter,
                idempotency_key: "k",
                request_hash: "k",
                now: 1000,
            },
            clock: &restohub::clock::SystemClock,
        },
        |_, _| vec![],
    )
    .await
    else {
        panic!("not placed")
    };
    assert_eq!(order.lines[0].seat, Some(2));
    assert_eq!(s.open_check_of_table(r.id, table.id).await.unwrap(), None);
    assert_eq!(s.order_check_status(r.id, order.id).await.unwrap(), None);

    let step = |action| Step {
        actor: Actor {
            restaurant_id: r.id,
            subject: Some("user:1".into()),
            role: Some(Role::Cashier),
            client: None,
        },
        user_id: None,
        role: Role::Cashier,
        action,
        now: 5000,
    };
    let open = step(CheckAction::Open { covers: Some(2) });
    let Changed::Done(done, events) = s
        .change_check(r.id, CheckTarget::Table(table.id), 5000, &open)
        .await
        .unwrap()
    else {
        panic!("not opened")
    };
    let check = done.facts.check.id;
    // The table's order joined it; its VAT is included in the price.
    assert_eq!(done.facts.orders.len(), 1);
    assert_eq!(done.facts.item_rates.get(&soup.id), Some(&vat.id));
    assert_eq!(
        (done.facts.check.total_cents, done.facts.check.tax_cents),
        (1200, 200)
    );
    assert_eq!(events.last().unwrap().kind, "check.opened");
    assert_eq!(
        s.open_check_of_table(r.id, table.id).await.unwrap(),
        Some(check)
    );
    assert_eq!(
        s.order_check_status(r.id, order.id).await.unwrap(),
        Some(CheckStatus::Open)
    );
    // Another restaurant finds nothing of it.
    assert!(matches!(
        s.change_check(other.id, CheckTarget::Id(check), 5000, &open)
            .await
            .unwrap(),
        Changed::NotFound
    ));
    assert!(s.check_facts(other.id, check).await.unwrap().is_none());

    let pay = |key: &str, amount: i64| CheckAction::Pay {
        req: RecordPayment {
            idempotency_key: key.into(),
            part: None,
            method: PaymentMethod::Card,
            amount_cents: amount,
            tip_cents: 50,
            tendered_cents: None,
            reference: Some("AUTH1".into()),
        },
        key: format!("user:1/{key}"),
        hash: format!("{key}{amount}"),
        intent: None,
    };
    let over = s
        .change_check(r.id, CheckTarget::Id(check), 6000, &step(pay("x", 1201)))
        .await
        .unwrap();
    assert!(matches!(over, Changed::Refused(Refused::Error(_))));
    let Changed::Done(paid, _) = s
        .change_check(r.id, CheckTarget::Id(check), 6000, &step(pay("a", 1200)))
        .await
        .unwrap()
    else {
        panic!("not paid")
    };
    // Paid, its order still in the kitchen: paid, not closed.
    let c = &paid.facts.check;
    assert_eq!(c.status, CheckStatus::Paid);
    assert_eq!(
        (c.paid_cents, c.tip_cents, c.receipt_no),
        (1200, 50, Some(1))
    );
    assert_eq!(c.paid_day.as_deref(), Some("1970-01-01"));
    let payment = paid.payment.unwrap();
    assert_eq!(payment.reference.as_deref(), Some("AUTH1"));
    let retry = s
        .change_check(r.id, CheckTarget::Id(check), 7000, &step(pay("a", 1200)))
        .await
        .unwrap();
    assert!(matches!(retry, Changed::Refused(Refused::Duplicate(p)) if p.id == payment.id));
    assert_eq!(
        s.payment_by_key(r.id, "user:1/a")
            .await
            .unwrap()
            .map(|p| p.id),
        Some(payment.id)
    );
    assert_eq!(s.payment_by_key(other.id, "user:1/a").await.unwrap(), None);
    assert_eq!(
        s.payment_check(r.id, payment.id).await.unwrap(),
        Some(check)
    );
    assert_eq!(s.payment_check(other.id, payment.id).await.unwrap(), None);
    let facts = s.check_facts(r.id, check).await.unwrap().unwrap();
    assert_eq!(facts.payments, vec![payment.clone()]);
    assert_eq!(
        s.check_ids(r.id, Some(CheckStatus::Paid), None, ALL)
            .await
            .unwrap(),
        vec![check]
    );
    assert!(s
        .check_ids(r.id, Some(CheckStatus::Open), None, ALL)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.check_ids(r.id, None, Some(table.id), ALL).await.unwrap(),
        vec![check]
    );
    assert_eq!(
        s.order_check_status(r.id, order.id).await.unwrap(),
        Some(CheckStatus::Paid)
    );

    let intent = IntentRow {
        id: "pi_test".into(),
        restaurant_id: r.id,
        check_id: check,
        part: None,
        amount_cents: 100,
        tip_cents: 0,
        currency: "EUR".into(),
        status: IntentStatus::Pending,
        payment_id: None,
        idempotency_key: "guest/1".into(),
        created_by: "guest".into(),
        created_at: 1,
        expires_at: 2,
    };
    assert_eq!(s.create_intent(&intent).await.unwrap(), intent);
    // The same key again: the intent it made.
    let again = IntentRow {
        id: "pi_other".into(),
        ..intent.clone()
    };
    assert_eq!(s.create_intent(&again).await.unwrap().id, "pi_test");
    assert_eq!(s.intent("pi_test").await.unwrap(), Some(intent));
    assert_eq!(s.intent("pi_other").await.unwrap(), None);

    assert!(s.remember_signature(r.id, "sig", 10_000, 0).await.unwrap());
    assert!(!s.remember_signature(r.id, "sig", 10_001, 0).await.unwrap());
    // Forgotten once older than the window.
    assert!(s
        .remember_signature(r.id, "sig", 20_000, 15_000)
        .await
        .unwrap());

    assert_eq!(s.webhook_secret(r.id).await.unwrap(), None);
    s.set_webhook_secret(r.id, "whsec_x").await.unwrap();
    assert_eq!(
        s.webhook_secret(r.id).await.unwrap().as_deref(),
        Some("whsec_x")
    );
    let user = s
        .create_user(
            r.id,
            &NewUser {
                email: "m@one.test",
                name: "M",
                role: Role::Manager,
                password_hash: "h",
            },
            1,
        )
        .await
        .unwrap();
    assert!(s
        .set_pin_hash(r.id, user.id, Some("pin-hash"))
        .await
        .unwrap());
    assert!(!s.set_pin_hash(other.id, user.id, None).await.unwrap());
    assert_eq!(
        s.pin_hash(r.id, "m@one.test").await.unwrap(),
        Some((user.id, "manager".into(), Some("pin-hash".into())))
    );
    assert_eq!(s.pin_hash(other.id, "m@one.test").await.unwrap(), None);
}

/// Modifier groups and options, function by function: created with their
/// options, read in display order per item, by group and by option,
/// changed, deleted with their options, scoped to their restaurant.
async fn modifier_groups_and_options(backend: Backend) {
    use restohub_protocol::api::modifiers::{
        Allergen, ModifierGroupPatch, ModifierOptionPatch, NewModifierGroup, NewModifierOption,
    };

    let (_db, s) = open(backend).await;
    let r = s
        .create_restaurant("one", "One", "UTC", "EUR", 10)
        .await
        .unwrap();
    let other = s
        .create_restaurant("two", "Two", "UTC", "EUR", 10)
        .await
        .unwrap();
    let burger = s
        .create_menu_item(r.id, &menu_item("Burger", 1500, None, 0))
        .await
        .unwrap();
    let option = |name: &str, delta: i64, position: i64| NewModifierOption {
        name: name.into(),
        price_delta_cents: delta,
        allergens: [Allergen::Milk].into_iter().collect(),
        position,
    };
    let new = NewModifierGroup {
        name: "Extras".into(),
        min_choices: 0,
        max_choices: 2,
        position: 1,
        options: vec![option("Cheese", 150, 2), option("Bacon", -50, 1)],
    };
    let extras = s
        .create_modifier_group(r.id, burger.id, &new)
        .await
        .unwrap();
    let names: Vec<&str> = extras.options.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["Bacon", "Cheese"], "in display order");
    assert_eq!(extras.options[0].price_delta_cents, -50);
    assert_eq!(extras.options[0].allergens.list(), [Allergen::Milk]);
    assert!(!extras.required);
    // Another restaurant's item, and a duplicate name, are refused.
    let foreign = s.create_modifier_group(other.id, burger.id, &new).await;
    assert!(foreign.unwrap_err().as_database_error().is_some());
    let twice = s.create_modifier_group(r.id, burger.id, &new).await;
    assert!(twice
        .unwrap_err()
        .as_database_error()
        .unwrap()
        .is_unique_violation());
    let doneness = NewModifierGroup {
        name: "Doneness".into(),
        min_choices: 1,
        max_choices: 1,
        position: 0,
        options: vec![option("Rare", 0, 0)],
    };
    let doneness = s
        .create_modifier_group(r.id, burger.id, &doneness)
        .await
        .unwrap();
    assert!(doneness.required);
    let all = s.modifier_groups(r.id, burger.id, burger.id).await.unwrap();
    assert_eq!(all, vec![doneness.clone(), extras.clone()]);
    assert!(s
        .modifier_groups(other.id, burger.id, burger.id)
        .await
        .unwrap()
        .is_empty());
    let item = s.menu_item(r.id, burger.id).await.unwrap().unwrap();
    assert_eq!(item.modifier_groups, all);
    assert_eq!(
        s.modifier_group(r.id, extras.id).await.unwrap(),
        Some(extras.clone())
    );
    assert_eq!(s.modifier_group(other.id, extras.id).await.unwrap(), None);
    let bacon = extras.options[0].id;
    assert_eq!(
        s.modifier_option_group(r.id, bacon).await.unwrap(),
        Some(extras.clone())
    );
    assert_eq!(
        s.modifier_option_group(other.id, bacon).await.unwrap(),
        None
    );

    // Changes.
    let patch = ModifierGroupPatch {
        max_choices: Some(3),
        ..Default::default()
    };
    let changed = s
        .update_modifier_group(r.id, extras.id, &patch)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((changed.max_choices, changed.options.len()), (3, 2));
    assert!(s
        .update_modifier_group(other.id, extras.id, &patch)
        .await
        .unwrap()
        .is_none());
    let patch = ModifierOptionPatch {
        price_delta_cents: Some(75),
        allergens: Some(Default::default()),
        ..Default::default()
    };
    let changed = s
        .update_modifier_option(r.id, bacon, &patch, |_, _| vec![])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.options[0].price_delta_cents, 75);
    assert!(changed.options[0].allergens.is_empty());
    assert!(s
        .update_modifier_option(other.id, bacon, &patch, |_, _| vec![])
        .await
        .unwrap()
        .is_none());
    let added = s
        .create_modifier_option(r.id, extras.id, &option("Egg", 120, 9))
        .await
        .unwrap();
    assert_eq!(added.options.len(), 3);
    assert!(s
        .create_modifier_option(other.id, extras.id, &option("Egg", 1, 1))
        .await
        .is_err());

    // Deletes: an option once; a group with its options; another
    // restaurant's never.
    assert!(!s.delete_modifier_option(other.id, bacon).await.unwrap());
    assert!(s.delete_modifier_option(r.id, bacon).await.unwrap());
    assert!(!s.delete_modifier_option(r.id, bacon).await.unwrap());
    assert!(!s.delete_modifier_group(other.id, extras.id).await.unwrap());
    assert!(s.delete_modifier_group(r.id, extras.id).await.unwrap());
    assert_eq!(
        s.modifier_option_group(r.id, added.options[1].id)
            .await
            .unwrap(),
        None
    );
    // Deleting the item takes its groups with it.
    assert!(s.delete_menu_item(r.id, burger.id).await.unwrap());
    assert_eq!(s.modifier_group(r.id, doneness.id).await.unwrap(), None);
}

/// Proof of display and waiter calls: each station's watermark announces an
/// order once, screens only move forward, and every flag and call changes
/// once, with its event.
async fn screens_seen_alerts_and_calls(backend: Backend) {
    use restohub::storage::ScreenRow;
    use restohub_protocol::api::orders::OrderSource;
    use restohub_protocol::ws::Room;

    let (_db, s) = open(backend).await;
    let r = s
        .create_restaurant("seen", "Seen", "UTC", "EUR", 10)
        .await
        .unwrap()
        .id;
    let grill = s
        .create_station(r, "Grill", &Default::default())
        .await
        .unwrap()
        .id;
    let mut steak = menu_item("Steak", 100, None, 0);
    steak.station_id = Some(grill);
    let steak = s.create_menu_item(r, &steak).await.unwrap();
    let table = s.create_table(r, "T1", 2, "SEENCODE1").await.unwrap().id;
    let lines: &'static [LineRequest] = Box::leak(vec![plain_line(steak.id, 1)].into_boxed_slice());
    let clock: &'static ManualClock = Box::leak(Box::new(ManualClock::new(1000)));
    let draft = move |kind: &str| EventDraft {
        kind: kind.into(),
        rooms: vec![Room::Kitchen(r)],
        data: empty_data(),
    };
    let mut orders = Vec::new();
    for key in ["s1", "s2", "s3"] {
        let p = Placement {
            request: Request {
                restaurant_id: r,
                table_id: Some(table),
                source: OrderSource::DineIn,
                note: "",
                lines,
                placed_by_user: Some(77),
                placed_by_role: Role::Waiter,
                idempotency_key: key,
                request_hash: key,
                now: 1000,
            },
            clock,
        };
        let PlaceOutcome::Placed { order, .. } =
            place(&s, &p, move |_, _| vec![draft("order.placed")]).await
        else {
            panic!("not placed")
        };
        orders.push(order);
    }
    let (first, last) = (orders[0].placed_seq as i64, orders[2].placed_seq as i64);
    assert_eq!(s.open_tickets(r).await.unwrap(), [(grill, 3)]);
    assert_eq!(s.due_seq(r, grill, 999).await.unwrap(), None);
    assert_eq!(s.due_seq(r, grill, 1000).await.unwrap(), Some(last));

    // The first order, announced once.
    let seen = s
        .advance_seen(r, grill, first, 1500, 10, |name, seq, seen| {
            assert_eq!((name, seq), ("Grill", first));
            assert_eq!(seen.len(), 1);
            assert_eq!(
                (seen[0].order_id, seen[0].placed_by_user),
                (orders[0].id, Some(77))
            );
            vec![draft("ticket.seen")]
        })
        .await
        .unwrap();
    assert_eq!(seen.events.len(), 1);
    assert!(!seen.more);
    let again = s
        .advance_seen(r, grill, first, 1600, 10, |_, _, _| panic!("twice"))
        .await
        .unwrap();
    assert!(again.events.is_empty());
    let nowhere = s
        .advance_seen(r, 999_999, last, 1600, 10, |_, _, _| panic!("no station"))
        .await
        .unwrap();
    assert!(nowhere.events.is_empty());
    // Two more, one per batch: the watermark stops after the first.
    let batch = s
        .advance_seen(r, grill, last, 1700, 1, |_, seq, seen| {
            assert_eq!(seq, orders[1].placed_seq as i64);
            assert_eq!(seen[0].order_id, orders[1].id);
            vec![draft("ticket.seen")]
        })
        .await
        .unwrap();
    assert!(batch.more);
    let rest = s
        .advance_seen(r, grill, last, 1800, 1, |_, _, seen| {
            assert_eq!(seen[0].order_id, orders[2].id);
            vec![draft("ticket.seen")]
        })
        .await
        .unwrap();
    assert!(!rest.more);
    assert_eq!(rest.events.len(), 1);

    // Screens move only forward; an unknown station is not stored.
    let screens = [
        (grill, "g1".to_owned(), 3, 1500),
        (999_999, "ghost".into(), 3, 1500),
    ];
    s.record_screens(r, &screens).await.unwrap();
    s.record_screens(r, &[(grill, "g1".into(), 2, 1900)])
        .await
        .unwrap();
    s.record_screens(r, &[]).await.unwrap();
    let g1 = ScreenRow {
        station_id: grill,
        screen: "g1".into(),
        seen_seq: 3,
        seen_at: 1500,
        behind: false,
    };
    assert_eq!(s.station_screens(r, grill).await.unwrap(), [g1]);
    for behind in [true, false] {
        let flagged = s
            .flag_screen(r, grill, "g1", behind, 2000, draft("screen.behind"))
            .await
            .unwrap();
        assert_eq!(flagged.len(), 1);
        let twice = s
            .flag_screen(r, grill, "g1", behind, 2000, draft("screen.behind"))
            .await
            .unwrap();
        assert!(twice.is_empty());
        assert_eq!(s.station_screens(r, grill).await.unwrap()[0].behind, behind);
    }
    // Screens silent since before a day ago are forgotten; newer ones stay.
    assert_eq!(s.forget_screens(1500).await.unwrap(), 0);
    assert_eq!(s.forget_screens(1501).await.unwrap(), 1);
    assert!(s.station_screens(r, grill).await.unwrap().is_empty());

    // A station's flag, raised and cleared once each.
    assert!(s.unattended_stations(r).await.unwrap().is_empty());
    for unattended in [true, false] {
        let raised = s
            .flag_station(r, grill, unattended, 2100, |name| {
                assert_eq!(name, "Grill");
                vec![draft("station.unattended")]
            })
            .await
            .unwrap();
        assert_eq!(raised.len(), 1);
        let twice = s
            .flag_station(r, grill, unattended, 2100, |_| panic!("twice"))
            .await
            .unwrap();
        assert!(twice.is_empty());
        let flagged = s.unattended_stations(r).await.unwrap();
        assert_eq!(flagged.is_empty(), !unattended);
    }

    // Calls: one while open and recent; accepted once; then new again.
    let call = |now: i64| s.call_table(r, table, now, now - 120_000, draft("table.waiter_called"));
    assert_eq!(call(10_000).await.unwrap().unwrap().len(), 1);
    assert!(call(100_000).await.unwrap().is_none());
    assert!(call(130_001).await.unwrap().is_some(), "two minutes on");
    let accept = |now: i64| s.accept_call(r, table, 5, now, draft("table.call_accepted"));
    assert_eq!(accept(140_000).await.unwrap().unwrap().len(), 1);
    assert!(accept(141_000).await.unwrap().is_none());
    assert!(
        call(142_000).await.unwrap().is_some(),
        "after an accepted call"
    );
}
