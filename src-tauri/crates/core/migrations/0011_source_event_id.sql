-- Schema version 11: an appointment remembers its Google event after Remove Google Account.
--
-- Remove Google Account drops the links. Bookline's own events are found again on
-- reconnect by the appointment id in their private property (and their derived id), but
-- an appointment imported from Google (or linked to a look-alike event by a transfer) has
-- nothing in its event that names it: without the event id it is created again in
-- Bookline, and copied into Google, by the next transfer. Disconnect copies each linked
-- appointment's event id here; a pass or a transfer re-links by it (`PairedBy::
-- SourceEventId`) and clears it once the link is written again.
ALTER TABLE appointments ADD COLUMN source_event_id TEXT;
CREATE INDEX appointments_by_source_event ON appointments (source_event_id)
    WHERE source_event_id IS NOT NULL;
