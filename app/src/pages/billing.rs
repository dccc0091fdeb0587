//! Plans and payment: the public pricing page, the billing page (plan, usage against each
//! limit, subscription, upgrade and manage buttons) and the page Stripe Checkout returns
//! to, which says "confirming payment" until Stripe's webhook has landed.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::signed_in::SignedIn;
use crate::{
    api::billing::{BillingView, Plan, describe_days, describe_interval, get_billing, list_plans},
    components::{
        catalogue::Catalogue,
        feedback::Loaded,
        form::{FlashMessages, FlashResource, flash_resource},
    },
};

fn limits(plan: &Plan) -> impl IntoView + use<> {
    view! {
        <ul class="plan-limits">
            <li><strong>{plan.max_trackers}</strong> " trackers"</li>
            <li>"Polls as often as every " <strong>{describe_interval(plan.min_interval_secs)}</strong></li>
            <li>"Every point kept for " <strong>{describe_days(plan.raw_retention_days)}</strong> ", then hourly"</li>
            <li><strong>{plan.max_api_tokens}</strong> " API tokens"</li>
            <li>
                {if plan.max_members == 1 {
                    view! { "Just you" }.into_any()
                } else {
                    view! { <strong>{plan.max_members}</strong> " people in a workspace" }.into_any()
                }}
            </li>
            <li>
                {if plan.max_watches == 0 {
                    view! { "No watches" }.into_any()
                } else {
                    view! { <strong>{plan.max_watches}</strong> " watches: new videos and posts tracked by themselves" }.into_any()
                }}
            </li>
        </ul>
    }
}

/// `/pricing`: every plan and its limits, for everyone.
#[component]
pub fn Pricing() -> impl IntoView {
    let plans = Resource::new(|| (), |_| list_plans());
    view! {
        <Title text="Pricing" />
        <section class="pricing" aria-labelledby="pricing-title">
            <h1 id="pricing-title">"Pricing"</h1>
            <p class="lede">"Start free. Upgrade when you track more, or more often."</p>
            <Loaded
                resource=plans
                failed="Could not load the plans. Please reload the page."
                ready=|plans| view! {
                    <div class="plan-grid">
                        {plans
                            .into_iter()
                            .map(|(plan, _)| view! {
                                <article class="plan-card" data-plan=plan.id.clone()>
                                    <h2>{plan.name.clone()}</h2>
                                    <p class="plan-price">{plan.price()}</p>
                                    {limits(&plan)}
                                </article>
                            })
                            .collect_view()}
                    </div>
                    <p><a class="button" href="/billing">"Choose a plan"</a></p>
                }
            />
            <h2>"Every plan tracks all of these"</h2>
            <Catalogue />
        </section>
    }
}

/// `/billing`: the workspace's plan, usage and subscription.
#[component]
pub fn Billing() -> impl IntoView {
    // Made here, not in the page (see `SignedIn`).
    let flash = flash_resource();
    let billing = Resource::new(|| (), |_| get_billing());
    view! {
        <Title text="Billing" />
        <SignedIn
            path="/billing"
            page=move |viewer| {
                let may_bill = viewer.may(crate::domain::Action::ManageBilling);
                view! { <BillingPage flash billing may_bill /> }
            }
        />
    }
}

fn date_of(rfc3339: &str) -> String {
    rfc3339.get(..10).unwrap_or(rfc3339).to_string()
}

#[component]
fn BillingPage(
    flash: FlashResource,
    billing: Resource<Result<BillingView, ServerFnError>>,
    /// Whether the viewer is an owner (only owners subscribe, change or cancel).
    may_bill: bool,
) -> impl IntoView {
    let query = use_query_map();
    let cancelled = move || query.read().get("checkout").as_deref() == Some("cancelled");
    view! {
        <section class="billing" aria-labelledby="billing-title">
            <h1 id="billing-title">"Billing"</h1>
            {move || cancelled().then(|| view! {
                <p class="notice" role="status">"Checkout was cancelled: nothing was charged."</p>
            })}
            <Loaded
                resource=billing
                failed="Could not load your plan. Please reload the page."
                ready=move |view| view! {
                    <FlashMessages flash forms=&["checkout", "portal"] />
                    <BillingDetails view may_bill />
                }
            />
        </section>
    }
}

#[component]
fn BillingDetails(view: BillingView, may_bill: bool) -> impl IntoView {
    let plan = view.plan.clone();
    let standing = match view.standing.as_str() {
        "active" => view
            .period_end
            .as_deref()
            .map(|end| format!("Paid up. Renews on {}.", date_of(end)))
            .unwrap_or_else(|| "Paid up.".into()),
        "canceling" => view
            .period_end
            .as_deref()
            .map(|end| format!("Cancelled: the plan ends on {}, then Free limits apply.", date_of(end)))
            .unwrap_or_else(|| "Cancelled at the end of the period.".into()),
        "past_due" => format!(
            "A payment failed. Everything keeps working until {}; after that Free limits apply until the invoice is paid.",
            view.grace_ends_at.as_deref().map(date_of).unwrap_or_default()
        ),
        "lapsed" => "A payment failed and the grace period is over: Free limits apply until the invoice is paid.".into(),
        "override" => "Set by Upcount support.".into(),
        _ => "No subscription.".into(),
    };
    let warn = matches!(view.standing.as_str(), "past_due" | "lapsed");
    let paused = (view.paused_by_plan > 0).then(|| {
        view! {
            <p class="notice" data-testid="paused-by-plan">
                {view.paused_by_plan}
                " trackers are paused because they do not fit this plan; they run again when they fit (nothing was deleted)."
            </p>
        }
    });
    let usage_row = |label: &'static str, used: i64, limit: i32| {
        let full = used >= i64::from(limit);
        view! {
            <tr class:usage-full=full>
                <th scope="row">{label}</th>
                <td>{used} " of " {limit}</td>
            </tr>
        }
    };
    let upgrades: Vec<(Plan, bool)> = view
        .plans
        .iter()
        .filter(|(candidate, _)| candidate.rank > plan.rank)
        .cloned()
        .collect();
    let subscribed = matches!(
        view.standing.as_str(),
        "active" | "canceling" | "past_due" | "lapsed"
    );
    view! {
        {view.test_mode.then(|| view! {
            <p class="notice test-mode">"Test mode: payments go to Upcount's built-in Stripe stand-in; no card is charged."</p>
        })}
        <div class=if warn { "panel billing-plan billing-warning" } else { "panel billing-plan" } role=if warn { "alert" } else { "region" } aria-label="Your plan">
            <h2>"Your plan: " <span data-testid="current-plan">{plan.name.clone()}</span></h2>
            <p data-testid="billing-standing">{standing}</p>
            {view.status.clone().map(|status| view! { <p class="muted">"Stripe status: " {status}</p> })}
            {paused}
            <table class="usage">
                <caption>"Usage against this plan's limits"</caption>
                <tbody>
                    {usage_row("Active trackers", view.active_trackers, plan.max_trackers)}
                    {usage_row("API tokens", view.api_tokens, plan.max_api_tokens)}
                    <tr><th scope="row">"Shortest interval"</th><td>{describe_interval(plan.min_interval_secs)}</td></tr>
                    <tr><th scope="row">"Every point kept for"</th><td>{describe_days(plan.raw_retention_days)}</td></tr>
                </tbody>
            </table>
            {view.history_pruned_from.clone().map(|from| {
                let day = from.get(..10).unwrap_or(&from).to_string();
                view! {
                    <p class="notice" data-testid="history-pruned-from">
                        "Points older than " {describe_days(plan.raw_retention_days)}
                        " are kept until " <time datetime=from.clone()>{day}</time>
                        " and pruned from then on. Upgrade before that day to keep them."
                    </p>
                }
            })}
            {(!may_bill).then(|| view! {
                <p class="muted read-only-note">"Only the workspace's owners subscribe, change the plan or cancel."</p>
            })}
            {(view.has_customer && may_bill).then(|| view! {
                <form method="post" action="/billing/portal">
                    <button type="submit" class="button-secondary">"Manage billing, change or cancel"</button>
                </form>
            })}
        </div>
        {(!subscribed || upgrades.iter().any(|(_, buyable)| *buyable)).then(|| view! {
            <div class="plan-grid">
                {upgrades
                    .into_iter()
                    .map(|(candidate, buyable)| {
                        let label = format!("Upgrade to {}", candidate.name);
                        view! {
                            <article class="plan-card" data-plan=candidate.id.clone()>
                                <h2>{candidate.name.clone()}</h2>
                                <p class="plan-price">{candidate.price()}</p>
                                {limits(&candidate)}
                                {if !may_bill {
                                    view! { <p class="muted">"An owner of this workspace can upgrade it."</p> }.into_any()
                                } else if buyable && !subscribed {
                                    view! {
                                        <form method="post" action="/billing/checkout">
                                            <input type="hidden" name="plan" value=candidate.id.clone() />
                                            <button type="submit" class="button">{label}</button>
                                        </form>
                                    }
                                        .into_any()
                                } else if subscribed {
                                    view! { <p class="muted">"Change plans under “Manage billing”."</p> }.into_any()
                                } else {
                                    view! { <p class="muted">"Not for sale on this server: please contact support to change your plan."</p> }.into_any()
                                }}
                            </article>
                        }
                    })
                    .collect_view()}
            </div>
        })}
    }
}

/// `/billing/success`: where Stripe Checkout returns. Says "confirming payment" until the
/// webhook has made the new plan the workspace's, checking every two seconds (with the
/// wasm) or reloading (without).
#[component]
pub fn BillingSuccess() -> impl IntoView {
    // Made here, not in the page (see `SignedIn`).
    let (tick, set_tick) = signal(0u32);
    let billing = Resource::new(move || tick.get(), |_| get_billing());
    view! {
        <Title text="Confirming payment" />
        <SignedIn path="/billing/success" page=move |_| view! { <SuccessPage tick set_tick billing /> } />
    }
}

#[component]
fn SuccessPage(
    tick: ReadSignal<u32>,
    set_tick: WriteSignal<u32>,
    billing: Resource<Result<BillingView, ServerFnError>>,
) -> impl IntoView {
    let confirmed = move || {
        billing
            .get()
            .and_then(Result::ok)
            .filter(|view| view.plan.id != "free" && view.standing != "free")
    };
    Effect::new(move |_| {
        // Ask again until the webhook has landed; give up after two minutes.
        if billing.get().is_some() && confirmed().is_none() && tick.get_untracked() < 60 {
            set_timeout(
                move || set_tick.update(|tick| *tick += 1),
                std::time::Duration::from_secs(2),
            );
        }
    });
    view! {
        <section class="billing" aria-labelledby="success-title">
            <Suspense fallback=|| view! { <p class="loading">"Confirming payment…"</p> }>
                {move || Suspend::new(async move {
                    let view = billing.await;
                    match view {
                        Ok(view) if view.plan.id != "free" && view.standing != "free" => view! {
                            <h1 id="success-title">"Thank you"</h1>
                            <p class="notice" role="status" data-testid="payment-confirmed">
                                "Payment confirmed: you are on the " <strong>{view.plan.name.clone()}</strong> " plan."
                            </p>
                            <p><a class="button" href="/dashboard">"Back to the dashboard"</a></p>
                        }
                            .into_any(),
                        Ok(_) => view! {
                            <noscript><meta http-equiv="refresh" content="3" /></noscript>
                            <h1 id="success-title">"Confirming payment…"</h1>
                            <p role="status" data-testid="payment-confirming">
                                "Stripe has taken the payment; we are waiting for its confirmation. This takes a few seconds."
                            </p>
                        }
                            .into_any(),
                        Err(_) => view! {
                            <h1 id="success-title">"Confirming payment…"</h1>
                            <p class="form-error" role="alert">"Could not check your plan. Please reload the page."</p>
                        }
                            .into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
