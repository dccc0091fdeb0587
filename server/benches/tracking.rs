//! `make bench` (tracking engine): 100,000 due Hacker News sources polled by the real
//! workers against a loopback stand-in, without and with three alert rules per source
//! (evaluated after each poll, in the same worker), and the sample writer against plain
//! `COPY`.
//! Prints a Markdown section and writes it into docs/benchmarks.md.
//!
//! Needs a PostgreSQL server (`UPCOUNT_TEST_DATABASE_URL`, a maintenance database URL);
//! creates and drops its own database. Sends traffic only to 127.0.0.1.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use app::server::tracking::store::{self, Sample};
use axum::{Router, extract::Path, routing::get};
use chrono::{TimeDelta, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use upcount::{config::Settings, db, jobs, startup};

mod common;

use common::{ScratchDatabase, machine, median, runs, write_section};

const SOURCES: i64 = 100_000;
const RULES_PER_SOURCE: i64 = 3;
const RUNS: usize = 3;
const WRITE_SAMPLES: usize = 200_000;
const WRITE_CHUNK: usize = 400;

async fn hn_item(Path(file): Path<String>) -> axum::response::Response {
    let id: u64 = file.trim_end_matches(".json").parse().unwrap_or(0);
    let body = serde_json::json!({
        "by": "dhouston", "descendants": id % 500, "id": id, "kids": [8952, 9224],
        "score": id % 1000, "time": 1175714200, "title": "A story", "type": "story",
        "url": "http://www.getdropbox.com/u/2/screencast.html"
    });
    (
        [("content-type", "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

use axum::response::IntoResponse;

async fn prepare(pool: &PgPool) -> anyhow::Result<()> {
    let user: uuid::Uuid =
        sqlx::query_scalar("INSERT INTO workspaces (name) VALUES ('bench') RETURNING id")
            .fetch_one(pool)
            .await?;
    sqlx::query(
        "INSERT INTO sources (kind, key, title, url, next_poll_at)
         SELECT 'hackernews.item', g::text, 'Item ' || g, 'https://news.ycombinator.com/item?id=' || g, NULL
         FROM generate_series(1, $1) AS g",
    )
    .bind(SOURCES)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO source_metrics (source_id, name, kind, unit, position)
         SELECT s.id, m.name, m.kind, m.unit, m.position FROM sources s,
                (VALUES ('score', 'gauge', 'points', 0), ('comments', 'counter', 'comments', 1))
                AS m(name, kind, unit, position)",
    )
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO trackers (workspace_id, source_id, label) SELECT $1, id, title FROM sources",
    )
    .bind(user)
    .execute(pool)
    .await?;
    Ok(())
}

/// Three rules on every source, as customers write them: a threshold on `score` (about
/// one in a hundred above it), a 20% change over 24 hours of `score`, an all-time high of
/// `comments` (which reads the daily rollups). Made paused: [`set_rules`] switches them.
async fn add_rules(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO alert_rules (workspace_id, tracker_id, metric_id, condition, spec,
                                  start_secs, extremes_secs, paused)
         SELECT t.workspace_id, t.id, m.id, r.condition, r.spec::jsonb, r.start_secs,
                r.extremes_secs, true
         FROM trackers t
         JOIN source_metrics m ON m.source_id = t.source_id
         JOIN (VALUES
             ('score', 'above', '{\"metric\": \"score\", \"condition\": \"above\", \"value\": 990}', NULL::integer, NULL::integer),
             ('score', 'change', '{\"metric\": \"score\", \"condition\": \"change\", \"percent\": 20, \"window\": \"24h\", \"direction\": \"either\"}', 86400, NULL),
             ('comments', 'new_high', '{\"metric\": \"comments\", \"condition\": \"new_high\"}', NULL, 0)
         ) AS r(metric, condition, spec, start_secs, extremes_secs) ON r.metric = m.name",
    )
    .execute(pool)
    .await?;
    let rules: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_rules")
        .fetch_one(pool)
        .await?;
    anyhow::ensure!(
        rules == SOURCES * RULES_PER_SOURCE,
        "expected {} rules, made {rules}",
        SOURCES * RULES_PER_SOURCE
    );
    Ok(())
}

/// The sources whose `score` rule fires on their first sample: `score` is the item's id
/// modulo 1,000 (see [`hn_item`]), and the threshold 990.
fn firing_sources() -> i64 {
    (1..=SOURCES).filter(|id| id % 1000 > 990).count() as i64
}

/// `upcount_alert_rules_evaluated_total` so far, from the process's metrics recorder.
fn rules_judged() -> u64 {
    let Some(handle) = upcount::metrics::handle() else {
        return 0;
    };
    handle
        .render()
        .lines()
        .find_map(|line| line.strip_prefix("upcount_alert_rules_evaluated_total "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map_or(0, |value| value as u64)
}

/// Pauses every rule (`on` false) or resumes them, from a clean state.
async fn set_rules(pool: &PgPool, on: bool) -> anyhow::Result<()> {
    sqlx::query("UPDATE alert_rules SET paused = NOT $1, state = '{}', last_sample_at = NULL")
        .bind(on)
        .execute(pool)
        .await?;
    sqlx::query("DELETE FROM alert_events")
        .execute(pool)
        .await?;
    sqlx::raw_sql("VACUUM ANALYZE alert_rules")
        .execute(pool)
        .await?;
    Ok(())
}

/// One polling run: every source due now; returns the seconds until all are polled. With
/// `rules`, checks that every rule was evaluated on the run's samples.
async fn polling_run(pool: &PgPool, settings: &Settings, rules: bool) -> anyhow::Result<f64> {
    set_rules(pool, rules).await?;
    sqlx::query("TRUNCATE samples, samples_hourly, samples_3h, samples_daily")
        .execute(pool)
        .await?;
    sqlx::query("DELETE FROM apalis.jobs").execute(pool).await?;
    sqlx::query(
        "UPDATE sources SET next_poll_at = now(), leased_until = NULL, last_poll_at = NULL",
    )
    .execute(pool)
    .await?;
    sqlx::raw_sql("VACUUM ANALYZE sources")
        .execute(pool)
        .await?;
    let shutdown = CancellationToken::new();
    let engine = startup::engine(settings)?;
    let judged_before = rules_judged();
    let started = Instant::now();
    let workers = tokio::spawn({
        let (pool, settings, shutdown) = (pool.clone(), settings.clone(), shutdown.clone());
        async move { jobs::run(pool, &settings, engine, shutdown).await }
    });
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let left: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sources WHERE last_poll_at IS NULL")
                .fetch_one(pool)
                .await?;
        if left == 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(1_800) {
            anyhow::bail!("polling took more than 30 minutes; {left} sources left");
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    shutdown.cancel();
    workers.await??;
    let samples: i64 = sqlx::query_scalar("SELECT count(*) FROM samples")
        .fetch_one(pool)
        .await?;
    anyhow::ensure!(
        samples == SOURCES * 2,
        "expected {} samples, found {samples}",
        SOURCES * 2
    );
    // Every rule judged on its source's new sample (the worker's counter), and only the
    // ones that fired written.
    let judged = rules_judged() - judged_before;
    let expected = if rules { SOURCES * RULES_PER_SOURCE } else { 0 };
    anyhow::ensure!(
        judged == expected as u64,
        "expected {expected} rules judged, counted {judged}"
    );
    let written: i64 =
        sqlx::query_scalar("SELECT count(*) FROM alert_rules WHERE last_sample_at IS NOT NULL")
            .fetch_one(pool)
            .await?;
    let fired: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_events")
        .fetch_one(pool)
        .await?;
    let expected = if rules { firing_sources() } else { 0 };
    anyhow::ensure!(
        written == expected && fired == expected,
        "expected {expected} rules fired and written, found {fired} fired and {written} written"
    );
    Ok(elapsed)
}

fn write_set(metric_ids: &[app::domain::MetricId]) -> Vec<Sample> {
    let start = Utc::now() - TimeDelta::days(30);
    (0..WRITE_SAMPLES)
        .map(|index| Sample {
            metric_id: metric_ids[index % metric_ids.len()],
            t: start + TimeDelta::seconds((index / metric_ids.len()) as i64 * 60),
            value: index as f64,
        })
        .collect()
}

async fn writer_run(pool: &PgPool, samples: &[Sample]) -> anyhow::Result<f64> {
    sqlx::query("TRUNCATE samples, samples_hourly, samples_3h, samples_daily")
        .execute(pool)
        .await?;
    let started = Instant::now();
    for chunk in samples.chunks(WRITE_CHUNK) {
        store::write_samples(pool, chunk).await?;
    }
    Ok(started.elapsed().as_secs_f64())
}

async fn copy_run(pool: &PgPool, samples: &[Sample]) -> anyhow::Result<f64> {
    sqlx::query("TRUNCATE samples, samples_hourly, samples_3h, samples_daily")
        .execute(pool)
        .await?;
    let mut data = String::with_capacity(samples.len() * 48);
    let started = Instant::now();
    for sample in samples {
        data.push_str(&format!(
            "{}\t{}\t{}\n",
            sample.metric_id,
            sample.t.to_rfc3339(),
            sample.value
        ));
    }
    let mut connection = pool.acquire().await?;
    let mut copy = connection
        .copy_in_raw("COPY samples (metric_id, t, value) FROM STDIN")
        .await?;
    copy.send(data.as_bytes()).await?;
    copy.finish().await?;
    Ok(started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let database = ScratchDatabase::create().await?;
    let url = database.url.clone();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let standin = listener.local_addr()?;
    tokio::spawn(async move {
        let router = Router::new().route("/hn/v0/item/{file}", get(hn_item));
        let _ = axum::serve(listener, router).await;
    });

    let vars: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", url.to_string()),
        ("UPCOUNT_HACKERNEWS_API_URL", format!("http://{standin}/hn")),
        ("UPCOUNT_HACKERNEWS_RATE_PER_MIN", "1000000".into()),
        ("UPCOUNT_DB_MAX_CONNECTIONS", "20".into()),
        ("UPCOUNT_POLL_CONCURRENCY", "16".into()),
        ("UPCOUNT_DISPATCH_BATCH", "5000".into()),
        ("UPCOUNT_DISPATCH_INTERVAL_MS", "100".into()),
        ("UPCOUNT_JOB_POLL_INTERVAL_MS", "50".into()),
        ("RUST_LOG", "warn".into()),
    ]);
    let settings =
        Settings::from_lookup(|key| vars.get(key).cloned().ok_or(std::env::VarError::NotPresent))?;
    let pool = db::pool(&settings.database);
    db::migrate(&pool).await?;
    prepare(&pool).await?;
    add_rules(&pool).await?;
    // Statistics, as autovacuum keeps them on a live database.
    sqlx::raw_sql("VACUUM ANALYZE").execute(&pool).await?;

    // Without and with rules in turn, so both see the same machine.
    let (mut polling, mut with_rules) = (Vec::new(), Vec::new());
    for run in 1..=RUNS {
        let seconds = polling_run(&pool, &settings, false).await?;
        eprintln!("polling run {run}: {SOURCES} sources in {seconds:.1} s");
        polling.push(seconds);
        let seconds = polling_run(&pool, &settings, true).await?;
        eprintln!("polling run {run} with rules: {SOURCES} sources in {seconds:.1} s");
        with_rules.push(seconds);
    }
    let fired: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_events")
        .fetch_one(&pool)
        .await?;
    let metric_ids: Vec<app::domain::MetricId> =
        sqlx::query_scalar("SELECT id FROM source_metrics ORDER BY id LIMIT 2000")
            .fetch_all(&pool)
            .await?;
    let samples = write_set(&metric_ids);
    let (mut writer, mut copy) = (Vec::new(), Vec::new());
    for run in 1..=RUNS {
        writer.push(writer_run(&pool, &samples).await?);
        copy.push(copy_run(&pool, &samples).await?);
        eprintln!(
            "write run {run}: writer {:.2} s, COPY {:.2} s",
            writer[run - 1],
            copy[run - 1]
        );
    }
    pool.close().await;
    database.drop().await?;

    let poll_secs = median(polling.clone());
    let rules_secs = median(with_rules.clone());
    let writer_secs = median(writer.clone());
    let copy_secs = median(copy.clone());
    let list = |values: &[f64]| runs(values, 2);
    let section = format!(
        "## Tracking engine: polling and the sample writer\n\n\
         {date}, {machine}; PostgreSQL on the same machine; release build; median of {RUNS} runs.\n\n\
         **Polling.** {SOURCES} `hackernews.item` sources due at once, two metrics each, polled by \
         one worker process (`UPCOUNT_POLL_CONCURRENCY=16`, dispatcher batches of 5,000) \
         against a loopback stand-in of the Hacker News API: one HTTP request per source, \
         jobs of 20 sources, samples and rollups written per job.\n\n\
         | | median | runs |\n|---|---|---|\n\
         | all {SOURCES} sources polled | {poll_secs:.1} s | {runs} s |\n\
         | polls per second | {polls:.0} | |\n\
         | samples written per second | {samples:.0} | |\n\n\
         **Alert rules.** The same polling with {RULES_PER_SOURCE} rules on every source \
         ({rules} rules: `score` above 990, `score` changing 20% over 24 h, an all-time high \
         of `comments`), evaluated after each job's samples are written with one read and one \
         write per job of the rules that fired or changed state; the runs alternate with the \
         runs above. Each run judged all {rules} rules and fired (and wrote) {fired}.\n\n\
         | | median | runs |\n|---|---|---|\n\
         | all {SOURCES} sources polled, with rules | {rules_secs:.1} s | {rules_runs} s |\n\
         | added by evaluating the rules | {overhead:+.1}% | |\n\n\
         **Write path alone.** {WRITE_SAMPLES} samples for 2,000 metrics: the engine's writer \
         (`store::write_samples`, chunks of {WRITE_CHUNK}: samples, hourly, 3-hourly and daily rollups and \
         latest values in one statement per chunk) against one plain `COPY` of the same rows \
         into `samples` alone.\n\n\
         | | median | runs | samples per second |\n|---|---|---|---|\n\
         | engine writer | {writer_secs:.2} s | {writer_runs} s | {writer_rate:.0} |\n\
         | plain `COPY` | {copy_secs:.2} s | {copy_runs} s | {copy_rate:.0} |\n\
         | ratio writer / `COPY` | {ratio:.1}× | | |\n",
        date = Utc::now().format("%Y-%m-%d"),
        machine = machine(),
        runs = list(&polling),
        rules = SOURCES * RULES_PER_SOURCE,
        rules_runs = list(&with_rules),
        overhead = (rules_secs / poll_secs - 1.0) * 100.0,
        polls = SOURCES as f64 / poll_secs,
        samples = (SOURCES * 2) as f64 / poll_secs,
        writer_runs = list(&writer),
        copy_runs = list(&copy),
        writer_rate = WRITE_SAMPLES as f64 / writer_secs,
        copy_rate = WRITE_SAMPLES as f64 / copy_secs,
        ratio = writer_secs / copy_secs,
    );
    println!("{section}");
    write_section(
        "## Tracking engine: polling and the sample writer",
        &section,
    )?;
    Ok(())
}
