//! The outbox: delivery, retries, suppression, dedupe, and the log without SMTP.

use super::*;

#[tokio::test]
async fn a_queued_message_is_delivered_with_a_text_and_an_html_part() {
    let (sink, app) = spawn_app_with_sink().await;
    let workers = app.start_workers();
    let id = email::queue(&app.pool, &message("ada@example.com"), "test:one")
        .await
        .expect("queue");
    assert!(id.is_some());

    let delivered = sink.wait_for("ada@example.com", 1).await;
    let mail = &delivered[0];
    assert_eq!(mail.from, "upcount@example.com");
    assert_eq!(mail.subject(), "Confirm your email address for Upcount");
    assert!(
        mail.header("From")
            .unwrap_or_default()
            .contains("Upcount Tests")
    );
    assert!(mail.text().contains("ada@example.com"), "{}", mail.text());
    assert!(
        mail.html().contains("<strong>ada@example.com</strong>"),
        "{}",
        mail.html()
    );
    assert_eq!(
        mail.links(),
        vec!["http://127.0.0.1/verify-email?token=abc".to_string()]
    );
    wait_for_state(&app, "ada@example.com", "sent").await;
    workers.stop().await;
}

#[tokio::test]
async fn the_same_dedupe_key_queues_one_message() {
    let (sink, app) = spawn_app_with_sink().await;
    let first = email::queue(&app.pool, &message("bob@example.com"), "test:same")
        .await
        .expect("queue");
    let second = email::queue(&app.pool, &message("bob@example.com"), "test:same")
        .await
        .expect("queue again");
    assert!(first.is_some());
    assert_eq!(second, None, "the key was used");
    let workers = app.start_workers();
    sink.wait_for("bob@example.com", 1).await;
    wait_for_state(&app, "bob@example.com", "sent").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages_to("bob@example.com").len(), 1);
    assert_eq!(app.count("SELECT count(*) FROM email_outbox").await, 1);
    workers.stop().await;
}

#[tokio::test]
async fn a_temporary_refusal_is_retried_later_and_delivered_once() {
    let (sink, app) = spawn_app_with_sink().await;
    sink.defer("cy@example.com", 1);
    let workers = app.start_workers();
    email::queue(&app.pool, &message("cy@example.com"), "test:deferred")
        .await
        .expect("queue");
    crate::helpers::eventually(Duration::from_secs(60), "a failed attempt", || async {
        let (attempts, error): (i32, Option<String>) =
            sqlx::query_as("SELECT attempts, last_error FROM email_outbox")
                .fetch_one(&app.pool)
                .await
                .expect("the message");
        (attempts == 1).then_some(error)
    })
    .await
    .filter(|error| error.contains("451"))
    .expect("the 451 is recorded");
    let wait: f64 = app
        .scalar("SELECT extract(epoch FROM next_attempt_at - now())::float8 FROM email_outbox WHERE state = 'queued'")
        .await;
    assert!((50.0..=61.0).contains(&wait), "a minute later: {wait}");
    assert!(sink.messages_to("cy@example.com").is_empty());

    // A minute passes.
    sqlx::query("UPDATE email_outbox SET next_attempt_at = now()")
        .execute(&app.pool)
        .await
        .expect("move the retry");
    sink.wait_for("cy@example.com", 1).await;
    wait_for_state(&app, "cy@example.com", "sent").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages_to("cy@example.com").len(), 1, "once");
    assert_eq!(sink.attempts_for("cy@example.com"), 2);
    assert_eq!(
        app.count("SELECT count(*) FROM email_outbox WHERE attempts = 2 AND sent_at IS NOT NULL")
            .await,
        1
    );
    workers.stop().await;
}

#[tokio::test]
async fn a_permanent_refusal_suppresses_the_address() {
    let (sink, app) = spawn_app_with_sink().await;
    sink.refuse("gone@example.com");
    let workers = app.start_workers();
    email::queue(&app.pool, &message("gone@example.com"), "test:refused:1")
        .await
        .expect("queue");
    wait_for_state(&app, "gone@example.com", "failed").await;
    let reason: String = app
        .scalar("SELECT reason FROM email_suppressions WHERE address = 'gone@example.com'")
        .await;
    assert!(reason.contains("550"), "{reason}");

    // The next message to the address is not even offered.
    email::queue(&app.pool, &message("Gone@Example.com"), "test:refused:2")
        .await
        .expect("queue");
    wait_for_state(&app, "Gone@Example.com", "failed").await;
    let error: String = app
        .scalar("SELECT last_error FROM email_outbox WHERE dedupe_key = 'test:refused:2'")
        .await;
    assert!(error.contains("suppressed"), "{error}");
    assert_eq!(sink.attempts_for("gone@example.com"), 1);

    // The console's outbox shows the address and both messages.
    let admin = app.create_user(app::domain::Role::Admin).await;
    let html = app.signed_in(&admin).await.html("/admin/outbox").await;
    let suppressed = section(&html, "data-testid=\"outbox-suppressed\"");
    assert!(suppressed.contains("gone@example.com"), "{suppressed}");
    assert!(suppressed.contains("550"), "{suppressed}");
    let messages = section(&html, "data-testid=\"outbox-messages\"");
    assert_eq!(messages.matches("<td>failed</td>").count(), 2, "{messages}");
    assert!(
        html.contains(&format!("Sent through smtp://{}", sink.address)),
        "{html}"
    );
    workers.stop().await;
}

#[tokio::test]
async fn without_smtp_a_message_is_logged() {
    let app = crate::helpers::spawn_app().await;
    let workers = app.start_workers();
    email::queue(&app.pool, &message("dev@example.com"), "test:logged")
        .await
        .expect("queue");
    wait_for_state(&app, "dev@example.com", "logged").await;
    assert_eq!(
        app.count("SELECT count(*) FROM email_outbox WHERE sent_at IS NOT NULL AND attempts = 1")
            .await,
        1
    );

    // The console's outbox lists it with its text; members may not see it.
    let admin = app.create_user(app::domain::Role::Admin).await;
    let html = app.signed_in(&admin).await.html("/admin/outbox").await;
    let messages = section(&html, "data-testid=\"outbox-messages\"");
    assert!(messages.contains("dev@example.com"), "{messages}");
    assert!(messages.contains("<td>logged</td>"), "{messages}");
    assert!(messages.contains("verify_email"), "{messages}");
    assert!(
        messages.contains("Please confirm that dev@example.com is your email address"),
        "{messages}"
    );
    assert!(html.contains("written to the log"), "{html}");
    let member = app.create_user(app::domain::Role::Member).await;
    let response = app.signed_in(&member).await.get("/admin/outbox").await;
    assert_eq!(response.status(), 403);
    let response = app
        .signed_in(&member)
        .await
        .press("/api/admin/outbox")
        .await;
    assert_eq!(response.status(), 403);
    workers.stop().await;
}

/// The table of `html` marked by `marker`, up to its end.
fn section(html: &str, marker: &str) -> String {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"));
    let end = start + html[start..].find("</table>").expect("the table's end");
    html[start..end].to_string()
}
