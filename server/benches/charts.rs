//! `make bench` (charts): a tracker with a year of one-minute samples (525,600 points).
//!
//! 1. The series request for 1,000 points over the whole year (HTTP, through the release
//!    `upcount serve`, read from the rollups) against a plain SQL `date_bin` aggregation
//!    of the raw samples into the same buckets, in the same run.
//! 2. Time from navigation to the chart drawn on that tracker's page in headless Chromium
//!    (end2end/bench/time-to-chart.mjs), median of 5, and what a first visit downloads.
//! 3. The wasm bundle, raw and gzip.
//!
//! Needs `cargo leptos build --release` first (scripts/bench.sh does it) and a PostgreSQL
//! server (`UPCOUNT_TEST_DATABASE_URL`); creates and drops its own database. Sends traffic
//! only to 127.0.0.1.

mod common;

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use app::{
    domain::{Email, Role, TokenName, TokenScope},
    server::{db as app_db, password, tokens, tracking::store},
};
use chrono::{TimeDelta, Utc};
use common::{ScratchDatabase, machine, median, runs, write_section};
use sqlx::PgPool;
use upcount::{config::Settings, db};

const MINUTES: i64 = 525_600;
const RUNS: usize = 15;
const PAGE_RUNS: usize = 5;
const PASSWORD: &str = "bench password 1234";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A user with a token, and a tracker whose first metric has a year of minutes.
async fn prepare(pool: &PgPool) -> anyhow::Result<(String, String, uuid::Uuid)> {
    let email = "bench@example.com";
    let hash =
        password::hash(&app::domain::Password::parse(PASSWORD.into()).map_err(anyhow::Error::msg)?)
            .await?;
    let user = app_db::users::create(
        pool,
        &Email::parse(email).map_err(anyhow::Error::msg)?,
        &hash,
        Role::Member,
    )
    .await?
    .ok_or_else(|| anyhow::anyhow!("the user exists already"))?;
    let workspace = app_db::users::find_current(pool, user)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no workspace"))?
        .workspace_id;
    let token = tokens::generate();
    app_db::tokens::create(
        pool,
        workspace,
        user,
        &TokenName::parse("bench").map_err(anyhow::Error::msg)?,
        TokenScope::Read,
        &token,
    )
    .await?;
    let source: i64 = sqlx::query_scalar(
        "INSERT INTO sources (kind, key, title, url, next_poll_at)
         VALUES ('hackernews.item', '1', 'A year of minutes', 'https://news.ycombinator.com/item?id=1', NULL)
         RETURNING id",
    )
    .fetch_one(pool)
    .await?;
    let metric: app::domain::MetricId = sqlx::query_scalar(
        "INSERT INTO source_metrics (source_id, name, kind, unit, position)
         VALUES ($1, 'score', 'gauge', 'points', 0) RETURNING id",
    )
    .bind(source)
    .fetch_one(pool)
    .await?;
    let tracker: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO trackers (workspace_id, source_id, label) VALUES ($1, $2, 'A year') RETURNING id",
    )
    .bind(workspace)
    .bind(source)
    .fetch_one(pool)
    .await?;
    // Through the engine's writer, so the rollups are what polling would have made.
    let end = Utc::now();
    let started = Instant::now();
    let mut batch = Vec::with_capacity(5_000);
    for minute in 0..MINUTES {
        batch.push(store::Sample {
            metric_id: metric,
            t: end - TimeDelta::minutes(MINUTES - minute),
            value: 1_000.0 + minute as f64 * 0.05 + ((minute % 1_440) as f64 / 60.0).sin() * 20.0,
        });
        if batch.len() == 5_000 {
            store::write_samples(pool, &batch).await?;
            batch.clear();
        }
    }
    store::write_samples(pool, &batch).await?;
    sqlx::raw_sql("VACUUM ANALYZE samples, samples_hourly, samples_3h, samples_daily")
        .execute(pool)
        .await?;
    eprintln!(
        "wrote {MINUTES} samples in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok((email.to_string(), token.token, tracker))
}

/// The built release server, serving the release site.
struct Server {
    child: tokio::process::Child,
    base: String,
}

async fn start_server(database_url: &str) -> anyhow::Result<Server> {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"));
    let binary = target.join("release/upcount");
    anyhow::ensure!(
        binary.exists(),
        "{} is missing: run `cargo leptos build --release` first",
        binary.display()
    );
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?.port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let child = tokio::process::Command::new(&binary)
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("UPCOUNT_PUBLIC_URL", &base)
        .env("UPCOUNT_SITE_ROOT", root().join("target/site"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status().is_success()
        {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(Server { child, base })
}

/// Seconds of one series request for 1,000 points over the year.
async fn series_run(
    client: &reqwest::Client,
    server: &Server,
    token: &str,
    tracker: uuid::Uuid,
) -> anyhow::Result<(f64, usize)> {
    let to = Utc::now();
    let from = to - TimeDelta::minutes(MINUTES);
    let url = format!(
        "{}/api/v1/trackers/{tracker}/series?metric=score&points=1000&from={}&to={}",
        server.base,
        from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    let started = Instant::now();
    let response = client.get(&url).bearer_auth(token).send().await?;
    anyhow::ensure!(
        response.status().is_success(),
        "series: {}",
        response.status()
    );
    let body: serde_json::Value = response.json().await?;
    let elapsed = started.elapsed().as_secs_f64();
    let points = body["points"].as_array().map_or(0, Vec::len);
    Ok((elapsed, points))
}

/// Seconds of the plain `date_bin` aggregation of the raw samples into 1,000 buckets.
async fn date_bin_run(pool: &PgPool) -> anyhow::Result<(f64, usize)> {
    let to = Utc::now();
    let from = to - TimeDelta::minutes(MINUTES);
    let width = ((MINUTES * 60 + 999) / 1_000) as f64;
    let started = Instant::now();
    let rows = sqlx::query(
        "SELECT date_bin(make_interval(secs => $3), t, timestamptz '2000-01-01 00:00:00+00') AS b,
                avg(value), min(value), max(value), count(*)
         FROM samples s JOIN source_metrics m ON m.id = s.metric_id
         WHERE m.name = 'score' AND t >= $1 AND t <= $2
         GROUP BY 1 ORDER BY 1",
    )
    .bind(from)
    .bind(to)
    .bind(width)
    .fetch_all(pool)
    .await?;
    Ok((started.elapsed().as_secs_f64(), rows.len()))
}

/// What the browser script measured.
#[derive(serde::Deserialize)]
struct PageFigures {
    times_ms: Vec<f64>,
    first_visit_bytes: u64,
    first_visit_requests: u64,
    wasm_bytes: u64,
    wasm_gzip_bytes: u64,
    js_bytes: u64,
    css_bytes: u64,
}

async fn page_figures(
    server: &Server,
    email: &str,
    tracker: uuid::Uuid,
) -> anyhow::Result<PageFigures> {
    let output = tokio::process::Command::new("node")
        .arg(root().join("end2end/bench/time-to-chart.mjs"))
        .env("BENCH_BASE", &server.base)
        .env("BENCH_EMAIL", email)
        .env("BENCH_PASSWORD", PASSWORD)
        .env("BENCH_PATH", format!("/trackers/{tracker}?range=1y"))
        .env("BENCH_RUNS", PAGE_RUNS.to_string())
        .env("BENCH_SITE", root().join("target/site"))
        .current_dir(root().join("end2end"))
        .output()
        .await?;
    anyhow::ensure!(
        output.status.success(),
        "time-to-chart.mjs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(serde_json::from_slice(&output.stdout)?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let database = ScratchDatabase::create().await?;
    let url = database.url.clone();
    let settings = Settings::from_lookup(|key| match key {
        "DATABASE_URL" => Ok(url.to_string()),
        _ => Err(std::env::VarError::NotPresent),
    })?;
    let pool = db::pool(&settings.database);
    db::migrate(&pool).await?;
    let (email, token, tracker) = prepare(&pool).await?;
    let mut server = start_server(url.as_str()).await?;

    // Warm both (caches, the connection pools), then alternate them. One client, as a
    // browser keeps its connection to the site.
    let client = reqwest::Client::new();
    series_run(&client, &server, &token, tracker).await?;
    date_bin_run(&pool).await?;
    let (mut series, mut plain) = (Vec::new(), Vec::new());
    let (mut series_points, mut plain_buckets) = (0, 0);
    for run in 1..=RUNS {
        let (seconds, points) = series_run(&client, &server, &token, tracker).await?;
        series.push(seconds * 1_000.0);
        series_points = points;
        let (seconds, buckets) = date_bin_run(&pool).await?;
        plain.push(seconds * 1_000.0);
        plain_buckets = buckets;
        eprintln!(
            "run {run}: series request {:.1} ms, date_bin {:.1} ms",
            series[run - 1],
            plain[run - 1]
        );
    }
    let page = page_figures(&server, &email, tracker).await?;
    server.child.kill().await?;
    pool.close().await;
    database.drop().await?;

    let list = |values: &[f64]| runs(values, 1);
    let (series_ms, plain_ms) = (median(series.clone()), median(plain.clone()));
    let kib = |bytes: u64| format!("{:.0} KiB", bytes as f64 / 1024.0);
    let section = format!(
        "## Charts: the series request, time to chart, bundle size\n\n\
         {date}, {machine}; PostgreSQL on the same machine; release build (`cargo leptos build --release`).\n\n\
         **Series request.** One tracker with a year of one-minute samples ({MINUTES} points). \
         `GET /api/v1/trackers/{{id}}/series?points=1000` over the whole year through the \
         running server (HTTP on a kept-alive connection, token check, JSON), read from the \
         rollups (9-hour buckets from the 3-hourly rows), against a \
         plain SQL `date_bin` aggregation of the raw samples into the same 1,000 buckets; \
         alternated, median of {RUNS}.\n\n\
         | | median | runs | points |\n|---|---|---|---|\n\
         | series request (rollups, HTTP) | {series_ms:.1} ms | {series_runs} ms | {series_points} |\n\
         | plain `date_bin` over raw samples (SQL only) | {plain_ms:.1} ms | {plain_runs} ms | {plain_buckets} |\n\
         | ratio `date_bin` / series request | {ratio:.1}× | | |\n\n\
         **Time to chart.** Headless Chromium (Debian's, through Playwright), signed in, from \
         `page.goto` of that tracker's page (range 1 y) to the chart drawn (`data-drawn=true`), \
         browser cache on: median of {PAGE_RUNS}.\n\n\
         | | median | runs |\n|---|---|---|\n\
         | navigation → chart drawn | {chart_ms:.0} ms | {chart_runs} ms |\n\n\
         **Bundle.** Release wasm (`wasm-release` profile: opt-level z, LTO; wasm-opt from \
         binaryen 132) and what a first visit to the tracker page downloads, signed in, with \
         the browser cache emptied (bytes on the wire, headers included, compressed where \
         the server compresses: the page, CSS, JS, wasm, ECharts).\n\n\
         | | size |\n|---|---|\n\
         | wasm, raw | {wasm} |\n\
         | wasm, gzip | {wasm_gzip} |\n\
         | JS glue, raw | {js} |\n\
         | CSS, raw | {css} |\n\
         | first visit: {requests} requests | {first_visit} |\n",
        date = Utc::now().format("%Y-%m-%d"),
        machine = machine(),
        series_runs = list(&series),
        plain_runs = list(&plain),
        ratio = plain_ms / series_ms,
        chart_ms = median(page.times_ms.clone()),
        chart_runs = list(&page.times_ms),
        wasm = kib(page.wasm_bytes),
        wasm_gzip = kib(page.wasm_gzip_bytes),
        js = kib(page.js_bytes),
        css = kib(page.css_bytes),
        requests = page.first_visit_requests,
        first_visit = kib(page.first_visit_bytes),
    );
    println!("{section}");
    write_section(
        "## Charts: the series request, time to chart, bundle size",
        &section,
    )?;
    Ok(())
}
