-- What happened to a tracker and to its source, shown as markers on the tracker's chart.
CREATE TABLE tracker_events (
    id          bigserial PRIMARY KEY,
    tracker_id  uuid NOT NULL REFERENCES trackers (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL CHECK (kind IN ('added', 'paused', 'resumed', 'interval')),
    detail      text
);
CREATE INDEX tracker_events_by_tracker ON tracker_events (tracker_id, at);

-- A source's health changes: the first failed poll after a success (`failing`, with the
-- error), the first success after failures (`recovered`), and `gone`. Shared by every
-- tracker of the source, as the samples are.
CREATE TABLE source_events (
    id          bigserial PRIMARY KEY,
    source_id   bigint NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL CHECK (kind IN ('failing', 'recovered', 'gone')),
    detail      text
);
CREATE INDEX source_events_by_source ON source_events (source_id, at);
