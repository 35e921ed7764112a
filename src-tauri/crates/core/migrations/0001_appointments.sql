-- Schema version 1: appointments, the outbox the sync engine drains, settings.
--
-- Times: start_ms/end_ms are UTC instants in unix milliseconds (integers sort and compare
-- fast and index small). For all-day rows they are midnight-to-midnight in the row's zone
-- and start_date/end_date (YYYY-MM-DD, end exclusive) are the truth.
-- span_end_ms is when the last instance ends (= end_ms for single appointments, the
-- largest integer for endless series) so "upcoming" includes series still running.

CREATE TABLE appointments (
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
    status          TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'done')),
    origin          TEXT NOT NULL CHECK (origin IN ('crm', 'google')),
    recurrence      TEXT,                 -- JSON array of RFC 5545 lines, verbatim
    series_id       TEXT REFERENCES appointments (id) ON DELETE CASCADE,
    original_start  TEXT,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL,
    CHECK (end_ms > start_ms),
    CHECK ((series_id IS NULL) = (original_start IS NULL)),
    CHECK ((all_day = 1) = (start_date IS NOT NULL AND end_date IS NOT NULL))
);

-- Upcoming (soonest first) and past (latest first) pages walk this index.
CREATE INDEX appointments_by_start ON appointments (start_ms, id);
-- The upcoming/past split and its count.
CREATE INDEX appointments_by_span_end ON appointments (span_end_ms);
CREATE INDEX appointments_by_status ON appointments (status, start_ms);
CREATE INDEX appointments_by_origin ON appointments (origin, start_ms);
CREATE INDEX appointments_by_series ON appointments (series_id) WHERE series_id IS NOT NULL;
CREATE INDEX appointments_recurring ON appointments (start_ms) WHERE recurrence IS NOT NULL;

-- Work for the sync engine, written in the same transaction as the user's change.
-- No foreign key: a 'delete' must outlive the row it is about.
CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY,
    appointment_id  TEXT NOT NULL,
    op              TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
    enqueued_at     INTEGER NOT NULL,     -- unix ms
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at INTEGER               -- unix ms; NULL = now
);
CREATE INDEX outbox_by_appointment ON outbox (appointment_id);

CREATE TABLE settings (
    key             TEXT PRIMARY KEY NOT NULL,
    value           TEXT NOT NULL,        -- JSON
    updated_at_ms   INTEGER NOT NULL
);
