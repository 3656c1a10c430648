//! The audit trail as stored: each restaurant's entries in one hash chain,
//! appended under a lock on the restaurant's chain head, read back in
//! chain order, and pruned from the oldest end.
//!
//! An entry's `hash` is SHA-256 (lower-case hex) over `prev_hash` and the
//! entry's own fields in a canonical encoding ([`AuditRow::computed_hash`]),
//! so changing, inserting or removing a stored entry breaks the chain from
//! there on. The head row (`audit_heads`) holds the last seq and hash: an
//! append takes it with `INSERT … ON CONFLICT DO UPDATE … RETURNING`, which
//! creates it for the first entry and otherwise row-locks it until commit,
//! so concurrent appends of one restaurant, on any instance, queue there and
//! the chain never forks (SQLite has one writer anyway). Appends run inside
//! the caller's transaction ([`AppendAudit`]) or in their own
//! ([`Store::append_audit`]); which one an action uses is the application's
//! call. This module decides nothing about what is recorded.

use restohub_protocol::api::audit::{AuditAction, AuditEntry};
use restohub_protocol::{Role, Timestamp};
use sha2::{Digest, Sha256};

use super::{corrupt, decoded, BeginWrite, PageQuery, Store};

/// The `prev_hash` of a restaurant's first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry before it has a place in the chain. `before_json` and
/// `after_json` are JSON text, stored and hashed exactly as given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditDraft {
    pub at: i64,
    pub action: String,
    pub actor: Option<String>,
    pub actor_role: Option<String>,
    pub client_address: Option<String>,
    pub target: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub reason: Option<String>,
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditRow {
    pub restaurant_id: i64,
    /// 1, 2, 3, … in the restaurant's chain.
    pub seq: i64,
    pub at: i64,
    pub action: String,
    pub actor: Option<String>,
    pub actor_role: Option<String>,
    pub client_address: Option<String>,
    pub target: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub reason: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// A restaurant's chain head: its last entry, and how far retention has
/// pruned (the oldest entry kept has seq `pruned_through + 1`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditHead {
    pub restaurant_id: i64,
    pub seq: i64,
    pub hash: String,
    pub pruned_through: i64,
}

/// Which entries to list; every filter optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor: Option<String>,
    /// `at >= from`.
    pub from: Option<i64>,
    /// `at < to`.
    pub to: Option<i64>,
}

/// The fields the hash covers, in their order.
struct Hashed<'a> {
    prev_hash: &'a str,
    restaurant_id: i64,
    seq: i64,
    at: i64,
    action: &'a str,
    optional: [&'a Option<String>; 7],
}

impl Hashed<'_> {
    /// SHA-256 over a versioned tag and each field as `<byte length>:<bytes>`
    /// (numbers as decimal text), an absent field as `-`: no two different
    /// entries encode alike, whatever their text contains.
    fn digest(&self) -> String {
        let mut sha = Sha256::new();
        let mut field = |bytes: Option<&[u8]>| match bytes {
            Some(b) => {
                sha.update(b.len().to_string().as_bytes());
                sha.update(b":");
                sha.update(b);
            }
            None => sha.update(b"-"),
        };
        field(Some(b"restohub-audit-v1"));
        field(Some(self.prev_hash.as_bytes()));
        for n in [self.restaurant_id, self.seq, self.at] {
            field(Some(n.to_string().as_bytes()));
        }
        field(Some(self.action.as_bytes()));
        for text in self.optional {
            field(text.as_deref().map(str::as_bytes));
        }
        sha.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl AuditRow {
    /// `draft` as entry `seq` of `restaurant`, chained after `prev_hash`.
    fn chained(restaurant: i64, seq: i64, prev_hash: &str, draft: &AuditDraft) -> AuditRow {
        let mut row = AuditRow {
            restaurant_id: restaurant,
            seq,
            at: draft.at,
            action: draft.action.clone(),
            actor: draft.actor.clone(),
            actor_role: draft.actor_role.clone(),
            client_address: draft.client_address.clone(),
            target: draft.target.clone(),
            before_json: draft.before_json.clone(),
            after_json: draft.after_json.clone(),
            reason: draft.reason.clone(),
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        row.hash = row.computed_hash();
        row
    }

    /// The entry as the API sends it. A stored value that cannot be read
    /// back is an error naming the entry.
    pub fn into_entry(self) -> sqlx::Result<AuditEntry> {
        let row = format!(
            "audit entry {} of restaurant {}",
            self.seq, self.restaurant_id
        );
        let what = || row.clone();
        let action = AuditAction::parse(&self.action).ok_or_else(|| {
            corrupt(
                what(),
                "action",
                format!("unknown action {:?}", self.action),
            )
        })?;
        let actor_role = match self.actor_role.as_deref() {
            None => None,
            Some(r) => Some(
                Role::parse(r)
                    .ok_or_else(|| corrupt(what(), "actor_role", format!("unknown role {r:?}")))?,
            ),
        };
        let json = |text: Option<String>, column: &str| {
            text.map(|t| decoded::<serde_json::Value>(&t, column, what))
                .transpose()
        };
        Ok(AuditEntry {
            seq: self.seq,
            at: Timestamp(self.at),
            action,
            actor: self.actor,
            actor_role,
            client_address: self.client_address,
            target: self.target,
            before: json(self.before_json, "before_json")?,
            after: json(self.after_json, "after_json")?,
            reason: self.reason,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }

    /// The hash this entry's stored fields give: equal to `hash` unless the
    /// entry was changed after it was written.
    pub fn computed_hash(&self) -> String {
        Hashed {
            prev_hash: &self.prev_hash,
            restaurant_id: self.restaurant_id,
            seq: self.seq,
            at: self.at,
            action: &self.action,
            optional: [
                &self.actor,
                &self.actor_role,
                &self.client_address,
                &self.target,
                &self.before_json,
                &self.after_json,
                &self.reason,
            ],
        }
        .digest()
    }
}

const ROW_COLS: &str = "restaurant_id, seq, at, action, actor, actor_role, client_address, \
                        target, before_json, after_json, reason, prev_hash, hash";

/// Creates the head at the genesis hash, or locks it until commit; returns
/// the last seq and hash either way.
const TAKE_HEAD: &str = "INSERT INTO audit_heads (restaurant_id, seq, hash) VALUES ($1, 0, $2) \
                         ON CONFLICT (restaurant_id) DO UPDATE SET seq = audit_heads.seq \
                         RETURNING seq, hash";
const INSERT_ROW: &str = "INSERT INTO audit_log (restaurant_id, seq, at, action, actor, \
                          actor_role, client_address, target, before_json, after_json, reason, \
                          prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
                          $12, $13)";
const MOVE_HEAD: &str = "UPDATE audit_heads SET seq = $2, hash = $3 WHERE restaurant_id = $1";

/// Appending to a restaurant's chain inside an open transaction, whichever
/// the backend. The head stays locked until that transaction ends, so keep
/// the append late in it (after the statements that take other locks, and
/// before the event seq, which every placement waits for).
pub(crate) trait AppendAudit {
    async fn append_audit(
        &mut self,
        restaurant: i64,
        drafts: &[AuditDraft],
    ) -> sqlx::Result<Vec<AuditRow>>;
}

/// The same statements on both connection types.
macro_rules! append_audit_on {
    ($conn:ty) => {
        impl AppendAudit for $conn {
            async fn append_audit(
                &mut self,
                restaurant: i64,
                drafts: &[AuditDraft],
            ) -> sqlx::Result<Vec<AuditRow>> {
                if drafts.is_empty() {
                    return Ok(Vec::new());
                }
                let (mut seq, mut hash): (i64, String) = sqlx::query_as(TAKE_HEAD)
                    .bind(restaurant)
                    .bind(GENESIS_HASH)
                    .fetch_one(&mut *self)
                    .await?;
                let mut rows = Vec::with_capacity(drafts.len());
                for draft in drafts {
                    let row = AuditRow::chained(restaurant, seq + 1, &hash, draft);
                    sqlx::query(INSERT_ROW)
                        .bind(row.restaurant_id)
                        .bind(row.seq)
                        .bind(row.at)
                        .bind(&row.action)
                        .bind(&row.actor)
                        .bind(&row.actor_role)
                        .bind(&row.client_address)
                        .bind(&row.target)
                        .bind(&row.before_json)
                        .bind(&row.after_json)
                        .bind(&row.reason)
                        .bind(&row.prev_hash)
                        .bind(&row.hash)
                        .execute(&mut *self)
                        .await?;
                    (seq, hash) = (row.seq, row.hash.clone());
                    rows.push(row);
                }
                sqlx::query(MOVE_HEAD)
                    .bind(restaurant)
                    .bind(seq)
                    .bind(&hash)
                    .execute(&mut *self)
                    .await?;
                Ok(rows)
            }
        }
    };
}

append_audit_on!(sqlx::SqliteConnection);
append_audit_on!(sqlx::PgConnection);

impl Store {
    /// Appends `drafts` to `restaurant`'s chain in a transaction of their own.
    pub async fn append_audit(
        &self,
        restaurant: i64,
        drafts: &[AuditDraft],
    ) -> sqlx::Result<Vec<AuditRow>> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let rows = tx.append_audit(restaurant, drafts).await?;
            tx.commit().await?;
            Ok(rows)
        })
    }

    /// `restaurant`'s entries with seq after `page.after` that pass
    /// `filter`, in chain order, at most `page.limit`.
    pub async fn audit_entries(
        &self,
        restaurant: i64,
        filter: &AuditFilter,
        page: PageQuery,
    ) -> sqlx::Result<Vec<AuditRow>> {
        let sql = format!(
            "SELECT {ROW_COLS} FROM audit_log WHERE restaurant_id = $1 AND seq > $2 \
             AND ($3 IS NULL OR action = $3) AND ($4 IS NULL OR actor = $4) \
             AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6) \
             ORDER BY seq LIMIT $7"
        );
        on_db!(self, |pool| sqlx::query_as(&sql)
            .bind(restaurant)
            .bind(page.after)
            .bind(&filter.action)
            .bind(&filter.actor)
            .bind(filter.from)
            .bind(filter.to)
            .bind(page.limit)
            .fetch_all(pool)
            .await)
    }

    /// Every restaurant's chain head, by restaurant id.
    pub async fn audit_heads(&self) -> sqlx::Result<Vec<AuditHead>> {
        on_db!(self, |pool| sqlx::query_as(
            "SELECT restaurant_id, seq, hash, pruned_through FROM audit_heads \
             ORDER BY restaurant_id"
        )
        .fetch_all(pool)
        .await)
    }

    /// Retention: deletes each restaurant's entries up to the last one
    /// written before `before` (ms), always a prefix of the chain (an entry
    /// with an earlier time behind a later one goes with it), and records
    /// the last seq deleted in the head. Returns the entries deleted.
    pub async fn prune_audit(&self, before: i64) -> sqlx::Result<u64> {
        let heads = self.audit_heads().await?;
        let mut deleted = 0;
        for head in heads {
            let through: Option<i64> = on_db!(self, |pool| sqlx::query_scalar(
                "SELECT MAX(seq) FROM audit_log WHERE restaurant_id = $1 AND at < $2"
            )
            .bind(head.restaurant_id)
            .bind(before)
            .fetch_one(pool)
            .await)?;
            let Some(through) = through.filter(|&s| s > head.pruned_through) else {
                continue;
            };
            deleted += on_writer!(self, |pool| {
                let mut tx = pool.begin_write().await?;
                sqlx::query(
                    "UPDATE audit_heads SET pruned_through = $2 WHERE restaurant_id = $1 \
                     AND pruned_through < $2",
                )
                .bind(head.restaurant_id)
                .bind(through)
                .execute(&mut *tx)
                .await?;
                let gone =
                    sqlx::query("DELETE FROM audit_log WHERE restaurant_id = $1 AND seq <= $2")
                        .bind(head.restaurant_id)
                        .bind(through)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                tx.commit().await?;
                Ok::<_, sqlx::Error>(gone)
            })?;
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> AuditDraft {
        AuditDraft {
            at: 5,
            action: "menu.price_changed".into(),
            actor: Some("user:1".into()),
            before_json: Some(r#"{"price_cents":900}"#.into()),
            after_json: Some(r#"{"price_cents":1000}"#.into()),
            ..Default::default()
        }
    }

    #[test]
    fn every_field_is_in_the_hash() {
        let row = AuditRow::chained(1, 1, GENESIS_HASH, &draft());
        assert_eq!(row.hash.len(), 64);
        assert_eq!(row.hash, row.computed_hash());
        let changes: [fn(&mut AuditRow); 13] = [
            |r| r.restaurant_id = 2,
            |r| r.seq = 2,
            |r| r.at = 6,
            |r| r.action = "menu.stock_changed".into(),
            |r| r.actor = None,
            |r| r.actor_role = Some("owner".into()),
            |r| r.client_address = Some("10.0.0.1".into()),
            |r| r.target = Some("menu_item:1".into()),
            |r| r.before_json = None,
            |r| r.after_json = Some(r#"{"price_cents":1}"#.into()),
            |r| r.reason = Some("".into()),
            |r| r.prev_hash = "1".repeat(64),
            |r| r.hash = "changed".into(),
        ];
        for change in changes {
            let mut altered = row.clone();
            change(&mut altered);
            assert_ne!(altered.computed_hash(), altered.hash, "{altered:?}");
        }
    }

    #[test]
    fn absent_and_empty_and_shifted_text_differ() {
        let a = AuditRow::chained(1, 1, GENESIS_HASH, &draft());
        // The same bytes split differently between two fields.
        let mut b = draft();
        b.actor = Some("user:".into());
        b.actor_role = Some("1".into());
        let mut c = draft();
        c.actor = Some("user:1".into());
        c.actor_role = Some(String::new());
        let b = AuditRow::chained(1, 1, GENESIS_HASH, &b);
        let c = AuditRow::chained(1, 1, GENESIS_HASH, &c);
        assert_ne!(a.hash, b.hash);
        assert_ne!(a.hash, c.hash);
        assert_ne!(b.hash, c.hash);
    }
}
