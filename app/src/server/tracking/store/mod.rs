//! Sources, trackers, metrics and samples in PostgreSQL, one concern per file. Every
//! tracker query is scoped to a workspace; sources are shared and never reached except
//! through a tracker.

mod backfills;
mod history;
mod polls;
mod samples;
mod schedule;
mod scrape;
mod sources;
mod streams;
mod trackers;

pub use backfills::*;
pub use history::*;
pub use polls::*;
pub use samples::*;
pub use schedule::*;
pub use scrape::*;
pub use sources::*;
pub use streams::*;
pub use trackers::*;
