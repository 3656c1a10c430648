//! What a restaurant sets up for its checks: tax rates and where they
//! apply, the service charge and the discount limit, managers' approval
//! PINs, and the payment webhook secret. Every change is audited.

use restohub_protocol::api::checks::{CheckSettings, NewTaxRate, SetPin, TaxRate, WebhookSecret};
use restohub_protocol::Role;
use serde_json::json;
use validator::Validate;

use crate::app::access::Operation;
use crate::app::audit::{self, Action as Audited, Entry};
use crate::auth::Caller;
use crate::error::{validation_failed, ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::TaxedThing;

pub async fn tax_rates(state: &AppState, caller: &Caller) -> ApiResult<Vec<TaxRate>> {
    caller.may(Operation::ReadFloor)?;
    Ok(state.store.tax_rates(caller.restaurant_id).await?)
}

pub async fn add_tax_rate(
    state: &AppState,
    caller: &Caller,
    req: NewTaxRate,
) -> ApiResult<TaxRate> {
    caller.may(Operation::ConfigureRestaurant)?;
    req.validate().map_err(|e| validation_failed(&e))?;
    let rate = state
        .store
        .add_tax_rate(
            caller.restaurant_id,
            req.name.trim(),
            req.rate_bp,
            req.included,
        )
        .await?
        .ok_or_else(|| ApiError::conflict("a tax rate with this name exists"))?;
    audit::record(
        state,
        caller,
        [Entry::new(Audited::TaxChanged)
            .target("tax_rate", rate.id)
            .after(
                json!({ "name": rate.name, "rate_bp": rate.rate_bp, "included": rate.included }),
            )],
    )
    .await;
    Ok(rate)
}

pub async fn delete_tax_rate(state: &AppState, caller: &Caller, id: i64) -> ApiResult<()> {
    caller.may(Operation::ConfigureRestaurant)?;
    if !state
        .store
        .delete_tax_rate(caller.restaurant_id, id)
        .await?
    {
        return Err(ApiError::not_found("tax rate"));
    }
    audit::record(
        state,
        caller,
        [Entry::new(Audited::TaxChanged)
            .target("tax_rate", id)
            .after(json!({ "deleted": true }))],
    )
    .await;
    Ok(())
}

/// Sets the tax rate of a category or an item (an item's own rate wins
/// over its category's). Open checks count the new rate from their next
/// change; paid checks keep the figures they were paid with.
pub async fn assign_tax_rate(
    state: &AppState,
    caller: &Caller,
    what: TaxedThing,
    rate: Option<i64>,
) -> ApiResult<()> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    if !state
        .store
        .assign_tax_rate(caller.restaurant_id, what, rate)
        .await?
    {
        return Err(ApiError::not_found(match what {
            TaxedThing::Category(_) => "category or tax rate",
            TaxedThing::Item(_) => "menu item or tax rate",
        }));
    }
    let (kind, id) = match what {
        TaxedThing::Category(id) => ("category", id),
        TaxedThing::Item(id) => ("menu_item", id),
    };
    audit::record(
        state,
        caller,
        [Entry::new(Audited::TaxChanged)
            .target(kind, id)
            .after(json!({ "tax_rate_id": rate }))],
    )
    .await;
    Ok(())
}

pub async fn settings(state: &AppState, caller: &Caller) -> ApiResult<CheckSettings> {
    caller.may(Operation::ManageCheck)?;
    let s = state
        .store
        .money_settings(caller.restaurant_id)
        .await?
        .ok_or_else(|| ApiError::not_found("restaurant"))?;
    Ok(CheckSettings {
        service_charge_bp: s.service_charge_bp,
        service_charge_min_covers: s.service_charge_min_covers,
        discount_limit_cents: s.discount_limit_cents,
    })
}

pub async fn set_settings(
    state: &AppState,
    caller: &Caller,
    req: CheckSettings,
) -> ApiResult<CheckSettings> {
    caller.may(Operation::ConfigureRestaurant)?;
    req.validate().map_err(|e| validation_failed(&e))?;
    let before = settings(state, caller).await?;
    state
        .store
        .set_money_settings(
            caller.restaurant_id,
            req.service_charge_bp,
            req.service_charge_min_covers,
            req.discount_limit_cents,
        )
        .await?;
    audit::record(
        state,
        caller,
        [Entry::new(Audited::TaxChanged)
            .target("restaurant", caller.restaurant_id)
            .before(json!(before))
            .after(json!(req))],
    )
    .await;
    Ok(req)
}

/// An owner or manager sets their own PIN for approving at the till.
pub async fn set_pin(state: &AppState, caller: &Caller, req: SetPin) -> ApiResult<()> {
    if caller.mfa_setup {
        return Err(crate::app::access::mfa_setup_required());
    }
    if !matches!(caller.role, Role::Owner | Role::Manager) {
        return Err(ApiError::forbidden());
    }
    req.validate().map_err(|e| validation_failed(&e))?;
    if !req.pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::invalid_field(
            "pin",
            "digits",
            "a PIN is 4 to 12 digits",
        ));
    }
    let user = caller.user_id.ok_or_else(ApiError::forbidden)?;
    let hash = state.passwords.hash(req.pin).await?;
    state
        .store
        .set_pin_hash(caller.restaurant_id, user, Some(&hash))
        .await?;
    // The PIN itself is never recorded.
    audit::record(
        state,
        caller,
        [Entry::new(Audited::PinChanged).target("user", user)],
    )
    .await;
    Ok(())
}

/// Generates a new payment webhook secret and shows it once; the one
/// before stops working at once.
pub async fn rotate_webhook_secret(state: &AppState, caller: &Caller) -> ApiResult<WebhookSecret> {
    caller.may(Operation::ConfigureRestaurant)?;
    let secret = format!("whsec_{}", crate::auth::tokens::random_token());
    state
        .store
        .set_webhook_secret(caller.restaurant_id, &secret)
        .await?;
    audit::record(
        state,
        caller,
        [Entry::new(Audited::WebhookSecretRotated).target("restaurant", caller.restaurant_id)],
    )
    .await;
    Ok(WebhookSecret { secret })
}
