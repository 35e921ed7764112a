-- Schema version 10: parked Google events.
--
-- An event Google holds that Bookline truly cannot store (its times cannot be mapped, or
-- the store refuses it: a recurrence over the stored bounds) is parked instead of failing
-- every pass: the pass goes on and the sync token moves past it. The row says which event,
-- why, and since when; `version` is the event's etag when it was refused, so reading the
-- same version again (a full relist) neither retries it as news nor logs it again, and a
-- new version (the event changed in Google) is tried again. Owned by `sync::parked`.
CREATE TABLE parked (
    calendar_id TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    -- The event's summary as Google holds it (may be empty).
    title       TEXT NOT NULL,
    -- Why Bookline could not store it, in a sentence.
    reason      TEXT NOT NULL,
    version     TEXT,
    -- RFC 3339 UTC: when the event was parked (this version of it).
    since       TEXT NOT NULL,
    PRIMARY KEY (calendar_id, event_id)
) WITHOUT ROWID;
