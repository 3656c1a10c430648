//! Paying at the table through an external payment provider, in a
//! provider-neutral flow: the guest (or a waiter) asks for a payment intent
//! for a part of the check or an amount of it; the provider charges the
//! guest and confirms with a webhook, `POST /api/v1/payments/webhook`,
//! signed with HMAC-SHA256 over `"{timestamp}.{raw body}"` with the
//! restaurant's secret, in the header
//! `Restohub-Signature: t=<unix seconds>,v1=<hex>`.
//!
//! The hub refuses a missing or wrong signature and a timestamp more than
//! 5 minutes off (`SIGNATURE_INVALID`), the very same signature again
//! (`WEBHOOK_REPLAYED`), and an amount, tip or currency other than the
//! intent's (`VALIDATION_FAILED`). A provider retrying a confirmation (newly
//! signed) gets the payment recorded the first time: the payment's
//! idempotency key is the intent's, so it is recorded exactly once.

use hmac::{Hmac, Mac};
use restohub_protocol::api::checks::{
    CreateIntent, IntentStatus, PaymentIntent, PaymentMethod, RecordPayment, WebhookEvent,
    WebhookReceived,
};
use restohub_protocol::{ErrorCode, Role, Timestamp};
use sha2::Sha256;
use validator::Validate;

use super::plan::CheckAction;
use super::{facts_of, shown, view};
use crate::app::access::Operation;
use crate::app::audit::Actor;
use crate::auth::Caller;
use crate::error::{validation_failed, ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{CheckTarget, IntentRow};

/// How long a guest has to pay an intent.
const INTENT_TTL_MS: i64 = 15 * 60 * 1000;
/// How far a webhook's timestamp may be from the hub's clock.
pub const TOLERANCE_MS: i64 = 5 * 60 * 1000;
pub const SIGNATURE_HEADER: &str = "restohub-signature";

fn intent_view(i: &IntentRow) -> PaymentIntent {
    PaymentIntent {
        id: i.id.clone(),
        check_id: i.check_id,
        part: i.part,
        amount_cents: i.amount_cents,
        tip_cents: i.tip_cents,
        currency: i.currency.clone(),
        status: i.status,
        payment_id: i.payment_id,
        expires_at: Timestamp(i.expires_at),
    }
}

/// Creates a payment intent for what is due on the check (or a part of
/// it), or a smaller amount of it. The caller's key again returns the
/// same intent.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    check_id: i64,
    req: CreateIntent,
) -> ApiResult<PaymentIntent> {
    caller.may(Operation::PayAtTable)?;
    req.validate().map_err(|e| validation_failed(&e))?;
    let r = caller.restaurant_id;
    let facts = facts_of(state, r, check_id).await?;
    shown(caller, &facts)?;
    if !facts.check.status.is_open() {
        return Err(ApiError::with_details(
            ErrorCode::InvalidTransition,
            format!("the check is {}", facts.check.status.as_str()),
            serde_json::json!({ "current": facts.check.status }),
        ));
    }
    let computed = view::current(&facts);
    let due = computed.due_on(req.part, facts.check.paid_cents)?;
    let amount = req.amount_cents.unwrap_or(due);
    if amount < 1 || amount > due {
        return Err(ApiError::invalid_field(
            "amount_cents",
            "overpaid",
            &format!("1 to {due} is due"),
        ));
    }
    let now = state.clock.now_ms();
    let row = IntentRow {
        id: format!("pi_{}", crate::auth::tokens::random_token()),
        restaurant_id: r,
        check_id,
        part: req.part,
        amount_cents: amount,
        tip_cents: req.tip_cents,
        currency: facts.settings.currency.clone(),
        status: IntentStatus::Pending,
        payment_id: None,
        idempotency_key: format!("{}/{}", caller.subject, req.idempotency_key),
        created_by: caller.subject.clone(),
        created_at: now,
        expires_at: now + INTENT_TTL_MS,
    };
    let stored = state.store.create_intent(&row).await?;
    if stored.check_id != check_id {
        return Err(ApiError::conflict(
            "this idempotency_key was already used for another check",
        ));
    }
    Ok(intent_view(&stored))
}

fn bad_signature(why: &str) -> ApiError {
    ApiError::new(ErrorCode::SignatureInvalid, why.to_owned())
}

/// `t=<seconds>,v1=<hex>` → (seconds, signature bytes).
fn parse_header(header: Option<&str>) -> ApiResult<(i64, Vec<u8>, String)> {
    let header = header.ok_or_else(|| bad_signature("the Restohub-Signature header is missing"))?;
    let (mut t, mut v1) = (None, None);
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = Some(value.to_owned()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(bad_signature(
            "the signature header is t=<seconds>,v1=<hex>",
        ));
    };
    let bytes = hex_bytes(&v1).ok_or_else(|| bad_signature("v1 is not hex"))?;
    Ok((t, bytes, v1.to_ascii_lowercase()))
}

fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    hex::decode(text).ok()
}

/// The signature of `body` at `timestamp` with `secret`, as hex (what a
/// provider sends; the tests play the provider with it).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// A confirmation from the payment provider (see the module doc).
pub async fn webhook(
    state: &AppState,
    signature: Option<&str>,
    body: &[u8],
) -> ApiResult<WebhookReceived> {
    let (t, given, given_hex) = parse_header(signature)?;
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            ErrorCode::MalformedJson,
            format!("body is not valid JSON: {e}"),
        )
    })?;
    let event: WebhookEvent = crate::input::from_value(value)?;
    event.validate().map_err(|e| validation_failed(&e))?;
    let intent = state
        .store
        .intent(&event.intent_id)
        .await?
        .ok_or_else(|| bad_signature("no such payment intent"))?;
    let r = intent.restaurant_id;
    let secret = state
        .store
        .webhook_secret(r)
        .await?
        .ok_or_else(|| bad_signature("this restaurant takes no webhooks (no secret set)"))?;
    // `verify_slice` compares in constant time.
    mac(&secret, t, body)
        .verify_slice(&given)
        .map_err(|_| bad_signature("the signature does not match"))?;
    let now = state.clock.now_ms();
    // In i128: `t` is the sender's, any i64.
    if (i128::from(now) - i128::from(t) * 1000).abs() > i128::from(TOLERANCE_MS) {
        return Err(bad_signature("the timestamp is more than 5 minutes off"));
    }
    if !state
        .store
        .remember_signature(r, &given_hex, now, now - 2 * TOLERANCE_MS)
        .await?
    {
        return Err(ApiError::new(
            ErrorCode::WebhookReplayed,
            "this signed request was received before",
        ));
    }
    if intent.payment_id.is_none() && now > intent.expires_at {
        return Err(ApiError::with_details(
            ErrorCode::InvalidTransition,
            "the payment intent expired: nothing was recorded (refund the charge at the provider)",
            serde_json::json!({ "current": "expired" }),
        ));
    }
    if event.status != "succeeded" {
        return Ok(WebhookReceived {
            payment_id: None,
            duplicate: false,
        });
    }
    if event.amount_cents != intent.amount_cents
        || event.tip_cents != intent.tip_cents
        || event.currency != intent.currency
    {
        return Err(ApiError::invalid_field(
            "amount_cents",
            "mismatch",
            &format!(
                "the intent is for {} + {} tip {}",
                intent.amount_cents, intent.tip_cents, intent.currency
            ),
        ));
    }
    let req = RecordPayment {
        idempotency_key: intent.id.clone(),
        part: intent.part,
        method: PaymentMethod::Card,
        amount_cents: intent.amount_cents,
        tip_cents: intent.tip_cents,
        tendered_cents: None,
        reference: event.reference.clone(),
    };
    let hash = crate::auth::tokens::sha256_hex(&format!("intent:{}", intent.id));
    let actor = Actor {
        restaurant_id: r,
        subject: Some("payment-provider".into()),
        role: None,
        client: None,
    };
    let super::Ran {
        payment, duplicate, ..
    } = super::run(
        state,
        actor,
        None,
        Role::Guest,
        CheckTarget::Id(intent.check_id),
        CheckAction::Pay {
            req,
            key: format!("intent:{}", intent.id),
            hash,
            intent: Some(intent),
        },
    )
    .await?;
    Ok(WebhookReceived {
        payment_id: payment.map(|p| p.id),
        duplicate,
    })
}
