//! The console's buttons and filters. Every button posts a form to `/admin/…`.

use leptos::prelude::*;

use crate::components::form::PostButton;

/// A button that posts to `action`, its text naming what it acts on.
pub fn action_button(action: String, label: String) -> impl IntoView {
    view! { <PostButton action text=label inline=true /> }
}

/// View as, suspend or unsuspend, and delete (in two steps, without script).
#[component]
pub fn UserActions(id: String, email: String, suspended: bool) -> impl IntoView {
    let (verb, path) = if suspended {
        ("Unsuspend", "unsuspend")
    } else {
        ("Suspend", "suspend")
    };
    let suspend = action_button(
        format!("/admin/users/{id}/{path}"),
        format!("{verb} {email}"),
    );
    // Always there (a suspended user's is refused with a reason), so that the row's shape
    // never depends on the data.
    let view_as = action_button(
        format!("/admin/users/{id}/view-as"),
        format!("View as {email}"),
    );
    view! {
        {view_as}
        {suspend}
        <details class="confirm">
            <summary>"Delete…"</summary>
            {action_button(
                format!("/admin/users/{id}/delete"),
                format!("Delete {email} for good"),
            )}
        </details>
    }
}

/// Support's override of a workspace's plan; `subscription` goes back to what it pays for.
#[component]
pub fn PlanForm(workspace_id: String, label: String, current: String) -> impl IntoView {
    view! {
        <form method="post" action=format!("/admin/workspaces/{workspace_id}/plan") class="inline-form">
            <select name="plan" aria-label=label>
                {["subscription", "free", "pro", "business"].into_iter().map(|plan| {
                    let selected = plan == current;
                    view! { <option value=plan selected=selected>{plan}</option> }
                }).collect_view()}
            </select>
            <button type="submit" class="button-secondary">"Set plan"</button>
        </form>
    }
}

/// A filter's choices, "any" first.
#[component]
pub fn FilterSelect(
    id: &'static str,
    name: &'static str,
    choices: Vec<String>,
    current: String,
) -> impl IntoView {
    view! {
        <select id=id name=name>
            <option value="" selected=current.is_empty()>"any"</option>
            {choices.into_iter().map(|choice| {
                let selected = choice == current;
                let label = choice.clone();
                view! { <option value=choice selected=selected>{label}</option> }
            }).collect_view()}
        </select>
    }
}
