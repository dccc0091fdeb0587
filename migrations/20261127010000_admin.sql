-- Operating the service: suspended users, sign-in history and the admin audit log.

-- A suspended user cannot sign in, their sessions and tokens stop working, and the
-- workspaces of which they are the only member stop polling (their data stays).
ALTER TABLE users ADD COLUMN suspended_at timestamptz;
-- Set while every member of the workspace is suspended.
ALTER TABLE workspaces ADD COLUMN suspended_at timestamptz;

-- Successful sign-ins, for the admin's user page.
CREATE TABLE sign_ins (
    id       bigserial PRIMARY KEY,
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at       timestamptz NOT NULL DEFAULT now(),
    ip       text NOT NULL,
    user_agent text
);
CREATE INDEX sign_ins_by_user ON sign_ins (user_id, at DESC);

-- Every admin action: who, what, to what, when. Kept when the actor or target is
-- deleted (the email and ids stay as text).
CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_id     uuid REFERENCES users (id) ON DELETE SET NULL,
    actor_email  text NOT NULL,
    action       text NOT NULL,
    -- `user:<id>`, `workspace:<id>`, `source:<id>`, `stripe_event:<id>`, `job:<id>`.
    target       text NOT NULL,
    detail       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_target ON audit_log (target, at DESC);

-- An admin's pause of a source: not polled, whatever its trackers say.
ALTER TABLE sources ADD COLUMN paused_by_admin boolean NOT NULL DEFAULT false;

-- The console's figures every five minutes (the `service_snapshot` job), for its charts.
CREATE TABLE service_snapshots (
    at               timestamptz PRIMARY KEY,
    users            bigint NOT NULL,
    workspaces       bigint NOT NULL,
    paying           bigint NOT NULL,
    mrr_cents        bigint NOT NULL,
    polls_last_hour  bigint NOT NULL,
    errors_last_hour bigint NOT NULL,
    due              bigint NOT NULL,
    queued_jobs      bigint NOT NULL
);

-- Upstream requests per provider and minute, flushed by each worker process: the admin
-- console's provider figures (requests, error rate, latency percentiles, rate limits).
CREATE TABLE provider_minutes (
    provider         text NOT NULL,
    minute           timestamptz NOT NULL,
    requests         bigint NOT NULL,
    errors           bigint NOT NULL,
    -- Requests per latency bucket (bounds in the code: http::LATENCY_BOUNDS_MS).
    buckets          bigint[] NOT NULL,
    remaining        double precision,
    paused_until     timestamptz,
    PRIMARY KEY (provider, minute)
);
