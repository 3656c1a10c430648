-- The SQL of one order placement as the hub runs it (takeaway, one line of an
-- untracked item of the demo restaurant: id 1, "Tomato soup", station 2), for
-- pgbench against the hub's own PostgreSQL database. bench/orders.sh runs it.
\set key random(1, 1000000000000)
SELECT id FROM dining_tables WHERE restaurant_id = 1 ORDER BY id;
BEGIN;
SELECT timezone FROM restaurants WHERE id = 1;
SELECT id, request_hash FROM orders WHERE restaurant_id = 1 AND idempotency_key = 'pgbench-' || :key;
SELECT name, price_cents, station_id, stock, low_stock_threshold, available FROM menu_items WHERE restaurant_id = 1 AND id = 1;
INSERT INTO orders (restaurant_id, table_id, source, status, note, total_cents, placed_by_user, placed_by_role, idempotency_key, request_hash, placed_seq, created_at, updated_at, business_day, hour_start) VALUES (1, NULL, 'takeaway', 'placed', '', 650, 4, 'waiter', 'pgbench-' || :key, 'a3f1c2e4b5d6a7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70', 0, 1800000000000, 1800000000000, '2027-01-15', 1799996400000) RETURNING id \gset order_
INSERT INTO order_lines (restaurant_id, order_id, menu_item_id, station_id, name, unit_price_cents, qty, note, modifiers, status) VALUES (1, :order_id, 1, 2, 'Tomato soup', 650, 1, '', '[]', 'queued') RETURNING id \gset line_
INSERT INTO hourly_stats (restaurant_id, hour_start, business_day, orders, booked_cents, closed_orders, closed_cents, cancelled, cancelled_cents, voided, voided_cents) VALUES (1, 1799996400000, '2027-01-15', 1, 650, 0, 0, 0, 0, 0, 0) ON CONFLICT (restaurant_id, hour_start) DO UPDATE SET orders = hourly_stats.orders + excluded.orders, booked_cents = hourly_stats.booked_cents + excluded.booked_cents, closed_orders = hourly_stats.closed_orders + excluded.closed_orders, closed_cents = hourly_stats.closed_cents + excluded.closed_cents, cancelled = hourly_stats.cancelled + excluded.cancelled, cancelled_cents = hourly_stats.cancelled_cents + excluded.cancelled_cents, voided = hourly_stats.voided + excluded.voided, voided_cents = hourly_stats.voided_cents + excluded.voided_cents;
INSERT INTO item_stats (restaurant_id, business_day, menu_item_id, qty, revenue_cents) VALUES (1, '2027-01-15', 1, 1, 650) ON CONFLICT (restaurant_id, business_day, menu_item_id) DO UPDATE SET qty = item_stats.qty + excluded.qty, revenue_cents = item_stats.revenue_cents + excluded.revenue_cents;
UPDATE restaurants SET event_seq = event_seq + 2 WHERE id = 1 RETURNING event_seq \gset
INSERT INTO events (restaurant_id, seq, kind, at, rooms, data) VALUES (1, :event_seq - 1, 'order.placed', 1800000000000, '["kitchen:1","role:1:waiter","dashboard:1"]', '{"id":1,"table_id":null,"source":"takeaway","status":"placed","note":"","total_cents":650,"lines":[{"id":1,"menu_item_id":1,"station_id":2,"name":"Tomato soup","unit_price_cents":650,"qty":1,"note":"","modifiers":[],"status":"queued"}],"created_at":"2027-01-15T08:00:00.000Z","placed_seq":0}');
INSERT INTO events (restaurant_id, seq, kind, at, rooms, data) VALUES (1, :event_seq, 'ticket.placed', 1800000000000, '["kitchen:1:2"]', '{"order_id":1,"station_id":2,"table_id":null,"note":"","created_at":"2027-01-15T08:00:00.000Z","lines":[{"id":1,"menu_item_id":1,"station_id":2,"name":"Tomato soup","unit_price_cents":650,"qty":1,"note":"","modifiers":[],"status":"queued"}]}');
UPDATE orders SET placed_seq = :event_seq - 1 WHERE restaurant_id = 1 AND id = :order_id;
COMMIT;
