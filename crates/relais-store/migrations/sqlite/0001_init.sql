-- 0001 init: the foundation schema (SQLite dialect).
-- Instants are INTEGER Unix milliseconds; JSON is TEXT; booleans are 0/1.

CREATE TABLE channels (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    name            TEXT NOT NULL,
    token_hash      TEXT,              -- SHA-256 hex of the bearer token, never the token
    callback_url    TEXT,
    callback_secret TEXT,
    created_at      INTEGER NOT NULL
);

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    name       TEXT,
    language   TEXT,
    tier       TEXT NOT NULL DEFAULT 'standard',
    fields     TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
);

-- How a contact is reached on a channel. One address belongs to one contact per channel.
CREATE TABLE contact_identities (
    channel_id TEXT NOT NULL REFERENCES channels(id),
    address    TEXT NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (channel_id, address)
);

CREATE TABLE conversations (
    id                INTEGER PRIMARY KEY,
    channel_id        TEXT NOT NULL REFERENCES channels(id),
    contact_id        INTEGER NOT NULL REFERENCES contacts(id),
    address           TEXT NOT NULL,
    status            TEXT NOT NULL,
    team              TEXT,
    assignee          INTEGER,
    priority          TEXT NOT NULL DEFAULT 'normal',
    tags              TEXT NOT NULL DEFAULT '[]',
    escalation_reason TEXT,
    resolved_by       TEXT,
    fields            TEXT NOT NULL DEFAULT '{}',
    bot_state         TEXT NOT NULL DEFAULT '{}',
    previous_id       INTEGER REFERENCES conversations(id),
    last_seq          INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
-- At most one live (not closed) conversation per contact and channel.
CREATE UNIQUE INDEX conversations_live ON conversations (channel_id, contact_id) WHERE status <> 'closed';
CREATE INDEX conversations_contact ON conversations (contact_id, id);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    seq             INTEGER NOT NULL,
    channel_id      TEXT NOT NULL,
    direction       TEXT NOT NULL,     -- inbound | outbound | note
    author_kind     TEXT NOT NULL,     -- contact | bot | agent | system
    agent_id        INTEGER,
    body            TEXT NOT NULL,
    buttons         TEXT NOT NULL DEFAULT '[]',
    status          TEXT,              -- outbound delivery status
    external_id     TEXT,              -- provider id
    reply_to        INTEGER,
    created_at      INTEGER NOT NULL,
    UNIQUE (conversation_id, seq)
);
-- The de-duplication rule: a provider message id is stored once per channel.
CREATE UNIQUE INDEX messages_inbound_dedupe ON messages (channel_id, external_id) WHERE direction = 'inbound';
CREATE INDEX messages_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL;

-- Append-only: rows are never updated or deleted by the application.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER,
    at              INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    actor_kind      TEXT NOT NULL,
    actor_id        INTEGER,
    flow            TEXT,
    flow_version    INTEGER,
    step            TEXT,
    data            TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_conversation ON events (conversation_id, id);

CREATE TABLE timers (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    channel_id      TEXT NOT NULL,
    address         TEXT NOT NULL,
    name            TEXT NOT NULL,
    due_at          INTEGER NOT NULL,
    payload         TEXT NOT NULL DEFAULT '{}',
    state           TEXT NOT NULL DEFAULT 'pending',   -- pending | fired | cancelled
    created_at      INTEGER NOT NULL,
    done_at         INTEGER
);
CREATE INDEX timers_due ON timers (due_at) WHERE state = 'pending';
CREATE INDEX timers_conversation ON timers (conversation_id, name) WHERE state = 'pending';

-- The transactional outbox: one row per outbound message still to send.
CREATE TABLE outbox (
    message_id      INTEGER PRIMARY KEY REFERENCES messages(id),
    conversation_id INTEGER NOT NULL,
    channel_id      TEXT NOT NULL,
    address         TEXT NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    lease_until     INTEGER,
    lease_owner     TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at);
CREATE INDEX outbox_conversation ON outbox (conversation_id, message_id);

CREATE TABLE delivery_attempts (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    outcome     TEXT NOT NULL,   -- sent | retry | ambiguous | failed
    detail      TEXT,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX delivery_attempts_message ON delivery_attempts (message_id, attempt);

CREATE TABLE agents (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT,
    presence      TEXT NOT NULL DEFAULT 'offline',
    capacity      INTEGER NOT NULL DEFAULT 5,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    agent_id   INTEGER NOT NULL REFERENCES agents(id),
    name       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,   -- SHA-256 hex of the token, never the token
    scopes     TEXT NOT NULL,          -- JSON array
    kind       TEXT NOT NULL,          -- api | session
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);
