//! What the tracker page says about its history: how far loading the upstream's has got
//! (followed live while it loads, without redrawing the chart), that it starts with the
//! first poll, and when the next poll is due while there are only a few points.

use leptos::prelude::*;

use super::utc;
use crate::{
    api::chart::TrackerDetail,
    domain::{BackfillStatus, TrackerId},
};

/// Up to this many points, the page says when the next poll is due.
const FEW_POINTS: usize = 12;

/// How often the page asks how far the history has got, while it loads.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

/// The note under the chart. While the upstream's history loads, it follows the backfill
/// (one small read every few seconds) and, once done, calls `loaded` when more points were
/// written than the chart shows, so the chart is drawn again once, with the history.
#[component]
pub fn HistoryNote(detail: TrackerDetail, loaded: Callback<()>) -> impl IntoView {
    let status = RwSignal::new(detail.backfill.clone());
    let from = detail.history_from.clone();
    let next = detail
        .next_poll_ms
        .filter(|_| detail.points.len() <= FEW_POINTS)
        .map(|at| format!("Next poll due {} UTC.", utc(at)));
    let running = detail
        .backfill
        .as_ref()
        .is_some_and(|backfill| backfill.state.is_running());
    if running {
        follow(detail.summary.id, status, detail.backfill.clone(), loaded);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = loaded;
    let text = move || {
        let loading = status.with(|status| describe(status.as_ref(), from.as_deref()));
        [loading, next.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let state = move || status.with(|status| status.as_ref().map(|s| s.state.key()));
    move || {
        let text = text();
        (!text.is_empty()).then(|| {
            view! {
                <p class="muted history-note" data-testid="history-note" data-state=state aria-live="polite">
                    {text}
                </p>
            }
        })
    }
}

/// The backfill's part of the note.
fn describe(status: Option<&BackfillStatus>, from: Option<&str>) -> Option<String> {
    match (status, from) {
        (Some(status), Some(from)) if status.state.is_running() => Some(format!(
            "{} ({} points so far); the chart fills in when it is done.",
            status.describe(from),
            crate::pages::dashboard::format_number(status.points as f64)
        )),
        (Some(status), Some(from)) => Some(format!("{}.", status.describe(from))),
        (None, None) => Some("History starts with the first poll.".to_string()),
        _ => None,
    }
}

/// Asks every few seconds how far the backfill has got, until it stops running; then
/// calls `loaded` if it wrote points since the page was drawn. On the server: nothing.
#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
fn follow(
    id: TrackerId,
    status: RwSignal<Option<BackfillStatus>>,
    initial: Option<BackfillStatus>,
    loaded: Callback<()>,
) {
    #[cfg(feature = "hydrate")]
    {
        use crate::api::chart::get_backfill_status;
        use leptos::task::spawn_local;
        let shown = initial.map(|status| status.points).unwrap_or(0);
        let asking = StoredValue::new(false);
        let handle = set_interval_with_handle(
            move || {
                // One request at a time; a slow answer is not asked again on top.
                if asking.get_value() {
                    return;
                }
                asking.set_value(true);
                spawn_local(async move {
                    // A failed read (a blip, a signed-out session) keeps the last status
                    // and is asked again at the next tick.
                    if let Ok(latest) = get_backfill_status(id).await {
                        let done = latest.as_ref().is_none_or(|s| !s.state.is_running());
                        let wrote = latest.as_ref().is_some_and(|s| s.points > shown);
                        // The page may have gone meanwhile.
                        if status.try_set(latest).is_none() && done && wrote {
                            loaded.run(());
                        }
                    }
                    asking.try_set_value(false);
                });
            },
            FOLLOW_EVERY,
        );
        if let Ok(handle) = handle {
            let handle = StoredValue::new(Some(handle));
            // Stops with the page, and once the backfill has stopped running.
            Effect::new(move |_| {
                let running = status.with(|s| s.as_ref().is_some_and(|s| s.state.is_running()));
                if !running && let Some(handle) = handle.try_update_value(Option::take).flatten() {
                    handle.clear();
                }
            });
            on_cleanup(move || {
                if let Some(handle) = handle.try_update_value(Option::take).flatten() {
                    handle.clear();
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::describe;
    use crate::domain::{BackfillState, BackfillStatus};

    fn status(state: BackfillState, progress: f64, points: i64) -> BackfillStatus {
        BackfillStatus {
            state,
            progress,
            points,
            error: None,
        }
    }

    #[test]
    fn the_note_says_how_far_the_history_has_got() {
        assert_eq!(
            describe(
                Some(&status(BackfillState::Pending, 0.4, 1200)),
                Some("GitHub")
            )
            .as_deref(),
            Some(
                "Loading history from GitHub: 40% (1,200 points so far); the chart fills in when it is done."
            )
        );
        assert_eq!(
            describe(Some(&status(BackfillState::Done, 1.0, 1200)), Some("npm")).as_deref(),
            Some("History from npm loaded.")
        );
        assert_eq!(
            describe(None, None).as_deref(),
            Some("History starts with the first poll.")
        );
        // A provider with history whose source was polled before backfills existed.
        assert_eq!(describe(None, Some("GitHub")), None);
    }
}
