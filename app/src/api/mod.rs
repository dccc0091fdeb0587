//! Server functions and the data they return, by area.

pub mod account;
pub mod admin;
pub mod billing;
pub mod compare;
pub mod flash;
pub mod session;
pub mod trackers;
