//! A terminal menu board: logs in to a hub and prints the menu by category,
//! with prices, stock and what is 86'd.
//!
//!     cargo run --example menu -- http://127.0.0.1:8080 demo waiter@demo.restohub restohub-demo

use std::collections::BTreeMap;

use restohub_protocol::api::auth::{LoginRequest, Tokens};
use restohub_protocol::api::menu::{Category, MenuItem};
use restohub_protocol::{ErrorEnvelope, Page};
use serde::de::DeserializeOwned;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, restaurant, email, password] = args.as_slice() else {
        eprintln!("usage: menu <hub url> <restaurant slug> <email> <password>");
        std::process::exit(2);
    };
    let http = reqwest::Client::new();
    let login = LoginRequest {
        restaurant: restaurant.clone(),
        email: email.clone(),
        password: password.clone(),
        otp: None,
    };
    let res = http
        .post(format!("{url}/api/v1/auth/login"))
        .json(&login)
        .send()
        .await?;
    let tokens: Tokens = reply(res).await?;
    println!("{} ({})\n", tokens.user.name, tokens.user.role);

    let categories: Vec<Category> =
        all(&http, url, "/api/v1/menu/categories", &tokens.access_token).await?;
    let items: Vec<MenuItem> = all(&http, url, "/api/v1/menu/items", &tokens.access_token).await?;
    let mut by_category: BTreeMap<(i64, String), Vec<&MenuItem>> = BTreeMap::new();
    for item in &items {
        let category = categories.iter().find(|c| Some(c.id) == item.category_id);
        let key = category.map_or((i64::MAX, "Other".to_owned()), |c| {
            (c.position, c.name.clone())
        });
        by_category.entry(key).or_default().push(item);
    }
    for ((_, name), items) in by_category {
        println!("{name}");
        for item in items {
            let stock = match item.stock {
                Some(n) if n <= item.low_stock_threshold => format!("{n} left (low)"),
                Some(n) => format!("{n} left"),
                None => String::new(),
            };
            let state = if item.available { "" } else { "  86'd" };
            let price = format!("{}.{:02}", item.price_cents / 100, item.price_cents % 100);
            println!("  {:<24} {:>8}  {stock}{state}", item.name, price);
        }
    }
    Ok(())
}

/// Follows `next_after` until the last page.
async fn all<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    path: &str,
    token: &str,
) -> Result<Vec<T>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let res = http
            .get(format!("{url}{path}?limit=200&after={after}"))
            .bearer_auth(token)
            .send()
            .await?;
        let page: Page<T> = reply(res).await?;
        out.extend(page.items);
        match page.next_after {
            Some(next) => after = next,
            None => return Ok(out),
        }
    }
}

async fn reply<T: DeserializeOwned>(
    res: reqwest::Response,
) -> Result<T, Box<dyn std::error::Error>> {
    if res.status().is_success() {
        return Ok(res.json().await?);
    }
    let error: ErrorEnvelope = res.json().await?;
    Err(format!("{}: {}", error.error.code, error.error.message).into())
}
