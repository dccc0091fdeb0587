-- What each poll of a Twitch channel read about its stream, for stream sessions
-- (`domain::streams`): live with the stream's id, start, title, game and tags, or offline
-- (`stream_id` NULL). One row a poll, written in the poll's transaction.
CREATE TABLE stream_polls (
    source_id   bigint NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    stream_id   text,
    started_at  timestamptz,
    viewers     double precision NOT NULL DEFAULT 0,
    title       text NOT NULL DEFAULT '',
    game        text,
    tags        text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (source_id, at)
);
