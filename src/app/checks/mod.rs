//! Checks and payments: opening a table's or a takeaway order's check,
//! discounts and comps (above the restaurant's limit with a manager's
//! approval), splits, payments (idempotent, never more than is due),
//! refunds (managers, never more than was paid), voiding, reopening and
//! closing. Each use case asks who may, validates, and runs one
//! [`plan::Step`] in storage's check transaction; the figures follow the
//! rules of [`money`], and [`view`] shows the check to staff and guests.
//! Paying at the table through a provider is [`intents`]; receipts are
//! [`receipt`]; tax rates and the service charge are [`settings`].

pub(crate) mod approval;
pub mod intents;
pub mod money;
pub mod plan;
pub mod receipt;
mod report;
pub mod settings;
mod step;
pub mod view;

use restohub_protocol::api::checks::{
    AddDiscount, Check, OpenCheck, PaymentRecorded, RecordPayment, Refund, Split,
};
use restohub_protocol::{ErrorCode, Role};
use validator::Validate;

use super::access::Operation;
use super::audit::Actor;
use crate::auth::Caller;
use crate::error::{validation_failed, ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{Changed, CheckDone, CheckFacts, CheckTarget};
use plan::{CheckAction, Refused, Step};

/// What running a check change gave.
pub(crate) struct Ran {
    /// The check after it (or as it is, when the change changed nothing).
    pub facts: CheckFacts,
    /// The payment it recorded, or the one its key had recorded before.
    pub payment: Option<crate::storage::PaymentRow>,
    /// The key had recorded this payment before: nothing changed.
    pub duplicate: bool,
    pub opened: bool,
}

/// Runs `action` on `target` for `actor`.
pub(crate) async fn run(
    state: &AppState,
    actor: Actor,
    user_id: Option<i64>,
    role: Role,
    target: CheckTarget,
    action: CheckAction,
) -> ApiResult<Ran> {
    let r = actor.restaurant_id;
    let now = state.clock.now_ms();
    let step = Step {
        actor,
        user_id,
        role,
        action,
        now,
    };
    let changed = state.store.change_check(r, target, now, &step).await;
    let changed = match changed {
        Ok(c) => c,
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::conflict(
                "another check is already open for this table, or this key was used",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    match changed {
        Changed::NotFound => Err(ApiError::not_found("check")),
        Changed::Refused(Refused::Error(e)) => Err(e),
        Changed::Refused(Refused::Duplicate(payment)) => {
            let payment = *payment;
            let facts = facts_of(state, r, payment.check_id).await?;
            Ok(Ran {
                facts,
                payment: Some(payment),
                duplicate: true,
                opened: false,
            })
        }
        Changed::Refused(Refused::Unchanged) => {
            let id = match target {
                CheckTarget::Id(id) => Some(id),
                CheckTarget::Table(t) => state.store.open_check_of_table(r, t).await?,
                CheckTarget::Order(_) => None,
            };
            match id {
                Some(id) => Ok(Ran {
                    facts: facts_of(state, r, id).await?,
                    payment: None,
                    duplicate: false,
                    opened: false,
                }),
                None => Err(ApiError::not_found("check")),
            }
        }
        Changed::Done(
            CheckDone {
                facts,
                payment,
                opened,
            },
            events,
        ) => {
            let table_changed = events
                .iter()
                .any(|e| e.kind == restohub_protocol::events::TableStatusChanged::KIND);
            state.publish(events).await;
            if table_changed {
                crate::app::revocations::settle(state).await;
            }
            Ok(Ran {
                facts,
                payment,
                duplicate: false,
                opened,
            })
        }
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

async fn facts_of(state: &AppState, r: i64, id: i64) -> ApiResult<CheckFacts> {
    state
        .store
        .check_facts(r, id)
        .await?
        .ok_or_else(|| ApiError::not_found("check"))
}

/// The check as `caller` may see it: staff any of the restaurant's (with
/// payment references), a guest only its own table's (without).
fn shown(caller: &Caller, facts: &CheckFacts) -> ApiResult<Check> {
    let staff = caller.role != Role::Guest;
    if !staff && (facts.check.table_id.is_none() || facts.check.table_id != caller.table_id) {
        return Err(ApiError::not_found("check"));
    }
    Ok(view::check(facts, &view::current(facts), staff))
}

async fn act(
    state: &AppState,
    caller: &Caller,
    target: CheckTarget,
    action: CheckAction,
) -> ApiResult<Check> {
    act_opening(state, caller, target, action)
        .await
        .map(|(c, _)| c)
}

/// [`act`], and whether it opened the check.
async fn act_opening(
    state: &AppState,
    caller: &Caller,
    target: CheckTarget,
    action: CheckAction,
) -> ApiResult<(Check, bool)> {
    let ran = run(
        state,
        Actor::from(caller),
        caller.user_id,
        caller.role,
        target,
        action,
    )
    .await?;
    Ok((shown(caller, &ran.facts)?, ran.opened))
}

/// Opens (or finds) the check of a table or of a takeaway order; whether
/// it opened it.
pub async fn open(state: &AppState, caller: &Caller, req: OpenCheck) -> ApiResult<(Check, bool)> {
    caller.may(Operation::ReadCheck)?;
    req.validate().map_err(|e| validation_failed(&e))?;
    // The staff count the party (the service charge may depend on it).
    if caller.role == Role::Guest && req.covers.is_some() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "guests do not set the covers of their check",
        ));
    }
    let target = match (req.order_id, caller.which_table(req.table_id)?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_field(
                "order_id",
                "exclusive",
                "name a table or a takeaway order, not both",
            ))
        }
        (Some(order), None) if caller.role != Role::Guest => CheckTarget::Order(order),
        (None, Some(table)) => CheckTarget::Table(table),
        _ => {
            return Err(ApiError::invalid_field(
                "table_id",
                "required",
                "name a table or a takeaway order",
            ))
        }
    };
    act_opening(
        state,
        caller,
        target,
        CheckAction::Open { covers: req.covers },
    )
    .await
}

pub async fn get(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Check> {
    caller.may(Operation::ReadCheck)?;
    let facts = facts_of(state, caller.restaurant_id, id).await?;
    shown(caller, &facts)
}

/// One page of the restaurant's checks, oldest first (staff).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    status: Option<restohub_protocol::api::checks::CheckStatus>,
    table_id: Option<i64>,
    page: crate::storage::PageQuery,
) -> ApiResult<Vec<Check>> {
    caller.may(Operation::ManageCheck)?;
    let r = caller.restaurant_id;
    let ids = state.store.check_ids(r, status, table_id, page).await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(facts) = state.store.check_facts(r, id).await? {
            out.push(shown(caller, &facts)?);
        }
    }
    Ok(out)
}

pub async fn discount(
    state: &AppState,
    caller: &Caller,
    id: i64,
    req: AddDiscount,
) -> ApiResult<Check> {
    caller.may(Operation::Discount)?;
    req.validate().map_err(|e| validation_failed(&e))?;
    let approved_by = match &req.approval {
        Some(approval) => Some(approval::approve(state, caller, approval).await?),
        None => None,
    };
    act(
        state,
        caller,
        CheckTarget::Id(id),
        CheckAction::Discount { req, approved_by },
    )
    .await
}

pub async fn split(
    state: &AppState,
    caller: &Caller,
    id: i64,
    split: Option<Split>,
) -> ApiResult<Check> {
    caller.may(Operation::ManageCheck)?;
    restohub_protocol::api::checks::SplitCheck {
        split: split.clone(),
    }
    .validate()
    .map_err(|e| validation_failed(&e))?;
    act(
        state,
        caller,
        CheckTarget::Id(id),
        CheckAction::Split(split),
    )
    .await
}

pub async fn set_covers(
    state: &AppState,
    caller: &Caller,
    id: i64,
    covers: i64,
) -> ApiResult<Check> {
    caller.may(Operation::ManageCheck)?;
    if !(0..=500).contains(&covers) {
        return Err(ApiError::invalid_field("covers", "range", "0 to 500"));
    }
    act(
        state,
        caller,
        CheckTarget::Id(id),
        CheckAction::Covers(covers),
    )
    .await
}

/// Records a payment at the till. The key is the caller's own, as for
/// orders: a retry returns the original payment and changes nothing.
pub async fn pay(
    state: &AppState,
    caller: &Caller,
    id: i64,
    req: RecordPayment,
) -> ApiResult<PaymentRecorded> {
    caller.may(Operation::TakePayment)?;
    req.validate().map_err(|e| validation_failed(&e))?;
    let key = format!("{}/{}", caller.subject, req.idempotency_key);
    let hash = fingerprint(id, &req);
    let Ran {
        facts,
        payment,
        duplicate,
        ..
    } = run(
        state,
        Actor::from(caller),
        caller.user_id,
        caller.role,
        CheckTarget::Id(id),
        CheckAction::Pay {
            req,
            key,
            hash,
            intent: None,
        },
    )
    .await?;
    let payment = payment.ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!("a payment change returned no payment"))
    })?;
    Ok(PaymentRecorded {
        payment: view::payment_view(&payment, true),
        check: shown(caller, &facts)?,
        duplicate,
    })
}

pub(crate) fn fingerprint(check: i64, req: &RecordPayment) -> String {
    let body = serde_json::to_string(req).unwrap_or_default();
    crate::auth::tokens::sha256_hex(&format!("{check}:{body}"))
}

/// Gives money back on a payment (managers).
pub async fn refund(state: &AppState, caller: &Caller, req: Refund) -> ApiResult<Check> {
    caller.may(Operation::Refund)?;
    req.validate().map_err(|e| validation_failed(&e))?;
    let check = state
        .store
        .payment_check(caller.restaurant_id, req.payment_id)
        .await?
        .ok_or_else(|| ApiError::not_found("payment"))?;
    act(
        state,
        caller,
        CheckTarget::Id(check),
        CheckAction::Refund(req),
    )
    .await
}

fn reason(reason: &str) -> ApiResult<String> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(ApiError::invalid_field(
            "reason",
            "length",
            "a reason of 1 to 200 characters is required",
        ));
    }
    Ok(reason.to_owned())
}

pub async fn void(state: &AppState, caller: &Caller, id: i64, why: &str) -> ApiResult<Check> {
    caller.may(Operation::VoidCheck)?;
    let why = reason(why)?;
    act(state, caller, CheckTarget::Id(id), CheckAction::Void(why)).await
}

pub async fn reopen(state: &AppState, caller: &Caller, id: i64, why: &str) -> ApiResult<Check> {
    caller.may(Operation::VoidCheck)?;
    let why = reason(why)?;
    act(state, caller, CheckTarget::Id(id), CheckAction::Reopen(why)).await
}

pub async fn close(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Check> {
    caller.may(Operation::TakePayment)?;
    act(state, caller, CheckTarget::Id(id), CheckAction::Close).await
}

/// After an order is placed on a table, or an order's lines voided or the
/// order cancelled: its open check takes the change in and announces its
/// new figures. Failing here fails nothing: the order changed, and the
/// check counts it with its next change anyway (every change recomputes
/// the check from its orders inside its transaction).
pub async fn take_in(state: &AppState, restaurant_id: i64, table_id: Option<i64>, order_id: i64) {
    let target = match table_id {
        Some(table) => match state.store.open_check_of_table(restaurant_id, table).await {
            Ok(Some(_)) => CheckTarget::Table(table),
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, restaurant = restaurant_id, order = order_id,
                    "an open check could not take in an order's change yet");
                return;
            }
        },
        None => CheckTarget::Order(order_id),
    };
    refresh(state, restaurant_id, target, order_id).await;
}

/// [`take_in`] for the check `target`, known to be open (a placement's
/// write found it: [`crate::storage::PlaceOutcome::Placed`]).
pub async fn refresh(state: &AppState, restaurant_id: i64, target: CheckTarget, order_id: i64) {
    let actor = Actor {
        restaurant_id,
        subject: None,
        role: None,
        client: None,
    };
    let refreshed = run(
        state,
        actor,
        None,
        Role::Waiter,
        target,
        CheckAction::Refresh,
    )
    .await;
    if let Err(e) = refreshed {
        if e.code() != ErrorCode::NotFound {
            tracing::warn!(error = %e, restaurant = restaurant_id, order = order_id,
                "an open check could not take in an order's change yet");
        }
    }
}

/// A check's receipt: plain text for a 42-column printer, or HTML. A
/// guest gets its own table's only.
pub async fn receipt_of(
    state: &AppState,
    caller: &Caller,
    id: i64,
    html: bool,
) -> ApiResult<String> {
    caller.may(Operation::ReadCheck)?;
    let r = caller.restaurant_id;
    let facts = facts_of(state, r, id).await?;
    let check = shown(caller, &facts)?;
    let label = match check.table_id {
        Some(t) => state.store.table_label(r, t).await?,
        None => None,
    };
    let header = receipt::ReceiptHeader {
        restaurant: &facts.settings.name,
        timezone: &facts.settings.timezone,
        table_label: label.as_deref(),
    };
    Ok(if html {
        receipt::html(&check, &header)
    } else {
        receipt::text(&check, &header)
    })
}
