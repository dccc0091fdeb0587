//! The console's users and their workspaces: a search by email or id, and a row per user
//! with the buttons that act on them.

use leptos::prelude::*;

use super::{
    actions::{PlanForm, UserActions},
    role_badges,
    table::AdminTable,
};
use crate::{api::admin::ConsoleUser, components::layout::Panel};

/// The search and the users it finds. `provider` and `state` are the sources' filter,
/// kept when searching.
#[component]
pub fn UsersPanel(
    users: Vec<ConsoleUser>,
    q: String,
    provider: String,
    state: String,
) -> impl IntoView {
    view! {
        <Panel title_id="users-title" title="Users and workspaces">
            <form method="get" action="/admin" class="form form-inline" role="search">
                <label for="admin-q">"Email or id"</label>
                <input id="admin-q" name="q" type="search" value=q />
                <input type="hidden" name="provider" value=provider />
                <input type="hidden" name="state" value=state />
                <button type="submit">"Search"</button>
            </form>
            <AdminTable columns=&["Email", "Plan", "Trackers", "Tokens", "Last sign-in", "Actions"] rows=users row=|user| view! { <UserLine user /> } none="No user matches." />
        </Panel>
    }
}

#[component]
fn UserLine(user: ConsoleUser) -> impl IntoView {
    let refused = user.refused_sign_ins_last_day;
    view! {
        <tr data-testid=format!("user-{}", user.email)>
            <td>
                <a href=format!("/admin/users/{}", user.id)>{user.email.clone()}</a>
                {role_badges(&user.role, user.suspended)}
                <br /><code class="muted">{user.id.clone()}</code>
            </td>
            <td>{user.plan.clone()} {user.subscription_status.map(|status| format!(" ({status})"))}</td>
            <td>{user.trackers}</td>
            <td>{user.tokens}</td>
            <td>
                {user.last_sign_in.unwrap_or_else(|| "never".into())}
                <br />
                <span class="muted">{format!("{refused} refused in 24 h")}</span>
            </td>
            <td class="actions">
                <UserActions id=user.id.clone() email=user.email.clone() suspended=user.suspended />
                <PlanForm workspace_id=user.workspace_id label=format!("Plan of {}", user.email) current=user.plan />
            </td>
        </tr>
    }
}
