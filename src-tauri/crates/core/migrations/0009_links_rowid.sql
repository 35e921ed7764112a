-- Schema version 9: links become an ordinary (rowid) table.
--
-- Version 3 made `links` a WITHOUT ROWID table, stored in (calendar_id, event_id) order.
-- Its rows are large (two JSON snapshots and the event's text), so each insert that is
-- not in ascending event-id order lands inside a full page and splits it every few rows,
-- and an import writes its links in whatever order Google lists the events. Measured on
-- 10,000 links: 0.23–0.36 s as before, 0.16 s in a rowid table whatever the order — the
-- rows are appended and only the two small unique indices below take scattered inserts.
-- Every lookup keeps an index: (calendar_id, event_id) and appointment_id are UNIQUE.
-- No foreign key points to or from links, so the rebuild needs no foreign-key check.

CREATE TABLE links_new (
    appointment_id     TEXT NOT NULL UNIQUE,
    calendar_id        TEXT NOT NULL,
    event_id           TEXT NOT NULL,
    -- Google's etag at the last sync (sent as If-Match).
    etag               TEXT,
    crm_snapshot       TEXT NOT NULL CHECK (json_valid(crm_snapshot)),
    google_snapshot    TEXT NOT NULL CHECK (json_valid(google_snapshot)),
    synced_at          TEXT NOT NULL,
    last_error         TEXT,
    google_summary     TEXT,
    google_description TEXT,
    UNIQUE (calendar_id, event_id)
);

INSERT INTO links_new (appointment_id, calendar_id, event_id, etag, crm_snapshot,
    google_snapshot, synced_at, last_error, google_summary, google_description)
SELECT appointment_id, calendar_id, event_id, etag, crm_snapshot,
    google_snapshot, synced_at, last_error, google_summary, google_description
FROM links ORDER BY calendar_id, event_id;

DROP TABLE links;
ALTER TABLE links_new RENAME TO links;
