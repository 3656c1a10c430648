//! Proof of display and waiter calls: each station's seen watermark and
//! alert flag, each screen's last acknowledgement, each table's open call.
//! Every flag changes by a conditional update in the transaction that
//! appends its event, so however many instances try, one event is written
//! per change.

use super::{Append, BeginWrite, EventDraft, Store};
use crate::events::Event;

/// An order a station's watermark passed over: newly on screen there.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SeenOrder {
    pub order_id: i64,
    pub placed_by_user: Option<i64>,
    pub placed_seq: i64,
}

/// What a watermark advance did.
#[derive(Debug, Default)]
pub struct Advanced {
    pub events: Vec<Event>,
    /// More orders wait behind the batch limit: advance again.
    pub more: bool,
}

/// A screen's last acknowledgement, as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScreenRow {
    pub station_id: i64,
    pub screen: String,
    pub seen_seq: i64,
    pub seen_at: i64,
    pub behind: bool,
}

/// Orders still in the kitchen with a line `$2` has not finished.
const OPEN_AT_STATION: &str = "o.status IN ('placed', 'in_progress') AND EXISTS (SELECT 1 FROM \
    order_lines l WHERE l.restaurant_id = o.restaurant_id AND l.order_id = o.id \
    AND l.station_id = $2 AND l.status IN ('queued', 'preparing'))";

/// The name of station `$station` of restaurant `$r`, its watch row made
/// if missing, inside transaction `$tx`; `None` if there is no such station.
macro_rules! watched_station {
    ($tx:expr, $r:expr, $station:expr) => {{
        let name: Option<String> =
            sqlx::query_scalar("SELECT name FROM stations WHERE restaurant_id = $1 AND id = $2")
                .bind($r)
                .bind($station)
                .fetch_optional(&mut *$tx)
                .await?;
        if name.is_some() {
            sqlx::query(
                "INSERT INTO station_watch (restaurant_id, station_id) VALUES ($1, $2) \
                 ON CONFLICT (restaurant_id, station_id) DO NOTHING",
            )
            .bind($r)
            .bind($station)
            .execute(&mut *$tx)
            .await?;
        }
        name
    }};
}

/// Commits `$tx`, having appended `$drafts` (evaluated only then) if its
/// conditional update changed a row (`$changed`); the events appended, or
/// `None` when nothing changed.
macro_rules! commit_if_changed {
    ($tx:expr, $r:expr, $changed:expr, $drafts:expr, $now:expr) => {{
        let appended = if $changed == 1 {
            Some($tx.append_events($r, $drafts, $now).await?)
        } else {
            None
        };
        $tx.commit().await?;
        appended
    }};
}

impl Store {
    /// Advances station `station`'s seen watermark to `seq` (if it is
    /// higher) and appends the events `events` drafts from the station's
    /// name and the open orders the advance passed over (at most `limit`;
    /// the watermark stops at the last of them when there are more).
    pub async fn advance_seen(
        &self,
        r: i64,
        station: i64,
        seq: i64,
        at: i64,
        limit: i64,
        events: impl FnOnce(&str, i64, &[SeenOrder]) -> Vec<EventDraft>,
    ) -> sqlx::Result<Advanced> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let Some(name) = watched_station!(tx, r, station) else {
                return Ok(Advanced::default());
            };
            // `prev_seq = seen_seq` reads the row as it was: the range this
            // advance covers, under the row's lock.
            let prev: Option<i64> = sqlx::query_scalar(
                "UPDATE station_watch SET prev_seq = seen_seq, seen_seq = $3, seen_at = $4 \
                 WHERE restaurant_id = $1 AND station_id = $2 AND seen_seq < $3 \
                 RETURNING prev_seq",
            )
            .bind(r)
            .bind(station)
            .bind(seq)
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(prev) = prev else {
                tx.commit().await?;
                return Ok(Advanced::default());
            };
            let mut orders: Vec<SeenOrder> = sqlx::query_as(&format!(
                "SELECT o.id AS order_id, o.placed_by_user, o.placed_seq FROM orders o \
                 WHERE o.restaurant_id = $1 AND o.placed_seq > $3 AND o.placed_seq <= $4 \
                 AND {OPEN_AT_STATION} ORDER BY o.placed_seq LIMIT $5"
            ))
            .bind(r)
            .bind(station)
            .bind(prev)
            .bind(seq)
            .bind(limit + 1)
            .fetch_all(&mut *tx)
            .await?;
            let more = orders.len() as i64 > limit;
            let mut seen_seq = seq;
            if more {
                orders.truncate(limit as usize);
                seen_seq = orders.last().map_or(seq, |o| o.placed_seq);
                sqlx::query(
                    "UPDATE station_watch SET seen_seq = $3 WHERE restaurant_id = $1 \
                     AND station_id = $2",
                )
                .bind(r)
                .bind(station)
                .bind(seen_seq)
                .execute(&mut *tx)
                .await?;
            }
            let drafts = if orders.is_empty() {
                Vec::new()
            } else {
                events(&name, seen_seq, &orders)
            };
            let appended = tx.append_events(r, drafts, at).await?;
            tx.commit().await?;
            Ok(Advanced {
                events: appended,
                more,
            })
        })
    }

    /// Stores screens' last acknowledgements (`(station, screen, seq, at)`),
    /// each only forward.
    pub async fn record_screens(
        &self,
        r: i64,
        screens: &[(i64, String, i64, i64)],
    ) -> sqlx::Result<()> {
        if screens.is_empty() {
            return Ok(());
        }
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            for (station, screen, seq, at) in screens {
                sqlx::query(
                    "INSERT INTO station_screens (restaurant_id, station_id, screen, seen_seq, \
                     seen_at) SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM stations \
                     WHERE restaurant_id = $1 AND id = $2) \
                     ON CONFLICT (restaurant_id, station_id, screen) DO UPDATE \
                     SET seen_seq = excluded.seen_seq, seen_at = excluded.seen_at \
                     WHERE station_screens.seen_seq < excluded.seen_seq",
                )
                .bind(r)
                .bind(station)
                .bind(screen)
                .bind(seq)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Forgets the screens that have acknowledged nothing since `before`
    /// and are not flagged behind (devices replaced, sessions that gave no
    /// name long gone); how many.
    pub async fn forget_screens(&self, before: i64) -> sqlx::Result<u64> {
        on_writer!(self, |pool| sqlx::query(
            "DELETE FROM station_screens WHERE seen_at < $1 AND NOT behind"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
    }

    /// The screens of a station as last stored, by name.
    pub async fn station_screens(&self, r: i64, station: i64) -> sqlx::Result<Vec<ScreenRow>> {
        on_db!(self, |pool| sqlx::query_as(
            "SELECT station_id, screen, seen_seq, seen_at, behind FROM station_screens \
             WHERE restaurant_id = $1 AND station_id = $2 ORDER BY screen LIMIT 500"
        )
        .bind(r)
        .bind(station)
        .fetch_all(pool)
        .await)
    }

    /// Flags screen `screen` of `station` behind (or not) and appends
    /// `draft` when that changed the flag; the events appended.
    pub async fn flag_screen(
        &self,
        r: i64,
        station: i64,
        screen: &str,
        behind: bool,
        now: i64,
        draft: EventDraft,
    ) -> sqlx::Result<Vec<Event>> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let changed = sqlx::query(
                "UPDATE station_screens SET behind = $4 WHERE restaurant_id = $1 \
                 AND station_id = $2 AND screen = $3 AND behind <> $4",
            )
            .bind(r)
            .bind(station)
            .bind(screen)
            .bind(behind)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let appended = commit_if_changed!(tx, r, changed, vec![draft], now);
            Ok(appended.unwrap_or_default())
        })
    }

    /// Flags `station` unattended (or not) and appends the events `events`
    /// drafts from its name when that changed the flag.
    pub async fn flag_station(
        &self,
        r: i64,
        station: i64,
        unattended: bool,
        now: i64,
        events: impl FnOnce(&str) -> Vec<EventDraft>,
    ) -> sqlx::Result<Vec<Event>> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let Some(name) = watched_station!(tx, r, station) else {
                return Ok(Vec::new());
            };
            let changed = sqlx::query(
                "UPDATE station_watch SET unattended = $3 WHERE restaurant_id = $1 \
                 AND station_id = $2 AND unattended <> $3",
            )
            .bind(r)
            .bind(station)
            .bind(unattended)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let appended = commit_if_changed!(tx, r, changed, events(&name), now);
            Ok(appended.unwrap_or_default())
        })
    }

    /// The restaurant's stations flagged unattended.
    pub async fn unattended_stations(&self, r: i64) -> sqlx::Result<Vec<i64>> {
        on_db!(self, |pool| sqlx::query_scalar(
            "SELECT station_id FROM station_watch WHERE restaurant_id = $1 AND unattended \
             ORDER BY station_id"
        )
        .bind(r)
        .fetch_all(pool)
        .await)
    }

    /// Per station, how many orders still in the kitchen have a line it
    /// has not finished.
    pub async fn open_tickets(&self, r: i64) -> sqlx::Result<Vec<(i64, i64)>> {
        on_db!(self, |pool| sqlx::query_as(
            "SELECT l.station_id, COUNT(DISTINCT o.id) FROM orders o JOIN order_lines l \
             ON l.restaurant_id = o.restaurant_id AND l.order_id = o.id \
             WHERE o.restaurant_id = $1 AND o.status IN ('placed', 'in_progress') \
             AND l.status IN ('queued', 'preparing') AND l.station_id IS NOT NULL \
             GROUP BY l.station_id ORDER BY l.station_id"
        )
        .bind(r)
        .fetch_all(pool)
        .await)
    }

    /// The newest `placed_seq` of the orders still open at `station` that
    /// were placed at or before `placed_by` (ms): a screen there that has
    /// acknowledged less is behind.
    pub async fn due_seq(&self, r: i64, station: i64, placed_by: i64) -> sqlx::Result<Option<i64>> {
        on_db!(self, |pool| sqlx::query_scalar(&format!(
            "SELECT MAX(o.placed_seq) FROM orders o WHERE o.restaurant_id = $1 \
             AND o.created_at <= $3 AND {OPEN_AT_STATION}"
        ))
        .bind(r)
        .bind(station)
        .bind(placed_by)
        .fetch_one(pool)
        .await)
    }

    /// Opens a waiter call at `table` unless one is open (not accepted)
    /// and was made after `repeat_after`; appends `draft` when it opened
    /// one. `None`: the call was already open.
    pub async fn call_table(
        &self,
        r: i64,
        table: i64,
        now: i64,
        repeat_after: i64,
        draft: EventDraft,
    ) -> sqlx::Result<Option<Vec<Event>>> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let opened = sqlx::query(
                "INSERT INTO table_calls (restaurant_id, table_id, called_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (restaurant_id, table_id) DO UPDATE SET called_at = excluded.called_at, \
                 accepted_by = NULL, accepted_at = NULL \
                 WHERE table_calls.accepted_at IS NOT NULL OR table_calls.called_at <= $4",
            )
            .bind(r)
            .bind(table)
            .bind(now)
            .bind(repeat_after)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            Ok(commit_if_changed!(tx, r, opened, vec![draft], now))
        })
    }

    /// Accepts `table`'s open call for `by`, appending `draft`; `None` when
    /// no call is open.
    pub async fn accept_call(
        &self,
        r: i64,
        table: i64,
        by: i64,
        now: i64,
        draft: EventDraft,
    ) -> sqlx::Result<Option<Vec<Event>>> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let accepted = sqlx::query(
                "UPDATE table_calls SET accepted_by = $3, accepted_at = $4 \
                 WHERE restaurant_id = $1 AND table_id = $2 AND accepted_at IS NULL",
            )
            .bind(r)
            .bind(table)
            .bind(by)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            Ok(commit_if_changed!(tx, r, accepted, vec![draft], now))
        })
    }
}
