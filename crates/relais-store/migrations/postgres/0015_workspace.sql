-- The web workspace: each agent's language for the pages, and how far each agent has
-- read each conversation (the inbox's unread markers).
ALTER TABLE agents ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
CREATE TABLE agent_reads (
    agent_id        BIGINT NOT NULL,
    conversation_id BIGINT NOT NULL,
    message_id      BIGINT NOT NULL,
    PRIMARY KEY (agent_id, conversation_id)
);
