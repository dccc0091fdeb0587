//! Running the service: plans, sources, Stripe events, failed jobs and the schedule, from
//! the console and the command line.

use super::*;

#[tokio::test]
async fn an_admin_sets_a_plan_and_acts_on_sources() {
    let (app, admin_user, admin) = console().await;
    let user = app.create_free_user(Role::Member).await;
    let workspace = app.workspace_of(&user).await;
    let response = admin
        .post_form(
            &format!("/admin/workspaces/{workspace}/plan"),
            &[("plan", "pro")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let plan: String = sqlx::query_scalar("SELECT plan_id FROM workspaces WHERE id = $1")
        .bind(workspace)
        .fetch_one(&app.pool)
        .await
        .expect("plan");
    assert_eq!(plan, "pro");
    let target = format!("workspace:{workspace}");
    assert_audited(&app, &admin_user, "workspace.set_plan", target).await;

    let source = source_for(&app, &user).await;
    sqlx::query(
        "UPDATE sources SET state = 'backing_off', consecutive_failures = 4,
                next_poll_at = now() + interval '6 hours' WHERE id = $1",
    )
    .bind(source)
    .execute(&app.pool)
    .await
    .expect("backing off");
    let press = |button: &str| {
        let path = format!("/admin/sources/{source}/{button}");
        let admin = &admin;
        async move { admin.press(&path).await }
    };
    press("reset-backoff").await;
    let (state, _, next) = source_state(&app, source).await;
    assert_eq!(state, "ok");
    assert!(next.expect("scheduled") <= chrono::Utc::now());
    assert_eq!(last_audit(&app).await.1, "source.reset_backoff");

    press("pause").await;
    assert_eq!(
        source_state(&app, source).await,
        ("paused".into(), true, None)
    );
    assert_eq!(last_audit(&app).await.1, "source.pause");
    // Paused by the admin: polling now does nothing.
    press("poll-now").await;
    assert_eq!(source_state(&app, source).await.2, None);
    press("resume").await;
    let (state, paused, next) = source_state(&app, source).await;
    assert_eq!((state.as_str(), paused), ("ok", false));
    assert!(next.is_some());
    sqlx::query("UPDATE sources SET next_poll_at = now() + interval '1 hour' WHERE id = $1")
        .bind(source)
        .execute(&app.pool)
        .await
        .expect("later");
    press("poll-now").await;
    assert!(source_state(&app, source).await.2.expect("scheduled") <= chrono::Utc::now());
    assert_eq!(last_audit(&app).await.1, "source.poll_now");
    // The console lists the source with its failures, filtered by provider.
    let page = admin.html("/admin?provider=hackernews").await;
    assert!(page.contains(&format!("source-{source}")), "{page}");
    let page = admin.html("/admin?provider=github").await;
    assert!(!page.contains(&format!("source-{source}")));
    // Unknown things are named, not crashed on.
    let response = admin.press("/admin/sources/999999/pause").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = admin.html("/admin").await;
    assert!(page.contains("There is no such source."), "{page}");
}

#[tokio::test]
async fn an_admin_reprocesses_a_stripe_event() {
    let (app, admin_user, admin) = console().await;
    sqlx::query(
        "INSERT INTO stripe_events (id, type, created, payload, status, attempts, error)
         VALUES ('evt_admin_1', 'invoice.paid', now(), '{\"data\": {\"object\": {}}}', 'failed', 3,
                 'Stripe could not be reached')",
    )
    .execute(&app.pool)
    .await
    .expect("an event");
    let page = admin.html("/admin").await;
    assert!(page.contains("event-evt_admin_1"), "{page}");
    assert!(page.contains("Stripe could not be reached"));
    let _workers = app.start_workers();
    act(
        &app,
        (&admin_user, &admin),
        "/admin/stripe-events/evt_admin_1/reprocess",
        "stripe_event.reprocess",
        "stripe_event:evt_admin_1",
    )
    .await;
    // Processed again: it names no subscription, so it ends ignored, with the reason.
    let status = eventually(Duration::from_secs(60), "the event processed", || async {
        let status: String =
            sqlx::query_scalar("SELECT status FROM stripe_events WHERE id = 'evt_admin_1'")
                .fetch_one(&app.pool)
                .await
                .expect("status");
        (status != "pending").then_some(status)
    })
    .await;
    assert_eq!(status, "ignored");
}

#[tokio::test]
async fn an_admin_retries_and_discards_failed_jobs() {
    let (app, admin_user, admin) = console().await;
    // Two jobs queued the way the scheduler queues them, which then failed for good.
    for _ in 0..2 {
        upcount::jobs::enqueue(&app.pool, upcount::jobs::PruneJobs::default())
            .await
            .expect("enqueue");
    }
    let ids: Vec<String> = sqlx::query_scalar(
        "UPDATE apalis.jobs SET status = 'Failed', attempts = max_attempts,
                last_result = '{\"Err\": \"the database went away\"}'
         WHERE job_type = 'prune_jobs' RETURNING id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("failed jobs");
    let (retried, discarded) = (ids[0].clone(), ids[1].clone());
    let page = admin.html("/admin").await;
    assert!(page.contains(&format!("job-{retried}")), "{page}");
    assert!(page.contains("the database went away"));
    // The counts by queue and status: prune_jobs has two failed, none done.
    let counts = page
        .split("data-testid=\"job-counts\"")
        .nth(1)
        .and_then(|table| table.split("</table>").next())
        .expect("the job counts table");
    let row = counts
        .split("<tr>")
        .find(|row| row.contains("<code>prune_jobs</code>"))
        .expect("a row for prune_jobs");
    let cells: Vec<&str> = row
        .split("<td>")
        .skip(1)
        .map(|cell| cell.split('<').next().unwrap_or_default())
        .collect();
    // Pending, Queued, Running, Done, Failed, Killed.
    assert_eq!(cells, ["0", "0", "0", "0", "2", "0"], "{row}");

    let retry = format!("/admin/jobs/{retried}/retry");
    let target = format!("job:{retried}");
    act(&app, (&admin_user, &admin), &retry, "job.retry", &target).await;
    // Sent again (a double click) before it ran: the same answer, nothing done twice.
    let again = admin.press(&retry).await;
    let page = admin.follow(again).await;
    assert!(
        page.contains(&format!("Job {retried} will run again.")),
        "{page}"
    );
    let retries = app
        .count("SELECT count(*) FROM audit_log WHERE action = 'job.retry'")
        .await;
    assert_eq!(retries, 1);
    let _workers = app.start_workers();
    eventually(
        Duration::from_secs(60),
        "the retried job to run",
        || async { (job_status(&app, &retried).await == "Done").then_some(()) },
    )
    .await;

    admin
        .press(&format!("/admin/jobs/{discarded}/discard"))
        .await;
    assert_eq!(job_status(&app, &discarded).await, "Killed");
    assert_eq!(last_audit(&app).await.1, "job.discard");
    // A job that is not failed cannot be retried.
    admin.press(&retry).await;
    let page = admin.html("/admin").await;
    assert!(page.contains("not in a state for that"), "{page}");
}

#[tokio::test]
async fn a_schedule_dump_loads_back() {
    let (app, user) = spawn_app_with_member().await;
    let source = source_for(&app, &user).await;
    sqlx::query(
        "UPDATE sources SET state = 'backing_off', consecutive_failures = 3, interval_secs = 1800,
                next_poll_at = '2030-01-01T00:00:00Z', paused_by_admin = false WHERE id = $1",
    )
    .bind(source)
    .execute(&app.pool)
    .await
    .expect("a schedule");
    let entries = app::server::tracking::store::schedule(&app.pool)
        .await
        .expect("dump");
    let mut dump = serde_json::to_value(&entries).expect("JSON");
    // One source the database does not have.
    dump.as_array_mut().expect("array").push(serde_json::json!({
        "id": 0, "kind": "github.repo", "key": "gone/away", "state": "ok", "interval_secs": 900,
        "next_poll_at": null, "leased_until": null, "consecutive_failures": 0,
        "last_success_at": null, "last_error": null, "trackers": 0, "active_trackers": 0
    }));
    // The schedule changes, then the dump is loaded back.
    sqlx::query(
        "UPDATE sources SET state = 'ok', consecutive_failures = 0, interval_secs = 900,
                next_poll_at = now(), leased_until = now() + interval '5 minutes' WHERE id = $1",
    )
    .bind(source)
    .execute(&app.pool)
    .await
    .expect("changed");
    upcount::admin::schedule_load(&app.pool, dump.to_string().as_bytes())
        .await
        .expect("load");
    let restored: (
        String,
        i32,
        i32,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    ) = sqlx::query_as(
        "SELECT state, consecutive_failures, interval_secs, next_poll_at, leased_until
             FROM sources WHERE id = $1",
    )
    .bind(source)
    .fetch_one(&app.pool)
    .await
    .expect("source");
    assert_eq!(
        (restored.0.as_str(), restored.1, restored.2),
        ("backing_off", 3, 1_800)
    );
    assert_eq!(
        restored.3.map(|at| at.to_rfc3339()),
        Some("2030-01-01T00:00:00+00:00".to_string())
    );
    assert_eq!(restored.4, None, "no stale lease");
    // Garbage is refused with a reason, and changes nothing.
    let bad = upcount::admin::schedule_load(&app.pool, &b"not json"[..]).await;
    assert!(matches!(bad, Err(upcount::admin::AdminError::Invalid(_))));
}
