-- Media customers send (images, documents, audio, video): fetched from the provider
-- before its URL expires and kept here (base64), for agents to see; erased with the
-- contact (contact_id).
CREATE TABLE media (
    id              INTEGER PRIMARY KEY,
    message_id      INTEGER NOT NULL REFERENCES messages(id),
    conversation_id INTEGER NOT NULL,
    contact_id      INTEGER NOT NULL,
    channel_id      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    provider_ref    TEXT NOT NULL,     -- the provider's media id, file id or URL
    mime_type       TEXT,
    filename        TEXT,
    state           TEXT NOT NULL,     -- pending | stored | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    content         TEXT,              -- base64
    size            INTEGER,
    detail          TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX media_pending ON media (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX media_message ON media (message_id);
CREATE INDEX media_contact ON media (contact_id);
