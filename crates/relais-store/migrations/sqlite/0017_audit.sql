-- The audit log (SPEC §11): every read of a conversation or a contact by an agent or a
-- token, with where it came from. Append-only: the application never updates or
-- deletes a row. (Admin changes are `admin_action` events; the audit API shows both.)
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    agent_id  INTEGER NOT NULL,
    token_id  INTEGER,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    ip        TEXT
);
