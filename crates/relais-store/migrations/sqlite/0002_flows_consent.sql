-- 0002: immutable flow versions, and contacts' consent per channel kind (SQLite dialect).

-- Every distinct source of a flow ever loaded. A run keeps the version it started on,
-- so old versions are read back at start.
CREATE TABLE flow_versions (
    flow       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    hash       TEXT NOT NULL,     -- SHA-256 hex of the source
    path       TEXT NOT NULL,
    source     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (flow, version)
);

-- Opt-in (or opt-out) of a contact for proactive messages on a channel kind (SPEC §7).
CREATE TABLE contact_consents (
    contact_id   INTEGER NOT NULL REFERENCES contacts(id),
    channel_kind TEXT NOT NULL,
    granted      INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (contact_id, channel_kind)
);
