-- Push sources: numbers a workspace sends in itself (`POST /api/v1/push`), kept as a
-- source of kind `push` with one tracker, so that they chart, alert, share and export
-- like polled ones. See docs/architecture.md, "Push sources".

-- A series of a push source is a metric name and a label set. Its `name` stays what
-- every reader looks a metric up by, the label set written out Prometheus-style
-- (`signups{plan="pro"}`; just `signups` without labels), so charts, alerts, shares and
-- exports need no change; `labels` holds the set itself and `family` the metric name
-- without it. Providers' metrics have no labels: `labels` is '{}', `family` their name.
ALTER TABLE source_metrics
    ADD COLUMN labels jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    ADD COLUMN family text GENERATED ALWAYS AS (split_part(name, '{', 1)) STORED;
ALTER TABLE source_metrics
    ADD CONSTRAINT source_metrics_family_labels UNIQUE (source_id, family, labels);
-- A pushed delta is stored as the series' running total; `delta` remembers that its
-- points are increments (a metric keeps the type it was first pushed with).
ALTER TABLE source_metrics DROP CONSTRAINT source_metrics_kind_check;
ALTER TABLE source_metrics
    ADD CONSTRAINT source_metrics_kind_check CHECK (kind IN ('gauge', 'counter', 'delta'));

-- How many series one push source may hold, per plan.
ALTER TABLE plans ADD COLUMN max_push_series integer NOT NULL DEFAULT 20
    CHECK (max_push_series >= 0);
UPDATE plans SET max_push_series = 20 WHERE id = 'free';
UPDATE plans SET max_push_series = 1000 WHERE id = 'pro';
UPDATE plans SET max_push_series = 10000 WHERE id = 'business';

CREATE TABLE push_sources (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    -- Its tracker: deleting the tracker deletes the push source (and, through
    -- `trackers_orphan_sources`, its source and every sample at once).
    tracker_id    uuid NOT NULL UNIQUE REFERENCES trackers (id) ON DELETE CASCADE,
    source_id     bigint NOT NULL UNIQUE REFERENCES sources (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    -- The SHA-256 of its write token (`upp_…`, shown once) and the token's first
    -- characters, for lists.
    token_hash    bytea NOT NULL UNIQUE,
    token_prefix  text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_push_at  timestamptz
);
CREATE INDEX push_sources_workspace ON push_sources (workspace_id);

-- A push source is never polled: whatever statement schedules sources, its own stay
-- unscheduled and unleased.
CREATE FUNCTION sources_push_unscheduled() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.next_poll_at := NULL;
    NEW.leased_until := NULL;
    RETURN NEW;
END
$$;
CREATE TRIGGER sources_push_unscheduled BEFORE INSERT OR UPDATE ON sources
    FOR EACH ROW WHEN (NEW.kind = 'push') EXECUTE FUNCTION sources_push_unscheduled();

-- A push source's data is nobody else's: its source goes with its last tracker, at once,
-- like a source holding secret headers.
CREATE OR REPLACE FUNCTION trackers_orphan_sources() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM trackers WHERE source_id = OLD.source_id) THEN
        DELETE FROM sources
        WHERE id = OLD.source_id AND (source_has_secrets(config) OR kind = 'push');
        UPDATE sources SET orphaned_at = now()
        WHERE id = OLD.source_id AND orphaned_at IS NULL;
    END IF;
    RETURN NULL;
END
$$;
