//! Which access tokens no longer count, before they expire.
//!
//! A staff token names its account's session version and its login session
//! (the refresh-token family); a guest token names its table's visit. A
//! revocation ends an account's tokens below a version (role or password
//! changed, account deleted), one login session (logout, a refresh token
//! reused), or a table's guest tokens below a visit (the party left).
//!
//! Revocations are written to storage in the transaction that causes them;
//! every instance tails them into this index (see `app::sessions`), which
//! REST requests and open sockets check without a database read. Entries
//! are forgotten once every token they could end has expired.

use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use tokio::sync::watch;

use super::Caller;

/// What a revocation ends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Revoked {
    /// The account's tokens with a version below `below`.
    Account { user_id: i64, below: i64 },
    /// One login session (refresh-token family) of an account.
    Session { id: String },
    /// The table's guest tokens with a visit below `below`.
    Table { table_id: i64, below: i64 },
}

/// One stored revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub id: i64,
    pub restaurant_id: i64,
    pub revoked: Revoked,
    /// When it was written (ms, the hub's clock).
    pub at: i64,
}

impl Revoked {
    /// The kind, subject and bound as stored.
    pub fn parts(&self) -> (&'static str, String, i64) {
        match self {
            Revoked::Account { user_id, below } => ("account", user_id.to_string(), *below),
            Revoked::Session { id } => ("session", id.clone(), 0),
            Revoked::Table { table_id, below } => ("table", table_id.to_string(), *below),
        }
    }

    /// Back from the stored kind, subject and bound.
    pub fn from_parts(kind: &str, subject: String, below: i64) -> Option<Revoked> {
        match kind {
            "account" => Some(Revoked::Account {
                user_id: subject.parse().ok()?,
                below,
            }),
            "session" => Some(Revoked::Session { id: subject }),
            "table" => Some(Revoked::Table {
                table_id: subject.parse().ok()?,
                below,
            }),
            _ => None,
        }
    }
}

/// The bound and when it was last raised.
#[derive(Debug, Clone, Copy)]
struct Bound {
    below: i64,
    at: i64,
}

/// The revocations this instance knows, by what they end.
pub struct RevocationIndex {
    /// (restaurant, user) → lowest version still valid.
    accounts: DashMap<(i64, i64), Bound>,
    /// Login sessions ended → when.
    sessions: DashMap<String, i64>,
    /// (restaurant, table) → lowest visit still valid.
    tables: DashMap<(i64, i64), Bound>,
    /// Bumped whenever a revocation takes something away, so open sockets
    /// look again at whether they still count.
    changed: watch::Sender<u64>,
    generation: AtomicU64,
    /// Where the tail that fills the index has read to; held while it reads.
    cursor: tokio::sync::Mutex<Cursor>,
}

/// What the tail reads next: rows with an id above `after_id`
/// (`i64::MAX` until it has seen one) or written at `since` or later.
#[derive(Debug)]
pub struct Cursor {
    pub after_id: i64,
    pub since: i64,
}

impl Default for RevocationIndex {
    fn default() -> Self {
        RevocationIndex {
            accounts: DashMap::new(),
            sessions: DashMap::new(),
            tables: DashMap::new(),
            changed: watch::channel(0).0,
            generation: AtomicU64::new(0),
            cursor: tokio::sync::Mutex::new(Cursor {
                after_id: i64::MAX,
                since: i64::MIN,
            }),
        }
    }
}

impl RevocationIndex {
    /// The tail's position (locked while it reads, so reads do not race).
    pub fn cursor(&self) -> &tokio::sync::Mutex<Cursor> {
        &self.cursor
    }

    /// Takes `revocations` in (idempotent: applying one twice changes
    /// nothing) and wakes open sockets if any of them is new.
    pub fn apply(&self, revocations: &[Revocation]) {
        let mut news = false;
        for r in revocations {
            news |= self.apply_one(r);
        }
        if news {
            let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
            self.changed.send_replace(generation);
        }
    }

    fn apply_one(&self, r: &Revocation) -> bool {
        let raise = |map: &DashMap<(i64, i64), Bound>, key: (i64, i64), below: i64| {
            let mut entry = map.entry(key).or_insert(Bound {
                below: i64::MIN,
                at: r.at,
            });
            if below > entry.below {
                *entry = Bound { below, at: r.at };
                true
            } else {
                false
            }
        };
        match &r.revoked {
            Revoked::Account { user_id, below } => {
                raise(&self.accounts, (r.restaurant_id, *user_id), *below)
            }
            Revoked::Table { table_id, below } => {
                raise(&self.tables, (r.restaurant_id, *table_id), *below)
            }
            Revoked::Session { id } => self.sessions.insert(id.clone(), r.at).is_none(),
        }
    }

    /// Does the caller's token still count?
    pub fn admits(&self, caller: &Caller) -> bool {
        let r = caller.restaurant_id;
        let below = |map: &DashMap<(i64, i64), Bound>, key: (i64, i64)| {
            map.get(&key).map_or(i64::MIN, |b| b.below)
        };
        if let Some(session) = &caller.session {
            if self.sessions.contains_key(session) {
                return false;
            }
        }
        match (caller.user_id, caller.table_id) {
            (Some(user), _) => caller.version >= below(&self.accounts, (r, user)),
            (None, Some(table)) => caller.version >= below(&self.tables, (r, table)),
            (None, None) => false,
        }
    }

    /// Resolves when a revocation took something away (for open sockets).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Forgets revocations written before `before` (every token they could
    /// end has expired).
    pub fn forget_before(&self, before: i64) {
        self.accounts.retain(|_, b| b.at >= before);
        self.tables.retain(|_, b| b.at >= before);
        self.sessions.retain(|_, at| *at >= before);
    }
}

#[cfg(test)]
mod tests {
    use restohub_protocol::Role;

    use super::*;

    fn staff(user: i64, version: i64, session: &str) -> Caller {
        Caller {
            restaurant_id: 1,
            role: Role::Waiter,
            user_id: Some(user),
            table_id: None,
            subject: format!("user:{user}"),
            session: Some(session.into()),
            version,
            expires_at: 0,
            mfa_setup: false,
            client: None,
        }
    }

    fn guest(table: i64, visit: i64) -> Caller {
        Caller {
            restaurant_id: 1,
            role: Role::Guest,
            user_id: None,
            table_id: Some(table),
            subject: "guest:x".into(),
            session: None,
            version: visit,
            expires_at: 0,
            mfa_setup: false,
            client: None,
        }
    }

    fn revocation(restaurant_id: i64, revoked: Revoked, at: i64) -> Revocation {
        Revocation {
            id: at,
            restaurant_id,
            revoked,
            at,
        }
    }

    #[test]
    fn an_account_revocation_ends_older_versions_only_in_its_restaurant() {
        let index = RevocationIndex::default();
        let revoked = Revoked::Account {
            user_id: 7,
            below: 3,
        };
        index.apply(&[revocation(1, revoked.clone(), 10)]);
        assert!(!index.admits(&staff(7, 2, "a")));
        assert!(index.admits(&staff(7, 3, "a")));
        assert!(index.admits(&staff(8, 0, "a")));
        let mut elsewhere = staff(7, 2, "a");
        elsewhere.restaurant_id = 2;
        assert!(index.admits(&elsewhere));
        // A lower bound arriving late does not lower it.
        index.apply(&[revocation(
            1,
            Revoked::Account {
                user_id: 7,
                below: 1,
            },
            11,
        )]);
        assert!(!index.admits(&staff(7, 2, "a")));
    }

    #[test]
    fn a_session_revocation_ends_that_session_only() {
        let index = RevocationIndex::default();
        index.apply(&[revocation(1, Revoked::Session { id: "a".into() }, 10)]);
        assert!(!index.admits(&staff(7, 0, "a")));
        assert!(index.admits(&staff(7, 0, "b")));
    }

    #[test]
    fn a_table_revocation_ends_earlier_visits() {
        let index = RevocationIndex::default();
        index.apply(&[revocation(
            1,
            Revoked::Table {
                table_id: 4,
                below: 2,
            },
            10,
        )]);
        assert!(!index.admits(&guest(4, 1)));
        assert!(index.admits(&guest(4, 2)));
        assert!(index.admits(&guest(5, 1)));
    }

    #[test]
    fn sockets_are_woken_only_by_news_and_old_entries_are_forgotten() {
        let index = RevocationIndex::default();
        let mut rx = index.subscribe();
        let r = revocation(1, Revoked::Session { id: "a".into() }, 10);
        index.apply(std::slice::from_ref(&r));
        assert!(rx.has_changed().unwrap());
        rx.mark_unchanged();
        index.apply(&[r]);
        assert!(!rx.has_changed().unwrap());
        index.forget_before(11);
        assert!(index.admits(&staff(7, 0, "a")));
    }

    #[test]
    fn stored_parts_round_trip() {
        for revoked in [
            Revoked::Account {
                user_id: 3,
                below: i64::MAX,
            },
            Revoked::Session { id: "fam".into() },
            Revoked::Table {
                table_id: 9,
                below: 4,
            },
        ] {
            let (kind, subject, below) = revoked.parts();
            assert_eq!(Revoked::from_parts(kind, subject, below), Some(revoked));
        }
        assert_eq!(Revoked::from_parts("account", "x".into(), 1), None);
    }
}
