//! One function per kind of message, each returning its [`Message`]: a subject, a
//! plain-text part and an HTML part that looks like the site (its colours, inline styles:
//! mail clients ignore style sheets). Every value put into the HTML is escaped.

use super::{
    Message,
    digests::{Digest, DigestTracker},
};
use crate::domain::{DigestFrequency, EmailKind, alerts::format_value};

/// The site's colours (`style/main.css`, light theme).
const INK: &str = "#14213d";
const INK_SOFT: &str = "#4a5568";
const PAPER: &str = "#fbfbfd";
const CARD: &str = "#ffffff";
const LINE: &str = "#e3e7ef";
const ACCENT: &str = "#3b5bdb";
const OK: &str = "#2b8a3e";
const DANGER: &str = "#c92a2a";
const FONT: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";

/// The link that confirms `to` (valid 24 hours).
pub fn verify_email(to: &str, link: &str) -> Message {
    let subject = "Confirm your email address for Upcount".to_string();
    let text = format!(
        "Hello,\n\nPlease confirm that {to} is your email address by opening this link:\n\n{link}\n\n\
         The link works once, within 24 hours. If you did not create an Upcount account, ignore this message.\n\n— Upcount\n"
    );
    let html = page(
        &subject,
        &[
            format!(
                "Please confirm that <strong>{}</strong> is your email address.",
                escape(to)
            ),
            button(link, "Confirm my email address"),
            "The link works once, within 24 hours. If you did not create an Upcount account, ignore this message."
                .to_string(),
        ],
        link,
    );
    Message::new(EmailKind::VerifyEmail, to, subject, text, html)
}

/// The link that sets a new password for the account of `to` (valid 1 hour).
pub fn reset_password(to: &str, link: &str) -> Message {
    let subject = "Reset your Upcount password".to_string();
    let text = format!(
        "Hello,\n\nSomeone (we hope you) asked to reset the password of the Upcount account of {to}. \
         To choose a new password, open this link:\n\n{link}\n\n\
         The link works once, within an hour, and signs you out everywhere else. \
         If you did not ask for it, ignore this message: your password stays as it is.\n\n— Upcount\n"
    );
    let html = page(
        &subject,
        &[
            format!(
                "Someone (we hope you) asked to reset the password of the Upcount account of <strong>{}</strong>.",
                escape(to)
            ),
            button(link, "Choose a new password"),
            "The link works once, within an hour, and signs you out everywhere else. If you did not ask for it, ignore this message: your password stays as it is."
                .to_string(),
        ],
        link,
    );
    Message::new(EmailKind::ResetPassword, to, subject, text, html)
}

/// Someone tried to sign up with `to`, which has an account: how to get in.
pub fn sign_up_attempt(to: &str, sign_in: &str, reset: &str) -> Message {
    let subject = "Someone tried to sign up with your address".to_string();
    let text = format!(
        "Hello,\n\nSomeone tried to create an Upcount account with {to}, which already has one.\n\n\
         If it was you, sign in: {sign_in}\n\
         or, if you forgot your password, reset it: {reset}\n\n\
         If it was not you, ignore this message: nothing changed.\n\n— Upcount\n"
    );
    let html = page(
        &subject,
        &[
            format!(
                "Someone tried to create an Upcount account with <strong>{}</strong>, which already has one.",
                escape(to)
            ),
            format!(
                "If it was you, {} or, if you forgot your password, {}.",
                link_to(sign_in, "sign in"),
                link_to(reset, "reset it")
            ),
            "If it was not you, ignore this message: nothing changed.".to_string(),
        ],
        sign_in,
    );
    Message::new(EmailKind::SignUpAttempt, to, subject, text, html)
}

/// An invitation from `inviter` into the workspace `workspace` as `role`, with its
/// link (valid 7 days).
pub fn invitation(to: &str, inviter: &str, workspace: &str, role: &str, link: &str) -> Message {
    let subject = format!("{inviter} invited you to {workspace} on Upcount");
    let text = format!(
        "Hello,\n\n{inviter} invited {to} to the Upcount workspace \"{workspace}\" as {role}.\n\n\
         To join, open this link (you can create an account there if you have none):\n\n{link}\n\n\
         The link works once, within 7 days. If you do not know {inviter}, ignore this message.\n\n— Upcount\n"
    );
    let html = page(
        &subject,
        &[
            format!(
                "<strong>{}</strong> invited <strong>{}</strong> to the Upcount workspace <strong>{}</strong> as {}.",
                escape(inviter),
                escape(to),
                escape(workspace),
                escape(role)
            ),
            button(link, "Join the workspace"),
            "You can create an account there if you have none. The link works once, within 7 days. If you do not know who sent it, ignore this message."
                .to_string(),
        ],
        link,
    );
    Message::new(EmailKind::Invitation, to, subject, text, html)
}

/// An alert: `reason` about the tracker `label`, with a link to its page.
pub fn alert(to: &str, label: &str, reason: &str, page_link: &str) -> Message {
    let subject = format!("{label}: {reason}");
    let text = format!(
        "Hello,\n\n{label}: {reason}.\n\nSee its chart: {page_link}\n\n\
         You get this because an alert rule of your Upcount workspace sends to {to}. \
         Change or pause the rule on the tracker's page.\n\n— Upcount\n"
    );
    let html = page(
        &subject,
        &[
            format!("<strong>{}</strong>: {}.", escape(label), escape(reason)),
            button(page_link, "See the chart"),
            format!(
                "You get this because an alert rule of your Upcount workspace sends to {}. \
                 Change or pause the rule on the tracker's page.",
                escape(to)
            ),
        ],
        page_link,
    );
    Message::new(EmailKind::Alert, to, subject, text, html)
}

/// To a workspace's owner: the channel `channel` keeps failing with `error`.
pub fn channel_failing(to: &str, channel: &str, error: &str, alerts_link: &str) -> Message {
    let subject = "An alert channel of your Upcount workspace keeps failing".to_string();
    let text = format!(
        "Hello,\n\nAlerts sent to {channel} keep failing: {error}.\n\n\
         Check it, send it a test or replace it: {alerts_link}\n\n\
         You get this once; the Alerts page shows the channel as failing until it works again.\n\n— Upcount\n"
    );
    let html = page(
        &subject,
        &[
            format!(
                "Alerts sent to <strong>{}</strong> keep failing: {}.",
                escape(channel),
                escape(error)
            ),
            button(alerts_link, "Open the Alerts page"),
            "You get this once; the Alerts page shows the channel as failing until it works again."
                .to_string(),
        ],
        alerts_link,
    );
    Message::new(EmailKind::ChannelFailing, to, subject, text, html)
}

/// A user's digest of their workspace's trackers over `digest.period`, with links into
/// the site at `origin` (the dashboard, each tracker, the account page to change it).
pub fn digest(to: &str, digest: &Digest, origin: &str) -> Message {
    let frequency = match digest.period.frequency {
        DigestFrequency::Weekly => "weekly",
        _ => "daily",
    };
    let span = match digest.period.frequency {
        DigestFrequency::Weekly => "the week",
        _ => "the day",
    };
    let alerts = digest.alert_count();
    let subject = format!(
        "Your Upcount {frequency} digest: {}, {}",
        counted(digest.trackers.len(), "tracker", "trackers"),
        match alerts {
            0 => "no alerts".to_string(),
            _ => counted(alerts, "alert", "alerts"),
        }
    );
    let when = digest.period.describe();
    let dashboard = format!("{origin}/dashboard");
    let account = format!("{origin}/account");

    let mut text = format!(
        "Hello,\n\nHere is what the trackers of {} did in {when} (UTC).\n",
        digest.workspace
    );
    for tracker in &digest.trackers {
        text.push_str(&format!(
            "\n{}\n{origin}/trackers/{}\n",
            tracker.label, tracker.id
        ));
        if tracker.metrics.is_empty() {
            text.push_str("  no numbers yet\n");
        }
        for metric in &tracker.metrics {
            text.push_str(&format!(
                "  {}: {} ({})\n",
                metric.name.replace('_', " "),
                metric.value.map(format_value).unwrap_or_else(|| "—".into()),
                describe_change(metric.change, span)
            ));
        }
        if !tracker.alerts.is_empty() {
            text.push_str("  Alerts:\n");
            for alert in &tracker.alerts {
                text.push_str(&format!(
                    "  - {}: {}\n",
                    alert.fired_at.format("%Y-%m-%d %H:%M UTC"),
                    alert.reason
                ));
            }
        }
    }
    text.push_str(&format!(
        "\nYour dashboard: {dashboard}\n\n\
         You get this because you chose a {frequency} digest for {to}. \
         Change it or turn it off on your account page: {account}\n\n— Upcount\n"
    ));

    let mut body = paragraph_html(&format!(
        "Here is what the trackers of <strong>{}</strong> did in {} (UTC).",
        escape(&digest.workspace),
        escape(&when)
    ));
    for tracker in &digest.trackers {
        body.push_str(&tracker_html(tracker, origin, span));
    }
    body.push_str(&paragraph_html(&button(&dashboard, "Open your dashboard")));
    body.push_str(&format!(
        "<p style=\"margin:0;font-size:13px;line-height:1.5;color:{INK_SOFT}\">\
         You get this because you chose a {frequency} digest for {}. \
         Change it or turn it off on {}.</p>",
        escape(to),
        link_to(&account, "your account page")
    ));
    let html = document(&subject, &body, &dashboard);
    Message::new(EmailKind::Digest, to, subject, text, html)
}

/// One tracker of a digest: its label (a link to its page), a table of its metrics and
/// the alerts it fired.
fn tracker_html(tracker: &DigestTracker, origin: &str, span: &str) -> String {
    let link = format!("{origin}/trackers/{}", tracker.id);
    let mut html = format!(
        "<div style=\"margin:0 0 16px;padding:0 0 16px;border-bottom:1px solid {LINE}\">\
         <p style=\"margin:0 0 8px;font-size:16px;font-weight:600\">\
         <a href=\"{}\" style=\"color:{INK};text-decoration:none\">{}</a></p>",
        escape(&link),
        escape(&tracker.label)
    );
    if tracker.metrics.is_empty() {
        html.push_str(&format!(
            "<p style=\"margin:0;font-size:14px;color:{INK_SOFT}\">No numbers yet.</p>"
        ));
    } else {
        html.push_str("<table role=\"presentation\" style=\"width:100%;border-collapse:collapse;font-size:14px\">");
        for metric in &tracker.metrics {
            let colour = match metric.change {
                Some((absolute, _)) if absolute > 0.0 => OK,
                Some((absolute, _)) if absolute < 0.0 => DANGER,
                _ => INK_SOFT,
            };
            html.push_str(&format!(
                "<tr><td style=\"padding:4px 8px 4px 0;color:{INK_SOFT}\">{}</td>\
                 <td style=\"padding:4px 8px;text-align:right;font-weight:600;color:{INK}\">{}</td>\
                 <td style=\"padding:4px 0 4px 8px;text-align:right;color:{colour}\">{}</td></tr>",
                escape(&metric.name.replace('_', " ")),
                escape(&metric.value.map(format_value).unwrap_or_else(|| "—".into())),
                escape(&describe_change(metric.change, span))
            ));
        }
        html.push_str("</table>");
    }
    if !tracker.alerts.is_empty() {
        html.push_str(&format!(
            "<ul style=\"margin:8px 0 0;padding:0 0 0 20px;font-size:14px;line-height:1.5;color:{INK}\">"
        ));
        for alert in &tracker.alerts {
            html.push_str(&format!(
                "<li><span style=\"color:{INK_SOFT}\">{}</span> {}</li>",
                escape(&alert.fired_at.format("%Y-%m-%d %H:%M UTC").to_string()),
                escape(&alert.reason)
            ));
        }
        html.push_str("</ul>");
    }
    html.push_str("</div>");
    html
}

/// "+50 (+50%) over the day", "no change over the week", "no earlier value".
pub fn describe_change(change: Option<(f64, Option<f64>)>, span: &str) -> String {
    match change {
        None => "no earlier value".to_string(),
        Some((absolute, _)) if absolute.abs() < f64::EPSILON => format!("no change over {span}"),
        Some((absolute, percent)) => {
            let sign = if absolute > 0.0 { "+" } else { "" };
            let percent = percent
                .map(|percent| {
                    format!(", {sign}{}%", format_value((percent * 10.0).round() / 10.0))
                })
                .unwrap_or_default();
            format!("{sign}{}{percent} over {span}", format_value(absolute))
        }
    }
}

/// "1 tracker", "3 trackers".
fn counted(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

/// The HTML document around `paragraphs` (already HTML), with the brand above and the
/// link for clients that hide buttons below.
fn page(title: &str, paragraphs: &[String], fallback_link: &str) -> String {
    let body: String = paragraphs
        .iter()
        .map(|paragraph| paragraph_html(paragraph))
        .collect();
    document(title, &body, fallback_link)
}

/// `html` as a paragraph of the card.
fn paragraph_html(html: &str) -> String {
    format!("<p style=\"margin:0 0 16px;font-size:16px;line-height:1.5;color:{INK}\">{html}</p>")
}

/// The HTML document around the card's `body` (already HTML), with the brand above and
/// the link for clients that hide buttons below.
fn document(title: &str, body: &str, fallback_link: &str) -> String {
    let link = escape(fallback_link);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"margin:0;padding:24px;background:{PAPER};font-family:{FONT};color:{INK}\">\
         <div style=\"max-width:560px;margin:0 auto\">\
         <p style=\"margin:0 0 16px;font-size:20px;font-weight:700;color:{INK}\">\
         <span style=\"color:{ACCENT}\">&#9650;</span> Upcount</p>\
         <div style=\"background:{CARD};border:1px solid {LINE};border-radius:12px;padding:24px\">{body}</div>\
         <p style=\"margin:16px 0 0;font-size:13px;line-height:1.5;color:{INK_SOFT}\">\
         If the button does not work, copy this address into your browser: \
         <a href=\"{link}\" style=\"color:{ACCENT}\">{link}</a></p>\
         </div></body></html>\n",
        title = escape(title),
    )
}

fn button(href: &str, label: &str) -> String {
    format!(
        "<a href=\"{}\" style=\"display:inline-block;background:{ACCENT};color:#ffffff;\
         text-decoration:none;font-weight:600;padding:10px 18px;border-radius:8px\">{}</a>",
        escape(href),
        escape(label)
    )
}

fn link_to(href: &str, label: &str) -> String {
    format!(
        "<a href=\"{}\" style=\"color:{ACCENT}\">{}</a>",
        escape(href),
        escape(label)
    )
}

/// `text` safe inside HTML text and double- or single-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_interpolated_value_is_escaped() {
        let message = sign_up_attempt(
            "<b>eve</b>@example.com",
            "https://upcount.example/sign-in?a=1&b=\"2\"",
            "https://upcount.example/forgot-password",
        );
        assert!(!message.html.contains("<b>eve</b>"), "{}", message.html);
        assert!(message.html.contains("&lt;b&gt;eve&lt;/b&gt;@example.com"));
        assert!(message.html.contains("a=1&amp;b=&quot;2&quot;"));
        assert!(
            message
                .text
                .contains("https://upcount.example/sign-in?a=1&b=\"2\"")
        );
    }

    #[test]
    fn a_digest_counts_escapes_and_links() {
        use crate::domain::TrackerId;
        use crate::server::email::digests::{DigestAlert, DigestMetric};
        let start = chrono::DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z")
            .expect("a time")
            .with_timezone(&chrono::Utc);
        let period = DigestFrequency::Weekly
            .period_before(start + chrono::TimeDelta::days(9))
            .expect("a week");
        let tracker = |label: &str, alerts: usize| DigestTracker {
            id: TrackerId(uuid::Uuid::nil()),
            label: label.to_string(),
            metrics: vec![DigestMetric {
                name: "open_issues".into(),
                value: Some(1_200.0),
                change: Some((-300.0, Some(-20.0))),
            }],
            alerts: (0..alerts)
                .map(|_| DigestAlert {
                    reason: "stars rose above <20,000>".into(),
                    fired_at: start,
                })
                .collect(),
        };
        let digest = Digest {
            period,
            workspace: "Ada's & co".into(),
            trackers: vec![tracker("<b>one</b>", 1), tracker("two", 0)],
        };
        let message = super::digest("ada@example.com", &digest, "https://upcount.example");
        assert_eq!(
            message.subject,
            "Your Upcount weekly digest: 2 trackers, 1 alert"
        );
        assert!(
            message.text.contains("the week of 23 November 2026"),
            "{}",
            message.text
        );
        assert!(
            message
                .text
                .contains("open issues: 1,200 (-300, -20% over the week)"),
            "{}",
            message.text
        );
        assert!(!message.html.contains("<b>one</b>"), "{}", message.html);
        assert!(message.html.contains("&lt;b&gt;one&lt;/b&gt;"));
        assert!(message.html.contains("Ada&#x27;s &amp; co"));
        assert!(message.html.contains("&lt;20,000&gt;"));
        assert!(message.html.contains(DANGER), "a fall is red");
        for part in [&message.text, &message.html] {
            assert!(part.contains("https://upcount.example/dashboard"));
            assert!(part.contains("https://upcount.example/account"));
            assert!(part.contains(&format!(
                "https://upcount.example/trackers/{}",
                uuid::Uuid::nil()
            )));
        }
        let quiet = Digest {
            trackers: vec![tracker("solo", 0)],
            ..digest
        };
        assert_eq!(
            super::digest("ada@example.com", &quiet, "https://upcount.example").subject,
            "Your Upcount weekly digest: 1 tracker, no alerts"
        );
        assert_eq!(
            describe_change(Some((0.0, Some(0.0))), "the day"),
            "no change over the day"
        );
        assert_eq!(
            describe_change(Some((5.0, None)), "the day"),
            "+5 over the day"
        );
        assert_eq!(describe_change(None, "the day"), "no earlier value");
    }

    #[test]
    fn each_message_carries_its_link_in_both_parts() {
        let link = "https://upcount.example/verify-email?token=abc";
        for message in [
            verify_email("ada@example.com", link),
            reset_password("ada@example.com", link),
        ] {
            assert!(message.text.contains(link), "{}", message.text);
            assert!(message.html.contains(&escape(link)), "{}", message.html);
            assert!(message.html.contains(ACCENT));
            assert!(!message.subject.is_empty());
        }
    }
}
