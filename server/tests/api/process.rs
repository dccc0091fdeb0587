//! The `upcount` binary as operators run it.

use serde_json::Value;

use crate::helpers::{Process, TestDatabase, http_client, run_binary};

/// Checks that nothing panicked and that the password in the settings is not shown.
#[track_caller]
fn assert_quiet(stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("hunter2"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_missing_database_url_exits_with_code_2_and_one_line() {
    let (code, stdout, stderr) = run_binary(&["serve"], &[]).await;
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("upcount: configuration error: DATABASE_URL: is not set"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_malformed_setting_exits_with_code_2_naming_the_variable() {
    let cases = [
        ("UPCOUNT_LOG_FORMAT", "xml"),
        ("LEPTOS_SITE_ADDR", "not-an-address"),
        ("UPCOUNT_SHUTDOWN_TIMEOUT_SECS", "-5"),
        ("RUST_LOG", "info,[[["),
        ("DATABASE_URL", "mysql://root:hunter2@localhost/upcount"),
    ];
    for (var, value) in cases {
        let mut vars = vec![("DATABASE_URL", "postgres://root@127.0.0.1:5432/upcount")];
        vars.push((var, value));
        // RUST_BACKTRACE must not matter: nothing panics.
        vars.push(("RUST_BACKTRACE", "1"));
        let (code, stdout, stderr) = run_binary(&["web"], &vars).await;
        assert_eq!(code, 2, "{var}={value}: {stderr}");
        assert_eq!(stdout, "", "{var}={value}");
        assert_eq!(stderr.lines().count(), 1, "{var}={value}: {stderr}");
        assert!(
            stderr.contains(&format!("{var}: ")),
            "{var}={value}: {stderr}"
        );
        assert_quiet(&stderr);
    }
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_error_not_a_panic() {
    // Port 1 on loopback: nothing listens, so the connection is refused at once.
    let (code, _stdout, stderr) = run_binary(
        &["migrate"],
        &[
            (
                "DATABASE_URL",
                "postgres://root:hunter2@127.0.0.1:1/upcount",
            ),
            ("UPCOUNT_DB_ACQUIRE_TIMEOUT_SECS", "2"),
        ],
    )
    .await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("could not migrate the database at 127.0.0.1:1/upcount"),
        "{stderr}"
    );
    assert_quiet(&stderr);
}

#[tokio::test]
async fn migrate_applies_the_migrations_and_is_idempotent() {
    let database = TestDatabase::create().await;
    let url = database.url();
    for _ in 0..2 {
        let (code, _stdout, stderr) = run_binary(&["migrate"], &[("DATABASE_URL", &url)]).await;
        assert_eq!(code, 0, "{stderr}");
    }
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    upcount::db::readiness(&pool, std::time::Duration::from_secs(5))
        .await
        .expect("every migration is applied");
    pool.close().await;
}

#[tokio::test]
async fn serve_logs_one_json_line_per_request_and_stops_cleanly_on_sigterm() {
    let database = TestDatabase::create().await;
    let mut process = Process::serve(&["serve"], &database.url(), &[]);
    let address = process.web_address().await;
    let response = http_client()
        .get(format!("{address}/readyz?token=secret"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);

    let line = process.wait_for_log("request").await;
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["status"], 200);
    assert!(line["latency_ms"].as_f64().is_some(), "{line}");
    assert_eq!(line["span"]["method"], "GET");
    assert_eq!(
        line["span"]["route"], "/readyz",
        "the query string is not logged"
    );
    assert!(!line.to_string().contains("secret"));

    // The workers run in the same process.
    process.wait_for_log("worker started").await;

    process.signal(libc::SIGTERM);
    process.wait_for_log("upcount stopped").await;
    assert_eq!(process.exit_code().await, 0, "{}", process.seen.join("\n"));
    let stopped: Vec<Value> = process
        .seen
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    assert!(
        stopped
            .iter()
            .any(|line| line["message"] == "web server stopped")
    );
    assert!(
        stopped
            .iter()
            .any(|line| line["message"] == "worker stopped")
    );
}

#[tokio::test]
async fn web_only_serves_and_runs_no_workers() {
    let database = TestDatabase::create().await;
    let mut process = Process::serve(&["web"], &database.url(), &[]);
    let address = process.web_address().await;
    assert_eq!(
        http_client()
            .get(format!("{address}/"))
            .send()
            .await
            .expect("request")
            .status(),
        200
    );
    process.signal(libc::SIGINT);
    assert_eq!(process.exit_code().await, 0);
    assert!(
        !process
            .seen
            .iter()
            .any(|line| line.contains("worker started")),
        "{}",
        process.seen.join("\n")
    );
}
