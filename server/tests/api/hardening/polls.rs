//! Polls are never misdated and recorded once per claim; sources nobody tracks go.

use super::*;

#[tokio::test]
async fn a_late_poll_is_stamped_with_the_time_the_upstream_answered() {
    let (standin, app, token) = setup().await;
    track_leptos(&standin, &app, &token).await;
    // The workers were away for three hours: the source is three hours overdue.
    let due: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE sources SET next_poll_at = now() - interval '3 hours' RETURNING next_poll_at",
    )
    .fetch_one(&app.pool)
    .await
    .expect("overdue");
    let first = newest_sample(&app).await;
    let before = Utc::now() - chrono::TimeDelta::seconds(1);
    let workers = app.start_workers();
    let stamped = eventually(Duration::from_secs(30), "the late poll", || async {
        let newest = newest_sample(&app).await;
        (newest > first).then_some(newest)
    })
    .await;
    workers.stop().await;
    assert!(
        stamped >= before && stamped <= Utc::now(),
        "stamped {stamped}, due {due}, fetched after {before}"
    );
    assert_eq!(
        app.count_with("SELECT count(*) FROM samples WHERE t < $1", first)
            .await,
        0,
        "nothing is stamped with the old due time"
    );
}

#[tokio::test]
async fn the_claim_not_the_timestamp_makes_recording_a_poll_idempotent() {
    let (standin, app, token) = setup().await;
    track_leptos(&standin, &app, &token).await;
    let (source_id, due): (app::domain::SourceId, DateTime<Utc>) = sqlx::query_as(
        "UPDATE sources SET next_poll_at = now() - interval '1 minute' RETURNING id, next_poll_at",
    )
    .fetch_one(&app.pool)
    .await
    .expect("due");
    let before = app.count("SELECT count(*) FROM samples").await;
    let poll = |due: DateTime<Utc>, observed_at: DateTime<Utc>, stars: f64| {
        let mut readings = Readings::default();
        readings.push("stars", stars);
        PollResult {
            source_id,
            due,
            observed_at,
            outcome: Ok(readings),
        }
    };
    // The job runs, then runs again (a retry after its worker died before the ack): each
    // answer came back at a different moment.
    let now = Utc::now();
    let written = store::record_polls(&app.pool, &[poll(due, now, 8.0)])
        .await
        .expect("record");
    assert_eq!(written, 1);
    let again = store::record_polls(
        &app.pool,
        &[poll(due, now + chrono::TimeDelta::seconds(5), 9.0)],
    )
    .await
    .expect("record again");
    assert_eq!(
        again, 0,
        "a second recording of the same claim writes nothing"
    );
    // Due again: two copies of the job race; one of them records.
    let due: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE sources SET next_poll_at = now() - interval '1 second' RETURNING next_poll_at",
    )
    .fetch_one(&app.pool)
    .await
    .expect("due again");
    let later = now + chrono::TimeDelta::seconds(10);
    let first = [poll(due, later, 10.0)];
    let second = [poll(due, later + chrono::TimeDelta::seconds(1), 11.0)];
    let (a, b) = tokio::join!(
        store::record_polls(&app.pool, &first),
        store::record_polls(&app.pool, &second),
    );
    assert_eq!(
        a.expect("a") + b.expect("b"),
        1,
        "exactly one of the racing copies"
    );
    assert_eq!(app.count("SELECT count(*) FROM samples").await, before + 2);
}

#[tokio::test]
async fn sources_nobody_tracks_go_after_thirty_days_and_secret_ones_at_once() {
    let (standin, app, token) = setup().await;
    standin.set(
        "json-header/doc",
        json!({ "name": "x-api-key", "value": "k3y" }),
    );
    let public = track_leptos(&standin, &app, &token).await;
    let secret = app
        .add_tracker(
            &token,
            json!({
                "url": format!("{}/json/doc", standin.base()),
                "metrics": { "members": "stats.members" },
                "headers": [{ "name": "x-api-key", "value": "k3y", "secret": true }]
            }),
        )
        .await;
    let sources = || async {
        sqlx::query_as::<_, (String, Option<DateTime<Utc>>)>(
            "SELECT kind, orphaned_at FROM sources ORDER BY kind",
        )
        .fetch_all(&app.pool)
        .await
        .expect("sources")
    };
    assert_eq!(sources().await.len(), 2);
    for id in [&secret, &public] {
        let status = app.delete_tracker(&token, id).await;
        assert!(status.is_success(), "{status}");
    }
    // The secret one went with its tracker, samples and all; the other waits.
    let left = sources().await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].0, "github.repo");
    assert!(left[0].1.is_some(), "orphaned since now");
    assert!(
        app.count("SELECT count(*) FROM samples").await >= 1,
        "its samples stay for now"
    );
    // The console shows it.
    let console = app.signed_in(&app.create_user(Role::Admin).await).await;
    let page = console.html("/admin?state=orphaned").await;
    assert!(page.contains("No tracker since"), "{page}");
    assert!(page.contains("leptos-rs/leptos"), "{page}");
    // Tracked again, it is no orphan; untracked, 29 days is not enough, 31 is.
    let again = app.track(&token, LEPTOS).await;
    assert!(sources().await[0].1.is_none());
    app.delete_tracker(&token, &again).await;
    let now = Utc::now();
    assert_eq!(
        store::delete_orphaned_sources(&app.pool, now + chrono::TimeDelta::days(29))
            .await
            .expect("delete"),
        0
    );
    assert_eq!(
        store::delete_orphaned_sources(&app.pool, now + chrono::TimeDelta::days(31))
            .await
            .expect("delete"),
        1
    );
    assert!(sources().await.is_empty());
    assert_eq!(app.count("SELECT count(*) FROM samples").await, 0);
}
