//! What a restaurant sets up for its checks: tax rates and where they
//! apply, the service charge and discount limit, approval PINs.

use restohub_protocol::api::checks::TaxRate;

use super::super::{BeginWrite, Store};
use super::{tax_rate, MoneySettings, TaxRateRow, MONEY_SETTINGS, TAX_RATES};

/// What a tax rate is assigned to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TaxedThing {
    Category(i64),
    Item(i64),
}

impl Store {
    /// The restaurant's tax rates.
    pub async fn tax_rates(&self, r: i64) -> sqlx::Result<Vec<TaxRate>> {
        let rows: Vec<TaxRateRow> = on_db!(self, |pool| sqlx::query_as(TAX_RATES)
            .bind(r)
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(tax_rate).collect())
    }

    /// Adds a tax rate; `None` if the name is taken.
    pub async fn add_tax_rate(
        &self,
        r: i64,
        name: &str,
        rate_bp: i64,
        included: bool,
    ) -> sqlx::Result<Option<TaxRate>> {
        let id: Option<i64> = on_writer!(self, |pool| {
            sqlx::query_scalar(
            "INSERT INTO tax_rates (restaurant_id, name, rate_bp, included) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (restaurant_id, name) DO NOTHING RETURNING id"
        )
        .bind(r)
        .bind(name)
        .bind(rate_bp)
        .bind(included)
        .fetch_optional(pool)
        .await
        })?;
        Ok(id.map(|id| TaxRate {
            id,
            name: name.to_owned(),
            rate_bp,
            included,
        }))
    }

    /// Deletes a tax rate and clears it from categories and items; whether
    /// it existed.
    pub async fn delete_tax_rate(&self, r: i64, id: i64) -> sqlx::Result<bool> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            for sql in [
                "UPDATE menu_categories SET tax_rate_id = NULL WHERE restaurant_id = $1 \
                 AND tax_rate_id = $2",
                "UPDATE menu_items SET tax_rate_id = NULL WHERE restaurant_id = $1 \
                 AND tax_rate_id = $2",
            ] {
                sqlx::query(sql).bind(r).bind(id).execute(&mut *tx).await?;
            }
            let gone = sqlx::query("DELETE FROM tax_rates WHERE restaurant_id = $1 AND id = $2")
                .bind(r)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            tx.commit().await?;
            Ok(gone)
        })
    }

    /// Sets the tax rate of a category or an item (`None` clears it);
    /// whether the category or item and the rate exist.
    pub async fn assign_tax_rate(
        &self,
        r: i64,
        what: TaxedThing,
        rate: Option<i64>,
    ) -> sqlx::Result<bool> {
        let (table, id) = match what {
            TaxedThing::Category(id) => ("menu_categories", id),
            TaxedThing::Item(id) => ("menu_items", id),
        };
        let sql = format!(
            "UPDATE {table} SET tax_rate_id = $3 WHERE restaurant_id = $1 AND id = $2 \
             AND ($3 IS NULL OR EXISTS (SELECT 1 FROM tax_rates t \
             WHERE t.restaurant_id = $1 AND t.id = $3))"
        );
        let done = on_writer!(self, |pool| sqlx::query(&sql)
            .bind(r)
            .bind(id)
            .bind(rate)
            .execute(pool)
            .await
            .map(|d| d.rows_affected()))?;
        Ok(done == 1)
    }

    /// The restaurant's check settings.
    pub async fn money_settings(&self, r: i64) -> sqlx::Result<Option<MoneySettings>> {
        on_db!(self, |pool| sqlx::query_as(MONEY_SETTINGS)
            .bind(r)
            .fetch_optional(pool)
            .await)
    }

    /// Sets the service charge and the discount limit.
    pub async fn set_money_settings(
        &self,
        r: i64,
        service_charge_bp: i64,
        service_charge_min_covers: i64,
        discount_limit_cents: i64,
    ) -> sqlx::Result<()> {
        on_writer!(self, |pool| sqlx::query(
            "UPDATE restaurants SET service_charge_bp = $2, service_charge_min_covers = $3, \
             discount_limit_cents = $4 WHERE id = $1"
        )
        .bind(r)
        .bind(service_charge_bp)
        .bind(service_charge_min_covers)
        .bind(discount_limit_cents)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Sets (or clears) a user's approval PIN hash.
    pub async fn set_pin_hash(&self, r: i64, user: i64, hash: Option<&str>) -> sqlx::Result<bool> {
        let done = on_writer!(self, |pool| sqlx::query(
            "UPDATE users SET pin_hash = $3 WHERE restaurant_id = $1 AND id = $2"
        )
        .bind(r)
        .bind(user)
        .bind(hash)
        .execute(pool)
        .await
        .map(|d| d.rows_affected()))?;
        Ok(done == 1)
    }

    /// A user's approval PIN hash, by email.
    pub async fn pin_hash(
        &self,
        r: i64,
        email: &str,
    ) -> sqlx::Result<Option<(i64, String, Option<String>)>> {
        on_db!(self, |pool| sqlx::query_as(
            "SELECT id, role, pin_hash FROM users WHERE restaurant_id = $1 AND email = $2"
        )
        .bind(r)
        .bind(email)
        .fetch_optional(pool)
        .await)
    }
}
