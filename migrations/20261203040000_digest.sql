-- The digest email: how often each user wants it (off, the default; daily, about the
-- previous UTC day; weekly, about the previous ISO week), and the digests sent, one per
-- user and period, so that no period is sent twice. See docs/architecture.md, "Jobs".
ALTER TABLE users ADD COLUMN digest text NOT NULL DEFAULT 'off'
    CHECK (digest IN ('off', 'daily', 'weekly'));
CREATE INDEX users_digest ON users (digest) WHERE digest <> 'off';

CREATE TABLE digest_sent_for (
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- A day and a week may start on the same Monday: the frequency is part of the period.
    frequency     text NOT NULL CHECK (frequency IN ('daily', 'weekly')),
    period_start  timestamptz NOT NULL,
    -- The message queued for it (`email_outbox.dedupe_key` is `digest:<user>:<period>`).
    email_id      uuid REFERENCES email_outbox (id) ON DELETE SET NULL,
    sent_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, frequency, period_start)
);
