-- Email: the outbox (one row per message, sent by the `send_email` job or, without an
-- SMTP server, written to the log), the addresses that refused mail for good, the
-- single-use links of verification and password reset, and when a user's address was
-- confirmed. See docs/architecture.md, "Email".
CREATE TABLE email_outbox (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- verify_email, reset_password, sign_up_attempt, … (app::domain::outbox::EmailKind).
    kind             text NOT NULL,
    to_address       text NOT NULL,
    subject          text NOT NULL,
    text_body        text NOT NULL,
    html_body        text NOT NULL,
    -- One event, one message: queuing with a key already used is a no-op.
    dedupe_key       text NOT NULL UNIQUE,
    -- queued: to send (again at next_attempt_at); sent; failed (last_error says why);
    -- logged: written to the log, no SMTP server configured.
    state            text NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'sent', 'failed', 'logged')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    -- Set while a `send_email` job for the message is queued or running.
    leased_until     timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz
);
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at) WHERE state = 'queued';
CREATE INDEX email_outbox_recent ON email_outbox (created_at DESC);

-- Addresses whose mail server refused a message for good (an SMTP 5xx): nothing more is
-- sent to them.
CREATE TABLE email_suppressions (
    address      text PRIMARY KEY,
    reason       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Links sent by email: only the SHA-256 of the token is kept; each works once.
CREATE TABLE email_tokens (
    token_hash   bytea PRIMARY KEY,
    purpose      text NOT NULL CHECK (purpose IN ('verify', 'reset')),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The address the link was sent to: a verification confirms that address only.
    email        text NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_tokens_user ON email_tokens (user_id);

ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
-- Accounts made before email existed count as confirmed: nobody sent them a link.
UPDATE users SET email_verified_at = created_at;
