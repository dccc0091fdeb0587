//! What the scrape endpoint answers, line by line, and to whom.

use std::{io::Write as _, process::Stdio};

use base64::Engine as _;

use super::*;
use crate::polling;

#[tokio::test]
async fn the_exposition_holds_every_tracker_s_latest_values_and_last_poll() {
    let (_standin, app) = setup().await;
    let (write, read) = workspace(&app).await;
    // Quotes and a backslash through the API; a line feed (which the API refuses) as
    // older data might hold one.
    let repo = track_labelled(&app, &write, LEPTOS, r#"Leptos "web" \ framework"#).await;
    let story = track_labelled(&app, &write, STORY, "Dropbox").await;
    sqlx::query("UPDATE trackers SET label = E'Dropbox\\nlaunch' WHERE id = $1::uuid")
        .bind(&story)
        .execute(&app.pool)
        .await
        .expect("a label with a line feed");

    // Another workspace tracking the same repository (the same source) sees its own
    // tracker only, and this one sees none of the other's.
    let (other_write, other_read) = workspace(&app).await;
    let other = track_labelled(&app, &other_write, LEPTOS, "Theirs").await;
    // Fixed last polls (after every add: adding polls the source).
    set_last_success(&app, &repo, "2026-12-01T10:00:00.25Z").await;
    set_last_success(&app, &story, "2026-12-01T11:00:00Z").await;

    let body = scraped(&app, &read).await;
    let repo_labels = format!(
        r#"tracker="{repo}",label="Leptos \"web\" \\ framework",kind="github.repo",key="leptos-rs/leptos""#
    );
    let story_labels =
        format!(r#"tracker="{story}",label="Dropbox\nlaunch",kind="hackernews.item",key="8863""#);
    let expected = [
        "# HELP upcount_value The latest value of each metric of each tracker of the workspace.".to_string(),
        "# TYPE upcount_value gauge".to_string(),
        format!(r#"upcount_value{{{repo_labels},metric="stars"}} 19000"#),
        format!(r#"upcount_value{{{repo_labels},metric="forks"}} 9"#),
        format!(r#"upcount_value{{{repo_labels},metric="open_issues"}} 17"#),
        format!(r#"upcount_value{{{repo_labels},metric="watchers"}} 42"#),
        format!(r#"upcount_value{{{story_labels},metric="score"}} 111"#),
        format!(r#"upcount_value{{{story_labels},metric="comments"}} 71"#),
        "# HELP upcount_last_poll_timestamp_seconds When the tracker's source was last polled successfully, in seconds since the Unix epoch.".to_string(),
        "# TYPE upcount_last_poll_timestamp_seconds gauge".to_string(),
        format!("upcount_last_poll_timestamp_seconds{{{repo_labels}}} 1796119200.25"),
        format!("upcount_last_poll_timestamp_seconds{{{story_labels}}} 1796122800"),
    ];
    assert_eq!(
        body.lines().collect::<Vec<_>>(),
        expected.iter().map(String::as_str).collect::<Vec<_>>(),
        "the exposition:\n{body}"
    );
    assert!(body.ends_with('\n'), "the last line ends too");
    assert!(!body.contains(&other) && !body.contains("Theirs"), "{body}");

    let theirs = scraped(&app, &other_read).await;
    assert!(
        theirs.contains(&format!(
            r#"upcount_value{{tracker="{other}",label="Theirs",kind="github.repo",key="leptos-rs/leptos",metric="stars"}} 19000"#
        )),
        "{theirs}"
    );
    assert!(
        !theirs.contains(&repo) && !theirs.contains(&story),
        "{theirs}"
    );
    assert_eq!(theirs.matches("\nupcount_value{").count(), 4, "{theirs}");

    // A write token reads it as well.
    assert_eq!(scraped(&app, &write).await, body);
}

#[tokio::test]
async fn promtool_accepts_the_exposition() {
    let promtool = installed("promtool");
    let (_standin, app) = setup().await;
    let (write, read) = workspace(&app).await;
    track_labelled(&app, &write, LEPTOS, "Quotes \" and \\ backslashes").await;
    let story = track_labelled(&app, &write, STORY, "Dropbox").await;
    sqlx::query("UPDATE trackers SET label = E'two\\nlines' WHERE id = $1::uuid")
        .bind(&story)
        .execute(&app.pool)
        .await
        .expect("a label with a line feed");
    let body = scraped(&app, &read).await;
    assert!(body.contains("upcount_value{"), "{body}");

    let output = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(&promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start promtool");
        child
            .stdin
            .take()
            .expect("promtool's stdin")
            .write_all(body.as_bytes())
            .expect("send the exposition");
        child.wait_with_output().expect("promtool's answer")
    })
    .await
    .expect("promtool ran");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool check metrics: {said}");
    assert_eq!(said.trim(), "", "promtool's lint found problems");

    // The check can fail: an unescaped line feed is a parse error.
    let broken = "upcount_value{label=\"a\nb\"} 1\n";
    let mut child = std::process::Command::new(installed("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(broken.as_bytes())
        .expect("send");
    assert!(!child.wait().expect("promtool").success());
}

#[tokio::test]
async fn paused_and_ended_trackers_are_left_out_until_they_are_tracked_again() {
    let (_standin, app) = setup().await;
    let (write, read) = workspace(&app).await;
    let repo = track_labelled(&app, &write, LEPTOS, "Leptos").await;
    let story = track_labelled(&app, &write, STORY, "Dropbox").await;
    let has = |body: &str, id: &str| body.contains(&format!("tracker=\"{id}\""));

    let (status, _) = app
        .patch_tracker(&write, &repo, json!({ "paused": true }))
        .await;
    assert_eq!(status, StatusCode::OK);
    sqlx::query("UPDATE trackers SET ends_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(&story)
        .execute(&app.pool)
        .await
        .expect("end the story's tracker");
    let body = scraped(&app, &read).await;
    assert!(!has(&body, &repo) && !has(&body, &story), "{body}");
    assert_eq!(
        body.lines().filter(|line| !line.starts_with('#')).count(),
        0,
        "{body}"
    );

    let (status, _) = app
        .patch_tracker(&write, &repo, json!({ "paused": false }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let body = scraped(&app, &read).await;
    assert!(has(&body, &repo) && !has(&body, &story), "{body}");
}

#[tokio::test]
async fn a_new_poll_changes_the_value_and_the_last_poll() {
    let (standin, app) = setup().await;
    let (write, read) = workspace(&app).await;
    let repo = track_labelled(&app, &write, LEPTOS, "Leptos").await;
    app.history_loaded().await;
    set_last_success(&app, &repo, "2026-12-01T10:00:00Z").await;
    let stars = |body: &str| {
        body.lines()
            .find(|line| line.starts_with("upcount_value{") && line.contains("metric=\"stars\""))
            .and_then(|line| line.rsplit(' ').next())
            .map(str::to_string)
    };
    let last_poll = |body: &str| {
        body.lines()
            .find(|line| line.starts_with("upcount_last_poll_timestamp_seconds{"))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse::<f64>().ok())
    };
    let before = scraped(&app, &read).await;
    assert_eq!(stars(&before).as_deref(), Some("19000"), "{before}");
    assert_eq!(last_poll(&before), Some(1_796_119_200.0), "{before}");

    standin.set_github_repo("leptos-rs/leptos", 19_250);
    let workers = app.start_workers();
    polling::poll_now(&app).await;
    workers.stop().await;
    let after = scraped(&app, &read).await;
    assert_eq!(stars(&after).as_deref(), Some("19250"), "{after}");
    let polled = last_poll(&after).expect("a last poll");
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        (now - 60.0..=now + 1.0).contains(&polled),
        "{polled} near {now}"
    );
}

#[tokio::test]
async fn basic_auth_takes_the_token_as_its_password_with_any_user_name() {
    let (_standin, app) = setup().await;
    let (write, read) = workspace(&app).await;
    track_labelled(&app, &write, LEPTOS, "Leptos").await;
    let bearer = scraped(&app, &read).await;
    for user in ["prometheus", "12345", ""] {
        let (status, content_type, body) = super::read(
            app.request(Method::GET, SCRAPE)
                .basic_auth(user, Some(&read)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "user {user:?}: {body}");
        assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
        assert_eq!(body, bearer, "user {user:?}");
    }
    // Other API routes keep to bearer tokens.
    let (status, _, body) = super::read(
        app.request(Method::GET, "/api/v1/me")
            .basic_auth("prometheus", Some(&read)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test]
async fn a_scrape_without_a_valid_token_is_refused_with_a_401() {
    let (_standin, app) = setup().await;
    let (write, read) = workspace(&app).await;
    track_labelled(&app, &write, LEPTOS, "Leptos").await;
    let revoked = {
        let (user, token) = app.member_with_token(TokenScope::Read).await;
        sqlx::query(
            "DELETE FROM api_tokens WHERE workspace_id =
                 (SELECT workspace_id FROM workspace_members WHERE user_id = $1)",
        )
        .bind(user.id)
        .execute(&app.pool)
        .await
        .expect("revoke the token");
        token
    };
    let basic = |credentials: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    };
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        (
            "no header",
            None,
            "Sign in, or send `Authorization: Bearer upc_…`",
        ),
        (
            "an unknown bearer token",
            Some(format!("Bearer upc_{}", "x".repeat(43))),
            "Unknown or revoked API token.",
        ),
        (
            "not a token",
            Some("Bearer hello".to_string()),
            "Unknown or revoked API token.",
        ),
        (
            "a revoked token",
            Some(format!("Bearer {revoked}")),
            "Unknown or revoked API token.",
        ),
        (
            "basic auth with a wrong password",
            Some(basic(&format!("prometheus:{}", &read[..read.len() - 1]))),
            "Unknown or revoked API token.",
        ),
        (
            "basic auth without a password",
            Some(basic("prometheus")),
            "or HTTP basic auth with the token as the password",
        ),
        (
            "another scheme",
            Some(format!("Token {read}")),
            "or HTTP basic auth with the token as the password",
        ),
    ];
    for (case, header, message) in cases {
        let mut request = app.request(Method::GET, SCRAPE);
        if let Some(header) = header {
            request = request.header(reqwest::header::AUTHORIZATION, header);
        }
        let (status, content_type, body) = super::read(request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {body}");
        assert!(
            content_type.starts_with("application/json"),
            "{case}: {content_type}"
        );
        let error: serde_json::Value = serde_json::from_str(&body).expect("a JSON error");
        let error = error["error"].as_str().unwrap_or_default();
        assert!(error.contains(message), "{case}: {error:?}");
        assert!(!body.contains("upcount_value"), "{case}");
    }

    // The process's own operational metrics stay where they were, behind their own
    // credentials (404 while unset).
    let own = app.get("/metrics").await;
    assert_eq!(own.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_signed_in_browser_reads_its_own_workspace() {
    let (_standin, app) = setup().await;
    let (user, write) = app.member_with_token(TokenScope::Write).await;
    let repo = track_labelled(&app, &write, LEPTOS, "Leptos").await;
    let browser = app.signed_in(&user).await;
    let response = browser.fetch(SCRAPE).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.expect("a body");
    assert!(body.contains(&format!("tracker=\"{repo}\"")), "{body}");
}
