//! Orders: placing them (who may, what is valid, which events go where) and
//! moving them through the kitchen (`lifecycle`). Shared by the WebSocket
//! commands and the REST API; the transactions are in `storage`.

pub(crate) mod events;

use restohub_protocol::api::orders::{Order, OrderSource, PlaceOrder, Placed};
use restohub_protocol::ws::Room;
use restohub_protocol::{ErrorCode, Role};
use serde_json::json;
use validator::Validate;

use crate::auth::Caller;
use crate::error::{validation_failed, ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{EventDraft, LineRequest, PlaceOutcome, Placement, StockChange, TableChange};

const MAX_MODIFIER_CHARS: usize = 50;

pub async fn place(state: &AppState, caller: &Caller, req: PlaceOrder) -> ApiResult<Placed> {
    caller.may(crate::app::Operation::PlaceOrder)?;
    req.validate().map_err(|e| validation_failed(&e))?;
    let table_id = check_table(caller, &req)?;
    let lines = merge_lines(&req)?;
    let request_hash = fingerprint(&req);
    let r = caller.restaurant_id;
    let placement = Placement {
        restaurant_id: r,
        table_id,
        source: req.source,
        note: req.note.trim(),
        lines: &lines,
        placed_by_user: caller.user_id,
        placed_by_role: caller.role,
        idempotency_key: &req.idempotency_key,
        request_hash: &request_hash,
        now: state.clock.now_ms(),
        clock: &*state.clock,
    };
    let outcome = state
        .store
        .place_order(&placement, |order, stock, table, tables| {
            placement_events(r, order, stock, table, tables)
        })
        .await?;
    match outcome {
        PlaceOutcome::Placed { order, events } => {
            state.publish(events).await;
            Ok(Placed {
                order,
                duplicate: false,
            })
        }
        PlaceOutcome::Existing(order) => Ok(Placed {
            order,
            duplicate: true,
        }),
        PlaceOutcome::KeyReused => Err(ApiError::conflict(
            "this idempotency_key was already used for a different order",
        )),
        PlaceOutcome::OutOfStock(items) => Err(ApiError::with_details(
            ErrorCode::OutOfStock,
            items
                .iter()
                .map(|i| format!("{}: {} wanted, {} left", i.name, i.requested, i.available))
                .collect::<Vec<_>>()
                .join("; "),
            json!({ "items": items }),
        )),
        PlaceOutcome::Invalid(invalid) => {
            Err(ApiError::invalid_field(&invalid.0, invalid.1, &invalid.2))
        }
    }
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

/// Identical lines (item, note, modifiers) become one with the summed qty.
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
        match merged.iter_mut().find(|m| {
            m.menu_item_id == line.menu_item_id && m.note == note && m.modifiers == modifiers
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
            }),
        }
    }
    Ok(merged)
}

fn fingerprint(req: &PlaceOrder) -> String {
    crate::auth::tokens::sha256_hex(&serde_json::to_string(req).unwrap_or_default())
}

/// The events of a placement and where they go (see `events`):
/// `order.placed` (the whole order) to the expo, waiters, the dashboard and
/// the table; `ticket.placed` (only its lines) to each station; the stock,
/// availability and table events.
fn placement_events(
    r: i64,
    order: &Order,
    stock: &[StockChange],
    table: Option<&TableChange>,
    tables: &[i64],
) -> Vec<EventDraft> {
    let mut out = vec![events::draft(
        "order.placed",
        events::order_rooms(r, order),
        json!(order),
    )];
    for station in events::stations(order) {
        let lines: Vec<_> = order
            .lines
            .iter()
            .filter(|l| l.station_id == Some(station))
            .collect();
        let ticket = json!({
            "order_id": order.id, "station_id": station, "table_id": order.table_id,
            "note": order.note, "created_at": order.created_at, "lines": lines,
        });
        out.push(events::draft(
            "ticket.placed",
            vec![Room::Station(r, station)],
            ticket,
        ));
    }
    out.extend(events::stock(r, stock, tables));
    out.extend(events::table(r, table));
    out
}
