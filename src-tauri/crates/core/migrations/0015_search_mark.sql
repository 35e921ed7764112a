-- Schema version 15: a new row is found by where the search index stands, not noted by a
-- trigger (issue #18, the import floor).
--
-- Version 5 noted every inserted row in search_pending, a row per appointment written
-- and deleted again in the same transaction: for a 10,000-event import, 10,000 note rows
-- and their b-tree churn, a tenth of the import. Appointment rows are keyed by an
-- ascending integer (row_key), so the rows the index has not seen yet are, apart from a
-- reused key, exactly those above the highest key it has seen. `search_mark` keeps that
-- key; `Store::write`'s flush indexes everything above it with one `INSERT … SELECT` and
-- moves the mark. The triggers now note only rows at or below the mark: edits and deletes
-- of indexed rows (the index needs the old text to remove), and a key reused after the
-- highest row was deleted.

CREATE TABLE search_mark (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_upto INTEGER NOT NULL
);

-- Rows still noted as not indexed are below the mark and stay noted; the flush indexes
-- them from search_pending as before.
INSERT INTO search_mark (id, indexed_upto)
VALUES (1, (SELECT COALESCE(MAX(row_key), 0) FROM appointments));

DROP TRIGGER appointments_search_insert;
DROP TRIGGER appointments_search_delete;
DROP TRIGGER appointments_search_update;

CREATE TRIGGER appointments_search_insert AFTER INSERT ON appointments
WHEN new.row_key <= (SELECT indexed_upto FROM search_mark WHERE id = 1) BEGIN
    INSERT OR IGNORE INTO search_pending (row_key, indexed) VALUES (new.row_key, 0);
END;

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
