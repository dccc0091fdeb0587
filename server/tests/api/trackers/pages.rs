//! The dashboard and the tracker page as the server renders them.

use super::*;

#[tokio::test]
async fn the_dashboard_shows_changes_over_a_day_and_a_week_with_a_sparkline() {
    let (_standin, app, _token) = setup().await;
    let (user, token) = app.member_with_token(TokenScope::Write).await;
    let (_, body) = app.post_tracker(&token, json!({ "url": LEPTOS })).await;
    assert_eq!(latest(&body["tracker"], "stars"), Some(19_000.0));
    // Eight days of hourly history before the first sample: 10 fewer stars each hour back.
    let now = chrono::Utc::now();
    let history = (1..=192).map(|hours| {
        let t = now - chrono::Duration::hours(hours);
        (t, 19_000.0 - 10.0 * hours as f64)
    });
    app.write_points(app.metric_id("stars").await, history)
        .await;

    let browser = app.signed_in(&user).await;
    let html = browser.html("/dashboard").await;
    assert!(html.contains("stars"), "{html}");
    assert!(html.contains("+240 (+1.3%) in 24 h"), "{html}");
    assert!(html.contains("+1,680 (+9.7%) in 7 d"), "{html}");
    assert!(html.contains(r#"class="sparkline""#), "{html}");
    assert!(html.contains("polled "), "{html}");
}

#[tokio::test]
async fn the_dashboard_filters_searches_and_sorts_from_the_query_string() {
    let (standin, app, _token) = setup().await;
    standin.set("hn/item/1", fixtures::hn_story(1, 5, 0));
    let (user, token) = app.member_with_token(TokenScope::Write).await;
    for url in [
        LEPTOS,
        "https://news.ycombinator.com/item?id=8863",
        "https://news.ycombinator.com/item?id=1",
    ] {
        app.track(&token, url).await;
    }
    let (_, list) = app.api_get("/api/v1/trackers", &token).await;
    let hn_ids: Vec<String> = list["trackers"]
        .as_array()
        .expect("trackers")
        .iter()
        .filter(|tracker| tracker["source"]["kind"] == "hackernews.item")
        .map(|tracker| tracker["id"].as_str().expect("id").to_string())
        .collect();
    app.patch_tracker(
        &token,
        &hn_ids[0],
        json!({ "label": "Zebra", "paused": true }),
    )
    .await;
    app.patch_tracker(&token, &hn_ids[1], json!({ "label": "Aardvark" }))
        .await;

    let browser = app.signed_in(&user).await;
    let page = |query: &'static str| {
        let browser = &browser;
        async move { browser.html(&format!("/dashboard{query}")).await }
    };
    let rows = |html: &str| -> Vec<String> {
        ["leptos-rs/leptos", "Zebra", "Aardvark"]
            .iter()
            .filter_map(|label| {
                html.find(&format!(">{label}</a>"))
                    .map(|at| (at, label.to_string()))
            })
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_values()
            .collect()
    };
    let all = page("").await;
    assert!(all.contains("3 trackers"), "{all}");
    assert_eq!(
        rows(&page("?sort=name").await),
        ["Aardvark", "leptos-rs/leptos", "Zebra"]
    );
    assert_eq!(
        rows(&page("?sort=value").await),
        ["leptos-rs/leptos", "Aardvark", "Zebra"]
    );
    let hn = page("?kind=hackernews.item").await;
    assert!(hn.contains("2 of 3 trackers"), "{hn}");
    assert_eq!(rows(&hn).len(), 2);
    assert_eq!(rows(&page("?state=paused").await), ["Zebra"]);
    assert_eq!(rows(&page("?q=LEPTOS").await), ["leptos-rs/leptos"]);
    let none = page("?q=nothing-matches").await;
    assert!(none.contains("No tracker matches."), "{none}");
    assert!(!none.contains("Add your first tracker"));
}

#[tokio::test]
async fn a_tracker_page_shows_its_series_ranges_and_latest_polls() {
    let (_standin, app, _token) = setup().await;
    let (user, token) = app.member_with_token(TokenScope::Write).await;
    let id = app.track(&token, LEPTOS).await;
    let now = chrono::Utc::now();
    let history = (1..=2_000).map(|minutes| {
        let t = now - chrono::Duration::minutes(minutes * 5);
        (t, 19_000.0 - minutes as f64)
    });
    app.write_points(app.metric_id("stars").await, history)
        .await;

    let browser = app.browser();
    let signed_out = browser.get(&format!("/trackers/{id}")).await;
    assert_eq!(signed_out.status(), StatusCode::FOUND);
    assert_eq!(
        crate::helpers::location(&signed_out),
        format!("/sign-in?next=%2Ftrackers%2F{id}")
    );
    browser.sign_in(&user).await;
    let html = browser
        .html(&format!("/trackers/{id}?metric=stars&range=7d"))
        .await;
    assert!(
        html.contains(r#"id="tracker-chart-stars-7d-value-linear""#),
        "{html}"
    );
    assert!(html.contains("Chart data as a table"));
    assert!(
        html.contains(r#"aria-current="page" class="chip">7 d</a>"#)
            || html.contains(r#"class="chip" aria-current="page">7 d"#),
        "{html}"
    );
    assert!(
        html.contains("each point sums up"),
        "2,000 samples over a week come in buckets: {html}"
    );
    assert!(html.contains("Latest polls"));
    assert!(html.contains("19,000"));
    let rates = browser
        .html(&format!(
            "/trackers/{id}?metric=stars&range=7d&mode=per_day&scale=log"
        ))
        .await;
    assert!(
        rates.contains(r#"id="tracker-chart-stars-7d-per_day-log""#),
        "{rates}"
    );
    assert!(
        rates.contains(r#"aria-current="page" class="chip">Change per day</a>"#),
        "{rates}"
    );
    // One more star every five minutes: about 288 a day, all above zero, so log is fine.
    assert!(
        !rates.contains("Log scale needs values above zero"),
        "{rates}"
    );
    assert!(rates.contains("<td>28"), "rates near 288 a day: {rates}");
    let day = browser
        .html(&format!("/trackers/{id}?metric=forks&range=24h"))
        .await;
    assert!(
        day.contains("every poll"),
        "one sample of forks: raw points"
    );

    let other = app.signed_in(&app.create_user(Role::Member).await).await;
    assert_eq!(
        other.get(&format!("/trackers/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other.get("/trackers/not-a-uuid").await.status(),
        StatusCode::NOT_FOUND
    );
}
