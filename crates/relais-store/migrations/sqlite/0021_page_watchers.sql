-- Collision detection across nodes: which agents have a conversation's page open, and
-- until when each is typing. Each page says so every few seconds; a row whose
-- until_ms has passed is gone (deleted by the next beat on any node).
CREATE TABLE page_watchers (
    conversation_id  INTEGER NOT NULL,
    agent_id         INTEGER NOT NULL,
    until_ms         INTEGER NOT NULL,
    typing_until_ms  INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, agent_id)
);
CREATE INDEX page_watchers_until ON page_watchers (until_ms);
