-- What the admin console shows of the past.

-- The sign-in history on the admin's user page keeps refused attempts too (a wrong
-- password, a suspended account) and sign-ups, with the browser that made them.
ALTER TABLE sign_ins
    ADD COLUMN outcome text NOT NULL DEFAULT 'signed_in'
        CHECK (outcome IN ('signed_in', 'signed_up', 'wrong_password', 'suspended'));

-- Scheduled polls per provider and minute (each source polled counts once), beside the
-- upstream requests they took: the console's polls and failures over the last hour and day.
ALTER TABLE provider_minutes
    ADD COLUMN polls bigint NOT NULL DEFAULT 0,
    ADD COLUMN failed_polls bigint NOT NULL DEFAULT 0;
