-- Alerts: a workspace's channels (where alerts go), its rules (when a tracker's metric
-- does something worth knowing), the events rules fire and each event's delivery per
-- channel.

CREATE TABLE alert_channels (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('email', 'webhook', 'slack', 'discord')),
    -- The address of an email channel, the URL of the others.
    target        text NOT NULL CHECK (char_length(target) BETWEEN 3 AND 2048),
    -- A webhook's signing secret (shown once, when the channel is made).
    secret        text CHECK ((kind = 'webhook') = (secret IS NOT NULL)),
    -- Deliveries that failed for good in a row; marked failing past a few.
    failures      integer NOT NULL DEFAULT 0,
    failing_since timestamptz,
    last_error    text,
    -- When the workspace's owner was told it keeps failing (once per failing spell).
    owner_told_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, kind, target)
);

CREATE TABLE alert_rules (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    tracker_id    uuid NOT NULL REFERENCES trackers (id) ON DELETE CASCADE,
    metric_id     integer NOT NULL REFERENCES source_metrics (id) ON DELETE CASCADE,
    condition     text NOT NULL,
    -- The rule as the API writes it (`{"metric", "condition", "value", …}`).
    spec          jsonb NOT NULL,
    cooldown_secs integer NOT NULL DEFAULT 3600 CHECK (cooldown_secs BETWEEN 0 AND 604800),
    paused        boolean NOT NULL DEFAULT false,
    -- Armed or not, when it last fired, the last milestone…: the evaluator's memory.
    state         jsonb NOT NULL DEFAULT '{}',
    -- What evaluating it reads besides the latest two samples (from the condition): the
    -- value this many seconds before (`change`), the extremes over this many seconds
    -- before (`new_high`, `new_low`; 0: all time).
    start_secs    integer,
    extremes_secs integer,
    -- The newest sample it was evaluated on: a poll evaluated twice fires once.
    last_sample_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_rules_metric ON alert_rules (metric_id) WHERE NOT paused;
CREATE INDEX alert_rules_tracker ON alert_rules (tracker_id);
CREATE INDEX alert_rules_workspace ON alert_rules (workspace_id);
CREATE TRIGGER alert_rules_updated_at BEFORE UPDATE ON alert_rules
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE alert_rule_channels (
    rule_id    uuid NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    channel_id uuid NOT NULL REFERENCES alert_channels (id) ON DELETE CASCADE,
    PRIMARY KEY (rule_id, channel_id)
);
CREATE INDEX alert_rule_channels_channel ON alert_rule_channels (channel_id);

CREATE TABLE alert_events (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    rule_id       uuid REFERENCES alert_rules (id) ON DELETE SET NULL,
    tracker_id    uuid REFERENCES trackers (id) ON DELETE SET NULL,
    metric        text NOT NULL,
    condition     text NOT NULL,
    value         double precision,
    previous      double precision,
    -- In words: "stars rose above 20,000 (now 20,140)".
    reason        text NOT NULL,
    fired_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_events_workspace ON alert_events (workspace_id, fired_at DESC);
CREATE INDEX alert_events_tracker ON alert_events (tracker_id, fired_at DESC);

CREATE TABLE alert_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid NOT NULL REFERENCES alert_events (id) ON DELETE CASCADE,
    channel_id      uuid NOT NULL REFERENCES alert_channels (id) ON DELETE CASCADE,
    state           text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'sent', 'retrying', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    leased_until    timestamptz,
    last_error      text,
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, channel_id)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at)
    WHERE state IN ('queued', 'retrying');

-- "Poll now": when a tracker of the source last asked for it (at most once a minute).
ALTER TABLE sources ADD COLUMN poll_now_at timestamptz;
