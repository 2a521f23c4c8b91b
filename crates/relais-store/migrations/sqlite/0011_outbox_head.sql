-- The outbox sends each conversation's messages in order: only its oldest queued row
-- (the head) may be claimed. Marking the head makes a claim read only claimable rows,
-- however long the queues behind them grow (a provider outage of many minutes).
ALTER TABLE outbox ADD COLUMN head INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET head = 1 WHERE message_id IN (SELECT MIN(message_id) FROM outbox GROUP BY conversation_id);
CREATE INDEX outbox_ready ON outbox (next_attempt_at, message_id) WHERE head = 1;
