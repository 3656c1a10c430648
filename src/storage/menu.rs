//! Menu categories and menu items (price, station, stock, availability).

use restohub_protocol::api::menu::{Category, CategoryPatch, MenuItem, MenuItemPatch, NewMenuItem};

use super::{Append, AppendAudit, AuditDraft, BeginWrite, Changed, EventDraft, PageQuery, Store};

macro_rules! item_cols {
    () => {
        "id, category_id, station_id, name, description, price_cents, stock, low_stock_threshold, \
         available, prep_seconds, allergens"
    };
}

impl Store {
    pub async fn create_category(
        &self,
        restaurant: i64,
        name: &str,
        position: i64,
        course: i64,
    ) -> sqlx::Result<Category> {
        on_writer!(self, |pool| sqlx::query_as(
            "INSERT INTO menu_categories (restaurant_id, name, position, course) \
             VALUES ($1, $2, $3, $4) RETURNING id, name, position, course"
        )
        .bind(restaurant)
        .bind(name)
        .bind(position)
        .bind(course)
        .fetch_one(pool)
        .await)
    }

    pub async fn category(&self, restaurant: i64, id: i64) -> sqlx::Result<Option<Category>> {
        on_db!(self, |pool| sqlx::query_as(
            "SELECT id, name, position, course FROM menu_categories WHERE restaurant_id = $1 \
             AND id = $2"
        )
        .bind(restaurant)
        .bind(id)
        .fetch_optional(pool)
        .await)
    }

    pub async fn categories(
        &self,
        restaurant: i64,
        page: PageQuery,
    ) -> sqlx::Result<Vec<Category>> {
        on_db!(self, |pool| sqlx::query_as(
            "SELECT id, name, position, course FROM menu_categories WHERE restaurant_id = $1 \
             AND id > $2 ORDER BY id LIMIT $3"
        )
        .bind(restaurant)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(pool)
        .await)
    }

    pub async fn update_category(
        &self,
        restaurant: i64,
        id: i64,
        patch: &CategoryPatch,
    ) -> sqlx::Result<Option<Category>> {
        on_writer!(self, |pool| sqlx::query_as(
            "UPDATE menu_categories SET name = COALESCE($3, name), position = COALESCE($4, \
             position), course = COALESCE($5, course) WHERE restaurant_id = $1 AND id = $2 \
             RETURNING id, name, position, course"
        )
        .bind(restaurant)
        .bind(id)
        .bind(&patch.name)
        .bind(patch.position)
        .bind(patch.course)
        .fetch_optional(pool)
        .await)
    }

    /// Fails with a foreign-key violation while menu items are in it.
    pub async fn delete_category(&self, restaurant: i64, id: i64) -> sqlx::Result<bool> {
        on_writer!(self, |pool| sqlx::query(
            "DELETE FROM menu_categories WHERE restaurant_id = $1 \
             AND id = $2"
        )
        .bind(restaurant)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() > 0))
    }

    /// The category and station must belong to `restaurant` (the schema's
    /// composite foreign keys refuse anything else).
    pub async fn create_menu_item(
        &self,
        restaurant: i64,
        item: &NewMenuItem,
    ) -> sqlx::Result<MenuItem> {
        on_writer!(self, |pool| sqlx::query_as(concat!(
            "INSERT INTO menu_items (restaurant_id, category_id, station_id, name, description, ",
            "price_cents, stock, low_stock_threshold, available, prep_seconds, allergens) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ",
            item_cols!()
        ))
        .bind(restaurant)
        .bind(item.category_id)
        .bind(item.station_id)
        .bind(&item.name)
        .bind(&item.description)
        .bind(item.price_cents)
        .bind(item.stock)
        .bind(item.low_stock_threshold)
        .bind(item.available)
        .bind(item.prep_seconds)
        .bind(item.allergens.bits())
        .fetch_one(pool)
        .await)
    }

    /// The item with its modifier groups.
    pub async fn menu_item(&self, restaurant: i64, id: i64) -> sqlx::Result<Option<MenuItem>> {
        let item: Option<MenuItem> = on_db!(self, |pool| sqlx::query_as(concat!(
            "SELECT ",
            item_cols!(),
            " FROM menu_items WHERE restaurant_id = $1 AND id = $2"
        ))
        .bind(restaurant)
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        let Some(mut item) = item else {
            return Ok(None);
        };
        item.modifier_groups = self.modifier_groups(restaurant, id, id).await?;
        Ok(Some(item))
    }

    /// A page of items with their modifier groups.
    pub async fn menu_items(
        &self,
        restaurant: i64,
        page: PageQuery,
    ) -> sqlx::Result<Vec<MenuItem>> {
        let mut items: Vec<MenuItem> = on_db!(self, |pool| sqlx::query_as(concat!(
            "SELECT ",
            item_cols!(),
            " FROM menu_items WHERE restaurant_id = $1 AND id > $2 \
             ORDER BY id LIMIT $3"
        ))
        .bind(restaurant)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(pool)
        .await)?;
        if let (Some(first), Some(last)) = (items.first(), items.last()) {
            let groups = self.modifier_groups(restaurant, first.id, last.id).await?;
            super::modifiers::attach(&mut items, groups);
        }
        Ok(items)
    }

    /// Applies `patch` with no events (see [`Store::change_menu_item`]).
    pub async fn update_menu_item(
        &self,
        restaurant: i64,
        id: i64,
        patch: &MenuItemPatch,
    ) -> sqlx::Result<Option<MenuItem>> {
        let changed = self
            .change_menu_item(
                restaurant,
                id,
                0,
                |_| Ok::<_, std::convert::Infallible>(patch.clone()),
                |_, _| vec![],
                |_, _| vec![],
            )
            .await?;
        Ok(changed.done().map(|(item, _)| item))
    }

    /// Changes an item and appends its events and audit entries in one
    /// transaction: `decide` sees the item as it is (locked) and returns the
    /// patch to apply, or refuses; `events` and `audit` see it before and
    /// after.
    pub async fn change_menu_item<E>(
        &self,
        restaurant: i64,
        id: i64,
        now: i64,
        decide: impl FnOnce(&MenuItem) -> Result<MenuItemPatch, E>,
        events: impl FnOnce(&MenuItem, &MenuItem) -> Vec<EventDraft>,
        audit: impl FnOnce(&MenuItem, &MenuItem) -> Vec<AuditDraft>,
    ) -> sqlx::Result<Changed<MenuItem, E>> {
        let r = restaurant;
        let result = on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let lock = format!(
                concat!(
                    "SELECT ",
                    item_cols!(),
                    " FROM menu_items WHERE restaurant_id = $1 AND id = $2{}"
                ),
                super::lock_suffix(pool)
            );
            let before: Option<MenuItem> = sqlx::query_as(&lock)
                .bind(r)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(before) = before else {
                return Ok(Changed::NotFound);
            };
            let patch = match decide(&before) {
                Ok(patch) => patch,
                Err(e) => return Ok(Changed::Refused(e)),
            };
            let after: MenuItem = sqlx::query_as(concat!(
                "UPDATE menu_items SET name = COALESCE($3, name), description = COALESCE($4, \
                 description), ",
                "price_cents = COALESCE($5, price_cents), ",
                "category_id = CASE WHEN $6 THEN $7 ELSE category_id END, ",
                "station_id = CASE WHEN $8 THEN $9 ELSE station_id END, ",
                "stock = CASE WHEN $10 THEN $11 ELSE stock END, ",
                "low_stock_threshold = COALESCE($12, low_stock_threshold), available = \
                 COALESCE($13, available), prep_seconds = COALESCE($14, prep_seconds), \
                 allergens = COALESCE($15, allergens) ",
                "WHERE restaurant_id = $1 AND id = $2 RETURNING ",
                item_cols!()
            ))
            .bind(r)
            .bind(id)
            .bind(&patch.name)
            .bind(&patch.description)
            .bind(patch.price_cents)
            .bind(patch.category_id.is_some())
            .bind(patch.category_id.flatten())
            .bind(patch.station_id.is_some())
            .bind(patch.station_id.flatten())
            .bind(patch.stock.is_some())
            .bind(patch.stock.flatten())
            .bind(patch.low_stock_threshold)
            .bind(patch.available)
            .bind(patch.prep_seconds)
            .bind(patch.allergens.map(|a| a.bits()))
            .fetch_one(&mut *tx)
            .await?;
            let drafts = events(&before, &after);
            tx.append_audit(r, &audit(&before, &after)).await?;
            let appended = tx.append_events(r, drafts, now).await?;
            tx.commit().await?;
            Changed::Done(after, appended)
        });
        Ok(result)
    }

    pub async fn delete_menu_item(&self, restaurant: i64, id: i64) -> sqlx::Result<bool> {
        on_writer!(self, |pool| sqlx::query(
            "DELETE FROM menu_items WHERE restaurant_id = $1 \
             AND id = $2"
        )
        .bind(restaurant)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() > 0))
    }
}
