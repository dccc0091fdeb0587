//! The command line: `upcount <command>`.

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "upcount",
    version,
    about = "Upcount: the numbers of things on the Internet, over time.",
    long_about = "Upcount: the numbers of things on the Internet, over time.\n\n\
        Settings come from environment variables (DATABASE_URL, LEPTOS_SITE_ADDR, RUST_LOG \
        and UPCOUNT_*); see the README for the full table."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the site and run the background workers in one process.
    Serve,
    /// Serve the site only.
    Web,
    /// Run the background workers only (start as many as you like).
    Worker,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Add a job to its queue now, for a worker to run.
    Enqueue {
        #[arg(value_enum)]
        job: JobName,
    },
    /// Manage users and API tokens; inspect the polling schedule.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Fetch a source's metadata and current metrics and print them as JSON, without
    /// storing anything. Exit codes: 2 bad input, 3 not found upstream, 4 upstream down or
    /// rate-limiting, 5 not allowed or not configured.
    PollOnce {
        /// The provider kind (`github.repo`, `json`…), or `url` to recognise the target.
        kind: String,
        /// The key (`leptos-rs/leptos`) or a URL.
        target: String,
        /// For `json`: a metric as `name=JMESPath`; repeat for more.
        #[arg(long = "metric", value_name = "NAME=EXPRESSION")]
        metrics: Vec<String>,
        /// For `json`: a request header as `Name: value`; repeat for more.
        #[arg(long = "header", value_name = "NAME: VALUE")]
        headers: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user (with a personal workspace). The password is read from standard input;
    /// when none is given, one is generated and printed.
    CreateUser {
        #[arg(long)]
        email: String,
        /// Give the user the admin role.
        #[arg(long)]
        admin: bool,
    },
    /// Set a user's password (read from standard input, or generated and printed) and end
    /// their sessions.
    SetPassword {
        #[arg(long)]
        email: String,
    },
    /// Create an API token for the user's workspace and print it.
    CreateToken {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["read", "write"])]
        scope: String,
        /// A name to recognise the token by.
        #[arg(long, default_value = "Command line")]
        name: String,
    },
    /// Set a workspace's plan (support's override, which wins over its subscription), or
    /// with `--plan subscription` go back to what its Stripe subscription gives. Applies
    /// the plan's limits at once (trackers over the limit are paused, never deleted).
    SetPlan {
        /// The workspace's id, or the email of a member (their personal workspace).
        #[arg(long)]
        workspace: String,
        /// `free`, `pro`, `business`, or `subscription`.
        #[arg(long)]
        plan: String,
    },
    /// Print every source with its schedule as JSON: kind, key, state, interval, next
    /// poll, consecutive failures, last error and tracker counts.
    ScheduleDump,
    /// Restore sources' schedules from a `schedule-dump` on standard input: state,
    /// interval, next poll, failure count and admin pause, matched by kind and key.
    ScheduleLoad,
    /// Import a metric's history for a tracker from CSV on standard input (`time,value`
    /// rows, time in RFC 3339, a header row allowed), keeping the rollups. Samples already
    /// recorded at the same time are kept as they are.
    ImportSamples {
        /// The tracker's id.
        #[arg(long)]
        tracker: String,
        /// The metric's name (`stars`).
        #[arg(long)]
        metric: String,
    },
}

/// Jobs an operator can enqueue by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JobName {
    /// Delete finished jobs and dead workers older than UPCOUNT_JOB_RETENTION_DAYS.
    PruneJobs,
    /// Delete expired sessions and sign-in rate-limit entries.
    CleanUpSessions,
    /// Delete raw samples older than the plans keep (the rollups stay).
    PruneSamples,
    /// Queue the daily and weekly digest emails that are due (each is sent once).
    SendDigests,
}
