//! `upcount admin …`: user and token management from the command line, for operators,
//! scripts and tests.

use std::io::{IsTerminal, Read};

use app::{
    domain::{Email, MetricId, Password, Role, TokenName, TokenScope},
    server::{db, password, session_store::PgSessionStore, tokens, tracking::store},
};
use sqlx::PgPool;

use crate::cli::AdminCommand;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("a user with the email {0} already exists")]
    AlreadyExists(String),
    #[error("there is no user with the email {0}")]
    NoSuchUser(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl AdminError {
    /// 2: bad input, 3: the user already exists, 4: no such user, 1: anything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            AdminError::Invalid(_) => 2,
            AdminError::AlreadyExists(_) => 3,
            AdminError::NoSuchUser(_) => 4,
            AdminError::Unexpected(_) => 1,
        }
    }
}

impl From<sqlx::Error> for AdminError {
    fn from(error: sqlx::Error) -> Self {
        AdminError::Unexpected(anyhow::Error::new(error).context("database error"))
    }
}

/// Runs the command; what scripts need (a generated password, a token) goes to standard
/// output, everything else to standard error.
pub async fn run(
    pool: &PgPool,
    command: AdminCommand,
    grace: chrono::TimeDelta,
) -> Result<(), AdminError> {
    match command {
        AdminCommand::SetPlan { workspace, plan } => set_plan(pool, &workspace, &plan, grace).await,
        AdminCommand::ScheduleDump => schedule_dump(pool).await,
        AdminCommand::ScheduleLoad => schedule_load(pool, std::io::stdin().lock()).await,
        AdminCommand::ImportSamples { tracker, metric } => {
            import_samples(pool, &tracker, &metric, std::io::stdin().lock()).await
        }
        AdminCommand::CreateUser { email, admin } => {
            let email = Email::parse(&email).map_err(AdminError::Invalid)?;
            let (password, generated) = password_from_stdin()?;
            let hash = password::hash(&password)
                .await
                .map_err(|error| AdminError::Unexpected(error.into()))?;
            let role = if admin { Role::Admin } else { Role::Member };
            match db::users::create(pool, &email, &hash, role).await? {
                Some(_) => {
                    eprintln!("created {} {email}", role.label());
                    if generated {
                        println!("{}", password.expose());
                    }
                    Ok(())
                }
                None => Err(AdminError::AlreadyExists(email.to_string())),
            }
        }
        AdminCommand::SetPassword { email } => {
            let email = Email::parse(&email).map_err(AdminError::Invalid)?;
            let user_id = db::users::find_id(pool, &email)
                .await?
                .ok_or_else(|| AdminError::NoSuchUser(email.to_string()))?;
            let (password, generated) = password_from_stdin()?;
            let hash = password::hash(&password)
                .await
                .map_err(|error| AdminError::Unexpected(error.into()))?;
            db::users::set_password(pool, user_id, &hash).await?;
            let ended = PgSessionStore::new(pool.clone())
                .delete_for_user(user_id, None)
                .await?;
            eprintln!("password of {email} changed; {ended} session(s) ended");
            if generated {
                println!("{}", password.expose());
            }
            Ok(())
        }
        AdminCommand::CreateToken { email, scope, name } => {
            let email = Email::parse(&email).map_err(AdminError::Invalid)?;
            let scope = TokenScope::parse(&scope).map_err(AdminError::Invalid)?;
            let name = TokenName::parse(&name).map_err(AdminError::Invalid)?;
            let user_id = db::users::find_id(pool, &email)
                .await?
                .ok_or_else(|| AdminError::NoSuchUser(email.to_string()))?;
            let user = db::users::find_current(pool, user_id)
                .await?
                .ok_or_else(|| AdminError::NoSuchUser(email.to_string()))?;
            let token = tokens::generate();
            db::tokens::create(pool, user.workspace_id, user.id, &name, scope, &token).await?;
            eprintln!(
                "created a {} token for the workspace of {email}",
                scope.label()
            );
            println!("{}", token.token);
            Ok(())
        }
    }
}

/// Prints the schedule of every source as a JSON array.
async fn schedule_dump(pool: &PgPool) -> Result<(), AdminError> {
    let entries = store::schedule(pool).await?;
    let json = serde_json::to_string_pretty(&entries)
        .map_err(|error| AdminError::Unexpected(error.into()))?;
    println!("{json}");
    Ok(())
}

/// `admin schedule-load`: a `schedule-dump` back into the sources.
pub async fn schedule_load(pool: &PgPool, input: impl Read) -> Result<(), AdminError> {
    let entries: Vec<store::ScheduleEntry> = serde_json::from_reader(input).map_err(|error| {
        AdminError::Invalid(format!(
            "standard input is not a schedule dump (the JSON `admin schedule-dump` prints): {error}"
        ))
    })?;
    if let Some(bad) = entries
        .iter()
        .find(|entry| !(60..=2_592_000).contains(&entry.interval_secs))
    {
        return Err(AdminError::Invalid(format!(
            "{} {}: state `{}` with interval {} s cannot be restored",
            bad.kind, bad.key, bad.state, bad.interval_secs
        )));
    }
    let (restored, unknown) = store::load_schedule(pool, &entries).await?;
    eprintln!(
        "restored the schedules of {restored} sources; {unknown} in the dump do not exist here"
    );
    Ok(())
}

/// Reads `time,value` CSV rows and writes them as samples of the tracker's metric.
async fn import_samples(
    pool: &PgPool,
    tracker: &str,
    metric: &str,
    input: impl Read,
) -> Result<(), AdminError> {
    let tracker = uuid::Uuid::parse_str(tracker)
        .map_err(|_| AdminError::Invalid(format!("`{tracker}` is not a tracker id")))?;
    let metric_id = sqlx::query_scalar!(
        r#"SELECT m.id AS "id: MetricId" FROM trackers t JOIN source_metrics m ON m.source_id = t.source_id
           WHERE t.id = $1 AND m.name = $2"#,
        tracker,
        metric,
    )
    .fetch_optional(pool)
    .await?;
    let metric_id = metric_id.ok_or_else(|| {
        AdminError::Invalid(format!("tracker {tracker} has no metric `{metric}`"))
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .from_reader(input);
    let (mut read, mut written) = (0_u64, 0_u64);
    let mut batch = Vec::with_capacity(5_000);
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|error| AdminError::Invalid(format!("CSV: {error}")))?;
        let (Some(time), Some(value)) = (record.get(0), record.get(1)) else {
            return Err(AdminError::Invalid(format!(
                "row {}: expected `time,value`",
                index + 1
            )));
        };
        let parsed = chrono::DateTime::parse_from_rfc3339(time)
            .map(|time| time.with_timezone(&chrono::Utc))
            .ok()
            .zip(value.parse::<f64>().ok().filter(|value| value.is_finite()));
        let Some((t, value)) = parsed else {
            if index == 0 {
                continue; // a header row
            }
            return Err(AdminError::Invalid(format!(
                "row {}: `{time}` must be an RFC 3339 time and `{value}` a number",
                index + 1
            )));
        };
        batch.push(store::Sample {
            metric_id,
            t,
            value,
        });
        read += 1;
        if batch.len() == 5_000 {
            written += store::write_samples(pool, &batch).await?;
            batch.clear();
        }
    }
    written += store::write_samples(pool, &batch).await?;
    eprintln!("read {read} samples, wrote {written} new ones");
    Ok(())
}

/// The password piped to standard input, or a generated one (`true`) when there is none.
fn password_from_stdin() -> Result<(Password, bool), AdminError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut input = String::new();
        stdin
            .lock()
            .take(4_096)
            .read_to_string(&mut input)
            .map_err(|error| {
                AdminError::Invalid(format!(
                    "could not read the password from standard input: {error}"
                ))
            })?;
        let input = input.trim_end_matches(['\r', '\n']);
        if !input.is_empty() {
            let password = Password::parse(input.to_string())
                .map_err(|message| AdminError::Invalid(format!("password: {message}")))?;
            return Ok((password, false));
        }
    }
    let generated = tokens::generate().token[4..24].to_string();
    let password = Password::parse(generated).map_err(AdminError::Invalid)?;
    Ok((password, true))
}

/// `admin set-plan`: support's plan override, applied at once.
async fn set_plan(
    pool: &PgPool,
    workspace: &str,
    plan: &str,
    grace: chrono::TimeDelta,
) -> Result<(), AdminError> {
    use app::server::billing::store as billing;
    let workspace_id = match workspace.parse::<app::domain::WorkspaceId>() {
        Ok(id) if billing::workspace_exists(pool, id).await? => id,
        Ok(id) => return Err(AdminError::Invalid(format!("there is no workspace {id}"))),
        Err(_) => {
            let email = Email::parse(workspace).map_err(|_| {
                AdminError::Invalid(format!(
                    "--workspace must be a workspace id or a member's email, not `{workspace}`"
                ))
            })?;
            let user = db::users::find_id(pool, &email)
                .await?
                .ok_or_else(|| AdminError::NoSuchUser(email.as_ref().to_string()))?;
            db::users::find_current(pool, user)
                .await?
                .ok_or_else(|| AdminError::NoSuchUser(email.as_ref().to_string()))?
                .workspace_id
        }
    };
    let plan = match plan {
        "subscription" => None,
        id => {
            let known = billing::plans(pool).await?;
            if !known.iter().any(|candidate| candidate.id == id) {
                let names: Vec<&str> = known
                    .iter()
                    .map(|candidate| candidate.id.as_str())
                    .collect();
                return Err(AdminError::Invalid(format!(
                    "--plan must be one of {} or subscription, not `{id}`",
                    names.join(", ")
                )));
            }
            Some(id)
        }
    };
    let mut transaction = pool.begin().await?;
    billing::set_override(&mut transaction, workspace_id, plan).await?;
    transaction.commit().await?;
    let applied = billing::apply_plan(pool, workspace_id, chrono::Utc::now(), grace).await?;
    eprintln!(
        "workspace {workspace_id}: plan {} (was {}); {} trackers paused, {} resumed, {} intervals raised, {} restored",
        applied.plan,
        applied.previous_plan,
        applied.paused,
        applied.resumed,
        applied.raised,
        applied.restored
    );
    Ok(())
}
