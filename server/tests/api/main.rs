//! Black-box tests of the server: one binary, a module per area.

mod accounts;
mod admin;
mod alerts;
mod assets;
mod authz;
mod backfill;
mod billing;
mod charts;
mod contract;
mod email;
mod hardening;
mod health;
mod helpers;
mod jobs;
mod pages;
mod polling;
mod process;
mod prom;
mod providers;
mod push;
mod query_count;
mod scrape;
mod shutdown;
mod sinks;
mod standin;
mod trackers;
