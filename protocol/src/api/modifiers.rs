//! The modifier catalogue of menu items (groups of options a line chooses
//! from, with price deltas) and allergens, as the menu shows them and as an
//! order line records them.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use validator::Validate;

/// An option's price delta is bounded like a price (a typo, not a menu).
pub const MAX_PRICE_DELTA: i64 = 1_000_000;
pub const MIN_PRICE_DELTA: i64 = -MAX_PRICE_DELTA;
pub const MAX_GROUPS_PER_ITEM: i64 = 10;
pub const MAX_OPTIONS_PER_GROUP: u64 = 20;
/// Choices one line may send.
pub const MAX_CHOICES: u64 = 20;

/// The 14 allergens EU Regulation 1169/2011 (Annex II) requires a
/// restaurant to declare. A fixed list, so screens can draw an icon for
/// each and a typo cannot hide one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Allergen {
    /// Cereals containing gluten.
    Gluten,
    Crustaceans,
    Eggs,
    Fish,
    Peanuts,
    Soybeans,
    Milk,
    /// Tree nuts (almonds, hazelnuts, walnuts, ...).
    Nuts,
    Celery,
    Mustard,
    Sesame,
    /// Sulphur dioxide and sulphites.
    Sulphites,
    Lupin,
    Molluscs,
}

impl Allergen {
    /// Every allergen, in the order of their bits in storage.
    pub const ALL: [Allergen; 14] = [
        Allergen::Gluten,
        Allergen::Crustaceans,
        Allergen::Eggs,
        Allergen::Fish,
        Allergen::Peanuts,
        Allergen::Soybeans,
        Allergen::Milk,
        Allergen::Nuts,
        Allergen::Celery,
        Allergen::Mustard,
        Allergen::Sesame,
        Allergen::Sulphites,
        Allergen::Lupin,
        Allergen::Molluscs,
    ];

    /// Its code on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Allergen::Gluten => "gluten",
            Allergen::Crustaceans => "crustaceans",
            Allergen::Eggs => "eggs",
            Allergen::Fish => "fish",
            Allergen::Peanuts => "peanuts",
            Allergen::Soybeans => "soybeans",
            Allergen::Milk => "milk",
            Allergen::Nuts => "nuts",
            Allergen::Celery => "celery",
            Allergen::Mustard => "mustard",
            Allergen::Sesame => "sesame",
            Allergen::Sulphites => "sulphites",
            Allergen::Lupin => "lupin",
            Allergen::Molluscs => "molluscs",
        }
    }

    fn bit(self) -> i64 {
        1 << (self as u32)
    }
}

/// A set of allergens: on the wire a list of their codes (each once, in
/// [`Allergen::ALL`]'s order), stored as a bit mask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllergenSet(i64);

impl AllergenSet {
    pub fn bits(self) -> i64 {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    pub fn union(self, other: AllergenSet) -> AllergenSet {
        AllergenSet(self.0 | other.0)
    }

    pub fn contains(self, a: Allergen) -> bool {
        self.0 & a.bit() != 0
    }

    pub fn list(self) -> Vec<Allergen> {
        Allergen::ALL
            .into_iter()
            .filter(|a| self.contains(*a))
            .collect()
    }
}

impl FromIterator<Allergen> for AllergenSet {
    fn from_iter<I: IntoIterator<Item = Allergen>>(iter: I) -> Self {
        AllergenSet(iter.into_iter().fold(0, |bits, a| bits | a.bit()))
    }
}

/// A stored mask with a bit no allergen has is a corrupt value.
impl TryFrom<i64> for AllergenSet {
    type Error = String;
    fn try_from(bits: i64) -> Result<Self, String> {
        let all = (1 << Allergen::ALL.len()) - 1;
        if bits & !all != 0 {
            return Err(format!("{bits} is not a set of allergens"));
        }
        Ok(AllergenSet(bits))
    }
}

impl Serialize for AllergenSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.list().serialize(s)
    }
}

impl<'de> Deserialize<'de> for AllergenSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list = Vec::<Allergen>::deserialize(d)?;
        if list.len() > Allergen::ALL.len() {
            return Err(serde::de::Error::invalid_length(list.len(), &"at most 14"));
        }
        Ok(list.into_iter().collect())
    }
}

impl JsonSchema for AllergenSet {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AllergenSet".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let item = generator.subschema_for::<Allergen>();
        schemars::json_schema!({
            "type": "array",
            "items": item,
            "uniqueItems": true,
            "maxItems": 14,
        })
    }
}

/// One choice of a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModifierOption {
    pub id: i64,
    pub name: String,
    /// Added to the item's price for each portion (negative: taken off).
    pub price_delta_cents: i64,
    #[serde(default)]
    pub allergens: AllergenSet,
    pub position: i64,
}

/// A group of choices of one item. A line must choose at least
/// `min_choices` (`required` when that is at least 1) and at most
/// `max_choices` of its options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModifierGroup {
    pub id: i64,
    pub menu_item_id: i64,
    pub name: String,
    pub min_choices: i64,
    pub max_choices: i64,
    /// `min_choices >= 1`.
    pub required: bool,
    pub position: i64,
    pub options: Vec<ModifierOption>,
}

/// `POST /api/v1/menu/items/{id}/modifier-groups`: a group with its options.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewModifierGroup {
    #[validate(length(min = 1, max = 60), custom(function = "super::not_blank"))]
    pub name: String,
    #[serde(default)]
    #[validate(range(min = 0, max = 20))]
    pub min_choices: i64,
    #[validate(range(min = 1, max = 20))]
    pub max_choices: i64,
    #[serde(default)]
    #[validate(range(min = 0, max = 10_000))]
    pub position: i64,
    #[validate(length(min = 1, max = MAX_OPTIONS_PER_GROUP), nested)]
    pub options: Vec<NewModifierOption>,
}

/// `PATCH /api/v1/menu/modifier-groups/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModifierGroupPatch {
    #[validate(length(min = 1, max = 60), custom(function = "super::not_blank"))]
    pub name: Option<String>,
    #[validate(range(min = 0, max = 20))]
    pub min_choices: Option<i64>,
    #[validate(range(min = 1, max = 20))]
    pub max_choices: Option<i64>,
    #[validate(range(min = 0, max = 10_000))]
    pub position: Option<i64>,
}

/// An option of a new group, or `POST /api/v1/menu/modifier-groups/{id}/options`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewModifierOption {
    #[validate(length(min = 1, max = 60), custom(function = "super::not_blank"))]
    pub name: String,
    #[serde(default)]
    #[validate(range(min = MIN_PRICE_DELTA, max = MAX_PRICE_DELTA))]
    pub price_delta_cents: i64,
    #[serde(default)]
    pub allergens: AllergenSet,
    #[serde(default)]
    #[validate(range(min = 0, max = 10_000))]
    pub position: i64,
}

/// `PATCH /api/v1/menu/modifier-options/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModifierOptionPatch {
    #[validate(length(min = 1, max = 60), custom(function = "super::not_blank"))]
    pub name: Option<String>,
    #[validate(range(min = MIN_PRICE_DELTA, max = MAX_PRICE_DELTA))]
    pub price_delta_cents: Option<i64>,
    pub allergens: Option<AllergenSet>,
    #[validate(range(min = 0, max = 10_000))]
    pub position: Option<i64>,
}

/// An option a line chose, as it was when ordered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChosenOption {
    pub group_id: i64,
    /// The group's name ("Doneness").
    pub group: String,
    pub option_id: i64,
    pub name: String,
    pub price_delta_cents: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allergen_sets_travel_as_lists_and_rest_as_masks() {
        let set: AllergenSet = serde_json::from_str(r#"["nuts","gluten","nuts"]"#).unwrap();
        assert_eq!(serde_json::to_string(&set).unwrap(), r#"["gluten","nuts"]"#);
        assert_eq!(AllergenSet::try_from(set.bits()), Ok(set));
        assert!(AllergenSet::try_from(1 << 14).is_err());
        assert!(serde_json::from_str::<AllergenSet>(r#"["pollen"]"#).is_err());
        let milk: AllergenSet = [Allergen::Milk].into_iter().collect();
        assert_eq!(set.union(milk).list().len(), 3);
        for a in Allergen::ALL {
            assert_eq!(serde_json::json!(a), a.as_str());
        }
    }
}
