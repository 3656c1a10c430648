//! A restaurant's placements on PostgreSQL, written together: each
//! placement reads its facts and is decided on its own, then joins its
//! restaurant's queue, and one task per restaurant (per instance) writes
//! what has queued in one transaction, so the orders of a batch share one
//! commit and its WAL flush.
//!
//! Why: every placement of a restaurant serializes on its rows (a hot
//! item's stock, the hour's statistics, the event seq), each held until
//! COMMIT and its flush. With a tracked item, the stock row was held across
//! four round trips and the flush, so one item could not take more than a
//! few hundred orders a second on this box, and acks queued for seconds
//! (BENCHMARKS.md, "Hot item (issue 22)"). In a batch those rows are taken
//! once, and each order adds one statement, its write.
//!
//! A batch, in the order every other writer takes the same rows (so none
//! deadlocks with it): the tracked items all its orders take, locked in
//! item-id order and read ([`LOCK_ITEMS`]); each order's takes checked in
//! queue order against the stock that is left, all of an order's or none
//! (the conditional decrement, done on the locked rows: an order is short
//! only when the stock is); the tables changed, in table-id order; the
//! orders' statistics added up, one statement per business hour; the stock
//! set; then each order's write (seqs, events, order, lines) in queue
//! order, so seqs follow the queue with no gap; COMMIT. An order that is
//! short writes nothing and takes nothing.
//!
//! Only placements that take stock or a table queue: an order of untracked
//! items for an occupied table is one statement that commits on its own
//! and holds no row across round trips, and still runs that way, up to four
//! of a restaurant's at once (its lane) beside the queue's batches.
//!
//! A placement alone in the queue runs as it always did
//! ([`postgres::alone`]). If any statement of a batch fails (a key placed
//! at the same moment by another instance, a lost connection, a deadlock),
//! or its COMMIT does, the batch is rolled back (or its outcome is unknown)
//! and each of its orders is written again on its own: a key that did
//! commit comes back as the existing order, so nothing is written twice.
//! Two orders of one batch with the same key would fail it; the later one
//! waits for the batch and then runs alone, finding the first.
//!
//! Each placement is told its outcome only after the commit that holds its
//! order. The queue's task owns what it writes (the plan is moved into it),
//! so a placement whose caller went away is still written or not as a
//! whole; its events then reach screens from the log (the node's poller).

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use sqlx::{Connection, PgPool};
use tokio::sync::oneshot;

use super::postgres::{self, Queued, Ran, Together};
use super::{PlacementAsk, StockTake};
use crate::stats::Delta;
use crate::storage::{Append, Db, Store};

/// Most orders written in one transaction: each adds a round trip before
/// the commit the first of them waits for too. At 300 orders a second of
/// one hot item batches stay far below it.
const MOST_IN_A_BATCH: usize = 16;

/// Locks the tracked items a batch takes, in item-id order (the order a
/// single placement takes them in), and reads their stock; `FOR NO KEY
/// UPDATE`, the lock its update of their stock takes (see
/// `BeginWrite::FOR_UPDATE`).
const LOCK_ITEMS: &str = "SELECT id, stock, available FROM menu_items WHERE restaurant_id = $1 \
    AND id = ANY($2) ORDER BY id FOR NO KEY UPDATE";
/// Sets the stock the batch's takes left (rows it has locked).
const SET_STOCK: &str = "UPDATE menu_items AS m SET stock = x.stock, available = x.available \
    FROM unnest($2::BIGINT[], $3::BIGINT[], $4::BOOLEAN[]) AS x(id, stock, available) \
    WHERE m.restaurant_id = $1 AND m.id = x.id";

struct Member {
    queued: Queued,
    /// Its events' time, read as it joined the queue (so it follows seq).
    at: i64,
    reply: oneshot::Sender<sqlx::Result<Ran>>,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Member>,
    /// A task is writing this queue.
    serving: bool,
}

/// The restaurants' queues.
#[derive(Default)]
pub(crate) struct Queues(DashMap<i64, Arc<Mutex<Queue>>>);

fn lock(queue: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    queue.lock().unwrap_or_else(|e| e.into_inner())
}

impl Store {
    /// Queues a decided placement of `ask`'s restaurant and waits until the
    /// transaction that writes it has ended.
    pub(super) async fn write_in_turn(
        &self,
        ask: &PlacementAsk<'_>,
        queued: Queued,
    ) -> sqlx::Result<Ran> {
        let r = ask.restaurant_id;
        let queue = self.queues.0.entry(r).or_default().clone();
        let (reply, outcome) = oneshot::channel();
        let start = {
            let mut q = lock(&queue);
            q.waiting.push_back(Member {
                queued,
                at: ask.clock.now_ms(),
                reply,
            });
            !std::mem::replace(&mut q.serving, true)
        };
        if start {
            tokio::spawn(serve(self.clone(), r, queue));
        }
        outcome.await.map_err(|_| {
            sqlx::Error::Protocol("the placement's writer stopped before replying".into())
        })?
    }
}

/// Clears `serving` if the task ends (a panic included) and hands what is
/// still queued to a new task, so no placement waits forever.
struct Serving {
    store: Store,
    r: i64,
    queue: Arc<Mutex<Queue>>,
    done: bool,
}

impl Drop for Serving {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut q = lock(&self.queue);
        if q.waiting.is_empty() {
            q.serving = false;
        } else if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(serve(self.store.clone(), self.r, self.queue.clone()));
        }
    }
}

/// Writes restaurant `r`'s queue, a batch at a time, until it is empty.
async fn serve(store: Store, r: i64, queue: Arc<Mutex<Queue>>) {
    let mut serving = Serving {
        store: store.clone(),
        r,
        queue: queue.clone(),
        done: false,
    };
    let Db::Postgres(pool) = &store.db else {
        unreachable!("only PostgreSQL placements are queued");
    };
    loop {
        let batch: Vec<Member> = {
            let mut q = lock(&queue);
            if q.waiting.is_empty() {
                q.serving = false;
                serving.done = true;
                return;
            }
            let n = q.waiting.len().min(MOST_IN_A_BATCH);
            q.waiting.drain(..n).collect()
        };
        // One of the restaurant's write turns (shared with order changes).
        let _turn = store.lane(r).await;
        write_batch(pool, r, batch).await;
    }
}

/// Writes `batch` and replies to each of its placements.
async fn write_batch(pool: &PgPool, r: i64, batch: Vec<Member>) {
    // A key already in the batch would fail it: such an order runs after.
    let mut keys = HashSet::new();
    let (together, after): (Vec<Member>, Vec<Member>) = batch
        .into_iter()
        .partition(|m| keys.insert(m.queued.key.clone()));
    if together.len() == 1 {
        one_by_one(pool, r, together).await;
    } else {
        match write_together(pool, r, &together).await {
            Ok(ran) => {
                for (m, ran) in together.into_iter().zip(ran) {
                    // A caller that went away no longer waits.
                    let _ = m.reply.send(Ok(ran));
                }
            }
            Err(e) => {
                tracing::warn!(restaurant = r, error = %e, orders = together.len(),
                    "a batch of placements failed; writing each on its own");
                one_by_one(pool, r, together).await;
            }
        }
    }
    one_by_one(pool, r, after).await;
}

async fn one_by_one(pool: &PgPool, r: i64, members: Vec<Member>) {
    for m in members {
        let ran = postgres::alone(pool, r, m.at, &m.queued).await;
        let _ = m.reply.send(ran);
    }
}

/// A tracked item's stock as a batch holds it (see [`LOCK_ITEMS`]).
struct Held {
    stock: Option<i64>,
    available: bool,
    taken: bool,
}

/// Writes the members in one transaction (see the module doc): for each,
/// in order, its outcome.
async fn write_together(pool: &PgPool, r: i64, members: &[Member]) -> sqlx::Result<Vec<Ran>> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    let wanted: BTreeSet<i64> = members
        .iter()
        .flat_map(|m| m.queued.plan.write().take.iter().map(|t| t.menu_item_id))
        .collect();
    let mut held: BTreeMap<i64, Held> = BTreeMap::new();
    if !wanted.is_empty() {
        let ids: Vec<i64> = wanted.into_iter().collect();
        let rows: Vec<(i64, Option<i64>, bool)> = sqlx::query_as(LOCK_ITEMS)
            .bind(r)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
        for (id, stock, available) in rows {
            let taken = false;
            held.insert(
                id,
                Held {
                    stock,
                    available,
                    taken,
                },
            );
        }
    }
    // Each order's takes, all or none, in queue order.
    let mut found: Vec<Result<Together, Vec<StockTake>>> = members
        .iter()
        .map(|m| take(&mut held, &m.queued.plan.write().take))
        .collect();
    // The tables, in table-id order (for one table, in queue order).
    let mut changes: Vec<(i64, usize)> = members
        .iter()
        .enumerate()
        .filter(|(i, _)| found[*i].is_ok())
        .filter_map(|(i, m)| {
            m.queued
                .plan
                .write()
                .table
                .as_ref()
                .map(|t| (t.table_id, i))
        })
        .collect();
    changes.sort_unstable();
    for (_, i) in changes {
        let change = members[i].queued.plan.write().table.as_ref();
        if let (Some(change), Ok(f)) = (change, &mut found[i]) {
            f.table_changed = postgres::change_table(&mut tx, r, change).await?;
        }
    }
    // The statistics, per business hour in hour order.
    let mut hours: BTreeMap<(i64, &str), Delta> = BTreeMap::new();
    for (m, f) in members.iter().zip(&found) {
        if f.is_ok() {
            let o = &m.queued.plan.write().order;
            let sum = hours.entry((o.hour_start, &o.business_day)).or_default();
            add(sum, &m.queued.plan.write().stats);
        }
    }
    for ((hour, day), delta) in &hours {
        tx.record_stats(r, day, *hour, delta).await?;
    }
    let taken: Vec<(i64, &Held)> = held
        .iter()
        .filter(|(_, h)| h.taken)
        .map(|(id, h)| (*id, h))
        .collect();
    if !taken.is_empty() {
        sqlx::query(SET_STOCK)
            .bind(r)
            .bind(taken.iter().map(|(id, _)| *id).collect::<Vec<_>>())
            .bind(taken.iter().map(|(_, h)| h.stock).collect::<Vec<_>>())
            .bind(taken.iter().map(|(_, h)| h.available).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
    }
    let mut ran = Vec::with_capacity(members.len());
    for (m, f) in members.iter().zip(found) {
        ran.push(match f {
            Ok(f) => {
                let q = &m.queued;
                postgres::write(&mut tx, r, m.at, &q.drawn, &*q.plan, &f, false).await?
            }
            Err(short) => Ran::Short(short),
        });
    }
    tx.commit().await?;
    Ok(ran)
}

/// Takes an order's stock from `held` if every take finds enough (as the
/// conditional decrement does: an item no longer tracked, or gone, is
/// short); else the takes short of it, and nothing is taken. The item
/// sells out (`available` off) when its stock reaches zero.
fn take(held: &mut BTreeMap<i64, Held>, takes: &[StockTake]) -> Result<Together, Vec<StockTake>> {
    let enough = |t: &StockTake| {
        held.get(&t.menu_item_id)
            .and_then(|h| h.stock)
            .is_some_and(|s| s >= t.qty)
    };
    let short: Vec<StockTake> = takes.iter().filter(|t| !enough(t)).cloned().collect();
    if !short.is_empty() {
        return Err(short);
    }
    let mut stock_after = Vec::with_capacity(takes.len());
    for t in takes {
        if let Some(h) = held.get_mut(&t.menu_item_id) {
            let before = h.stock.unwrap_or_default();
            h.available = h.available && before > t.qty;
            h.stock = Some(before - t.qty);
            h.taken = true;
            stock_after.push(before - t.qty);
        }
    }
    Ok(Together {
        stock_after,
        table_changed: false,
    })
}

/// Adds an order's statistics to a batch's sum (items in item-id order, the
/// order their rows are locked in).
fn add(sum: &mut Delta, delta: &Delta) {
    sum.counters = sum.counters.plus(delta.counters);
    let mut items: BTreeMap<i64, (i64, i64)> = sum
        .items
        .iter()
        .map(|&(item, qty, cents)| (item, (qty, cents)))
        .collect();
    for &(item, qty, cents) in &delta.items {
        let e = items.entry(item).or_default();
        e.0 += qty;
        e.1 += cents;
    }
    sum.items = items
        .into_iter()
        .map(|(item, (qty, cents))| (item, qty, cents))
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(stock: Option<i64>) -> Held {
        Held {
            stock,
            available: true,
            taken: false,
        }
    }

    fn t(menu_item_id: i64, qty: i64) -> StockTake {
        StockTake { menu_item_id, qty }
    }

    #[test]
    fn takes_are_all_or_nothing_in_queue_order() {
        let mut h = BTreeMap::from([(1, held(Some(3))), (2, held(Some(1))), (3, held(None))]);
        // Takes both.
        assert_eq!(
            take(&mut h, &[t(1, 2), t(2, 1)]).unwrap().stock_after,
            [1, 0]
        );
        assert!(!h[&2].available, "sold out at zero");
        assert!(h[&1].available);
        // Item 2 is short now: nothing of item 1 is taken either.
        assert_eq!(take(&mut h, &[t(1, 1), t(2, 1)]).unwrap_err(), [t(2, 1)]);
        assert_eq!(h[&1].stock, Some(1));
        // Not tracked, or not found: short, as the conditional statement is.
        assert_eq!(take(&mut h, &[t(3, 1)]).unwrap_err(), [t(3, 1)]);
        assert_eq!(take(&mut h, &[t(4, 1)]).unwrap_err(), [t(4, 1)]);
        assert_eq!(take(&mut h, &[t(1, 1)]).unwrap().stock_after, [0]);
        assert!(!h[&3].taken);
    }

    #[test]
    fn statistics_add_up_per_item() {
        let mut sum = Delta::default();
        let mut one = Delta::default();
        one.counters.orders = 1;
        one.items = vec![(5, 2, 800)];
        let mut two = Delta::default();
        two.counters.orders = 1;
        two.items = vec![(3, 1, 100), (5, 1, 400)];
        add(&mut sum, &one);
        add(&mut sum, &two);
        assert_eq!(sum.counters.orders, 2);
        assert_eq!(sum.items, [(3, 1, 100), (5, 3, 1200)]);
    }
}
