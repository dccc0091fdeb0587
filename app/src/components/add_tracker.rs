//! The dashboard's "Add a tracker" form. It is a plain form posted to the server
//! (`/dashboard/trackers`), so it works before (and without) the wasm. Once hydrated, it
//! previews the pasted link as the user types: the provider, title, author and current
//! values, or the exact problem; for a JSON API, the document as a tree whose numbers fill
//! in their JMESPath expression when clicked, each expression evaluated as it is typed.

use leptos::prelude::*;

use crate::{
    api::{
        flash::Flash,
        trackers::{FormOptions, Preview},
    },
    components::form::{Field, FormError},
    domain::json_pick::{PathStep, expression_for, metric_name_for, number_at, parse_metric_lines},
    pages::{dashboard::format_number, tracker::describe_secs},
};

/// What the preview shows.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))] // set by the browser only
enum PreviewState {
    /// Nothing typed yet (also the server-rendered state).
    Idle,
    Loading,
    Ready(Preview),
    /// The exact problem with the link, in words.
    Problem(String),
}

#[component]
pub fn AddTracker(messages: Flash, options: FormOptions) -> impl IntoView {
    // The fields are the DOM's: what was typed before the wasm loaded stays, and is
    // looked up once it has.
    let url_input = NodeRef::<leptos::html::Input>::new();
    let metrics_area = NodeRef::<leptos::html::Textarea>::new();
    let metrics = RwSignal::new(messages.value("metrics"));
    let preview = RwSignal::new(PreviewState::Idle);
    // `true` once the wasm has taken the form over (the previews work from then on).
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    #[cfg(feature = "hydrate")]
    let on_url = {
        let look_up = browser::previewer(preview);
        browser::on_mount(url_input, metrics_area, metrics, look_up);
        move |event: leptos::ev::Event| look_up(event_target_value(&event))
    };
    #[cfg(not(feature = "hydrate"))]
    let on_url = move |_: leptos::ev::Event| {};
    // The fetched JSON document, parsed once per preview.
    let document = Memo::new(move |_| {
        preview.with(|state| match state {
            PreviewState::Ready(Preview {
                document: Some(text),
                ..
            }) => serde_json::from_str::<serde_json::Value>(text).ok(),
            _ => None,
        })
    });
    let is_json = move || document.with(Option::is_some);
    let pick = move |path: Vec<PathStep>| {
        let expression = expression_for(&path);
        #[cfg(feature = "hydrate")]
        if let Some(area) = metrics_area.get_untracked() {
            metrics.set(area.value());
        }
        metrics.update(|text| {
            let taken = parse_metric_lines(text).unwrap_or_default();
            let base = metric_name_for(&path);
            let name = std::iter::once(base.clone())
                .chain((2..).map(|n| format!("{base}_{n}")))
                .find(|name| !taken.contains_key(name))
                .unwrap_or(base);
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("{name}: {expression}\n"));
        });
        #[cfg(feature = "hydrate")]
        if let Some(area) = metrics_area.get_untracked() {
            area.set_value(&metrics.get_untracked());
        }
    };
    let selected_interval = match messages.value("interval").parse::<i64>() {
        Ok(secs) => secs,
        Err(_) => options.default_interval,
    };
    let interval_options = options
        .intervals
        .iter()
        .map(|secs| {
            let allowed = *secs >= options.plan_min_interval;
            let label = if *secs == options.default_interval {
                format!("every {} (default)", describe_secs(*secs))
            } else if allowed {
                format!("every {}", describe_secs(*secs))
            } else {
                format!("every {} (upgrade)", describe_secs(*secs))
            };
            let selected = *secs == selected_interval;
            view! { <option value=secs.to_string() selected=selected disabled=!allowed>{label}</option> }
        })
        .collect_view();
    let plan_hint = (options
        .intervals
        .iter()
        .any(|secs| *secs < options.plan_min_interval))
    .then(|| {
        view! {
            <p class="field-hint">
                "The " {options.plan_name.clone()} " plan polls at most every "
                {describe_secs(options.plan_min_interval)} ". "
                <a href="/billing">"Upgrade to poll more often"</a>
            </p>
        }
    });
    let url_error = messages.field_error("url");
    let metrics_error = messages.field_error("metrics");
    let interval_error = messages.field_error("interval");
    let ends_error = messages.field_error("ends_on");
    let (url_bad, metrics_bad, interval_bad, ends_bad) = (
        url_error.is_some(),
        metrics_error.is_some(),
        interval_error.is_some(),
        ends_error.is_some(),
    );
    let open_metrics = !messages.value("metrics").is_empty() || metrics_bad;
    view! {
        <section class="panel" aria-labelledby="add-title">
            <h2 id="add-title">"Add a tracker"</h2>
            <form
                method="post"
                action="/dashboard/trackers"
                class="form add-tracker"
                data-hydrated=move || hydrated.get().to_string()
            >
                <FormError error=messages.error.clone() />
                <div class="field" class:field-invalid=url_bad>
                    <label for="field-url">"Link"</label>
                    <input
                        id="field-url"
                        name="url"
                        type="text"
                        inputmode="url"
                        autocomplete="off"
                        placeholder="https://github.com/owner/repo"
                        maxlength=2_000
                        required
                        value=messages.value("url")
                        node_ref=url_input
                        on:input=on_url
                        aria-invalid=url_bad.then_some("true")
                        aria-describedby="field-url-hint add-preview"
                    />
                    <p class="field-hint" id="field-url-hint">
                        {options.hint.clone()}
                    </p>
                    {url_error.map(|error| {
                        let upgrade = error.contains("Upgrade");
                        view! {
                            <p class="field-error" role="alert">
                                {error} " "
                                {upgrade.then(|| view! { <a href="/billing" data-testid="upgrade-link">"See plans"</a> })}
                            </p>
                        }
                    })}
                </div>
                <div id="add-preview" class="preview" aria-live="polite">
                    {move || match preview.get() {
                        PreviewState::Idle => ().into_any(),
                        PreviewState::Loading => view! {
                            <div class="preview-card skeleton" aria-busy="true">
                                <span class="visually-hidden">"Looking up the link…"</span>
                                <span class="skeleton-line"></span>
                                <span class="skeleton-line short"></span>
                            </div>
                        }.into_any(),
                        PreviewState::Problem(problem) => view! {
                            <p class="preview-card preview-problem" data-testid="preview-problem">{problem}</p>
                        }.into_any(),
                        PreviewState::Ready(found) => view! { <PreviewCard found /> }.into_any(),
                    }}
                </div>
                <details class="json-metrics" open=move || open_metrics || is_json()>
                    <summary>"JSON API: the values to read"</summary>
                    {move || document.get().map(|document| view! {
                        <p class="field-hint">"Click a number to track it, or write JMESPath expressions below."</p>
                        <div class="json-tree" role="tree" aria-label="The JSON document">
                            <JsonNode value=document path=Vec::new() pick depth=0 />
                        </div>
                    })}
                    <div class="field" class:field-invalid=metrics_bad>
                        <label for="field-metrics">"Values, one `name: JMESPath expression` a line"</label>
                        <textarea
                            id="field-metrics"
                            name="metrics"
                            rows="3"
                            spellcheck="false"
                            placeholder="stars: data.stargazers_count"
                            node_ref=metrics_area
                            on:input=move |event| metrics.set(event_target_value(&event))
                        >{messages.value("metrics")}</textarea>
                        {metrics_error.map(|error| view! { <p class="field-error" role="alert">{error}</p> })}
                        <MetricResults metrics document />
                    </div>
                </details>
                <div class="form-row">
                    <Field
                        name="label"
                        label="Label (optional)"
                        value=messages.value("label")
                        error=messages.field_error("label")
                        maxlength=200
                        required=false
                    />
                    <div class="field" class:field-invalid=interval_bad>
                        <label for="field-interval">"Poll"</label>
                        <select id="field-interval" name="interval">{interval_options}</select>
                        {interval_error.map(|error| view! { <p class="field-error" role="alert">{error}</p> })}
                        {plan_hint}
                    </div>
                    <div class="field" class:field-invalid=ends_bad>
                        <label for="field-ends_on">"Stop after (optional, UTC)"</label>
                        <input id="field-ends_on" name="ends_on" type="date" value=messages.value("ends_on") />
                        {ends_error.map(|error| view! { <p class="field-error" role="alert">{error}</p> })}
                    </div>
                </div>
                <button class="button" type="submit">"Track it"</button>
            </form>
        </section>
    }
}

/// What the link is and its values now.
#[component]
fn PreviewCard(found: Preview) -> impl IntoView {
    let values = found
        .values
        .iter()
        .filter(|(_, _, value)| value.is_some() || found.kind != "json")
        .map(|(name, unit, value)| {
            let shown = value.map(format_number).unwrap_or_else(|| "—".into());
            view! {
                <div class="preview-value">
                    <dt>{name.replace('_', " ")}</dt>
                    <dd>{shown} " " <span class="muted">{unit.clone()}</span></dd>
                </div>
            }
        })
        .collect_view();
    view! {
        <div class="preview-card" data-testid="preview" data-kind=found.kind.to_string()>
            <p class="preview-provider">
                <span class="badge">{found.provider.clone()}</span>
                " " <span class="muted">{found.kind.to_string()}</span>
            </p>
            <p class="preview-title">
                <a href=found.url.clone() rel="noopener noreferrer" target="_blank">{found.title.clone()}</a>
                {found.author.clone().map(|author| view! { <span class="muted">" · by " {author}</span> })}
            </p>
            {(found.document.is_some()).then(|| view! {
                <p class="muted">"A JSON API: pick the values to track below."</p>
            })}
            <dl class="preview-values">{values}</dl>
            {(!found.problems.is_empty()).then(|| view! {
                <ul class="preview-problems">
                    {found.problems.iter().map(|problem| view! { <li>{problem.clone()}</li> }).collect_view()}
                </ul>
            })}
        </div>
    }
}

/// Each metric line evaluated against the previewed document, as the user types.
#[component]
fn MetricResults(
    metrics: RwSignal<String>,
    document: Memo<Option<serde_json::Value>>,
) -> impl IntoView {
    move || {
        let text = metrics.get();
        if text.trim().is_empty() {
            return ().into_any();
        }
        let parsed = match parse_metric_lines(&text) {
            Ok(parsed) => parsed,
            Err(problem) => {
                return view! { <p class="metric-result metric-bad">{problem}</p> }.into_any();
            }
        };
        document.with(|document| {
            let Some(document) = document else {
                return ().into_any();
            };
            view! {
                <ul class="metric-results" aria-label="Values read now" aria-live="polite">
                    {parsed
                        .iter()
                        .map(|(name, expression)| match number_at(expression, document) {
                            Ok(value) => view! {
                                <li class="metric-result metric-ok" data-metric=name.clone()>
                                    <code>{name.clone()}</code> " = " <strong>{format_number(value)}</strong>
                                </li>
                            }.into_any(),
                            Err(problem) => view! {
                                <li class="metric-result metric-bad" data-metric=name.clone()>
                                    <code>{name.clone()}</code> ": " {problem}
                                </li>
                            }.into_any(),
                        })
                        .collect_view()}
                </ul>
            }
            .into_any()
        })
    }
}

/// At most this many members of an object or array are listed.
const TREE_LIMIT: usize = 100;

/// One value of the JSON tree: containers open to three levels deep; numbers, numeric
/// strings and booleans are buttons that add their expression.
#[component]
fn JsonNode(
    value: serde_json::Value,
    path: Vec<PathStep>,
    pick: impl Fn(Vec<PathStep>) + Copy + Send + Sync + 'static,
    depth: usize,
) -> AnyView {
    use serde_json::Value;
    let expression = expression_for(&path);
    let leaf = |shown: String, pickable: bool| {
        if pickable {
            let path = path.clone();
            view! {
                <button
                    type="button"
                    class="json-pick"
                    title=format!("Track {expression}")
                    aria-label=format!("Track {expression} ({shown})")
                    on:click=move |_| pick(path.clone())
                >
                    {shown.clone()}
                </button>
            }
            .into_any()
        } else {
            view! { <span class="json-leaf">{shown}</span> }.into_any()
        }
    };
    match value {
        Value::Number(number) => leaf(number.to_string(), true),
        Value::Bool(flag) => leaf(flag.to_string(), true),
        Value::String(text) => {
            let numeric = text.trim().parse::<f64>().is_ok_and(f64::is_finite);
            let shown: String = text.chars().take(60).collect();
            leaf(format!("\"{shown}\""), numeric)
        }
        Value::Null => leaf("null".into(), false),
        Value::Array(items) => {
            let total = items.len();
            let children = items
                .into_iter()
                .take(TREE_LIMIT)
                .enumerate()
                .map(|(index, item)| {
                    let mut child = path.clone();
                    child.push(PathStep::Index(index));
                    view! {
                        <li role="treeitem">
                            <span class="json-key">{format!("[{index}]")}</span> " "
                            <JsonNode value=item path=child pick depth=depth + 1 />
                        </li>
                    }
                })
                .collect_view();
            container(format!("[ {total} ]"), total, children, depth)
        }
        Value::Object(members) => {
            let total = members.len();
            let children = members
                .into_iter()
                .take(TREE_LIMIT)
                .map(|(key, item)| {
                    let mut child = path.clone();
                    child.push(PathStep::Key(key.clone()));
                    view! {
                        <li role="treeitem">
                            <span class="json-key">{key}</span> ": "
                            <JsonNode value=item path=child pick depth=depth + 1 />
                        </li>
                    }
                })
                .collect_view();
            container(format!("{{ {total} }}"), total, children, depth)
        }
    }
}

fn container(
    summary: String,
    total: usize,
    children: impl IntoView + 'static,
    depth: usize,
) -> AnyView {
    let more = (total > TREE_LIMIT).then(|| {
        view! { <li class="muted">{format!("… and {} more", total - TREE_LIMIT)}</li> }
    });
    view! {
        <details class="json-node" open=depth < 3>
            <summary>{summary}</summary>
            <ul role="group">{children} {more}</ul>
        </details>
    }
    .into_any()
}

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::{prelude::*, task::spawn_local};

    use super::PreviewState;
    use crate::api::trackers::preview_tracker;

    /// How long typing must pause before the link is looked up.
    const DEBOUNCE_MS: u64 = 400;

    /// Looks a link up once typing pauses; only the latest lookup's answer is shown.
    pub fn previewer(preview: RwSignal<PreviewState>) -> impl Fn(String) + Copy + 'static {
        let generation = StoredValue::new_local(0_u64);
        let timer = StoredValue::new_local(None::<TimeoutHandle>);
        move |text: String| {
            if let Some(handle) = timer.get_value() {
                handle.clear();
            }
            generation.update_value(|n| *n += 1);
            let current = generation.get_value();
            if text.trim().is_empty() {
                preview.set(PreviewState::Idle);
                return;
            }
            let handle = set_timeout_with_handle(
                move || {
                    preview.set(PreviewState::Loading);
                    spawn_local(async move {
                        let state = match preview_tracker(text, String::new()).await {
                            Ok(Ok(found)) => PreviewState::Ready(found),
                            Ok(Err(problem)) => PreviewState::Problem(problem),
                            Err(error) => PreviewState::Problem(format!(
                                "Could not look the link up: {}",
                                super::server_message(&error)
                            )),
                        };
                        if generation.try_get_value() == Some(current) {
                            preview.set(state);
                        }
                    });
                },
                std::time::Duration::from_millis(DEBOUNCE_MS),
            );
            timer.set_value(handle.ok());
        }
    }

    /// Once the form is live: looks up a link typed before (or kept after a failed
    /// submit), and takes the values typed so far.
    pub fn on_mount(
        url_input: NodeRef<leptos::html::Input>,
        metrics_area: NodeRef<leptos::html::Textarea>,
        metrics: RwSignal<String>,
        look_up: impl Fn(String) + 'static,
    ) {
        Effect::new(move |done: Option<bool>| {
            if done == Some(true) {
                return true;
            }
            let (Some(input), Some(area)) = (url_input.get(), metrics_area.get()) else {
                return false;
            };
            metrics.set(area.value());
            let typed = input.value();
            if !typed.trim().is_empty() {
                look_up(typed);
            }
            true
        });
    }
}

/// A server function error's message for people.
pub fn server_message(error: &ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message.clone(),
        _ => "the server could not be reached; check your connection and try again".into(),
    }
}
