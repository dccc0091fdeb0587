-- Who made what in a shared workspace: a tracker, its public share, an alert rule. NULL
-- for what was made before, by a push source's token, or by an account since deleted.
ALTER TABLE trackers ADD COLUMN created_by uuid REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE trackers ADD COLUMN shared_by uuid REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE alert_rules ADD COLUMN created_by uuid REFERENCES users (id) ON DELETE SET NULL;
