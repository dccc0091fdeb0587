//! Polling through the real apalis workers on PostgreSQL: backoff and recovery, rate-limit
//! slowdown, gone sources, leases of crashed workers, and two worker processes sharing
//! 1,000 due sources.

use std::time::Duration;

use app::domain::{Role, TokenScope};
use serde_json::json;
use sqlx::PgPool;

use crate::{
    helpers::{Process, TestApp, eventually, run_binary, spawn_app_with_standin, vars},
    standin::{Canned, StandIn, fixtures},
};

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SourceState {
    state: String,
    consecutive_failures: i32,
    interval_secs: i32,
    /// Seconds from now to the next poll.
    next_in: Option<f64>,
    last_error: Option<String>,
    last_error_excerpt: Option<String>,
    polls: i64,
}

impl SourceState {
    /// Checks that the source's last error says `part`.
    #[track_caller]
    fn assert_error(&self, part: &str) {
        let error = self.last_error.as_deref().unwrap_or_default();
        assert!(error.contains(part), "{part:?} in {self:?}");
    }

    /// Checks that the excerpt of the source's last answer holds `part`.
    #[track_caller]
    fn assert_excerpt(&self, part: &str) {
        let excerpt = self.last_error_excerpt.as_deref().unwrap_or_default();
        assert!(excerpt.contains(part), "{part:?} in {self:?}");
    }
}

async fn source_state(pool: &PgPool) -> SourceState {
    sqlx::query_as(
        "SELECT state, consecutive_failures, interval_secs,
                extract(epoch FROM next_poll_at - now())::float8 AS next_in,
                last_error, last_error_excerpt,
                (SELECT count(*) FROM samples) AS polls
         FROM sources",
    )
    .fetch_one(pool)
    .await
    .expect("the source")
}

/// Makes the source due now and waits until a worker has recorded a poll after that.
pub(crate) async fn poll_now(app: &TestApp) -> SourceState {
    let marker = app.make_due().await;
    eventually(Duration::from_secs(30), "a poll", || async {
        let polled: Option<chrono::DateTime<chrono::Utc>> =
            sqlx::query_scalar("SELECT last_poll_at FROM sources")
                .fetch_one(&app.pool)
                .await
                .expect("last poll");
        polled.filter(|at| *at >= marker).map(|_| ())
    })
    .await;
    source_state(&app.pool).await
}

/// Tracks `url` in a new member's workspace: their token.
async fn track(app: &TestApp, url: &str) -> String {
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    app.track(&token, url).await;
    token
}

/// A stand-in and the app tracking leptos-rs/leptos, which has `stars`.
pub(crate) async fn tracking_leptos(stars: u64) -> (StandIn, TestApp) {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.set_github_repo("leptos-rs/leptos", stars);
    track(&app, "https://github.com/leptos-rs/leptos").await;
    app.history_loaded().await;
    (standin, app)
}

/// A stand-in and the app tracking Hacker News item 8863 (111 points, 71 comments), and
/// the tracking workspace's token.
async fn tracking_story() -> (StandIn, TestApp, String) {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.set("hn/item/8863", fixtures::hn_story(8863, 111, 71));
    let token = track(&app, "https://news.ycombinator.com/item?id=8863").await;
    (standin, app, token)
}

#[tokio::test]
async fn transient_failures_back_off_and_recover() {
    let (standin, app) = tracking_leptos(100).await;
    let workers = app.start_workers();

    // Three 502s: the job's three attempts fail, the source backs off for twice the
    // interval (15 min → 30 min) and says why.
    standin.script("/github/repos", vec![Canned::status(502); 3]);
    let state = poll_now(&app).await;
    assert_eq!(state.state, "backing_off");
    assert_eq!(
        state.interval_secs, 900,
        "backing off leaves the interval as it is"
    );
    assert_eq!(state.consecutive_failures, 1);
    let next_in = state.next_in.expect("scheduled");
    assert!((1_790.0..=1_810.0).contains(&next_in), "{next_in}");
    state.assert_error("GitHub answered HTTP 502");
    assert_eq!(state.polls, 4, "the first sample only");

    // Again: doubled (1 h).
    standin.script("/github/repos", vec![Canned::status(500); 3]);
    let state = poll_now(&app).await;
    assert_eq!(state.consecutive_failures, 2);
    let next_in = state.next_in.expect("scheduled");
    assert!((3_590.0..=3_610.0).contains(&next_in), "{next_in}");

    // Timeouts and a broken connection count the same; a success recovers at once.
    standin.set_github_repo("leptos-rs/leptos", 101);
    let state = poll_now(&app).await;
    assert_eq!(state.state, "ok");
    assert_eq!(state.consecutive_failures, 0);
    assert_eq!(state.last_error, None);
    let next_in = state.next_in.expect("scheduled");
    assert!(
        (800.0..=1_000.0).contains(&next_in),
        "back to 15 min ± 10%: {next_in}"
    );
    assert_eq!(state.polls, 8);
    workers.stop().await;
}

#[tokio::test]
async fn rate_limits_slow_the_provider_down() {
    let (standin, app, _) = tracking_story().await;
    let workers = app.start_workers();

    standin.script(
        "/hackernews/v0/item",
        vec![Canned::json(429, json!({ "error": "slow down" })).header("retry-after", "7200")],
    );
    let state = poll_now(&app).await;
    assert_eq!(state.state, "backing_off");
    let next_in = state.next_in.expect("scheduled");
    assert!(next_in >= 7_190.0, "not before Retry-After: {next_in}");
    state.assert_error("HTTP 429");

    // Within this process Hacker News is left alone until then: the next poll is not sent.
    let before = standin.hits_on("/hackernews");
    let state = poll_now(&app).await;
    assert_eq!(
        standin.hits_on("/hackernews"),
        before,
        "nothing sent while paused"
    );
    assert_eq!(state.state, "backing_off");
    state.assert_error("rate limit");
    workers.stop().await;
}

#[tokio::test]
async fn deleted_things_are_gone_and_parse_errors_keep_an_excerpt() {
    let (standin, app, token) = tracking_story().await;
    let workers = app.start_workers();

    // Garbage: recorded with an excerpt, not retried, polled again at the usual interval.
    let before = standin.hits_on("/hackernews");
    standin.script(
        "/hackernews/v0/item",
        vec![Canned::text(200, "<html><body>Bad gateway</body></html>")],
    );
    let state = poll_now(&app).await;
    assert_eq!(
        standin.hits_on("/hackernews") - before,
        1,
        "a parse error is not retried"
    );
    assert_eq!(state.state, "ok");
    state.assert_error("invalid JSON");
    state.assert_excerpt("Bad gateway");
    assert!(state.next_in.expect("scheduled") > 700.0);

    standin.set("hn/item/8863", fixtures::hn_deleted(8863));
    let state = poll_now(&app).await;
    assert_eq!(state.state, "gone");
    assert_eq!(state.next_in, None, "a gone source is not polled again");
    state.assert_error("was deleted");
    let (_, list) = app.api_get("/api/v1/trackers", &token).await;
    assert_eq!(list["trackers"][0]["state"], "gone");
    assert_eq!(
        list["trackers"][0]["metrics"][0]["latest"], 111.0,
        "its data stays"
    );
    workers.stop().await;
}

#[tokio::test]
async fn a_crashed_workers_sources_are_claimed_again_when_the_lease_expires() {
    let (standin, app, _) = tracking_story().await;
    // A worker claimed it and died before polling: the lease runs out in 2 s.
    sqlx::query(
        "UPDATE sources SET next_poll_at = now(), leased_until = now() + interval '2 seconds'",
    )
    .execute(&app.pool)
    .await
    .expect("lease");
    let before = standin.hits_on("/hackernews");
    let workers = app.start_workers();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(
        standin.hits_on("/hackernews"),
        before,
        "leased: not polled yet"
    );
    eventually(
        Duration::from_secs(60),
        "the expired lease to be claimed",
        || async {
            let state = source_state(&app.pool).await;
            (state.polls == 4 && state.next_in.is_some_and(|next| next > 600.0)).then_some(())
        },
    )
    .await;
    assert_eq!(standin.hits_on("/hackernews") - before, 1);
    workers.stop().await;
}

/// Inserts `count` Hacker News sources, due now, tracked by one workspace.
async fn many_sources(
    pool: &PgPool,
    standin: &StandIn,
    workspace_id: app::domain::WorkspaceId,
    count: i64,
) {
    for id in 1..=count {
        standin.set(
            &format!("hn/item/{id}"),
            fixtures::hn_story(id as u64, id as u64, 1),
        );
    }
    sqlx::query(
        "INSERT INTO sources (kind, key, title, url, next_poll_at)
         SELECT 'hackernews.item', g::text, 'Item ' || g, 'https://news.ycombinator.com/item?id=' || g, now()
         FROM generate_series(1, $1) AS g",
    )
    .bind(count)
    .execute(pool)
    .await
    .expect("sources");
    sqlx::query(
        "INSERT INTO source_metrics (source_id, name, kind, unit, position)
         SELECT s.id, m.name, m.kind, m.unit, m.position
         FROM sources s, (VALUES ('score', 'gauge', 'points', 0), ('comments', 'counter', 'comments', 1))
              AS m(name, kind, unit, position)",
    )
    .execute(pool)
    .await
    .expect("metrics");
    sqlx::query(
        "INSERT INTO trackers (workspace_id, source_id, label) SELECT $1, id, title FROM sources",
    )
    .bind(workspace_id)
    .execute(pool)
    .await
    .expect("trackers");
}

#[tokio::test]
async fn two_worker_processes_poll_each_source_once_per_due_time() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    let user = app.create_user(Role::Member).await;
    let workspace = app.workspace_of(&user).await;
    many_sources(&app.pool, &standin, workspace, 1_000).await;
    // Not due until both processes are ready to take jobs: a process that starts a
    // moment before the other could otherwise take every job, and nothing would compete.
    sqlx::query("UPDATE sources SET next_poll_at = now() + interval '1 day'")
        .execute(&app.pool)
        .await
        .expect("not due yet");

    let mut env = standin.env();
    env.push(("DATABASE_URL", app.direct_database_url()));
    env.push(("UPCOUNT_JOB_POLL_INTERVAL_MS", "100".into()));
    // Small batches: many jobs per due time, so a process busy for a moment (a loaded
    // machine) still leaves the other some to take.
    env.push(("UPCOUNT_DISPATCH_BATCH", "20".into()));
    let vars = vars(&env);
    let mut processes = [
        Process::start(&["worker"], &vars),
        Process::start(&["worker"], &vars),
    ];
    for process in &mut processes {
        process
            .wait_for_log_where("worker started", |line| {
                line["worker"]
                    .as_str()
                    .is_some_and(|name| name.starts_with("poll_sources"))
            })
            .await;
    }
    app.make_due().await;

    let polled = |round: i64| {
        let app = &app;
        async move {
            eventually(Duration::from_secs(120), "every source polled", || async {
                let done = app
                    .count("SELECT count(*) FROM sources WHERE next_poll_at > now() + interval '10 minutes'")
                    .await;
                let samples = app.count("SELECT count(*) FROM samples").await;
                (done == 1_000 && samples == 2_000 * round).then_some(())
            })
            .await;
        }
    };
    polled(1).await;
    // A second due time for all of them.
    app.make_due().await;
    polled(2).await;
    // Let any straggling duplicate show itself.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let hits = standin.hits();
    for id in 1..=1_000 {
        let path = format!("/hackernews/v0/item/{id}.json");
        let count = hits.iter().filter(|hit| **hit == path).count();
        assert_eq!(count, 2, "item {id} fetched once per due time");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM samples").await,
        4_000,
        "two samples per source and due time, none duplicated"
    );
    let workers: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT split_part(lock_by, '-', 2)) FROM apalis.jobs WHERE job_type = 'poll_sources'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("workers");
    assert_eq!(workers, 2, "both processes polled");
}

#[tokio::test]
async fn schedule_dump_and_poll_once_from_the_command_line() {
    let (standin, app) = tracking_leptos(19_000).await;
    let mut env = standin.env();
    env.push(("DATABASE_URL", app.direct_database_url()));
    let vars = vars(&env);

    let (code, stdout, stderr) = run_binary(&["admin", "schedule-dump"], &vars).await;
    assert_eq!(code, 0, "{stderr}");
    let dump: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let entry = &dump[0];
    assert_eq!(entry["kind"], "github.repo");
    assert_eq!(entry["key"], "leptos-rs/leptos");
    assert_eq!(entry["state"], "ok");
    assert_eq!(entry["interval_secs"], 900);
    assert_eq!(entry["trackers"], 1);
    assert_eq!(entry["consecutive_failures"], 0);
    assert!(entry["next_poll_at"].is_string());

    let samples_before = app.count("SELECT count(*) FROM samples").await;
    let (code, stdout, stderr) = run_binary(
        &["poll-once", "url", "https://github.com/leptos-rs/leptos"],
        &vars,
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let output: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(output["kind"], "github.repo");
    assert_eq!(output["metadata"]["title"], "leptos-rs/leptos");
    assert_eq!(
        output["metrics"][0],
        json!({ "name": "stars", "kind": "counter", "unit": "stars", "value": 19000.0, "error": null })
    );
    let samples_after = app.count("SELECT count(*) FROM samples").await;
    assert_eq!(samples_before, samples_after, "nothing stored");

    let (code, _, stderr) =
        run_binary(&["poll-once", "github.repo", "nobody/nothing"], &vars).await;
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("Not found: GitHub repository nobody/nothing does not exist"),
        "{stderr}"
    );
    let (code, _, stderr) = run_binary(&["poll-once", "url", "https://example.com/"], &vars).await;
    assert_eq!(code, 2, "{stderr}");
}

#[tokio::test]
async fn this_servers_own_rate_limit_defers_polls_without_failing_them() {
    // One Hacker News request a minute (bursts of ten): of 20 due sources about ten are
    // polled now and the others are simply due later, not failed.
    let (standin, app) =
        spawn_app_with_standin(vec![("UPCOUNT_HACKERNEWS_RATE_PER_MIN", "1".into())]).await;
    let user = app.create_user(Role::Member).await;
    let workspace = app.workspace_of(&user).await;
    many_sources(&app.pool, &standin, workspace, 20).await;
    let workers = app.start_workers();
    app.wait_for_count(
        Duration::from_secs(30),
        "SELECT count(*) FROM sources WHERE next_poll_at <= now()",
        0,
    )
    .await;
    workers.stop().await;
    let (polled, deferred, failed): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE last_poll_at IS NOT NULL),
                count(*) FILTER (WHERE last_poll_at IS NULL AND next_poll_at > now() + interval '30 seconds'
                                 AND state = 'ok' AND last_error IS NULL),
                count(*) FILTER (WHERE consecutive_failures > 0)
         FROM sources",
    )
    .fetch_one(&app.pool)
    .await
    .expect("counts");
    assert_eq!(failed, 0);
    assert!((9..=11).contains(&polled), "a burst of ten: {polled}");
    assert_eq!(polled + deferred, 20);
    assert_eq!(standin.hits_on("/hackernews") as i64, polled);
}

#[tokio::test]
async fn a_batch_endpoint_answering_404_is_an_outage_not_every_source_gone() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.set_coingecko_coin("bitcoin", 67_000.0);
    track(&app, "https://www.coingecko.com/en/coins/bitcoin").await;
    let workers = app.start_workers();
    standin.script(
        "/coingecko/api/v3/simple/price",
        vec![Canned::json(404, json!({ "error": "Not Found" }))],
    );
    let state = poll_now(&app).await;
    assert_eq!(state.state, "backing_off", "{state:?}");
    assert!(state.next_in.is_some(), "still scheduled");
    workers.stop().await;
}

#[tokio::test]
async fn nul_characters_from_upstreams_are_stored_safely() {
    let (standin, app) =
        spawn_app_with_standin(vec![("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".into())]).await;
    standin.set("json/odd", json!({ "n": 1, "s": "a\u{0}b" }));
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let url = format!("{}/json/odd", standin.base());
    let (status, body) = app
        .post_tracker(
            &token,
            json!({ "url": url, "metrics": { "n": "n", "s": "s" } }),
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{body}");
    let workers = app.start_workers();
    standin.set("json/odd", json!({ "n": 2, "s": "a\u{0}b" }));
    let state = poll_now(&app).await;
    assert_eq!(state.state, "ok");
    assert!(
        state
            .last_error
            .as_deref()
            .unwrap_or_default()
            .starts_with("s: "),
        "{state:?}"
    );
    // A binary answer: a parse error whose excerpt holds no NUL either.
    standin.script("/json/odd", vec![Canned::text(200, "\u{0}\u{1}PNG\u{0}")]);
    poll_now(&app).await.assert_excerpt("PNG");
    workers.stop().await;
}

#[tokio::test]
async fn a_killed_workers_claims_come_back_within_one_short_lease() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    let user = app.create_user(Role::Member).await;
    let workspace = app.workspace_of(&user).await;
    many_sources(&app.pool, &standin, workspace, 20).await;
    sqlx::query("UPDATE sources SET next_poll_at = now() + interval '1 day'")
        .execute(&app.pool)
        .await
        .expect("not due yet");

    let mut env = standin.env();
    env.push(("DATABASE_URL", app.direct_database_url()));
    env.push(("UPCOUNT_JOB_POLL_INTERVAL_MS", "100".into()));
    env.push(("UPCOUNT_POLL_LEASE_SECS", "10".into()));
    let vars = vars(&env);
    // The upstream hangs: the first worker's jobs are stuck in their requests when it is
    // killed, their sources taken and their leases being renewed.
    standin.stall("/hackernews", Duration::from_secs(120));
    let mut first = Process::start(&["worker"], &vars);
    first
        .wait_for_log_where("worker started", |line| {
            line["worker"]
                .as_str()
                .is_some_and(|name| name.starts_with("poll_sources"))
        })
        .await;
    app.make_due().await;
    eventually(
        Duration::from_secs(30),
        "the first worker's jobs to take every source",
        || async {
            let taken = app
                .count("SELECT count(*) FROM sources WHERE leased_until > now()")
                .await;
            (taken == 20).then_some(())
        },
    )
    .await;
    // Held past the lease while the job runs: renewed, not claimed again.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(
        app.count("SELECT count(*) FROM sources WHERE leased_until > now()")
            .await,
        20,
        "leases renewed while the jobs run"
    );
    first.signal(libc::SIGKILL);
    let killed = std::time::Instant::now();
    standin.unstall();

    let second = Process::start(&["worker"], &vars);
    eventually(
        Duration::from_secs(60),
        "every source polled by the second worker",
        || async {
            let polled = app.count("SELECT count(*) FROM samples").await;
            (polled == 40).then_some(())
        },
    )
    .await;
    let recovered = killed.elapsed();
    assert!(
        recovered < Duration::from_secs(30),
        "claims came back within a lease and a dispatch, not minutes: {recovered:?}"
    );
    drop(second);
}
