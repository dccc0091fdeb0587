-- The sign-in history on the admin's user page keeps refused attempts too (a wrong
-- password, a suspended account) and sign-ups, with the browser that made them.
ALTER TABLE sign_ins
    ADD COLUMN outcome text NOT NULL DEFAULT 'signed_in'
        CHECK (outcome IN ('signed_in', 'signed_up', 'wrong_password', 'suspended'));
