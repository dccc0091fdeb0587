//! Plain axum handlers (the pages are Leptos routes in the `app` crate).

pub mod account;
pub mod admin;
pub mod alert_forms;
pub mod alerts;
pub mod api;
pub mod auth;
pub mod billing;
pub mod docs;
pub mod email;
pub mod errors;
pub mod export;
pub mod forms;
pub mod health;
pub mod member_forms;
pub mod members;
pub mod prom;
pub mod push;
pub mod push_events;
pub mod push_formats;
pub mod rule_forms;
pub mod scrape;
pub mod share;
pub mod sink_forms;
pub mod sinks;
pub mod trackers;
pub mod workspaces;
