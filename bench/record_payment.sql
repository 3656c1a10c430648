-- The SQL of one payment as the hub runs it on PostgreSQL (card, no tip, on
-- a takeaway check of one order of the demo restaurant's "Tomato soup"), for
-- pgbench against the database bench/payments.sh leaves behind: BEGIN, the
-- check's lock, the join of new orders, the check's facts (9 reads), the
-- payment, the conditional update of the check, its receipt number, the
-- facts again (9 reads), the audit chain (head, two rows, head) and the
-- events, then COMMIT: 32 round trips (src/storage/checks.rs
-- `change_check`, audit.rs, append.rs). Each transaction pays 1 cent on a
-- check drawn from :lo–:hi, so a 650-cent check takes 650 of them; the
-- receipt number is drawn every time, as when a payment pays a check off.
-- Restaurant 1 is bench/payments.sh's "pay"; reopen its checks first, then:
--   psql -h 127.0.0.1 -U postgres -d rhbench -c "UPDATE checks SET status = 'open',
--       paid_cents = 0 WHERE restaurant_id = 1" -c "VACUUM ANALYZE"
--   pgbench -n -h 127.0.0.1 -U postgres -c 4 -j 2 -T 10 -M prepared -D lo=1 \
--       -D hi=<its last check id> -D after=1 -D late=0 -f bench/record_payment.sql rhbench
-- Variants, set with -D:
--   after=0   leaves out the second read of the facts;
--   late=1    draws the receipt number just before the events instead of
--             after the check's update (the restaurant's row, which every
--             order's event seq also updates, is then locked for the last
--             round trips only).
-- (pgbench would take a colon before a name inside a literal for a
-- variable, so the rooms' colons are put in with replace().)
\set c random(:lo, :hi)
\set key random(1, 1000000000000)
BEGIN;
SELECT id FROM checks WHERE restaurant_id = 1 AND id = :c FOR UPDATE;
UPDATE orders SET check_id = :c WHERE restaurant_id = 1 AND check_id IS NULL AND status NOT IN ('closed', 'cancelled') AND EXISTS (SELECT 1 FROM checks c WHERE c.restaurant_id = 1 AND c.id = :c AND c.status IN ('open', 'partially_paid') AND (c.table_id = orders.table_id OR c.order_id = orders.id));
SELECT id, table_id, order_id, status, covers, split, subtotal_cents, discount_cents, comp_cents, service_cents, tax_cents, total_cents, paid_cents, tip_cents, refunded_cents, receipt_no, void_reason, opened_by, opened_at, updated_at, paid_at, paid_day, closed_at FROM checks WHERE restaurant_id = 1 AND id = :c;
SELECT name, currency, timezone, service_charge_bp, service_charge_min_covers, discount_limit_cents FROM restaurants WHERE id = 1;
SELECT id, table_id, source, status, note, total_cents, created_at, placed_seq, ready_at, business_day, hour_start FROM orders WHERE restaurant_id = 1 AND check_id = :c ORDER BY id;
SELECT order_id, id, menu_item_id, station_id, name, unit_price_cents, qty, note, modifiers, status, seat FROM order_lines WHERE restaurant_id = 1 AND order_id IN (SELECT id FROM orders WHERE restaurant_id = 1 AND check_id = :c) ORDER BY id;
SELECT id, name, rate_bp, included FROM tax_rates WHERE restaurant_id = 1 ORDER BY id;
SELECT i.id, COALESCE(i.tax_rate_id, c.tax_rate_id) FROM menu_items i LEFT JOIN menu_categories c ON c.restaurant_id = i.restaurant_id AND c.id = i.category_id WHERE i.restaurant_id = 1 AND COALESCE(i.tax_rate_id, c.tax_rate_id) IS NOT NULL AND i.id IN (SELECT l.menu_item_id FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.restaurant_id = 1 AND o.check_id = :c);
SELECT id, line_id, kind, value, comp, reason, by_user, approved_by, created_at FROM check_discounts WHERE restaurant_id = 1 AND check_id = :c ORDER BY id;
SELECT id, check_id, part, method, amount_cents, tip_cents, tendered_cents, change_cents, refunded_cents, reference, idempotency_key, request_hash, by_user, by_role, created_at FROM payments WHERE restaurant_id = 1 AND check_id = :c ORDER BY id;
SELECT id, check_id, part, method, amount_cents, tip_cents, tendered_cents, change_cents, refunded_cents, reference, idempotency_key, request_hash, by_user, by_role, created_at FROM payments WHERE restaurant_id = 1 AND idempotency_key = 'user:5/pgbench-' || :key;
INSERT INTO payments (restaurant_id, check_id, part, method, amount_cents, tip_cents, tendered_cents, change_cents, reference, idempotency_key, request_hash, by_user, by_role, created_at, business_day) VALUES (1, :c, NULL, 'card', 1, 0, NULL, 0, NULL, 'user:5/pgbench-' || :key, 'a859796c58319f262cabb5f9c5dade58c3b620fe962f9562e53d917f8e540b23', 5, 'cashier', 1796508870761, '2026-12-05') RETURNING id, check_id, part, method, amount_cents, tip_cents, tendered_cents, change_cents, refunded_cents, reference, idempotency_key, request_hash, by_user, by_role, created_at;
UPDATE checks SET status = 'partially_paid', covers = 0, split = NULL, subtotal_cents = 650, discount_cents = 0, comp_cents = 0, service_cents = 0, tax_cents = 0, total_cents = 650, paid_cents = paid_cents + 1, tip_cents = tip_cents + 0, refunded_cents = refunded_cents + 0, void_reason = COALESCE(NULL, void_reason), updated_at = 1796508870761, paid_at = CASE WHEN false THEN NULL WHEN '2026-12-05' IS NOT NULL THEN 1796508870761 ELSE paid_at END, paid_day = CASE WHEN false THEN NULL ELSE COALESCE('2026-12-05', paid_day) END, closed_at = CASE WHEN false THEN NULL WHEN false THEN 1796508870761 ELSE closed_at END WHERE restaurant_id = 1 AND id = :c AND paid_cents + 1 <= 650;
\if :late
\else
UPDATE restaurants SET receipt_seq = receipt_seq + 1 WHERE id = 1 RETURNING receipt_seq \gset
UPDATE checks SET receipt_no = :receipt_seq WHERE restaurant_id = 1 AND id = :c AND receipt_no IS NULL;
\endif
\if :after
SELECT id, table_id, order_id, status, covers, split, subtotal_cents, discount_cents, comp_cents, service_cents, tax_cents, total_cents, paid_cents, tip_cents, refunded_cents, receipt_no, void_reason, opened_by, opened_at, updated_at, paid_at, paid_day, closed_at FROM checks WHERE restaurant_id = 1 AND id = :c;
SELECT name, currency, timezone, service_charge_bp, service_charge_min_covers, discount_limit_cents FROM restaurants WHERE id = 1;
SELECT id, table_id, source, status, note, total_cents, created_at, placed_seq, ready_at, business_day, hour_start FROM orders WHERE restaurant_id = 1 AND check_id = :c ORDER BY id;
SELECT order_id, id, menu_item_id, station_id, name, unit_price_cents, qty, note, modifiers, status, seat FROM order_lines WHERE restaurant_id = 1 AND order_id IN (SELECT id FROM orders WHERE restaurant_id = 1 AND check_id = :c) ORDER BY id;
SELECT id, name, rate_bp, included FROM tax_rates WHERE restaurant_id = 1 ORDER BY id;
SELECT i.id, COALESCE(i.tax_rate_id, c.tax_rate_id) FROM menu_items i LEFT JOIN menu_categories c ON c.restaurant_id = i.restaurant_id AND c.id = i.category_id WHERE i.restaurant_id = 1 AND COALESCE(i.tax_rate_id, c.tax_rate_id) IS NOT NULL AND i.id IN (SELECT l.menu_item_id FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.restaurant_id = 1 AND o.check_id = :c);
SELECT id, line_id, kind, value, comp, reason, by_user, approved_by, created_at FROM check_discounts WHERE restaurant_id = 1 AND check_id = :c ORDER BY id;
SELECT id, check_id, part, method, amount_cents, tip_cents, tendered_cents, change_cents, refunded_cents, reference, idempotency_key, request_hash, by_user, by_role, created_at FROM payments WHERE restaurant_id = 1 AND check_id = :c ORDER BY id;
SELECT id, check_id, part, method, amount_cents, tip_cents, tendered_cents, change_cents, refunded_cents, reference, idempotency_key, request_hash, by_user, by_role, created_at FROM payments WHERE restaurant_id = 1 AND idempotency_key = 'user:5/pgbench-' || :key;
\endif
INSERT INTO audit_heads (restaurant_id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000') ON CONFLICT (restaurant_id) DO UPDATE SET seq = audit_heads.seq RETURNING seq AS head, hash AS head_hash \gset
INSERT INTO audit_log (restaurant_id, seq, at, action, actor, actor_role, client_address, target, before_json, after_json, reason, prev_hash, hash) VALUES (1, :head + 1, 1796508870761, 'payment.recorded', 'user:5', 'cashier', '127.0.0.1', 'check:' || :c, '{"paid_cents":0,"refunded_cents":0,"status":"open","total_cents":650}', '{"amount_cents":650,"change_cents":0,"check_status":"paid","method":"card","paid_cents":650,"part": null,"payment_id":1,"tip_cents":0}', NULL, '50b43bb958be863a145b585a79c145ba045955035f1b8d091953ad71df5376e0', '9af4ca399affdf47a18f2274c56cd5bf2e41f819e12ce5da852228ca25003d2c');
INSERT INTO audit_log (restaurant_id, seq, at, action, actor, actor_role, client_address, target, before_json, after_json, reason, prev_hash, hash) VALUES (1, :head + 2, 1796508870761, 'check.paid', 'user:5', 'cashier', '127.0.0.1', 'check:' || :c, NULL, '{"paid_cents":650,"receipt_no":1,"tip_cents":0,"total_cents":650}', NULL, '9af4ca399affdf47a18f2274c56cd5bf2e41f819e12ce5da852228ca25003d2c', '8dc34631ea457c0cb91bf8b856ee821b226c50b5c0ccf17984ffb4f90b711163');
UPDATE audit_heads SET seq = :head + 2, hash = '8dc34631ea457c0cb91bf8b856ee821b226c50b5c0ccf17984ffb4f90b711163' WHERE restaurant_id = 1;
\if :late
UPDATE restaurants SET receipt_seq = receipt_seq + 1 WHERE id = 1 RETURNING receipt_seq \gset
UPDATE checks SET receipt_no = :receipt_seq WHERE restaurant_id = 1 AND id = :c AND receipt_no IS NULL;
\endif
WITH s AS (UPDATE restaurants SET event_seq = event_seq + cardinality(ARRAY['payment.recorded', 'check.updated']::TEXT[]) WHERE id = 1 AND TRUE RETURNING event_seq - cardinality(ARRAY['payment.recorded', 'check.updated']::TEXT[]) AS base), e AS (INSERT INTO events (restaurant_id, seq, kind, at, rooms, data) SELECT 1, s.base + x.n, x.kind, 1796508870761, x.rooms, CASE WHEN x.n = 0 THEN replace(x.data, '"placed_seq":0', '"placed_seq":' || (s.base + x.n)) ELSE x.data END FROM s, unnest(ARRAY['payment.recorded', 'check.updated']::TEXT[], ARRAY[replace('["role;1;cashier","role;1;waiter","dashboard;1"]', ';', chr(58)), replace('["role;1;cashier","role;1;waiter","dashboard;1"]', ';', chr(58))]::TEXT[], ARRAY['{"due_cents":0,"payment":{"amount_cents":650,"at":"2026-12-05T22:14:30.761Z","change_cents":0,"check_id":1,"id":1,"method":"card","refunded_cents":0,"tip_cents":0}}', '{"covers":0,"currency":"EUR","discount_cents":0,"discounts":[],"due_cents":0,"id":1,"lines":[{"discount_cents":0,"gross_cents":650,"line_id":1,"name":"Tomato soup","net_cents":650,"order_id":1,"qty":1,"unit_price_cents":650}],"opened_at":"2026-12-05T22:14:29.246Z","order_ids":[1],"paid_cents":650,"parts":[],"payments":[{"amount_cents":650,"at":"2026-12-05T22:14:30.761Z","change_cents":0,"check_id":1,"id":1,"method":"card","refunded_cents":0,"tip_cents":0}],"receipt_no":1,"refunded_cents":0,"service_cents":0,"status":"paid","subtotal_cents":650,"tax_cents":0,"tax_included_cents":0,"taxes":[],"tip_cents":0,"total_cents":650}']::TEXT[]) WITH ORDINALITY AS x(kind, rooms, data, n)), er AS (INSERT INTO event_rooms (restaurant_id, room, seq) SELECT 1, r.room, s.base + x.n FROM s, unnest(ARRAY[replace('["role;1;cashier","role;1;waiter","dashboard;1"]', ';', chr(58)), replace('["role;1;cashier","role;1;waiter","dashboard;1"]', ';', chr(58))]::TEXT[]) WITH ORDINALITY AS x(rooms, n), json_array_elements_text(x.rooms::json) AS r(room) ON CONFLICT DO NOTHING) SELECT base FROM s;
COMMIT;
