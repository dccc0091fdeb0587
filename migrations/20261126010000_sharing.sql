-- Public sharing: a tracker with a share token has a read-only page at /s/{token} and a
-- badge at /badge/{token}.svg. NULL: not shared. Revoking sets it back to NULL.
ALTER TABLE trackers ADD COLUMN share_token text UNIQUE;
