//! Menu categories and menu items, with stock and availability.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::modifiers::{AllergenSet, ModifierGroup};

/// Prices are integer minor units (cents); this bounds typos, not menus.
pub const MAX_PRICE: i64 = 100_000_000;
pub const MAX_STOCK: i64 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Category {
    pub id: i64,
    pub name: String,
    /// Display order, ascending.
    pub position: i64,
    /// The course its items are served in (1–9; starters 1, mains 2, ...).
    pub course: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategory {
    #[validate(length(min = 1, max = 60), custom(function = "super::not_blank"))]
    pub name: String,
    #[serde(default)]
    #[validate(range(min = 0, max = 10_000))]
    pub position: i64,
    /// 1–9; omitted: 1.
    #[serde(default = "first_course")]
    #[validate(range(min = 1, max = crate::api::orders::MAX_COURSE))]
    pub course: i64,
}

fn first_course() -> i64 {
    1
}

/// The longest preparation time an item may have (a day).
pub const MAX_PREP_SECONDS: i64 = 86_400;

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryPatch {
    #[validate(length(min = 1, max = 60), custom(function = "super::not_blank"))]
    pub name: Option<String>,
    #[validate(range(min = 0, max = 10_000))]
    pub position: Option<i64>,
    #[validate(range(min = 1, max = crate::api::orders::MAX_COURSE))]
    pub course: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct MenuItem {
    pub id: i64,
    pub category_id: Option<i64>,
    /// The kitchen station that prepares it; `null` = no station.
    pub station_id: Option<i64>,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    /// Portions left; `null` = stock is not tracked for this item.
    pub stock: Option<i64>,
    /// At or below this many portions the item counts as low on stock.
    pub low_stock_threshold: i64,
    /// `false` = 86'd: not orderable.
    pub available: bool,
    /// How long it takes to prepare (0 – 86,400 s).
    pub prep_seconds: i64,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "i64"))]
    pub allergens: AllergenSet,
    /// Its modifier groups, with their options, in display order.
    #[cfg_attr(feature = "sqlx", sqlx(skip))]
    #[serde(default)]
    pub modifier_groups: Vec<ModifierGroup>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMenuItem {
    #[validate(length(min = 1, max = 100), custom(function = "super::not_blank"))]
    pub name: String,
    #[serde(default)]
    #[validate(length(max = 1000))]
    pub description: String,
    #[validate(range(min = 0, max = MAX_PRICE))]
    pub price_cents: i64,
    #[serde(default)]
    pub category_id: Option<i64>,
    #[serde(default)]
    pub station_id: Option<i64>,
    /// Omit or `null` for an item whose stock is not tracked.
    #[serde(default)]
    #[validate(range(min = 0, max = MAX_STOCK))]
    pub stock: Option<i64>,
    #[serde(default)]
    #[validate(range(min = 0, max = MAX_STOCK))]
    pub low_stock_threshold: i64,
    #[serde(default = "yes")]
    pub available: bool,
    /// How long it takes to prepare; omitted: 0.
    #[serde(default)]
    #[validate(range(min = 0, max = MAX_PREP_SECONDS))]
    pub prep_seconds: i64,
    #[serde(default)]
    pub allergens: AllergenSet,
}

fn yes() -> bool {
    true
}

/// Fields that may be cleared take `null`; absent fields are left alone.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuItemPatch {
    #[validate(length(min = 1, max = 100), custom(function = "super::not_blank"))]
    pub name: Option<String>,
    #[validate(length(max = 1000))]
    pub description: Option<String>,
    #[validate(range(min = 0, max = MAX_PRICE))]
    pub price_cents: Option<i64>,
    #[serde(default, deserialize_with = "super::nullable")]
    pub category_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "super::nullable")]
    pub station_id: Option<Option<i64>>,
    /// A number sets the stock; `null` stops tracking it.
    #[serde(default, deserialize_with = "super::nullable")]
    #[validate(range(min = 0, max = MAX_STOCK))]
    pub stock: Option<Option<i64>>,
    #[validate(range(min = 0, max = MAX_STOCK))]
    pub low_stock_threshold: Option<i64>,
    pub available: Option<bool>,
    #[validate(range(min = 0, max = MAX_PREP_SECONDS))]
    pub prep_seconds: Option<i64>,
    pub allergens: Option<AllergenSet>,
}
