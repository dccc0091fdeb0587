//! One user in the admin console (administrators only): who they are, each workspace
//! they are in with its plan, billing state, trackers and API tokens, every sign-in and
//! refused attempt, and what admins did to them. The same buttons as the console's row.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{
    admin::{AdminTable, AuditTable, PlanForm, UserActions, action_button, role_badges},
    not_found::NotFound,
    signed_in::SignedIn,
};
use crate::{
    api::{
        admin::{
            ConsoleMember, ConsoleMembershipChange, ConsoleSignIn, ConsoleToken, ConsoleTracker,
            ConsoleUserPage, ConsoleWorkspace, admin_user,
        },
        billing::describe_interval,
    },
    components::{
        form::{FlashMessages, FlashResource, flash_resource},
        layout::Panel,
    },
};

#[component]
pub fn AdminUser() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    // Made here, not in the page (see `SignedIn`).
    let user = Resource::new(id, admin_user);
    let flash = flash_resource();
    view! {
        <Title text="User · Admin" />
        <SignedIn path=format!("/admin/users/{}", id()) admin_only=true page=move |_| view! { <UserPage user flash /> } />
    }
}

#[component]
fn UserPage(
    user: Resource<Result<Option<ConsoleUserPage>, ServerFnError>>,
    flash: FlashResource,
) -> impl IntoView {
    view! {
        <section class="admin" aria-labelledby="admin-user-title">
            <p><a href="/admin">"← Admin console"</a></p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match user.await {
                        Ok(Some(user)) => view! {
                            <FlashMessages flash forms=&["admin"] />
                            <UserView user />
                        }
                            .into_any(),
                        Ok(None) => view! { <NotFound /> }.into_any(),
                        Err(_) => view! {
                            <h1 id="admin-user-title">"User"</h1>
                            <p class="form-error" role="alert">"Could not load this user. Please reload the page."</p>
                        }
                            .into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn UserView(user: ConsoleUserPage) -> impl IntoView {
    let shown = user.sign_ins.len();
    let total = user.sign_in_total;
    view! {
        {view! {
            <h1 id="admin-user-title">
                {user.email.clone()}
                {role_badges(&user.role, user.suspended_since.is_some())}
            </h1>
            <dl class="facts">
                <div><dt>"Id"</dt><dd><code>{user.id.clone()}</code></dd></div>
                <div><dt>"Role"</dt><dd>{user.role.clone()}</dd></div>
                <div><dt>"Signed up"</dt><dd>{user.created_at.clone()}</dd></div>
                <div><dt>"Suspended"</dt><dd>{user.suspended_since.clone().map_or_else(|| "no".to_string(), |since| format!("since {since}"))}</dd></div>
            </dl>
            <div class="actions">
                <UserActions id=user.id.clone() email=user.email.clone() suspended=user.suspended_since.is_some() />
            </div>
        }.into_any()}

        {user.workspaces.into_iter().map(|workspace| view! { <WorkspacePanel workspace /> }.into_any()).collect_view()}

        <Panel title_id="sign-ins-title" title="Sign-in history">
            <p class="muted">
                {if total as usize > shown { format!("The newest {shown} of {total}.") } else { format!("{total} in all.") }}
            </p>
            <AdminTable columns=&["When", "Outcome", "Address", "Browser"] rows=user.sign_ins row=|sign_in| view! { <SignInLine sign_in /> } none="Never signed in." testid="sign-ins" />
        </Panel>
        <Panel title_id="user-audit-title" title="Admin actions">
            <AuditTable rows=user.audit testid="user-audit" empty="No admin has acted on this user." />
        </Panel>
    }
}

fn outcome_label(outcome: &str) -> &'static str {
    match outcome {
        "signed_in" => "signed in",
        "signed_up" => "signed up",
        "wrong_password" => "wrong password",
        "suspended" => "refused: suspended",
        _ => "other",
    }
}

#[component]
fn SignInLine(sign_in: ConsoleSignIn) -> impl IntoView {
    let refused = matches!(sign_in.outcome.as_str(), "wrong_password" | "suspended");
    view! {
        <tr>
            <td>{sign_in.at}</td>
            <td class:refused=refused>{outcome_label(&sign_in.outcome)}</td>
            <td><code>{sign_in.ip}</code></td>
            <td class="muted">{sign_in.user_agent.unwrap_or_else(|| "unknown".into())}</td>
        </tr>
    }
}

#[component]
fn WorkspacePanel(workspace: ConsoleWorkspace) -> impl IntoView {
    let billing = workspace.billing;
    let plan = billing.plan.clone();
    let standing = match billing.standing.as_str() {
        "free" => "Free, no subscription".to_string(),
        "active" => format!(
            "paid up{}",
            billing
                .period_end
                .as_ref()
                .map(|at| format!(", renews {at}"))
                .unwrap_or_default()
        ),
        "canceling" => format!(
            "cancelled{}",
            billing
                .period_end
                .as_ref()
                .map(|at| format!(", ends {at}"))
                .unwrap_or_default()
        ),
        "past_due" => format!(
            "payment failed{}",
            billing
                .grace_ends_at
                .as_ref()
                .map(|at| format!(", grace ends {at}"))
                .unwrap_or_default()
        ),
        "lapsed" => "grace period over: Free limits apply".to_string(),
        "override" => "set by support".to_string(),
        other => other.to_string(),
    };
    let current = workspace
        .plan_override
        .clone()
        .unwrap_or_else(|| "subscription".into());
    let more = workspace.tracker_total - workspace.trackers.len() as i64;
    let token_line = |token: ConsoleToken| {
        view! {
            <tr>
                <td>{token.name}</td>
                <td><code>{format!("{}…", token.prefix)}</code></td>
                <td>{token.scope}</td>
                <td>{token.created_at} {token.created_by.map(|by| format!(" by {by}"))}</td>
                <td>{token.last_used_at.unwrap_or_else(|| "never".into())}</td>
            </tr>
        }
    };
    let member_line = |member: ConsoleMember| {
        view! {
            <tr>
                <td><a href=format!("/admin/users/{}", member.user_id)>{member.email}</a></td>
                <td>{member.role}</td>
                <td>{member.joined_at}</td>
            </tr>
        }
    };
    let change_line = |change: ConsoleMembershipChange| {
        view! {
            <tr data-action=change.action>
                <td>{change.at}</td>
                <td>{change.summary}</td>
            </tr>
        }
    };
    view! {
        <section class="panel" aria-label=format!("Workspace {}", workspace.name) data-testid=format!("workspace-{}", workspace.id)>
            {view! {
            <h2>
                "Workspace " {workspace.name.clone()}
                {workspace.suspended.then(|| view! { " " <span class="badge badge-warn">"not polling: suspended"</span> })}
            </h2>
            <dl class="facts">
                <div><dt>"Id"</dt><dd><code>{workspace.id.clone()}</code></dd></div>
                <div><dt>"Their role"</dt><dd>{workspace.role.clone()} {format!(" (of {} members)", workspace.members)}</dd></div>
                <div><dt>"Plan"</dt><dd data-testid="plan">{plan.name.clone()}</dd></div>
                <div><dt>"Billing"</dt><dd data-testid="standing">{standing} {billing.status.clone().map(|status| format!(" (Stripe: {status})"))}</dd></div>
                <div><dt>"Trackers"</dt><dd>{format!("{} active of {}", billing.active_trackers, plan.max_trackers)} {(billing.paused_by_plan > 0).then(|| format!(", {} paused by the plan", billing.paused_by_plan))}</dd></div>
                <div><dt>"API tokens"</dt><dd>{format!("{} of {}", billing.api_tokens, plan.max_api_tokens)}</dd></div>
                <div><dt>"Stripe customer"</dt><dd><code>{workspace.stripe_customer_id.clone().unwrap_or_else(|| "none".into())}</code></dd></div>
                <div><dt>"Subscription"</dt><dd><code>{workspace.subscription_id.clone().unwrap_or_else(|| "none".into())}</code></dd></div>
            </dl>
            <div class="actions">
                <PlanForm workspace_id=workspace.id.clone() label=format!("Plan of workspace {}", workspace.name) current />
            </div>
            }.into_any()}

            <h3>"Trackers"</h3>
            <AdminTable columns=&["Tracker", "Source", "Interval", "State", "Last poll", "Actions"] rows=workspace.trackers row=|tracker| view! { <TrackerLine tracker /> } none="No trackers." testid="trackers" />
            {(more > 0).then(|| view! { <p class="muted">{format!("And {more} older trackers.")}</p> })}
            <h3>"API tokens"</h3>
            <AdminTable columns=&["Name", "Token", "Scope", "Created", "Last used"] rows=workspace.tokens row=token_line none="No API tokens." testid="tokens" />
            <h3>"Members"</h3>
            <AdminTable columns=&["Email", "Role", "Joined"] rows=workspace.people row=member_line none="No members." testid="members" />
            <h3>"Membership changes"</h3>
            <AdminTable columns=&["When", "Change"] rows=workspace.membership_changes row=change_line none="No changes recorded." testid="membership-changes" />
        </section>
    }
}

#[component]
fn TrackerLine(tracker: ConsoleTracker) -> impl IntoView {
    let state = if tracker.paused_by_plan {
        "paused by the plan".to_string()
    } else if tracker.paused {
        "paused".to_string()
    } else {
        format!("source {}", tracker.source_state)
    };
    let source = tracker.source_id;
    view! {
        <tr>
            <td>{tracker.label}<br /><span class="muted">{format!("added {}", tracker.created_at)}</span></td>
            <td><code>{tracker.kind}</code> " " {tracker.key}<br /><code class="muted">{format!("source {source}")}</code></td>
            <td>{describe_interval(tracker.interval_secs)}</td>
            <td>{state}</td>
            <td>{tracker.last_poll_at.unwrap_or_else(|| "never".into())}</td>
            <td class="actions">
                {action_button(format!("/admin/sources/{source}/poll-now"), format!("Poll source {source} now"))}
            </td>
        </tr>
    }
}
