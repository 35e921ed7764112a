-- Schema version 5: the search index is brought up to date once per transaction instead
-- of once per row.
--
-- Version 2's triggers wrote each row into the FTS5 index as it changed. The sync engine
-- applies a page of up to 2,500 Google events with a SAVEPOINT per event (so one bad
-- event rolls back alone), and FTS5 flushes its pending terms to a new on-disk segment at
-- every savepoint once it has been written to in a transaction: a 10,000-event import
-- spent over a third of its time writing and merging tiny index segments.
--
-- Now the triggers only note which rows changed (and, for rows the index already holds,
-- the text it holds for them: an external-content FTS5 'delete' needs the old values).
-- `Store::write` turns the notes into index changes with two set-based statements just
-- before it commits, so every committed transaction leaves the index exact. Any writer
-- is covered, even plain SQL; notes left by a writer that does not go through
-- `Store::write` are applied by the next one (and by `Store::open`).

DROP TRIGGER appointments_search_insert;
DROP TRIGGER appointments_search_delete;
DROP TRIGGER appointments_search_update;

-- One row per appointment row changed since the index was last brought up to date.
-- `indexed` = 1: the index holds the row with the text in the other columns (the first
-- note of a row wins, so this is the text as indexed, whatever happened after).
CREATE TABLE search_pending (
    row_key     INTEGER PRIMARY KEY,
    indexed     INTEGER NOT NULL CHECK (indexed IN (0, 1)),
    title       TEXT,
    lead_name   TEXT,
    lead_email  TEXT,
    lead_phone  TEXT
);

CREATE TRIGGER appointments_search_insert AFTER INSERT ON appointments BEGIN
    INSERT OR IGNORE INTO search_pending (row_key, indexed) VALUES (new.row_key, 0);
END;

CREATE TRIGGER appointments_search_delete AFTER DELETE ON appointments BEGIN
    INSERT OR IGNORE INTO search_pending (row_key, indexed, title, lead_name, lead_email, lead_phone)
    VALUES (old.row_key, 1, old.title, old.lead_name, old.lead_email, old.lead_phone);
END;

CREATE TRIGGER appointments_search_update
AFTER UPDATE OF title, lead_name, lead_email, lead_phone ON appointments BEGIN
    INSERT OR IGNORE INTO search_pending (row_key, indexed, title, lead_name, lead_email, lead_phone)
    VALUES (old.row_key, 1, old.title, old.lead_name, old.lead_email, old.lead_phone);
END;
