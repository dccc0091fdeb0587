-- Forwarding: a workspace's sinks (InfluxDB, Graphite, a webhook) and the samples
-- waiting to go to each, queued by the poll that wrote them and deleted once sent.

CREATE TABLE sinks (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('influxdb', 'influxdb2', 'graphite', 'webhook')),
    -- Where and how it sends, without the secret (`domain::sink::SinkTarget`).
    config          jsonb NOT NULL,
    -- The InfluxDB password or token, or the webhook's signing secret, encrypted with
    -- UPCOUNT_SECRET_KEY.
    secret          text,
    -- The trackers forwarded; NULL: every tracker of the workspace.
    tracker_ids     uuid[],
    state           text NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'failing')),
    -- Sends that failed in a row: the backoff's exponent, `failing` past a few.
    failures        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Held by the forwarding job sending its backlog.
    leased_until    timestamptz,
    last_error      text,
    last_error_at   timestamptz,
    last_sent_at    timestamptz,
    -- Points sent, and points dropped (oldest first) past the backlog's bound.
    sent            bigint NOT NULL DEFAULT 0,
    dropped         bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sinks_workspace ON sinks (workspace_id);

-- One row per sample and sink, in the order they came (`id`). No foreign keys to
-- trackers or metrics: a row whose tracker or metric is gone is dropped when its turn
-- comes, so deleting a tracker does not scan the backlog.
CREATE TABLE sink_backlog (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sink_id    uuid NOT NULL REFERENCES sinks (id) ON DELETE CASCADE,
    tracker_id uuid NOT NULL,
    metric_id  integer NOT NULL,
    t          timestamptz NOT NULL,
    value      double precision NOT NULL
);
CREATE INDEX sink_backlog_sink ON sink_backlog (sink_id, id);
