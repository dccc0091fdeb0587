//! Debian's InfluxDB 1.x and Graphite, started by the tests on free loopback ports with
//! their data in a temporary folder, and stopped when their guard is dropped. A missing
//! program fails the test saying how to install it.

use std::{path::PathBuf, process::Stdio, time::Duration};

use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::helpers::{eventually, free_port};

/// Fails unless `program` is installed.
fn require(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()));
    assert!(
        found,
        "`{program}` is not installed: run `make test` (its setup, `scripts/setup.sh test`, \
         installs Debian's `{package}`)"
    );
}

/// A running program, killed when dropped.
pub struct Daemon {
    child: Option<Child>,
    /// Its configuration and data.
    pub dir: TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            drop(child.start_kill());
        }
    }
}

impl Daemon {
    /// Kills the program and waits for it to be gone; the folder stays.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.start_kill());
            drop(child.wait().await);
        }
    }

    fn spawn(program: &str, args: &[String], dir: &std::path::Path) -> Child {
        let log = std::fs::File::create(dir.join("output.log")).expect("a log file");
        let errors = log.try_clone().expect("the log file again");
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(errors)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("could not start {program}: {error}"))
    }

    /// What the program wrote to its output.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("output.log")).unwrap_or_default()
    }
}

/// An `influxd` answering HTTP on `port`.
pub struct Influx {
    pub daemon: Daemon,
    pub port: u16,
    config: PathBuf,
}

impl Influx {
    pub async fn start() -> Influx {
        require("influxd", "influxdb");
        let dir = tempfile::tempdir().expect("a folder");
        let port = free_port();
        let root = dir.path().display().to_string();
        let config = dir.path().join("influxdb.conf");
        std::fs::write(
            &config,
            format!(
                "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
                 [meta]\n  dir = \"{root}/meta\"\n\
                 [data]\n  dir = \"{root}/data\"\n  wal-dir = \"{root}/wal\"\n  query-log-enabled = false\n\
                 [http]\n  bind-address = \"127.0.0.1:{port}\"\n  log-enabled = false\n\
                 [monitor]\n  store-enabled = false\n\
                 [subscriber]\n  enabled = false\n\
                 [continuous_queries]\n  enabled = false\n",
                rpc = free_port(),
            ),
        )
        .expect("write influxdb.conf");
        let mut influx = Influx {
            daemon: Daemon { child: None, dir },
            port,
            config,
        };
        influx.restart().await;
        influx
    }

    /// Starts it (again, on the same port and data) and waits until it answers `/ping`.
    pub async fn restart(&mut self) {
        let args = vec!["-config".to_string(), self.config.display().to_string()];
        self.daemon.child = Some(Daemon::spawn("influxd", &args, self.daemon.dir.path()));
        let ping = format!("{}/ping", self.url());
        let client = reqwest::Client::new();
        eventually(
            Duration::from_secs(30),
            "influxd to answer /ping",
            || async {
                let answer = client.get(&ping).send().await.ok()?;
                (answer.status() == 204).then_some(())
            },
        )
        .await;
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs an InfluxQL statement through its query API: the JSON answer.
    pub async fn query(&self, database: &str, statement: &str) -> serde_json::Value {
        let mut url = url::Url::parse(&format!("{}/query", self.url())).expect("a URL");
        url.query_pairs_mut()
            .append_pair("db", database)
            .append_pair("q", statement)
            .append_pair("epoch", "ms");
        let answer = reqwest::Client::new()
            .post(url)
            .send()
            .await
            .expect("an answer from influxd");
        answer.json().await.expect("JSON from influxd")
    }

    /// The rows of a `SELECT`'s first series (empty when there is none).
    pub async fn rows(&self, database: &str, statement: &str) -> Vec<Vec<serde_json::Value>> {
        let answer = self.query(database, statement).await;
        answer["results"][0]["series"][0]["values"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|row| row.as_array().cloned().unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A `carbon-cache` taking Graphite's plaintext protocol on `port`, keeping every point
/// at one-second resolution.
pub struct Carbon {
    pub daemon: Daemon,
    pub port: u16,
}

impl Carbon {
    pub async fn start() -> Carbon {
        require("carbon-cache", "graphite-carbon");
        require("whisper-fetch", "python3-whisper");
        let dir = tempfile::tempdir().expect("a folder");
        let root = dir.path().display().to_string();
        for folder in ["whisper", "log", "run"] {
            std::fs::create_dir_all(dir.path().join(folder)).expect("a folder");
        }
        let port = free_port();
        std::fs::write(
            dir.path().join("carbon.conf"),
            format!(
                "[cache]\nSTORAGE_DIR = {root}/\nLOCAL_DATA_DIR = {root}/whisper/\n\
                 CONF_DIR = {root}/\nLOG_DIR = {root}/log/\nPID_DIR = {root}/run/\n\
                 DATABASE = whisper\nENABLE_LOGROTATION = False\nMAX_CACHE_SIZE = inf\n\
                 MAX_UPDATES_PER_SECOND = 10000\nMAX_CREATES_PER_MINUTE = 10000\n\
                 LINE_RECEIVER_INTERFACE = 127.0.0.1\nLINE_RECEIVER_PORT = {port}\n\
                 ENABLE_UDP_LISTENER = False\n\
                 PICKLE_RECEIVER_INTERFACE = 127.0.0.1\nPICKLE_RECEIVER_PORT = {pickle}\n\
                 CACHE_QUERY_INTERFACE = 127.0.0.1\nCACHE_QUERY_PORT = {cache}\n\
                 LOG_UPDATES = True\nLOG_CREATES = True\nWHISPER_AUTOFLUSH = True\n",
                pickle = free_port(),
                cache = free_port(),
            ),
        )
        .expect("write carbon.conf");
        std::fs::write(
            dir.path().join("storage-schemas.conf"),
            "[all]\npattern = .*\nretentions = 1s:1d\n",
        )
        .expect("write storage-schemas.conf");
        let args = vec![
            format!("--config={root}/carbon.conf"),
            "--nodaemon".to_string(),
            "start".to_string(),
        ];
        let child = Daemon::spawn("carbon-cache", &args, dir.path());
        let carbon = Carbon {
            daemon: Daemon {
                child: Some(child),
                dir,
            },
            port,
        };
        eventually(
            Duration::from_secs(30),
            "carbon-cache to listen",
            || async {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .ok()
                    .map(|_| ())
            },
        )
        .await;
        carbon
    }

    /// The whisper file of `path` (`a.b.c` → `whisper/a/b/c.wsp`).
    pub fn whisper_file(&self, path: &str) -> PathBuf {
        let mut file = self.daemon.dir.path().join("whisper");
        for word in path.split('.') {
            file.push(word);
        }
        file.set_extension("wsp");
        file
    }

    /// The points `whisper-fetch` reads from the file of `path` over the last hour:
    /// (seconds, value), the empty slots left out.
    pub async fn fetch(&self, path: &str) -> Vec<(i64, f64)> {
        let file = self.whisper_file(path);
        if !file.exists() {
            return Vec::new();
        }
        let from = chrono::Utc::now().timestamp() - 3_600;
        let output = Command::new("whisper-fetch")
            .arg(format!("--from={from}"))
            .arg(&file)
            .output()
            .await
            .expect("run whisper-fetch");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| {
                let (time, value) = line.split_once('\t')?;
                Some((time.trim().parse().ok()?, value.trim().parse().ok()?))
            })
            .collect()
    }
}
