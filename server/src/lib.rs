//! The Upcount server: the process that hosts the [`app`] crate.
//!
//! One binary, several roles (see [`cli`]): `serve` runs the web server and the background
//! workers together, `web` and `worker` run one of them, `migrate` and `enqueue` are
//! operator commands. Everything a test needs to start the real thing is public here.

pub mod admin;
pub mod cli;
pub mod config;
pub mod db;
pub mod exposition;
pub mod extract;
pub mod jobs;
pub mod listener;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod poll_once;
pub mod router;
pub mod routes;
pub mod shutdown;
pub mod startup;
pub mod stripe_standin;
pub mod telemetry;
