-- Sessions that end when they should (issue 17).
--
-- An access token names the version of its account (or the visit of its
-- guest's table) it was issued for. Changing a role or a password, deleting
-- the account, or ending the table's visit moves past that version and writes
-- a revocation; every instance tails `revocations` and refuses the older
-- tokens at once and closes their sockets.
ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dining_tables ADD COLUMN visit INTEGER NOT NULL DEFAULT 1;

-- What was revoked: an account's tokens below a version, one login session
-- (a refresh-token family) or a table's guest tokens below a visit. Kept
-- only as long as the tokens it ends could live; not tied to the restaurant
-- by a foreign key, so deleting a row it names keeps it.
CREATE TABLE revocations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    restaurant_id  INTEGER NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('account', 'session', 'table')),
    subject        TEXT    NOT NULL,
    below          INTEGER NOT NULL,
    at             INTEGER NOT NULL
);
CREATE INDEX revocations_at ON revocations (at);

-- Failed logins at a restaurant slug that does not exist, counted and
-- locked exactly like those of a real one (see login_attempts), so a lockout
-- tells nobody which slugs are real.
CREATE TABLE unknown_login_attempts (
    slug          TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    failures      INTEGER NOT NULL,
    locked_until  INTEGER,
    PRIMARY KEY (slug, email)
);

-- MFA (TOTP) for staff accounts; a restaurant may require it of owners and
-- managers. The secret is set once an enrolment is confirmed with a code;
-- `mfa_last_step` is the last time step a code was accepted for, so a code
-- is never accepted twice. Recovery codes are kept only as SHA-256 hashes.
ALTER TABLE users ADD COLUMN mfa_secret TEXT;
ALTER TABLE users ADD COLUMN mfa_pending_secret TEXT;
ALTER TABLE users ADD COLUMN mfa_last_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE restaurants ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE mfa_recovery_codes (
    restaurant_id  INTEGER NOT NULL,
    user_id        INTEGER NOT NULL,
    code_hash      TEXT   NOT NULL,
    used_at        INTEGER,
    PRIMARY KEY (restaurant_id, user_id, code_hash),
    FOREIGN KEY (restaurant_id, user_id) REFERENCES users (restaurant_id, id) ON DELETE CASCADE
);
