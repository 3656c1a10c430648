-- The rooms of each logged event, one row per (event, room), written in the
-- event's transaction: a resume reads the seqs of its own rooms' events
-- through this index instead of scanning the restaurant's whole log and
-- filtering it (issue 17, item 4: 20 parallel resumes of a guest over a log
-- of 10,000 events took the other clients' p95 from 9 ms to 1.09 s).
-- Retention prunes it with the events.
CREATE TABLE event_rooms (
    restaurant_id  INTEGER NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    room           TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    PRIMARY KEY (restaurant_id, room, seq)
) WITHOUT ROWID;

-- Events logged before this migration (events.rooms is a JSON array of
-- room names; a row that is not JSON fails the migration, loudly).
INSERT INTO event_rooms (restaurant_id, room, seq)
SELECT e.restaurant_id, r.value, e.seq
FROM events AS e, json_each(e.rooms) AS r
WHERE true
ON CONFLICT DO NOTHING;
