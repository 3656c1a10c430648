//! REST resources under `/api/v1`: what the admin API reads and writes.
//!
//! Request types reject unknown fields and carry their own validation rules
//! (the `validator` derive), so the limits are part of the contract.

pub mod analytics;
pub mod audit;
pub mod auth;
pub mod checks;
pub mod health;
pub mod menu;
pub mod modifiers;
pub mod orders;
pub mod restaurant;
pub mod staff;
pub mod stations;
pub mod tables;

use serde::{Deserialize, Deserializer};
use validator::ValidationError;

/// For PATCH fields that may be set to `null`: absent → `None` (leave as is),
/// `null` → `Some(None)` (clear), a value → `Some(Some(v))`.
pub fn nullable<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Names and labels must contain something besides spaces.
pub fn not_blank(s: &str) -> Result<(), ValidationError> {
    if s.trim().is_empty() {
        return Err(ValidationError::new("blank").with_message("must not be blank".into()));
    }
    Ok(())
}
