//! `/menu/categories` and `/menu/items`. Managers configure, including stock
//! and availability; staff and guests read.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use restohub_protocol::api::menu::{
    Category, CategoryPatch, MenuItem, MenuItemPatch, NewCategory, NewMenuItem,
};
use restohub_protocol::Page;

use super::extract::{Id, Json, Query};
use super::pagination::PageParams;
use super::reply::{created, deleted, OrNotFound};
use crate::auth::Caller;
use crate::error::{on_constraint, ApiError, ApiResult};
use crate::state::AppState;

const DUPLICATE_CATEGORY: &str = "a category with this name already exists";
const CATEGORY_IN_USE: &str = "category still has menu items";
const ITEM_CONFLICT: &str = "menu item conflicts with existing data";
const ITEM_REFERENCE: &str = "category or station does not exist";
const ITEM_ORDERED: &str = "menu item is on orders; mark it unavailable instead";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/menu/categories",
            get(list_categories).post(create_category),
        )
        .route(
            "/menu/categories/{id}",
            get(show_category)
                .patch(update_category)
                .delete(remove_category),
        )
        .route("/menu/items", get(list_items).post(create_item))
        .route(
            "/menu/items/{id}",
            get(show_item).patch(update_item).delete(remove_item),
        )
}

async fn list_categories(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> ApiResult<axum::Json<Page<Category>>> {
    let rows = state
        .store
        .categories(caller.restaurant_id, params.query()?)
        .await?;
    Ok(axum::Json(params.page(rows, |c| c.id)))
}

async fn create_category(
    State(state): State<AppState>,
    caller: Caller,
    Json(new): Json<NewCategory>,
) -> ApiResult<(StatusCode, axum::Json<Category>)> {
    caller.require_manager()?;
    let category = state
        .store
        .create_category(caller.restaurant_id, new.name.trim(), new.position)
        .await
        .map_err(on_constraint(DUPLICATE_CATEGORY, CATEGORY_IN_USE))?;
    created(category)
}

async fn show_category(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<Category>> {
    state
        .store
        .category(caller.restaurant_id, id)
        .await?
        .or_not_found("category")
}

async fn update_category(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(mut patch): Json<CategoryPatch>,
) -> ApiResult<axum::Json<Category>> {
    caller.require_manager()?;
    patch.name = patch.name.map(|n| n.trim().to_owned());
    state
        .store
        .update_category(caller.restaurant_id, id, &patch)
        .await
        .map_err(on_constraint(DUPLICATE_CATEGORY, CATEGORY_IN_USE))?
        .or_not_found("category")
}

async fn remove_category(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    caller.require_manager()?;
    let deleted_any = state
        .store
        .delete_category(caller.restaurant_id, id)
        .await
        .map_err(on_constraint(DUPLICATE_CATEGORY, CATEGORY_IN_USE))?;
    deleted(deleted_any, "category")
}

async fn list_items(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> ApiResult<axum::Json<Page<MenuItem>>> {
    let rows = state
        .store
        .menu_items(caller.restaurant_id, params.query()?)
        .await?;
    Ok(axum::Json(params.page(rows, |i| i.id)))
}

async fn create_item(
    State(state): State<AppState>,
    caller: Caller,
    Json(mut new): Json<NewMenuItem>,
) -> ApiResult<(StatusCode, axum::Json<MenuItem>)> {
    caller.require_manager()?;
    check_references(
        &state,
        caller.restaurant_id,
        new.category_id,
        new.station_id,
    )
    .await?;
    new.name = new.name.trim().to_owned();
    let item = state
        .store
        .create_menu_item(caller.restaurant_id, &new)
        .await
        .map_err(on_constraint(ITEM_CONFLICT, ITEM_REFERENCE))?;
    created(item)
}

async fn show_item(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<MenuItem>> {
    state
        .store
        .menu_item(caller.restaurant_id, id)
        .await?
        .or_not_found("menu item")
}

async fn update_item(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(mut patch): Json<MenuItemPatch>,
) -> ApiResult<axum::Json<MenuItem>> {
    caller.require_manager()?;
    check_references(
        &state,
        caller.restaurant_id,
        patch.category_id.flatten(),
        patch.station_id.flatten(),
    )
    .await?;
    patch.name = patch.name.map(|n| n.trim().to_owned());
    crate::menu::change(&state, &caller, id, patch)
        .await
        .map(axum::Json)
}

async fn remove_item(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    caller.require_manager()?;
    let deleted_any = state
        .store
        .delete_menu_item(caller.restaurant_id, id)
        .await
        .map_err(on_constraint(ITEM_CONFLICT, ITEM_ORDERED))?;
    deleted(deleted_any, "menu item")
}

/// A menu item may only point at a category and station of its own
/// restaurant; anything else is reported on the field that names it.
async fn check_references(
    state: &AppState,
    restaurant: i64,
    category: Option<i64>,
    station: Option<i64>,
) -> ApiResult<()> {
    if let Some(id) = category {
        if state.store.category(restaurant, id).await?.is_none() {
            return Err(ApiError::invalid_field(
                "category_id",
                "not_found",
                "no such category",
            ));
        }
    }
    if let Some(id) = station {
        if state.store.station(restaurant, id).await?.is_none() {
            return Err(ApiError::invalid_field(
                "station_id",
                "not_found",
                "no such station",
            ));
        }
    }
    Ok(())
}
