-- 0003: handoff to humans: teams and members, queues and assignment, agent replies
-- with client ids, satisfaction surveys, canned responses (SQLite dialect).

CREATE TABLE teams (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    assignment TEXT NOT NULL,          -- round_robin | least_busy | manual
    capacity   INTEGER NOT NULL,       -- open conversations per agent
    updated_at INTEGER NOT NULL
);

CREATE TABLE team_members (
    team_id  TEXT NOT NULL REFERENCES teams(id),
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    PRIMARY KEY (team_id, agent_id)
);
CREATE INDEX team_members_agent ON team_members (agent_id);

ALTER TABLE agents ADD COLUMN last_assigned_at INTEGER;
ALTER TABLE agents ADD COLUMN presence_at INTEGER NOT NULL DEFAULT 0;

-- queued_at: when the conversation entered its queue (kept while assigned, so a
-- conversation returned to the queue keeps its place); assigned_at: the current
-- assignment; last_assignee: who solved it (a reopen goes back to them).
ALTER TABLE conversations ADD COLUMN queued_at INTEGER;
ALTER TABLE conversations ADD COLUMN assigned_at INTEGER;
ALTER TABLE conversations ADD COLUMN last_assignee INTEGER;
ALTER TABLE conversations ADD COLUMN solved_at INTEGER;
CREATE INDEX conversations_waiting ON conversations (team, queued_at) WHERE status = 'open' AND assignee IS NULL;
CREATE INDEX conversations_assignee ON conversations (assignee) WHERE assignee IS NOT NULL;

-- An agent's reply carries a client id: a double submit stores and sends it once.
ALTER TABLE messages ADD COLUMN client_id TEXT;
CREATE UNIQUE INDEX messages_client_id ON messages (conversation_id, client_id) WHERE client_id IS NOT NULL;

-- One survey per solved conversation: sent | undeliverable | answered.
CREATE TABLE csat (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id),
    message_id      INTEGER NOT NULL,
    agent_id        INTEGER,
    state           TEXT NOT NULL,
    score           INTEGER,
    sent_at         INTEGER NOT NULL,
    answered_at     INTEGER
);
CREATE INDEX csat_message ON csat (message_id);

CREATE TABLE canned_responses (
    id         INTEGER PRIMARY KEY,
    shortcut   TEXT NOT NULL UNIQUE,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
