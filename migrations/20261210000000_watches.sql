-- Watches: a container upstream (a YouTube channel's uploads, a GitHub owner's
-- repositories, a Hacker News user's stories…) followed by workspaces, each new item of
-- which becomes a tracker made from the watch's template. See docs/architecture.md,
-- "Watches".

ALTER TABLE plans ADD COLUMN max_watches integer NOT NULL DEFAULT 0 CHECK (max_watches >= 0);
UPDATE plans SET max_watches = CASE id WHEN 'pro' THEN 10 WHEN 'business' THEN 100 ELSE 0 END;

-- One row per container upstream, shared by every workspace watching it: it is read once
-- however many watch it.
CREATE TABLE watch_containers (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The container kind (`youtube.uploads`) and its canonical key (the channel's id).
    kind                  text NOT NULL,
    key                   text NOT NULL,
    -- What the container kind keeps to read it (the uploads playlist's id).
    config                jsonb NOT NULL DEFAULT '{}',
    title                 text NOT NULL,
    url                   text NOT NULL,
    -- The shortest interval among its watches; NULL: no watch left.
    next_read_at          timestamptz,
    leased_until          timestamptz,
    last_read_at          timestamptz,
    consecutive_failures  integer NOT NULL DEFAULT 0,
    last_error            text,
    last_error_at         timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, key)
);
CREATE INDEX watch_containers_due ON watch_containers (next_read_at)
    WHERE next_read_at IS NOT NULL;

-- What the container listed, as last read.
CREATE TABLE container_items (
    container_id   bigint NOT NULL REFERENCES watch_containers (id) ON DELETE CASCADE,
    key            text NOT NULL,
    -- A link a provider recognises: the tracker's.
    url            text NOT NULL,
    title          text NOT NULL,
    published_at   timestamptz,
    -- Reddit's score, for watches that wait for one.
    score          double precision,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (container_id, key)
);

CREATE TABLE watches (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id     uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    container_id     bigint NOT NULL REFERENCES watch_containers (id),
    -- How often the container is looked at for this watch.
    poll_every_secs  integer NOT NULL DEFAULT 3600 CHECK (poll_every_secs BETWEEN 60 AND 2592000),
    -- The template of each tracker it makes: interval (NULL: the default), how long to
    -- track each item (NULL: until deleted), label pattern (NULL: the item's title),
    -- alert rules to copy (each as `POST /api/v1/trackers/{id}/alerts` takes it).
    interval_secs    integer CHECK (interval_secs BETWEEN 60 AND 2592000),
    track_for_days   integer CHECK (track_for_days BETWEEN 1 AND 3650),
    label            text CHECK (char_length(label) BETWEEN 1 AND 200),
    alerts           jsonb NOT NULL DEFAULT '[]',
    -- Only items with at least this score an hour after they appeared (Reddit).
    min_score        double precision,
    -- Only items ranking among the container's N best-scoring of the past 24 hours at a
    -- read (Reddit): "the day's top N".
    top_per_day      integer CHECK (top_per_day BETWEEN 1 AND 25),
    paused           boolean NOT NULL DEFAULT false,
    next_poll_at     timestamptz,
    last_polled_at   timestamptz,
    poll_now_at      timestamptz,
    created_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, container_id)
);
CREATE INDEX watches_container ON watches (container_id);
CREATE TRIGGER watches_updated_at BEFORE UPDATE ON watches
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- What a watch did with each item it saw, once per item: `existing` (there when the
-- watch began), `tracked` (a tracker was made; `tracker_id` turns NULL when the workspace
-- deletes it, and the item is never added again), `skipped` (the plan's tracker limit was
-- reached) or `failed` (the tracker could not be made: `detail` says why).
CREATE TABLE watch_items (
    watch_id    uuid NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    item_key    text NOT NULL,
    state       text NOT NULL CHECK (state IN ('existing', 'tracked', 'skipped', 'failed')),
    tracker_id  uuid REFERENCES trackers (id) ON DELETE SET NULL,
    url         text NOT NULL,
    title       text NOT NULL,
    detail      text,
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (watch_id, item_key)
);
CREATE INDEX watch_items_tracker ON watch_items (tracker_id) WHERE tracker_id IS NOT NULL;
