-- Kitchen timers and targets (issue 19).
--
-- Each station's caution and late thresholds, in seconds after a ticket's
-- clock starts, per order source. The hub computes every ticket's due time
-- from them (app/timers); the bounds are the API's, kept here too.
ALTER TABLE stations ADD COLUMN caution_dine_in_s BIGINT NOT NULL DEFAULT 300;
ALTER TABLE stations ADD COLUMN late_dine_in_s BIGINT NOT NULL DEFAULT 480;
ALTER TABLE stations ADD COLUMN caution_takeaway_s BIGINT NOT NULL DEFAULT 300;
ALTER TABLE stations ADD COLUMN late_takeaway_s BIGINT NOT NULL DEFAULT 480;
ALTER TABLE stations ADD COLUMN caution_qr_s BIGINT NOT NULL DEFAULT 300;
ALTER TABLE stations ADD COLUMN late_qr_s BIGINT NOT NULL DEFAULT 480;

-- Each station's ticket times on the dashboard count from order_lines.ready_at
-- (migration 0008: set when a line becomes ready, kept when served, cleared
-- by a recall).

-- The late-ticket sweeper looks across restaurants at orders still being
-- prepared, oldest first.
CREATE INDEX orders_in_kitchen_by_age ON orders (created_at)
    WHERE status IN ('placed', 'in_progress');

-- A ticket (one order at one station) that went late: one row, written by
-- whichever instance's sweeper noticed first, in the transaction that
-- appends its ticket.late event, so the event is sent once.
CREATE TABLE kitchen_ticket_alarms (
    restaurant_id  BIGINT NOT NULL,
    order_id       BIGINT NOT NULL,
    station_id     BIGINT NOT NULL,
    late_at        BIGINT NOT NULL,
    PRIMARY KEY (restaurant_id, order_id, station_id),
    FOREIGN KEY (restaurant_id, order_id) REFERENCES orders (restaurant_id, id) ON DELETE CASCADE
);
