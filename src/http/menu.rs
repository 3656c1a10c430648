//! `/menu/categories` and `/menu/items`: the edge of [`crate::app::menu`].

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
use super::reply::{created, no_content};
use crate::app::menu;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

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
    let rows = menu::categories(&state, &caller, params.query()?).await?;
    Ok(axum::Json(params.page(rows, |c| c.id)))
}

async fn create_category(
    State(state): State<AppState>,
    caller: Caller,
    Json(new): Json<NewCategory>,
) -> ApiResult<(StatusCode, axum::Json<Category>)> {
    created(menu::create_category(&state, &caller, new).await?)
}

async fn show_category(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<Category>> {
    menu::category(&state, &caller, id).await.map(axum::Json)
}

async fn update_category(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<CategoryPatch>,
) -> ApiResult<axum::Json<Category>> {
    menu::update_category(&state, &caller, id, patch)
        .await
        .map(axum::Json)
}

async fn remove_category(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    no_content(menu::delete_category(&state, &caller, id).await)
}

async fn list_items(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> ApiResult<axum::Json<Page<MenuItem>>> {
    let rows = menu::items(&state, &caller, params.query()?).await?;
    Ok(axum::Json(params.page(rows, |i| i.id)))
}

async fn create_item(
    State(state): State<AppState>,
    caller: Caller,
    Json(new): Json<NewMenuItem>,
) -> ApiResult<(StatusCode, axum::Json<MenuItem>)> {
    created(menu::create_item(&state, &caller, new).await?)
}

async fn show_item(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<MenuItem>> {
    menu::item(&state, &caller, id).await.map(axum::Json)
}

async fn update_item(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<MenuItemPatch>,
) -> ApiResult<axum::Json<MenuItem>> {
    menu::update_item(&state, &caller, id, patch)
        .await
        .map(axum::Json)
}

async fn remove_item(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    no_content(menu::delete_item(&state, &caller, id).await)
}
