-- Schema version 14: booking an appointment with its lead (issue #17) — the Meet link,
-- the lead's invitation and answer — and the last freeBusy answer per calendar and day.
--
-- One row per appointment the user asked something of (Meet, an invitation), or whose
-- Google event carries a conference or the lead as a guest. No row: nothing asked, nothing
-- known (`Booking::default()`). No foreign key (like links): deleting an appointment
-- removes its row in the same transaction (store::appointments::delete_in).
CREATE TABLE bookings (
    appointment_id  TEXT PRIMARY KEY NOT NULL,
    -- The user asked for a Meet link (kept until Google has one).
    meet_wanted     INTEGER NOT NULL DEFAULT 0 CHECK (meet_wanted IN (0, 1)),
    -- The createRequest's requestId last sent; a new one after a failure (Google treats
    -- a repeated id as the same request, so a failed one would fail again).
    meet_request_id TEXT,
    -- none | waiting | ready | failed (MeetState); `meet_text` is its link or sentence.
    meet_state      TEXT NOT NULL DEFAULT 'none'
                    CHECK (meet_state IN ('none', 'waiting', 'ready', 'failed')),
    meet_text       TEXT,
    -- Unix ms of the last write that asked Google for a conference: a failure is retried
    -- on the pass after it, not in the same pass.
    meet_asked_ms   INTEGER,
    -- The user asked to invite the lead; the invitation write is the only one that may
    -- use sendUpdates=all.
    invite_lead     INTEGER NOT NULL DEFAULT 0 CHECK (invite_lead IN (0, 1)),
    -- Google has the lead as an attendee.
    invitation_sent INTEGER NOT NULL DEFAULT 0 CHECK (invitation_sent IN (0, 1)),
    -- The user's last edit asked to email the lead the change: the next Google write of
    -- this appointment goes with sendUpdates=all, and clears it.
    notify_pending  INTEGER NOT NULL DEFAULT 0 CHECK (notify_pending IN (0, 1)),
    -- needsAction | accepted | declined | tentative (Google's words), NULL while not invited.
    lead_response   TEXT
);

-- The last busy blocks Google answered for one calendar on one local day, so the
-- booking dialog can show them offline (with their age).
CREATE TABLE busy_cache (
    calendar_id TEXT NOT NULL,
    -- YYYY-MM-DD in `timezone`.
    day         TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    -- RFC 3339 UTC: when Google answered.
    fetched_at  TEXT NOT NULL,
    -- JSON array of {start, end} (RFC 3339 UTC).
    busy        TEXT NOT NULL CHECK (json_valid(busy)),
    PRIMARY KEY (calendar_id, day, timezone)
) WITHOUT ROWID;
