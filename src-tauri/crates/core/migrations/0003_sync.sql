-- Sync engine tables (runs after the store's migrations, which
-- owns `appointments`, `outbox` and `settings`).
--
-- Times are RFC 3339 UTC text, like the store's. Snapshots are `SyncFields` as JSON
-- (serde), one per side: what that side looked like right after the last successful
-- sync of the link. They are the common ancestor of the field-level merge.

-- One row per synced pair (vdirsyncer's status table). Written only after the writes a
-- decision made succeeded; a crash before that is retried, and the event id derived
-- from the appointment id turns the retried insert into a harmless 409.
CREATE TABLE links (
    appointment_id  TEXT NOT NULL UNIQUE,
    calendar_id     TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    -- Google's etag at the last sync: sent as If-Match so a stale write fails (412)
    -- instead of overwriting an edit made in Google meanwhile.
    etag            TEXT,
    crm_snapshot    TEXT NOT NULL CHECK (json_valid(crm_snapshot)),
    google_snapshot TEXT NOT NULL CHECK (json_valid(google_snapshot)),
    synced_at       TEXT NOT NULL,
    -- The last error of this item, shown on its row; NULL when the last attempt worked.
    last_error      TEXT,
    PRIMARY KEY (calendar_id, event_id)
) WITHOUT ROWID;
-- No foreign key to appointments: a link outlives its appointment as a tombstone when
-- a one-way direction keeps a CRM delete from reaching Google (see decide.rs).

-- Incremental reads: the nextSyncToken of each calendar. Saved in the same transaction
-- as the last page's changes, never earlier; deleted on 410 fullSyncRequired.
CREATE TABLE sync_tokens (
    calendar_id TEXT PRIMARY KEY NOT NULL,
    token       TEXT NOT NULL,
    saved_at    TEXT NOT NULL
) WITHOUT ROWID;

-- What sync did, newest first in the UI. Kept small by pruning old rows, not by
-- skipping entries: errors and conflicts are always written.
CREATE TABLE activity (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             TEXT NOT NULL,
    -- created | updated | deleted | cancelled | linked | unlinked | conflict | skipped
    -- | error | pass
    kind           TEXT NOT NULL,
    -- crm | google | NULL (about the pass as a whole)
    side           TEXT CHECK (side IN ('crm', 'google')),
    appointment_id TEXT,
    event_id       TEXT,
    -- One line for the list ("Created “Call with Ann” in Google").
    summary        TEXT NOT NULL,
    -- JSON with details (conflicting field and both values, error code, skip reason).
    detail         TEXT CHECK (detail IS NULL OR json_valid(detail))
);
CREATE INDEX activity_at ON activity (at DESC);
CREATE INDEX activity_appointment ON activity (appointment_id) WHERE appointment_id IS NOT NULL;

-- A backfill ("Synchronize Google Calendar") as a resumable job. The plan (which items
-- to move) is computed once and stored; a resumed run continues with the items not done.
CREATE TABLE backfill_jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    calendar_id TEXT NOT NULL,
    -- both | google-to-crm | crm-to-google
    direction   TEXT NOT NULL CHECK (direction IN ('both', 'google-to-crm', 'crm-to-google')),
    range_start TEXT,
    range_end   TEXT,
    -- planned | running | done | cancelled | failed
    state       TEXT NOT NULL DEFAULT 'planned'
                CHECK (state IN ('planned', 'running', 'done', 'cancelled', 'failed')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    finished_at TEXT,
    -- The preview's counts (Summary as JSON), for the dialog and the final summary.
    summary     TEXT CHECK (summary IS NULL OR json_valid(summary))
);
-- At most one unfinished job: the app offers to resume it instead of starting another.
CREATE UNIQUE INDEX backfill_one_open ON backfill_jobs ((1))
    WHERE state IN ('planned', 'running');

CREATE TABLE backfill_items (
    job_id         INTEGER NOT NULL REFERENCES backfill_jobs (id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    -- create_in_google | create_in_crm | link
    action         TEXT NOT NULL CHECK (action IN ('create_in_google', 'create_in_crm', 'link')),
    appointment_id TEXT,
    event_id       TEXT,
    -- pending | done | failed | skipped
    state          TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'done', 'failed', 'skipped')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    error          TEXT,
    PRIMARY KEY (job_id, seq),
    CHECK (appointment_id IS NOT NULL OR event_id IS NOT NULL)
) WITHOUT ROWID;
CREATE INDEX backfill_items_pending ON backfill_items (job_id, seq) WHERE state = 'pending';
