use std::time::{Duration, SystemTime};

use upcount::jobs::{
    BackgroundJob, Enqueued, JobContext, PruneJobs, enqueue, enqueue_once, prune_jobs, scheduler,
};

use crate::helpers::{
    Process, TestDatabase, eventually, run_binary, spawn_app, spawn_app_behind_proxy,
};

async fn statuses(pool: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT status FROM apalis.jobs WHERE job_type = $1 ORDER BY id")
        .bind(PruneJobs::JOB_NAME)
        .fetch_all(pool)
        .await
        .expect("read jobs")
}

/// The ids of every job, oldest first.
async fn job_ids(pool: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT id FROM apalis.jobs ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("ids")
}

#[tokio::test]
async fn enqueue_once_adds_a_job_once_per_key() {
    let app = spawn_app().await;
    let first = enqueue_once(&app.pool, PruneJobs::default(), "2026-11-24")
        .await
        .expect("enqueue");
    let again = enqueue_once(&app.pool, PruneJobs::default(), "2026-11-24")
        .await
        .expect("enqueue");
    let next = enqueue_once(&app.pool, PruneJobs::default(), "2026-11-25")
        .await
        .expect("enqueue");
    assert_eq!(
        (first, again, next),
        (Enqueued::Added, Enqueued::AlreadyQueued, Enqueued::Added)
    );
    assert_eq!(statuses(&app.pool).await.len(), 2);
}

#[tokio::test]
async fn schedulers_of_several_processes_enqueue_one_job_per_period() {
    let app = spawn_app().await;
    let now = SystemTime::now();
    tokio::join!(
        scheduler::enqueue_due(&app.pool, now),
        scheduler::enqueue_due(&app.pool, now),
        scheduler::enqueue_due(&app.pool, now),
    );
    assert_eq!(statuses(&app.pool).await, ["Pending"]);
}

#[tokio::test]
async fn prune_deletes_only_what_is_finished_and_older_than_the_retention() {
    let app = spawn_app().await;
    for _ in 0..4 {
        enqueue(&app.pool, PruneJobs::default())
            .await
            .expect("enqueue");
    }
    let ids = job_ids(&app.pool).await;
    // Old and done, old and killed: pruned. Recently done, and pending: kept.
    for (id, status, age_days) in [
        (&ids[0], "Done", 20),
        (&ids[1], "Killed", 15),
        (&ids[2], "Done", 1),
    ] {
        sqlx::query("UPDATE apalis.jobs SET status = $2, done_at = now() - make_interval(days => $3) WHERE id = $1")
            .bind(id)
            .bind(status)
            .bind(age_days)
            .execute(&app.pool)
            .await
            .expect("age a job");
    }
    sqlx::query(
        "INSERT INTO apalis.workers (id, worker_type, storage_name, layers, last_seen) VALUES
         ('gone', 'prune_jobs', 'PostgresStorage', '', now() - interval '30 days'),
         ('holding', 'prune_jobs', 'PostgresStorage', '', now() - interval '30 days'),
         ('alive', 'prune_jobs', 'PostgresStorage', '', now())",
    )
    .execute(&app.pool)
    .await
    .expect("add workers");
    sqlx::query("UPDATE apalis.jobs SET lock_by = 'holding' WHERE id = $1")
        .bind(&ids[3])
        .execute(&app.pool)
        .await
        .expect("lock a job");

    // Poll jobs go after an hour.
    for age_minutes in [120, 10] {
        enqueue(
            &app.pool,
            upcount::jobs::PollSources {
                kind: "github.repo".parse().expect("a kind"),
                sources: vec![],
            },
        )
        .await
        .expect("enqueue a poll job");
        sqlx::query(
            "UPDATE apalis.jobs SET status = 'Done', done_at = now() - make_interval(mins => $1)
             WHERE job_type = 'poll_sources' AND done_at IS NULL",
        )
        .bind(age_minutes)
        .execute(&app.pool)
        .await
        .expect("age a poll job");
    }
    let context = JobContext {
        pool: app.pool.clone(),
        retention: Duration::from_secs(14 * 86_400),
    };
    let report = prune_jobs::prune(&context).await.expect("prune");
    assert_eq!((report.jobs, report.workers), (3, 1));
    let polls: i64 =
        sqlx::query_scalar("SELECT count(*) FROM apalis.jobs WHERE job_type = 'poll_sources'")
            .fetch_one(&app.pool)
            .await
            .expect("count");
    assert_eq!(polls, 1, "the recent poll job is kept");
    sqlx::query("DELETE FROM apalis.jobs WHERE job_type = 'poll_sources'")
        .execute(&app.pool)
        .await
        .expect("clean up");
    let left = job_ids(&app.pool).await;
    assert_eq!(left, [ids[2].clone(), ids[3].clone()]);
    let workers: Vec<String> = sqlx::query_scalar("SELECT id FROM apalis.workers ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .expect("workers");
    assert!(!workers.contains(&"gone".to_string()), "{workers:?}");
    assert!(workers.contains(&"holding".to_string()) && workers.contains(&"alive".to_string()));

    // Safe to run again: nothing more to delete.
    let again = prune_jobs::prune(&context).await.expect("prune again");
    assert_eq!((again.jobs, again.workers), (0, 0));
}

#[tokio::test]
async fn workers_run_queued_jobs_and_stop_on_shutdown() {
    let app = spawn_app().await;
    enqueue(&app.pool, PruneJobs::default())
        .await
        .expect("enqueue");
    let workers = app.start_workers();
    // The enqueued job and the one the scheduler adds for today both run.
    eventually(Duration::from_secs(30), "the jobs to be done", || async {
        let statuses = statuses(&app.pool).await;
        (statuses.len() == 2 && statuses.iter().all(|status| status == "Done")).then_some(())
    })
    .await;
    workers.stop().await;
}

#[tokio::test]
async fn several_worker_processes_share_one_database() {
    let database = TestDatabase::migrated().await;
    let url = database.url();
    let mut workers: Vec<Process> = (0..2)
        .map(|_| {
            Process::start(
                &["worker"],
                &[("DATABASE_URL", &url), ("UPCOUNT_RUN_MIGRATIONS", "false")],
            )
        })
        .collect();
    for worker in &mut workers {
        worker.wait_for_log("worker started").await;
    }
    for _ in 0..3 {
        let (code, _, stderr) =
            run_binary(&["enqueue", "prune-jobs"], &[("DATABASE_URL", &url)]).await;
        assert_eq!(code, 0, "{stderr}");
    }

    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    // Three enqueued by hand, one by the schedulers of both processes together.
    eventually(Duration::from_secs(30), "every job to be done", || async {
        let statuses = statuses(&pool).await;
        (statuses.len() == 4 && statuses.iter().all(|status| status == "Done")).then_some(())
    })
    .await;
    let scheduled: i64 =
        sqlx::query_scalar("SELECT count(*) FROM apalis.jobs WHERE idempotency_key IS NOT NULL AND job_type = 'prune_jobs'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(scheduled, 1);

    for worker in &mut workers {
        worker.signal(libc::SIGTERM);
    }
    for worker in &mut workers {
        assert_eq!(worker.exit_code().await, 0, "{}", worker.seen.join("\n"));
        assert!(
            !worker.seen.iter().any(|line| line.contains("web server")),
            "worker only"
        );
    }
    pool.close().await;
}

#[tokio::test]
async fn workers_survive_a_database_outage_and_pick_up_jobs_again() {
    let (proxy, app) = spawn_app_behind_proxy().await;
    let workers = app.start_workers();
    eventually(
        Duration::from_secs(30),
        "the scheduled job to be done",
        || async { (statuses(&app.pool).await == ["Done"]).then_some(()) },
    )
    .await;

    // The database goes away for a few seconds: the worker fails and is started again
    // once it is back, in the same process.
    proxy.go_down();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !workers.handle.is_finished(),
        "the workers outlive the outage"
    );
    proxy.come_back();

    let direct = sqlx::PgPool::connect(&app.direct_database_url())
        .await
        .expect("connect directly");
    enqueue(&direct, PruneJobs::default())
        .await
        .expect("enqueue");
    eventually(
        Duration::from_secs(30),
        "the new job to be done after the outage",
        || async {
            let statuses = statuses(&direct).await;
            (statuses.len() == 2 && statuses.iter().all(|status| status == "Done")).then_some(())
        },
    )
    .await;

    workers.stop().await;
    direct.close().await;
}

#[tokio::test]
async fn clean_up_sessions_deletes_what_has_expired() {
    let app = spawn_app().await;
    let user = app.create_user(app::domain::Role::Member).await;
    for browser in [app.browser(), app.browser()] {
        browser.sign_in(&user).await;
    }
    sqlx::query(
        "UPDATE sessions SET expires_at = now() - interval '1 day'
         WHERE id = (SELECT id FROM sessions ORDER BY id LIMIT 1)",
    )
    .execute(&app.pool)
    .await
    .expect("expire one session");
    sqlx::query(
        "INSERT INTO rate_limits (key, tat_nanos, expires_at) VALUES
         ('auth:ip:203.0.113.7', 1, now() - interval '1 minute'),
         ('auth:ip:203.0.113.8', 1, now() + interval '10 minutes')",
    )
    .execute(&app.pool)
    .await
    .expect("add rate-limit entries");
    // Two sign-ins were recorded just now; one more is from long ago.
    sqlx::query(
        "INSERT INTO sign_ins (user_id, at, ip) VALUES ($1, now() - interval '400 days', '192.0.2.1')",
    )
    .bind(user.id)
    .execute(&app.pool)
    .await
    .expect("an old sign-in");

    let context = JobContext {
        pool: app.pool.clone(),
        retention: Duration::from_secs(86_400),
    };
    let report = upcount::jobs::clean_up_sessions::clean_up(&context)
        .await
        .expect("clean up");
    assert_eq!(
        (report.sessions, report.rate_limits, report.sign_ins),
        (1, 1, 1)
    );
    let sign_ins: i64 = sqlx::query_scalar("SELECT count(*) FROM sign_ins")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(sign_ins, 2);
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(sessions, 1);
}
