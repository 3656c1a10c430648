//! `/checks`, `/payments`, `/tax-rates` and the check settings: the REST
//! forms of the check commands (the same use cases as `check.*` and
//! `payment.*` over the WebSocket), receipts, and the payment provider's
//! webhook (authenticated by its signature, not a token).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use restohub_protocol::api::checks::{
    AddDiscount, AssignTaxRate, Check, CheckSettings, CheckStatus, CreateIntent, NewTaxRate,
    OpenCheck, PaymentIntent, PaymentRecorded, Reason, RecordPayment, Refund, SetCovers, SetPin,
    SplitCheck, TaxRate, WebhookReceived, WebhookSecret,
};
use serde::Deserialize;

use super::extract::{Id, Json};
use super::pagination::PageParams;
use super::rate_limit::AuthLimiter;
use crate::app::checks::{self as uc, intents, settings};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::TaxedThing;
use restohub_protocol::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/checks", post(open).get(list))
        .route("/checks/{id}", get(show))
        .route("/checks/{id}/discounts", post(discount))
        .route("/checks/{id}/split", put(split))
        .route("/checks/{id}/covers", put(covers))
        .route("/checks/{id}/payments", post(pay))
        .route("/checks/{id}/intents", post(intent))
        .route("/checks/{id}/close", post(close))
        .route("/checks/{id}/void", post(void))
        .route("/checks/{id}/reopen", post(reopen))
        .route("/checks/{id}/receipt", get(receipt))
        .route("/payments/refunds", post(refund))
        .route("/tax-rates", get(tax_rates).post(add_tax_rate))
        .route("/tax-rates/{id}", delete(delete_tax_rate))
        .route("/menu/categories/{id}/tax-rate", put(category_tax))
        .route("/menu/items/{id}/tax-rate", put(item_tax))
        .route(
            "/restaurant/checks",
            get(check_settings).put(set_check_settings),
        )
        .route("/restaurant/payment-webhook-secret", post(rotate_secret))
        .route("/auth/pin", put(set_pin))
}

/// Webhooks one client address may send per minute: far above what a
/// payment provider sends for a chain, low enough that a flood of bogus
/// ones (each costs a read before its signature can be checked) is cut off.
const WEBHOOKS_PER_MINUTE: u32 = 1200;

/// The provider's webhook: no token, its signature instead.
pub fn webhook_router() -> Router<AppState> {
    let per_minute =
        std::num::NonZeroU32::new(WEBHOOKS_PER_MINUTE).unwrap_or(std::num::NonZeroU32::MIN);
    Router::new()
        .route("/payments/webhook", post(webhook))
        .route_layer(axum::middleware::from_fn_with_state(
            AuthLimiter::new(per_minute),
            super::rate_limit::limit,
        ))
}

type Reply<T> = ApiResult<axum::Json<T>>;

/// 201 when it opened the check, 200 when it found the one open.
async fn open(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<OpenCheck>,
) -> ApiResult<(StatusCode, axum::Json<Check>)> {
    let (check, opened) = uc::open(&state, &caller, req).await?;
    let status = if opened {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(check)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    table_id: Option<i64>,
    limit: Option<u32>,
    after: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Reply<Page<Check>> {
    let Query(q) =
        query.map_err(|e| ApiError::invalid_field("query", "invalid", &e.body_text()))?;
    let status = q
        .status
        .map(CheckStatus::try_from)
        .transpose()
        .map_err(|e| ApiError::invalid_field("status", "unknown", &e))?;
    let params = PageParams {
        limit: q.limit,
        after: q.after,
    };
    let checks = uc::list(&state, &caller, status, q.table_id, params.query()?).await?;
    Ok(axum::Json(params.page(checks, |c| c.id)))
}

async fn show(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Reply<Check> {
    uc::get(&state, &caller, id).await.map(axum::Json)
}

async fn discount(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(req): Json<AddDiscount>,
) -> Reply<Check> {
    uc::discount(&state, &caller, id, req).await.map(axum::Json)
}

async fn split(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(req): Json<SplitCheck>,
) -> Reply<Check> {
    uc::split(&state, &caller, id, req.split)
        .await
        .map(axum::Json)
}

async fn covers(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(req): Json<SetCovers>,
) -> Reply<Check> {
    uc::set_covers(&state, &caller, id, req.covers)
        .await
        .map(axum::Json)
}

/// 201 for a new payment, 200 for a retry that returned the original.
async fn pay(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(req): Json<RecordPayment>,
) -> ApiResult<(StatusCode, axum::Json<PaymentRecorded>)> {
    let recorded = uc::pay(&state, &caller, id, req).await?;
    let status = if recorded.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, axum::Json(recorded)))
}

async fn intent(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(req): Json<CreateIntent>,
) -> Reply<PaymentIntent> {
    intents::create(&state, &caller, id, req)
        .await
        .map(axum::Json)
}

async fn close(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Reply<Check> {
    uc::close(&state, &caller, id).await.map(axum::Json)
}

async fn void(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(req): Json<Reason>,
) -> Reply<Check> {
    uc::void(&state, &caller, id, &req.reason)
        .await
        .map(axum::Json)
}

async fn reopen(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(req): Json<Reason>,
) -> Reply<Check> {
    uc::reopen(&state, &caller, id, &req.reason)
        .await
        .map(axum::Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiptQuery {
    format: Option<String>,
}

/// Plain text (42 columns, for a receipt printer) or, with
/// `?format=html`, a page.
async fn receipt(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    query: Result<Query<ReceiptQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) =
        query.map_err(|e| ApiError::invalid_field("query", "invalid", &e.body_text()))?;
    let html = match q.format.as_deref() {
        None | Some("text") => false,
        Some("html") => true,
        Some(_) => return Err(ApiError::invalid_field("format", "unknown", "text or html")),
    };
    let body = uc::receipt_of(&state, &caller, id, html).await?;
    let kind = if html {
        "text/html; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    Ok(([(header::CONTENT_TYPE, kind)], body).into_response())
}

async fn refund(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<Refund>,
) -> Reply<Check> {
    uc::refund(&state, &caller, req).await.map(axum::Json)
}

async fn tax_rates(State(state): State<AppState>, caller: Caller) -> Reply<Vec<TaxRate>> {
    settings::tax_rates(&state, &caller).await.map(axum::Json)
}

async fn add_tax_rate(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewTaxRate>,
) -> ApiResult<(StatusCode, axum::Json<TaxRate>)> {
    let rate = settings::add_tax_rate(&state, &caller, req).await?;
    Ok((StatusCode::CREATED, axum::Json(rate)))
}

async fn delete_tax_rate(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    settings::delete_tax_rate(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn category_tax(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(req): Json<AssignTaxRate>,
) -> ApiResult<StatusCode> {
    settings::assign_tax_rate(&state, &caller, TaxedThing::Category(id), req.tax_rate_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn item_tax(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(req): Json<AssignTaxRate>,
) -> ApiResult<StatusCode> {
    settings::assign_tax_rate(&state, &caller, TaxedThing::Item(id), req.tax_rate_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn check_settings(State(state): State<AppState>, caller: Caller) -> Reply<CheckSettings> {
    settings::settings(&state, &caller).await.map(axum::Json)
}

async fn set_check_settings(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<CheckSettings>,
) -> Reply<CheckSettings> {
    settings::set_settings(&state, &caller, req)
        .await
        .map(axum::Json)
}

async fn rotate_secret(State(state): State<AppState>, caller: Caller) -> Reply<WebhookSecret> {
    settings::rotate_webhook_secret(&state, &caller)
        .await
        .map(axum::Json)
}

async fn set_pin(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<SetPin>,
) -> ApiResult<StatusCode> {
    settings::set_pin(&state, &caller, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body is read raw: the signature covers its exact bytes.
async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply<WebhookReceived> {
    let signature = headers
        .get(intents::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    intents::webhook(&state, signature, &body)
        .await
        .map(axum::Json)
}
