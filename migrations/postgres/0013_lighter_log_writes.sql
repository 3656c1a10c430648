-- Less work for PostgreSQL in every order's write (issue 22). Measured with
-- callgrind on a PostgreSQL backend running the placement's two statements
-- (BENCHMARKS.md, "Session 10 of issue 22"), these two changes took about a
-- tenth of its instructions per order.
--
-- The event log's foreign keys to restaurants: an order logs two events and
-- about five room index rows, and PostgreSQL checked each against the
-- restaurant with a query of its own (a tenth of the backend's instructions
-- per order). Every row of these two tables is written by the statement that
-- takes its seq from the restaurant's own row (the `s` CTE of
-- storage/append.rs: no row there, no events), so the restaurant exists
-- whenever an event does; no restaurant is ever deleted. SQLite keeps its
-- keys: its checks are in-process index lookups, and dropping a constraint
-- there means rebuilding the table.
ALTER TABLE events DROP CONSTRAINT events_restaurant_id_fkey;
ALTER TABLE event_rooms DROP CONSTRAINT event_rooms_restaurant_id_fkey;

-- Every event updates its restaurant's row (the seq), leaving a dead version
-- behind; lookups of the row walk the versions until the page is pruned,
-- which PostgreSQL does when the page's free space falls below its fill
-- factor's reserve. Restaurants are few rows: a page held mostly free keeps
-- that walk short.
ALTER TABLE restaurants SET (fillfactor = 10);
