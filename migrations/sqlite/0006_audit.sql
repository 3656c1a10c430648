-- The audit trail: security- and money-relevant actions, append only, one
-- hash chain per restaurant. The same logical schema as
-- migrations/postgres; see the notes there.

CREATE TABLE audit_log (
    restaurant_id   INTEGER NOT NULL REFERENCES restaurants (id),
    seq             INTEGER NOT NULL CHECK (seq > 0),
    at              INTEGER NOT NULL,
    action          TEXT    NOT NULL,
    actor           TEXT,
    actor_role      TEXT,
    client_address  TEXT,
    target          TEXT,
    before_json     TEXT,
    after_json      TEXT,
    reason          TEXT,
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL,
    PRIMARY KEY (restaurant_id, seq)
);

CREATE INDEX audit_log_at ON audit_log (restaurant_id, at);
CREATE INDEX audit_log_action ON audit_log (restaurant_id, action, seq);
CREATE INDEX audit_log_actor ON audit_log (restaurant_id, actor, seq);

CREATE TABLE audit_heads (
    restaurant_id   INTEGER PRIMARY KEY REFERENCES restaurants (id),
    seq             INTEGER NOT NULL,
    hash            TEXT    NOT NULL,
    pruned_through  INTEGER NOT NULL DEFAULT 0
);

-- Append only, enforced here too (see migrations/postgres).
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.seq > COALESCE(
    (SELECT pruned_through FROM audit_heads WHERE restaurant_id = OLD.restaurant_id), 0)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append only');
END;
