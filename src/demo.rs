//! The demo restaurant behind `restohub demo`: stations, a menu with stock,
//! tables, one login per role, and what checks need (VAT, a service charge,
//! a discount limit, a manager's approval PIN), so a newcomer sees
//! something real.

use restohub_protocol::api::menu::NewMenuItem;
use restohub_protocol::Role;

use crate::app::accounts::{create_owner, NewOwner};
use crate::app::checks::receipt::money;
use crate::app::credentials::normalise_email;
use crate::auth::tokens::guest_code;
use crate::auth::Passwords;
use crate::storage::{NewUser, PageQuery, Store, TaxedThing};

pub const SLUG: &str = "demo";
pub const PASSWORD: &str = "restohub-demo";
/// The manager's PIN for approving discounts above the limit at the till.
pub const MANAGER_PIN: &str = "2468";
/// Basis points of the net added as service for parties of [`SERVICE_MIN_COVERS`].
const SERVICE_CHARGE_BP: i64 = 1250;
const SERVICE_MIN_COVERS: i64 = 6;
/// A discount worth more than this (cents) needs a manager's approval.
const DISCOUNT_LIMIT_CENTS: i64 = 1000;

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
    let mut manager = None;
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
        let user = store.create_user(r, &user, now).await?;
        if role == Role::Manager {
            manager = Some(user.id);
        }
    }
    if let Some(manager) = manager {
        let pin = passwords.hash(MANAGER_PIN.into()).await?;
        store.set_pin_hash(r, manager, Some(&pin)).await?;
    }
    let grill = store
        .create_station(r, "Grill", &Default::default())
        .await?
        .id;
    let cold = store
        .create_station(r, "Cold kitchen", &Default::default())
        .await?
        .id;
    let bar = store
        .create_station(r, "Bar", &Default::default())
        .await?
        .id;
    let starters = store.create_category(r, "Starters", 1, 1).await?.id;
    let mains = store.create_category(r, "Mains", 2, 2).await?.id;
    let desserts = store.create_category(r, "Desserts", 3, 3).await?.id;
    let drinks = store.create_category(r, "Drinks", 4, 1).await?.id;
    let menu: [DemoItem; 10] = [
        ("Tomato soup", 650, starters, cold, None, 240),
        ("Burrata", 1150, starters, cold, Some(12), 180),
        ("Ribeye steak", 3200, mains, grill, Some(8), 900),
        ("Cheeseburger", 1650, mains, grill, Some(40), 600),
        ("Grilled halloumi", 1450, mains, grill, Some(20), 480),
        ("Tiramisu", 750, desserts, cold, Some(15), 120),
        ("Lemon tart", 700, desserts, cold, None, 120),
        ("House lemonade", 450, drinks, bar, None, 60),
        ("Espresso", 280, drinks, bar, None, 45),
        ("Negroni", 1100, drinks, bar, Some(30), 90),
    ];
    let mut items = Vec::new();
    for (name, price, category, station, stock, prep_seconds) in menu {
        let item = NewMenuItem {
            name: name.into(),
            description: String::new(),
            price_cents: price,
            category_id: Some(category),
            station_id: Some(station),
            stock,
            low_stock_threshold: if stock.is_some() { 3 } else { 0 },
            available: true,
            prep_seconds,
            allergens: Default::default(),
        };
        let id = store.create_menu_item(r, &item).await?.id;
        items.push((name, id));
    }
    add_modifiers(store, r, &items).await?;
    // A Berlin bistro: VAT is in the menu prices, 7% on food and 19% on
    // drinks, so one check shows two rates each rounded once.
    let food = add_rate(store, r, "VAT food", 700).await?;
    let drink = add_rate(store, r, "VAT drinks", 1900).await?;
    for (category, rate) in [
        (starters, food),
        (mains, food),
        (desserts, food),
        (drinks, drink),
    ] {
        store
            .assign_tax_rate(r, TaxedThing::Category(category), Some(rate))
            .await?;
    }
    store
        .set_money_settings(
            r,
            SERVICE_CHARGE_BP,
            SERVICE_MIN_COVERS,
            DISCOUNT_LIMIT_CENTS,
        )
        .await?;
    for n in 1..=8 {
        let seats = if n % 3 == 0 { 6 } else { 4 };
        store
            .create_table(r, &format!("T{n}"), seats, &guest_code())
            .await?;
    }
    Ok(r)
}

/// Allergens on the demo's dishes, and choices for the burger, the steak
/// and the espresso, so tickets show them.
async fn add_modifiers(store: &Store, r: i64, items: &[(&str, i64)]) -> anyhow::Result<()> {
    use restohub_protocol::api::menu::MenuItemPatch;
    use restohub_protocol::api::modifiers::{Allergen::*, NewModifierGroup, NewModifierOption};
    let id = |name: &str| items.iter().find(|(n, _)| *n == name).map(|(_, id)| *id);
    let allergens = [
        ("Burrata", vec![Milk]),
        ("Cheeseburger", vec![Gluten, Milk, Sesame, Mustard]),
        ("Grilled halloumi", vec![Milk]),
        ("Tiramisu", vec![Gluten, Eggs, Milk]),
        ("Lemon tart", vec![Gluten, Eggs, Milk, Nuts]),
        ("Tomato soup", vec![Celery]),
    ];
    for (name, list) in allergens {
        if let Some(item) = id(name) {
            let patch = MenuItemPatch {
                allergens: Some(list.into_iter().collect()),
                ..Default::default()
            };
            store.update_menu_item(r, item, &patch).await?;
        }
    }
    let option = |name: &str, delta: i64, allergens: &[_]| NewModifierOption {
        name: name.into(),
        price_delta_cents: delta,
        allergens: allergens.iter().copied().collect(),
        position: 0,
    };
    let doneness = || NewModifierGroup {
        name: "Doneness".into(),
        min_choices: 1,
        max_choices: 1,
        position: 0,
        options: ["Rare", "Medium rare", "Medium", "Well done"]
            .map(|d| option(d, 0, &[]))
            .into(),
    };
    let extras = NewModifierGroup {
        name: "Extras".into(),
        min_choices: 0,
        max_choices: 3,
        position: 1,
        options: vec![
            option("Bacon", 250, &[]),
            option("Extra cheese", 150, &[Milk]),
            option("Fried egg", 120, &[Eggs]),
            option("Avocado", 180, &[]),
        ],
    };
    let milk = NewModifierGroup {
        name: "Milk".into(),
        min_choices: 0,
        max_choices: 1,
        position: 0,
        options: vec![
            option("Dash of milk", 0, &[Milk]),
            option("Oat milk", 40, &[]),
        ],
    };
    for (name, group) in [
        ("Cheeseburger", doneness()),
        ("Cheeseburger", extras),
        ("Ribeye steak", doneness()),
        ("Espresso", milk),
    ] {
        if let Some(item) = id(name) {
            store.create_modifier_group(r, item, &group).await?;
        }
    }
    Ok(())
}

/// An included (VAT) rate of `bp` basis points; its id.
async fn add_rate(store: &Store, r: i64, name: &str, bp: i64) -> anyhow::Result<i64> {
    let rate = store
        .add_tax_rate(r, name, bp, true)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo's tax rate {name:?} exists already"))?;
    Ok(rate.id)
}

/// Basis points as a percentage for people: 1250 → "12.5%".
fn percent(bp: i64) -> String {
    let whole = format!("{}.{:02}", bp / 100, bp % 100);
    format!("{}%", whole.trim_end_matches('0').trim_end_matches('.'))
}

/// What checks come to in the demo, read back from the restaurant as it is
/// (an owner may have changed it since it was created).
async fn describe_checks(store: &Store, restaurant: i64) -> anyhow::Result<String> {
    let mut out = String::from("\nChecks:\n");
    let rates = store.tax_rates(restaurant).await?;
    if rates.is_empty() {
        out.push_str("  no tax rates\n");
    }
    for rate in rates {
        let how = if rate.included {
            "included in the prices"
        } else {
            "added to the prices"
        };
        out.push_str(&format!(
            "  tax      {} {} ({how})\n",
            rate.name,
            percent(rate.rate_bp)
        ));
    }
    if let Some(s) = store.money_settings(restaurant).await? {
        if s.service_charge_bp > 0 {
            out.push_str(&format!(
                "  service  {} of the net, for {} or more covers\n",
                percent(s.service_charge_bp),
                s.service_charge_min_covers
            ));
        }
        out.push_str(&format!(
            "  discount above {} {} needs a manager's approval",
            money(s.discount_limit_cents, &s.currency),
            s.currency
        ));
    }
    let manager = normalise_email(&email(Role::Manager));
    match store.pin_hash(restaurant, &manager).await? {
        Some((_, _, Some(_))) => out.push_str(&format!(
            " ({manager} with the password or PIN {MANAGER_PIN})\n"
        )),
        _ => out.push_str(&format!(" ({manager} with the password)\n")),
    }
    Ok(out)
}

/// What `restohub demo` prints: where to log in and as whom.
pub async fn describe(store: &Store, restaurant: i64, base_url: &str) -> anyhow::Result<String> {
    let mut out = format!(
        "\nDemo restaurant \"{SLUG}\" is ready at {base_url}\n\nLogins (password: {PASSWORD}):\n"
    );
    for role in Role::STAFF {
        out.push_str(&format!("  {:<8} {}\n", role.as_str(), email(role)));
    }
    out.push_str(&describe_pages(store, restaurant, base_url).await?);
    out.push_str(&describe_checks(store, restaurant).await?);
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

/// The browser pages, for people: sign-in, each station's kitchen display,
/// the expo, the waiter's, the dashboard, and each table's guest page.
async fn describe_pages(store: &Store, restaurant: i64, base_url: &str) -> anyhow::Result<String> {
    let all = PageQuery {
        after: 0,
        limit: 100,
    };
    let mut out = format!(
        "\nOpen in a browser (any tablet or phone on the network, with --listen 0.0.0.0:8080):\n  \
         sign in         {base_url}/\n  \
         kitchen display {base_url}/kds  (all stations)\n"
    );
    for station in store.stations(restaurant, all).await? {
        out.push_str(&format!(
            "                  {base_url}/kds?station={}  ({})\n",
            station.id, station.name
        ));
    }
    out.push_str(&format!(
        "  expo            {base_url}/expo\n  \
         waiter          {base_url}/waiter\n  \
         dashboard       {base_url}/dashboard\n  \
         guests (QR)     "
    ));
    let tables = store.tables(restaurant, all).await?;
    for (i, table) in tables.iter().enumerate() {
        if i > 0 {
            out.push_str("                  ");
        }
        out.push_str(&format!(
            "{base_url}/t/{}  ({})\n",
            table.guest_code.as_deref().unwrap_or_default(),
            table.label
        ));
    }
    out.push_str(&format!(
        "  API docs        {base_url}/api/docs
"
    ));
    Ok(out)
}

/// A demo menu item: name, price, category, station, stock, preparation seconds.
type DemoItem = (&'static str, i64, i64, i64, Option<i64>, i64);

#[cfg(test)]
mod tests {
    #[test]
    fn percentages_read_as_people_write_them() {
        assert_eq!(super::percent(700), "7%");
        assert_eq!(super::percent(1250), "12.5%");
        assert_eq!(super::percent(1905), "19.05%");
        assert_eq!(super::percent(1000), "10%");
        assert_eq!(super::percent(0), "0%");
    }
}
