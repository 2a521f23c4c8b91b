-- 0005: agents' last activity, so presence also follows what agents do
-- (an idle online agent becomes away).
ALTER TABLE agents ADD COLUMN last_seen_at BIGINT;
