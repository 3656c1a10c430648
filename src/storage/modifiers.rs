//! Menu items' modifier groups and their options: the catalogue a line
//! chooses from. Read as rows of a group joined with its options
//! ([`GROUP_ROWS`]) and assembled once ([`groups_from`]), for the menu reads
//! and, in each backend's own way, for a placement's facts.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use restohub_protocol::api::menu::MenuItem;
use restohub_protocol::api::modifiers::{
    AllergenSet, ModifierGroup, ModifierGroupPatch, ModifierOption, ModifierOptionPatch,
    NewModifierGroup, NewModifierOption,
};
use serde::Deserialize;

use super::{AppendAudit, AuditDraft, BeginWrite, Store};

/// A group and one of its options (all `None` for a group without any),
/// in [`GROUP_ROWS`]' column order (PostgreSQL's placement reads the same
/// columns as a JSON array per row).
#[derive(Debug, sqlx::FromRow, Deserialize)]
pub(super) struct GroupRow {
    pub group_id: i64,
    pub menu_item_id: i64,
    pub group_name: String,
    pub min_choices: i64,
    pub max_choices: i64,
    pub group_position: i64,
    pub option_id: Option<i64>,
    pub option_name: Option<String>,
    pub price_delta_cents: Option<i64>,
    pub option_allergens: Option<i64>,
    pub option_position: Option<i64>,
}

/// The restaurant's (`$1`) groups with their options; callers add a filter
/// and [`IN_ORDER`].
pub(super) const GROUP_ROWS: &str = "SELECT g.id AS group_id, g.menu_item_id, \
    g.name AS group_name, g.min_choices, g.max_choices, g.position AS group_position, \
    o.id AS option_id, o.name AS option_name, o.price_delta_cents, \
    o.allergens AS option_allergens, o.position AS option_position \
    FROM modifier_groups g LEFT JOIN modifier_options o \
    ON o.restaurant_id = g.restaurant_id AND o.group_id = g.id WHERE g.restaurant_id = $1";
/// Display order: per item, groups then options by position, then id.
pub(super) const IN_ORDER: &str = " ORDER BY g.menu_item_id, g.position, g.id, o.position, o.id";

/// One item's (`$2`) groups, as a placement reads them.
pub(super) static ITEM_GROUPS: LazyLock<String> =
    LazyLock::new(|| format!("{GROUP_ROWS} AND g.menu_item_id = $2{IN_ORDER}"));

/// The groups of `rows` (in [`IN_ORDER`]), with their options; a stored
/// allergen mask that is not one is an error naming its row.
pub(super) fn groups_from(rows: Vec<GroupRow>) -> sqlx::Result<Vec<ModifierGroup>> {
    let mut groups: Vec<ModifierGroup> = Vec::new();
    for row in rows {
        if groups.last().map(|g| g.id) != Some(row.group_id) {
            groups.push(ModifierGroup {
                id: row.group_id,
                menu_item_id: row.menu_item_id,
                name: row.group_name,
                min_choices: row.min_choices,
                max_choices: row.max_choices,
                required: row.min_choices >= 1,
                position: row.group_position,
                options: Vec::new(),
            });
        }
        if let (Some(id), Some(name), Some(delta), Some(bits), Some(position)) = (
            row.option_id,
            row.option_name,
            row.price_delta_cents,
            row.option_allergens,
            row.option_position,
        ) {
            let allergens = AllergenSet::try_from(bits)
                .map_err(|e| super::corrupt(format!("modifier option {id}"), "allergens", e))?;
            if let Some(group) = groups.last_mut() {
                group.options.push(ModifierOption {
                    id,
                    name,
                    price_delta_cents: delta,
                    allergens,
                    position,
                });
            }
        }
    }
    Ok(groups)
}

/// Gives each item its groups.
pub(super) fn attach(items: &mut [MenuItem], groups: Vec<ModifierGroup>) {
    let mut by_item: BTreeMap<i64, Vec<ModifierGroup>> = BTreeMap::new();
    for g in groups {
        by_item.entry(g.menu_item_id).or_default().push(g);
    }
    for item in items {
        item.modifier_groups = by_item.remove(&item.id).unwrap_or_default();
    }
}

impl Store {
    /// The groups of the restaurant's items with ids from `first` to `last`
    /// (a page of items, or one).
    pub async fn modifier_groups(
        &self,
        restaurant: i64,
        first: i64,
        last: i64,
    ) -> sqlx::Result<Vec<ModifierGroup>> {
        let rows: Vec<GroupRow> = on_db!(self, |pool| sqlx::query_as(&format!(
            "{GROUP_ROWS} AND g.menu_item_id BETWEEN $2 AND $3{IN_ORDER}"
        ))
        .bind(restaurant)
        .bind(first)
        .bind(last)
        .fetch_all(pool)
        .await)?;
        groups_from(rows)
    }

    pub async fn modifier_group(
        &self,
        restaurant: i64,
        id: i64,
    ) -> sqlx::Result<Option<ModifierGroup>> {
        let rows: Vec<GroupRow> = on_db!(self, |pool| sqlx::query_as(&format!(
            "{GROUP_ROWS} AND g.id = $2{IN_ORDER}"
        ))
        .bind(restaurant)
        .bind(id)
        .fetch_all(pool)
        .await)?;
        Ok(groups_from(rows)?.pop())
    }

    /// The group an option is in.
    pub async fn modifier_option_group(
        &self,
        restaurant: i64,
        option: i64,
    ) -> sqlx::Result<Option<ModifierGroup>> {
        let rows: Vec<GroupRow> = on_db!(self, |pool| sqlx::query_as(&format!(
            "{GROUP_ROWS} AND g.id = (SELECT group_id FROM modifier_options \
             WHERE restaurant_id = $1 AND id = $2){IN_ORDER}"
        ))
        .bind(restaurant)
        .bind(option)
        .fetch_all(pool)
        .await)?;
        Ok(groups_from(rows)?.pop())
    }

    /// A group with its options, in one transaction; the item must be the
    /// restaurant's (a foreign-key violation otherwise).
    pub async fn create_modifier_group(
        &self,
        restaurant: i64,
        menu_item: i64,
        new: &NewModifierGroup,
    ) -> sqlx::Result<ModifierGroup> {
        let id: i64 = on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO modifier_groups (restaurant_id, menu_item_id, name, min_choices, \
                 max_choices, position) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(restaurant)
            .bind(menu_item)
            .bind(&new.name)
            .bind(new.min_choices)
            .bind(new.max_choices)
            .bind(new.position)
            .fetch_one(&mut *tx)
            .await?;
            for option in &new.options {
                sqlx::query(INSERT_OPTION)
                    .bind(restaurant)
                    .bind(id)
                    .bind(&option.name)
                    .bind(option.price_delta_cents)
                    .bind(option.allergens.bits())
                    .bind(option.position)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            id
        });
        self.written_group(restaurant, id).await
    }

    pub async fn update_modifier_group(
        &self,
        restaurant: i64,
        id: i64,
        patch: &ModifierGroupPatch,
    ) -> sqlx::Result<Option<ModifierGroup>> {
        let hit: Option<i64> = on_writer!(self, |pool| sqlx::query_scalar(
            "UPDATE modifier_groups SET name = COALESCE($3, name), min_choices = \
             COALESCE($4, min_choices), max_choices = COALESCE($5, max_choices), \
             position = COALESCE($6, position) WHERE restaurant_id = $1 AND id = $2 \
             RETURNING id"
        )
        .bind(restaurant)
        .bind(id)
        .bind(&patch.name)
        .bind(patch.min_choices)
        .bind(patch.max_choices)
        .bind(patch.position)
        .fetch_optional(pool)
        .await)?;
        match hit {
            Some(id) => self.written_group(restaurant, id).await.map(Some),
            None => Ok(None),
        }
    }

    /// Deletes a group and its options.
    pub async fn delete_modifier_group(&self, restaurant: i64, id: i64) -> sqlx::Result<bool> {
        on_writer!(self, |pool| sqlx::query(
            "DELETE FROM modifier_groups WHERE restaurant_id = $1 AND id = $2"
        )
        .bind(restaurant)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() > 0))
    }

    /// An option added to the restaurant's group (a foreign-key violation
    /// otherwise); returns the group as it now is.
    pub async fn create_modifier_option(
        &self,
        restaurant: i64,
        group: i64,
        new: &NewModifierOption,
    ) -> sqlx::Result<ModifierGroup> {
        on_writer!(self, |pool| sqlx::query(INSERT_OPTION)
            .bind(restaurant)
            .bind(group)
            .bind(&new.name)
            .bind(new.price_delta_cents)
            .bind(new.allergens.bits())
            .bind(new.position)
            .execute(pool)
            .await
            .map(|_| ()))?;
        self.written_group(restaurant, group).await
    }

    /// Changes an option and appends the `audit` entries drafted from its
    /// price delta before and after, in one transaction; returns the
    /// option's group as it now is.
    pub async fn update_modifier_option(
        &self,
        restaurant: i64,
        id: i64,
        patch: &ModifierOptionPatch,
        audit: impl FnOnce(i64, i64) -> Vec<AuditDraft>,
    ) -> sqlx::Result<Option<ModifierGroup>> {
        let group: i64 = on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let lock = format!(
                "SELECT price_delta_cents FROM modifier_options WHERE restaurant_id = $1 \
                 AND id = $2{}",
                super::lock_suffix(pool)
            );
            let before: Option<i64> = sqlx::query_scalar(&lock)
                .bind(restaurant)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(before) = before else {
                return Ok(None);
            };
            let (group, after): (i64, i64) = sqlx::query_as(
                "UPDATE modifier_options SET name = COALESCE($3, name), price_delta_cents = \
                 COALESCE($4, price_delta_cents), allergens = COALESCE($5, allergens), \
                 position = COALESCE($6, position) WHERE restaurant_id = $1 AND id = $2 \
                 RETURNING group_id, price_delta_cents",
            )
            .bind(restaurant)
            .bind(id)
            .bind(&patch.name)
            .bind(patch.price_delta_cents)
            .bind(patch.allergens.map(AllergenSet::bits))
            .bind(patch.position)
            .fetch_one(&mut *tx)
            .await?;
            tx.append_audit(restaurant, &audit(before, after)).await?;
            tx.commit().await?;
            group
        });
        self.written_group(restaurant, group).await.map(Some)
    }

    pub async fn delete_modifier_option(&self, restaurant: i64, id: i64) -> sqlx::Result<bool> {
        on_writer!(self, |pool| sqlx::query(
            "DELETE FROM modifier_options WHERE restaurant_id = $1 AND id = $2"
        )
        .bind(restaurant)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() > 0))
    }

    /// A group just written.
    async fn written_group(&self, restaurant: i64, id: i64) -> sqlx::Result<ModifierGroup> {
        let group = self.modifier_group(restaurant, id).await?;
        group.ok_or(sqlx::Error::RowNotFound)
    }
}

const INSERT_OPTION: &str = "INSERT INTO modifier_options (restaurant_id, group_id, name, \
    price_delta_cents, allergens, position) VALUES ($1, $2, $3, $4, $5, $6)";
