-- The audit trail: security- and money-relevant actions, append only, one
-- hash chain per restaurant (see src/storage/audit.rs for the hash).
-- before_json and after_json are JSON kept as TEXT, not JSONB: the hash
-- covers the exact text written, which JSONB would normalise.

CREATE TABLE audit_log (
    restaurant_id   BIGINT NOT NULL REFERENCES restaurants (id),
    seq             BIGINT NOT NULL CHECK (seq > 0),
    at              BIGINT NOT NULL,
    action          TEXT   NOT NULL,
    actor           TEXT,
    actor_role      TEXT,
    client_address  TEXT,
    target          TEXT,
    before_json     TEXT,
    after_json      TEXT,
    reason          TEXT,
    prev_hash       TEXT   NOT NULL,
    hash            TEXT   NOT NULL,
    PRIMARY KEY (restaurant_id, seq)
);

CREATE INDEX audit_log_at ON audit_log (restaurant_id, at);
CREATE INDEX audit_log_action ON audit_log (restaurant_id, action, seq);
CREATE INDEX audit_log_actor ON audit_log (restaurant_id, actor, seq);

-- Each restaurant's chain head: the last entry's seq and hash. An append
-- locks this row, so two appends cannot both take the same seq or chain
-- from the same hash, on any number of instances. pruned_through: the last
-- seq deleted by retention; the oldest entry kept must follow it.
CREATE TABLE audit_heads (
    restaurant_id   BIGINT PRIMARY KEY REFERENCES restaurants (id),
    seq             BIGINT NOT NULL,
    hash            TEXT   NOT NULL,
    pruned_through  BIGINT NOT NULL DEFAULT 0
);

-- Append only, enforced here too: no statement of the hub's changes an
-- entry, and only retention deletes one (up to the head's pruned_through,
-- which it raises first). Someone who can drop this trigger can change the
-- table; the hash chain is what shows it.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.seq <= (
        SELECT pruned_through FROM audit_heads WHERE restaurant_id = OLD.restaurant_id
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append only (entry % of restaurant %)',
        OLD.seq, OLD.restaurant_id;
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
