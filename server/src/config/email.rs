//! Sending email: the SMTP server and the sender.

use lettre::message::Mailbox;
use url::Url;

use super::{ConfigError, Env, Lookup};

/// How email leaves.
#[derive(Clone)]
pub struct EmailSettings {
    /// `UPCOUNT_SMTP_URL`: the SMTP server, `smtp://host:port` (plain, or with
    /// `?tls=required` for STARTTLS) or `smtps://user:pass@host:465`. Unset: messages are
    /// written to the log and the admin console's outbox instead (for development).
    pub smtp_url: Option<Url>,
    /// `UPCOUNT_EMAIL_FROM`: the sender, `Upcount <upcount@localhost>` by default.
    pub from: Mailbox,
}

impl std::fmt::Debug for EmailSettings {
    // Hand-written: the SMTP URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSettings")
            .field("smtp", &self.display_target())
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl EmailSettings {
    pub(super) fn from_env<F: Lookup>(env: &Env<F>) -> Result<Self, ConfigError> {
        const URL_VAR: &str = "UPCOUNT_SMTP_URL";
        const FROM_VAR: &str = "UPCOUNT_EMAIL_FROM";
        let smtp_url = match env.optional(URL_VAR)? {
            None => None,
            Some(value) => {
                // Never echo the value: it may hold the password.
                let url = Url::parse(&value).map_err(|error| {
                    ConfigError::new(
                        URL_VAR,
                        format!(
                            "must be a URL such as smtps://user:pass@smtp.example:465 ({error})"
                        ),
                    )
                })?;
                if !matches!(url.scheme(), "smtp" | "smtps") || url.host().is_none() {
                    return Err(ConfigError::new(
                        URL_VAR,
                        format!(
                            "must be an smtp:// or smtps:// URL with a host, not `{}`",
                            redacted(&url)
                        ),
                    ));
                }
                Some(url)
            }
        };
        let from = env.string(FROM_VAR, "Upcount <upcount@localhost>")?;
        let from = from.parse::<Mailbox>().map_err(|error| {
            ConfigError::new(
                FROM_VAR,
                format!("must be an address such as `Upcount <upcount@example.com>`, not `{from}` ({error})"),
            )
        })?;
        Ok(Self { smtp_url, from })
    }

    /// Where mail goes, fit to print: the SMTP URL without its password, or `None` (the
    /// log and the admin console's outbox).
    pub fn display_target(&self) -> Option<String> {
        self.smtp_url.as_ref().map(redacted)
    }
}

/// `url` without its password.
fn redacted(url: &Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        // Setting a password fails only for URLs without a host, refused above.
        let _ = url.set_password(Some("***"));
    }
    url.to_string()
}
