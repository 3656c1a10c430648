-- Modifier catalogue and allergens (issue 19).
--
-- Allergens are a set of the EU's 14 declarable allergens, stored as a bit
-- mask (bit n is the n-th code of `Allergen` in protocol/src/api/modifiers.rs,
-- in that list's order): an order line's allergens are the union of its
-- item's and its chosen options' masks.
ALTER TABLE menu_items ADD COLUMN allergens BIGINT NOT NULL DEFAULT 0
    CHECK (allergens BETWEEN 0 AND 16383);

-- A group of choices for one item ("Doneness", "Extras"): at least
-- `min_choices` (0 = optional) and at most `max_choices` of its options.
CREATE TABLE modifier_groups (
    id             INTEGER PRIMARY KEY,
    restaurant_id  BIGINT  NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    menu_item_id   BIGINT  NOT NULL,
    name           TEXT    NOT NULL,
    min_choices    BIGINT  NOT NULL CHECK (min_choices >= 0),
    max_choices    BIGINT  NOT NULL CHECK (max_choices >= 1 AND max_choices >= min_choices),
    position       BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (restaurant_id, id),
    UNIQUE (restaurant_id, menu_item_id, name),
    FOREIGN KEY (restaurant_id, menu_item_id) REFERENCES menu_items (restaurant_id, id)
        ON DELETE CASCADE
);

-- One choice of a group, with what it adds to (or takes off) the item's price.
CREATE TABLE modifier_options (
    id                 INTEGER PRIMARY KEY,
    restaurant_id      BIGINT  NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    group_id           BIGINT  NOT NULL,
    name               TEXT    NOT NULL,
    price_delta_cents  BIGINT  NOT NULL,
    allergens          BIGINT  NOT NULL DEFAULT 0 CHECK (allergens BETWEEN 0 AND 16383),
    position           BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (restaurant_id, id),
    UNIQUE (restaurant_id, group_id, name),
    FOREIGN KEY (restaurant_id, group_id) REFERENCES modifier_groups (restaurant_id, id)
        ON DELETE CASCADE
);
CREATE INDEX modifier_options_by_group ON modifier_options (restaurant_id, group_id);

-- What a line chose, as it was when ordered (JSON array of
-- {group_id, group, option_id, name, price_delta_cents}), and the allergens
-- it carries (mask as above).
ALTER TABLE order_lines ADD COLUMN choices TEXT NOT NULL DEFAULT '[]';
ALTER TABLE order_lines ADD COLUMN allergens BIGINT NOT NULL DEFAULT 0;
