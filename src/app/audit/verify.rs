//! `restohub audit verify`: walks every restaurant's chain from its oldest
//! kept entry to its head and names the first entry that does not hold.
//! Reads only; never repairs anything.

use restohub_protocol::Timestamp;

use crate::storage::{AuditFilter, AuditHead, AuditRow, PageQuery, Store, GENESIS_HASH};

/// What [`verify`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub restaurants: usize,
    pub entries: u64,
    /// Restaurants whose oldest entries were pruned by retention: their
    /// oldest kept entry's `prev_hash` is trusted as stored.
    pub pruned: usize,
}

/// The first entry at which a chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("restaurant {restaurant_id}, audit entry {seq}: {problem}")]
pub struct Broken {
    pub restaurant_id: i64,
    pub seq: i64,
    pub problem: String,
}

/// Entries read per query while verifying.
const VERIFY_BATCH: i64 = 1000;

/// Checks every restaurant's chain from its oldest kept entry to its head:
/// seqs without gaps from the one after the pruned ones, each entry's hash
/// over its own fields, each `prev_hash` the entry before's hash (the
/// genesis hash for entry 1), and the last entry matching the head. The
/// oldest kept entry's `prev_hash` is trusted once its predecessor is
/// pruned. `Err(Broken)` names the first entry that fails; a database
/// error is the outer error.
pub async fn verify(store: &Store) -> sqlx::Result<Result<Verified, Broken>> {
    let heads = store.audit_heads().await?;
    let mut checked = Verified {
        restaurants: heads.len(),
        entries: 0,
        pruned: 0,
    };
    for head in heads {
        if head.pruned_through > 0 {
            checked.pruned += 1;
        }
        let mut walk = Walk::from(&head);
        loop {
            let page = PageQuery {
                after: walk.next - 1,
                limit: VERIFY_BATCH,
            };
            let rows = store
                .audit_entries(head.restaurant_id, &AuditFilter::default(), page)
                .await?;
            let done = (rows.len() as i64) < VERIFY_BATCH;
            for row in rows {
                if let Err(broken) = walk.step(row) {
                    return Ok(Err(broken));
                }
            }
            if done {
                break;
            }
        }
        match walk.end(&head) {
            Ok(entries) => checked.entries += entries,
            Err(broken) => return Ok(Err(broken)),
        }
    }
    Ok(Ok(checked))
}

/// One chain, checked entry by entry in seq order.
struct Walk {
    restaurant_id: i64,
    /// The seq the next entry must have.
    next: i64,
    /// The hash the next entry must chain from; `None` for the oldest kept
    /// entry after pruning, whose `prev_hash` is trusted.
    prev_hash: Option<String>,
    checked: u64,
}

impl Walk {
    fn from(head: &AuditHead) -> Walk {
        let next = head.pruned_through + 1;
        Walk {
            restaurant_id: head.restaurant_id,
            next,
            prev_hash: (next == 1).then(|| GENESIS_HASH.to_owned()),
            checked: 0,
        }
    }

    fn broken(&self, seq: i64, problem: String) -> Broken {
        Broken {
            restaurant_id: self.restaurant_id,
            seq,
            problem,
        }
    }

    /// The next stored entry.
    fn step(&mut self, row: AuditRow) -> Result<(), Broken> {
        let what = format!("{} at {}", row.action, Timestamp(row.at).to_rfc3339());
        if row.seq != self.next {
            return Err(self.broken(self.next, missing(self.next, row.seq - 1)));
        }
        if self.prev_hash.as_ref().is_some_and(|h| *h != row.prev_hash) {
            let problem = if row.seq == 1 {
                format!("{what} does not start from the genesis hash")
            } else {
                format!(
                    "{what} does not follow entry {}: its prev_hash is not that entry's hash \
                     (one of the two was altered or replaced)",
                    row.seq - 1
                )
            };
            return Err(self.broken(row.seq, problem));
        }
        if row.computed_hash() != row.hash {
            let problem = format!("{what} was altered: its hash does not match its fields");
            return Err(self.broken(row.seq, problem));
        }
        self.prev_hash = Some(row.hash);
        self.next += 1;
        self.checked += 1;
        Ok(())
    }

    /// After the last stored entry: the chain must end where its head says.
    /// Returns the entries checked.
    fn end(self, head: &AuditHead) -> Result<u64, Broken> {
        let last = self.next - 1;
        if last != head.seq {
            let problem = format!(
                "{} (the chain head is at {})",
                missing(self.next, head.seq),
                head.seq
            );
            return Err(self.broken(self.next, problem));
        }
        if self.checked > 0 && self.prev_hash.as_deref() != Some(head.hash.as_str()) {
            let problem = "its hash is not the chain head's".to_owned();
            return Err(self.broken(last, problem));
        }
        Ok(self.checked)
    }
}

fn missing(from: i64, to: i64) -> String {
    if from == to {
        format!("entry {from} is missing")
    } else {
        format!("entries {from} to {to} are missing")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain of `n` well-formed entries and its head.
    fn chain(n: i64) -> (Vec<AuditRow>, AuditHead) {
        let mut rows: Vec<AuditRow> = Vec::new();
        for seq in 1..=n {
            let mut row = AuditRow {
                restaurant_id: 7,
                seq,
                at: seq * 1000,
                action: "login.failed".into(),
                actor: None,
                actor_role: None,
                client_address: Some("192.0.2.1".into()),
                target: None,
                before_json: None,
                after_json: Some(format!(r#"{{"failures":{seq}}}"#)),
                reason: None,
                prev_hash: rows
                    .last()
                    .map_or(GENESIS_HASH.to_owned(), |r| r.hash.clone()),
                hash: String::new(),
            };
            row.hash = row.computed_hash();
            rows.push(row);
        }
        let head = AuditHead {
            restaurant_id: 7,
            seq: n,
            hash: rows.last().map(|r| r.hash.clone()).unwrap_or_default(),
            pruned_through: 0,
        };
        (rows, head)
    }

    fn walk(rows: Vec<AuditRow>, head: &AuditHead) -> Result<u64, Broken> {
        let mut walk = Walk::from(head);
        for row in rows {
            walk.step(row)?;
        }
        walk.end(head)
    }

    fn broken_at(result: Result<u64, Broken>) -> (i64, String) {
        let broken = result.unwrap_err();
        assert_eq!(broken.restaurant_id, 7);
        (broken.seq, broken.problem)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let (rows, head) = chain(4);
        assert_eq!(walk(rows, &head), Ok(4));
    }

    #[test]
    fn an_altered_entry_is_named() {
        let (mut rows, head) = chain(4);
        rows[1].after_json = Some(r#"{"failures":0}"#.into());
        let (seq, problem) = broken_at(walk(rows, &head));
        assert_eq!(seq, 2);
        assert!(problem.contains("was altered"), "{problem}");
    }

    #[test]
    fn an_entry_rewritten_with_a_fresh_hash_breaks_the_next_link() {
        let (mut rows, head) = chain(4);
        rows[1].reason = Some("nothing happened".into());
        rows[1].hash = rows[1].computed_hash();
        let (seq, problem) = broken_at(walk(rows, &head));
        assert_eq!(seq, 3);
        assert!(problem.contains("does not follow entry 2"), "{problem}");
    }

    #[test]
    fn missing_entries_are_named_at_either_end_and_between() {
        let (mut rows, head) = chain(4);
        rows.remove(1);
        assert_eq!(broken_at(walk(rows, &head)).0, 2);
        let (mut rows, head) = chain(4);
        rows.pop();
        let (seq, problem) = broken_at(walk(rows, &head));
        assert_eq!(seq, 4);
        assert!(problem.contains("chain head is at 4"), "{problem}");
        let (mut rows, head) = chain(4);
        rows.remove(0);
        let (seq, problem) = broken_at(walk(rows, &head));
        assert_eq!((seq, problem.as_str()), (1, "entry 1 is missing"));
    }

    #[test]
    fn a_forged_first_entry_and_a_swapped_head_are_caught() {
        let (mut rows, head) = chain(2);
        rows[0].prev_hash = "f".repeat(64);
        rows[0].hash = rows[0].computed_hash();
        let (seq, problem) = broken_at(walk(rows, &head));
        assert_eq!(seq, 1);
        assert!(problem.contains("genesis"), "{problem}");
        let (rows, mut head) = chain(2);
        head.hash = "0".repeat(64);
        assert_eq!(broken_at(walk(rows, &head)).0, 2);
    }

    #[test]
    fn after_pruning_the_oldest_kept_entry_is_trusted_but_must_follow_the_pruned_ones() {
        let (rows, mut head) = chain(5);
        head.pruned_through = 2;
        let kept: Vec<AuditRow> = rows[2..].to_vec();
        assert_eq!(walk(kept.clone(), &head), Ok(3));
        assert_eq!(broken_at(walk(kept[1..].to_vec(), &head)).0, 3);
        // Everything pruned: nothing to check, nothing missing.
        head.pruned_through = 5;
        assert_eq!(walk(Vec::new(), &head), Ok(0));
    }
}
