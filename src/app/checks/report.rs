//! What a check change announces and what the audit trail keeps of it:
//! its events (to the cashiers, the waiters, the dashboard and the check's
//! table; never a payment's reference) and the entries of the money it
//! moved.

use restohub_protocol::api::checks::CheckStatus;
use restohub_protocol::events::{
    CheckClosed, CheckOpened, CheckUpdated, OrderStatusChanged, PaymentRecordedEvent,
    PaymentRefunded,
};
use restohub_protocol::ws::Room;
use restohub_protocol::Role;
use serde_json::json;

use super::step::{CheckAction, Step};
use super::view;
use crate::app::audit::{self, Action as Audited, Entry};
use crate::storage::{AuditDraft, CheckChanged, CheckFacts, EventDraft};

/// Where check and payment events go: the cashiers, the waiters, the
/// dashboard and the check's table.
pub fn rooms(r: i64, table: Option<i64>) -> Vec<Room> {
    let mut rooms = vec![
        Room::Role(r, Role::Cashier),
        Room::Role(r, Role::Waiter),
        Room::Dashboard(r),
    ];
    rooms.extend(table.map(|t| Room::Table(r, t)));
    rooms
}

/// The events of a check change.
pub fn events(step: &Step, changed: &CheckChanged<'_>) -> Vec<EventDraft> {
    let after = changed.after;
    let r = step.actor.restaurant_id;
    let rooms = rooms(r, after.check.table_id);
    let check = view::check(after, &view::current(after), false);
    let mut out = Vec::new();
    if let Some(p) = changed.payment {
        out.push(EventDraft::new(
            rooms.clone(),
            PaymentRecordedEvent {
                payment: view::payment_view(p, false),
                due_cents: check.due_cents,
            },
        ));
    }
    if let Some(refund) = changed.refund {
        let total = after
            .payments
            .iter()
            .find(|p| p.id == refund.payment_id)
            .map_or(refund.amount_cents, |p| p.refunded_cents);
        out.push(EventDraft::new(
            rooms.clone(),
            PaymentRefunded {
                payment_id: refund.payment_id,
                check_id: after.check.id,
                amount_cents: refund.amount_cents,
                refunded_cents: total,
                reason: refund.reason.clone(),
            },
        ));
    }
    for (before, order) in changed.closed_orders {
        let mut order_rooms = vec![
            Room::Kitchen(r),
            Room::Role(r, Role::Waiter),
            Room::Dashboard(r),
        ];
        order_rooms.extend(order.table_id.map(|t| Room::Table(r, t)));
        out.push(EventDraft::new(
            order_rooms,
            OrderStatusChanged {
                order_id: order.id,
                from: before.status,
                status: order.status,
                table_id: order.table_id,
            },
        ));
    }
    if let Some(t) = changed.table {
        out.extend(crate::app::orders::events::table(r, Some(t)));
    }
    let status_before = changed.before.check.status;
    if changed.opened {
        out.push(EventDraft::new(rooms, CheckOpened { check }));
    } else if matches!(check.status, CheckStatus::Closed | CheckStatus::Void)
        && status_before != check.status
    {
        out.push(EventDraft::new(rooms, CheckClosed { check }));
    } else {
        out.push(EventDraft::new(rooms, CheckUpdated { check }));
    }
    out
}

/// The audit entries of a check change.
pub fn audit(step: &Step, changed: &CheckChanged<'_>) -> Vec<AuditDraft> {
    let id = changed.after.check.id;
    let figures = |f: &CheckFacts| {
        json!({
            "status": f.check.status,
            "total_cents": f.check.total_cents,
            "paid_cents": f.check.paid_cents,
            "refunded_cents": f.check.refunded_cents,
        })
    };
    let entry = |action| {
        Entry::new(action)
            .target("check", id)
            .before(figures(changed.before))
            .after(figures(changed.after))
    };
    let mut entries = Vec::new();
    match &step.action {
        CheckAction::Discount { req, approved_by } => entries.push(
            entry(Audited::CheckDiscounted)
                .after(json!({
                    "line_id": req.line_id,
                    "kind": req.kind,
                    "value": req.value,
                    "comp": req.comp,
                    "discount_cents": changed.after.check.discount_cents,
                    "total_cents": changed.after.check.total_cents,
                    "approved_by": approved_by,
                }))
                .reason(req.reason.clone()),
        ),
        CheckAction::Pay { .. } => {
            if let Some(p) = changed.payment {
                entries.push(entry(Audited::PaymentRecorded).after(json!({
                    "payment_id": p.id,
                    "method": p.method,
                    "part": p.part,
                    "amount_cents": p.amount_cents,
                    "tip_cents": p.tip_cents,
                    "change_cents": p.change_cents,
                    "check_status": changed.after.check.status,
                    "paid_cents": changed.after.check.paid_cents,
                })));
            }
        }
        CheckAction::Refund(req) => entries.push(
            entry(Audited::PaymentRefunded)
                .after(json!({
                    "payment_id": req.payment_id,
                    "amount_cents": req.amount_cents,
                    "refunded_cents": changed.after.check.refunded_cents,
                }))
                .reason(req.reason.clone()),
        ),
        CheckAction::Void(reason) => {
            entries.push(entry(Audited::CheckVoided).reason(reason.clone()))
        }
        CheckAction::Reopen(reason) => {
            entries.push(entry(Audited::CheckReopened).reason(reason.clone()))
        }
        CheckAction::Close => entries.push(entry(Audited::CheckClosed)),
        _ => {}
    }
    if changed.before.check.receipt_no.is_none() && changed.after.check.receipt_no.is_some() {
        entries.push(
            Entry::new(Audited::CheckPaid)
                .target("check", id)
                .after(json!({
                    "receipt_no": changed.after.check.receipt_no,
                    "total_cents": changed.after.check.total_cents,
                    "paid_cents": changed.after.check.paid_cents,
                    "tip_cents": changed.after.check.tip_cents,
                })),
        );
    }
    audit::drafts(&step.actor, step.now, entries)
}
