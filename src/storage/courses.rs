//! Finding held courses whose time may have come (the timed auto-fire):
//! a read only; the firing itself is an order change decided under the
//! order's lock.

use super::Store;

/// Orders with held lines whose restaurant fires by time, no fired line
/// still queued or preparing, and the last ready line at least the set
/// minutes before `$1`: the candidates, decided again under each order's
/// lock (they may have changed since).
const HELD_COURSES_DUE: &str = "SELECT o.restaurant_id, o.id FROM restaurants r \
    JOIN orders o ON o.restaurant_id = r.id \
    WHERE r.fire_after_ready_minutes IS NOT NULL \
    AND o.status IN ('placed', 'in_progress', 'ready') \
    AND EXISTS (SELECT 1 FROM order_lines l WHERE l.restaurant_id = o.restaurant_id \
        AND l.order_id = o.id AND l.fired_at IS NULL AND l.status <> 'voided') \
    AND NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.restaurant_id = o.restaurant_id \
        AND l.order_id = o.id AND l.fired_at IS NOT NULL \
        AND l.status IN ('queued', 'preparing')) \
    AND (SELECT MAX(l.ready_at) FROM order_lines l WHERE l.restaurant_id = o.restaurant_id \
        AND l.order_id = o.id AND l.fired_at IS NOT NULL) \
        <= $1 - r.fire_after_ready_minutes * 60000 \
    ORDER BY o.id LIMIT 500";

impl Store {
    /// `(restaurant, order)` pairs whose held course may be due at `now`.
    pub async fn held_courses_due(&self, now: i64) -> sqlx::Result<Vec<(i64, i64)>> {
        on_db!(self, |pool| sqlx::query_as(HELD_COURSES_DUE)
            .bind(now)
            .fetch_all(pool)
            .await)
    }
}
