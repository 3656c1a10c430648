-- Checks and payments (issue 18).
--
-- Amounts are integer minor units of the restaurant's currency; rates are
-- basis points. A check's amounts are computed by the hub (app/checks) and
-- stored with it so that a payment's conditional update, the analytics and
-- the receipts read the same figures.

CREATE TABLE tax_rates (
    id             INTEGER PRIMARY KEY,
    restaurant_id  BIGINT  NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    rate_bp        BIGINT  NOT NULL CHECK (rate_bp BETWEEN 0 AND 100000),
    included       BOOLEAN NOT NULL CHECK (included IN (0, 1)),
    UNIQUE (restaurant_id, name),
    UNIQUE (restaurant_id, id)
);
-- A category's rate, and an item's own rate overriding it. Deleting a rate
-- clears them (storage does it in the same transaction).
ALTER TABLE menu_categories ADD COLUMN tax_rate_id BIGINT;
ALTER TABLE menu_items ADD COLUMN tax_rate_id BIGINT;

ALTER TABLE restaurants ADD COLUMN service_charge_bp BIGINT NOT NULL DEFAULT 0
    CHECK (service_charge_bp BETWEEN 0 AND 10000);
-- The service charge applies to checks with at least this many covers (0: all).
ALTER TABLE restaurants ADD COLUMN service_charge_min_covers BIGINT NOT NULL DEFAULT 0;
-- A discount or comp worth more than this needs a manager's approval when a
-- waiter or cashier gives it.
ALTER TABLE restaurants ADD COLUMN discount_limit_cents BIGINT NOT NULL DEFAULT 1000;
-- The last receipt number given per restaurant: gap-free, in the order
-- checks were paid. A row of its own, not a column of `restaurants`: a
-- payment takes it before the statistics, the audit trail and the event
-- seq, which every other write takes in that order and the seq last, so a
-- lock on the restaurant row here would invert that order (a deadlock
-- under load, found by bench/payments.sh).
CREATE TABLE receipt_counters (
    restaurant_id  BIGINT PRIMARY KEY REFERENCES restaurants (id) ON DELETE CASCADE,
    last_no        BIGINT NOT NULL
);
-- The secret the payment provider signs its webhooks with.
ALTER TABLE restaurants ADD COLUMN payment_webhook_secret TEXT;
-- A manager's PIN (argon2 hash) for approving at the till.
ALTER TABLE users ADD COLUMN pin_hash TEXT;
ALTER TABLE order_lines ADD COLUMN seat BIGINT;
ALTER TABLE orders ADD COLUMN check_id BIGINT;
CREATE INDEX orders_by_check ON orders (restaurant_id, check_id);
CREATE INDEX orders_by_table ON orders (restaurant_id, table_id, status);
-- A check's lines by their orders (SQLite otherwise reads them through
-- every line of the restaurant).
CREATE INDEX order_lines_by_restaurant_order ON order_lines (restaurant_id, order_id);

CREATE TABLE checks (
    id                  INTEGER PRIMARY KEY,
    restaurant_id       BIGINT  NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    table_id            BIGINT,
    order_id            BIGINT,
    status              TEXT    NOT NULL CHECK (status IN ('open', 'partially_paid', 'paid', 'closed', 'void')),
    covers              BIGINT  NOT NULL DEFAULT 0,
    split               TEXT,    -- JSON: how it is split, or NULL
    subtotal_cents      BIGINT  NOT NULL DEFAULT 0,
    discount_cents      BIGINT  NOT NULL DEFAULT 0,
    comp_cents          BIGINT  NOT NULL DEFAULT 0,
    service_cents       BIGINT  NOT NULL DEFAULT 0,
    tax_cents           BIGINT  NOT NULL DEFAULT 0,
    total_cents         BIGINT  NOT NULL DEFAULT 0,
    paid_cents          BIGINT  NOT NULL DEFAULT 0 CHECK (paid_cents >= 0),
    tip_cents           BIGINT  NOT NULL DEFAULT 0,
    refunded_cents      BIGINT  NOT NULL DEFAULT 0,
    receipt_no          BIGINT,
    void_reason         TEXT,
    opened_by           BIGINT,
    opened_at           BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    paid_at             BIGINT,
    paid_day            TEXT,
    closed_at           BIGINT,
    -- The check as it was when it stopped being open (paid or void): its
    -- lines, taxes and figures, JSON. A paid check keeps them whatever
    -- tax rates or settings change later; reopening clears it.
    frozen              TEXT,
    UNIQUE (restaurant_id, id),
    UNIQUE (restaurant_id, receipt_no)
);
-- One open check per table, one live check per takeaway order.
CREATE UNIQUE INDEX checks_open_table ON checks (restaurant_id, table_id)
    WHERE table_id IS NOT NULL AND status IN ('open', 'partially_paid');
CREATE UNIQUE INDEX checks_order ON checks (restaurant_id, order_id)
    WHERE order_id IS NOT NULL AND status <> 'void';
CREATE INDEX checks_paid_day ON checks (restaurant_id, paid_day);
-- The open checks the dashboard sums with every snapshot.
CREATE INDEX checks_open ON checks (restaurant_id) WHERE status IN ('open', 'partially_paid');

CREATE TABLE check_discounts (
    id             INTEGER PRIMARY KEY,
    restaurant_id  BIGINT  NOT NULL,
    check_id       BIGINT  NOT NULL,
    line_id        BIGINT,
    kind           TEXT    NOT NULL CHECK (kind IN ('amount', 'percent')),
    value          BIGINT  NOT NULL CHECK (value > 0),
    comp           BOOLEAN NOT NULL CHECK (comp IN (0, 1)),
    reason         TEXT    NOT NULL,
    by_user        BIGINT,
    approved_by    BIGINT,
    created_at     BIGINT  NOT NULL,
    FOREIGN KEY (restaurant_id, check_id) REFERENCES checks (restaurant_id, id) ON DELETE CASCADE
);
CREATE INDEX check_discounts_by_check ON check_discounts (restaurant_id, check_id);

CREATE TABLE payments (
    id               INTEGER PRIMARY KEY,
    restaurant_id    BIGINT  NOT NULL,
    check_id         BIGINT  NOT NULL,
    part             BIGINT,
    method           TEXT    NOT NULL CHECK (method IN ('cash', 'card', 'other')),
    amount_cents     BIGINT  NOT NULL CHECK (amount_cents > 0),
    tip_cents        BIGINT  NOT NULL CHECK (tip_cents >= 0),
    tendered_cents   BIGINT,
    change_cents     BIGINT  NOT NULL DEFAULT 0,
    refunded_cents   BIGINT  NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0 AND refunded_cents <= amount_cents + tip_cents),
    reference        TEXT,
    idempotency_key  TEXT    NOT NULL,
    request_hash     TEXT    NOT NULL,
    by_user          BIGINT,
    by_role          TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    business_day     TEXT    NOT NULL,
    UNIQUE (restaurant_id, idempotency_key),
    FOREIGN KEY (restaurant_id, check_id) REFERENCES checks (restaurant_id, id) ON DELETE CASCADE
);
CREATE INDEX payments_by_check ON payments (restaurant_id, check_id);
CREATE INDEX payments_by_day ON payments (restaurant_id, business_day);

CREATE TABLE refunds (
    id             INTEGER PRIMARY KEY,
    restaurant_id  BIGINT  NOT NULL,
    payment_id     BIGINT  NOT NULL,
    check_id       BIGINT  NOT NULL,
    amount_cents   BIGINT  NOT NULL CHECK (amount_cents > 0),
    reason         TEXT    NOT NULL,
    by_user        BIGINT,
    created_at     BIGINT  NOT NULL,
    business_day   TEXT    NOT NULL
);
CREATE INDEX refunds_by_day ON refunds (restaurant_id, business_day);

-- Paying at the table through an external provider: the intent the hub
-- created, and the signatures of webhooks already taken (replays refused).
CREATE TABLE payment_intents (
    id               TEXT    PRIMARY KEY,
    restaurant_id    BIGINT  NOT NULL,
    check_id         BIGINT  NOT NULL,
    part             BIGINT,
    amount_cents     BIGINT  NOT NULL,
    tip_cents        BIGINT  NOT NULL,
    currency         TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded')),
    payment_id       BIGINT,
    idempotency_key  TEXT    NOT NULL,
    created_by       TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    expires_at       BIGINT  NOT NULL,
    UNIQUE (restaurant_id, idempotency_key),
    FOREIGN KEY (restaurant_id, check_id) REFERENCES checks (restaurant_id, id) ON DELETE CASCADE
);
CREATE TABLE webhook_signatures (
    restaurant_id  BIGINT NOT NULL,
    signature      TEXT   NOT NULL,
    at             BIGINT NOT NULL,
    PRIMARY KEY (restaurant_id, signature)
);
