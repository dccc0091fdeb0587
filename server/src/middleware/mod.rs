//! Layers in front of the dynamic routes: CSRF checks, then who is signed in.

pub mod auth;
pub mod csrf;
pub mod timeout;
