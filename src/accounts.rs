//! Bootstrapping a restaurant and its owner (the `create-owner` command).

use anyhow::{bail, Context};
use restohub_protocol::api::restaurant::Restaurant;
use restohub_protocol::api::staff::{NewStaffUser, StaffUser};
use restohub_protocol::Role;
use validator::Validate;

use crate::auth::sessions::normalise_email;
use crate::auth::Passwords;
use crate::config::CreateOwner;
use crate::error::validation_failed;
use crate::storage::{NewUser, Store};

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
    args: &CreateOwner,
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
    crate::http::check_timezone(&args.timezone)
        .map_err(|e| anyhow::anyhow!("{}", e.body().message))?;
    crate::http::check_currency(&args.currency)
        .map_err(|e| anyhow::anyhow!("{}", e.body().message))?;
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
