//! Orders as a whole: placing one (who may, what is valid; the placement
//! itself is decided in [`plan`], and its events built in [`events`]) and
//! reading one back. Moving an order through the kitchen is
//! [`super::kitchen`]. Storage runs the transactions.

pub mod choices;
pub(crate) mod events;
pub mod plan;

use restohub_protocol::api::orders::{Order, OrderSource, PlaceOrder, Placed, ShortItem};
use restohub_protocol::{ErrorCode, Role};
use serde_json::json;
use validator::Validate;

use super::access::Operation;
use crate::auth::Caller;
use crate::error::{validation_failed, ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{CheckTarget, PlaceOutcome, Shortage};
use plan::LineRequest;

const MAX_MODIFIER_CHARS: usize = 50;

/// Places an order, counting it (or its refusal, by code) for metrics.
pub async fn place(state: &AppState, caller: &Caller, req: PlaceOrder) -> ApiResult<Placed> {
    let source = req.source;
    let placed = place_counted(state, caller, req).await;
    let metrics = &state.node.metrics;
    match &placed {
        Ok(p) if !p.duplicate => metrics.order_placed(source.as_str()),
        Ok(_) => {}
        Err(e) => metrics.order_refused(e.code()),
    }
    placed
}

async fn place_counted(state: &AppState, caller: &Caller, req: PlaceOrder) -> ApiResult<Placed> {
    caller.may(Operation::PlaceOrder)?;
    req.validate().map_err(|e| validation_failed(&e))?;
    let table_id = check_table(caller, &req)?;
    let lines = merge_lines(&req)?;
    let request_hash = fingerprint(&req);
    // A key is the caller's own: the same key from another account or
    // guest session is another order, never theirs.
    let key = format!("{}/{}", caller.subject, req.idempotency_key);
    let request = plan::Request {
        restaurant_id: caller.restaurant_id,
        table_id,
        source: req.source,
        note: req.note.trim(),
        lines: &lines,
        placed_by_user: caller.user_id,
        placed_by_role: caller.role,
        idempotency_key: &key,
        request_hash: &request_hash,
        now: state.clock.now_ms(),
    };
    let item_ids = request.item_ids();
    let outcome = state
        .store
        .place_order(&request.ask(&item_ids, &*state.clock), |facts| {
            plan::decide(&request, facts)
        })
        .await?;
    match outcome {
        PlaceOutcome::Placed {
            order,
            events,
            open_check,
        } => {
            state.publish(events).await;
            if let (Some(table), true) = (order.table_id, open_check) {
                let target = CheckTarget::Table(table);
                super::checks::refresh(state, caller.restaurant_id, target, order.id).await;
            }
            Ok(Placed {
                order,
                duplicate: false,
            })
        }
        // A retry after a lost reply: the original order.
        PlaceOutcome::Existing {
            order,
            request_hash: hash,
        } if hash == request_hash => Ok(Placed {
            order,
            duplicate: true,
        }),
        PlaceOutcome::Existing { .. } => Err(ApiError::conflict(
            "this idempotency_key was already used for a different order",
        )),
        PlaceOutcome::OutOfStock(short) => {
            let items: Vec<ShortItem> = short.into_iter().map(short_item).collect();
            Err(ApiError::with_details(
                ErrorCode::OutOfStock,
                items
                    .iter()
                    .map(|i| format!("{}: {} wanted, {} left", i.name, i.requested, i.available))
                    .collect::<Vec<_>>()
                    .join("; "),
                json!({ "items": items }),
            ))
        }
        PlaceOutcome::Refused(invalid) => {
            Err(ApiError::invalid_field(&invalid.0, invalid.1, &invalid.2))
        }
    }
}

/// A shortage as reported: an item no longer tracked has none to offer
/// (stock came off tracking while this order waited).
fn short_item(s: Shortage) -> ShortItem {
    ShortItem {
        menu_item_id: s.menu_item_id,
        name: s.name,
        requested: s.requested,
        available: s.available.unwrap_or(0),
    }
}

/// Staff see any order of the restaurant; a guest only its table's.
pub async fn order(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Order> {
    caller.may(Operation::ReadOrder)?;
    state
        .store
        .order(caller.restaurant_id, id)
        .await?
        .filter(|o| caller.role != Role::Guest || o.table_id == caller.table_id)
        .ok_or_else(|| ApiError::not_found("order"))
}

/// Dine-in and QR orders need a table; a guest orders for its own table only.
fn check_table(caller: &Caller, req: &PlaceOrder) -> ApiResult<Option<i64>> {
    if caller.role == Role::Guest {
        if req.source != OrderSource::Qr {
            return Err(ApiError::invalid_field(
                "source",
                "source",
                "guests order with source qr",
            ));
        }
        return match req.table_id {
            None => Ok(caller.table_id),
            Some(t) if Some(t) == caller.table_id => Ok(Some(t)),
            Some(_) => Err(ApiError::new(
                ErrorCode::Forbidden,
                "a guest may only order for its own table",
            )),
        };
    }
    if req.table_id.is_none() && req.source != OrderSource::Takeaway {
        return Err(ApiError::invalid_field(
            "table_id",
            "required",
            "dine-in and qr orders need a table",
        ));
    }
    Ok(req.table_id)
}

/// Identical lines (item, note, modifiers, seat, course, choices) become one with the summed qty.
fn merge_lines(req: &PlaceOrder) -> ApiResult<Vec<LineRequest>> {
    let mut merged: Vec<LineRequest> = Vec::new();
    for (i, line) in req.lines.iter().enumerate() {
        let modifiers: Vec<String> = line.modifiers.iter().map(|m| m.trim().to_owned()).collect();
        if modifiers
            .iter()
            .any(|m| m.is_empty() || m.chars().count() > MAX_MODIFIER_CHARS)
        {
            return Err(ApiError::invalid_field(
                &format!("lines[{i}].modifiers"),
                "length",
                &format!("each modifier must be 1 to {MAX_MODIFIER_CHARS} characters"),
            ));
        }
        let note = line.note.trim().to_owned();
        let choices = distinct_choices(i, &line.choices)?;
        match merged.iter_mut().find(|m| {
            m.menu_item_id == line.menu_item_id
                && m.note == note
                && m.modifiers == modifiers
                && m.seat == line.seat
                && m.course == line.course
                && m.choices == choices
        }) {
            Some(same) => {
                same.qty += line.qty;
                if same.qty > restohub_protocol::api::orders::MAX_QTY {
                    return Err(ApiError::invalid_field(
                        &format!("lines[{i}].qty"),
                        "range",
                        "identical lines add up to more than 99",
                    ));
                }
            }
            None => merged.push(LineRequest {
                menu_item_id: line.menu_item_id,
                qty: line.qty,
                note,
                modifiers,
                seat: line.seat,
                course: line.course,
                choices,
                index: i,
            }),
        }
    }
    Ok(merged)
}

/// A line's option ids, sorted; the same option twice is refused.
fn distinct_choices(i: usize, choices: &[i64]) -> ApiResult<Vec<i64>> {
    let mut sorted = choices.to_vec();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(ApiError::invalid_field(
            &format!("lines[{i}].choices"),
            "duplicate",
            "an option is chosen twice",
        ));
    }
    Ok(sorted)
}

fn fingerprint(req: &PlaceOrder) -> String {
    crate::auth::tokens::sha256_hex(&serde_json::to_string(req).unwrap_or_default())
}
