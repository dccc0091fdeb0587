//! Backups as `docs/operations.md` describes them: `pg_dump` of the one database,
//! `pg_restore` into a new one, and the same server (with the same secret key) serves the
//! same charts, exports and tokens from it.

use std::process::Command;

use app::domain::{Role, TokenScope};

use crate::{
    helpers::{SpawnOptions, TestDatabase, database_url, spawn_app_with, spawn_app_with_standin},
    polling::poll_now,
};

const SECRET_KEY: &str = "a-backup-test-secret-key-of-at-least-32-characters";

#[tokio::test]
async fn a_dump_restored_into_a_new_database_serves_the_same_charts() {
    let (standin, app) =
        spawn_app_with_standin(vec![("UPCOUNT_SECRET_KEY", SECRET_KEY.into())]).await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    let user = app.create_user(Role::Member).await;
    let token = app.token(&user, TokenScope::Read).await;
    let writer = app.token(&user, TokenScope::Write).await;
    let tracker = app
        .track(&writer, "https://github.com/leptos-rs/leptos")
        .await;
    app.history_loaded().await;
    standin.set_github_repo("leptos-rs/leptos", 19_250);
    let workers = app.start_workers();
    poll_now(&app).await;
    workers.stop().await;

    // One window for both reads: the same buckets.
    let now = chrono::Utc::now();
    let window = |days: i64| {
        format!(
            "from={}&to={}",
            (now - chrono::TimeDelta::days(days)).format("%Y-%m-%dT%H:%M:%SZ"),
            (now + chrono::TimeDelta::minutes(1)).format("%Y-%m-%dT%H:%M:%SZ")
        )
    };
    let (year, week) = (window(400), window(7));
    let series = |app: &crate::helpers::TestApp| {
        let (token, tracker) = (token.clone(), tracker.clone());
        let (year, week) = (year.clone(), week.clone());
        let app = app.address.clone();
        async move {
            let client = crate::helpers::http_client();
            let mut answers = Vec::new();
            for path in [
                format!("/api/v1/trackers/{tracker}/series?metric=stars&{year}"),
                format!("/api/v1/trackers/{tracker}/series?metric=stars&{week}"),
                format!("/api/v1/trackers/{tracker}/export.csv"),
                "/api/v1/trackers".to_string(),
            ] {
                let response = client
                    .get(format!("{app}{path}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("an answer");
                assert_eq!(response.status(), 200, "{path}");
                answers.push(response.text().await.expect("a body"));
            }
            answers
        }
    };
    let before = series(&app).await;
    assert!(
        before[2].lines().count() >= 3,
        "two polls to compare: {}",
        before[2]
    );

    // The backup: a custom-format dump of the one database.
    let dump = tempfile::NamedTempFile::new().expect("a file for the dump");
    let status = Command::new("pg_dump")
        .args(["--format=custom", "--no-owner", "--file"])
        .arg(dump.path())
        .arg(app.direct_database_url())
        .status()
        .expect("run pg_dump");
    assert!(status.success(), "pg_dump");

    // The restore, into a new database.
    let restored = TestDatabase::create().await;
    let output = Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error", "--dbname"])
        .arg(database_url(&restored.name, None))
        .arg(dump.path())
        .output()
        .expect("run pg_restore");
    assert!(
        output.status.success(),
        "pg_restore: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    // A server on the restored database, with the same secret key: the same answers.
    let copy = spawn_app_with(SpawnOptions {
        database_name: Some(restored.name.clone()),
        env: vec![("UPCOUNT_SECRET_KEY", SECRET_KEY.into())],
        ..SpawnOptions::default()
    })
    .await;
    let after = series(&copy).await;
    assert_eq!(before, after, "the same series, export and trackers");
    drop(copy);
    drop(restored);
}
