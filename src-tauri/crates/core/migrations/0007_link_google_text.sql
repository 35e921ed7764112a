-- Schema version 7: the summary and description the linked Google event holds, as
-- Bookline last wrote or read them.
--
-- The synced fields (title, notes) are compared through the privacy template, so a
-- change of the template or of the lead details included — or of the lead itself —
-- changes what Bookline would write to Google without changing any synced field. With
-- the text Google holds on the link, the engine patches exactly the events whose
-- rendered summary or description differs (NULL: not known yet, for links made before
-- this version; such an event gets its text rewritten with its next change).
ALTER TABLE links ADD COLUMN google_summary TEXT;
ALTER TABLE links ADD COLUMN google_description TEXT;
