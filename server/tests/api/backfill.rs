//! History on day one: adding a tracker for a never-polled source loads what the upstream
//! keeps (GitHub's star history, npm's daily downloads, CoinGecko's year, Wikipedia's
//! views) through the same sample writer as polling, marked `upstream`; it resumes after a
//! crash or a rate limit, never overwrites an observed sample, and runs once per source.

use std::time::Duration;

use app::server::tracking::{backfill::HistoryPage, store::BackfillClaim};
use app::{
    domain::{Role, TokenScope},
    server::tracking::{Engine, store},
};
use chrono::{Days, Utc};
use serde_json::{Value, json};
use upcount::jobs::backfill::{self, BackfillReport, LEASE};

use crate::{
    helpers::{TestApp, eventually, spawn_app_with_standin},
    standin::{Canned, StandIn, fixtures},
};

/// Runs every backfill that may run now, one after the other, as the job would.
async fn run_backfills(app: &TestApp, engine: &Engine) -> Vec<BackfillReport> {
    let mut reports = Vec::new();
    loop {
        let claims = store::claim_backfills(&app.pool, 10, LEASE)
            .await
            .expect("claim backfills");
        if claims.is_empty() {
            return reports;
        }
        for claim in claims {
            reports.push(
                backfill::backfill(&app.pool, engine, claim)
                    .await
                    .expect("a backfill runs"),
            );
        }
    }
}

fn engine(app: &TestApp) -> std::sync::Arc<Engine> {
    upcount::startup::engine(&app.settings).expect("an engine")
}

/// The points of `metric` over the last `days` days: (time, value, origin).
async fn points(
    app: &TestApp,
    token: &str,
    id: &str,
    metric: &str,
    days: i64,
) -> Vec<(String, f64, String)> {
    let from = (Utc::now() - chrono::Duration::days(days)).to_rfc3339();
    let to = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let query = format!(
        "metric={metric}&points=10000&from={}&to={}",
        urlencoding(&from),
        urlencoding(&to)
    );
    let (status, body) = app.series(token, id, &query).await;
    assert_eq!(status, 200, "{body}");
    body["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|point| {
            (
                point["time"].as_str().unwrap_or_default().to_string(),
                point["avg"].as_f64().unwrap_or(f64::NAN),
                point["origin"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn backfill_row(app: &TestApp, id: &str) -> Value {
    let tracker: uuid::Uuid = id.parse().expect("a tracker id");
    let row: (String, f32, i32, i64, Option<String>) = sqlx::query_as(
        "SELECT b.state, b.progress, b.pages, b.points, b.last_error
         FROM source_backfills b JOIN trackers t ON t.source_id = b.source_id WHERE t.id = $1",
    )
    .bind(tracker)
    .fetch_one(&app.pool)
    .await
    .expect("the tracker's source has a backfill");
    json!({ "state": row.0, "progress": row.1, "pages": row.2, "points": row.3, "error": row.4 })
}

/// A repository with `weeks` weeks of star history at `per_day` stars a day, holding as
/// many stars as that adds up to.
fn star_repo(standin: &StandIn, name: &str, weeks: u64, per_day: u64) -> f64 {
    let total = fixtures::star_history_total(weeks, per_day as f64);
    standin.set_github_repo(name, total as u64);
    standin.set(
        &format!("github/stars/{name}"),
        json!({ "weeks": weeks, "per_day": per_day }),
    );
    total
}

/// A worker's first steps: claims the one backfill there is, loads its first page and
/// saves it. The claim it then holds, the backfill and that page.
async fn save_first_page(
    app: &TestApp,
    engine: &Engine,
) -> (BackfillClaim, store::Backfill, HistoryPage) {
    let claims = store::claim_backfills(&app.pool, 10, LEASE)
        .await
        .expect("claim");
    let claim = claims[0];
    let loaded = store::load_backfill(&app.pool, claim)
        .await
        .expect("load")
        .expect("claimed");
    let provider = engine.provider(&loaded.kind).expect("a provider");
    let source = engine
        .source_ref(&loaded.key, &loaded.config)
        .expect("a source");
    let page = engine
        .history(provider.as_ref(), &source, None)
        .await
        .expect("the first page");
    let claim = store::save_backfill_page(&app.pool, claim, &loaded, &page, LEASE)
        .await
        .expect("save")
        .expect("still claimed");
    (claim, loaded, page)
}

/// The days of a star history of `weeks` weeks up to today, plus its starting point.
fn star_points(weeks: usize) -> usize {
    (weeks - 1) * 7
        + Utc::now()
            .date_naive()
            .format("%w")
            .to_string()
            .parse::<usize>()
            .unwrap_or(0)
        + 1
}

#[tokio::test]
async fn three_years_of_weekly_star_history_end_at_todays_count() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    let stars = star_repo(&standin, "leptos-rs/leptos", 156, 2);
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let id = app
        .track(&token, "https://github.com/leptos-rs/leptos")
        .await;
    assert_eq!(backfill_row(&app, &id).await["state"], "pending");

    let reports = run_backfills(&app, &engine(&app)).await;
    assert_eq!(reports.len(), 1, "one job: {reports:?}");
    assert!(reports[0].finished);
    assert_eq!(
        reports[0].pages, 6,
        "156 weeks are 6 pages of 30 (the last one short)"
    );
    let row = backfill_row(&app, &id).await;
    assert_eq!(
        (row["state"].as_str(), row["progress"].as_f64()),
        (Some("done"), Some(1.0))
    );

    let series = points(&app, &token, &id, "stars", 4 * 365).await;
    let (upstream, observed): (Vec<_>, Vec<_>) = series
        .iter()
        .partition(|(_, _, origin)| origin == "upstream");
    // One point a day: the end of each day before today, and the start of the first.
    let points_expected = star_points(156);
    assert_eq!(upstream.len(), points_expected, "a point a day");
    assert_eq!(
        upstream.first().map(|point| point.1),
        Some(0.0),
        "from nothing"
    );
    assert!(
        upstream.windows(2).all(|pair| pair[0].1 <= pair[1].1),
        "stars held only grow in this history"
    );
    let yesterday_end = upstream.last().map(|point| point.1).unwrap_or_default();
    assert_eq!(
        yesterday_end,
        stars - 2.0,
        "the end of yesterday: today's gain to go"
    );
    // The observed part: the first sample, at today's count, after every upstream point.
    assert_eq!(observed.len(), 1, "{observed:?}");
    assert_eq!(observed[0].1, stars);
    assert!(upstream.iter().all(|point| point.0 < observed[0].0));

    // The star history is asked for as GitHub documents it.
    let hits = standin.hits();
    assert!(
        hits.iter().any(
            |hit| hit == "/github/repos/leptos-rs/leptos/stargazers/history?per_page=30&page=6"
        ),
        "{hits:?}"
    );

    // Running again loads nothing: once per source.
    let before = standin.hits_on("/github/repos/leptos-rs/leptos/stargazers");
    assert!(run_backfills(&app, &engine(&app)).await.is_empty());
    assert_eq!(
        standin.hits_on("/github/repos/leptos-rs/leptos/stargazers"),
        before
    );
}

#[tokio::test]
async fn npm_downloads_load_in_eighteen_month_ranges_and_export_with_their_origin() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    let yesterday = Utc::now().date_naive() - Days::new(1);
    let first_day = yesterday - Days::new(699);
    standin.load_fixtures("npm");
    standin.set(
        "npm/history/left-pad",
        json!({ "first_day": first_day.to_string(), "per_day": 250 }),
    );
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let id = app
        .track(&token, "https://www.npmjs.com/package/left-pad")
        .await;
    run_backfills(&app, &engine(&app)).await;

    let ranges: Vec<String> = standin
        .hits()
        .into_iter()
        .filter(|hit| hit.starts_with("/npm/downloads/range/"))
        .collect();
    assert_eq!(
        ranges.len(),
        2,
        "two ranges of at most 18 months: {ranges:?}"
    );
    let newest = format!(
        "/npm/downloads/range/{}:{yesterday}/left-pad",
        yesterday
            .checked_sub_months(chrono::Months::new(18))
            .map(|day| day + Days::new(1))
            .expect("a day")
    );
    assert_eq!(ranges[0], newest);

    let series = points(&app, &token, &id, "downloads_day", 800).await;
    let upstream: Vec<_> = series
        .iter()
        .filter(|point| point.2 == "upstream")
        .collect();
    assert_eq!(
        upstream.len(),
        700,
        "every day from the first one, no zeros before it"
    );
    assert!(upstream.iter().all(|point| point.1 == 250.0));
    assert!(upstream[0].0.starts_with(&first_day.to_string()));

    // The export carries each row's origin.
    let response = app
        .request(
            reqwest::Method::GET,
            &format!(
                "/api/v1/trackers/{id}/export.csv?from={}",
                urlencoding(&(Utc::now() - chrono::Duration::days(800)).to_rfc3339())
            ),
        )
        .bearer_auth(&token)
        .send()
        .await
        .expect("export");
    let csv = response.text().await.expect("a body");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("time,downloads_day,downloads_week,downloads_month,origin")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(
        rows.iter().filter(|row| row.ends_with(",upstream")).count(),
        700
    );
    assert!(
        rows.last().is_some_and(|row| row.ends_with(",observed")),
        "{rows:?}"
    );
}

#[tokio::test]
async fn a_crash_mid_backfill_resumes_after_the_last_page_saved_without_duplicates() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    star_repo(&standin, "serde-rs/json", 100, 3);
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let id = app.track(&token, "https://github.com/serde-rs/json").await;
    let engine = engine(&app);

    // A worker claims the backfill, saves its first page and dies.
    let (claim, loaded, page) = save_first_page(&app, &engine).await;
    let row = backfill_row(&app, &id).await;
    assert_eq!(
        (row["pages"].as_i64(), row["state"].as_str()),
        (Some(1), Some("pending"))
    );
    let progress = row["progress"].as_f64().unwrap_or_default();
    assert!(
        progress > 0.2 && progress < 0.4,
        "30 of 100 weeks: {progress}"
    );

    // Its lease runs out unseen (as time passes), nobody else holds it: claimed again.
    assert!(
        store::claim_backfills(&app.pool, 10, LEASE)
            .await
            .expect("claim")
            .is_empty()
    );
    sqlx::query("UPDATE source_backfills SET leased_until = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .expect("expire the lease");
    let reports = run_backfills(&app, &engine).await;
    assert_eq!(
        reports[0].pages, 3,
        "pages 2 to 4, not the first again: {reports:?}"
    );
    let first_pages = standin
        .hits()
        .iter()
        .filter(|hit| hit.ends_with("stargazers/history?per_page=30&page=1"))
        .count();
    assert_eq!(first_pages, 1);

    // The stale claim can save nothing now.
    assert_eq!(
        store::save_backfill_page(&app.pool, claim, &loaded, &page, LEASE)
            .await
            .expect("save"),
        None
    );
    let series = points(&app, &token, &id, "stars", 3 * 365).await;
    let mut times: Vec<&String> = series.iter().map(|point| &point.0).collect();
    let all = times.len();
    times.dedup();
    assert_eq!(times.len(), all, "no time twice");
    let points_expected = star_points(100);
    assert_eq!(
        series.iter().filter(|point| point.2 == "upstream").count(),
        points_expected
    );
    assert_eq!(
        backfill_row(&app, &id).await["points"].as_i64(),
        Some(points_expected as i64)
    );
}

#[tokio::test]
async fn a_rate_limit_during_backfill_waits_for_the_reset_and_resumes() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    star_repo(&standin, "tokio-rs/axum", 40, 1);
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let id = app.track(&token, "https://github.com/tokio-rs/axum").await;
    // The second page meets GitHub's secondary limit.
    let engine_one = engine(&app);
    let (claim, _, _) = save_first_page(&app, &engine_one).await;
    standin.script(
        "/github/repos/tokio-rs/axum/stargazers/history",
        vec![
            Canned::json(
                429,
                json!({ "message": "You have exceeded a secondary rate limit." }),
            )
            .header("Retry-After", "120"),
        ],
    );
    let report = backfill::backfill(&app.pool, &engine_one, claim)
        .await
        .expect("runs");
    assert!(!report.finished);
    let row = backfill_row(&app, &id).await;
    assert_eq!(row["state"], "waiting", "{row}");
    assert!(
        row["error"]
            .as_str()
            .is_some_and(|error| error.contains("slow down")),
        "{row}"
    );
    let wait: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM next_attempt_at - now())::float8 FROM source_backfills",
    )
    .fetch_one(&app.pool)
    .await
    .expect("the next attempt");
    assert!(
        (100.0..=130.0).contains(&wait),
        "waits for the reset: {wait}"
    );
    assert!(
        run_backfills(&app, &engine_one).await.is_empty(),
        "not before it"
    );

    // Two minutes later (a new process: GitHub's pause is over).
    sqlx::query("UPDATE source_backfills SET next_attempt_at = now()")
        .execute(&app.pool)
        .await
        .expect("time passes");
    let reports = run_backfills(&app, &engine(&app)).await;
    assert!(reports[0].finished, "{reports:?}");
    let row = backfill_row(&app, &id).await;
    assert_eq!(
        (row["state"].as_str(), row["error"].as_str()),
        (Some("done"), None)
    );
    let points_expected = star_points(40);
    let series = points(&app, &token, &id, "stars", 365).await;
    assert_eq!(
        series.iter().filter(|point| point.2 == "upstream").count(),
        points_expected
    );
}

#[tokio::test]
async fn a_second_workspace_adding_the_same_source_costs_no_second_backfill() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    star_repo(&standin, "rust-lang/rust", 10, 5);
    let (_, first) = app.member_with_token(TokenScope::Write).await;
    let first_id = app.track(&first, "https://github.com/rust-lang/rust").await;
    run_backfills(&app, &engine(&app)).await;
    let history_hits = standin.hits_on("/github/repos/rust-lang/rust/stargazers");
    assert_eq!(history_hits, 1);

    let second_user = app.create_user(Role::Member).await;
    let second = app.token(&second_user, TokenScope::Write).await;
    let second_id = app
        .track(&second, "https://github.com/rust-lang/rust")
        .await;
    assert!(run_backfills(&app, &engine(&app)).await.is_empty());
    assert_eq!(
        standin.hits_on("/github/repos/rust-lang/rust/stargazers"),
        history_hits
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM source_backfills")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(rows, 1);
    // The second workspace sees the same history at once.
    let first_points = points(&app, &first, &first_id, "stars", 100).await;
    let second_points = points(&app, &second, &second_id, "stars", 100).await;
    assert_eq!(
        second_points
            .iter()
            .filter(|point| point.2 == "upstream")
            .count(),
        first_points
            .iter()
            .filter(|point| point.2 == "upstream")
            .count()
    );
}

#[tokio::test]
async fn coingecko_and_wikipedia_histories_load_and_hacker_news_has_none() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.set_coingecko_coin("bitcoin", 97_000.0);
    let now = Utc::now().timestamp_millis();
    let day = 86_400_000;
    let pairs = |base: f64| -> Vec<Value> {
        (0..366)
            .map(|index| {
                let t = now - (365 - index) * day;
                json!([t, base + index as f64])
            })
            .collect()
    };
    standin.set(
        "coingecko/api/v3/coins/bitcoin/market_chart",
        json!({
            "prices": pairs(60_000.0),
            "market_caps": pairs(1.2e12),
            "total_volumes": pairs(3.0e10),
        }),
    );
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let coin = app
        .track(&token, "https://www.coingecko.com/en/coins/bitcoin")
        .await;

    standin.load_fixtures("hackernews");
    let story = app
        .track(&token, "https://news.ycombinator.com/item?id=8863")
        .await;
    run_backfills(&app, &engine(&app)).await;

    let hits = standin.hits();
    assert!(
        hits.iter()
            .any(|hit| hit
                == "/coingecko/api/v3/coins/bitcoin/market_chart?vs_currency=usd&days=365"),
        "{hits:?}"
    );
    for metric in ["price_usd", "market_cap_usd", "volume_24h_usd"] {
        let series = points(&app, &token, &coin, metric, 400).await;
        let upstream = series.iter().filter(|point| point.2 == "upstream").count();
        // The last pair is "now", after the first sample: never written over it.
        assert!((365..=366).contains(&upstream), "{metric}: {upstream}");
    }
    let (status, detail) = app.tracker(&token, &story).await;
    assert_eq!(status, 200);
    let none: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM source_backfills b JOIN sources s ON s.id = b.source_id
         WHERE s.kind = 'hackernews.item'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(none, 0, "Hacker News keeps no history: {detail}");
}

#[tokio::test]
async fn wikipedia_views_go_back_span_by_span_until_the_article_is_younger() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.load_fixtures("wikipedia");
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let id = app
        .track(
            &token,
            "https://en.wikipedia.org/wiki/Rust_(programming_language)",
        )
        .await;
    // The newest two years, then nothing older: the article is younger than that.
    let yesterday = Utc::now().date_naive() - Days::new(1);
    let start = yesterday - Days::new(729);
    let items: Vec<Value> = (0..730)
        .map(|offset| {
            let day = start + Days::new(offset);
            json!({
                "project": "en.wikipedia", "article": "Rust_(programming_language)",
                "granularity": "daily", "timestamp": format!("{}00", day.format("%Y%m%d")),
                "access": "all-access", "agent": "all-agents", "views": 1000 + offset,
            })
        })
        .collect();
    let base = "wikimedia/api/rest_v1/metrics/pageviews/per-article/en.wikipedia/all-access/all-agents/Rust_(programming_language)/daily";
    standin.set(
        &format!(
            "{base}/{}/{}",
            start.format("%Y%m%d"),
            yesterday.format("%Y%m%d")
        ),
        json!({ "items": items }),
    );
    standin.remove(base);
    let reports = run_backfills(&app, &engine(&app)).await;
    assert!(reports[0].finished, "{reports:?}");
    let row = backfill_row(&app, &id).await;
    assert_eq!(row["state"], "done", "{row}");
    let series = points(&app, &token, &id, "views", 800).await;
    let upstream: Vec<_> = series
        .iter()
        .filter(|point| point.2 == "upstream")
        .collect();
    assert_eq!(upstream.len(), 730);
    assert_eq!(upstream.last().map(|point| point.1), Some(1729.0));
}

#[tokio::test]
async fn pypi_keeps_180_days_without_mirrors() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.load_fixtures("pypi");
    let yesterday = Utc::now().date_naive() - Days::new(1);
    // pypistats' shape: every day twice, with and without mirrors, oldest first.
    let data: Vec<Value> = (0..180)
        .rev()
        .flat_map(|back| {
            let date = (yesterday - Days::new(back)).to_string();
            [
                json!({ "category": "with_mirrors", "date": date, "downloads": 9_000 + back }),
                json!({ "category": "without_mirrors", "date": date, "downloads": 5_000 + back }),
            ]
        })
        .collect();
    standin.set(
        "pypistats/api/packages/requests/overall?mirrors=false",
        json!({ "data": data, "package": "requests", "type": "overall_downloads" }),
    );
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let id = app
        .track(&token, "https://pypistats.org/packages/requests")
        .await;
    run_backfills(&app, &engine(&app)).await;
    let series = points(&app, &token, &id, "downloads_day", 200).await;
    let upstream: Vec<_> = series
        .iter()
        .filter(|point| point.2 == "upstream")
        .collect();
    assert_eq!(upstream.len(), 180, "{:?}", backfill_row(&app, &id).await);
    assert_eq!(upstream[0].1, 5_179.0, "the oldest day, without mirrors");
    assert_eq!(upstream[179].1, 5_000.0, "yesterday");
}

#[tokio::test]
async fn workers_load_the_history_of_a_new_tracker_on_their_own() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    star_repo(&standin, "e2e/starry", 20, 4);
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let workers = app.start_workers();
    let id = app.track(&token, "https://github.com/e2e/starry").await;
    eventually(Duration::from_secs(30), "the history to load", || async {
        (backfill_row(&app, &id).await["state"] == "done").then_some(())
    })
    .await;
    workers.stop().await;
    let series = points(&app, &token, &id, "stars", 200).await;
    assert!(series.iter().filter(|point| point.2 == "upstream").count() > 100);
}

/// The tracker page follows a backfill through one small read (the page's
/// `get_backfill_status`), scoped to the workspace: how far it has got while it loads,
/// then done with its points; another workspace learns nothing of it, and a source
/// without upstream history has no backfill to follow.
#[tokio::test]
async fn the_tracker_page_follows_a_backfill_in_its_own_workspace_only() {
    use app::api::chart::GetBackfillStatus;
    use leptos::server_fn::ServerFn;
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    star_repo(&standin, "leptos-rs/leptos", 90, 3);
    standin.load_fixtures("hackernews");
    let (user, token) = app.member_with_token(TokenScope::Write).await;
    let id = app
        .track(&token, "https://github.com/leptos-rs/leptos")
        .await;
    let story = app
        .track(&token, "https://news.ycombinator.com/item?id=8863")
        .await;
    let browser = app.signed_in(&user).await;
    let status = |id: String| {
        let browser = &browser;
        async move {
            let response = browser
                .post_form(GetBackfillStatus::PATH, &[("id", id.as_str())])
                .await;
            let code = response.status();
            (code, response.text().await.expect("a body"))
        }
    };
    let (code, body) = status(id.clone()).await;
    assert_eq!(code, 200, "{body}");
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        (
            body["state"].as_str(),
            body["progress"].as_f64(),
            body["points"].as_i64()
        ),
        (Some("pending"), Some(0.0), Some(0))
    );

    // Half-way: the first of 3 pages saved.
    let engine = engine(&app);
    let (_claim, _, page) = save_first_page(&app, &engine).await;
    let body: Value = serde_json::from_str(&status(id.clone()).await.1).expect("JSON");
    assert_eq!(body["state"], "pending");
    let saved = body["points"].as_i64().unwrap_or_default();
    assert!(saved > 0 && saved <= page.points.len() as i64, "{body}");
    let progress = body["progress"].as_f64().unwrap_or_default();
    assert!(progress > 0.0 && progress < 1.0, "{body}");

    // Done, once the lease the crashed worker held has run out.
    sqlx::query("UPDATE source_backfills SET leased_until = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .expect("expire the lease");
    run_backfills(&app, &engine).await;
    let body: Value = serde_json::from_str(&status(id.clone()).await.1).expect("JSON");
    assert_eq!(
        (body["state"].as_str(), body["progress"].as_f64()),
        (Some("done"), Some(1.0))
    );
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM samples s JOIN source_metrics m ON m.id = s.metric_id
         JOIN source_backfills b ON b.source_id = m.source_id WHERE s.t < b.before",
    )
    .fetch_one(&app.pool)
    .await
    .expect("count the upstream samples");
    assert!(stored > 600, "90 weeks of days: {stored}");
    assert_eq!(body["points"].as_i64(), Some(stored), "{body}");

    // Hacker News keeps no history: nothing to follow.
    let (code, body) = status(story).await;
    assert_eq!((code.as_u16(), body.as_str()), (200, "null"));

    // Another workspace, or an unknown id, learns nothing, not even that it exists.
    let stranger = app.create_user(Role::Member).await;
    let stranger = app.signed_in(&stranger).await;
    for (who, tracker) in [
        (&stranger, id.clone()),
        (&browser, uuid::Uuid::new_v4().to_string()),
    ] {
        let response = who
            .post_form(GetBackfillStatus::PATH, &[("id", tracker.as_str())])
            .await;
        assert!(response.status().is_server_error() || response.status().is_client_error());
        let text = response.text().await.expect("a body");
        assert!(
            text.contains("There is no such tracker in this workspace."),
            "{text}"
        );
        assert!(
            !text.contains("pending") && !text.contains("done"),
            "{text}"
        );
    }
    // Signed out: refused.
    let response = app
        .browser()
        .post_form(GetBackfillStatus::PATH, &[("id", id.as_str())])
        .await;
    assert!(!response.status().is_success(), "{}", response.status());
}
