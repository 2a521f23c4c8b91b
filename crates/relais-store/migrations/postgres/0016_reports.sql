-- Reports (SPEC §10) read the events of the conversations started in a period: the
-- period is found by this index, their events by events_conversation.
CREATE INDEX conversations_created ON conversations (created_at, id);
