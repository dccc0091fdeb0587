//! What the dashboard and chart pages rest on: the add form's preview, the form with a
//! JSON API, events on the chart, comparing trackers, and bucketing edge cases (empty
//! ranges, one point, gaps, a range inside one bucket, time zones, daylight saving).

use app::domain::{Role, TokenScope};
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{Browser, TestApp, expect_unprocessable, spawn_app_with_standin},
    standin::{Canned, StandIn, fixtures},
};

const LEPTOS: &str = "https://github.com/leptos-rs/leptos";

async fn setup() -> (StandIn, TestApp, String) {
    let (standin, app) =
        spawn_app_with_standin(vec![("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".into())]).await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    standin.set("hn/item/8863", fixtures::hn_story(8863, 111, 71));
    let (_, token) = app.member_with_token(TokenScope::Read).await;
    (standin, app, token)
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a time")
        .with_timezone(&Utc)
}

#[tokio::test]
async fn a_preview_shows_what_would_be_tracked_and_saves_nothing() {
    let (standin, app, token) = setup().await;
    let (status, body) = app.preview(&token, json!({ "url": LEPTOS })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "github.repo");
    assert_eq!(body["title"], "leptos-rs/leptos");
    let stars = body["values"]
        .as_array()
        .expect("values")
        .iter()
        .find(|value| value["name"] == "stars")
        .expect("stars");
    assert_eq!(stars["value"], 19_000.0);
    assert!(body["document"].is_null(), "{body}");

    // A JSON API: the document comes back, and expressions are evaluated.
    standin.set(
        "json/stats",
        json!({ "data": { "downloads": 1234, "version": "1.2" }, "ok": true }),
    );
    let url = format!("{}/json/stats", standin.base());
    let (status, body) = app.preview(&token, json!({ "url": url })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "json");
    assert_eq!(body["document"]["data"]["downloads"], 1234);
    assert_eq!(body["values"], json!([]));
    let metrics = json!({ "downloads": "data.downloads", "name": "data.missing" });
    let (status, body) = app
        .preview(&token, json!({ "url": url, "metrics": metrics }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let values = body["values"].as_array().expect("values");
    assert!(values.contains(&json!({ "name": "downloads", "unit": "", "value": 1234.0 })));
    let problems = body["problems"].to_string();
    assert!(problems.contains("matched nothing"), "{problems}");

    // The exact problems.
    standin.script("/json/page", vec![Canned::text(200, "<html>a page</html>")]);
    let page = format!("{}/json/page", standin.base());
    for (request, expected) in [
        (
            json!({ "url": "https://github.com/nobody/nothing" }),
            "Not found",
        ),
        (json!({ "url": page }), "does not answer with JSON"),
        (json!({ "url": "not a url at all" }), "not a valid URL"),
        (
            json!({ "url": "ftp://example.com/x" }),
            "only http and https",
        ),
    ] {
        let answer = app.preview(&token, request).await;
        expect_unprocessable(answer, expected);
    }
    standin.script("/github/repos", vec![Canned::status(503); 3]);
    let answer = app.preview(&token, json!({ "url": LEPTOS })).await;
    expect_unprocessable(answer, "not answering");
    assert_eq!(
        app.count("SELECT count(*) FROM sources").await,
        0,
        "a preview saves nothing"
    );
}

#[tokio::test]
async fn previews_refuse_private_addresses_before_connecting() {
    // Without UPCOUNT_ALLOW_PRIVATE_TARGETS: the guard is on.
    let (_standin, app) = spawn_app_with_standin(vec![]).await;
    let (_, token) = app.member_with_token(TokenScope::Read).await;
    for url in ["http://10.0.0.1/stats.json", "http://localhost:9/x.json"] {
        let answer = app.preview(&token, json!({ "url": url })).await;
        expect_unprocessable(answer, "Not allowed");
    }
    let (status, _) = app
        .preview(
            "upc_not-a-token",
            json!({ "url": "https://github.com/a/b" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Posts the dashboard's add form for `url` with `fields`: the page it leads back to.
async fn submit_add_form(browser: &Browser, url: &str, fields: &[(&str, &str)]) -> String {
    let mut form = vec![("url", url)];
    form.extend_from_slice(fields);
    let response = browser.post_form("/dashboard/trackers", &form).await;
    browser.follow(response).await
}

#[tokio::test]
async fn the_add_form_takes_a_json_api_interval_and_end_date() {
    let (standin, app, _token) = setup().await;
    standin.set("json/stats", json!({ "data": { "downloads": 1234 } }));
    let browser = app.signed_in(&app.create_user(Role::Member).await).await;
    let url = format!("{}/json/stats", standin.base());

    // A bad expression is named next to the metrics field; nothing is saved.
    let html = submit_add_form(&browser, &url, &[("metrics", "downloads data.downloads")]).await;
    assert!(html.contains("write `name: expression`"), "{html}");
    let html = submit_add_form(
        &browser,
        &url,
        &[("interval", "soon"), ("metrics", "d: data.downloads")],
    )
    .await;
    assert!(html.contains("is not a number of seconds"), "{html}");

    let html = submit_add_form(
        &browser,
        &url,
        &[
            ("label", "Downloads"),
            ("interval", "86400"),
            ("ends_on", "2099-12-31"),
            ("metrics", "downloads: data.downloads\n"),
        ],
    )
    .await;
    assert!(html.contains("Now tracking Downloads."), "{html}");
    assert!(html.contains("1,234"), "{html}");
    let (interval, ends_at): (i32, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT interval_secs, ends_at FROM trackers")
            .fetch_one(&app.pool)
            .await
            .expect("tracker");
    assert_eq!(interval, 86_400);
    assert_eq!(
        ends_at,
        Some(at("2100-01-01T00:00:00Z")),
        "to the end of that day"
    );
    // The form offers the intervals this server allows.
    assert!(html.contains(r#"<option value="3600""#), "{html}");
    assert!(html.contains("JSON API: the values to read"));
}

#[tokio::test]
async fn events_are_marked_on_the_tracker_page() {
    let (standin, app, _) = setup().await;
    let (user, token) = app.member_with_token(TokenScope::Write).await;
    let id = app
        .track(&token, "https://news.ycombinator.com/item?id=8863")
        .await;
    for paused in [true, false] {
        let (status, body) = app
            .patch_tracker(&token, &id, json!({ "paused": paused }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // Pausing twice is one change, not two.
    app.patch_tracker(&token, &id, json!({ "label": "Renamed" }))
        .await;

    // A failing poll, then a good one: one `failing` and one `recovered`.
    let workers = app.start_workers();
    standin.script(
        "/hackernews/v0/item",
        vec![Canned::text(200, "<html>garbage</html>")],
    );
    // Each poll is awaited through the one source event it records.
    let poll_until = |kind: &'static str| {
        let app = &app;
        async move {
            app.make_due().await;
            app.wait_for_count_with(
                std::time::Duration::from_secs(20),
                "SELECT count(*) FROM source_events WHERE kind = $1",
                kind,
                1,
            )
            .await;
        }
    };
    poll_until("failing").await;
    poll_until("recovered").await;
    workers.stop().await;
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM tracker_events ORDER BY at, id")
        .fetch_all(&app.pool)
        .await
        .expect("events");
    assert_eq!(kinds, ["added", "paused", "resumed"]);

    let browser = app.signed_in(&user).await;
    let html = browser.html(&format!("/trackers/{id}?range=24h")).await;
    assert!(html.contains("Events in this range (5)"), "{html}");
    for words in [
        "Added",
        "Paused",
        "Resumed",
        "Polls failing: ",
        "Polls recovered",
    ] {
        assert!(html.contains(words), "{words}: {html}");
    }
}

#[tokio::test]
async fn trackers_compare_on_one_page_by_calendar_or_launch() {
    let (_standin, app, _) = setup().await;
    let (user, token) = app.member_with_token(TokenScope::Write).await;
    let mut ids = Vec::new();
    for url in [LEPTOS, "https://news.ycombinator.com/item?id=8863"] {
        ids.push(app.track(&token, url).await);
    }
    // Another workspace's tracker id is ignored, as if it did not exist.
    let (_, stranger_token) = app.member_with_token(TokenScope::Write).await;
    let foreign = app
        .add_tracker(
            &stranger_token,
            json!({ "url": LEPTOS, "label": "Secret label" }),
        )
        .await;

    let browser = app.signed_in(&user).await;
    let html = browser
        .html(&format!(
            "/compare?ids={}&ids={}&ids={foreign}&range=7d&view=percent&align=launch",
            ids[0], ids[1]
        ))
        .await;
    assert!(html.contains(r#"data-lines="2""#), "{html}");
    assert!(!html.contains("Secret label"), "{html}");
    assert!(html.contains("leptos-rs/leptos (%)"), "{html}");
    assert!(html.contains("Since first sample"), "{html}");
    assert!(
        html.contains(r#"<option value="launch" selected"#),
        "{html}"
    );
    // Nothing chosen: a hint, not an error.
    let html = browser.html("/compare").await;
    assert!(html.contains("Tick two or more trackers"), "{html}");
    // Signed out: to sign in, and back.
    let response = app.browser().get("/compare?ids=x").await;
    assert_eq!(response.status(), StatusCode::FOUND);
}

/// A tracker of leptos-rs/leptos whose `stars` have `samples`: its id.
async fn tracker_with(app: &TestApp, token: &str, samples: &[(DateTime<Utc>, f64)]) -> String {
    let id = app.track(token, LEPTOS).await;
    // The first sample (taken now) is left out of these ranges by their dates.
    app.write_points(app.metric_id("stars").await, samples.iter().copied())
        .await;
    id
}

/// The `stars` series of tracker `id` for `query`, which must be answered.
async fn series(app: &TestApp, token: &str, id: &str, query: &str) -> Value {
    let (status, body) = app
        .series(token, id, &format!("metric=stars&{query}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

fn hourly(from: &str, hours: i64) -> Vec<(DateTime<Utc>, f64)> {
    (0..hours)
        .map(|hour| (at(from) + Duration::hours(hour), hour as f64))
        .collect()
}

/// (bucket start, sample count) of each point.
fn buckets(body: &Value) -> Vec<(String, i64)> {
    body["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|point| {
            (
                point["time"].as_str().expect("time").to_string(),
                point["count"].as_i64().expect("count"),
            )
        })
        .collect()
}

/// Checks that `buckets` hold one starting at `time` with `count` samples.
#[track_caller]
fn assert_bucket(buckets: &[(String, i64)], time: &str, count: i64) {
    assert!(
        buckets.contains(&(time.to_string(), count)),
        "{time} with {count}: {buckets:?}"
    );
}

#[tokio::test]
async fn day_buckets_follow_the_time_zone_across_daylight_saving_changes() {
    let (_standin, app, _) = setup().await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let mut samples = hourly("2026-03-26T00:00:00Z", 6 * 24);
    samples.extend(hourly("2026-10-23T00:00:00Z", 5 * 24));
    let id = tracker_with(&app, &token, &samples).await;
    let october = |points: u32, zone: &str| {
        let (app, token, id) = (&app, &token, &id);
        let query =
            format!("from=2026-10-23T00:00:00Z&to=2026-10-27T23:59:59Z&points={points}&tz={zone}");
        async move { buckets(&series(app, token, id, &query).await) }
    };

    // Spring: Berlin's 29 March 2026 has 23 hours (02:00 → 03:00).
    let spring = series(
        &app,
        &token,
        &id,
        "from=2026-03-26T00:00:00Z&to=2026-03-31T23:59:59Z&points=7&tz=Europe/Berlin",
    )
    .await;
    assert_eq!(spring["resolution"], "daily");
    let spring = buckets(&spring);
    assert!(spring.len() <= 7, "{spring:?}");
    assert_bucket(&spring, "2026-03-27T23:00:00Z", 24);
    assert_bucket(&spring, "2026-03-28T23:00:00Z", 23);
    assert_bucket(&spring, "2026-03-29T22:00:00Z", 24);
    let total: i64 = spring.iter().map(|(_, count)| count).sum();
    assert_eq!(total, 6 * 24, "every hour counted once");

    // Autumn: 25 October 2026 has 25 hours (03:00 → 02:00).
    let autumn = october(6, "Europe/Berlin").await;
    assert_bucket(&autumn, "2026-10-24T22:00:00Z", 25);
    assert_bucket(&autumn, "2026-10-25T23:00:00Z", 24);

    // Other zones: New York's midnight is 04:00 UTC in October; UTC days are whole.
    let new_york = october(6, "America/New_York").await;
    assert_bucket(&new_york, "2026-10-24T04:00:00Z", 24);
    assert_eq!(
        october(5, "UTC").await,
        (23..=27)
            .map(|day| (format!("2026-10-{day}T00:00:00Z"), 24))
            .collect::<Vec<_>>()
    );
    let answer = app.series(&token, &id, "tz=Mars/Olympus").await;
    expect_unprocessable(answer, "time zone");
}

#[tokio::test]
async fn bucketing_edge_cases() {
    let (_standin, app, _) = setup().await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    // Ten samples a minute apart on 1 May, a three-day gap, then two days of hourly ones.
    let mut samples: Vec<(DateTime<Utc>, f64)> = (0..10)
        .map(|minute| {
            (
                at("2026-05-01T10:00:00Z") + Duration::minutes(minute),
                minute as f64,
            )
        })
        .collect();
    samples.extend(hourly("2026-05-05T00:00:00Z", 48));
    let id = tracker_with(&app, &token, &samples).await;
    let range = |query: &'static str| series(&app, &token, &id, query);

    // An empty range: no points, not an error.
    let empty = range("from=2026-04-01T00:00:00Z&to=2026-04-02T00:00:00Z").await;
    assert_eq!(empty["points"], json!([]));
    // One point.
    let one = range("from=2026-05-01T10:03:00Z&to=2026-05-01T10:03:30Z").await;
    assert_eq!(one["resolution"], "raw");
    assert_eq!(buckets(&one), [("2026-05-01T10:03:00Z".to_string(), 1)]);
    // A range shorter than one bucket, asked for in one point: every sample in it.
    let inside = range("from=2026-05-01T10:00:00Z&to=2026-05-01T10:09:00Z&points=1").await;
    let inside_points = inside["points"].as_array().expect("points");
    assert_eq!(inside_points.len(), 1, "{inside}");
    assert_eq!(inside_points[0]["count"], 10);
    assert_eq!(inside_points[0]["min"], 0.0);
    assert_eq!(inside_points[0]["max"], 9.0);
    assert_eq!(inside_points[0]["last"], 9.0);
    // Gaps stay gaps: no bucket where nothing was recorded.
    let week = range("from=2026-05-01T00:00:00Z&to=2026-05-07T23:59:59Z&points=40").await;
    // Buckets of six hours, read from the 3-hourly rollups, agree with the raw samples.
    assert_eq!(week["resolution"], "3-hourly");
    assert_eq!(week["bucket_secs"], 6 * 3_600);
    let first_day = &week["points"][1];
    assert_eq!(first_day["time"], "2026-05-05T00:00:00Z");
    assert_eq!(
        (
            &first_day["min"],
            &first_day["max"],
            &first_day["avg"],
            &first_day["last"]
        ),
        (&json!(0.0), &json!(5.0), &json!(2.5), &json!(5.0))
    );
    let week = buckets(&week);
    assert_eq!(week[0], ("2026-05-01T06:00:00Z".to_string(), 10));
    assert!(
        week.iter()
            .all(|(time, _)| time.as_str() < "2026-05-02" || time.as_str() >= "2026-05-05"),
        "{week:?}"
    );
    assert_eq!(week.len(), 1 + 8, "{week:?}");
    let total: i64 = week.iter().map(|(_, count)| count).sum();
    assert_eq!(total, 10 + 48);
}

/// Posts server function `path` with `form` as the page would, tagged `request_id`, and
/// returns its status, its body and the SQL statements it made.
async fn statements_of_server_fn(
    browser: &crate::helpers::Browser,
    path: &str,
    form: &[(&str, &str)],
    request_id: &str,
) -> (StatusCode, String, Vec<String>) {
    let response = browser
        .client
        .post(format!("{}{path}", browser.base))
        .header("origin", &browser.base)
        .header("x-request-id", request_id)
        .form(form)
        .send()
        .await
        .expect("server function");
    let status = response.status();
    let text = response.text().await.expect("body");
    (status, text, crate::query_count::statements_of(request_id))
}

/// The tracker page's load and a zoom read the tracker, its metric and the range in at
/// most four statements beyond signing in (the session and its user: what any signed-in
/// request costs), whatever the range and however many samples it holds.
#[tokio::test]
async fn a_chart_load_and_a_zoom_make_at_most_four_queries() {
    use app::api::chart::{GetSeriesWindow, GetTrackerDetail};
    use leptos::server_fn::ServerFn;
    let (_standin, app, _) = setup().await;
    let (user, token) = app.member_with_token(TokenScope::Write).await;
    let now = Utc::now();
    let hours: Vec<(DateTime<Utc>, f64)> = (1..=24 * 60)
        .map(|hour| (now - Duration::hours(hour), hour as f64))
        .collect();
    let id = tracker_with(&app, &token, &hours).await;
    let browser = app.signed_in(&user).await;
    let tag = |what: &str| format!("{what}-{}", uuid::Uuid::new_v4());

    // What signing in costs each request (reading the session and its user, extending
    // the session): a zoom on a tracker the workspace does not have makes those and one
    // lookup, then answers that there is nothing.
    let (status, body, baseline) = statements_of_server_fn(
        &browser,
        GetSeriesWindow::PATH,
        &[
            ("id", &uuid::Uuid::new_v4().to_string()),
            ("metric", "stars"),
            ("from_ms", "0"),
            ("to_ms", &now.timestamp_millis().to_string()),
            ("mode", "value"),
        ],
        &tag("baseline"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, "null");
    assert!(
        baseline.iter().any(|sql| sql.contains("FROM sessions")),
        "{baseline:#?}"
    );
    let signed_in = baseline.len() - 1;

    for range in ["24h", "7d", "30d", "90d", "1y", "all"] {
        let mut fields = vec![
            ("id", id.as_str()),
            ("range", range),
            ("mode", "value"),
            ("scale", "linear"),
        ];
        // A page showing the first metric unsummed: the browser sends no series at all.
        if range != "all" {
            fields.push(("series[metric]", "stars"));
        }
        let (status, body, statements) =
            statements_of_server_fn(&browser, GetTrackerDetail::PATH, &fields, &tag(range)).await;
        assert_eq!(status, StatusCode::OK, "{range}: {body}");
        assert!(
            body.contains("\"points\":[{"),
            "{range} charts points: {body}"
        );
        assert!(
            statements.len() - signed_in <= 4,
            "the {range} page made {} statements, {signed_in} of them signing in: {statements:#?}",
            statements.len()
        );
    }
    let day_ms = 86_400_000;
    let to_ms = now.timestamp_millis();
    for (span, zone) in [(1, ""), (20, "Europe/Berlin"), (59, "UTC")] {
        let (from, to) = ((to_ms - span * day_ms).to_string(), to_ms.to_string());
        let (status, body, statements) = statements_of_server_fn(
            &browser,
            GetSeriesWindow::PATH,
            &[
                ("id", &id),
                ("metric", "stars"),
                ("from_ms", &from),
                ("to_ms", &to),
                ("mode", "value"),
                ("zone", zone),
            ],
            &tag("zoom"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{span} days: {body}");
        assert!(body.contains("\"points\":[{"), "{span} days: {body}");
        assert!(
            statements.len() - signed_in <= 4,
            "a zoom over {span} days in {zone:?} made {} statements, \
             {signed_in} of them signing in: {statements:#?}",
            statements.len()
        );
    }
}
