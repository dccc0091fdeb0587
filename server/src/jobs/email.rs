//! Sending email: the dispatcher claims queued messages of the outbox
//! (`app::server::email`) every `UPCOUNT_JOB_POLL_INTERVAL_MS` and enqueues one
//! `send_email` job each; the job sends its message over SMTP (`UPCOUNT_SMTP_URL`) or,
//! without an SMTP server, writes it to the log, and records what happened on the row.
//!
//! A message is sent at most once per attempt: the job holds the row's lock while the
//! SMTP server answers, and a job for a message no longer queued does nothing. A
//! temporary refusal (4xx, an unreachable server) is tried again after 1, 5 and 30
//! minutes, then every 2 hours, for a day; a permanent refusal of the recipient (550,
//! 551, 553) marks the address suppressed, and nothing more is sent to it.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use apalis::prelude::*;
use app::{
    domain::EmailId,
    server::email::{self, Outcome, Sending},
};
use futures::stream;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::{BackgroundJob, Job, storage};
use crate::config::EmailSettings;

/// Sends one message of the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendEmail {
    pub id: EmailId,
}

impl BackgroundJob for SendEmail {
    const JOB_NAME: &'static str = "send_email";
}

/// What a `send_email` job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendReport {
    Sent,
    Logged,
    Retrying,
    Failed,
    /// Sent, logged or failed already, or being sent by another job.
    NothingToDo,
}

impl Job for SendEmail {
    type Context = EmailContext;
    type Output = SendReport;

    #[tracing::instrument(name = "send_email", skip_all, fields(email.id = %self.id))]
    async fn run(self, context: &EmailContext) -> Result<SendReport, BoxDynError> {
        Ok(send(context, self.id).await?)
    }
}

/// What the email job needs: the pool and, when configured, the SMTP server.
#[derive(Clone)]
pub struct EmailContext {
    pub pool: PgPool,
    pub mailer: Option<Arc<Mailer>>,
    /// How often the dispatcher looks for queued messages.
    pub sweep: Duration,
    /// `scheme://host[:port]` of the site, for links in the mail about failing channels.
    pub public_origin: Arc<str>,
}

impl std::fmt::Debug for EmailContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailContext")
            .field("smtp", &self.mailer.is_some())
            .finish_non_exhaustive()
    }
}

/// The SMTP server and the sender.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a claim holds before the dispatcher may enqueue the message again.
const LEASE: Duration = Duration::from_secs(120);
/// Messages one sweep claims at most.
const CLAIMS: i64 = 50;

impl Mailer {
    /// The mailer of `settings`, `None` without `UPCOUNT_SMTP_URL`.
    pub fn from_settings(settings: &EmailSettings) -> anyhow::Result<Option<Self>> {
        let Some(url) = &settings.smtp_url else {
            return Ok(None);
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.as_str())
            .with_context(|| {
                format!(
                    "UPCOUNT_SMTP_URL: cannot use {}",
                    settings.display_target().unwrap_or_default()
                )
            })?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Some(Self {
            transport,
            from: settings.from.clone(),
        }))
    }

    /// Sends `message`: what became of it.
    async fn send(&self, message: &Sending) -> Outcome {
        let to: Mailbox = match message.to.parse() {
            Ok(to) => to,
            Err(error) => {
                return Outcome::Failed {
                    error: format!("not an address: {error}"),
                    suppress: false,
                };
            }
        };
        let built = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                message.text.clone(),
                message.html.clone(),
            ));
        let built = match built {
            Ok(built) => built,
            Err(error) => {
                return Outcome::Failed {
                    error: format!("could not build the message: {error}"),
                    suppress: false,
                };
            }
        };
        match self.transport.send(built).await {
            Ok(_) => Outcome::Sent,
            Err(error) => judge(&error, message),
        }
    }
}

/// What an SMTP failure means for the message.
fn judge(error: &lettre::transport::smtp::Error, message: &Sending) -> Outcome {
    let code = error.status().map(u16::from);
    let error_text = error.to_string();
    if error.is_permanent() {
        // "Mailbox unavailable", "not local", "name not allowed": the recipient is refused.
        // Other permanent refusals (authentication, the message) say nothing about them.
        let suppress = matches!(code, Some(550 | 551 | 553));
        return Outcome::Failed {
            error: error_text,
            suppress,
        };
    }
    match email::next_attempt(message.attempts + 1, message.created_at, chrono::Utc::now()) {
        Some(retry_at) => Outcome::Retry {
            error: error_text,
            retry_at,
        },
        None => Outcome::Failed {
            error: format!("gave up after a day: {error_text}"),
            suppress: false,
        },
    }
}

/// Sends (or logs) the message `id` if it is still queued, and records the outcome.
pub async fn send(context: &EmailContext, id: EmailId) -> anyhow::Result<SendReport> {
    let Some(message) = email::take_for_sending(&context.pool, id)
        .await
        .context("could not load the message")?
    else {
        return Ok(SendReport::NothingToDo);
    };
    let outcome = if let Some(reason) = &message.suppressed {
        Outcome::Failed {
            error: format!("the address is suppressed: {reason}"),
            suppress: false,
        }
    } else {
        match &context.mailer {
            Some(mailer) => mailer.send(&message).await,
            None => {
                tracing::info!(
                    email.kind = message.kind.key(),
                    email.to = %message.to,
                    email.subject = %message.subject,
                    "email not sent (no UPCOUNT_SMTP_URL); its text follows\n{}",
                    message.text
                );
                Outcome::Logged
            }
        }
    };
    let report = match &outcome {
        Outcome::Sent => SendReport::Sent,
        Outcome::Logged => SendReport::Logged,
        Outcome::Retry { error, retry_at } => {
            tracing::info!(email.kind = message.kind.key(), error = %error, retry_at = %retry_at, "email refused for now; trying again later");
            SendReport::Retrying
        }
        Outcome::Failed { error, suppress } => {
            tracing::warn!(email.kind = message.kind.key(), error = %error, suppressed = suppress, "email failed");
            SendReport::Failed
        }
    };
    let failing = message
        .finish(&outcome)
        .await
        .context("could not record the outcome of a message")?;
    // An alert's email given up on made its channel failing: its owners hear of it once.
    if let (Some(failing), Outcome::Failed { error, .. }) = (failing, &outcome) {
        super::deliver_alert::tell_owner(
            &context.pool,
            &context.public_origin,
            &failing.channel,
            failing.delivery,
            error,
        )
        .await
        .context("could not tell the owner about a failing channel")?;
    }
    Ok(report)
}

/// Claims the queued messages that are due and enqueues their jobs. Returns how many.
pub async fn dispatch(pool: &PgPool) -> anyhow::Result<usize> {
    let claimed = email::claim_due(pool, CLAIMS, LEASE)
        .await
        .context("could not claim queued messages")?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let tasks: Vec<_> = claimed
        .iter()
        .map(|&id| TaskBuilder::new(SendEmail { id }).build())
        .collect();
    storage::<SendEmail>(pool)
        .push_all(stream::iter(tasks))
        .await
        .context("could not enqueue send_email jobs")?;
    Ok(claimed.len())
}

/// Dispatches every `context.sweep` until `shutdown`.
pub async fn run_dispatcher(context: EmailContext, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(context.sweep);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticker.tick() => {}
        }
        loop {
            match dispatch(&context.pool).await {
                Ok(claimed) if claimed as i64 >= CLAIMS && !shutdown.is_cancelled() => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "email dispatch failed");
                    break;
                }
            }
        }
    }
}
