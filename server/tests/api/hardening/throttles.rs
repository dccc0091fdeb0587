//! Previews and adds are throttled per workspace, and leave the upstream budget to the
//! polls.

use super::*;

#[tokio::test]
async fn previews_and_adds_are_throttled_per_workspace() {
    let (standin, app) =
        spawn_app_with_standin(vec![("UPCOUNT_PREVIEWS_PER_MIN", "5".into())]).await;
    standin.set_github_repo("leptos-rs/leptos", 7);
    let (_, busy_token) = app.member_with_token(TokenScope::Write).await;
    let leptos = json!({ "url": LEPTOS });
    for _ in 0..5 {
        let (status, body) = app.preview(&busy_token, leptos.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let answer = app.preview(&busy_token, leptos.clone()).await;
    let body = expect_error(answer, StatusCode::TOO_MANY_REQUESTS, "previews and adds");
    assert_eq!(body["code"], "rate_limited");
    // An add counts too.
    let (status, _) = app.post_tracker(&busy_token, leptos.clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another workspace is not held back.
    let (_, other_token) = app.member_with_token(TokenScope::Write).await;
    let (status, body) = app.preview(&other_token, leptos).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn one_workspaces_previews_leave_the_upstream_budget_to_everyones_polls() {
    // GitHub's budget here: 60 requests a minute; previews may use 20% of it.
    let (standin, app) =
        spawn_app_with_standin(vec![("UPCOUNT_GITHUB_RATE_PER_MIN", "60".into())]).await;
    for repo in ["a/one", "a/two", "a/three"] {
        standin.set(&format!("github/{repo}"), fixtures::github_repo(repo, 1));
    }
    for n in 0..400 {
        standin.set(
            &format!("github/busy/r{n}"),
            fixtures::github_repo(&format!("busy/r{n}"), 1),
        );
    }
    let (_, owner_token) = app.member_with_token(TokenScope::Write).await;
    for repo in ["a/one", "a/two", "a/three"] {
        app.track(&owner_token, &format!("https://github.com/{repo}"))
            .await;
    }
    // The polls' share is what this test is about: their history is taken as loaded.
    app.history_loaded().await;
    let (_, busy_token) = app.member_with_token(TokenScope::Write).await;
    let workers = app.start_workers();
    // One workspace previews as fast as it can…
    let stop = tokio_util::sync::CancellationToken::new();
    let previews = tokio::spawn({
        let (client, address, token, stop) = (
            app.client.clone(),
            app.address.clone(),
            busy_token.clone(),
            stop.clone(),
        );
        async move {
            let (mut answered, mut refused) = (0, 0);
            let mut n = 0;
            while !stop.is_cancelled() {
                n += 1;
                let response = client
                    .post(format!("{address}/api/v1/trackers/preview"))
                    .bearer_auth(&token)
                    .json(&json!({ "url": format!("https://github.com/busy/r{}", n % 400) }))
                    .send()
                    .await
                    .expect("a preview");
                match response.status() {
                    StatusCode::OK => answered += 1,
                    StatusCode::TOO_MANY_REQUESTS => refused += 1,
                    other => panic!("a preview answered {other}"),
                }
            }
            (answered, refused)
        }
    });
    // …while the other's sources fall due again and again, and are polled on time.
    for _ in 0..4 {
        let marker: DateTime<Utc> = sqlx::query_scalar(
            "UPDATE sources SET next_poll_at = now() WHERE key LIKE 'a/%' RETURNING now()",
        )
        .fetch_one(&app.pool)
        .await
        .expect("due");
        app.wait_for_count_with(
            Duration::from_secs(10),
            "SELECT count(*) FROM sources WHERE key LIKE 'a/%' AND last_success_at >= $1",
            marker,
            3,
        )
        .await;
    }
    stop.cancel();
    let (answered, refused) = previews.await.expect("the previews");
    workers.stop().await;
    assert!(
        refused > 0,
        "the previews were held to their share ({answered} answered)"
    );
    // 20% of 60 a minute, plus a first burst: far fewer than the minute's budget.
    assert!(answered <= 30, "{answered} previews answered");
}
