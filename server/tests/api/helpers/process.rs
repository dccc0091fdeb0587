//! The `upcount` binary as a child process.

use std::{path::Path, process::Stdio, time::Duration};

use tempfile::TempDir;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::mpsc,
};

/// The `upcount` binary running as a child process, with its log lines collected.
pub struct Process {
    pub child: Child,
    lines: mpsc::UnboundedReceiver<String>,
    pub seen: Vec<String>,
    // The site root of a process made by [`Process::serve`], kept while it runs.
    _site_root: Option<TempDir>,
}

impl Process {
    /// Starts `upcount <args>` with exactly the environment `vars` (plus JSON logs).
    pub fn start(args: &[&str], vars: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_upcount"));
        command
            .args(args)
            .env_clear()
            .env("UPCOUNT_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("start the upcount binary");
        let (sender, lines) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        for stream in [
            Box::new(stdout) as Box<dyn tokio::io::AsyncRead + Send + Unpin>,
            Box::new(stderr),
        ] {
            let sender = sender.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    if std::env::var_os("TEST_LOG").is_some() {
                        eprintln!("[upcount] {line}");
                    }
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Self {
            child,
            lines,
            seen: Vec::new(),
            _site_root: None,
        }
    }

    /// Starts `upcount <args>` on `database_url` with its own site root, listening on a
    /// free port, plus `extra` settings.
    pub fn serve(args: &[&str], database_url: &str, extra: &[(&str, &str)]) -> Self {
        let site_root = super::site_root();
        let site_root_path = path_str(site_root.path());
        let mut vars = vec![
            ("DATABASE_URL", database_url),
            ("LEPTOS_SITE_ADDR", "127.0.0.1:0"),
            ("UPCOUNT_SITE_ROOT", &site_root_path),
        ];
        vars.extend_from_slice(extra);
        Self {
            _site_root: Some(site_root),
            ..Self::start(args, &vars)
        }
    }

    /// Waits for a JSON log line whose `message` is `message`, and returns it.
    pub async fn wait_for_log(&mut self, message: &str) -> serde_json::Value {
        self.wait_for_log_where(message, |_| true).await
    }

    /// Waits for a JSON log line whose `message` is `message` and which `also` accepts.
    pub async fn wait_for_log_where(
        &mut self,
        message: &str,
        also: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let is_match = |line: &str| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .filter(|value| value["message"] == message && also(value))
        };
        if let Some(value) = self.seen.iter().find_map(|line| is_match(line)) {
            return value;
        }
        let found = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = self.lines.recv().await {
                self.seen.push(line.clone());
                if let Some(value) = is_match(&line) {
                    return Some(value);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(value)) => value,
            _ => panic!("no `{message}` log line; saw:\n{}", self.seen.join("\n")),
        }
    }

    /// The address the web server listens on, from its startup log line.
    pub async fn web_address(&mut self) -> String {
        let line = self.wait_for_log("web server listening").await;
        format!(
            "http://{}",
            line["address"].as_str().expect("an address field")
        )
    }

    pub fn signal(&self, signal: libc::c_int) {
        let pid = self.child.id().expect("the process is running") as libc::pid_t;
        // SAFETY: sending a signal to our own child process.
        let result = unsafe { libc::kill(pid, signal) };
        assert_eq!(result, 0, "kill({pid}, {signal})");
    }

    /// Waits for the process to exit and returns its exit code.
    pub async fn exit_code(&mut self) -> i32 {
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the process exits within 30 s")
            .expect("wait for the process");
        // Collect what it printed last.
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        status.code().expect("an exit code, not a signal")
    }
}

/// Runs `upcount <args>` to completion and returns its exit code, standard output and
/// standard error.
pub async fn run_binary(args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_upcount"))
        .args(args)
        .env_clear()
        .envs(vars.iter().copied())
        .output()
        .await
        .expect("run the upcount binary");
    (
        output.status.code().expect("an exit code"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The site root path as a string, for environment variables.
fn path_str(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Settings as [`Process::start`] and [`run_binary`] take them.
pub fn vars<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter()
        .map(|(key, value)| (*key, value.as_str()))
        .collect()
}
