-- The tracking engine: sources (one per thing upstream), trackers (a workspace's
-- subscription to a source), metrics, samples and their hourly and daily rollups.
-- See docs/architecture.md, "Tracking engine".

CREATE TABLE sources (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The provider kind (`github.repo`) and its canonical key (`leptos-rs/leptos`).
    kind                  text NOT NULL,
    key                   text NOT NULL,
    -- Provider-specific settings (the `json` provider's expressions and headers; secret
    -- header values are encrypted with UPCOUNT_SECRET_KEY).
    config                jsonb NOT NULL DEFAULT '{}',
    title                 text NOT NULL,
    url                   text NOT NULL,
    author                text,
    published_at          timestamptz,
    tags                  text[] NOT NULL DEFAULT '{}',
    state                 text NOT NULL DEFAULT 'ok'
                          CHECK (state IN ('ok', 'backing_off', 'gone', 'paused', 'ended')),
    -- The shortest interval among the active trackers.
    interval_secs         integer NOT NULL DEFAULT 900 CHECK (interval_secs >= 60),
    -- NULL: not scheduled (gone, or no active tracker).
    next_poll_at          timestamptz,
    -- Set while a dispatched job owns the source; an expired lease makes it claimable again.
    leased_until          timestamptz,
    consecutive_failures  integer NOT NULL DEFAULT 0,
    last_poll_at          timestamptz,
    last_success_at       timestamptz,
    last_error            text,
    last_error_at         timestamptz,
    last_error_excerpt    text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, key)
);
CREATE INDEX sources_due ON sources (next_poll_at) WHERE next_poll_at IS NOT NULL;
CREATE TRIGGER sources_updated_at BEFORE UPDATE ON sources
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE source_metrics (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id   bigint NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('gauge', 'counter')),
    unit        text NOT NULL DEFAULT '',
    position    smallint NOT NULL DEFAULT 0,
    last_value  double precision,
    last_at     timestamptz,
    UNIQUE (source_id, name)
);

-- One row per metric and poll. The primary key is the index every read uses.
CREATE TABLE samples (
    metric_id  integer NOT NULL REFERENCES source_metrics (id) ON DELETE CASCADE,
    t          timestamptz NOT NULL,
    value      double precision NOT NULL,
    PRIMARY KEY (metric_id, t)
);

-- Rollups, kept up to date by the statement that writes samples. Buckets start at UTC
-- hour and day boundaries.
CREATE TABLE samples_hourly (
    metric_id  integer NOT NULL REFERENCES source_metrics (id) ON DELETE CASCADE,
    bucket     timestamptz NOT NULL,
    min        double precision NOT NULL,
    max        double precision NOT NULL,
    sum        double precision NOT NULL,
    count      bigint NOT NULL,
    last       double precision NOT NULL,
    last_t     timestamptz NOT NULL,
    PRIMARY KEY (metric_id, bucket)
);
CREATE TABLE samples_daily (LIKE samples_hourly INCLUDING ALL);
ALTER TABLE samples_daily
    ADD FOREIGN KEY (metric_id) REFERENCES source_metrics (id) ON DELETE CASCADE;

CREATE TABLE trackers (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id   uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    source_id      bigint NOT NULL REFERENCES sources (id),
    label          text NOT NULL CHECK (char_length(label) BETWEEN 1 AND 200),
    interval_secs  integer NOT NULL DEFAULT 900 CHECK (interval_secs BETWEEN 60 AND 2592000),
    paused         boolean NOT NULL DEFAULT false,
    ends_at        timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, source_id)
);
CREATE INDEX trackers_source_id ON trackers (source_id);
CREATE TRIGGER trackers_updated_at BEFORE UPDATE ON trackers
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
