-- A channel's secret names (role -> key of [secrets], never values) and default flow,
-- kept with it: channels made through the admin API have no channels.yaml entry.
ALTER TABLE channels ADD COLUMN secret_names TEXT NOT NULL DEFAULT '{}';
ALTER TABLE channels ADD COLUMN default_flow TEXT;
