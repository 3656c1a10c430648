//! Check and payment commands: each calls the same use case as its REST
//! route (`app::checks`) and acknowledges with what it returns.

use restohub_protocol::ws::{AckResult, CheckAck, ClientMessage};

use crate::app::checks as uc;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub(super) async fn dispatch(
    state: &AppState,
    caller: &Caller,
    message: ClientMessage,
) -> ApiResult<AckResult> {
    use ClientMessage::*;
    let ack = |check| CheckAck { check };
    Ok(match message {
        CheckOpen(cmd) => AckResult::CheckOpen(ack(uc::open(state, caller, cmd.open).await?.0)),
        CheckGet(cmd) => AckResult::CheckGet(ack(uc::get(state, caller, cmd.check_id).await?)),
        CheckDiscount(cmd) => {
            AckResult::CheckDiscount(ack(
                uc::discount(state, caller, cmd.check_id, cmd.discount).await?
            ))
        }
        CheckSplit(cmd) => {
            AckResult::CheckSplit(ack(
                uc::split(state, caller, cmd.check_id, cmd.split.split).await?
            ))
        }
        CheckSetCovers(cmd) => {
            AckResult::CheckSetCovers(ack(
                uc::set_covers(state, caller, cmd.check_id, cmd.covers).await?
            ))
        }
        CheckClose(cmd) => {
            AckResult::CheckClose(ack(uc::close(state, caller, cmd.check_id).await?))
        }
        CheckVoid(cmd) => {
            AckResult::CheckVoid(ack(
                uc::void(state, caller, cmd.check_id, &cmd.reason).await?
            ))
        }
        CheckReopen(cmd) => {
            AckResult::CheckReopen(ack(
                uc::reopen(state, caller, cmd.check_id, &cmd.reason).await?
            ))
        }
        PaymentRecord(cmd) => {
            AckResult::PaymentRecord(uc::pay(state, caller, cmd.check_id, cmd.payment).await?)
        }
        PaymentRefund(cmd) => {
            AckResult::PaymentRefund(ack(uc::refund(state, caller, cmd.refund).await?))
        }
        PaymentIntent(cmd) => AckResult::PaymentIntent {
            intent: uc::intents::create(state, caller, cmd.check_id, cmd.intent).await?,
        },
        _ => return Err(ApiError::conflict("not a check command")),
    })
}
