-- Schema version 12: deletions held for the user's decision.
--
-- A pass that would delete more than the delete guard allows (spec §3: more than 20
-- items or 10 % of the calendar) does not stop: it holds every deletion of the pass here
-- and applies the rest. The sync token may then advance past a Google cancellation,
-- which is never read again, so this row is the only record of it until the user
-- chooses Delete them (apply) or Keep them (restore from the other side).
-- `side` is where the item would be deleted: 'crm' (the event was deleted in Google) or
-- 'google' (the appointment was deleted or cancelled in Bookline).
CREATE TABLE held_deletes (
    calendar_id    TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    appointment_id TEXT,
    side           TEXT NOT NULL CHECK (side IN ('crm', 'google')),
    title          TEXT NOT NULL,
    -- When the item takes place: RFC 3339 for timed items, YYYY-MM-DD for all-day ones.
    starts         TEXT,
    held_at        TEXT NOT NULL,
    PRIMARY KEY (calendar_id, event_id)
);

CREATE INDEX held_deletes_appointment ON held_deletes (appointment_id);
