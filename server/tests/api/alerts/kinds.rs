//! Each sample-judged rule kind through the real poll path on PostgreSQL: the stand-in's
//! value is polled, the batched read after the poll finds the window's start and the
//! extremes (from raw samples and the daily rollups), and the rule fires once when its
//! condition becomes true, stays quiet while it holds, re-arms once it is false, and fires
//! again; each firing reaches the webhook. History older than the test is written through
//! the engine's writer (which keeps the rollups), so the windows have a past.
//!
//! `above`, `below`, all-time `new_high` and `milestone` every N are in `rules.rs`;
//! `no_data` and `gone` in `silence.rs`.

use std::{cell::Cell, time::Duration};

use app::domain::{MetricId, TokenScope};
use chrono::{TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{receiver::Receiver, webhook};
use crate::{
    helpers::{RunningWorkers, TestApp, eventually, spawn_app_with_standin},
    polling::poll_now,
    standin::StandIn,
};

const LEPTOS: &str = "https://github.com/leptos-rs/leptos";
const WAIT: Duration = Duration::from_secs(60);

/// An alert event as stored: its condition, value, previous sample and reason.
type Event = (String, Option<f64>, Option<f64>, String);

/// An expected event: the value, the previous sample and the reason.
fn event(condition: &str, value: f64, previous: f64, reason: &str) -> Event {
    (
        condition.to_string(),
        Some(value),
        Some(previous),
        reason.to_string(),
    )
}

/// The app tracking leptos-rs/leptos with a webhook channel, polled once, and a witness
/// rule that tells when the rules have judged a poll.
struct Bench {
    standin: StandIn,
    app: TestApp,
    receiver: Receiver,
    token: String,
    tracker: String,
    channel: Value,
    metric: MetricId,
    /// A `milestone` rule that never fires: it remembers the last value it saw, so its
    /// state (and `last_sample_at`) is written at every evaluation of a new value.
    witness: String,
    workers: RunningWorkers,
    last_polled: Cell<u64>,
}

impl Bench {
    /// Tracks the repository at `stars`, with the workers running and one poll done.
    async fn start(stars: u64) -> Self {
        let (standin, app) =
            spawn_app_with_standin(vec![("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".into())]).await;
        standin.set_github_repo("leptos-rs/leptos", stars);
        let receiver = Receiver::start().await;
        let (_, token) = app.member_with_token(TokenScope::Write).await;
        let tracker = app.track(&token, LEPTOS).await;
        // No star history from a backfill: each test writes the past it needs.
        app.history_loaded().await;
        let channel = webhook(&app, &token, &receiver, "/kinds").await;
        let workers = app.start_workers();
        poll_now(&app).await;
        let metric = app.metric_id("stars").await;
        let mut bench = Bench {
            standin,
            app,
            receiver,
            token,
            tracker,
            channel,
            metric,
            witness: String::new(),
            workers,
            last_polled: Cell::new(stars),
        };
        bench.witness = bench
            .make(
                json!({ "metric": "stars", "condition": "milestone", "every": 1e12,
                          "cooldown_secs": 0 }),
            )
            .await;
        bench
    }

    /// Makes a rule of `body`: its id.
    async fn make(&self, body: Value) -> String {
        let (status, made) = self
            .app
            .api_post(
                &format!("/api/v1/trackers/{}/alerts", self.tracker),
                &self.token,
                body,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        made["alert"]["id"].as_str().expect("an id").to_string()
    }

    /// Makes a rule of `body` on stars, without cooldown, sent to the webhook: its id.
    async fn rule(&self, mut body: Value) -> String {
        body["metric"] = json!("stars");
        body["cooldown_secs"] = json!(0);
        body["channels"] = json!([self.channel["id"]]);
        self.make(body).await
    }

    /// Writes past samples of stars, `(seconds ago, value)`.
    async fn history(&self, points: &[(i64, f64)]) {
        let now = Utc::now();
        let points = points
            .iter()
            .map(|&(ago, value)| (now - TimeDelta::seconds(ago), value));
        let written = self.app.write_points(self.metric, points.clone()).await;
        assert_eq!(written, points.count() as u64);
    }

    /// Sets the stars to `stars` (a value other than the last), polls, and waits until the
    /// rules have judged the new sample (their events are written in the same statement).
    async fn poll(&self, stars: u64) {
        assert_ne!(
            stars,
            self.last_polled.replace(stars),
            "the witness needs a change"
        );
        self.standin.set_github_repo("leptos-rs/leptos", stars);
        poll_now(&self.app).await;
        eventually(WAIT, "the rules to judge the poll", || async {
            sqlx::query_scalar::<_, bool>(
                "SELECT coalesce(r.last_sample_at =
                                 (SELECT max(t) FROM samples WHERE metric_id = $2), false)
                 FROM alert_rules r WHERE r.id::text = $1",
            )
            .bind(&self.witness)
            .bind(self.metric)
            .fetch_one(&self.app.pool)
            .await
            .expect("the witness")
            .then_some(())
        })
        .await;
    }

    /// The events of `rule`, oldest first.
    async fn fired(&self, rule: &str) -> Vec<Event> {
        sqlx::query_as(
            "SELECT condition, value, previous, reason FROM alert_events
             WHERE rule_id::text = $1 ORDER BY fired_at, id",
        )
        .bind(rule)
        .fetch_all(&self.app.pool)
        .await
        .expect("events")
    }

    /// Polls each value of `steps` in turn; after each, exactly the rules it names (by
    /// their index in `rules`) have fired, once each.
    async fn run(&self, rules: &[(&str, String)], steps: &[(u64, &[usize])]) {
        let mut counts = vec![0; rules.len()];
        for (step, &(stars, firing)) in steps.iter().enumerate() {
            self.poll(stars).await;
            for &index in firing {
                counts[index] += 1;
            }
            for ((name, id), &count) in rules.iter().zip(&counts) {
                let fired = self.fired(id).await;
                assert_eq!(
                    fired.len(),
                    count,
                    "{name} after step {} ({stars} stars): {fired:?}",
                    step + 1
                );
            }
        }
    }

    /// Checks that each rule fired `expected`, that the webhook got each event once with
    /// the same values, and stops the workers.
    async fn finish(self, rules: &[(&str, String)], expected: &[Vec<Event>]) {
        let mut stored = Vec::new();
        for ((name, id), expected) in rules.iter().zip(expected) {
            let fired = self.fired(id).await;
            assert_eq!(&fired, expected, "{name}");
            stored.extend(fired.into_iter().map(|(condition, value, previous, _)| {
                format!("{id} {condition} {value:?} {previous:?}")
            }));
        }
        stored.sort();
        let delivered = eventually(WAIT, "the deliveries", || async {
            let received = self.receiver.received();
            (received.len() >= stored.len()).then_some(received)
        })
        .await;
        self.workers.stop().await;
        assert_eq!(
            self.receiver.received().len(),
            stored.len(),
            "no delivery twice"
        );
        let mut delivered: Vec<String> = delivered
            .iter()
            .map(|request| {
                let body = request.json();
                format!(
                    "{} {} {:?} {:?}",
                    body["rule"].as_str().unwrap_or_default(),
                    body["condition"].as_str().unwrap_or_default(),
                    body["value"].as_f64(),
                    body["previous"].as_f64()
                )
            })
            .collect();
        delivered.sort();
        assert_eq!(delivered, stored);
    }
}

#[tokio::test]
async fn change_rules_fire_once_per_qualifying_move_in_their_direction_and_window() {
    let bench = Bench::start(10_000).await;
    // An hour ago the repository had 10,000 stars (from 90 minutes ago), a day ago 8,000.
    bench
        .history(&[(30 * 3600, 8_000.0), (90 * 60, 10_000.0)])
        .await;
    let rules = [
        (
            "up by 500 in 1h",
            bench
                .rule(
                    json!({ "condition": "change", "amount": 500, "window": "1h",
                              "direction": "up" }),
                )
                .await,
        ),
        (
            "down by 10% in 1h",
            bench
                .rule(
                    json!({ "condition": "change", "percent": 10, "window": "1h",
                              "direction": "down" }),
                )
                .await,
        ),
        (
            "either way by 1,000 in 1h",
            bench
                .rule(
                    json!({ "condition": "change", "amount": 1000, "window": "1h",
                              "direction": "either" }),
                )
                .await,
        ),
        (
            "up by 50% in 24h",
            bench
                .rule(
                    json!({ "condition": "change", "percent": 50, "window": "24h",
                              "direction": "up" }),
                )
                .await,
        ),
    ];
    let (up, down, either, day) = (0, 1, 2, 3);
    bench
        .run(
            &rules,
            &[
                (10_200, &[]),
                // +600: up.
                (10_600, &[up]),
                // Still up by 500: no second alert.
                (10_700, &[]),
                // −1,100 (−11%): a fall does not fire the rise, and re-arms it.
                (8_900, &[down, either]),
                (8_800, &[]),
                // +2,100 in the hour, +51.25% in the day. `either` never stopped
                // qualifying (−1,200 to +2,100), so it stays quiet.
                (12_100, &[up, day]),
                (12_200, &[]),
                // −500: nothing qualifies, everything re-arms.
                (9_500, &[]),
                // Exactly −1,000 and −10%: "at least" counts the boundary.
                (9_000, &[down, either]),
                // Exactly +50% of the day's start; `either` still qualifies (+2,000).
                (12_000, &[up, day]),
            ],
        )
        .await;
    bench
        .finish(
            &rules,
            &[
                vec![
                    event(
                        "change",
                        10_600.0,
                        10_200.0,
                        "stars rose by 600 in 1 h, from 10,000 to 10,600",
                    ),
                    event(
                        "change",
                        12_100.0,
                        8_800.0,
                        "stars rose by 2,100 in 1 h, from 10,000 to 12,100",
                    ),
                    event(
                        "change",
                        12_000.0,
                        9_000.0,
                        "stars rose by 2,000 in 1 h, from 10,000 to 12,000",
                    ),
                ],
                vec![
                    event(
                        "change",
                        8_900.0,
                        10_700.0,
                        "stars fell by 11% in 1 h, from 10,000 to 8,900",
                    ),
                    event(
                        "change",
                        9_000.0,
                        9_500.0,
                        "stars fell by 10% in 1 h, from 10,000 to 9,000",
                    ),
                ],
                vec![
                    event(
                        "change",
                        8_900.0,
                        10_700.0,
                        "stars fell by 1,100 in 1 h, from 10,000 to 8,900",
                    ),
                    event(
                        "change",
                        9_000.0,
                        9_500.0,
                        "stars fell by 1,000 in 1 h, from 10,000 to 9,000",
                    ),
                ],
                vec![
                    event(
                        "change",
                        12_100.0,
                        8_800.0,
                        "stars rose by 51.25% in 24 h, from 8,000 to 12,100",
                    ),
                    event(
                        "change",
                        12_000.0,
                        9_000.0,
                        "stars rose by 50% in 24 h, from 8,000 to 12,000",
                    ),
                ],
            ],
        )
        .await;
}

#[tokio::test]
async fn new_highs_and_lows_fire_once_each_all_time_and_over_their_window() {
    let bench = Bench::start(18_000).await;
    // All time: 30,000 and 1,000, more than a week ago. The last 7 days: 25,000 and 5,000.
    // The last 24 hours: 20,000 and 15,000 (and the first poll's 18,000).
    let day = 86_400;
    bench
        .history(&[
            (10 * day, 30_000.0),
            (8 * day, 1_000.0),
            (3 * day, 25_000.0),
            (2 * day, 5_000.0),
            (2 * 3600, 20_000.0),
            (90 * 60, 15_000.0),
        ])
        .await;
    let rules = [
        (
            "new_high",
            bench.rule(json!({ "condition": "new_high" })).await,
        ),
        (
            "new_low",
            bench.rule(json!({ "condition": "new_low" })).await,
        ),
        (
            "new_high 24h",
            bench
                .rule(json!({ "condition": "new_high", "window": "24h" }))
                .await,
        ),
        (
            "new_low 7d",
            bench
                .rule(json!({ "condition": "new_low", "window": "7d" }))
                .await,
        ),
    ];
    let (high, low, high_day, low_week) = (0, 1, 2, 3);
    bench
        .run(
            &rules,
            &[
                (19_000, &[]),
                // A high of the day, not of all time.
                (21_000, &[high_day]),
                // Higher still, but not re-armed.
                (22_000, &[]),
                (21_500, &[]),
                (22_500, &[high_day]),
                // Above the all-time high; the day's rule has not re-armed since 22,500.
                (31_000, &[high]),
                // A low of the week, not of all time.
                (4_000, &[low_week]),
                (3_000, &[]),
                (3_500, &[]),
                (900, &[low, low_week]),
                (800, &[]),
                (1_200, &[]),
                (31_500, &[high, high_day]),
                (700, &[low, low_week]),
            ],
        )
        .await;
    let high_of =
        |value: f64, previous: f64, reason: &str| event("new_high", value, previous, reason);
    let low_of =
        |value: f64, previous: f64, reason: &str| event("new_low", value, previous, reason);
    bench
        .finish(
            &rules,
            &[
                vec![
                    high_of(
                        31_000.0,
                        22_500.0,
                        "stars reached a new all-time high of 31,000 (the previous high was 30,000)",
                    ),
                    high_of(
                        31_500.0,
                        1_200.0,
                        "stars reached a new all-time high of 31,500 (the previous high was 31,000)",
                    ),
                ],
                vec![
                    low_of(
                        900.0,
                        3_500.0,
                        "stars reached a new all-time low of 900 (the previous low was 1,000)",
                    ),
                    low_of(
                        700.0,
                        31_500.0,
                        "stars reached a new all-time low of 700 (the previous low was 800)",
                    ),
                ],
                vec![
                    high_of(
                        21_000.0,
                        19_000.0,
                        "stars reached a new 24-hour high of 21,000 (the previous high was 20,000)",
                    ),
                    high_of(
                        22_500.0,
                        21_500.0,
                        "stars reached a new 24-hour high of 22,500 (the previous high was 22,000)",
                    ),
                    high_of(
                        31_500.0,
                        1_200.0,
                        "stars reached a new 24-hour high of 31,500 (the previous high was 31,000)",
                    ),
                ],
                vec![
                    low_of(
                        4_000.0,
                        31_000.0,
                        "stars reached a new 7-day low of 4,000 (the previous low was 5,000)",
                    ),
                    low_of(
                        900.0,
                        3_500.0,
                        "stars reached a new 7-day low of 900 (the previous low was 3,000)",
                    ),
                    low_of(
                        700.0,
                        31_500.0,
                        "stars reached a new 7-day low of 700 (the previous low was 800)",
                    ),
                ],
            ],
        )
        .await;
}

#[tokio::test]
async fn round_number_milestones_fire_once_each_on_the_way_up() {
    let bench = Bench::start(800).await;
    let rules = [(
        "round numbers",
        bench.rule(json!({ "condition": "milestone" })).await,
    )];
    bench
        .run(
            &rules,
            &[
                (950, &[]),
                (1_050, &[0]),
                (1_500, &[]),
                // Down and past 1,000 again: it was announced already.
                (900, &[]),
                (1_100, &[]),
                (9_999, &[]),
                // Exactly on it.
                (10_000, &[0]),
                // Past 100,000 and 1,000,000 in one poll: the highest.
                (2_500_000, &[0]),
                (2_600_000, &[]),
            ],
        )
        .await;
    bench
        .finish(
            &rules,
            &[vec![
                event(
                    "milestone",
                    1_050.0,
                    950.0,
                    "stars passed 1,000 (now 1,050)",
                ),
                event(
                    "milestone",
                    10_000.0,
                    9_999.0,
                    "stars passed 10,000 (now 10,000)",
                ),
                event(
                    "milestone",
                    2_500_000.0,
                    10_000.0,
                    "stars passed 1,000,000 (now 2,500,000)",
                ),
            ]],
        )
        .await;
}
