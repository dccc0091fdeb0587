-- Events (`POST /api/v1/events`): each is counted into its push source's
-- `events_total{type="…"}` series (a counter, plus a label per property the push
-- source names in `event_labels`), and kept raw here for the workspace's plan's raw
-- retention (pruned by `prune_samples`), for `GET /api/v1/push-sources/{id}/events.csv`
-- and `.json`.

-- The event properties that become labels of the counted series (at most 8 label
-- names; `type` is the event's type itself).
ALTER TABLE push_sources ADD COLUMN event_labels text[] NOT NULL DEFAULT '{}'
    CHECK (cardinality(event_labels) <= 8);

CREATE TABLE push_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    push_source_id  uuid NOT NULL REFERENCES push_sources (id) ON DELETE CASCADE,
    type            text NOT NULL CHECK (char_length(type) BETWEEN 1 AND 100),
    t               timestamptz NOT NULL,
    properties      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(properties) = 'object'),
    received_at     timestamptz NOT NULL DEFAULT now()
);
-- Exports read a push source's events in time order; pruning reads a workspace's oldest.
CREATE INDEX push_events_by_source ON push_events (push_source_id, t, id);
CREATE INDEX push_events_by_workspace ON push_events (workspace_id, t);
