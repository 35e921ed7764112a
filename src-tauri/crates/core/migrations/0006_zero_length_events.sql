-- Schema version 6: timed appointments may end when they start.
--
-- Google allows events whose end equals their start (reminders, events created with
-- `endTimeUnspecified`); version 1's CHECK (end_ms > start_ms) refused them, so such an
-- event never imported and its error came back every pass. Users still have to give an
-- end after the start (the store's validation says so in words); only rows written by
-- sync may be zero-length. Timed rows only: all-day spans keep their own dates check in
-- the validation, and their start_ms/end_ms are whole days apart.
--
-- SQLite cannot change a CHECK in place: the table is rebuilt the documented way (new
-- table, copy, drop, rename), with foreign keys off while it runs (the store turns them
-- off around migrations) and `PRAGMA foreign_key_check` after (the migration asks for
-- it). row_key values are copied, so the external-content search index still matches;
-- it is rebuilt anyway, from the new table, to leave nothing to chance.

CREATE TABLE appointments_new (
    row_key         INTEGER PRIMARY KEY,  -- stable rowid for the search index
    id              TEXT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    all_day         INTEGER NOT NULL CHECK (all_day IN (0, 1)),
    start_ms        INTEGER NOT NULL,
    end_ms          INTEGER NOT NULL,
    start_date      TEXT,
    end_date        TEXT,
    span_end_ms     INTEGER NOT NULL,
    timezone        TEXT NOT NULL,
    location        TEXT NOT NULL DEFAULT '',
    notes           TEXT NOT NULL DEFAULT '',
    lead_name       TEXT NOT NULL DEFAULT '',
    lead_email      TEXT NOT NULL DEFAULT '',
    lead_phone      TEXT NOT NULL DEFAULT '',
    -- Spelled out rather than IN (...): SQLite builds a temporary b-tree for an IN list
    -- of three or more values each time the CHECK runs, once per row written.
    status          TEXT NOT NULL
                    CHECK (status = 'booked' OR status = 'cancelled' OR status = 'done'),
    origin          TEXT NOT NULL CHECK (origin IN ('crm', 'google')),
    recurrence      TEXT,                 -- JSON array of RFC 5545 lines, verbatim
    series_id       TEXT REFERENCES appointments (id) ON DELETE CASCADE,
    original_start  TEXT,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL,
    CHECK (end_ms >= start_ms),
    CHECK (all_day = 0 OR end_ms > start_ms),
    CHECK ((series_id IS NULL) = (original_start IS NULL)),
    CHECK ((all_day = 1) = (start_date IS NOT NULL AND end_date IS NOT NULL))
);

INSERT INTO appointments_new (row_key, id, title, all_day, start_ms, end_ms, start_date,
    end_date, span_end_ms, timezone, location, notes, lead_name, lead_email, lead_phone,
    status, origin, recurrence, series_id, original_start, created_at_ms, updated_at_ms)
SELECT row_key, id, title, all_day, start_ms, end_ms, start_date,
    end_date, span_end_ms, timezone, location, notes, lead_name, lead_email, lead_phone,
    status, origin, recurrence, series_id, original_start, created_at_ms, updated_at_ms
FROM appointments ORDER BY row_key;

-- Drops version 4's indices and version 5's triggers with it.
DROP TABLE appointments;
ALTER TABLE appointments_new RENAME TO appointments;

-- Version 4's indices.
CREATE INDEX appointments_by_start ON appointments (start_ms, id, span_end_ms);
CREATE INDEX appointments_by_span_end ON appointments (span_end_ms, start_ms);
CREATE INDEX appointments_by_status ON appointments (status, start_ms, id, span_end_ms);
CREATE INDEX appointments_by_origin ON appointments (origin, start_ms, id, span_end_ms);
CREATE INDEX appointments_by_series ON appointments (series_id) WHERE series_id IS NOT NULL;
CREATE INDEX appointments_recurring ON appointments (start_ms) WHERE recurrence IS NOT NULL;

-- Version 5's triggers (see 0005_search_queue.sql).
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

-- The index from the rows as they are; nothing is left waiting.
INSERT INTO appointment_search (appointment_search) VALUES ('rebuild');
DELETE FROM search_pending;
