//! Plain axum handlers (the pages are Leptos routes in the `app` crate).

pub mod health;
