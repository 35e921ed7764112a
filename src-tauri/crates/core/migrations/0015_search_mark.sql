-- Schema version 15: a new row is found by where the search index stands, not noted by a
-- trigger (issue #18, the import floor).
--
-- Version 5 noted every inserted row in search_pending through an AFTER INSERT trigger:
-- a note row per appointment, written and deleted again in the same transaction, and,
-- because a statement that fires a trigger is journalled, a statement journal per
-- insert. Appointment rows are keyed by an ascending integer (row_key: SQLite gives a new
-- row the highest key plus one), so the rows the index has not seen are exactly those
-- above the highest key it has seen. `search_mark` keeps that key; `Store::write`'s flush
-- indexes everything above it with one `INSERT … SELECT` and sets the mark to the
-- highest key there is.
--
-- No insert trigger is left. A key at or below the mark can only come again after the
-- highest rows were deleted: deleted since the last flush, they are noted (the delete
-- trigger) and the flush indexes whatever row holds the key now; deleted before it, the
-- mark came down with them (it is the highest key, not the highest ever), so the new
-- key is above it. The update and delete triggers note only rows at or below the mark:
-- the index holds those and needs their old text to remove them.

CREATE TABLE search_mark (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_upto INTEGER NOT NULL
);

-- Rows still noted as not indexed are at or below the mark and stay noted; the flush
-- indexes them from search_pending as before.
INSERT INTO search_mark (id, indexed_upto)
VALUES (1, (SELECT COALESCE(MAX(row_key), 0) FROM appointments));

DROP TRIGGER appointments_search_insert;
DROP TRIGGER appointments_search_delete;
DROP TRIGGER appointments_search_update;

CREATE TRIGGER appointments_search_delete AFTER DELETE ON appointments
WHEN old.row_key <= (SELECT indexed_upto FROM search_mark WHERE id = 1) BEGIN
    INSERT OR IGNORE INTO search_pending (row_key, indexed, title, lead_name, lead_email, lead_phone)
    VALUES (old.row_key, 1, old.title, old.lead_name, old.lead_email, old.lead_phone);
END;

CREATE TRIGGER appointments_search_update
AFTER UPDATE OF title, lead_name, lead_email, lead_phone ON appointments
WHEN old.row_key <= (SELECT indexed_upto FROM search_mark WHERE id = 1) BEGIN
    INSERT OR IGNORE INTO search_pending (row_key, indexed, title, lead_name, lead_email, lead_phone)
    VALUES (old.row_key, 1, old.title, old.lead_name, old.lead_email, old.lead_phone);
END;
