-- The menu's version (issue 22): a number every change to what a placement
-- reads of a restaurant's menu adds one to, in the transaction that makes
-- the change, so a hub can keep the facts it read (the items' names, prices,
-- stations, courses, prep times, allergens and modifiers, the stations'
-- ticket thresholds, the list of tables) and read per order only the version
-- and what changes with every order (an item's stock and availability, the
-- table's status). Counted with callgrind, the opening read's menu part was
-- about a sixth of PostgreSQL's instructions per order (BENCHMARKS.md,
-- "Session 12 of issue 22"). A constant default adds the column without
-- rewriting the table.
--
-- The triggers keep the rule for every writer, today's statements and any
-- later one, and for writes made behind the hub's back. They fire on the
-- facts' columns only: taking stock sets `stock` and `available`, and seating
-- a table its `status`, neither of which moves the version. They are
-- deferred to the commit: the restaurant's row is the last lock a
-- transaction takes (the event seq's, which it may hold already), after any
-- audit chain's head, the order every writer takes them in. Fired when the
-- change is made, a menu change would hold the restaurant's row while it
-- waited for the audit head, and a payment holding the head would wait for
-- the row: a deadlock. SQLite has no version: its placements read the facts
-- in-process, where the read costs no round trip.
ALTER TABLE restaurants ADD COLUMN menu_version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION restohub_menu_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE restaurants SET menu_version = menu_version + 1
     WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.restaurant_id ELSE NEW.restaurant_id END;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER menu_version_items AFTER INSERT OR DELETE ON menu_items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION restohub_menu_changed();
CREATE CONSTRAINT TRIGGER menu_version_item_facts
    AFTER UPDATE OF restaurant_id, category_id, station_id, name, price_cents,
        low_stock_threshold, prep_seconds, allergens ON menu_items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION restohub_menu_changed();
CREATE CONSTRAINT TRIGGER menu_version_categories
    AFTER INSERT OR UPDATE OR DELETE ON menu_categories
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION restohub_menu_changed();
CREATE CONSTRAINT TRIGGER menu_version_stations AFTER INSERT OR UPDATE OR DELETE ON stations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION restohub_menu_changed();
CREATE CONSTRAINT TRIGGER menu_version_groups
    AFTER INSERT OR UPDATE OR DELETE ON modifier_groups
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION restohub_menu_changed();
CREATE CONSTRAINT TRIGGER menu_version_options
    AFTER INSERT OR UPDATE OR DELETE ON modifier_options
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION restohub_menu_changed();
CREATE CONSTRAINT TRIGGER menu_version_tables AFTER INSERT OR DELETE ON dining_tables
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION restohub_menu_changed();
CREATE CONSTRAINT TRIGGER menu_version_table_ids AFTER UPDATE OF id, restaurant_id ON dining_tables
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION restohub_menu_changed();
