use std::process::ExitCode;

use clap::Parser;
use upcount::{
    admin,
    cli::{Cli, Command, JobName},
    config::Settings,
    db, jobs, poll_once, shutdown,
    startup::{self, Role},
    telemetry,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("upcount: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format, &settings.log_filter);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("upcount: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Command::Admin(command) = cli.command {
        return runtime.block_on(async {
            let pool = db::pool(&settings.database);
            let grace = chrono::TimeDelta::days(settings.billing.grace_days as i64);
            let result = admin::run(&pool, command, grace).await;
            pool.close().await;
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("upcount: {error:#}");
                    ExitCode::from(error.exit_code())
                }
            }
        });
    }
    if let Command::PollOnce {
        kind,
        target,
        metrics,
        headers,
    } = &cli.command
    {
        let engine = match startup::engine(&settings) {
            Ok(engine) => engine,
            Err(error) => {
                eprintln!("upcount: {error:#}");
                return ExitCode::FAILURE;
            }
        };
        return runtime.block_on(poll_once::run(&engine, kind, target, metrics, headers));
    }
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "upcount stopped with an error");
            eprintln!("upcount: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    let role = match command {
        Command::Serve => Role::All,
        Command::Web => Role::Web,
        Command::Worker => Role::Worker,
        Command::Migrate => {
            let pool = db::pool(&settings.database);
            db::migrate(&pool).await.map_err(|error| {
                anyhow::anyhow!(
                    "could not migrate the database at {}: {error}",
                    settings.database.display_target()
                )
            })?;
            pool.close().await;
            return Ok(());
        }
        Command::Enqueue { job } => {
            let pool = db::pool(&settings.database);
            match job {
                JobName::PruneJobs => jobs::enqueue(&pool, jobs::PruneJobs::default()).await?,
                JobName::CleanUpSessions => {
                    jobs::enqueue(&pool, jobs::CleanUpSessions::default()).await?
                }
                JobName::PruneSamples => {
                    jobs::enqueue(&pool, jobs::PruneSamples::default()).await?
                }
                JobName::SendDigests => jobs::enqueue(&pool, jobs::SendDigests::default()).await?,
            }
            tracing::info!(job = ?job, "enqueued");
            pool.close().await;
            return Ok(());
        }
        Command::Admin(_) | Command::PollOnce { .. } => return Ok(()),
    };
    tracing::info!(?role, database = %settings.database.display_target(), "starting upcount");
    startup::run(settings, role, shutdown::on_signal()).await?;
    tracing::info!("upcount stopped");
    Ok(())
}
