//! The demo restaurant behind `restohub demo`: stations, a menu with stock,
//! tables and one login per role, so a newcomer sees something real.

use restohub_protocol::api::menu::NewMenuItem;
use restohub_protocol::Role;

use crate::app::accounts::{create_owner, NewOwner};
use crate::app::credentials::normalise_email;
use crate::auth::tokens::guest_code;
use crate::auth::Passwords;
use crate::storage::{NewUser, PageQuery, Store};

pub const SLUG: &str = "demo";
pub const PASSWORD: &str = "restohub-demo";

pub fn email(role: Role) -> String {
    format!("{role}@demo.restohub")
}

/// Creates the demo restaurant unless it exists, and returns its id.
pub async fn seed(store: &Store, passwords: &Passwords, now: i64) -> anyhow::Result<i64> {
    if let Some(existing) = store.restaurant_by_slug(SLUG).await? {
        return Ok(existing.id);
    }
    let (restaurant, _owner) = create_owner(
        store,
        passwords,
        &NewOwner {
            restaurant: "Demo Bistro".into(),
            slug: Some(SLUG.into()),
            email: email(Role::Owner),
            password: PASSWORD.into(),
            name: "Olivia Owner".into(),
            timezone: "Europe/Berlin".into(),
            currency: "EUR".into(),
        },
        now,
    )
    .await?;
    let r = restaurant.id;
    let hash = passwords.hash(PASSWORD.into()).await?;
    for (role, name) in [
        (Role::Manager, "Max Manager"),
        (Role::Waiter, "Wanda Waiter"),
        (Role::Chef, "Chris Chef"),
        (Role::Cashier, "Cass Cashier"),
    ] {
        let email = normalise_email(&email(role));
        let user = NewUser {
            email: &email,
            name,
            role,
            password_hash: &hash,
        };
        store.create_user(r, &user, now).await?;
    }
    let grill = store.create_station(r, "Grill").await?.id;
    let cold = store.create_station(r, "Cold kitchen").await?.id;
    let bar = store.create_station(r, "Bar").await?.id;
    let starters = store.create_category(r, "Starters", 1).await?.id;
    let mains = store.create_category(r, "Mains", 2).await?.id;
    let desserts = store.create_category(r, "Desserts", 3).await?.id;
    let drinks = store.create_category(r, "Drinks", 4).await?.id;
    let menu: [(&str, i64, i64, i64, Option<i64>); 10] = [
        ("Tomato soup", 650, starters, cold, None),
        ("Burrata", 1150, starters, cold, Some(12)),
        ("Ribeye steak", 3200, mains, grill, Some(8)),
        ("Cheeseburger", 1650, mains, grill, Some(40)),
        ("Grilled halloumi", 1450, mains, grill, Some(20)),
        ("Tiramisu", 750, desserts, cold, Some(15)),
        ("Lemon tart", 700, desserts, cold, None),
        ("House lemonade", 450, drinks, bar, None),
        ("Espresso", 280, drinks, bar, None),
        ("Negroni", 1100, drinks, bar, Some(30)),
    ];
    for (name, price, category, station, stock) in menu {
        let item = NewMenuItem {
            name: name.into(),
            description: String::new(),
            price_cents: price,
            category_id: Some(category),
            station_id: Some(station),
            stock,
            low_stock_threshold: if stock.is_some() { 3 } else { 0 },
            available: true,
        };
        store.create_menu_item(r, &item).await?;
    }
    for n in 1..=8 {
        let seats = if n % 3 == 0 { 6 } else { 4 };
        store
            .create_table(r, &format!("T{n}"), seats, &guest_code())
            .await?;
    }
    Ok(r)
}

/// What `restohub demo` prints: where to log in and as whom.
pub async fn describe(store: &Store, restaurant: i64, base_url: &str) -> anyhow::Result<String> {
    let mut out = format!(
        "\nDemo restaurant \"{SLUG}\" is ready at {base_url}\n\nLogins (password: {PASSWORD}):\n"
    );
    for role in Role::STAFF {
        out.push_str(&format!("  {:<8} {}\n", role.as_str(), email(role)));
    }
    out.push_str("\nTable QR codes (POST /api/v1/guest-sessions {\"table_code\": ...}):\n");
    let tables = store
        .tables(
            restaurant,
            PageQuery {
                after: 0,
                limit: 100,
            },
        )
        .await?;
    for table in tables {
        out.push_str(&format!(
            "  {:<4} {}\n",
            table.label,
            table.guest_code.unwrap_or_default()
        ));
    }
    out.push_str(&format!(
        "\nTry:\n  curl -s {base_url}/api/v1/auth/login -H 'content-type: application/json' \\\n    \
         -d '{{\"restaurant\":\"{SLUG}\",\"email\":\"{}\",\"password\":\"{PASSWORD}\"}}'\n  \
         curl -s {base_url}/api/v1/menu/items -H \"authorization: Bearer $ACCESS_TOKEN\"\n",
        email(Role::Waiter)
    ));
    Ok(out)
}
