-- 0018 privacy (SPEC §11): erasure of a contact, retention, the data region.

-- An erased contact stays as a tombstone (its conversations, stripped of everything
-- personal, still count in the KPIs); it has no name, fields, identity nor consent.
ALTER TABLE contacts ADD COLUMN erased_at INTEGER;
-- When a conversation's transcript was erased or anonymised (by erasure or retention).
ALTER TABLE conversations ADD COLUMN forgotten_at INTEGER;
-- Retention finds closed conversations past their time, oldest first.
CREATE INDEX conversations_to_forget ON conversations (updated_at, id)
    WHERE status = 'closed' AND forgotten_at IS NULL;
-- Erasure deletes every timer of a conversation, fired or cancelled ones too (their
-- rows hold the address). One index for both: the state is no longer in it, so a
-- timer that fires or is cancelled no longer rewrites an index entry.
DROP INDEX timers_conversation;
CREATE INDEX timers_conversation ON timers (conversation_id, name);
-- Erasure deletes the webhook deliveries made from a conversation's events.
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
-- Facts about the data itself: the region it was recorded in, the retention's next run.
CREATE TABLE store_settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
-- A conversation's attachments (the transcript, erasure) without a scan of them all.
CREATE INDEX media_conversation ON media (conversation_id, id);
-- Admin changes join the reads in the audit log (one list for admins), with what
-- changed: the admin event's data.
ALTER TABLE audit_log ADD COLUMN detail TEXT;
-- Reports (SPEC §10) over a year of a busy tenant: each conversation's story (what the
-- KPIs read of its events, relais_core::kpi::Story), folded from the event log up to a
-- cursor (store_settings 'kpi.folded'), so a report reads one row per conversation and
-- only the events after the cursor. Nothing personal: times, a reason, a team, flags,
-- a score, flow and step names.
CREATE TABLE conversation_facts (
    conversation_id INTEGER PRIMARY KEY,
    started_at      INTEGER,
    escalated_at    INTEGER,
    reason          TEXT,
    team            TEXT,
    agent_reply_at  INTEGER,
    solved_at       INTEGER,
    solved_auto     INTEGER NOT NULL DEFAULT 0,
    human           INTEGER NOT NULL DEFAULT 0,
    csat_sent       INTEGER NOT NULL DEFAULT 0,
    csat            INTEGER,
    flows           TEXT NOT NULL DEFAULT '[]'
);
-- A report without filters reads the period's stories by when they started.
CREATE INDEX conversation_facts_started ON conversation_facts (started_at);
