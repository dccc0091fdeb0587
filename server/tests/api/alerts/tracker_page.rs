//! The tracker page's Alerts section: rules added, edited, paused, resumed and deleted by
//! plain forms (no wasm), each back on `#alerts` with a notice or the problem; other
//! workspaces cannot touch them; the plan's limit; fired alerts listed under the chart.

use app::domain::{Role, TokenScope};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::channel;
use crate::{
    helpers::{Browser, TestApp, TestUser, eventually, location, spawn_app_with_standin},
    polling::poll_now,
    standin::StandIn,
};

const LEPTOS: &str = "https://github.com/leptos-rs/leptos";

/// The app tracking leptos-rs/leptos (19,000 stars) for `user`, signed in: the tracker's
/// id, the user's token and browser.
async fn tracking(app: &TestApp, user: &TestUser) -> (String, String, Browser) {
    let token = app.token(user, TokenScope::Write).await;
    let tracker = app.track(&token, LEPTOS).await;
    app.history_loaded().await;
    (tracker, token, app.signed_in(user).await)
}

async fn setup() -> (StandIn, TestApp) {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    (standin, app)
}

/// The tracker's rules through the REST API.
async fn rules_of(app: &TestApp, token: &str, tracker: &str) -> Vec<Value> {
    let (status, body) = app
        .api_get(&format!("/api/v1/trackers/{tracker}/alerts"), token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["alerts"].as_array().cloned().unwrap_or_default()
}

/// Posts `fields` to `path` and checks it comes back to the tracker's Alerts section; the
/// page then.
async fn post_back(
    browser: &Browser,
    path: &str,
    fields: &[(&str, &str)],
    tracker: &str,
) -> String {
    let response = browser.post_form(path, fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
    assert_eq!(
        location(&response),
        format!("/trackers/{tracker}#alerts"),
        "{path}"
    );
    browser.html(&format!("/trackers/{tracker}")).await
}

/// The notice as `<p class="notice" role="status">` renders it (attributes in any order).
fn notice(text: &str) -> String {
    format!(r#"<p role="status" class="notice">{text}</p>"#)
}

#[tokio::test]
async fn rules_are_added_edited_paused_resumed_and_deleted_from_the_tracker_page() {
    let (_standin, app) = setup().await;
    let user = app.create_user(Role::Member).await;
    let (tracker, token, browser) = tracking(&app, &user).await;
    let mine = channel(
        &app,
        &token,
        json!({ "kind": "email", "address": user.email }),
    )
    .await;
    let mine = mine["id"].as_str().expect("an id").to_string();
    let page = format!("/trackers/{tracker}");

    // The section, with the add form and the workspace's channel to tick.
    let html = browser.html(&page).await;
    assert!(html.contains(r#"<section id="alerts""#), "{html}");
    assert!(html.contains(">Alerts</h2>"), "{html}");
    assert!(html.contains("No alerts on this tracker yet."), "{html}");
    assert!(
        html.contains(&format!(r#"action="/trackers/{tracker}/alerts""#)),
        "{html}"
    );
    assert!(html.contains(r#"class="new-alert form""#), "{html}");
    assert!(html.contains(">Add alert</button>"), "{html}");
    assert!(html.contains(&format!("Email {}", user.email)), "{html}");
    assert!(!html.contains("no-channels"), "{html}");

    // Added: its words in the notice and the list, and the same rule through the API.
    let add = format!("/trackers/{tracker}/alerts");
    let html = post_back(
        &browser,
        &add,
        &[
            ("metric", "stars"),
            ("condition", "above"),
            ("value", "20,000"),
            ("amount", ""),
            ("window", ""),
            ("cooldown_secs", ""),
            ("channels", &mine),
        ],
        &tracker,
    )
    .await;
    assert!(
        html.contains(&notice("Alert added: stars above 20,000.")),
        "{html}"
    );
    assert!(
        html.contains(r#"<strong class="alert-rule-text">stars above 20,000</strong>"#),
        "{html}"
    );
    assert!(html.contains(r#"class="alert-rule""#), "{html}");
    assert!(html.contains(r#"data-state="armed""#), "{html}");
    assert!(
        html.contains(&format!("To: Email {}", user.email)),
        "{html}"
    );
    assert!(html.contains(r#"class="edit-alert form""#), "{html}");
    // Once: the notice is not shown again, nor at the top of the page.
    let again = browser.html(&page).await;
    assert!(!again.contains("Alert added"), "{again}");
    // (The other mention is the flash handed to the browser for hydration.)
    assert_eq!(
        html.matches(r#"class="notice">Alert added"#).count(),
        1,
        "{html}"
    );
    let rules = rules_of(&app, &token, &tracker).await;
    assert_eq!(rules.len(), 1, "{rules:?}");
    let rule = &rules[0];
    assert_eq!(
        (&rule["condition"], &rule["value"], &rule["channels"]),
        (&json!("above"), &json!(20000.0), &json!([mine]))
    );
    assert_eq!(rule["cooldown_secs"], 3600);
    let id = rule["id"].as_str().expect("an id").to_string();

    // Refused, each with its problem and what was typed; nothing made.
    let (_, stranger_token) = app.member_with_token(TokenScope::Write).await;
    let theirs = channel(
        &app,
        &stranger_token,
        json!({ "kind": "webhook", "url": "https://hooks.example.com/theirs" }),
    )
    .await;
    let theirs = theirs["id"].as_str().expect("an id").to_string();
    for (fields, problem, kept) in [
        (
            vec![
                ("metric", "stars"),
                ("condition", "above"),
                ("value", "lots"),
            ],
            "`value` must be a number".to_string(),
            r#"value="lots""#.to_string(),
        ),
        (
            vec![("metric", "stars"), ("condition", "soars"), ("value", "5")],
            "`soars` is not a condition".to_string(),
            r#"value="5""#.to_string(),
        ),
        (
            vec![
                ("metric", "stars"),
                ("condition", "below"),
                ("value", "10"),
                ("channels", theirs.as_str()),
            ],
            format!("`channels`: {theirs} is not a channel of this workspace"),
            r#"value="10""#.to_string(),
        ),
        (
            vec![("metric", "likes"), ("condition", "gone")],
            "its metrics are stars".to_string(),
            String::new(),
        ),
    ] {
        let html = post_back(&browser, &add, &fields, &tracker).await;
        assert!(html.contains(&problem), "{problem}: {html}");
        assert!(html.contains(r#"class="field-error""#), "{problem}: {html}");
        assert!(html.contains(&kept), "{problem} keeps {kept}: {html}");
        assert!(!html.contains("Alert added"), "{html}");
    }
    assert_eq!(rules_of(&app, &token, &tracker).await.len(), 1);

    // Edited: the form replaces the rule (another condition's leftovers are ignored).
    let edit = format!("/alerts/{id}/edit");
    let html = post_back(
        &browser,
        &edit,
        &[
            ("tracker", &tracker),
            ("metric", "stars"),
            ("condition", "change"),
            ("value", "20000"),
            ("percent", "20"),
            ("window", "24h"),
            ("direction", "up"),
            ("cooldown_secs", "0"),
        ],
        &tracker,
    )
    .await;
    assert!(
        html.contains(&notice("Alert saved: stars up 20% in 24 h.")),
        "{html}"
    );
    assert!(html.contains("cooldown none"), "{html}");
    let rule = &rules_of(&app, &token, &tracker).await[0];
    assert_eq!(
        (
            &rule["condition"],
            &rule["percent"],
            &rule["window"],
            &rule["direction"],
            &rule["channels"],
        ),
        (
            &json!("change"),
            &json!(20.0),
            &json!("24h"),
            &json!("up"),
            &json!([])
        )
    );
    assert!(rule.get("value").is_none(), "{rule}");
    // A bad edit: the problem on that rule's form, open, the rule as it was.
    let html = post_back(
        &browser,
        &edit,
        &[
            ("tracker", &tracker),
            ("metric", "stars"),
            ("condition", "change"),
            ("window", "24h"),
        ],
        &tracker,
    )
    .await;
    assert!(
        html.contains("`change` needs exactly one of `amount` and `percent`"),
        "{html}"
    );
    let details = html
        .match_indices("<details")
        .map(|(at, _)| &html[at..at + html[at..].find('>').expect("the tag's end")])
        .find(|tag| tag.contains("alert-rule-edit"))
        .expect("the edit form's details");
    assert!(details.contains(" open"), "{details}");
    assert_eq!(rules_of(&app, &token, &tracker).await[0]["percent"], 20.0);

    // Paused and resumed.
    let back = [("tracker", tracker.as_str())];
    let html = post_back(&browser, &format!("/alerts/{id}/pause"), &back, &tracker).await;
    assert!(
        html.contains(&notice("Alert paused: stars up 20% in 24 h.")),
        "{html}"
    );
    assert!(html.contains(r#"data-state="paused""#), "{html}");
    assert!(
        html.contains(&format!(r#"action="/alerts/{id}/resume""#)),
        "{html}"
    );
    assert_eq!(rules_of(&app, &token, &tracker).await[0]["paused"], true);
    let html = post_back(&browser, &format!("/alerts/{id}/resume"), &back, &tracker).await;
    assert!(
        html.contains(&notice("Alert resumed: stars up 20% in 24 h.")),
        "{html}"
    );
    assert_eq!(rules_of(&app, &token, &tracker).await[0]["paused"], false);

    // Another workspace's user changes nothing, and is told so on their dashboard.
    let stranger = app.create_user(Role::Member).await;
    let stranger = app.signed_in(&stranger).await;
    for (path, fields) in [
        (
            edit.clone(),
            vec![
                ("tracker", tracker.as_str()),
                ("metric", "stars"),
                ("condition", "gone"),
            ],
        ),
        (format!("/alerts/{id}/pause"), back.to_vec()),
        (format!("/alerts/{id}/delete"), back.to_vec()),
        (
            add.clone(),
            vec![("metric", "stars"), ("condition", "gone")],
        ),
    ] {
        let response = stranger.post_form(&path, &fields).await;
        assert_eq!(location(&response), "/dashboard", "{path}");
        let html = stranger.html("/dashboard").await;
        assert!(
            html.contains("That alert rule no longer exists.")
                || html.contains("That tracker no longer exists."),
            "{path}: {html}"
        );
    }
    let rules = rules_of(&app, &token, &tracker).await;
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(
        (&rules[0]["condition"], &rules[0]["paused"]),
        (&json!("change"), &json!(false))
    );

    // Deleted.
    let html = post_back(&browser, &format!("/alerts/{id}/delete"), &back, &tracker).await;
    assert!(
        html.contains(&notice("Alert deleted: stars up 20% in 24 h.")),
        "{html}"
    );
    assert!(html.contains("No alerts on this tracker yet."), "{html}");
    assert!(rules_of(&app, &token, &tracker).await.is_empty());
    // Gone now: said on the tracker's page.
    let html = post_back(&browser, &format!("/alerts/{id}/pause"), &back, &tracker).await;
    assert!(html.contains("That alert rule no longer exists."), "{html}");

    // Signed out: to sign in, and back here afterwards.
    let response = app
        .browser()
        .post_form(&add, &[("metric", "stars"), ("condition", "gone")])
        .await;
    assert!(
        location(&response).starts_with("/sign-in?next="),
        "{}",
        location(&response)
    );
    let response = app
        .browser()
        .post_form(&format!("/alerts/{id}/delete"), &back)
        .await;
    assert!(location(&response).starts_with("/sign-in?next="));
}

#[tokio::test]
async fn over_the_plans_limit_the_add_form_says_so_with_the_way_to_upgrade() {
    let (_standin, app) = setup().await;
    let user = app.create_free_user(Role::Member).await;
    let (tracker, token, browser) = tracking(&app, &user).await;
    let add = format!("/trackers/{tracker}/alerts");
    // No channels: said, with the way to add one; a rule without one is allowed.
    let html = browser.html(&format!("/trackers/{tracker}")).await;
    assert!(html.contains(r#"data-testid="no-channels""#), "{html}");
    assert!(
        html.contains(r#"<a href="/alerts">Alerts page</a>"#),
        "{html}"
    );
    for value in ["1", "2", "3"] {
        let html = post_back(
            &browser,
            &add,
            &[
                ("metric", "stars"),
                ("condition", "below"),
                ("value", value),
            ],
            &tracker,
        )
        .await;
        assert!(
            html.contains(&format!("Alert added: stars below {value}.")),
            "{html}"
        );
    }
    let html = post_back(
        &browser,
        &add,
        &[("metric", "stars"), ("condition", "new_high")],
        &tracker,
    )
    .await;
    assert!(
        html.contains("plan allows 3 alert rules, and this workspace has 3. Upgrade for more"),
        "{html}"
    );
    assert!(html.contains(r#"data-testid="upgrade-link""#), "{html}");
    assert_eq!(rules_of(&app, &token, &tracker).await.len(), 3);
}

#[tokio::test]
async fn a_fired_alert_is_listed_under_the_chart_with_a_link_to_the_alerts_page() {
    let (standin, app) = setup().await;
    let user = app.create_user(Role::Member).await;
    let (tracker, _token, browser) = tracking(&app, &user).await;
    post_back(
        &browser,
        &format!("/trackers/{tracker}/alerts"),
        &[
            ("metric", "stars"),
            ("condition", "above"),
            ("value", "20000"),
        ],
        &tracker,
    )
    .await;
    let html = browser.html(&format!("/trackers/{tracker}")).await;
    assert!(!html.contains("alerts-fired"), "nothing fired yet: {html}");

    let workers = app.start_workers();
    poll_now(&app).await;
    standin.set_github_repo("leptos-rs/leptos", 20_140);
    poll_now(&app).await;
    eventually(std::time::Duration::from_secs(60), "the event", || async {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_events")
            .fetch_one(&app.pool)
            .await
            .expect("events");
        (count == 1).then_some(())
    })
    .await;
    workers.stop().await;

    let html = browser.html(&format!("/trackers/{tracker}")).await;
    let start = html
        .find(r#"<div class="alerts-fired">"#)
        .expect("the list");
    let list = &html[start..start + html[start..].find("</div>").expect("its end")];
    assert!(list.contains(" — stars above 20,000 — 20,140"), "{list}");
    assert!(list.contains(r#"<a href="/alerts">"#), "{list}");
    assert!(list.contains(" UTC</time>"), "{list}");
    // The rule waits to be re-armed.
    assert!(html.contains(r#"data-state="fired""#), "{html}");
    assert!(html.contains("last fired "), "{html}");
    // Another metric's chart, or a range before it, lists nothing.
    let html = browser
        .html(&format!(
            "/trackers/{tracker}?range=custom&from=2020-01-01&to=2020-01-02"
        ))
        .await;
    assert!(!html.contains("alerts-fired"), "{html}");
}

#[tokio::test]
async fn a_channel_is_added_from_the_tracker_page_and_the_answer_comes_back_there() {
    let (_standin, app) = setup().await;
    let user = app.create_user(Role::Member).await;
    let (tracker, token, browser) = tracking(&app, &user).await;
    let back = format!("/trackers/{tracker}#alerts");

    let html = browser.html(&format!("/trackers/{tracker}")).await;
    assert!(
        html.contains("form method=\"post\" action=\"/alerts/channels\""),
        "{html}"
    );
    assert!(html.contains(&format!(
        "name=\"back\" value=\"/trackers/{tracker}#alerts\""
    )));

    // A webhook: added, and its secret shown this once, on the tracker page.
    let page = post_back(
        &browser,
        "/alerts/channels",
        &[
            ("kind", "webhook"),
            ("target", "https://hooks.example.com/upcount"),
            ("back", &back),
        ],
        &tracker,
    )
    .await;
    assert!(
        page.contains("Channel added: Webhook https://hooks.example.com/upcount"),
        "{page}"
    );
    assert!(page.contains("class=\"token-value\">whsec_"), "{page}");
    // It is offered to the rule form at once.
    assert!(page.contains("Webhook https://hooks.example.com/upcount"));
    let (_, list) = app.api_get("/api/v1/channels", &token).await;
    assert_eq!(list["channels"].as_array().map(Vec::len), Some(1));

    // A mistake comes back to the tracker page too, with the form's values.
    let page = post_back(
        &browser,
        "/alerts/channels",
        &[
            ("kind", "email"),
            ("target", "not an address"),
            ("back", &back),
        ],
        &tracker,
    )
    .await;
    assert!(page.contains("value=\"not an address\""), "{page}");

    // `back` leads only to a tracker page: anything else is the Alerts page.
    for hostile in [
        "https://evil.example/",
        "//evil.example/x",
        "/trackers/x#alerts",
        "/admin",
    ] {
        let response = browser
            .post_form(
                "/alerts/channels",
                &[("kind", "email"), ("target", "bad"), ("back", hostile)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/alerts", "{hostile}");
    }
}
