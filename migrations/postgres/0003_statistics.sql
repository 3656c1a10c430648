-- Statistics (see the protocol's api/analytics.rs for the definitions).
--
-- An order belongs to the business day and local hour in which it was placed,
-- fixed at placement (a later time-zone change does not move past orders).
-- Orders placed before this migration get business_day '' and count nowhere.
ALTER TABLE orders ADD COLUMN business_day TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN hour_start BIGINT NOT NULL DEFAULT 0;
-- When the order last became ready; NULL while the kitchen is on it.
ALTER TABLE orders ADD COLUMN ready_at BIGINT;
CREATE INDEX orders_by_day ON orders (restaurant_id, business_day);
CREATE INDEX order_lines_by_status ON order_lines (restaurant_id, status);

-- Exact counters per restaurant and local hour, changed in the same
-- transaction as the orders they count.
CREATE TABLE hourly_stats (
    restaurant_id    BIGINT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    hour_start       BIGINT NOT NULL,
    business_day     TEXT   NOT NULL,
    orders           BIGINT NOT NULL DEFAULT 0,
    booked_cents     BIGINT NOT NULL DEFAULT 0,
    closed_orders    BIGINT NOT NULL DEFAULT 0,
    closed_cents     BIGINT NOT NULL DEFAULT 0,
    cancelled        BIGINT NOT NULL DEFAULT 0,
    cancelled_cents  BIGINT NOT NULL DEFAULT 0,
    voided           BIGINT NOT NULL DEFAULT 0,
    voided_cents     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (restaurant_id, hour_start)
);
CREATE INDEX hourly_stats_by_day ON hourly_stats (restaurant_id, business_day);

-- Quantity and value sold per item and business day.
CREATE TABLE item_stats (
    restaurant_id    BIGINT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    business_day     TEXT   NOT NULL,
    menu_item_id     BIGINT NOT NULL,
    qty              BIGINT NOT NULL DEFAULT 0,
    revenue_cents    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (restaurant_id, business_day, menu_item_id)
);
