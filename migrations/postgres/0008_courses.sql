-- Courses, firing, fire by prep time, expo, recall, rush, void reasons (issue 19).
-- Times are UTC milliseconds since the Unix epoch.

-- The course a category's items are served in (starters 1, mains 2, ...).
ALTER TABLE menu_categories ADD COLUMN course BIGINT NOT NULL DEFAULT 1 CHECK (course BETWEEN 1 AND 9);
-- How long an item takes to prepare: lines of one fired course start so
-- that they finish together.
ALTER TABLE menu_items ADD COLUMN prep_seconds BIGINT NOT NULL DEFAULT 0
    CHECK (prep_seconds BETWEEN 0 AND 86400);

-- A line's course; fired_at NULL = held (its course is not fired yet);
-- start_at = when the station should start it (fired_at + the course's
-- longest prep minus its own); started_at / ready_at / served_at = when it
-- last went to preparing / ready / served (a recall restarts started_at
-- and clears the others); void_reason = why it was voided (waste's reason).
ALTER TABLE order_lines ADD COLUMN course BIGINT NOT NULL DEFAULT 1;
ALTER TABLE order_lines ADD COLUMN prep_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE order_lines ADD COLUMN fired_at BIGINT;
ALTER TABLE order_lines ADD COLUMN start_at BIGINT;
ALTER TABLE order_lines ADD COLUMN started_at BIGINT;
ALTER TABLE order_lines ADD COLUMN ready_at BIGINT;
ALTER TABLE order_lines ADD COLUMN served_at BIGINT;
ALTER TABLE order_lines ADD COLUMN void_reason TEXT;
-- Lines placed before courses existed were all fired when placed.
UPDATE order_lines SET fired_at = (SELECT o.created_at FROM orders o WHERE o.id = order_lines.order_id),
    start_at = (SELECT o.created_at FROM orders o WHERE o.id = order_lines.order_id);

-- Rushed: at the top of every station.
ALTER TABLE orders ADD COLUMN rush BOOLEAN NOT NULL DEFAULT FALSE;

-- What fires a held course besides a person: 'served' (the course before it
-- is served) or 'off'; and N minutes after the course before it was ready
-- (NULL: never). A ready or served line can be recalled this long after.
ALTER TABLE restaurants ADD COLUMN fire_next_on TEXT NOT NULL DEFAULT 'served'
    CHECK (fire_next_on IN ('served', 'off'));
ALTER TABLE restaurants ADD COLUMN fire_after_ready_minutes BIGINT
    CHECK (fire_after_ready_minutes BETWEEN 1 AND 240);
ALTER TABLE restaurants ADD COLUMN recall_window_minutes BIGINT NOT NULL DEFAULT 10
    CHECK (recall_window_minutes BETWEEN 0 AND 240);
-- The timed auto-fire looks for orders with held lines.
CREATE INDEX order_lines_held ON order_lines (restaurant_id, order_id) WHERE fired_at IS NULL;
