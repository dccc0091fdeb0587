//! One module per page.

pub mod account;
pub mod admin;
pub mod admin_user;
pub mod alerts;
pub mod auth;
pub mod billing;
pub mod compare;
pub mod dashboard;
pub mod email;
pub mod landing;
pub mod members;
pub mod not_found;
pub mod shared;
pub mod signed_in;
pub mod streams;
pub mod tracker;
pub mod watches;
