//! A real Graphite (`carbon-cache`) receiving what polls wrote over its plaintext
//! protocol, checked in its whisper files.

use serde_json::json;

use super::{daemons::Carbon, make_sink, poll_with, polled_stars, sink_until, tracking_app};
use crate::helpers::eventually;

#[tokio::test]
async fn graphite_gets_each_polled_sample_in_its_whisper_file() {
    let carbon = Carbon::start().await;
    let (standin, app, _, token, _) = tracking_app(vec![]).await;
    make_sink(
        &app,
        &token,
        json!({"kind": "graphite", "address": format!("127.0.0.1:{}", carbon.port), "prefix": "acme.upcount"}),
    )
    .await;
    let workers = app.start_workers();
    poll_with(&app, &standin, 19_100).await;
    // A second apart: whisper keeps one point a second.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    poll_with(&app, &standin, 19_250).await;
    let expected: Vec<(i64, f64)> = polled_stars(&app)
        .await
        .into_iter()
        .map(|(ms, value)| (ms / 1_000, value))
        .collect();
    assert_eq!(expected.len(), 2);
    let path = "acme.upcount.github_repo.leptos-rs_leptos.stars";
    let got = eventually(
        std::time::Duration::from_secs(30),
        "the points in whisper",
        || async {
            let got = carbon.fetch(path).await;
            (got.len() == expected.len()).then_some(got)
        },
    )
    .await;
    assert_eq!(got, expected, "{}", carbon.daemon.output());
    assert!(
        carbon
            .whisper_file("acme.upcount.github_repo.leptos-rs_leptos.forks")
            .exists()
    );
    let sink = sink_until(&app, &token, "the backlog to drain", |sink| {
        sink["backlog"] == 0
    })
    .await;
    assert_eq!(sink["state"], "ok");
    workers.stop().await;
}
