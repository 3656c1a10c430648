//! The restaurant as an account: creating it with its owner (the
//! `create-owner` command), and reading and changing its settings.

use std::str::FromStr;

use anyhow::{bail, Context};
use restohub_protocol::api::restaurant::{Restaurant, RestaurantPatch};
use restohub_protocol::api::staff::{NewStaffUser, StaffUser};
use restohub_protocol::Role;
use serde_json::json;
use validator::Validate;

use super::access::Operation;
use super::audit::{self, Action, Entry};
use crate::app::credentials::normalise_email;
use crate::auth::{Caller, Passwords};
use crate::error::{validation_failed, ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{NewUser, Store};

/// A new restaurant and its owner, as `restohub create-owner` takes them.
/// No `Debug`: it holds a password.
#[derive(Clone)]
pub struct NewOwner {
    pub restaurant: String,
    /// From the name when absent.
    pub slug: Option<String>,
    pub email: String,
    pub password: String,
    pub name: String,
    pub timezone: String,
    pub currency: String,
}

/// A slug from a display name: lower case letters, digits and dashes.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').chars().take(64).collect()
}

/// Creates the restaurant and its owner, checking input like the API does.
pub async fn create_owner(
    store: &Store,
    passwords: &Passwords,
    args: &NewOwner,
    now: i64,
) -> anyhow::Result<(Restaurant, StaffUser)> {
    let slug = args
        .slug
        .clone()
        .unwrap_or_else(|| slugify(&args.restaurant));
    if slug.is_empty() || slug != slugify(&slug) {
        bail!("slug {slug:?} must be lower case letters, digits and dashes");
    }
    if args.restaurant.trim().is_empty() {
        bail!("the restaurant name must not be blank");
    }
    check_timezone(&args.timezone).map_err(|e| anyhow::anyhow!("{}", e.body().message))?;
    check_currency(&args.currency).map_err(|e| anyhow::anyhow!("{}", e.body().message))?;
    // The same rules as POST /users.
    let checked = NewStaffUser {
        email: args.email.clone(),
        name: args.name.clone(),
        role: Role::Owner,
        password: args.password.clone(),
    };
    checked
        .validate()
        .map_err(|e| anyhow::anyhow!("{}", validation_failed(&e).body().message))?;
    if store.restaurant_by_slug(&slug).await?.is_some() {
        bail!("a restaurant with slug {slug:?} already exists; pass --slug");
    }
    let hash = passwords.hash(args.password.clone()).await?;
    let restaurant = store
        .create_restaurant(
            &slug,
            args.restaurant.trim(),
            &args.timezone,
            &args.currency,
            now,
        )
        .await
        .context("cannot create the restaurant")?;
    let owner = store
        .create_user(
            restaurant.id,
            &NewUser {
                email: &normalise_email(&args.email),
                name: args.name.trim(),
                role: Role::Owner,
                password_hash: &hash,
            },
            now,
        )
        .await
        .context("cannot create the owner")?;
    Ok((restaurant, owner))
}

/// The caller's own restaurant.
pub async fn restaurant(state: &AppState, caller: &Caller) -> ApiResult<Restaurant> {
    caller.may(Operation::ReadRestaurant)?;
    state
        .store
        .restaurant(caller.restaurant_id)
        .await?
        .ok_or_else(|| ApiError::not_found("restaurant"))
}

pub async fn update_restaurant(
    state: &AppState,
    caller: &Caller,
    mut patch: RestaurantPatch,
) -> ApiResult<Restaurant> {
    caller.may(Operation::ConfigureRestaurant)?;
    if let Some(tz) = &patch.timezone {
        check_timezone(tz)?;
    }
    if let Some(currency) = &patch.currency {
        check_currency(currency)?;
    }
    patch.name = patch.name.map(|n| n.trim().to_owned());
    let before = restaurant(state, caller).await?;
    let after = state
        .store
        .update_restaurant(caller.restaurant_id, &patch)
        .await?
        .ok_or_else(|| ApiError::not_found("restaurant"))?;
    let entry = Entry::new(Action::RestaurantUpdated)
        .target("restaurant", after.id)
        .changed([
            ("name", json!(before.name), json!(after.name)),
            ("timezone", json!(before.timezone), json!(after.timezone)),
            ("currency", json!(before.currency), json!(after.currency)),
            (
                "require_mfa",
                json!(before.require_mfa),
                json!(after.require_mfa),
            ),
        ]);
    audit::record(state, caller, entry).await;
    Ok(after)
}

pub fn check_timezone(tz: &str) -> Result<(), ApiError> {
    chrono_tz::Tz::from_str(tz).map(|_| ()).map_err(|_| {
        ApiError::invalid_field(
            "timezone",
            "timezone",
            "must be an IANA time zone such as Europe/Berlin",
        )
    })
}

pub fn check_currency(currency: &str) -> Result<(), ApiError> {
    if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "currency",
            "currency",
            "must be an ISO 4217 code such as EUR",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn slugs_are_lower_case_dashed() {
        assert_eq!(slugify("  Chez Léon & Fils! "), "chez-l-on-fils");
        assert_eq!(slugify("The Grill 42"), "the-grill-42");
        assert_eq!(slugify("!!!"), "");
    }
}
