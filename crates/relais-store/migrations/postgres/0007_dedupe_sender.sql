-- A provider message id is unique per (channel, sender), not per channel: another
-- sender's message with the same id is a different message (the REST channel lets
-- each client choose its ids). The sender is the conversation's address.
ALTER TABLE messages ADD COLUMN sender TEXT;
UPDATE messages m SET sender = c.address FROM conversations c
 WHERE c.id = m.conversation_id AND m.direction = 'inbound';
DROP INDEX messages_inbound_dedupe;
CREATE UNIQUE INDEX messages_inbound_dedupe ON messages (channel_id, sender, external_id) WHERE direction = 'inbound';
