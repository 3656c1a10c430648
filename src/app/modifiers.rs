//! The modifier catalogue: an item's groups of options (`/menu/items/{id}/
//! modifier-groups`, `/menu/modifier-groups/{id}`, `/menu/modifier-options/
//! {id}`), configured by owners and managers. A group must stay
//! satisfiable: no more choices required than allowed or than it has
//! options. The menu reads carry the groups; like a rename or a new price,
//! a catalogue change appends no event (screens read it with the menu).
//! Placing a line with choices is [`super::orders::choices`].

use restohub_protocol::api::modifiers::{
    ModifierGroup, ModifierGroupPatch, ModifierOptionPatch, NewModifierGroup, NewModifierOption,
    MAX_GROUPS_PER_ITEM, MAX_OPTIONS_PER_GROUP,
};

use serde_json::json;

use super::access::Operation;
use super::audit::{self, Action, Actor, Entry};
use crate::auth::Caller;
use crate::error::{on_constraint, ApiError, ApiResult};
use crate::state::AppState;

const DUPLICATE: &str = "a group of this item, or an option of this group, has this name";
const GONE: &str = "the item or group no longer exists";

/// A group with its options, for one of the restaurant's items.
pub async fn create_group(
    state: &AppState,
    caller: &Caller,
    item_id: i64,
    mut new: NewModifierGroup,
) -> ApiResult<ModifierGroup> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    new.name = new.name.trim().to_owned();
    for option in &mut new.options {
        option.name = option.name.trim().to_owned();
    }
    satisfiable(new.min_choices, new.max_choices, new.options.len())?;
    let r = caller.restaurant_id;
    let item = state
        .store
        .menu_item(r, item_id)
        .await?
        .ok_or_else(|| ApiError::not_found("menu item"))?;
    if item.modifier_groups.len() as i64 >= MAX_GROUPS_PER_ITEM {
        return Err(ApiError::conflict(format!(
            "an item has at most {MAX_GROUPS_PER_ITEM} modifier groups"
        )));
    }
    let group = state
        .store
        .create_modifier_group(r, item_id, &new)
        .await
        .map_err(on_constraint(DUPLICATE, GONE))?;
    Ok(group)
}

pub async fn update_group(
    state: &AppState,
    caller: &Caller,
    id: i64,
    mut patch: ModifierGroupPatch,
) -> ApiResult<ModifierGroup> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    patch.name = patch.name.map(|n| n.trim().to_owned());
    let r = caller.restaurant_id;
    let group = group(state, r, id).await?;
    satisfiable(
        patch.min_choices.unwrap_or(group.min_choices),
        patch.max_choices.unwrap_or(group.max_choices),
        group.options.len(),
    )?;
    state
        .store
        .update_modifier_group(r, id, &patch)
        .await
        .map_err(on_constraint(DUPLICATE, GONE))?
        .ok_or_else(|| ApiError::not_found("modifier group"))
}

/// Deletes a group with its options (lines that chose them keep them as
/// they were).
pub async fn delete_group(state: &AppState, caller: &Caller, id: i64) -> ApiResult<()> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    if state
        .store
        .delete_modifier_group(caller.restaurant_id, id)
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::not_found("modifier group"))
    }
}

/// Adds an option to a group; returns the group as it now is.
pub async fn create_option(
    state: &AppState,
    caller: &Caller,
    group_id: i64,
    mut new: NewModifierOption,
) -> ApiResult<ModifierGroup> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    new.name = new.name.trim().to_owned();
    let r = caller.restaurant_id;
    let group = group(state, r, group_id).await?;
    if group.options.len() as u64 >= MAX_OPTIONS_PER_GROUP {
        return Err(ApiError::conflict(format!(
            "a group has at most {MAX_OPTIONS_PER_GROUP} options"
        )));
    }
    let group = state
        .store
        .create_modifier_option(r, group_id, &new)
        .await
        .map_err(on_constraint(DUPLICATE, GONE))?;
    Ok(group)
}

/// Changes an option; returns its group as it now is.
pub async fn update_option(
    state: &AppState,
    caller: &Caller,
    id: i64,
    mut patch: ModifierOptionPatch,
) -> ApiResult<ModifierGroup> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    patch.name = patch.name.map(|n| n.trim().to_owned());
    let (actor, now) = (Actor::from(caller), state.clock.now_ms());
    // A price delta is a price: changed by hand, it is audited as one.
    let audited = |before: i64, after: i64| {
        let entry = Entry::new(Action::MenuPriceChanged)
            .target("modifier_option", id)
            .changed([("price_delta_cents", json!(before), json!(after))]);
        audit::drafts(&actor, now, entry)
    };
    state
        .store
        .update_modifier_option(caller.restaurant_id, id, &patch, audited)
        .await
        .map_err(on_constraint(DUPLICATE, GONE))?
        .ok_or_else(|| ApiError::not_found("modifier option"))
}

/// Removes an option, unless its group would then have none, or fewer
/// than it requires.
pub async fn delete_option(state: &AppState, caller: &Caller, id: i64) -> ApiResult<()> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    let r = caller.restaurant_id;
    let group = state
        .store
        .modifier_option_group(r, id)
        .await?
        .ok_or_else(|| ApiError::not_found("modifier option"))?;
    let left = group.options.len() as i64 - 1;
    if left < group.min_choices.max(1) {
        return Err(ApiError::conflict(format!(
            "{} needs at least {} options; delete the group instead, or lower its min_choices",
            group.name,
            group.min_choices.max(1)
        )));
    }
    if state.store.delete_modifier_option(r, id).await? {
        Ok(())
    } else {
        Err(ApiError::not_found("modifier option"))
    }
}

async fn group(state: &AppState, r: i64, id: i64) -> ApiResult<ModifierGroup> {
    state
        .store
        .modifier_group(r, id)
        .await?
        .ok_or_else(|| ApiError::not_found("modifier group"))
}

/// A group can be satisfied: no more required than allowed, nor than it
/// has options.
fn satisfiable(min: i64, max: i64, options: usize) -> ApiResult<()> {
    if min > max {
        return Err(ApiError::invalid_field(
            "min_choices",
            "range",
            "must not exceed max_choices",
        ));
    }
    if min > options as i64 {
        return Err(ApiError::invalid_field(
            "min_choices",
            "range",
            "must not exceed the number of options",
        ));
    }
    Ok(())
}
