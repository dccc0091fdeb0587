-- Accounts: users, their workspaces, sessions, API tokens and sign-in rate limits.

-- Everything a customer owns (trackers, tokens, the subscription) belongs to a workspace;
-- every user has a personal one from sign-up, so teams can come later.
CREATE TABLE workspaces (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER workspaces_set_updated_at BEFORE UPDATE ON workspaces
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TYPE user_role AS ENUM ('member', 'admin');

CREATE TABLE users (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Trimmed and lowercased by the application; the check keeps it that way.
    email          text NOT NULL UNIQUE CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 254),
    -- argon2id PHC string: algorithm, parameters and salt travel with the hash.
    password_hash  text NOT NULL,
    role           user_role NOT NULL DEFAULT 'member',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TYPE workspace_role AS ENUM ('owner', 'member');

CREATE TABLE workspace_members (
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role          workspace_role NOT NULL DEFAULT 'owner',
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_members_user_id ON workspace_members (user_id);

-- tower-sessions records. `user_id` is copied out of the data so that all of a user's
-- sessions can be ended at once (password change, account deletion).
CREATE TABLE sessions (
    id           text PRIMARY KEY,
    data         jsonb NOT NULL,
    expires_at   timestamptz NOT NULL,
    user_id      uuid REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TYPE token_scope AS ENUM ('read', 'write');

CREATE TABLE api_tokens (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    created_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    scope         token_scope NOT NULL,
    -- SHA-256 of the whole token; the token itself is shown once and never stored.
    token_hash    bytea NOT NULL UNIQUE,
    -- The first characters, to tell tokens apart in lists ("upc_3fA9…").
    token_prefix  text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz
);
CREATE INDEX api_tokens_workspace_id ON api_tokens (workspace_id);

-- Generic cell rate algorithm state (theoretical arrival time, in nanoseconds since the
-- Unix epoch) per limited key, e.g. sign-in attempts per email and per client address.
CREATE TABLE rate_limits (
    key         text PRIMARY KEY,
    tat_nanos   bigint NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX rate_limits_expires_at ON rate_limits (expires_at);
