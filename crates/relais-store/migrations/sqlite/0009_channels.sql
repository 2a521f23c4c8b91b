-- Channels from channels.yaml: their settings (JSON), fallback, whether the file
-- defines them (a channel removed from the file is disabled, its history kept).
ALTER TABLE channels ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE channels ADD COLUMN fallback TEXT;
ALTER TABLE channels ADD COLUMN from_file INTEGER NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
-- What a message carries besides its text (JSON): attachments, a location, list rows,
-- a template's name, language and parameters.
ALTER TABLE messages ADD COLUMN payload TEXT;
-- Delivery statuses name outbound messages by the provider's id.
CREATE INDEX messages_outbound_external ON messages (channel_id, external_id)
    WHERE direction = 'outbound' AND external_id IS NOT NULL;
-- Statuses that arrived before the send they name was recorded: applied when it is.
CREATE TABLE early_statuses (
    channel_id  TEXT NOT NULL,
    external_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    detail      TEXT,
    at          INTEGER NOT NULL,
    PRIMARY KEY (channel_id, external_id, status)
);
