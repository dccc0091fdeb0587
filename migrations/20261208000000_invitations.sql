-- Invitations into a workspace, and how many members each plan allows.

ALTER TABLE plans ADD COLUMN max_members integer NOT NULL DEFAULT 1 CHECK (max_members >= 1);
UPDATE plans SET max_members = CASE id WHEN 'pro' THEN 5 WHEN 'business' THEN 25 ELSE 1 END;

-- A link that lets someone join a workspace with a role: sent by email, valid 7 days,
-- used once. Only the SHA-256 of the link's token is stored; "resend" replaces it.
CREATE TABLE workspace_invitations (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id      uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    -- Lower-cased, as users.email is.
    email             text NOT NULL,
    role              workspace_role NOT NULL,
    -- Whoever opens the link may accept it, signed in with another address.
    anyone_with_link  boolean NOT NULL DEFAULT false,
    token_hash        bytea NOT NULL UNIQUE,
    invited_by        uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    sent_at           timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL,
    accepted_at       timestamptz,
    accepted_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    revoked_at        timestamptz,
    CHECK (accepted_at IS NULL OR revoked_at IS NULL)
);
-- One open invitation per address and workspace.
CREATE UNIQUE INDEX workspace_invitations_open
    ON workspace_invitations (workspace_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
