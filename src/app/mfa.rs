//! MFA: TOTP (RFC 6238: SHA-1, 6 digits, 30 s) for staff accounts, with
//! one-time recovery codes, and a restaurant's rule that owners and
//! managers must have it.
//!
//! Enrolling is two steps: `enrol` makes a secret (pending), `confirm` turns
//! it on with a first code and returns the recovery codes, once. At login a
//! code is checked after the password; a wrong code counts towards the
//! account's lockout like a wrong password, and a code is accepted only once
//! (its time step is remembered).

use restohub_protocol::api::auth::{MfaEnrolment, MfaRecoveryCodes};
use restohub_protocol::api::staff::StaffUser;
use restohub_protocol::ErrorCode;
use totp_rs::{Algorithm, Secret, TOTP};

use super::audit::{self, Action, Entry};
use crate::auth::tokens::{guest_code, sha256_hex};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{LoginKey, MfaState};

const DIGITS: usize = 6;
const STEP_SECS: u64 = 30;
/// Codes of the step before and after the current one are accepted too
/// (phones' clocks drift).
const SKEW: i64 = 1;
const RECOVERY_CODES: usize = 10;

/// The TOTP of a base32 secret, labelled for an authenticator app.
fn totp(secret: &str, account: &str, slug: &str) -> ApiResult<TOTP> {
    let bytes = Secret::Encoded(secret.to_owned())
        .to_bytes()
        .map_err(|e| anyhow::anyhow!("an MFA secret cannot be decoded: {e:?}"))?;
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECS,
        bytes,
        Some(format!("restohub {slug}")),
        account.to_owned(),
    )
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("cannot make a TOTP: {e:?}")))
}

/// The time step whose code `code` is, near `now_ms`, if any.
fn step_of(totp: &TOTP, code: &str, now_ms: i64) -> Option<i64> {
    let now = now_ms.div_euclid(1000).div_euclid(STEP_SECS as i64);
    (now - SKEW..=now + SKEW).find(|step| {
        let expected = totp.generate((*step).max(0) as u64 * STEP_SECS);
        constant_time_eq::constant_time_eq(expected.as_bytes(), code.as_bytes())
    })
}

/// A recovery code as typed (any case, with or without the dash), as kept.
fn recovery_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    sha256_hex(&normal)
}

/// The staff account behind the caller, with its restaurant's slug.
async fn account(state: &AppState, caller: &Caller) -> ApiResult<(StaffUser, String, MfaState)> {
    let user_id = caller
        .user_id
        .ok_or_else(|| ApiError::new(ErrorCode::Forbidden, "MFA is for staff accounts"))?;
    let r = caller.restaurant_id;
    let now = state.clock.now_ms();
    let user = state.store.user(r, user_id, now).await?;
    let restaurant = state.store.restaurant(r).await?;
    let mfa = state.store.mfa_state(r, user_id).await?;
    match (user, restaurant, mfa) {
        (Some(user), Some(restaurant), Some(mfa)) => Ok((user, restaurant.slug, mfa)),
        _ => Err(ApiError::unauthorized("account no longer exists")),
    }
}

/// Starts enrolling: a new secret to put into an authenticator app.
pub async fn enrol(state: &AppState, caller: &Caller) -> ApiResult<MfaEnrolment> {
    let (user, slug, mfa) = account(state, caller).await?;
    if mfa.secret.is_some() {
        return Err(ApiError::conflict("MFA is already on; turn it off first"));
    }
    let secret = Secret::generate_secret().to_encoded().to_string();
    let totp = totp(&secret, &user.email, &slug)?;
    state
        .store
        .set_mfa_pending(caller.restaurant_id, user.id, &secret)
        .await?;
    Ok(MfaEnrolment {
        otpauth_uri: totp.get_url(),
        secret,
    })
}

/// Turns MFA on with a first code from the app; returns the recovery codes.
pub async fn confirm(state: &AppState, caller: &Caller, code: &str) -> ApiResult<MfaRecoveryCodes> {
    let (user, slug, mfa) = account(state, caller).await?;
    let pending = mfa
        .pending
        .ok_or_else(|| ApiError::conflict("no enrolment to confirm; enrol first"))?;
    let r = caller.restaurant_id;
    refuse_when_locked(state, r, &user.email).await?;
    let Some(step) = step_of(
        &totp(&pending, &user.email, &slug)?,
        code.trim(),
        state.clock.now_ms(),
    ) else {
        return Err(wrong_code(state, r, &user.email).await);
    };
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let raw = guest_code();
            format!("{}-{}", &raw[..5], &raw[5..])
        })
        .collect();
    let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(c)).collect();
    if !state
        .store
        .confirm_mfa(r, user.id, &pending, step, &hashes)
        .await?
    {
        return Err(ApiError::conflict("the enrolment changed; enrol again"));
    }
    let entry = Entry::new(Action::MfaEnabled).target("user", user.id);
    audit::record(state, caller, [entry]).await;
    Ok(MfaRecoveryCodes {
        recovery_codes: codes,
    })
}

/// Turns the caller's MFA off, with a code (or a recovery code). Owners
/// and managers of a restaurant that requires MFA cannot.
pub async fn disable(state: &AppState, caller: &Caller, code: &str) -> ApiResult<()> {
    let (user, slug, mfa) = account(state, caller).await?;
    let Some(secret) = mfa.secret else {
        return Err(ApiError::conflict("MFA is not on"));
    };
    let r = caller.restaurant_id;
    let required = state
        .store
        .restaurant(r)
        .await?
        .is_some_and(|restaurant| restaurant.require_mfa);
    if required && user.role.is_manager() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "this restaurant requires MFA of owners and managers",
        ));
    }
    refuse_when_locked(state, r, &user.email).await?;
    if !accepts(state, r, &user, &slug, &secret, code).await? {
        return Err(wrong_code(state, r, &user.email).await);
    }
    state.store.disable_mfa(r, user.id).await?;
    let entry = Entry::new(Action::MfaDisabled).target("user", user.id);
    audit::record(state, caller, [entry]).await;
    Ok(())
}

/// An owner or manager turns another account's MFA off (a lost phone); its
/// owner enrols again.
pub async fn reset(state: &AppState, caller: &Caller, user_id: i64) -> ApiResult<()> {
    let user = super::staff::user(state, caller, user_id).await?;
    super::staff::may_manage(caller, user.role)?;
    state
        .store
        .disable_mfa(caller.restaurant_id, user_id)
        .await?;
    let entry = Entry::new(Action::MfaReset).target("user", user_id);
    audit::record(state, caller, [entry]).await;
    Ok(())
}

/// Is `code` a current TOTP code (not used before) or an unused recovery
/// code of the account? A code accepted here is used up.
async fn accepts(
    state: &AppState,
    r: i64,
    user: &StaffUser,
    slug: &str,
    secret: &str,
    code: &str,
) -> ApiResult<bool> {
    let code = code.trim();
    let now = state.clock.now_ms();
    if code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit()) {
        return match step_of(&totp(secret, &user.email, slug)?, code, now) {
            Some(step) => Ok(state.store.use_mfa_step(r, user.id, step).await?),
            None => Ok(false),
        };
    }
    Ok(state
        .store
        .use_recovery_code(r, user.id, &recovery_hash(code), now)
        .await?)
}

async fn refuse_when_locked(state: &AppState, r: i64, email: &str) -> ApiResult<()> {
    let now = state.clock.now_ms();
    match state
        .store
        .login_lock(LoginKey::Restaurant(r), email, now)
        .await?
    {
        Some(until) => Err(super::credentials::locked(until)),
        None => Ok(()),
    }
}

/// Counts a wrong code like a wrong password; the error to send.
async fn wrong_code(state: &AppState, r: i64, email: &str) -> ApiError {
    match super::credentials::count_failure(state, LoginKey::Restaurant(r), email)
        .await
        .map(|lock| lock.locked_until)
    {
        Ok(Some(until)) => super::credentials::locked(until),
        Ok(None) => ApiError::invalid_field("code", "mfa", "the code is wrong or was used already"),
        Err(e) => e,
    }
}

/// At login, after the password: the second factor if the account has MFA.
/// `Ok(true)` when MFA is on (and the code was right).
pub(super) async fn second_factor(
    state: &AppState,
    restaurant: &restohub_protocol::api::restaurant::Restaurant,
    user: &StaffUser,
    otp: Option<&str>,
    client: Option<std::net::IpAddr>,
) -> ApiResult<bool> {
    let Some(mfa) = state.store.mfa_state(restaurant.id, user.id).await? else {
        return Err(ApiError::unauthorized(
            "invalid restaurant, email or password",
        ));
    };
    let Some(secret) = mfa.secret else {
        return Ok(false);
    };
    let Some(otp) = otp else {
        return Err(ApiError::new(
            ErrorCode::MfaRequired,
            "this account uses MFA: send the login again with `otp`",
        ));
    };
    if accepts(state, restaurant.id, user, &restaurant.slug, &secret, otp).await? {
        return Ok(true);
    }
    let lock =
        super::credentials::count_failure(state, LoginKey::Restaurant(restaurant.id), &user.email)
            .await?;
    let entries = audit::login_failed(&user.email, Some(user.id), &lock);
    audit::record(
        state,
        audit::Actor::anonymous(restaurant.id, client),
        entries,
    )
    .await;
    Err(match lock.locked_until {
        Some(until) => super::credentials::locked(until),
        None => ApiError::unauthorized("invalid MFA code"),
    })
}

/// Must this account enrol before anything else? (Its restaurant requires
/// MFA of owners and managers, and it has none.)
pub(super) async fn setup_required(
    state: &AppState,
    restaurant_id: i64,
    user: &StaffUser,
) -> ApiResult<bool> {
    if !user.role.is_manager() {
        return Ok(false);
    }
    let required = state
        .store
        .restaurant(restaurant_id)
        .await?
        .is_some_and(|r| r.require_mfa);
    if !required {
        return Ok(false);
    }
    let enabled = state
        .store
        .mfa_state(restaurant_id, user.id)
        .await?
        .is_some_and(|m| m.secret.is_some());
    Ok(!enabled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_the_neighbouring_steps_are_accepted_and_no_others() {
        let secret = Secret::generate_secret().to_encoded().to_string();
        let t = totp(&secret, "a@b.test", "bistro").unwrap();
        let now_ms = 1_800_000_000_000;
        let step = now_ms / 1000 / 30;
        for delta in -1..=1 {
            let code = t.generate(((step + delta) * 30) as u64);
            assert_eq!(step_of(&t, &code, now_ms), Some(step + delta));
        }
        let far = t.generate(((step + 5) * 30) as u64);
        assert_eq!(step_of(&t, &far, now_ms), None);
        assert_eq!(step_of(&t, "12345", now_ms), None);
    }

    #[test]
    fn recovery_codes_match_however_they_are_typed() {
        assert_eq!(recovery_hash("ABCDE-FGH23"), recovery_hash(" abcde fgh23 "));
        assert_ne!(recovery_hash("ABCDE-FGH23"), recovery_hash("ABCDE-FGH24"));
    }
}
