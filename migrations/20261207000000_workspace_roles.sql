-- Roles in a workspace (domain::permission): owner, admin, editor, viewer. 'member', which
-- the app never gave (sign-up makes owners), becomes 'editor', with any row holding it.
ALTER TYPE workspace_role RENAME VALUE 'member' TO 'editor';
ALTER TYPE workspace_role ADD VALUE 'admin' BEFORE 'editor';
ALTER TYPE workspace_role ADD VALUE 'viewer' AFTER 'editor';
