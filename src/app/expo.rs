//! What the expo and the floor ask of the kitchen beyond bumps: fire a
//! held course, rush an order, void a line or cancel an order with a
//! reason (a fired line with a manager's approval) — each through the one
//! kitchen use case, [`super::kitchen::act`] — and the sweeper that fires
//! a course a set time after the one before it was ready.

use std::time::Duration;

use restohub_protocol::api::orders::{CancelOrder, Order, VoidLine};
use restohub_protocol::api::tables::TableStatus;
use restohub_protocol::events::FiredBy;

use super::courses::{due, fire, fired_events, reason, KitchenRules};
use super::kitchen::{self, Action};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{Changed, EventDraft, OrderChange, OrderChangePlan, OrderChanged, TableRules};

/// Voids a line with a reason; a manager's approval, when given, is
/// checked first (a fired line needs one unless a manager voids it).
pub async fn void_line(
    state: &AppState,
    caller: &Caller,
    order_id: i64,
    line_id: i64,
    req: VoidLine,
) -> ApiResult<Order> {
    let reason = reason(&req.reason)?;
    let approved_by = match &req.approval {
        Some(approval) => Some(super::checks::approval::approve(state, caller, approval).await?),
        None => None,
    };
    let action = Action::Void {
        line_id,
        reason,
        approved_by,
    };
    kitchen::act(state, caller, order_id, action).await
}

/// Cancels an order with a reason.
pub async fn cancel(
    state: &AppState,
    caller: &Caller,
    order_id: i64,
    req: CancelOrder,
) -> ApiResult<Order> {
    let reason = reason(&req.reason)?;
    kitchen::act(state, caller, order_id, Action::Cancel { reason }).await
}

/// Fires a held course of an order.
pub async fn fire_course(
    state: &AppState,
    caller: &Caller,
    order_id: i64,
    course: i64,
) -> ApiResult<Order> {
    if !(1..=restohub_protocol::api::orders::MAX_COURSE).contains(&course) {
        return Err(ApiError::invalid_field(
            "course",
            "range",
            "a course is 1 to 9",
        ));
    }
    kitchen::act(state, caller, order_id, Action::FireCourse { course }).await
}

/// Rushes an order (or takes the rush off).
pub async fn rush(
    state: &AppState,
    caller: &Caller,
    order_id: i64,
    rush: bool,
) -> ApiResult<Order> {
    kitchen::act(state, caller, order_id, Action::Rush { rush }).await
}

/// The timed auto-fire: every second (real time), fires the held courses
/// whose time has come by the hub's clock. Each order is decided again
/// under its lock, so with many instances only one fires a course and
/// appends its events; the others find it fired and change nothing.
pub async fn fire_when_due(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let now = state.clock.now_ms();
        let due = match state.store.held_courses_due(now).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "looking for courses to fire failed; will retry");
                continue;
            }
        };
        for (r, order_id) in due {
            if let Err(e) = fire_due(&state, r, order_id).await {
                tracing::warn!(error = %e, order_id, "firing a course by time failed");
            }
        }
    }
}

async fn fire_due(state: &AppState, r: i64, order_id: i64) -> anyhow::Result<()> {
    let Some(restaurant) = state.store.restaurant(r).await? else {
        return Ok(());
    };
    let now = state.clock.now_ms();
    let plan = Timed {
        r,
        rules: KitchenRules::of(&restaurant, now),
        targets: super::timers::station_targets(state, r).await?,
    };
    if let Changed::Done(_, events) = state.store.change_order(r, order_id, now, &plan).await? {
        state.publish(events).await;
    }
    Ok(())
}

/// The sweeper's change: fire the course that is due, nothing else.
struct Timed {
    r: i64,
    rules: KitchenRules,
    targets: super::timers::StationTargets,
}

impl TableRules for Timed {
    fn table_after(&self, wanted: TableStatus, now: TableStatus, open: i64) -> Option<TableStatus> {
        super::floor::table_after(wanted, now, open)
    }

    fn ends_visit(&self, from: TableStatus, to: TableStatus) -> bool {
        super::floor::ends_visit(from, to)
    }
}

impl OrderChangePlan for Timed {
    /// Nothing is due (any more): nothing to do.
    type Refusal = ();

    fn decide(&self, order: &Order) -> Result<OrderChange, ()> {
        if kitchen::finished(order) {
            return Err(());
        }
        let mut lines = order.lines.clone();
        let (course, _) = due(&lines, &self.rules).ok_or(())?;
        fire(&mut lines, course, self.rules.now);
        Ok(OrderChange {
            lines: kitchen::updates(&order.lines, &lines),
            ..OrderChange::default()
        })
    }

    fn restores_availability(&self, before: i64, available: bool) -> bool {
        kitchen::restores_availability(before, available)
    }

    fn events(&self, c: &OrderChanged<'_>) -> Vec<EventDraft> {
        fired_events(self.r, c.before, c.after, FiredBy::Timer, &self.targets)
    }
}
