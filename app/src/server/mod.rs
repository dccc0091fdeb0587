//! Server-side code of the app (feature `ssr`): never compiled to wasm. Server functions,
//! the server's handlers and background jobs share it.

pub mod admin;
pub mod alerts;
pub mod auth;
pub mod billing;
pub mod db;
pub mod email;
pub mod jobs;
pub mod password;
pub mod prom;
pub mod push;
pub mod rate_limit;
pub mod session_store;
pub mod signature;
pub mod sinks;
pub mod state;
pub mod tokens;
pub mod tracking;
pub mod watches;
