-- 0002: immutable flow versions, and contacts' consent per channel kind (PostgreSQL dialect).

-- Every distinct source of a flow ever loaded. A run keeps the version it started on,
-- so old versions are read back at start.
CREATE TABLE flow_versions (
    flow       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    hash       TEXT NOT NULL,     -- SHA-256 hex of the source
    path       TEXT NOT NULL,
    source     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (flow, version)
);

-- Opt-in (or opt-out) of a contact for proactive messages on a channel kind (SPEC §7).
CREATE TABLE contact_consents (
    contact_id   BIGINT NOT NULL REFERENCES contacts(id),
    channel_kind TEXT NOT NULL,
    granted      BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (contact_id, channel_kind)
);
