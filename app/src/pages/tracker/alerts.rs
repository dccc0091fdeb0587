//! The tracker page's Alerts section: the tracker's rules (each with its state, its
//! channels, Pause/Resume, Delete and an edit form) and the form that adds one; and the
//! list of the alerts fired in the chart's range. Every form posts to the server
//! (`/trackers/{id}/alerts`, `/alerts/{id}/…`), which answers with a redirect back to
//! `#alerts` and flash messages, so all of it works without the wasm.

use std::collections::BTreeMap;

use leptos::prelude::*;

use super::{chart::Visible, time::utc};
use crate::{
    api::{
        alerts::{ChannelRow, FiredAlert, RuleItem, TrackerAlerts},
        flash::Flash,
    },
    components::form::{FlashResource, Notice, PostButton},
    domain::{
        AlertWindow, ConditionKind, Direction, TrackerId,
        alert_channel::NEW_CHANNEL_FORM,
        alerts::{format_secs, format_value},
        rule_form::{ALERTS_FLASH, NEW_ALERT_FORM, edit_form},
    },
    pages::alerts::NewChannelForm,
};

/// How each condition reads in the form's list.
fn condition_label(kind: ConditionKind) -> &'static str {
    match kind {
        ConditionKind::Above => "above a value",
        ConditionKind::Below => "below a value",
        ConditionKind::Change => "changes by an amount or a percentage",
        ConditionKind::NewHigh => "reaches a new high",
        ConditionKind::NewLow => "reaches a new low",
        ConditionKind::Milestone => "passes a milestone",
        ConditionKind::NoData => "no data for a while",
        ConditionKind::Gone => "the source goes away",
    }
}

/// An error about a whole form; over the plan's limit, with the way to more.
fn form_error(error: Option<String>) -> impl IntoView {
    error.map(|error| {
        let upgrade = error.contains("Upgrade");
        view! {
            <p class="form-error" role="alert">
                {error}
                {upgrade.then(|| view! { " " <a href="/billing" data-testid="upgrade-link">"See plans"</a> })}
            </p>
        }
    })
}

/// The Alerts section of tracker `tracker` (whose metrics are `metrics`, `metric` shown).
#[component]
pub(super) fn AlertsSection(
    tracker: TrackerId,
    metrics: Vec<String>,
    metric: String,
    alerts: Result<TrackerAlerts, ServerFnError>,
    flash: FlashResource,
    /// Whether the viewer may change rules (viewers see them only).
    editable: bool,
) -> impl IntoView {
    view! {
        <section id="alerts" class="tracker-alerts" aria-labelledby="alerts-title">
            <h2 id="alerts-title">"Alerts"</h2>
            <Suspense fallback=|| ()>
                {move || {
                    let (alerts, metrics, metric) = (alerts.clone(), metrics.clone(), metric.clone());
                    Suspend::new(async move {
                        let flash = flash.await.ok().flatten();
                        match alerts {
                            Ok(alerts) => alerts_view(tracker, &metrics, &metric, alerts, &flash, editable).into_any(),
                            Err(_) => view! {
                                <p class="form-error" role="alert">
                                    "This tracker's alerts could not be loaded. Reload the page to try again."
                                </p>
                            }
                                .into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

fn alerts_view(
    tracker: TrackerId,
    metrics: &[String],
    metric: &str,
    alerts: TrackerAlerts,
    flash: &Option<Flash>,
    editable: bool,
) -> impl IntoView + use<> {
    let section = Flash::of(flash, ALERTS_FLASH).unwrap_or_default();
    let list = if alerts.rules.is_empty() {
        view! { <p class="muted">"No alerts on this tracker yet."</p> }.into_any()
    } else {
        view! {
            <ul class="alert-rules">
                {alerts
                    .rules
                    .iter()
                    .map(|rule| rule_item(tracker, metrics, &alerts.channels, rule, flash, editable))
                    .collect_view()}
            </ul>
        }
        .into_any()
    };
    let messages = Flash::of(flash, NEW_ALERT_FORM);
    let values: BTreeMap<String, String> = match &messages {
        Some(messages) => messages.values.clone(),
        None => BTreeMap::from([
            ("metric".to_string(), metric.to_string()),
            ("condition".to_string(), "above".to_string()),
        ]),
    };
    let messages = messages.unwrap_or_default();
    let no_channels = alerts.channels.is_empty().then(|| {
        view! {
            <p class="muted" data-testid="no-channels">
                "This workspace has no channels yet, so alerts are only listed on the "
                <a href="/alerts">"Alerts page"</a>
                ". Add an email address or a webhook below to be told when one fires."
            </p>
        }
    });
    // A channel can be added here too, coming back to this section.
    let channel_messages = Flash::of(flash, NEW_CHANNEL_FORM);
    let secret = flash.as_ref().and_then(|flash| flash.new_secret.clone());
    let open_channel_form = alerts.channels.is_empty() || channel_messages.is_some();
    let new_channel = view! {
        {secret.map(|secret| view! {
            <div class="new-token" role="status">
                <p>"The webhook's signing secret. Copy it now: it will not be shown again."</p>
                <code class="token-value" data-testid="new-secret">{secret}</code>
            </div>
        })}
        <details class="new-channel-here" open=open_channel_form>
            <summary>"Add a channel"</summary>
            <NewChannelForm
                messages=channel_messages.unwrap_or_default()
                addresses=Vec::new()
                back=format!("/trackers/{tracker}#alerts")
                ids=("field-channel-kind", "field-channel-target")
            />
        </details>
    };
    if !editable {
        return view! {
            {list}
            <p class="muted read-only-note">"As a viewer you see this tracker's alerts but cannot change them."</p>
        }
        .into_any();
    }
    view! {
        <Notice notice=section.notice.clone() />
        {form_error(section.error.clone())}
        {list}
        <h3 id="new-alert-title">"Add an alert"</h3>
        {no_channels}
        {new_channel}
        <form
            class="new-alert form"
            method="post"
            action=format!("/trackers/{tracker}/alerts")
            aria-labelledby="new-alert-title"
        >
            {form_error(messages.error.clone())}
            {rule_fields("new-alert", metrics, &alerts.channels, &values, &messages)}
            <p><button class="button" type="submit">"Add alert"</button></p>
        </form>
    }
    .into_any()
}

fn rule_item(
    tracker: TrackerId,
    metrics: &[String],
    channels: &[ChannelRow],
    rule: &RuleItem,
    flash: &Option<Flash>,
    editable: bool,
) -> impl IntoView + use<> {
    let text = rule.spec.describe();
    let state = rule.state();
    let to: Vec<String> = channels
        .iter()
        .filter(|channel| rule.spec.channels.contains(&channel.id))
        .map(|channel| format!("{} {}", channel.kind.label(), channel.target))
        .collect();
    let to = if to.is_empty() {
        "no channels (listed on the Alerts page only)".to_string()
    } else {
        to.join(", ")
    };
    let mut meta = format!("To: {to} · cooldown {}", cooldown(rule.spec.cooldown_secs));
    if let Some(at) = &rule.last_fired_at {
        meta.push_str(&format!(" · last fired {at}"));
    }
    if let Some(by) = &rule.created_by {
        meta.push_str(&format!(" · made by {by}"));
    }
    let form = edit_form(rule.id);
    let messages = Flash::of(flash, &form);
    let open = messages.is_some();
    let values = match &messages {
        Some(messages) => messages.values.clone(),
        None => rule.spec.form_values(),
    };
    let messages = messages.unwrap_or_default();
    let hidden = || vec![("tracker", tracker.to_string())];
    let (action, verb) = if rule.paused {
        ("resume", "Resume")
    } else {
        ("pause", "Pause")
    };
    let toggle = view! {
        <PostButton
            action=format!("/alerts/{}/{action}", rule.id)
            text=verb
            label=format!("{verb} alert: {text}")
            inline=true
            hidden=hidden()
        />
    };
    let prefix = format!("alert-{}", rule.id);
    view! {
        <li class="alert-rule" id=prefix.clone() data-state=state>
            <p class="alert-rule-head">
                <strong class="alert-rule-text">{text.clone()}</strong>
                " "
                <span class="alert-rule-state" data-state=state>{state}</span>
            </p>
            <p class="muted alert-rule-meta">{meta}</p>
            {editable.then(|| view! {
            <div class="alert-rule-actions">
                {toggle}
                <PostButton
                    action=format!("/alerts/{}/delete", rule.id)
                    text="Delete"
                    label=format!("Delete alert: {text}")
                    inline=true
                    hidden=hidden()
                />
            </div>
            <details class="alert-rule-edit" open=open>
                <summary>"Edit"</summary>
                <form class="edit-alert form" method="post" action=format!("/alerts/{}/edit", rule.id)>
                    <input type="hidden" name="tracker" value=tracker.to_string() />
                    {form_error(messages.error.clone())}
                    {rule_fields(&prefix, metrics, channels, &values, &messages)}
                    <p><button class="button" type="submit">"Save"</button></p>
                </form>
            </details>
            })}
        </li>
    }
}

fn cooldown(secs: i64) -> String {
    if secs == 0 {
        "none".to_string()
    } else {
        format_secs(secs)
    }
}

/// A labelled text input of a rule form (ids prefixed: a page holds several such forms).
fn text_field(
    prefix: &str,
    name: &'static str,
    label: &'static str,
    values: &BTreeMap<String, String>,
    messages: &Flash,
    hint: &'static str,
) -> impl IntoView + use<> {
    let id = format!("{prefix}-{name}");
    let error_id = format!("{id}-error");
    let error = messages.field_error(name);
    let invalid = error.is_some();
    view! {
        <div class="field" class:field-invalid=invalid>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type="text"
                inputmode="decimal"
                autocomplete="off"
                maxlength=40_usize
                value=values.get(name).cloned().unwrap_or_default()
                aria-invalid=invalid.then_some("true")
                aria-describedby=invalid.then(|| error_id.clone())
            />
            {(!hint.is_empty()).then(|| view! { <p class="field-hint">{hint}</p> })}
            {error.map(|error| view! { <p class="field-error" id=error_id role="alert">{error}</p> })}
        </div>
    }
}

/// A labelled `select` of a rule form: (value, label) options, the current one selected.
fn select_field(
    prefix: &str,
    name: &'static str,
    label: &'static str,
    options: Vec<(String, String)>,
    values: &BTreeMap<String, String>,
    messages: &Flash,
) -> impl IntoView + use<> {
    let id = format!("{prefix}-{name}");
    let current = values.get(name).cloned().unwrap_or_default();
    let error = messages.field_error(name);
    let invalid = error.is_some();
    view! {
        <div class="field" class:field-invalid=invalid>
            <label for=id.clone()>{label}</label>
            <select id=id name=name aria-invalid=invalid.then_some("true")>
                {options
                    .into_iter()
                    .map(|(value, text)| {
                        let selected = value == current;
                        view! { <option value=value selected=selected>{text}</option> }
                    })
                    .collect_view()}
            </select>
            {error.map(|error| view! { <p class="field-error" role="alert">{error}</p> })}
        </div>
    }
}

/// A rule's fields, named as the REST API names them.
fn rule_fields(
    prefix: &str,
    metrics: &[String],
    channels: &[ChannelRow],
    values: &BTreeMap<String, String>,
    messages: &Flash,
) -> impl IntoView + use<> {
    let metric_options = metrics
        .iter()
        .map(|metric| (metric.clone(), metric.replace('_', " ")))
        .collect();
    let condition_options = ConditionKind::ALL
        .into_iter()
        .map(|kind| {
            (
                kind.key().to_string(),
                format!("{} ({})", condition_label(kind), kind.key()),
            )
        })
        .collect();
    let mut window_options = vec![(String::new(), "—".to_string())];
    window_options.extend(
        AlertWindow::ALL
            .into_iter()
            .map(|window| (window.key().to_string(), window.label().to_string())),
    );
    let mut direction_options = vec![(String::new(), "— (either)".to_string())];
    direction_options.extend(
        Direction::ALL
            .into_iter()
            .map(|direction| (direction.key().to_string(), direction.key().to_string())),
    );
    let ticked: Vec<String> = values
        .get("channels")
        .map(|ids| ids.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let channel_error = messages.field_error("channels");
    let boxes = channels
        .iter()
        .map(|channel| {
            let id = channel.id.to_string();
            let checked = ticked.contains(&id);
            let name = format!("{} {}", channel.kind.label(), channel.target);
            view! {
                <label class="check">
                    <input type="checkbox" name="channels" value=id checked=checked />
                    {name}
                </label>
            }
        })
        .collect_view();
    let channel_invalid = channel_error.is_some();
    let channels_box = (!channels.is_empty() || channel_invalid).then(|| {
        view! {
            <fieldset class="field alert-channels" class:field-invalid=channel_invalid>
                <legend>"Channels"</legend>
                {boxes}
                {channel_error.map(|error| view! { <p class="field-error" role="alert">{error}</p> })}
            </fieldset>
        }
    });
    view! {
        <div class="form-row">
            {select_field(prefix, "metric", "Metric", metric_options, values, messages)}
            {select_field(prefix, "condition", "Condition", condition_options, values, messages)}
        </div>
        <p class="field-hint">
            "Fill in what the condition takes; the other fields are ignored. Above or below: a value "
            "(and a margin it must move back by before the alert re-arms). A change: an amount or a "
            "percentage, over a window, in a direction. A new high or low: over a window, or all time "
            "when none. A milestone: every so many, or round numbers (1k, 10k, 100k…) when empty. "
            "No data: for how many seconds."
        </p>
        <div class="form-row">
            {text_field(prefix, "value", "Value", values, messages, "")}
            {text_field(prefix, "margin", "Margin", values, messages, "")}
            {text_field(prefix, "amount", "Amount", values, messages, "")}
            {text_field(prefix, "percent", "Percent", values, messages, "")}
        </div>
        <div class="form-row">
            {select_field(prefix, "window", "Window", window_options, values, messages)}
            {select_field(prefix, "direction", "Direction", direction_options, values, messages)}
            {text_field(prefix, "every", "Every", values, messages, "")}
            {text_field(prefix, "duration_secs", "No data for (seconds)", values, messages, "")}
        </div>
        <div class="form-row">
            {text_field(prefix, "cooldown_secs", "Cooldown (seconds)", values, messages, "At most one alert this often: 3600 (1 h) when empty, 0 for none.")}
        </div>
        {channels_box}
    }
}

/// The alerts that fired on `metric` within the chart's range, listed under the chart
/// (what the chart's pins show, for screen readers and without the wasm); reading the
/// rule's words when it still exists.
pub(super) fn fired_list(
    fired: &[FiredAlert],
    rules: &[RuleItem],
    visible: Visible,
) -> impl IntoView + use<> {
    let rows: Vec<(i64, String, Option<f64>)> = fired
        .iter()
        .map(|event| {
            let what = event
                .rule
                .and_then(|id| rules.iter().find(|rule| rule.id == id))
                .map(|rule| rule.spec.describe())
                .unwrap_or_else(|| event.reason.clone());
            (event.t, what, event.value)
        })
        .collect();
    (!rows.is_empty()).then(move || {
        let items = move || {
            let (from, to) = visible.get();
            rows.iter()
                .filter(|(t, _, _)| (from..=to).contains(t))
                .map(|(t, what, value)| {
                    let value = value.map(format_value).unwrap_or_else(|| "no value".into());
                    view! {
                        <li>
                            <time>{format!("{} UTC", utc(*t))}</time>
                            {format!(" — {what} — {value}")}
                        </li>
                    }
                })
                .collect_view()
        };
        view! {
            <div class="alerts-fired">
                <p>
                    <strong>"Alerts fired in this range"</strong>
                    " · "
                    <a href="/alerts">"All alerts and their deliveries"</a>
                </p>
                <ul>{items}</ul>
            </div>
        }
    })
}
