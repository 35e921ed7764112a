-- Schema version 2: a trigram full-text index over title and lead fields, so a
-- case-insensitive substring search ("smi" finds "Smith") does not scan every row.
-- External content: the text lives once, in appointments; triggers keep the index current.

CREATE VIRTUAL TABLE appointment_search USING fts5 (
    title, lead_name, lead_email, lead_phone,
    content = 'appointments',
    content_rowid = 'row_key',
    tokenize = 'trigram'
);

CREATE TRIGGER appointments_search_insert AFTER INSERT ON appointments BEGIN
    INSERT INTO appointment_search (rowid, title, lead_name, lead_email, lead_phone)
    VALUES (new.row_key, new.title, new.lead_name, new.lead_email, new.lead_phone);
END;

CREATE TRIGGER appointments_search_delete AFTER DELETE ON appointments BEGIN
    INSERT INTO appointment_search (appointment_search, rowid, title, lead_name, lead_email, lead_phone)
    VALUES ('delete', old.row_key, old.title, old.lead_name, old.lead_email, old.lead_phone);
END;

CREATE TRIGGER appointments_search_update
AFTER UPDATE OF title, lead_name, lead_email, lead_phone ON appointments BEGIN
    INSERT INTO appointment_search (appointment_search, rowid, title, lead_name, lead_email, lead_phone)
    VALUES ('delete', old.row_key, old.title, old.lead_name, old.lead_email, old.lead_phone);
    INSERT INTO appointment_search (rowid, title, lead_name, lead_email, lead_phone)
    VALUES (new.row_key, new.title, new.lead_name, new.lead_email, new.lead_phone);
END;

-- Rows written under schema version 1.
INSERT INTO appointment_search (appointment_search) VALUES ('rebuild');
