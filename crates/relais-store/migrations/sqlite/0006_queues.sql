-- 0006: a handoff path whose cost does not grow with the data (SQLite dialect).
-- queue_rank orders a queue (urgent first); the queue index answers "who is next" and
-- "who arrived after me" by range; queue_depth keeps how many conversations wait per
-- team and rank, maintained by triggers, so a queue position is a sum over at most
-- four rows instead of a count over the queue.
ALTER TABLE conversations ADD COLUMN queue_rank INTEGER GENERATED ALWAYS AS (
    CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END) VIRTUAL;
DROP INDEX conversations_waiting;
CREATE INDEX conversations_queue ON conversations (team, queue_rank, queued_at, id)
    WHERE status = 'open' AND assignee IS NULL AND queued_at IS NOT NULL;
-- An agent's load counts their open and pending conversations, not their whole history.
DROP INDEX conversations_assignee;
CREATE INDEX conversations_assignee ON conversations (assignee, status) WHERE assignee IS NOT NULL;
-- The wait estimate reads the team's latest agent-solved conversations.
CREATE INDEX conversations_handled ON conversations (team, solved_at)
    WHERE resolved_by = 'agent' AND solved_at IS NOT NULL AND assigned_at IS NOT NULL;

-- Ordered reads that were sorted in a temporary B-tree: replies to a message by seq,
-- an agent's teams, the dead-letter list by state.
DROP INDEX messages_reply_to;
CREATE INDEX messages_reply_to ON messages (reply_to, seq) WHERE reply_to IS NOT NULL;
DROP INDEX team_members_agent;
CREATE INDEX team_members_agent ON team_members (agent_id, team_id);
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_state ON webhook_deliveries (state, id);

CREATE TABLE queue_depth (
    team       TEXT NOT NULL,          -- '' for the shared queue
    queue_rank INTEGER NOT NULL,
    waiting    INTEGER NOT NULL,
    PRIMARY KEY (team, queue_rank)
);
INSERT INTO queue_depth (team, queue_rank, waiting)
    SELECT COALESCE(team, ''), queue_rank, COUNT(*) FROM conversations
    WHERE status = 'open' AND assignee IS NULL AND queued_at IS NOT NULL
    GROUP BY COALESCE(team, ''), queue_rank;

CREATE TRIGGER queue_depth_on_insert AFTER INSERT ON conversations
WHEN NEW.status = 'open' AND NEW.assignee IS NULL AND NEW.queued_at IS NOT NULL
BEGIN
    INSERT INTO queue_depth (team, queue_rank, waiting) VALUES (COALESCE(NEW.team, ''), NEW.queue_rank, 1)
        ON CONFLICT (team, queue_rank) DO UPDATE SET waiting = waiting + 1;
END;
CREATE TRIGGER queue_depth_on_leave AFTER UPDATE OF status, assignee, team, queued_at, priority ON conversations
WHEN OLD.status = 'open' AND OLD.assignee IS NULL AND OLD.queued_at IS NOT NULL
    AND NOT (NEW.status = 'open' AND NEW.assignee IS NULL AND NEW.queued_at IS NOT NULL
             AND NEW.team IS OLD.team AND NEW.queue_rank = OLD.queue_rank)
BEGIN
    UPDATE queue_depth SET waiting = waiting - 1
        WHERE team = COALESCE(OLD.team, '') AND queue_rank = OLD.queue_rank;
END;
CREATE TRIGGER queue_depth_on_join AFTER UPDATE OF status, assignee, team, queued_at, priority ON conversations
WHEN NEW.status = 'open' AND NEW.assignee IS NULL AND NEW.queued_at IS NOT NULL
    AND NOT (OLD.status = 'open' AND OLD.assignee IS NULL AND OLD.queued_at IS NOT NULL
             AND NEW.team IS OLD.team AND NEW.queue_rank = OLD.queue_rank)
BEGIN
    INSERT INTO queue_depth (team, queue_rank, waiting) VALUES (COALESCE(NEW.team, ''), NEW.queue_rank, 1)
        ON CONFLICT (team, queue_rank) DO UPDATE SET waiting = waiting + 1;
END;
CREATE TRIGGER queue_depth_on_delete AFTER DELETE ON conversations
WHEN OLD.status = 'open' AND OLD.assignee IS NULL AND OLD.queued_at IS NOT NULL
BEGIN
    UPDATE queue_depth SET waiting = waiting - 1
        WHERE team = COALESCE(OLD.team, '') AND queue_rank = OLD.queue_rank;
END;
