-- Less work for PostgreSQL in every order's write (issue 22, "Session 11"
-- in BENCHMARKS.md), the same rules kept. Counted with callgrind on a
-- backend running the placement's two statements (bench/pg_instructions.sh):
-- 2,632k instructions per order before, 2,063k after (-22%).
--
-- 1. Two foreign keys that can never fail. An order is inserted only by the
-- placement's write (storage/placement/postgres.rs), which takes its seq
-- from its restaurant's row (the `s` CTE of storage/append.rs; no row, no
-- order), and its lines by the same statement, from the order just
-- inserted (the `o` CTE): the restaurant and the order
-- exist whenever the row pointing at them does, and neither restaurants nor
-- orders are ever deleted. PostgreSQL checked each with a query of its own
-- after every insert (a tenth of an order's instructions). The keys that can
-- fail stay: a line's menu item and an order's table (both deletable; their
-- deletion is refused while an order points at them).
ALTER TABLE orders DROP CONSTRAINT orders_restaurant_id_fkey;
ALTER TABLE order_lines DROP CONSTRAINT order_lines_restaurant_id_order_id_fkey;

-- 2. The CHECK constraints of the tables every order writes become the
-- rules of the columns' types. PostgreSQL reads a table's CHECK expressions
-- from their stored text, plans and compiles them again in every statement
-- that writes the table (a restaurant's five on each seq update, an order's
-- three, a line's three: an eighth of an order's instructions); a domain's
-- rule is loaded and planned once per connection and checked where a value
-- is assigned to the column (an UPDATE of the seq alone checks nothing),
-- with the same error (check_violation, 23514).
--
-- Each column changes type before its domain has a rule (a domain without
-- one is binary-compatible with its base type: no table is rewritten, no
-- index rebuilt), then the rule is added, which checks the stored values
-- once. SQLite keeps its CHECKs: it evaluates them in-process without
-- planning them again, and changing one there means rebuilding the table.
CREATE DOMAIN money_cents AS BIGINT;
CREATE DOMAIN stock_count AS BIGINT;
CREATE DOMAIN allergen_set AS BIGINT;
CREATE DOMAIN prep_time_seconds AS BIGINT;
CREATE DOMAIN order_source AS TEXT;
CREATE DOMAIN order_status AS TEXT;
CREATE DOMAIN line_status AS TEXT;
CREATE DOMAIN line_qty AS BIGINT;
CREATE DOMAIN currency_code AS TEXT;
CREATE DOMAIN basis_points AS BIGINT;
CREATE DOMAIN course_fire_mode AS TEXT;
CREATE DOMAIN fire_after_minutes AS BIGINT;
CREATE DOMAIN recall_minutes AS BIGINT;

ALTER TABLE restaurants
    DROP CONSTRAINT restaurants_currency_check,
    DROP CONSTRAINT restaurants_service_charge_bp_check,
    DROP CONSTRAINT restaurants_fire_next_on_check,
    DROP CONSTRAINT restaurants_fire_after_ready_minutes_check,
    DROP CONSTRAINT restaurants_recall_window_minutes_check,
    ALTER COLUMN currency TYPE currency_code,
    ALTER COLUMN service_charge_bp TYPE basis_points,
    ALTER COLUMN fire_next_on TYPE course_fire_mode,
    ALTER COLUMN fire_after_ready_minutes TYPE fire_after_minutes,
    ALTER COLUMN recall_window_minutes TYPE recall_minutes;
ALTER TABLE menu_items
    DROP CONSTRAINT menu_items_price_cents_check,
    DROP CONSTRAINT menu_items_stock_check,
    DROP CONSTRAINT menu_items_low_stock_threshold_check,
    DROP CONSTRAINT menu_items_prep_seconds_check,
    DROP CONSTRAINT menu_items_allergens_check,
    ALTER COLUMN price_cents TYPE money_cents,
    ALTER COLUMN stock TYPE stock_count,
    ALTER COLUMN low_stock_threshold TYPE stock_count,
    ALTER COLUMN prep_seconds TYPE prep_time_seconds,
    ALTER COLUMN allergens TYPE allergen_set;
ALTER TABLE modifier_options
    DROP CONSTRAINT modifier_options_allergens_check,
    ALTER COLUMN allergens TYPE allergen_set;
ALTER TABLE orders
    DROP CONSTRAINT orders_source_check,
    DROP CONSTRAINT orders_status_check,
    DROP CONSTRAINT orders_total_cents_check,
    ALTER COLUMN source TYPE order_source,
    ALTER COLUMN status TYPE order_status,
    ALTER COLUMN total_cents TYPE money_cents;
ALTER TABLE order_lines
    DROP CONSTRAINT order_lines_unit_price_cents_check,
    DROP CONSTRAINT order_lines_qty_check,
    DROP CONSTRAINT order_lines_status_check,
    ALTER COLUMN unit_price_cents TYPE money_cents,
    ALTER COLUMN qty TYPE line_qty,
    ALTER COLUMN status TYPE line_status;

ALTER DOMAIN money_cents ADD CONSTRAINT money_cents_check CHECK (VALUE >= 0);
ALTER DOMAIN stock_count ADD CONSTRAINT stock_count_check CHECK (VALUE >= 0);
ALTER DOMAIN allergen_set ADD CONSTRAINT allergen_set_check CHECK (VALUE BETWEEN 0 AND 16383);
ALTER DOMAIN prep_time_seconds ADD CONSTRAINT prep_time_seconds_check
    CHECK (VALUE BETWEEN 0 AND 86400);
ALTER DOMAIN order_source ADD CONSTRAINT order_source_check
    CHECK (VALUE IN ('dine_in', 'takeaway', 'qr'));
ALTER DOMAIN order_status ADD CONSTRAINT order_status_check
    CHECK (VALUE IN ('placed', 'in_progress', 'ready', 'served', 'closed', 'cancelled'));
ALTER DOMAIN line_status ADD CONSTRAINT line_status_check
    CHECK (VALUE IN ('queued', 'preparing', 'ready', 'served', 'voided'));
ALTER DOMAIN line_qty ADD CONSTRAINT line_qty_check CHECK (VALUE BETWEEN 1 AND 99);
ALTER DOMAIN currency_code ADD CONSTRAINT currency_code_check CHECK (length(VALUE) = 3);
ALTER DOMAIN basis_points ADD CONSTRAINT basis_points_check CHECK (VALUE BETWEEN 0 AND 10000);
ALTER DOMAIN course_fire_mode ADD CONSTRAINT course_fire_mode_check
    CHECK (VALUE IN ('served', 'off'));
ALTER DOMAIN fire_after_minutes ADD CONSTRAINT fire_after_minutes_check
    CHECK (VALUE BETWEEN 1 AND 240);
ALTER DOMAIN recall_minutes ADD CONSTRAINT recall_minutes_check CHECK (VALUE BETWEEN 0 AND 240);
