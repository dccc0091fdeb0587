-- Every change of membership or role in a workspace, for its owners and admins (and the
-- site's admins). Emails are copied so that the trail still reads after an account is gone.
CREATE TABLE workspace_audit (
    id             bigserial PRIMARY KEY,
    workspace_id   uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    at             timestamptz NOT NULL DEFAULT now(),
    actor_id       uuid REFERENCES users (id) ON DELETE SET NULL,
    actor_email    text,
    action         text NOT NULL,
    subject_id     uuid REFERENCES users (id) ON DELETE SET NULL,
    subject_email  text,
    role           workspace_role,
    previous_role  workspace_role
);
CREATE INDEX workspace_audit_workspace_at ON workspace_audit (workspace_id, at DESC, id DESC);
