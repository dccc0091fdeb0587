//! Every SQL statement of the app's aggregates: one module each. Queries that touch a
//! workspace's data take the workspace id, so callers cannot reach another's rows.

pub mod batches;
pub mod invitations;
pub mod members;
pub mod tokens;
pub mod users;
pub mod workspaces;
