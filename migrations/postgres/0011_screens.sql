-- Proof of display and notifications to people (issue 19).

-- Per station: the highest seq a screen there has acknowledged (seen_seq),
-- the one before the last advance (prev_seq: the advance's range starts
-- there, so each order is announced seen once whichever instance advanced
-- it), and whether the station is flagged unattended. Rows are written by
-- a coalesced flush, never per acknowledgement.
CREATE TABLE station_watch (
    restaurant_id  BIGINT  NOT NULL,
    station_id     BIGINT  NOT NULL,
    seen_seq       BIGINT  NOT NULL DEFAULT 0,
    prev_seq       BIGINT  NOT NULL DEFAULT 0,
    seen_at        BIGINT  NOT NULL DEFAULT 0,
    unattended     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (restaurant_id, station_id),
    FOREIGN KEY (restaurant_id, station_id) REFERENCES stations (restaurant_id, id) ON DELETE CASCADE
);

-- Per station and screen: what it last acknowledged and when, and whether
-- it is flagged behind.
CREATE TABLE station_screens (
    restaurant_id  BIGINT  NOT NULL,
    station_id     BIGINT  NOT NULL,
    screen         TEXT    NOT NULL,
    seen_seq       BIGINT  NOT NULL,
    seen_at        BIGINT  NOT NULL,
    behind         BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (restaurant_id, station_id, screen),
    FOREIGN KEY (restaurant_id, station_id) REFERENCES stations (restaurant_id, id) ON DELETE CASCADE
);

-- A table's waiter call: open until accepted; a call within two minutes of
-- an open one is the same call.
CREATE TABLE table_calls (
    restaurant_id  BIGINT NOT NULL,
    table_id       BIGINT NOT NULL,
    called_at      BIGINT NOT NULL,
    accepted_by    BIGINT,
    accepted_at    BIGINT,
    PRIMARY KEY (restaurant_id, table_id),
    FOREIGN KEY (restaurant_id, table_id) REFERENCES dining_tables (restaurant_id, id) ON DELETE CASCADE
);

-- The orders a station's seen watermark passed over.
CREATE INDEX orders_by_placed_seq ON orders (restaurant_id, placed_seq);
