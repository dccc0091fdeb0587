-- Hardening: history kept through a downgrade, and sources no tracker uses any more.

-- A plan's retention shrank (lapse, cancellation, support's override): raw samples are
-- kept as the old plan kept them until `retention_kept_until` (30 days), so
-- re-subscribing in time loses nothing.
ALTER TABLE workspaces
    ADD COLUMN retention_kept_days  integer,
    ADD COLUMN retention_kept_until timestamptz;

-- When the last tracker of a source went; the source and its samples are deleted 30 days
-- later (at once when it holds secret headers: nobody else may ever use them).
ALTER TABLE sources ADD COLUMN orphaned_at timestamptz;
CREATE INDEX sources_orphaned_at ON sources (orphaned_at) WHERE orphaned_at IS NOT NULL;

-- Whether a source's config holds a secret header (stored encrypted under "secret").
CREATE FUNCTION source_has_secrets(config jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM jsonb_array_elements(
            CASE WHEN jsonb_typeof(config -> 'headers') = 'array' THEN config -> 'headers'
                 ELSE '[]'::jsonb END
        ) AS header
        WHERE header ? 'secret'
    )
$$;

-- Every way a tracker goes (its own delete, its workspace's, its user's) passes here.
CREATE FUNCTION trackers_orphan_sources() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM trackers WHERE source_id = OLD.source_id) THEN
        DELETE FROM sources WHERE id = OLD.source_id AND source_has_secrets(config);
        UPDATE sources SET orphaned_at = now()
        WHERE id = OLD.source_id AND orphaned_at IS NULL;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER trackers_orphan_sources AFTER DELETE ON trackers
    FOR EACH ROW EXECUTE FUNCTION trackers_orphan_sources();

-- A source tracked again is no orphan.
CREATE FUNCTION trackers_adopt_sources() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sources SET orphaned_at = NULL WHERE id = NEW.source_id AND orphaned_at IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER trackers_adopt_sources AFTER INSERT ON trackers
    FOR EACH ROW EXECUTE FUNCTION trackers_adopt_sources();

-- Sources already without trackers: secret ones go now, the others start their 30 days.
DELETE FROM sources s
WHERE source_has_secrets(s.config) AND NOT EXISTS (SELECT 1 FROM trackers t WHERE t.source_id = s.id);
UPDATE sources s SET orphaned_at = now()
WHERE NOT EXISTS (SELECT 1 FROM trackers t WHERE t.source_id = s.id);
