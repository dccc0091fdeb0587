//! What the benchmarks share: a database of their own, the runs' figures and their
//! median, the machine's description and writing a section of docs/benchmarks.md.

use sqlx::{Connection, Executor, PgConnection};

/// A database of the run's own on the server of `UPCOUNT_TEST_DATABASE_URL` (a
/// maintenance database URL): created empty, dropped by [`ScratchDatabase::drop`].
pub struct ScratchDatabase {
    admin: PgConnection,
    name: String,
    /// Where it is.
    pub url: url::Url,
}

impl ScratchDatabase {
    pub async fn create() -> anyhow::Result<Self> {
        let server = std::env::var("UPCOUNT_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/postgres".into());
        let name = format!("upcount_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&server).await?;
        admin
            .execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .await?;
        let mut url = url::Url::parse(&server)?;
        url.set_path(&name);
        Ok(Self { admin, name, url })
    }

    /// Drops the database, whoever is still connected to it.
    pub async fn drop(mut self) -> anyhow::Result<()> {
        let name = &self.name;
        self.admin
            .execute(sqlx::AssertSqlSafe(format!(
                r#"DROP DATABASE "{name}" WITH (FORCE)"#
            )))
            .await?;
        Ok(())
    }
}

/// The figures of each run, with `decimals` decimals: `1.2, 1.3, 1.1`.
pub fn runs(values: &[f64], decimals: usize) -> String {
    values
        .iter()
        .map(|value| format!("{value:.decimals$}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The CPU, its cores and the memory of this machine.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let kib: u64 = info
                .lines()
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some(format!("{} GiB", kib / 1024 / 1024))
        })
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {memory}")
}

/// Replaces the section starting at `heading` (up to the next `## `) in docs/benchmarks.md.
pub fn write_section(heading: &str, section: &str) -> anyhow::Result<()> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/benchmarks.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        "# Benchmarks\n\nWritten by `make bench`; each section by its own benchmark. Medians of \
         several runs in one go on one machine: compare figures within a section, not across \
         machines or days.\n"
            .to_string()
    });
    let updated = match existing.find(heading) {
        Some(start) => {
            let rest = &existing[start + heading.len()..];
            let end = rest
                .find("\n## ")
                .map_or(existing.len(), |offset| start + heading.len() + offset + 1);
            // One blank line between this section and the next one.
            let after = &existing[end..];
            let gap = if after.is_empty() { "\n" } else { "\n\n" };
            format!(
                "{}{}{gap}{after}",
                &existing[..start],
                section.trim_end_matches('\n')
            )
        }
        None => format!(
            "{}\n{}",
            existing.trim_end_matches('\n').to_string() + "\n",
            section
        ),
    };
    std::fs::write(&path, updated)?;
    Ok(())
}
