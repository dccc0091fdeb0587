-- History on day one: a source's backfill (what its upstream keeps of the past, loaded
-- page by page by the `backfill` job). One row per source, made when the first tracker
-- of a never-polled source whose provider keeps history is added: the row's existence is
-- "once per source". See docs/architecture.md, "Backfill".
CREATE TABLE source_backfills (
    source_id        bigint PRIMARY KEY REFERENCES sources (id) ON DELETE CASCADE,
    -- pending: not started or between pages; waiting: paused by the upstream's rate limit
    -- or an outage until next_attempt_at; done; failed (last_error says why).
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'waiting', 'done', 'failed')),
    -- Every backfilled sample lies before this time and every observed one at or after it:
    -- a sample's origin is `upstream` before it, `observed` from it on.
    before           timestamptz NOT NULL,
    -- The provider's cursor of the next page (NULL: the first), saved with each page.
    cursor           jsonb,
    progress         real NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    pages            integer NOT NULL DEFAULT 0,
    points           bigint NOT NULL DEFAULT 0,
    -- Failed attempts in a row (a rate limit does not count).
    failures         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    -- Set while a job owns the backfill; renewed with every page saved.
    leased_until     timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);
CREATE INDEX source_backfills_due ON source_backfills (next_attempt_at)
    WHERE state IN ('pending', 'waiting');
