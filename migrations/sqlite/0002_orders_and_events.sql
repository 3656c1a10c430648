-- Orders, their lines, and the durable per-restaurant event log (see the PostgreSQL twin for notes).

-- The last event seq handed out per restaurant. Incremented in the same
-- transaction as the change; the row lock makes seq follow commit order.
ALTER TABLE restaurants ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0;

CREATE TABLE events (
    restaurant_id  INTEGER NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    kind           TEXT   NOT NULL,
    at             INTEGER NOT NULL,
    rooms          TEXT   NOT NULL,  -- JSON array of room names
    data           TEXT   NOT NULL,  -- JSON
    PRIMARY KEY (restaurant_id, seq)
);
CREATE INDEX events_age ON events (at);

CREATE TABLE orders (
    id               INTEGER PRIMARY KEY,
    restaurant_id    INTEGER NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    table_id         INTEGER,
    source           TEXT   NOT NULL CHECK (source IN ('dine_in', 'takeaway', 'qr')),
    status           TEXT   NOT NULL CHECK (status IN ('placed', 'in_progress', 'ready', 'served', 'closed', 'cancelled')),
    note             TEXT   NOT NULL,
    total_cents      INTEGER NOT NULL CHECK (total_cents >= 0),
    placed_by_user   INTEGER,
    placed_by_role   TEXT   NOT NULL,
    idempotency_key  TEXT   NOT NULL,
    request_hash     TEXT   NOT NULL,
    placed_seq       INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (restaurant_id, idempotency_key),
    UNIQUE (restaurant_id, id),
    FOREIGN KEY (restaurant_id, table_id) REFERENCES dining_tables (restaurant_id, id)
);
CREATE INDEX orders_by_status ON orders (restaurant_id, status);

CREATE TABLE order_lines (
    id                INTEGER PRIMARY KEY,
    restaurant_id     INTEGER NOT NULL,
    order_id          INTEGER NOT NULL,
    menu_item_id      INTEGER NOT NULL,
    station_id        INTEGER,
    name              TEXT   NOT NULL,
    unit_price_cents  INTEGER NOT NULL CHECK (unit_price_cents >= 0),
    qty               INTEGER NOT NULL CHECK (qty BETWEEN 1 AND 99),
    note              TEXT   NOT NULL,
    modifiers         TEXT   NOT NULL,  -- JSON array of strings
    status            TEXT   NOT NULL CHECK (status IN ('queued', 'preparing', 'ready', 'served', 'voided')),
    FOREIGN KEY (restaurant_id, order_id) REFERENCES orders (restaurant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (restaurant_id, menu_item_id) REFERENCES menu_items (restaurant_id, id)
);
CREATE INDEX order_lines_by_order ON order_lines (order_id);
