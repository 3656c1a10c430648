//! An order in the kitchen's language, after it is placed: one use case,
//! [`act`], whichever edge asks (the WebSocket's `item.*` and `order.*`
//! commands, or `/orders/{id}/...` over REST).
//!
//! Lines: queued → preparing → ready → served, plus voided. A station bumps
//! a line one step forward or back; a ready or served line is recalled to
//! preparing within the restaurant's recall window (its timer restarts); a
//! waiter serves a ready line. A line of a held course (see
//! [`super::courses`]) cannot be bumped until its course fires. The order follows its lines (ready when every line not voided
//! is ready), is served by a waiter, closed by a cashier or manager, and can
//! be cancelled while nothing is being prepared. Cancelling, and voiding a
//! line still queued, give its stock back; a voided line already in the
//! works is recorded as waste. Anything else is INVALID_TRANSITION with the
//! current state.

use restohub_protocol::api::checks::CheckStatus;
use restohub_protocol::api::orders::OrderLine;
use restohub_protocol::api::orders::{LineStatus, Order, OrderStatus};
use restohub_protocol::api::tables::TableStatus;
use restohub_protocol::events::{
    FiredBy, LineStatusChanged, OrderCancelled, OrderRushed, OrderStatusChanged,
};
use restohub_protocol::ws::Room;
use restohub_protocol::Timestamp;
use restohub_protocol::{ErrorCode, Role};
use serde_json::json;

use super::access::Operation;
use super::audit::{self, Action as Audited, Actor, Entry};
use super::courses::{self, KitchenRules};
use super::orders::events;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{
    AuditDraft, Changed, EventDraft, LineUpdate, OrderChange, OrderChangePlan, OrderChanged,
    StockReturn, TableRules,
};

#[derive(Debug, Clone)]
pub enum Action {
    SetLine {
        line_id: i64,
        to: LineStatus,
    },
    /// `reason` is already checked ([`courses::reason`]); `approved_by` is
    /// the manager whose approval was verified.
    Void {
        line_id: i64,
        reason: String,
        approved_by: Option<i64>,
    },
    SetOrder {
        to: OrderStatus,
    },
    Cancel {
        reason: String,
    },
    FireCourse {
        course: i64,
    },
    Rush {
        rush: bool,
    },
}

pub async fn act(
    state: &AppState,
    caller: &Caller,
    order_id: i64,
    action: Action,
) -> ApiResult<Order> {
    act_with_reason(state, caller, order_id, action, None).await
}

/// [`act`] with the reason a manager gives for closing an order whose
/// check is not paid. A paid check's orders close at the till; any other
/// order only by a manager with a reason (audited).
pub async fn act_with_reason(
    state: &AppState,
    caller: &Caller,
    order_id: i64,
    action: Action,
    reason: Option<String>,
) -> ApiResult<Order> {
    let r = caller.restaurant_id;
    let paid = match &action {
        Action::SetOrder {
            to: OrderStatus::Closed,
        } => matches!(
            state.store.order_check_status(r, order_id).await?,
            Some(CheckStatus::Paid | CheckStatus::Closed)
        ),
        _ => false,
    };
    let reason = reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    // Menu events go to every table; only cancelling or voiding changes stock.
    let tables = match &action {
        Action::Cancel { .. } | Action::Void { .. } => state.store.table_ids(r).await?,
        _ => Vec::new(),
    };
    let restaurant = state
        .store
        .restaurant(r)
        .await?
        .ok_or_else(|| ApiError::not_found("restaurant"))?;
    // A fired course's tickets carry their due times.
    let targets = crate::app::timers::station_targets(state, r).await?;
    let now = state.clock.now_ms();
    let changes_check = matches!(action, Action::Void { .. } | Action::Cancel { .. });
    let step = Step {
        caller,
        action,
        tables: &tables,
        now,
        paid,
        reason,
        rules: KitchenRules::of(&restaurant, now),
        targets,
    };
    let changed = state.store.change_order(r, order_id, now, &step).await?;
    match changed {
        Changed::NotFound => Err(ApiError::not_found("order")),
        Changed::Refused(e) => Err(e),
        Changed::Done(order, events) => {
            // A table that changed status may have ended its party's visit.
            let table_changed = events
                .iter()
                .any(|e| e.kind == restohub_protocol::events::TableStatusChanged::KIND);
            state.publish(events).await;
            if table_changed {
                crate::app::revocations::settle(state).await;
            }
            // What the check counts changed: it says so.
            if changes_check {
                crate::app::checks::take_in(state, r, order.table_id, order.id).await;
            }
            Ok(order)
        }
    }
}

/// One kitchen action by one caller, as storage runs it.
struct Step<'a> {
    caller: &'a Caller,
    action: Action,
    /// The restaurant's tables, when the action may change stock.
    tables: &'a [i64],
    now: i64,
    /// The order's check is paid (read before the change).
    paid: bool,
    reason: Option<String>,
    rules: KitchenRules,
    /// Each station's thresholds, for the due times of fired tickets.
    targets: crate::app::timers::StationTargets,
}

impl TableRules for Step<'_> {
    fn table_after(&self, wanted: TableStatus, now: TableStatus, open: i64) -> Option<TableStatus> {
        super::floor::table_after(wanted, now, open)
    }

    fn ends_visit(&self, from: TableStatus, to: TableStatus) -> bool {
        super::floor::ends_visit(from, to)
    }
}

impl OrderChangePlan for Step<'_> {
    type Refusal = ApiError;

    fn decide(&self, order: &Order) -> ApiResult<OrderChange> {
        let change = decide(self.caller, order, &self.action, &self.rules)?;
        let closing = matches!(
            self.action,
            Action::SetOrder {
                to: OrderStatus::Closed
            }
        );
        if closing && !self.paid {
            if !matches!(self.caller.role, Role::Owner | Role::Manager) {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "this order's check is not paid: only a manager may close it, with a reason",
                ));
            }
            if self.reason.is_none() {
                return Err(ApiError::invalid_field(
                    "reason",
                    "required",
                    "closing an order whose check is not paid needs a reason",
                ));
            }
        }
        Ok(change)
    }

    fn restores_availability(&self, before: i64, available: bool) -> bool {
        restores_availability(before, available)
    }

    fn events(&self, c: &OrderChanged<'_>) -> Vec<EventDraft> {
        let r = self.caller.restaurant_id;
        let mut out = lifecycle_events(r, c, self.tables);
        // What fired a course this change fired: the command; else the
        // timer when it was already due by time before the change; else
        // the course before being served (or gone).
        let by = match self.action {
            Action::FireCourse { .. } => FiredBy::Person,
            _ if courses::due(&c.before.lines, &self.rules).map(|d| d.1)
                == Some(FiredBy::Timer) =>
            {
                FiredBy::Timer
            }
            _ => FiredBy::Served,
        };
        out.extend(courses::fired_events(
            r,
            c.before,
            c.after,
            by,
            &self.targets,
        ));
        if c.before.rush != c.after.rush {
            let stations = events::stations(c.after);
            let mut rooms = events::order_rooms(r, c.after);
            rooms.extend(stations.iter().map(|s| Room::Station(r, *s)));
            let rushed = OrderRushed {
                order_id: c.after.id,
                table_id: c.after.table_id,
                rush: c.after.rush,
                stations,
            };
            out.push(EventDraft::new(rooms, rushed));
        }
        out
    }

    /// Voids, cancellations and closes are audited in the change's
    /// transaction; the kitchen's bumps and serving are not.
    fn audit(&self, c: &OrderChanged<'_>) -> Vec<AuditDraft> {
        let entry = audited(&self.action, c.before, c.after).map(|e| match &self.reason {
            Some(why) if !self.paid => e.reason(why.clone()),
            _ => e,
        });
        audit::drafts(&Actor::from(self.caller), self.now, entry)
    }
}

/// The audit entry of an order change, if the action is one the trail
/// keeps: the line or order as it was and as it became.
fn audited(action: &Action, before: &Order, after: &Order) -> Option<Entry> {
    let order = |o: &Order| json!({ "status": o.status, "total_cents": o.total_cents });
    let entry = match action {
        Action::Void {
            line_id,
            reason,
            approved_by,
        } => {
            let line_id = *line_id;
            let was = before.lines.iter().find(|l| l.id == line_id)?;
            let line = |status: LineStatus| {
                json!({
                    "line_id": line_id,
                    "menu_item_id": was.menu_item_id,
                    "name": was.name,
                    "qty": was.qty,
                    "unit_price_cents": was.unit_price_cents,
                    "status": status,
                })
            };
            let mut now = line(LineStatus::Voided);
            now["wasted"] = json!(was.status != LineStatus::Queued);
            now["void_reason"] = json!(reason);
            now["fired"] = json!(was.fired_at.is_some());
            now["approved_by"] = json!(approved_by);
            now["order"] = order(after);
            let mut then = line(was.status);
            then["order"] = order(before);
            Entry::new(Audited::OrderVoided)
                .before(then)
                .after(now)
                .reason(reason.clone())
        }
        Action::Cancel { reason } => Entry::new(Audited::OrderCancelled)
            .before(order(before))
            .after(order(after))
            .reason(reason.clone()),
        Action::SetOrder {
            to: OrderStatus::Closed,
        } => Entry::new(Audited::OrderClosedManually)
            .before(order(before))
            .after(order(after)),
        Action::SetLine { .. }
        | Action::SetOrder { .. }
        | Action::FireCourse { .. }
        | Action::Rush { .. } => return None,
    };
    Some(entry.target("order", after.id))
}

/// A sold-out item (none left and not available) is orderable again when
/// stock comes back; an item 86'd by hand with stock left stays off.
pub fn restores_availability(before: i64, available: bool) -> bool {
    before == 0 && !available
}

fn invalid(what: &str, current: impl serde::Serialize, why: &str) -> ApiError {
    let current = json!(current);
    ApiError::with_details(
        ErrorCode::InvalidTransition,
        format!("{why} ({what} is {})", current.as_str().unwrap_or("?")),
        json!({ "current": current }),
    )
}

/// Whether the order is finished (closed or cancelled): nothing changes it.
pub fn finished(order: &Order) -> bool {
    matches!(order.status, OrderStatus::Closed | OrderStatus::Cancelled)
}

/// Decides the change from the order as it is now (under its lock): the
/// action, then the held course that is due because of it (see
/// [`courses::due`]), then the order's status from its lines.
pub fn decide(
    caller: &Caller,
    order: &Order,
    action: &Action,
    rules: &KitchenRules,
) -> ApiResult<OrderChange> {
    if caller.role == Role::Guest
        && (order.table_id != caller.table_id || !matches!(action, Action::Cancel { .. }))
    {
        // Other tables' orders do not exist for a guest; its own it may only cancel.
        return if order.table_id == caller.table_id {
            Err(ApiError::forbidden())
        } else {
            Err(ApiError::not_found("order"))
        };
    }
    if finished(order) {
        return Err(invalid("order", order.status, "the order is finished"));
    }
    let now = rules.now;
    let mut lines = order.lines.clone();
    let mut change = OrderChange::default();
    match action {
        Action::SetLine { line_id, to } => {
            caller.may(if *to == LineStatus::Served {
                Operation::ServeAndVoid
            } else {
                Operation::PrepareLine
            })?;
            step_line(line_mut(&mut lines, *line_id)?, *to, rules)?;
        }
        Action::Void {
            line_id,
            reason,
            approved_by,
        } => {
            caller.may(Operation::ServeAndVoid)?;
            let line = line_mut(&mut lines, *line_id)?;
            if line.status == LineStatus::Voided {
                return Err(invalid("line", line.status, "the line is already voided"));
            }
            let manager = matches!(caller.role, Role::Owner | Role::Manager);
            if line.fired_at.is_some() && !manager && approved_by.is_none() {
                return Err(ApiError::new(
                    ErrorCode::ApprovalRequired,
                    "this line was already fired to the kitchen: voiding it needs a manager's \
                     approval",
                ));
            }
            if line.status == LineStatus::Queued {
                change
                    .stock_returns
                    .extend(give_back(order, Some(*line_id)));
            }
            line.status = LineStatus::Voided;
            line.void_reason = Some(reason.clone());
        }
        Action::SetOrder {
            to: OrderStatus::Served,
        } => {
            caller.may(Operation::ServeAndVoid)?;
            if order.status != OrderStatus::Ready {
                return Err(invalid(
                    "order",
                    order.status,
                    "only a ready order can be served",
                ));
            }
            for line in lines.iter_mut().filter(|l| l.status == LineStatus::Ready) {
                line.status = LineStatus::Served;
                line.served_at = Some(Timestamp(now));
            }
        }
        Action::SetOrder {
            to: OrderStatus::Closed,
        } => {
            caller.may(Operation::CloseOrder)?;
            if order.status != OrderStatus::Served {
                return Err(invalid(
                    "order",
                    order.status,
                    "only a served order can be closed",
                ));
            }
            change.order_status = Some(OrderStatus::Closed);
            change.table_status = Some(TableStatus::Cleaning);
            return Ok(change);
        }
        Action::SetOrder { to } => {
            return Err(invalid(
                "order",
                order.status,
                &format!(
                    "an order is set to {} through its lines",
                    json!(to).as_str().unwrap_or("?")
                ),
            ));
        }
        Action::Cancel { reason } => {
            caller.may(Operation::CancelOrder)?;
            if let Some(busy) = order
                .lines
                .iter()
                .find(|l| !matches!(l.status, LineStatus::Queued | LineStatus::Voided))
            {
                return Err(invalid(
                    "a line",
                    busy.status,
                    "the kitchen has started; void lines instead",
                ));
            }
            change.stock_returns.extend(give_back(order, None));
            for line in lines.iter_mut().filter(|l| l.status == LineStatus::Queued) {
                line.status = LineStatus::Voided;
                line.void_reason = Some(reason.clone());
            }
        }
        Action::FireCourse { course } => {
            caller.may(Operation::FireAndRush)?;
            if courses::fire(&mut lines, *course, now) == 0 {
                let exists = lines
                    .iter()
                    .any(|l| l.course == *course && l.status != LineStatus::Voided);
                if !exists {
                    return Err(ApiError::invalid_field(
                        "course",
                        "not_found",
                        &format!("the order has no course {course}"),
                    ));
                }
                return Err(ApiError::with_details(
                    ErrorCode::InvalidTransition,
                    format!("course {course} is already fired"),
                    json!({ "current": "fired" }),
                ));
            }
        }
        Action::Rush { rush } => {
            caller.may(Operation::FireAndRush)?;
            if order.rush != *rush {
                change.rush = Some(*rush);
            }
        }
    }
    // A change can make the next course due (the one before it served, or
    // gone); a cancelled order fires nothing.
    if !matches!(action, Action::Cancel { .. }) {
        if let Some((course, _)) = courses::due(&lines, rules) {
            courses::fire(&mut lines, course, now);
        }
    }
    change.lines = updates(&order.lines, &lines);
    let statuses: Vec<(i64, LineStatus)> = lines.iter().map(|l| (l.id, l.status)).collect();
    let derived = follow_lines(&statuses);
    if derived != order.status {
        change.order_status = Some(derived);
        if derived == OrderStatus::Cancelled {
            change.table_status = Some(TableStatus::Free);
        }
    }
    Ok(change)
}

/// Moves one line a step (or recalls it), stamping when.
fn step_line(line: &mut OrderLine, to: LineStatus, rules: &KitchenRules) -> ApiResult<()> {
    use LineStatus::*;
    let from = line.status;
    if from == Queued && line.fired_at.is_none() {
        return Err(ApiError::with_details(
            ErrorCode::InvalidTransition,
            format!(
                "the line is held: course {} is not fired yet (fire it first)",
                line.course
            ),
            json!({ "current": "held" }),
        ));
    }
    let now = Some(Timestamp(rules.now));
    match (from, to) {
        (Queued, Preparing) => line.started_at = now,
        (Preparing, Queued) => line.started_at = None,
        (Preparing, Ready) => line.ready_at = now,
        (Ready, Served) => line.served_at = now,
        // A recall: back to preparing, within the window, its timer restarted.
        (Ready | Served, Preparing) => {
            let since = if from == Served {
                line.served_at
            } else {
                line.ready_at
            };
            let window = rules.recall_window_ms;
            if since.is_some_and(|t| rules.now - t.millis() > window) {
                return Err(ApiError::with_details(
                    ErrorCode::InvalidTransition,
                    format!(
                        "the recall window has passed: a {} line can be recalled for {} minutes",
                        name(from),
                        window / 60_000
                    ),
                    json!({ "current": from, "recall_window_minutes": window / 60_000 }),
                ));
            }
            line.started_at = now;
            line.ready_at = None;
            line.served_at = None;
        }
        _ => {
            return Err(invalid(
                "line",
                from,
                &format!("a line cannot go from {} to {}", name(from), name(to)),
            ))
        }
    }
    line.status = to;
    Ok(())
}

fn line_mut(lines: &mut [OrderLine], line_id: i64) -> ApiResult<&mut OrderLine> {
    lines
        .iter_mut()
        .find(|l| l.id == line_id)
        .ok_or_else(|| ApiError::not_found("line"))
}

/// The lines of `after` that differ from `before`, as storage writes them.
pub fn updates(before: &[OrderLine], after: &[OrderLine]) -> Vec<LineUpdate> {
    let millis = |t: Option<Timestamp>| t.map(|t| t.millis());
    before
        .iter()
        .zip(after)
        .filter(|(b, a)| b != a)
        .map(|(_, a)| LineUpdate {
            id: a.id,
            status: a.status,
            fired_at: millis(a.fired_at),
            start_at: millis(a.start_at),
            started_at: millis(a.started_at),
            ready_at: millis(a.ready_at),
            served_at: millis(a.served_at),
            void_reason: a.void_reason.clone(),
        })
        .collect()
}

fn name(status: LineStatus) -> String {
    json!(status).as_str().unwrap_or("?").to_owned()
}

/// Stock back for the queued lines (one, or all).
fn give_back(order: &Order, only: Option<i64>) -> Vec<StockReturn> {
    order
        .lines
        .iter()
        .filter(|l| l.status == LineStatus::Queued && only.is_none_or(|id| id == l.id))
        .map(|l| StockReturn {
            menu_item_id: l.menu_item_id,
            qty: l.qty,
        })
        .collect()
}

/// The order's status from its lines.
pub fn follow_lines(lines: &[(i64, LineStatus)]) -> OrderStatus {
    use LineStatus::*;
    let live: Vec<LineStatus> = lines
        .iter()
        .map(|(_, s)| *s)
        .filter(|s| *s != Voided)
        .collect();
    if live.is_empty() {
        OrderStatus::Cancelled
    } else if live.iter().all(|s| *s == Served) {
        OrderStatus::Served
    } else if live.iter().all(|s| matches!(s, Ready | Served)) {
        OrderStatus::Ready
    } else if live.iter().any(|s| matches!(s, Preparing | Ready | Served)) {
        OrderStatus::InProgress
    } else {
        OrderStatus::Placed
    }
}

/// `order.line_status_changed` to the expo, the line's station and the
/// table; `order.status_changed` (or `order.cancelled`) to the expo,
/// waiters, dashboard and table (and the stations, for a cancellation);
/// stock and table events as for a placement.
fn lifecycle_events(r: i64, c: &OrderChanged<'_>, tables: &[i64]) -> Vec<EventDraft> {
    let (before, after) = (c.before, c.after);
    let mut out = Vec::new();
    for (old, new) in before
        .lines
        .iter()
        .zip(&after.lines)
        .filter(|(o, n)| o.status != n.status)
    {
        let mut rooms = vec![Room::Kitchen(r)];
        rooms.extend(new.station_id.map(|s| Room::Station(r, s)));
        rooms.extend(after.table_id.map(|t| Room::Table(r, t)));
        let wasted = new.status == LineStatus::Voided && old.status != LineStatus::Queued;
        let change = LineStatusChanged {
            order_id: after.id,
            line_id: new.id,
            station_id: new.station_id,
            table_id: after.table_id,
            name: new.name.clone(),
            qty: new.qty,
            from: old.status,
            status: new.status,
            wasted,
            reason: new
                .void_reason
                .clone()
                .filter(|_| new.status == LineStatus::Voided),
            started_at: new.started_at.filter(|_| {
                new.status == LineStatus::Preparing
                    && matches!(old.status, LineStatus::Ready | LineStatus::Served)
            }),
        };
        out.push(EventDraft::new(rooms, change));
    }
    if before.status != after.status {
        let mut rooms = events::order_rooms(r, after);
        if after.status == OrderStatus::Cancelled {
            rooms.extend(
                events::stations(after)
                    .into_iter()
                    .map(|s| Room::Station(r, s)),
            );
            // The reason of the lines this change voided (a cancellation's).
            let reason = before
                .lines
                .iter()
                .zip(&after.lines)
                .filter(|(o, _)| o.status != LineStatus::Voided)
                .find_map(|(_, n)| n.void_reason.clone())
                .unwrap_or_default();
            let cancelled = OrderCancelled {
                order_id: after.id,
                table_id: after.table_id,
                from: before.status,
                reason,
            };
            out.push(EventDraft::new(rooms, cancelled));
        } else {
            let change = OrderStatusChanged {
                order_id: after.id,
                table_id: after.table_id,
                from: before.status,
                status: after.status,
            };
            out.push(EventDraft::new(rooms, change));
        }
        out.extend(events::ready_for_placer(after, c.placed_by_user));
    }
    out.extend(events::stock(r, c.stock, tables));
    out.extend(events::table(r, c.table));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use LineStatus::*;

    #[test]
    fn the_order_follows_its_lines() {
        let status = |lines: &[LineStatus]| {
            follow_lines(
                &lines
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (i as i64, *s))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(status(&[Queued, Queued]), OrderStatus::Placed);
        assert_eq!(status(&[Preparing, Queued]), OrderStatus::InProgress);
        assert_eq!(status(&[Ready, Queued]), OrderStatus::InProgress);
        assert_eq!(status(&[Ready, Voided]), OrderStatus::Ready);
        assert_eq!(status(&[Ready, Served]), OrderStatus::Ready);
        assert_eq!(status(&[Served, Voided]), OrderStatus::Served);
        assert_eq!(status(&[Voided, Voided]), OrderStatus::Cancelled);
    }
}
