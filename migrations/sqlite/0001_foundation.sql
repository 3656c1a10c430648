-- Restaurants, staff, sessions, and what a restaurant configures.
-- The same logical schema as migrations/postgres; see the notes there.
-- Times are UTC milliseconds since the Unix epoch.

CREATE TABLE restaurants (
    id          INTEGER PRIMARY KEY,
    slug        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    timezone    TEXT    NOT NULL,
    currency    TEXT    NOT NULL CHECK (length(currency) = 3),
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    restaurant_id  INTEGER NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    email          TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('owner', 'manager', 'waiter', 'chef', 'cashier')),
    password_hash  TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    UNIQUE (restaurant_id, email),
    UNIQUE (restaurant_id, id)
);

CREATE TABLE login_attempts (
    restaurant_id  INTEGER NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    email          TEXT    NOT NULL,
    failures       INTEGER NOT NULL,
    locked_until   INTEGER,
    PRIMARY KEY (restaurant_id, email)
);

CREATE TABLE refresh_tokens (
    id             INTEGER PRIMARY KEY,
    restaurant_id  INTEGER NOT NULL,
    user_id        INTEGER NOT NULL,
    family         TEXT    NOT NULL,
    token_hash     TEXT    NOT NULL UNIQUE,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    revoked_at     INTEGER,
    FOREIGN KEY (restaurant_id, user_id) REFERENCES users (restaurant_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);

CREATE TABLE stations (
    id             INTEGER PRIMARY KEY,
    restaurant_id  INTEGER NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    UNIQUE (restaurant_id, name),
    UNIQUE (restaurant_id, id)
);

CREATE TABLE menu_categories (
    id             INTEGER PRIMARY KEY,
    restaurant_id  INTEGER NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    position       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (restaurant_id, name),
    UNIQUE (restaurant_id, id)
);

CREATE TABLE menu_items (
    id                   INTEGER PRIMARY KEY,
    restaurant_id        INTEGER NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    category_id          INTEGER,
    station_id           INTEGER,
    name                 TEXT    NOT NULL,
    description          TEXT    NOT NULL DEFAULT '',
    price_cents          INTEGER NOT NULL CHECK (price_cents >= 0),
    stock                INTEGER CHECK (stock >= 0),
    low_stock_threshold  INTEGER NOT NULL DEFAULT 0 CHECK (low_stock_threshold >= 0),
    available            BOOLEAN NOT NULL DEFAULT 1 CHECK (available IN (0, 1)),
    UNIQUE (restaurant_id, id),
    FOREIGN KEY (restaurant_id, category_id) REFERENCES menu_categories (restaurant_id, id),
    FOREIGN KEY (restaurant_id, station_id) REFERENCES stations (restaurant_id, id)
);
CREATE INDEX menu_items_category ON menu_items (restaurant_id, category_id);
CREATE INDEX menu_items_station ON menu_items (restaurant_id, station_id);

CREATE TABLE dining_tables (
    id             INTEGER PRIMARY KEY,
    restaurant_id  INTEGER NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    label          TEXT    NOT NULL,
    seats          INTEGER NOT NULL CHECK (seats > 0),
    status         TEXT    NOT NULL DEFAULT 'free' CHECK (status IN ('free', 'occupied', 'reserved', 'cleaning')),
    guest_code     TEXT    NOT NULL UNIQUE,
    UNIQUE (restaurant_id, label),
    UNIQUE (restaurant_id, id)
);
