//! A real InfluxDB 1.x receiving what polls wrote, read back through its own query API;
//! taken down and brought back, it gets everything polled meanwhile, in order.

use serde_json::json;

use super::{
    daemons::Influx, listed, make_sink, poll_with, polled_stars, sink_until, tracking_app,
};
use crate::helpers::eventually;

/// The stars points InfluxDB holds: (ms, value), oldest first.
async fn stars_in(influx: &Influx) -> Vec<(i64, f64)> {
    influx
        .rows(
            "upcount",
            "SELECT value FROM upcount WHERE metric = 'stars' ORDER BY time",
        )
        .await
        .iter()
        .filter_map(|row| Some((row.first()?.as_i64()?, row.get(1)?.as_f64()?)))
        .collect()
}

#[tokio::test]
async fn influxdb_gets_each_polled_sample_and_everything_polled_while_it_was_down() {
    let mut influx = Influx::start().await;
    let created = influx.query("", "CREATE DATABASE upcount").await;
    assert!(created["results"][0].get("error").is_none(), "{created}");
    let (standin, app, _, token, tracker) = tracking_app(vec![]).await;
    let sink = make_sink(
        &app,
        &token,
        json!({"kind": "influxdb", "url": influx.url(), "database": "upcount"}),
    )
    .await;
    // The test batch reaches the database (and a missing one is named).
    let (status, answer) = app
        .api_post(
            &format!("/api/v1/sinks/{}/test", sink["id"].as_str().expect("an id")),
            &token,
            json!({}),
        )
        .await;
    assert_eq!((status.as_u16(), &answer), (200, &json!({"sent": true})));

    let workers = app.start_workers();
    poll_with(&app, &standin, 19_100).await;
    poll_with(&app, &standin, 19_200).await;
    let expected = polled_stars(&app).await;
    assert_eq!(
        expected.iter().map(|(_, value)| *value).collect::<Vec<_>>(),
        vec![19_100.0, 19_200.0]
    );
    let got = eventually(
        std::time::Duration::from_secs(30),
        "the points in InfluxDB",
        || async {
            let got = stars_in(&influx).await;
            (got.len() == expected.len()).then_some(got)
        },
    )
    .await;
    assert_eq!(got, expected, "each sample at its time, in milliseconds");
    // Tagged with the tracker and its series.
    let tags = influx
        .query(
            "upcount",
            "SHOW TAG VALUES FROM upcount WITH KEY IN (\"tracker\", \"kind\", \"key\")",
        )
        .await;
    let text = tags.to_string();
    for value in [tracker.as_str(), "github.repo", "leptos-rs/leptos"] {
        assert!(text.contains(value), "{value} in {text}");
    }
    // Every metric of the poll, not only stars.
    let metrics = influx
        .query(
            "upcount",
            "SHOW TAG VALUES FROM upcount WITH KEY = \"metric\"",
        )
        .await;
    assert!(metrics.to_string().contains("forks"), "{metrics}");

    // Down: polls go on, the backlog keeps them, the sink is marked failing.
    influx.daemon.stop().await;
    for stars in [19_300, 19_400, 19_500] {
        poll_with(&app, &standin, stars).await;
    }
    let failing = sink_until(&app, &token, "the sink to be failing", |sink| {
        sink["state"] == "failing"
    })
    .await;
    assert!(
        failing["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("connect"),
        "{failing}"
    );
    assert!(
        failing["backlog"].as_i64().unwrap_or_default() >= 12,
        "{failing}"
    );
    assert_eq!(failing["dropped"], 0);

    // Back: the backlog drains, in order, nothing lost.
    influx.restart().await;
    let healthy = sink_until(&app, &token, "the backlog to drain", |sink| {
        sink["state"] == "ok" && sink["backlog"] == 0
    })
    .await;
    workers.stop().await;
    let expected = polled_stars(&app).await;
    assert_eq!(expected.len(), 5);
    assert_eq!(stars_in(&influx).await, expected);
    let all = influx
        .rows("upcount", "SELECT count(value) FROM upcount")
        .await;
    let samples: i64 =
        sqlx::query_scalar("SELECT count(*) FROM samples WHERE t > (SELECT min(t) FROM samples)")
            .fetch_one(&app.pool)
            .await
            .expect("count");
    assert_eq!(
        all[0][1],
        json!(samples),
        "every polled sample of every metric"
    );
    assert_eq!(healthy["sent"], json!(samples));
    assert_eq!(listed(&app, &token).await["dropped"], 0);
}
