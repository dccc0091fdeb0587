//! A real Prometheus server (Debian's `prometheus`) scraping two workspaces, one with a
//! bearer token and one with basic auth, then answering a query with Upcount's values.

use std::{
    fs::File,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::Value;
use tempfile::TempDir;

use super::*;
use crate::helpers::{eventually, free_port, http_client};

/// A `prometheus` process in its own temporary directory (configuration, storage and
/// log), listening on a free port of 127.0.0.1; killed when dropped.
struct PrometheusServer {
    child: Child,
    /// `http://127.0.0.1:<port>`
    address: String,
    dir: TempDir,
}

impl PrometheusServer {
    /// Starts `prometheus` with `config` (YAML) and waits until it is ready.
    async fn start(config: &str) -> Self {
        let binary = installed("prometheus");
        let dir = tempfile::tempdir().expect("a directory for Prometheus");
        let config_file = dir.path().join("prometheus.yml");
        std::fs::write(&config_file, config).expect("write prometheus.yml");
        let port = free_port();
        let log = File::create(dir.path().join("prometheus.log")).expect("a log file");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let mut server = PrometheusServer {
            child,
            address: format!("http://127.0.0.1:{port}"),
            dir,
        };
        let client = http_client();
        let ready = format!("{}/-/ready", server.address);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "prometheus exited ({status}) while starting:\n{}",
                    server.log()
                );
            }
            let answer = client.get(&ready).send().await;
            if answer.is_ok_and(|answer| answer.status().is_success()) {
                return server;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "prometheus was not ready within 30 s:\n{}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What Prometheus logged.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// `GET /api/v1/<path>` of Prometheus's HTTP API with `query`: its `data`.
    async fn api(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let url = url::Url::parse_with_params(&format!("{}/api/v1/{path}", self.address), query)
            .expect("a Prometheus API URL");
        let answer: Value = http_client()
            .get(url)
            .send()
            .await
            .expect("an answer from prometheus")
            .json()
            .await
            .expect("JSON from prometheus");
        assert_eq!(answer["status"], "success", "{path}: {answer}");
        answer["data"].clone()
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `label` of a Prometheus result's metric.
fn label<'a>(series: &'a Value, label: &str) -> &'a str {
    series["metric"][label].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_prometheus_server_scrapes_each_workspace_with_its_token() {
    let (_standin, app) = setup().await;
    let (write, bearer_token) = workspace(&app).await;
    let ours = track_labelled(&app, &write, LEPTOS, "Leptos \"web\"").await;
    track_labelled(&app, &write, STORY, "Dropbox").await;
    let (other_write, basic_token) = workspace(&app).await;
    let theirs = track_labelled(&app, &other_write, LEPTOS, "Their Leptos").await;

    let target = app
        .address
        .strip_prefix("http://")
        .expect("the app's address is http");
    let config = format!(
        r#"global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: bearer
    metrics_path: {SCRAPE}
    authorization:
      credentials: "{bearer_token}"
    static_configs:
      - targets: ["{target}"]
  - job_name: basic
    metrics_path: {SCRAPE}
    basic_auth:
      username: prometheus
      password: "{basic_token}"
    static_configs:
      - targets: ["{target}"]
"#
    );
    let prometheus = PrometheusServer::start(&config).await;

    // Both targets up: each scrape answered 200 in the text format.
    eventually(Duration::from_secs(30), "both targets up", || async {
        let data = prometheus.api("targets", &[("state", "active")]).await;
        let targets = data["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let up = targets
            .iter()
            .filter(|target| target["health"] == "up")
            .count();
        if let Some(down) = targets
            .iter()
            .find(|target| target["health"] == "down" && target["lastError"] != "")
        {
            eprintln!("a target is down (for now): {down}");
        }
        (targets.len() == 2 && up == 2).then_some(())
    })
    .await;

    let query = r#"upcount_value{metric="stars"}"#;
    let results = eventually(Duration::from_secs(30), "stars in Prometheus", || async {
        let data = prometheus.api("query", &[("query", query)]).await;
        let results = data["result"].as_array().cloned().unwrap_or_default();
        (results.len() == 2).then_some(results)
    })
    .await;
    let by_job = |job: &str| {
        results
            .iter()
            .find(|series| label(series, "job") == job)
            .unwrap_or_else(|| panic!("a {job} series in {results:?}"))
            .clone()
    };
    let bearer = by_job("bearer");
    assert_eq!(label(&bearer, "__name__"), "upcount_value");
    assert_eq!(label(&bearer, "tracker"), ours);
    assert_eq!(label(&bearer, "label"), "Leptos \"web\"");
    assert_eq!(label(&bearer, "kind"), "github.repo");
    assert_eq!(label(&bearer, "key"), "leptos-rs/leptos");
    assert_eq!(label(&bearer, "metric"), "stars");
    assert_eq!(label(&bearer, "instance"), target);
    assert_eq!(bearer["value"][1], "19000", "{bearer}");
    let basic = by_job("basic");
    assert_eq!(label(&basic, "tracker"), theirs);
    assert_eq!(label(&basic, "label"), "Their Leptos");
    assert_eq!(basic["value"][1], "19000", "{basic}");

    // Each job sees its own workspace only: the story is the bearer workspace's.
    let data = prometheus
        .api("query", &[("query", "count by (job) (upcount_value)")])
        .await;
    let counts: Vec<(String, String)> = data["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|series| {
            (
                label(series, "job").to_string(),
                series["value"][1].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let mut counts = counts;
    counts.sort();
    assert_eq!(
        counts,
        vec![
            ("basic".to_string(), "4".to_string()),
            ("bearer".to_string(), "6".to_string())
        ],
        "{data}"
    );

    // The last poll is a timestamp in seconds, close to now.
    let data = prometheus
        .api(
            "query",
            &[(
                "query",
                r#"time() - upcount_last_poll_timestamp_seconds{job="bearer",kind="hackernews.item"}"#,
            )],
        )
        .await;
    let age: f64 = data["result"][0]["value"][1]
        .as_str()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("an age in {data}"));
    assert!((0.0..120.0).contains(&age), "{age} s since the last poll");
}
