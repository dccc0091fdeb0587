//! One function per kind of message, each returning its [`Message`]: a subject, a
//! plain-text part and an HTML part that looks like the site (its colours, inline styles:
//! mail clients ignore style sheets). Every value put into the HTML is escaped.

use super::Message;
use crate::domain::EmailKind;

/// The site's colours (`style/main.css`, light theme).
const INK: &str = "#14213d";
const INK_SOFT: &str = "#4a5568";
const PAPER: &str = "#fbfbfd";
const CARD: &str = "#ffffff";
const LINE: &str = "#e3e7ef";
const ACCENT: &str = "#3b5bdb";
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

/// The HTML document around `paragraphs` (already HTML), with the brand above and the
/// link for clients that hide buttons below.
fn page(title: &str, paragraphs: &[String], fallback_link: &str) -> String {
    let body: String = paragraphs
        .iter()
        .map(|paragraph| {
            format!(
                "<p style=\"margin:0 0 16px;font-size:16px;line-height:1.5;color:{INK}\">{paragraph}</p>"
            )
        })
        .collect();
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
