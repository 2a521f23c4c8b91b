-- 0004: outgoing notifications: Slack, Microsoft Teams and generic signed webhooks,
-- delivered from a durable queue with retries and a dead-letter state (SQLite dialect).

CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,          -- slack | teams | generic
    url        TEXT NOT NULL,
    secret     TEXT,                   -- HMAC key of a generic webhook
    events     TEXT NOT NULL,          -- JSON array: escalated, assigned, customer_replied, solved
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
);

-- One row per (webhook, event): queued → delivered, or dead after the last attempt.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks(id),
    event_id        INTEGER NOT NULL,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'queued';

-- How far the event log has been turned into deliveries (one row).
CREATE TABLE webhook_cursor (
    id         INTEGER PRIMARY KEY,
    last_event INTEGER NOT NULL
);
INSERT INTO webhook_cursor (id, last_event) VALUES (1, 0);
