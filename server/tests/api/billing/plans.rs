//! What a plan allows: limits, failed payments and their grace period, plans set by
//! support, retention and downgrades.

use super::*;

/// Inserts `count` trackers of new sources for the workspace, one minute apart, each
/// polled every `interval_secs`.
/// A `score` metric on the source of `tracker`: its id.
async fn score_metric(app: &TestApp, tracker: Uuid) -> app::domain::MetricId {
    let source: i64 = sqlx::query_scalar("SELECT source_id FROM trackers WHERE id = $1")
        .bind(tracker)
        .fetch_one(&app.pool)
        .await
        .expect("source");
    sqlx::query_scalar(
        "INSERT INTO source_metrics (source_id, name, kind, unit, position)
         VALUES ($1, 'score', 'gauge', 'points', 0) RETURNING id",
    )
    .bind(source)
    .fetch_one(&app.pool)
    .await
    .expect("metric")
}

async fn trackers(
    app: &TestApp,
    workspace: WorkspaceId,
    count: usize,
    interval_secs: i32,
) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for n in 0..count {
        let source: i64 = sqlx::query_scalar(
            "INSERT INTO sources (kind, key, title, url, next_poll_at)
             VALUES ('hackernews.item', $1, 'An item', 'https://news.ycombinator.com/', now())
             RETURNING id",
        )
        .bind(Uuid::new_v4().to_string())
        .fetch_one(&app.pool)
        .await
        .expect("a source");
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO trackers (workspace_id, source_id, label, interval_secs, created_at)
             VALUES ($1, $2, $3, $4, now() - make_interval(mins => $5)) RETURNING id",
        )
        .bind(workspace)
        .bind(source)
        .bind(format!("Tracker {n}"))
        .bind(interval_secs)
        .bind((count - n) as i32)
        .fetch_one(&app.pool)
        .await
        .expect("a tracker");
        ids.push(id);
    }
    ids
}

#[tokio::test]
async fn a_failed_payment_keeps_the_plan_for_the_grace_period_then_pauses_the_newest_trackers() {
    let app = app().await;
    let (user, workspace) = free_workspace(&app).await;
    let grace = TimeDelta::days(7);
    let failed_at = Utc::now() - TimeDelta::days(30);
    // A Pro workspace with 7 trackers polled every 5 minutes.
    sqlx::query(
        "INSERT INTO workspace_billing (workspace_id, stripe_customer_id, subscription_id,
                 subscription_status, subscription_plan, current_period_end, past_due_since)
         VALUES ($1, 'cus_grace', 'sub_grace', 'past_due', 'pro', $2, $3)",
    )
    .bind(workspace)
    .bind(failed_at + TimeDelta::days(30))
    .bind(failed_at)
    .execute(&app.pool)
    .await
    .expect("billing");
    force_plan(&app, workspace, "pro").await;
    let ids = trackers(&app, workspace, 7, 300).await;

    // Six days after the failure: nothing changes.
    let applied = store::apply_plan(&app.pool, workspace, failed_at + TimeDelta::days(6), grace)
        .await
        .expect("apply");
    assert_eq!((applied.plan.as_str(), applied.paused), ("pro", 0));
    // Eight days after: Free limits. The two newest are paused, intervals raised to 1 h.
    let applied = store::apply_plan(&app.pool, workspace, failed_at + TimeDelta::days(8), grace)
        .await
        .expect("apply");
    assert_eq!(
        (applied.plan.as_str(), applied.paused, applied.raised),
        ("free", 2, 7)
    );
    let states: Vec<(Uuid, bool, bool, i32)> = sqlx::query_as(
        "SELECT id, paused, paused_by_plan, interval_secs FROM trackers
         WHERE workspace_id = $1 ORDER BY created_at",
    )
    .bind(workspace)
    .fetch_all(&app.pool)
    .await
    .expect("trackers");
    let paused: Vec<Uuid> = states.iter().filter(|s| s.1).map(|s| s.0).collect();
    assert_eq!(paused, ids[5..].to_vec(), "the newest two");
    assert!(states.iter().all(|s| s.3 == 3_600));
    assert!(states.iter().all(|s| s.1 == s.2));
    // Nothing deleted; the paused sources are no longer scheduled.
    let count = app
        .count_with(
            "SELECT count(*) FROM trackers WHERE workspace_id = $1",
            workspace,
        )
        .await;
    assert_eq!(count, 7);
    let scheduled: Vec<(String, Option<i32>)> = sqlx::query_as(
        "SELECT s.state, s.interval_secs FROM trackers t JOIN sources s ON s.id = t.source_id
         WHERE t.workspace_id = $1 ORDER BY t.created_at",
    )
    .bind(workspace)
    .fetch_all(&app.pool)
    .await
    .expect("sources");
    assert_eq!(scheduled[6].0, "paused");
    assert_eq!(scheduled[0].1, Some(3_600));
    // Adding or resuming is refused now, with an upgrade message and a 402 in the API.
    let token = app.token(&user, TokenScope::Write).await;
    let (status, body) = app
        .patch_tracker(&token, &ids[6].to_string(), json!({"paused": false}))
        .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["error"], "upgrade_required");
    assert_eq!(body["limit"], "trackers");
    let (status, body) = app
        .patch_tracker(&token, &ids[0].to_string(), json!({"interval_secs": 300}))
        .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["limit"], "interval");

    // Every page says so, with the way to fix it.
    let browser = app.signed_in(&user).await;
    let page = browser.html("/dashboard").await;
    assert!(page.contains("the grace period is over"), "{page}");
    assert!(page.contains("billing-banner"), "{page}");

    // The invoice is paid: everything resumes, intervals come back.
    sqlx::query(
        "UPDATE workspace_billing SET subscription_status = 'active', past_due_since = NULL
         WHERE workspace_id = $1",
    )
    .bind(workspace)
    .execute(&app.pool)
    .await
    .expect("paid");
    let applied = store::apply_plan(&app.pool, workspace, Utc::now(), grace)
        .await
        .expect("apply");
    assert_eq!(
        (applied.plan.as_str(), applied.resumed, applied.restored),
        ("pro", 2, 7)
    );
    let back: Vec<(bool, i32, Option<i32>)> = sqlx::query_as(
        "SELECT paused, interval_secs, interval_before_plan FROM trackers WHERE workspace_id = $1",
    )
    .bind(workspace)
    .fetch_all(&app.pool)
    .await
    .expect("trackers");
    assert!(back.iter().all(|t| *t == (false, 300, None)), "{back:?}");
    // Markers on the charts say what happened.
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tracker_events e JOIN trackers t ON t.id = e.tracker_id
         WHERE t.workspace_id = $1 AND e.detail LIKE '%plan%'",
    )
    .bind(workspace)
    .fetch_one(&app.pool)
    .await
    .expect("events");
    assert!(events >= 2 + 7, "{events}");
}

#[tokio::test]
async fn a_free_workspace_is_held_to_its_limits() {
    let app = app().await;
    let (user, workspace) = free_workspace(&app).await;
    trackers(&app, workspace, 5, 3_600).await;
    let token = app.token(&user, TokenScope::Write).await;
    // A sixth tracker: 402 before anything is fetched.
    let (status, body) = app
        .post_tracker(
            &token,
            json!({"url": "https://news.ycombinator.com/item?id=1"}),
        )
        .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["error"], "upgrade_required");
    assert_eq!(body["plan"], "free");
    assert_eq!(body["upgrade_url"], "/billing");
    assert!(
        body["message"].as_str().unwrap_or_default().contains("5"),
        "{body}"
    );
    // Tokens: the first was made above; the Free plan allows two.
    let browser = app.signed_in(&user).await;
    let second = browser.submit_token("second", "read").await;
    assert_eq!(second.status(), StatusCode::OK);
    let third = browser.submit_token("third", "read").await;
    assert_eq!(third.status(), StatusCode::SEE_OTHER);
    let page = browser.html("/account").await;
    assert!(page.contains("allows 2 API tokens"), "{page}");
    let tokens = app
        .count_with(
            "SELECT count(*) FROM api_tokens WHERE workspace_id = $1",
            workspace,
        )
        .await;
    assert_eq!(tokens, 2);
}

#[tokio::test]
async fn support_sets_a_plan_from_the_command_line() {
    let app = app().await;
    let (user, workspace) = free_workspace(&app).await;
    set_plan(&app, user.email.clone(), "business")
        .await
        .expect("set-plan");
    assert_eq!(plan_of(&app, workspace).await, "business");
    let bad = set_plan(&app, workspace.to_string(), "platinum").await;
    assert!(matches!(bad, Err(upcount::admin::AdminError::Invalid(_))));
    set_plan(&app, workspace.to_string(), "subscription")
        .await
        .expect("set-plan");
    assert_eq!(plan_of(&app, workspace).await, "free");
}

#[tokio::test]
async fn raw_samples_past_the_plans_retention_are_pruned_and_ranges_there_read_rollups() {
    let app = app().await;
    let (user, workspace) = free_workspace(&app).await;
    let tracker = trackers(&app, workspace, 1, 3_600).await[0];
    let metric = score_metric(&app, tracker).await;
    // 40 days of a sample every 10 minutes.
    let now = Utc::now();
    let start = now - TimeDelta::days(40);
    let samples = (0..40 * 144).map(|n| (start + TimeDelta::minutes(10 * n), n as f64));
    app.write_points(metric, samples).await;
    let deleted = app::server::tracking::store::prune_raw_samples(&app.pool, now)
        .await
        .expect("prune");
    assert_eq!(deleted, 10 * 144, "the ten days past Free's 30");
    let oldest: chrono::DateTime<Utc> =
        sqlx::query_scalar("SELECT min(t) FROM samples WHERE metric_id = $1")
            .bind(metric)
            .fetch_one(&app.pool)
            .await
            .expect("oldest");
    assert!(oldest >= now - TimeDelta::days(30) - TimeDelta::milliseconds(1));
    // Running it again deletes nothing more.
    assert_eq!(
        app::server::tracking::store::prune_raw_samples(&app.pool, now)
            .await
            .expect("prune"),
        0
    );
    // A day 35 days ago, asked for in 1,000 points: raw samples are gone, so it comes from
    // the hourly rollups (24 buckets of 6 samples), not as an empty chart.
    let token = app.token(&user, TokenScope::Read).await;
    let tracker_id = tracker.to_string();
    // The `score` of the whole day `ago` days back, in up to 1,000 points.
    let day = |ago: i64| {
        let day = now - TimeDelta::days(ago);
        let (from, to) = (
            day.format("%Y-%m-%dT00:00:00Z"),
            day.format("%Y-%m-%dT23:59:59Z"),
        );
        format!("metric=score&from={from}&to={to}&points=1000")
    };
    let (status, body) = app.series(&token, &tracker_id, &day(35)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resolution"], "hourly", "{body}");
    let points = body["points"].as_array().expect("points");
    assert_eq!(points.len(), 24);
    assert!(points.iter().all(|point| point["count"] == 6), "{body}");
    // A recent day still comes raw.
    let (_, body) = app.series(&token, &tracker_id, &day(2)).await;
    assert_eq!(body["resolution"], "raw", "{body}");
    assert_eq!(body["points"].as_array().map(Vec::len), Some(144));
    // A Pro workspace tracking the same source keeps it a year for everyone.
    let pro = app.create_user(Role::Member).await;
    let pro_workspace = app.workspace_of(&pro).await;
    sqlx::query(
        "INSERT INTO trackers (workspace_id, source_id, label)
         SELECT $1, source_id, 'Same' FROM trackers WHERE id = $2",
    )
    .bind(pro_workspace)
    .bind(tracker)
    .execute(&app.pool)
    .await
    .expect("a second tracker");
    let later =
        app::server::tracking::store::prune_raw_samples(&app.pool, now + TimeDelta::days(5))
            .await
            .expect("prune");
    assert_eq!(later, 0);
}

#[tokio::test]
async fn a_downgrade_keeps_older_points_for_thirty_days_and_an_upgrade_in_time_keeps_them() {
    let app = app().await;
    let (user, workspace) = free_workspace(&app).await;
    let switch_to = |plan: &'static str| {
        let (app, email) = (&app, user.email.clone());
        async move { set_plan(app, email, plan).await.expect("set-plan") }
    };
    switch_to("pro").await;
    let tracker = trackers(&app, workspace, 1, 3_600).await[0];
    let metric = score_metric(&app, tracker).await;
    // A sample a day for 100 days: within Pro's year, past Free's 30 days.
    let now = Utc::now();
    app.write_points(
        metric,
        (0..100).map(|n| (now - TimeDelta::days(n), n as f64)),
    )
    .await;
    let count = || app.count_with("SELECT count(*) FROM samples WHERE metric_id = $1", metric);
    let pool = app.pool.clone();
    let prune = |at: chrono::DateTime<Utc>| {
        let pool = pool.clone();
        async move {
            app::server::tracking::store::prune_raw_samples(&pool, at)
                .await
                .expect("prune")
        }
    };
    // Down to Free: nothing is pruned yet, and the billing page says from when.
    switch_to("free").await;
    assert_eq!(plan_of(&app, workspace).await, "free");
    assert_eq!(prune(Utc::now()).await, 0);
    assert_eq!(count().await, 100);
    let browser = app.signed_in(&user).await;
    let page = browser.html("/billing").await;
    let expected_day = (Utc::now() + TimeDelta::days(30))
        .format("%Y-%m-%d")
        .to_string();
    assert!(page.contains("history-pruned-from"), "{page}");
    assert!(page.contains(&expected_day), "names the day: {page}");
    // Back on Pro within the 30 days: the points stay, whenever pruning runs.
    switch_to("pro").await;
    assert_eq!(prune(Utc::now() + TimeDelta::days(31)).await, 0);
    assert_eq!(count().await, 100);
    let page = browser.html("/billing").await;
    assert!(!page.contains("history-pruned-from"), "{page}");
    // Down again and not back: 31 days later Free's 30 days hold.
    switch_to("free").await;
    assert_eq!(prune(Utc::now() + TimeDelta::days(29)).await, 0);
    let pruned = prune(Utc::now() + TimeDelta::days(31)).await;
    assert!(pruned > 0);
    assert!(count().await <= 31, "{} left", count().await);
}
