//! The audit trail: who did what to which, from where, with the changed
//! fields before and after — for logins and lockouts, staff and roles,
//! prices, stock and 86ing, voids, cancellations, manual closes and the
//! restaurant's settings. Reading it ([`entries`]), checking its hash
//! chains ([`verify`]), and recording ([`record`], [`drafts`]).
//!
//! **When an entry is written.** Money and stock actions record their
//! entries in the same transaction as the change: the order lifecycle
//! (voids, cancellations, closes; [`crate::storage::OrderChangePlan::audit`])
//! and menu item changes (price, stock, availability). Those changes
//! already run as one transaction that decides under a row lock, so the
//! entry commits with the change or not at all — a voided line can never
//! lack its entry, and a refused void leaves none. Logins, lockouts,
//! unlocks, staff and settings changes are recorded right after their
//! write commits, by [`record`] in a transaction of its own: those writes
//! are single statements in storage functions that take no plan (or, for a
//! failed login, the lockout counter), and threading an entry through each
//! would widen all of them for actions that move no money or stock. The
//! cost is a window: if the process dies or the database fails between the
//! two commits, that action has no entry. A failed append is logged at
//! error level with the entry (never silently dropped) and the request
//! still succeeds, because the action itself happened: answering with an
//! error would make the client repeat it. Every future money action (comps,
//! refunds, payments) belongs in the first group: draft its entries with
//! [`drafts`] inside its transaction.
//!
//! What is never recorded: passwords or their hashes, tokens, guest codes.
//! Text a client sent (an email tried at login) is kept as sent, with NUL
//! characters replaced (PostgreSQL text cannot hold them).

use std::net::IpAddr;

use restohub_protocol::api::audit::{AuditEntry, AuditQuery};
use restohub_protocol::{Role, Timestamp};
use serde_json::{json, Value};

use super::access::Operation;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{AuditDraft, AuditFilter, AuditRow, LoginLock, PageQuery};

pub use restohub_protocol::api::audit::AuditAction as Action;
pub use verify::{verify, Broken, Verified};

mod verify;

/// Who acted, for which restaurant, from which address.
#[derive(Debug, Clone)]
pub struct Actor {
    pub restaurant_id: i64,
    /// The token subject; `None` when nobody is authenticated.
    pub subject: Option<String>,
    pub role: Option<Role>,
    pub client: Option<IpAddr>,
}

impl Actor {
    /// Nobody authenticated (a failed login) at `restaurant_id`.
    pub fn anonymous(restaurant_id: i64, client: Option<IpAddr>) -> Actor {
        Actor {
            restaurant_id,
            subject: None,
            role: None,
            client,
        }
    }

    /// The staff account `user_id` of `restaurant_id` with `role`.
    pub fn user(restaurant_id: i64, user_id: i64, role: Role, client: Option<IpAddr>) -> Actor {
        Actor {
            restaurant_id,
            subject: Some(format!("user:{user_id}")),
            role: Some(role),
            client,
        }
    }
}

impl From<&Caller> for Actor {
    fn from(caller: &Caller) -> Actor {
        Actor {
            restaurant_id: caller.restaurant_id,
            subject: Some(caller.subject.clone()),
            role: Some(caller.role),
            client: caller.client,
        }
    }
}

/// One entry to record: the action, what it was done to, the changed
/// fields before and after, and why.
#[derive(Debug, Clone)]
pub struct Entry {
    action: Action,
    target: Option<String>,
    before: Option<Value>,
    after: Option<Value>,
    reason: Option<String>,
}

impl Entry {
    pub fn new(action: Action) -> Entry {
        Entry {
            action,
            target: None,
            before: None,
            after: None,
            reason: None,
        }
    }

    /// What it was done to: `kind:id` (`user:5`, `order:9`).
    pub fn target(mut self, kind: &str, id: i64) -> Entry {
        self.target = Some(format!("{kind}:{id}"));
        self
    }

    pub fn before(mut self, fields: Value) -> Entry {
        self.before = Some(fields);
        self
    }

    pub fn after(mut self, fields: Value) -> Entry {
        self.after = Some(fields);
        self
    }

    /// The entry with the fields that differ, each `(name, before, after)`,
    /// as its before and after; `None` when none differs.
    pub fn changed<'a>(
        self,
        fields: impl IntoIterator<Item = (&'a str, Value, Value)>,
    ) -> Option<Entry> {
        let (mut before, mut after) = (serde_json::Map::new(), serde_json::Map::new());
        for (name, was, now) in fields {
            if was != now {
                before.insert(name.to_owned(), was);
                after.insert(name.to_owned(), now);
            }
        }
        (!before.is_empty()).then(|| self.before(before.into()).after(after.into()))
    }

    pub fn reason(mut self, why: impl Into<String>) -> Entry {
        self.reason = Some(why.into());
        self
    }

    pub fn action(&self) -> Action {
        self.action
    }

    /// The entry as storage keeps it, done by `actor` at `at`.
    fn draft(self, actor: &Actor, at: i64) -> AuditDraft {
        AuditDraft {
            at,
            action: self.action.as_str().to_owned(),
            actor: actor.subject.as_deref().map(clean),
            actor_role: actor.role.map(|r| r.as_str().to_owned()),
            client_address: actor.client.map(|ip| ip.to_string()),
            target: self.target.as_deref().map(clean),
            // JSON text escapes NUL, so it never reaches the database raw.
            before_json: self.before.map(|v| v.to_string()),
            after_json: self.after.map(|v| v.to_string()),
            reason: self.reason.as_deref().map(clean),
        }
    }
}

/// Text as the database can hold it.
fn clean(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// `entries` as storage keeps them, for a transaction that writes them
/// with its change (see the module docs).
pub fn drafts(actor: &Actor, at: i64, entries: impl IntoIterator<Item = Entry>) -> Vec<AuditDraft> {
    entries.into_iter().map(|e| e.draft(actor, at)).collect()
}

/// Records `entries` now, right after the action they describe committed
/// (see the module docs). Never fails the caller: a failed append is
/// logged at error level with the entries.
pub async fn record(
    state: &AppState,
    actor: impl Into<Actor>,
    entries: impl IntoIterator<Item = Entry>,
) {
    let actor = actor.into();
    let drafts = drafts(&actor, state.clock.now_ms(), entries);
    if let Err(e) = state.store.append_audit(actor.restaurant_id, &drafts).await {
        tracing::error!(
            error = %e,
            restaurant = actor.restaurant_id,
            entries = ?drafts,
            "cannot append to the audit trail; these entries are lost"
        );
    }
}

/// A failed login with `email` (an account's, `user_id`, or none), and the
/// lock it set, if it set one.
pub fn login_failed(email: &str, user_id: Option<i64>, lock: &LoginLock) -> Vec<Entry> {
    let on_account = |entry: Entry| match user_id {
        Some(id) => entry.target("user", id),
        None => entry,
    };
    let failed =
        Entry::new(Action::LoginFailed).after(json!({ "email": email, "failures": lock.failures }));
    let mut entries = vec![on_account(failed)];
    if let Some(until) = lock.locked_until {
        let locked = Entry::new(Action::AccountLocked)
            .after(json!({ "email": email, "locked_until": Timestamp(until) }))
            .reason(format!("{} failed logins in a row", lock.failures));
        entries.push(on_account(locked));
    }
    entries
}

/// The account `user_id` logged in (the actor is the account).
pub fn login_succeeded(user_id: i64) -> Entry {
    Entry::new(Action::LoginSucceeded).target("user", user_id)
}

/// One page of the caller's restaurant's trail, filtered.
pub async fn entries(
    state: &AppState,
    caller: &Caller,
    query: &AuditQuery,
    page: PageQuery,
) -> ApiResult<Vec<AuditEntry>> {
    caller.may(Operation::ReadAudit)?;
    let filter = filter(query)?;
    let rows = state
        .store
        .audit_entries(caller.restaurant_id, &filter, page)
        .await?;
    Ok(rows
        .into_iter()
        .map(AuditRow::into_entry)
        .collect::<sqlx::Result<_>>()?)
}

/// The longest actor subject (`guest:` and a UUID is 42).
const MAX_ACTOR: usize = 64;

fn filter(query: &AuditQuery) -> ApiResult<AuditFilter> {
    if let Some(actor) = &query.actor {
        let well_formed = actor.split_once(':').is_some_and(|(kind, id)| {
            matches!(kind, "user" | "guest")
                && !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        if !well_formed || actor.len() > MAX_ACTOR {
            return Err(ApiError::invalid_field(
                "actor",
                "format",
                "must be a token subject such as user:12",
            ));
        }
    }
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if to <= from {
            return Err(ApiError::invalid_field("to", "range", "must be after from"));
        }
    }
    Ok(AuditFilter {
        action: query.action.map(|a| a.as_str().to_owned()),
        actor: query.actor.clone(),
        from: query.from.map(Timestamp::millis),
        to: query.to.map(Timestamp::millis),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(actor: Option<&str>, from: Option<i64>, to: Option<i64>) -> AuditQuery {
        AuditQuery {
            actor: actor.map(str::to_owned),
            from: from.map(Timestamp),
            to: to.map(Timestamp),
            ..Default::default()
        }
    }

    #[test]
    fn filters_are_checked() {
        assert!(filter(&query(Some("user:12"), None, None)).is_ok());
        assert!(filter(&query(
            Some("guest:0b5c6d3e-8f7a-4b1c-9d2e-3f4a5b6c7d8e"),
            None,
            None
        ))
        .is_ok());
        for bad in ["12", "user:", "admin:1", "user:1\0", "user:1 OR 1=1"] {
            assert!(filter(&query(Some(bad), None, None)).is_err(), "{bad:?}");
        }
        assert!(filter(&query(None, Some(5), Some(6))).is_ok());
        assert!(filter(&query(None, Some(5), Some(5))).is_err());
    }

    #[test]
    fn changed_keeps_only_the_fields_that_differ() {
        let entry = Entry::new(Action::StaffUpdated)
            .changed([
                ("name", json!("Ann"), json!("Anna")),
                ("email", json!("a@x.test"), json!("a@x.test")),
            ])
            .unwrap();
        assert_eq!(entry.before, Some(json!({ "name": "Ann" })));
        assert_eq!(entry.after, Some(json!({ "name": "Anna" })));
        let same = Entry::new(Action::StaffUpdated).changed([("name", json!(1), json!(1))]);
        assert!(same.is_none());
    }

    #[test]
    fn drafts_never_carry_nul() {
        let actor = Actor::anonymous(1, None);
        let entry = Entry::new(Action::LoginFailed)
            .after(serde_json::json!({ "email": "a\0b" }))
            .reason("x\0y");
        let draft = entry.draft(&actor, 7);
        assert_eq!(draft.after_json.as_deref(), Some(r#"{"email":"a\u0000b"}"#));
        assert_eq!(draft.reason.as_deref(), Some("x\u{FFFD}y"));
        assert_eq!(draft.action, "login.failed");
        assert_eq!(draft.actor, None);
    }
}
