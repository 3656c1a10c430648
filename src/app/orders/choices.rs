//! A line's choices from its item's modifier groups, checked against the
//! catalogue as the placement read it: each option must be one of the
//! item's, and each group gets between its minimum and maximum. Pure, like
//! the rest of the plan.

use restohub_protocol::api::modifiers::{AllergenSet, ChosenOption};

use crate::storage::ItemFacts;

/// What a line's choices add to it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chosen {
    /// In the catalogue's display order.
    pub options: Vec<ChosenOption>,
    /// The sum of their price deltas.
    pub delta_cents: i64,
    /// The item's allergens and the chosen options'.
    pub allergens: AllergenSet,
}

/// Why a line's choices cannot be placed: a code and a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused(pub &'static str, pub String);

/// The options `choices` (distinct ids) name, or why they cannot be placed.
pub fn choose(item: &ItemFacts, choices: &[i64]) -> Result<Chosen, Refused> {
    let invalid = |code, message: String| Refused(code, message);
    let known = |id: &i64| {
        item.groups
            .iter()
            .any(|g| g.options.iter().any(|o| o.id == *id))
    };
    if let Some(id) = choices.iter().find(|id| !known(id)) {
        return Err(invalid(
            "not_an_option",
            format!("option {id} is not a choice of {}", item.name),
        ));
    }
    let mut chosen = Chosen {
        allergens: item.allergens,
        ..Chosen::default()
    };
    for group in &item.groups {
        let picked: Vec<_> = group
            .options
            .iter()
            .filter(|o| choices.contains(&o.id))
            .collect();
        let n = picked.len() as i64;
        if n == 0 && group.min_choices > 0 {
            return Err(invalid(
                "required",
                format!(
                    "{}: choose {}",
                    group.name,
                    range(group.min_choices, group.max_choices)
                ),
            ));
        }
        if n < group.min_choices || n > group.max_choices {
            let code = if n < group.min_choices {
                "too_few"
            } else {
                "too_many"
            };
            return Err(invalid(
                code,
                format!(
                    "{}: choose {}, not {n}",
                    group.name,
                    range(group.min_choices, group.max_choices)
                ),
            ));
        }
        for option in picked {
            chosen.delta_cents += option.price_delta_cents;
            chosen.allergens = chosen.allergens.union(option.allergens);
            chosen.options.push(ChosenOption {
                group_id: group.id,
                group: group.name.clone(),
                option_id: option.id,
                name: option.name.clone(),
                price_delta_cents: option.price_delta_cents,
            });
        }
    }
    if item.price_cents + chosen.delta_cents < 0 {
        return Err(invalid(
            "price",
            format!("these choices take {} below nothing", item.name),
        ));
    }
    Ok(chosen)
}

fn range(min: i64, max: i64) -> String {
    match (min, max) {
        (min, max) if min == max => format!("{min}"),
        (0, max) => format!("up to {max}"),
        (min, max) => format!("{min} to {max}"),
    }
}

#[cfg(test)]
mod tests {
    use restohub_protocol::api::modifiers::{Allergen, ModifierGroup, ModifierOption};

    use super::*;

    fn option(id: i64, delta: i64, allergens: &[Allergen]) -> ModifierOption {
        ModifierOption {
            id,
            name: format!("o{id}"),
            price_delta_cents: delta,
            allergens: allergens.iter().copied().collect(),
            position: 0,
        }
    }

    fn group(id: i64, min: i64, max: i64, options: Vec<ModifierOption>) -> ModifierGroup {
        ModifierGroup {
            id,
            menu_item_id: 1,
            name: format!("g{id}"),
            min_choices: min,
            max_choices: max,
            required: min > 0,
            position: 0,
            options,
        }
    }

    fn burger() -> ItemFacts {
        ItemFacts {
            name: "Burger".into(),
            price_cents: 1000,
            station_id: Some(1),
            stock: None,
            low_stock_threshold: 0,
            available: true,
            course: 1,
            prep_seconds: 0,
            allergens: [Allergen::Gluten].into_iter().collect(),
            groups: vec![
                group(1, 1, 1, vec![option(11, 0, &[]), option(12, 0, &[])]),
                group(
                    2,
                    0,
                    2,
                    vec![
                        option(21, 150, &[Allergen::Milk]),
                        option(22, 200, &[]),
                        option(23, -100, &[]),
                    ],
                ),
            ],
        }
    }

    fn code(choices: &[i64]) -> &'static str {
        choose(&burger(), choices).unwrap_err().0
    }

    #[test]
    fn choices_add_their_prices_and_allergens() {
        let chosen = choose(&burger(), &[21, 12, 22]).unwrap();
        assert_eq!(chosen.delta_cents, 350);
        assert_eq!(
            chosen
                .options
                .iter()
                .map(|o| o.option_id)
                .collect::<Vec<_>>(),
            [12, 21, 22]
        );
        assert_eq!(chosen.allergens.list(), [Allergen::Gluten, Allergen::Milk]);
        assert_eq!(choose(&burger(), &[11, 23]).unwrap().delta_cents, -100);
    }

    #[test]
    fn wrong_choices_are_refused_with_a_code() {
        assert_eq!(code(&[]), "required");
        assert_eq!(code(&[11, 12]), "too_many");
        assert_eq!(code(&[11, 21, 22, 23]), "too_many");
        assert_eq!(code(&[11, 99]), "not_an_option");
        let mut strict = burger();
        strict.groups[1].min_choices = 2;
        assert_eq!(choose(&strict, &[11, 21]).unwrap_err().0, "too_few");
        let mut cheap = burger();
        cheap.price_cents = 50;
        assert_eq!(choose(&cheap, &[11, 23]).unwrap_err().0, "price");
    }
}
