//! Changing a tracker and reading it back: patches and end dates, series, exports.

use super::*;

#[tokio::test]
async fn patch_validates_and_end_dates_end_tracking() {
    let (_standin, app, token) = setup().await;
    let (_, body) = app
        .post_tracker(
            &token,
            json!({ "url": "https://news.ycombinator.com/item?id=8863", "ends_at": "2999-01-01T00:00:00Z" }),
        )
        .await;
    let id = body["tracker"]["id"].as_str().expect("id").to_string();
    assert_eq!(body["tracker"]["ends_at"], "2999-01-01T00:00:00Z");
    let patch = |body: Value| app.patch_tracker(&token, &id, body);
    for bad in [
        json!({ "label": "" }),
        json!({ "interval_secs": 59 }),
        json!({ "ends_at": "2001-01-01T00:00:00Z" }),
        json!({ "ends_at": "tomorrow" }),
        json!({ "colour": "red" }),
    ] {
        let (status, answer) = patch(bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {answer}");
    }
    let (status, body) = patch(json!({ "label": "Dropbox launch", "ends_at": null })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["tracker"]["label"], "Dropbox launch");
    assert_eq!(body["tracker"]["ends_at"], Value::Null);

    // Past its end date (time passes: set it in the database) the tracker stops counting
    // and the dispatcher stops its source.
    sqlx::query("UPDATE trackers SET ends_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .expect("end");
    app.make_due().await;
    let (_, body) = app.tracker(&token, &id).await;
    assert_eq!(body["tracker"]["state"], "ended");
    let workers = app.start_workers();
    eventually(Duration::from_secs(60), "the source to end", || async {
        let (state, _, scheduled) = source_row(&app).await;
        (state == "ended" && !scheduled).then_some(())
    })
    .await;
    workers.stop().await;
}

#[tokio::test]
async fn series_come_in_at_most_the_points_asked_for() {
    let (_standin, app, token) = setup().await;
    let id = app.track(&token, LEPTOS).await;
    let metric_id = app.metric_id("stars").await;
    // Thirty days of one sample a minute, in chunks.
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let points: Vec<_> = (0..30 * 1440)
        .map(|minute| (start + chrono::Duration::minutes(minute), minute as f64))
        .collect();
    app.write_points(metric_id, points.iter().copied()).await;
    // Writing them again adds nothing.
    let again = app
        .write_points(metric_id, points[..100].iter().copied())
        .await;
    assert_eq!(again, 0);

    let series = |query: String| {
        let (app, token, id) = (&app, &token, &id);
        async move {
            let (status, body) = app
                .series(token, id, &format!("metric=stars&{query}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            body
        }
    };
    // A day in 100 buckets of raw samples.
    let day = series("from=2026-01-02T00:00:00Z&to=2026-01-03T00:00:00Z&points=100".into()).await;
    let points = day["points"].as_array().expect("points");
    assert!(
        points.len() <= 100 && points.len() >= 90,
        "{}",
        points.len()
    );
    assert_eq!(day["resolution"], "samples");
    let total: i64 = points
        .iter()
        .map(|point| point["count"].as_i64().expect("count"))
        .sum();
    assert_eq!(total, 1441, "every sample of the day, both ends included");
    // The whole month from the hourly rollups: avg/min/max/last agree with the raw data.
    let month = series("from=2026-01-01T00:00:00Z&to=2026-01-30T23:59:00Z&points=30".into()).await;
    assert_eq!(month["resolution"], "daily");
    let points = month["points"].as_array().expect("points");
    assert_eq!(points.len(), 30);
    assert_eq!(points[0]["min"], 0.0);
    assert_eq!(points[0]["max"], 1439.0);
    assert_eq!(points[0]["last"], 1439.0);
    assert_eq!(points[0]["avg"], 719.5);
    assert_eq!(points[0]["count"], 1440);
    assert_eq!(points[0]["time"], "2026-01-01T00:00:00Z");
    let week = series("from=2026-01-01T00:00:00Z&to=2026-01-08T00:00:00Z&points=100".into()).await;
    assert_eq!(week["resolution"], "hourly");
    assert!(week["points"].as_array().expect("points").len() <= 100);
    // Few samples: raw points.
    let few = series("from=2026-01-01T00:00:00Z&to=2026-01-01T00:09:00Z&points=100".into()).await;
    assert_eq!(few["resolution"], "raw");
    assert_eq!(few["points"].as_array().map(Vec::len), Some(10));
    // An empty range is empty, not an error.
    let empty = series("from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z".into()).await;
    assert_eq!(empty["points"], json!([]));
    // Bad parameters are named.
    for query in [
        "from=yesterday",
        "points=0",
        "points=many",
        "metric=nope",
        "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
    ] {
        let (status, body) = app.series(&token, &id, query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
    }
}

#[tokio::test]
async fn exports_stream_csv_and_json_of_a_range() {
    let (_standin, app, token) = setup().await;
    let id = app.track(&token, LEPTOS).await;
    // Ten days of minutes for stars (14,400 rows, several 64 KiB chunks), forks every hour.
    let start = chrono::DateTime::parse_from_rfc3339("2026-02-01T00:00:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let minute = |minute: i64| start + chrono::Duration::minutes(minute);
    let stars = (0..10 * 1440).map(|n| (minute(n), n as f64));
    app.write_points(app.metric_id("stars").await, stars).await;
    let forks = (0..10 * 1440).step_by(60).map(|n| (minute(n), 0.5));
    app.write_points(app.metric_id("forks").await, forks).await;

    let range = "from=2026-02-01T00:00:00Z&to=2026-02-10T23:59:00Z";
    let response = app
        .get_with_token(
            &format!("/api/v1/trackers/{id}/export.csv?metrics=stars,forks&{range}"),
            &token,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"leptos-rs-leptos.csv\""
    );
    let text = response.text().await.expect("body");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().expect("header").iter().collect::<Vec<_>>(),
        ["time", "stars", "forks", "origin"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("rows");
    assert_eq!(rows.len(), 10 * 1440);
    assert_eq!(
        &rows[0].iter().collect::<Vec<_>>(),
        &["2026-02-01T00:00:00Z", "0", "0.5", "observed"]
    );
    assert_eq!(
        &rows[1].iter().collect::<Vec<_>>(),
        &["2026-02-01T00:01:00Z", "1", "", "observed"]
    );
    assert_eq!(rows.last().expect("last").get(1), Some("14399"));

    let (status, export) = app
        .api_get(
            &format!("/api/v1/trackers/{id}/export.json?metrics=forks&{range}"),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(export["tracker"]["kind"], "github.repo");
    assert_eq!(export["metrics"][0]["name"], "forks");
    let rows = export["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 10 * 24);
    assert_eq!(rows[0], json!(["2026-02-01T00:00:00Z", 0.5, "observed"]));
    assert_eq!(export["columns"], json!(["time", "forks", "origin"]));
    // Without a range: everything, the first sample (taken when added) included.
    let (status, all) = app
        .api_get(&format!("/api/v1/trackers/{id}/export.json"), &token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["rows"].as_array().map(Vec::len), Some(10 * 1440 + 1));

    // An empty range is a header (or no rows), not an error.
    let (status, empty) = app.api_get(&format!("/api/v1/trackers/{id}/export.json?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z"), &token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty["rows"], json!([]));
    let (status, body) = app
        .api_get(
            &format!("/api/v1/trackers/{id}/export.csv?metrics=nope"),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, other) = app.member_with_token(TokenScope::Read).await;
    let (status, _) = app
        .api_get(&format!("/api/v1/trackers/{id}/export.json"), &other)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
