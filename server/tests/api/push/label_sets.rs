//! A pushed metric's label sets on the tracker page and in the series API: each set is
//! picked on its own, or the sets are summed across one label (`?sum=plan`), each series
//! holding its last value between its points, as PromQL's `sum` does.

use app::domain::Role;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{make_source, push_ok};
use crate::helpers::spawn_app;

const PRO_EU: &str = r#"signups{plan="pro",region="eu"}"#;

fn at(hours_ago: i64) -> String {
    (Utc::now() - TimeDelta::hours(hours_ago)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `text` for a query string.
fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The points of a series answer: (time, last, count).
fn points(series: &Value) -> Vec<(DateTime<Utc>, f64, i64)> {
    series["points"]
        .as_array()
        .unwrap_or_else(|| panic!("points in {series}"))
        .iter()
        .map(|point| {
            (
                point["time"]
                    .as_str()
                    .and_then(|time| time.parse().ok())
                    .expect("a time"),
                point["last"].as_f64().expect("a value"),
                point["count"].as_i64().expect("a count"),
            )
        })
        .collect()
}

#[tokio::test]
async fn label_sets_are_picked_one_by_one_or_summed_across_a_label() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Member).await;
    let token = app.token(&user, app::domain::TokenScope::Write).await;
    let made = make_source(&app, &token, "Shop").await;
    let series = |labels: &[(&str, &str)], value: f64, t: &str| {
        let labels: serde_json::Map<String, Value> = labels
            .iter()
            .map(|(name, value)| (name.to_string(), json!(value)))
            .collect();
        json!({"metric": "signups", "value": value, "t": t, "labels": labels})
    };
    let (t0, t1, t2) = (at(3), at(2), at(1));
    push_ok(
        &app,
        &made.token,
        json!([
            series(&[("plan", "pro"), ("region", "eu")], 3.0, &t0),
            series(&[("plan", "free"), ("region", "eu")], 10.0, &t0),
            series(&[("plan", "pro"), ("region", "us")], 5.0, &t0),
            series(&[("plan", "pro"), ("region", "eu")], 4.0, &t1),
            series(&[("plan", "free"), ("region", "eu")], 12.0, &t2),
            series(&[("plan", "pro"), ("region", "us")], 6.0, &t2),
            {"metric": "mrr", "value": 1200, "t": t0},
        ]),
    )
    .await;
    let time = |text: &str| text.parse::<DateTime<Utc>>().expect("a time");

    // One label set on its own.
    let (status, one) = app
        .series(&token, &made.tracker, &format!("metric={}", encode(PRO_EU)))
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(points(&one), [(time(&t0), 3.0, 1), (time(&t1), 4.0, 1)]);
    assert!(one.get("sum").is_none(), "{one}");

    // Summed across `plan`: the EU series of every plan, each holding its last value.
    let (status, by_plan) = app
        .series(
            &token,
            &made.tracker,
            &format!("metric={}&sum=plan", encode(PRO_EU)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_plan}");
    assert_eq!(by_plan["metric"], PRO_EU);
    assert_eq!(by_plan["sum"], "plan");
    assert_eq!(
        points(&by_plan),
        [
            (time(&t0), 13.0, 2),
            (time(&t1), 14.0, 1),
            (time(&t2), 16.0, 1)
        ]
    );
    // Across `region`: every region's pro plan.
    let (_, by_region) = app
        .series(
            &token,
            &made.tracker,
            &format!("metric={}&sum=region", encode(PRO_EU)),
        )
        .await;
    assert_eq!(
        points(&by_region),
        [
            (time(&t0), 8.0, 2),
            (time(&t1), 9.0, 1),
            (time(&t2), 10.0, 1)
        ]
    );
    // In buckets: the sum's last is every series' last, and every sample is counted.
    let (_, coarse) = app
        .series(
            &token,
            &made.tracker,
            &format!("metric={}&sum=plan&points=1", encode(PRO_EU)),
        )
        .await;
    assert!(coarse["bucket_secs"].as_i64().is_some(), "{coarse}");
    let coarse = points(&coarse);
    assert_eq!(coarse.last().map(|(_, last, _)| *last), Some(16.0));
    assert_eq!(coarse.iter().map(|(_, _, count)| count).sum::<i64>(), 4);

    // A label none of the series has, or a metric without labels: said plainly.
    let (status, body) = app
        .series(
            &token,
            &made.tracker,
            &format!("metric={}&sum=country", encode(PRO_EU)),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.to_string().contains(
            "the series of `signups` have no label `country`; their labels: plan, region"
        ),
        "{body}"
    );
    let (status, body) = app
        .series(&token, &made.tracker, "metric=mrr&sum=plan")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.to_string().contains("have no labels to sum across"),
        "{body}"
    );

    // The tracker page: one chip per metric, the label sets, and the sums.
    let browser = app.signed_in(&user).await;
    let page = browser
        .html(&format!(
            "/trackers/{}?metric={}&range=7d",
            made.tracker,
            encode(PRO_EU)
        ))
        .await;
    let metric_chips = page
        .split(r#"aria-label="Metric""#)
        .nth(1)
        .and_then(|rest| rest.split("</nav>").next())
        .expect("the metric chips");
    assert_eq!(
        metric_chips.matches("class=\"chip\"").count(),
        2,
        "{metric_chips}"
    );
    assert!(page.contains(r#"aria-label="Series""#), "the label sets");
    let series_chips = page
        .split(r#"aria-label="Series""#)
        .nth(1)
        .and_then(|rest| rest.split("</nav>").next())
        .expect("the series chips");
    assert!(
        series_chips.contains(r#"plan="free", region="eu""#)
            || series_chips.contains("plan=&quot;free&quot;, region=&quot;eu&quot;"),
        "{series_chips}"
    );
    assert!(page.contains("Sum across plan") && page.contains("Sum across region"));
    // The links carry the series' name encoded, and the sum.
    let link = format!(
        "/trackers/{}?metric=signups%7Bplan%3D%22pro%22%2Cregion%3D%22eu%22%7D&amp;sum=plan",
        made.tracker
    );
    assert!(page.contains(&link), "a sum link like {link}");
    let summed = browser
        .html(&format!(
            "/trackers/{}?metric={}&sum=plan&range=7d",
            made.tracker,
            encode(PRO_EU)
        ))
        .await;
    assert!(
        summed.contains(r#"signups{region="eu"}, summed across plan"#)
            || summed.contains("signups{region=&quot;eu&quot;}, summed across plan"),
        "the chart says what it sums"
    );
    assert!(summed.contains("3 points"), "the sum's points");
    // The export link of the series shown is encoded too.
    assert!(
        summed.contains("export.csv?metrics=signups%7Bplan%3D%22pro%22%2Cregion%3D%22eu%22%7D")
    );
    // … and the export takes a name with commas in its labels.
    let export = app
        .get_with_token(
            &format!(
                "/api/v1/trackers/{}/export.csv?metrics={}",
                made.tracker,
                encode(&format!("{PRO_EU},mrr"))
            ),
            &token,
        )
        .await;
    assert_eq!(export.status(), StatusCode::OK);
    let export = export.text().await.expect("the export");
    assert!(
        export
            .lines()
            .next()
            .is_some_and(|header| header.contains("region=")),
        "{export}"
    );
}
