-- 0005: agents' last activity, so presence also follows what agents do
-- (an idle online agent becomes away); canned responses get a language; teams made
-- through the API keep their business hours.
ALTER TABLE agents ADD COLUMN last_seen_at INTEGER;
ALTER TABLE canned_responses ADD COLUMN language TEXT;
ALTER TABLE teams ADD COLUMN hours TEXT;
ALTER TABLE teams ADD COLUMN holidays TEXT;
