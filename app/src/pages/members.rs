//! The Members page (who is in the workspace, open invitations, the audit trail) and the
//! page behind an invitation link. Every form posts to the server (`/members/…`,
//! `/invitations/{token}`), which answers with a redirect and flash messages.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::signed_in::SignedIn;
use crate::{
    api::{
        flash::Flash,
        members::{InvitationView, LinkStatus, MembersPage, get_invitation, get_members},
        session::Viewer,
    },
    components::{
        form::{
            Field, FlashResource, FormError, Notice, PasswordField, PostButton, SelectField,
            flash_resource,
        },
        layout::Panel,
    },
    domain::WorkspaceRole,
};

type MembersResource = Resource<Result<MembersPage, ServerFnError>>;

/// `/members`.
#[component]
pub fn Members() -> impl IntoView {
    // Made here, not in the page (see `SignedIn`).
    let flash = flash_resource();
    let page = Resource::new(|| (), |_| get_members());
    view! {
        <Title text="Members" />
        <SignedIn path="/members" page=move |viewer| view! { <MembersView viewer flash page /> } />
    }
}

#[component]
fn MembersView(viewer: Viewer, flash: FlashResource, page: MembersResource) -> impl IntoView {
    view! {
        <section class="members" aria-labelledby="members-title">
            <p class="eyebrow">{viewer.workspace_name.clone()}</p>
            <h1 id="members-title">"Members"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let flash = flash.await.ok().flatten();
                    let notice = flash.as_ref().and_then(|flash| flash.notice.clone());
                    match page.await {
                        Ok(page) => view! {
                            <Notice notice />
                            <MemberList page=page.clone() messages=Flash::of(&flash, "member").unwrap_or_default() />
                            <Invitations page=page.clone() messages=Flash::of(&flash, "invite").unwrap_or_default() />
                            <Audit page=page.clone() />
                            <DeleteWorkspace page messages=Flash::of(&flash, "delete-workspace").unwrap_or_default() />
                        }
                            .into_any(),
                        Err(_) => view! {
                            <p class="form-error" role="alert">"Could not load the members. Please reload the page."</p>
                        }
                            .into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The `option`s of a role select, `selected` chosen; owners only offered to owners.
fn role_options(selected: WorkspaceRole, with_owner: bool) -> impl IntoView {
    WorkspaceRole::ALL
        .into_iter()
        .filter(move |role| with_owner || *role != WorkspaceRole::Owner)
        .map(|role| view! { <option value=role.as_str() selected=role == selected>{role.label()}</option> })
        .collect_view()
}

#[component]
fn MemberList(page: MembersPage, messages: Flash) -> impl IntoView {
    let can_manage = page.can_manage;
    let is_owner = page.is_owner;
    let rows = page
        .members
        .into_iter()
        .map(|member| {
            let base = format!("/members/{}", member.user_id);
            // Only owners touch owners (the server checks it too).
            let may_change = can_manage && (is_owner || member.role != WorkspaceRole::Owner);
            let controls = if member.is_me {
                view! {
                    <PostButton action="/workspaces/leave".to_string() text="Leave" label="Leave this workspace" inline=true />
                }
                    .into_any()
            } else if may_change {
                let select_id = format!("role-{}", member.user_id);
                let email = member.email.clone();
                view! {
                    <form method="post" action=format!("{base}/role") class="inline-form">
                        <label class="visually-hidden" for=select_id.clone()>{format!("Role of {email}")}</label>
                        <select id=select_id name="role">{role_options(member.role, is_owner)}</select>
                        <button class="button button-small" type="submit">"Change role"</button>
                    </form>
                    <PostButton action=format!("{base}/remove") text="Remove" label=format!("Remove {}", member.email) inline=true />
                    {is_owner.then(|| view! {
                        <PostButton
                            action="/members/transfer".to_string()
                            text="Make owner, become admin"
                            label=format!("Hand the workspace to {}", member.email)
                            inline=true
                            hidden=vec![("user_id", member.user_id.clone())]
                        />
                    })}
                }
                    .into_any()
            } else {
                ().into_any()
            };
            view! {
                <tr data-testid="member-row">
                    <td>{member.email.clone()} {member.is_me.then(|| view! { <span class="muted">" (you)"</span> })}</td>
                    <td class="member-role">{member.role.label()}</td>
                    <td>{member.joined.clone()}</td>
                    <td class="member-actions">{controls}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Panel title_id="member-list-title" title="People">
            <FormError error=messages.error.clone() />
            <p class="muted">
                "Owners manage billing and members; admins manage members and everything but billing; editors change trackers, alerts and shares; viewers read everything and change nothing."
            </p>
            <table class="members-table">
                <thead>
                    <tr>
                        <th scope="col">"Email"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Joined"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </Panel>
    }
}

#[component]
fn Invitations(page: MembersPage, messages: Flash) -> impl IntoView {
    let can_manage = page.can_manage;
    let open = page.invitations;
    let list = if open.is_empty() {
        view! { <p class="muted">"No open invitations."</p> }.into_any()
    } else {
        view! {
            <table class="invitations-table">
                <thead>
                    <tr>
                        <th scope="col">"Email"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Sent"</th>
                        <th scope="col">"Expires"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {open
                        .into_iter()
                        .map(|invitation| {
                            let base = format!("/members/invitations/{}", invitation.id);
                            view! {
                                <tr data-testid="invitation-row">
                                    <td>
                                        {invitation.email.clone()}
                                        {invitation.anyone_with_link.then(|| view! { <span class="muted">" (anyone with the link)"</span> })}
                                    </td>
                                    <td>{invitation.role.label()}</td>
                                    <td>{invitation.sent.clone()} {invitation.invited_by.clone().map(|by| format!(" by {by}"))}</td>
                                    <td>{if invitation.expired { "expired".to_string() } else { invitation.expires.clone() }}</td>
                                    <td>
                                        {can_manage.then(|| view! {
                                            <PostButton action=format!("{base}/resend") text="Send again" label=format!("Send the invitation to {} again", invitation.email) inline=true />
                                            <PostButton action=format!("{base}/revoke") text="Revoke" label=format!("Revoke the invitation to {}", invitation.email) inline=true />
                                        })}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        }
            .into_any()
    };
    let role = WorkspaceRole::parse(&messages.value("role")).unwrap_or(WorkspaceRole::Editor);
    let people = if page.max_members == 1 {
        "1 person".to_string()
    } else {
        format!("{} people", page.max_members)
    };
    view! {
        <Panel title_id="invitations-title" title="Invitations">
            {list}
            {can_manage.then(|| view! {
                <form method="post" action="/members/invitations" class="form form-inline">
                    <FormError error=messages.error.clone() />
                    <Field
                        name="email"
                        id="field-invite-email"
                        kind="email"
                        label="Invite by email"
                        value=messages.value("email")
                        error=messages.field_error("email")
                        autocomplete="off"
                    />
                    <SelectField id="field-invite-role" name="role" label="Role" error=messages.field_error("role")>
                        {role_options(role, page.is_owner)}
                    </SelectField>
                    <label class="checkbox">
                        <input type="checkbox" name="anyone_with_link" value="on" />
                        " Anyone with the link may accept"
                    </label>
                    <button class="button" type="submit">"Send invitation"</button>
                </form>
            })}
            <p class="muted">
                {format!("The {} plan has room for {people} in a workspace, open invitations included. ", page.plan_name)}
                "An invitation's link works once, for 7 days."
            </p>
        </Panel>
    }
}

#[component]
fn Audit(page: MembersPage) -> impl IntoView {
    (page.can_manage).then(|| {
        let entries = page.audit;
        view! {
            <Panel title_id="audit-title" title="Audit trail">
                {if entries.is_empty() {
                    view! { <p class="muted">"Nothing yet."</p> }.into_any()
                } else {
                    view! {
                        <ol class="audit-trail" data-testid="audit-trail">
                            {entries
                                .into_iter()
                                .map(|entry| view! {
                                    <li><time>{entry.at}</time> " " {entry.summary}</li>
                                })
                                .collect_view()}
                        </ol>
                    }
                        .into_any()
                }}
            </Panel>
        }
    })
}

/// For owners: deleting the workspace, confirmed by typing its name.
#[component]
fn DeleteWorkspace(page: MembersPage, messages: Flash) -> impl IntoView {
    if !page.is_owner {
        // A refusal (someone posted the form without being an owner) still says why.
        return view! { <FormError error=messages.error.clone() /> }.into_any();
    }
    {
        view! {
            <Panel title_id="delete-workspace-title" title="Delete workspace" danger=true>
                <p class="muted">
                    {format!("Deletes {} for everyone in it: its subscription is cancelled at once, and its trackers, alerts, shares, tokens and invitations are deleted. This cannot be undone.", page.workspace_name)}
                </p>
                <form method="post" action="/workspaces/delete" class="form">
                    <FormError error=messages.error.clone() />
                    <Field
                        name="confirm"
                        id="field-delete-workspace"
                        label="Type the workspace's name to confirm"
                        error=messages.field_error("confirm")
                        autocomplete="off"
                    />
                    <button class="button button-danger" type="submit">"Delete this workspace"</button>
                </form>
            </Panel>
        }
        .into_any()
    }
}

/// `/invitations/{token}`: who invited whom into what, and a button to join (or a form
/// to sign up and join at once).
#[component]
pub fn InvitationPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let flash = flash_resource();
    let invitation = Resource::new(token, get_invitation);
    view! {
        <Title text="Invitation" />
        <section class="auth-card" aria-labelledby="invitation-title">
            <h1 id="invitation-title">"Join a workspace"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let flash = flash.await.ok().flatten();
                    let messages = Flash::of(&flash, "invitation").unwrap_or_default();
                    let notice = flash.as_ref().and_then(|flash| flash.notice.clone());
                    let found = invitation.await;
                    let page = match found {
                        Ok(Some(found)) => view! { <Invited found token=token() messages /> }.into_any(),
                        Ok(None) => view! {
                            <p class="form-error" role="alert">
                                "This invitation link is not valid. Ask whoever invited you for a new one."
                            </p>
                        }
                            .into_any(),
                        Err(_) => view! {
                            <p class="form-error" role="alert">"Could not load this invitation. Please reload the page."</p>
                        }
                            .into_any(),
                    };
                    view! { <Notice notice /> {page} }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Invited(found: InvitationView, token: String, messages: Flash) -> impl IntoView {
    let from = found
        .invited_by
        .clone()
        .unwrap_or_else(|| "Someone".to_string());
    let intro = view! {
        <p data-testid="invitation-summary">
            <strong>{from}</strong> " invited " <strong>{found.email.clone()}</strong>
            " to " <strong>{found.workspace_name.clone()}</strong> " as " {found.role.label()} "."
        </p>
    };
    let action = match found.status {
        LinkStatus::Expired => view! {
            <p class="form-error" role="alert">"This invitation expired. Ask whoever invited you to send it again."</p>
        }
            .into_any(),
        LinkStatus::Accepted => view! {
            <p class="form-error" role="alert">"This invitation was used already. Ask whoever invited you for a new one."</p>
        }
            .into_any(),
        LinkStatus::Revoked => view! {
            <p class="form-error" role="alert">"This invitation was revoked."</p>
        }
            .into_any(),
        LinkStatus::Open => match found.signed_in_as.clone() {
            Some(email) => {
                let other = !found.anyone_with_link && !email.eq_ignore_ascii_case(&found.email);
                view! {
                    <p class="muted">"You are signed in as " {email.clone()} "."</p>
                    {other.then(|| view! {
                        <p class="form-error" role="alert">
                            {format!("This invitation is for {}: sign out and sign in as {} to accept it.", found.email, found.email)}
                        </p>
                    })}
                    <form method="post" action=format!("/invitations/{token}") class="form">
                        <FormError error=messages.error.clone() />
                        <button class="button" type="submit">{format!("Join {}", found.workspace_name)}</button>
                    </form>
                }
                    .into_any()
            }
            None => {
                let back = format!("/invitations/{token}");
                let sign_in = crate::domain::NextPath::sign_in_url(&back);
                let email = if messages.value("email").is_empty() {
                    found.email.clone()
                } else {
                    messages.value("email")
                };
                view! {
                    <p class="muted">"New to Upcount? Create your account and join at once."</p>
                    <form method="post" action="/sign-up" class="form" novalidate=true>
                        <input type="hidden" name="next" value=back />
                        <input type="hidden" name="invitation" value=token.clone() />
                        <FormError error=messages.error.clone() />
                        <Field
                            name="email"
                            kind="email"
                            label="Email"
                            value=email
                            error=messages.field_error("email")
                            autocomplete="email"
                        />
                        <PasswordField
                            name="password"
                            label="Password"
                            error=messages.field_error("password")
                            autocomplete="new-password"
                            hint="10 to 128 characters."
                        />
                        <button class="button" type="submit">"Create account and join"</button>
                    </form>
                    <p class="auth-other">"Have an account? " <a href=sign_in>"Sign in to accept"</a></p>
                }
                    .into_any()
            }
        },
    };
    view! { {intro} {action} }
}
