//! The account page: API tokens, the digest email, password, deleting the account. Every
//! form posts to the server (`/account/…`), which answers with a redirect back here and
//! flash messages.

use leptos::prelude::*;
use leptos_meta::Title;

use super::signed_in::SignedIn;
use crate::{
    api::{
        account::{TokenSummary, list_tokens},
        flash::Flash,
        session::{Viewer, WorkspaceChoice},
    },
    components::{
        form::{
            Field, FlashResource, FormError, Notice, PasswordField, PostButton, SelectField,
            flash_resource,
        },
        layout::Panel,
    },
    domain::{DigestFrequency, TokenName},
};

#[component]
pub fn Account() -> impl IntoView {
    // Made here, not in the page (see `SignedIn`).
    let flash = flash_resource();
    let tokens = Resource::new(|| (), |_| list_tokens());
    view! {
        <Title text="Account" />
        <SignedIn path="/account" page=move |viewer| view! { <AccountPage viewer flash tokens /> } />
    }
}

#[component]
fn AccountPage(
    viewer: Viewer,
    flash: FlashResource,
    tokens: Resource<Result<Vec<TokenSummary>, ServerFnError>>,
) -> impl IntoView {
    let digest = viewer.digest;
    let email_verified = viewer.email_verified;
    let workspaces = viewer.workspaces.clone();
    let may_tokens = viewer.may(crate::domain::Action::ManageOwnTokens);
    view! {
        <section class="account" aria-labelledby="account-title">
            <p class="eyebrow">{viewer.workspace_name.clone()}</p>
            <h1 id="account-title">"Account"</h1>
            <p class="account-email">"Signed in as " <strong>{viewer.email.clone()}</strong></p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    let workspaces = workspaces.clone();
                    Suspend::new(async move {
                    let flash = flash.await.ok().flatten();
                    let tokens = tokens.await;
                    let notice = flash.as_ref().and_then(|flash| flash.notice.clone());
                    let new_token = flash.as_ref().and_then(|flash| flash.new_token.clone());
                    view! {
                        <Notice notice />
                        {new_token.map(|shown| view! {
                            <div class="new-token" role="status">
                                <p>
                                    "Your new token " <strong>{shown.name}</strong>
                                    ". Copy it now: it will not be shown again."
                                </p>
                                <code class="token-value" data-testid="new-token">{shown.token}</code>
                            </div>
                        })}
                        <Workspaces workspaces messages=Flash::of(&flash, "new-workspace").unwrap_or_default() />
                        <Tokens tokens messages=Flash::of(&flash, "new-token").unwrap_or_default() editable=may_tokens />
                        <DigestEmail digest email_verified messages=Flash::of(&flash, "digest").unwrap_or_default() />
                        <ChangePassword messages=Flash::of(&flash, "password").unwrap_or_default() />
                        <DeleteAccount messages=Flash::of(&flash, "delete-account").unwrap_or_default() />
                    }
                })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn Tokens(
    tokens: Result<Vec<TokenSummary>, ServerFnError>,
    messages: Flash,
    /// Whether the viewer may make and revoke tokens (viewers see them only).
    editable: bool,
) -> impl IntoView {
    let list = match tokens {
        Ok(tokens) if tokens.is_empty() => view! { <p class="muted">"No API tokens yet."</p> }.into_any(),
        Ok(tokens) => view! {
            <table class="tokens">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Scope"</th>
                        <th scope="col">"Token"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last used"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {tokens
                        .into_iter()
                        .map(|token| {
                            let action = format!("/account/tokens/{}/revoke", token.id);
                            view! {
                                <tr>
                                    <td>{token.name.clone()}</td>
                                    <td>{token.scope.label()}</td>
                                    <td><code>{token.prefix.clone()} "…"</code></td>
                                    <td>{token.created.clone()}</td>
                                    <td>{token.last_used.clone().unwrap_or_else(|| "never".into())}</td>
                                    <td>
                                        {editable.then(|| view! {
                                            <PostButton action text="Revoke" label=format!("Revoke {}", token.name) />
                                        })}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        }
            .into_any(),
        Err(_) => view! { <p class="form-error" role="alert">"Could not load your API tokens. Please reload the page."</p> }.into_any(),
    };
    let scope = messages.value("scope");
    view! {
        <Panel title_id="tokens-title" title="API tokens">
            <p class="muted">
                "Scripts call the API with " <code>"Authorization: Bearer upc_…"</code>
                ". Read-only tokens cannot change anything. "
                <a href="/docs/api" rel="external" data-testid="api-docs-link">"The API reference"</a>
                " lists every endpoint, what it takes and what it answers."
            </p>
            {list}
            {(!editable).then(|| view! {
                <p class="muted read-only-note">"As a viewer of this workspace you cannot make API tokens for it."</p>
            })}
            {editable.then(|| view! {
            <form method="post" action="/account/tokens" class="form form-inline">
                <FormError error=messages.error.clone() />
                <Field
                    name="name"
                    label="Token name"
                    value=messages.value("name")
                    error=messages.field_error("name")
                    maxlength=TokenName::MAX_LEN
                />
                <SelectField id="field-scope" name="scope" label="Scope" error=messages.field_error("scope")>
                    <option value="read" selected=scope != "write">"Read-only"</option>
                    <option value="write" selected=scope == "write">"Read-write"</option>
                </SelectField>
                <button class="button" type="submit">"Create token"</button>
            </form>
            })}
        </Panel>
    }
}

/// The digest email: off, daily or weekly.
#[component]
fn DigestEmail(digest: DigestFrequency, email_verified: bool, messages: Flash) -> impl IntoView {
    // After an invalid choice, the form shows what is saved.
    let options = DigestFrequency::ALL
        .into_iter()
        .map(|choice| {
            view! {
                <option value=choice.as_str() selected=choice == digest>{choice.label()}</option>
            }
        })
        .collect_view();
    view! {
        <Panel title_id="digest-title" title="Digest email">
            <p class="muted">
                "A summary of your trackers: their numbers, how they changed and the alerts that fired. Daily covers the previous day, weekly the previous week (Monday to Sunday, UTC)."
            </p>
            {(!email_verified).then(|| view! {
                <p class="muted">"Confirm your email address to receive it."</p>
            })}
            <form method="post" action="/account/digest" class="form form-inline">
                <FormError error=messages.error.clone() />
                <SelectField id="field-digest" name="digest" label="Send me a digest" error=messages.field_error("digest")>
                    {options}
                </SelectField>
                <button class="button" type="submit">"Save"</button>
            </form>
        </Panel>
    }
}

/// The workspaces the user belongs to (switching is the header's), and a form for a new
/// one.
#[component]
fn Workspaces(workspaces: Vec<WorkspaceChoice>, messages: Flash) -> impl IntoView {
    // Leaving is offered for the current workspace when there is another to land in.
    let leave = (workspaces.len() > 1)
        .then(|| workspaces.iter().find(|workspace| workspace.current))
        .flatten()
        .map(|workspace| workspace.name.clone());
    view! {
        <Panel title_id="workspaces-title" title="Workspaces">
            <ul class="workspace-list" data-testid="workspace-list">
                {workspaces
                    .into_iter()
                    .map(|workspace| view! {
                        <li>
                            <strong>{workspace.name}</strong>
                            " · " {workspace.role.label()}
                            {workspace.current.then(|| view! { <span class="muted">" (current)"</span> })}
                        </li>
                    })
                    .collect_view()}
            </ul>
            <form method="post" action="/workspaces" class="form form-inline">
                <FormError error=messages.error.clone() />
                <Field
                    name="name"
                    id="field-workspace-name"
                    label="New workspace"
                    value=messages.value("name")
                    error=messages.field_error("name")
                    maxlength=100
                />
                <button class="button" type="submit">"Create workspace"</button>
            </form>
            <p class="muted">"A new workspace starts on the Free plan, with you as its owner."</p>
            {leave.map(|name| view! {
                <form method="post" action="/workspaces/leave" class="form form-inline">
                    <button class="button button-secondary" type="submit">{format!("Leave {name}")}</button>
                </form>
            })}
        </Panel>
    }
}

#[component]
fn ChangePassword(messages: Flash) -> impl IntoView {
    view! {
        <Panel title_id="password-title" title="Change password">
            <p class="muted">"Your other sessions are signed out when you change it."</p>
            <form method="post" action="/account/password" class="form">
                <FormError error=messages.error.clone() />
                <PasswordField
                    name="current_password"
                    label="Current password"
                    error=messages.field_error("current_password")
                    autocomplete="current-password"
                />
                <PasswordField
                    name="new_password"
                    label="New password"
                    error=messages.field_error("new_password")
                    autocomplete="new-password"
                    hint="10 to 128 characters."
                />
                <button class="button" type="submit">"Change password"</button>
            </form>
        </Panel>
    }
}

#[component]
fn DeleteAccount(messages: Flash) -> impl IntoView {
    view! {
        <Panel title_id="delete-title" title="Delete account" danger=true>
            <p class="muted">
                "Deletes your account and, if nobody else is in it, your workspace with all its trackers and tokens. This cannot be undone."
            </p>
            <form method="post" action="/account/delete" class="form">
                <FormError error=messages.error.clone() />
                <PasswordField
                    name="password"
                    label="Your password"
                    error=messages.field_error("password")
                    autocomplete="current-password"
                />
                <button class="button button-danger" type="submit">"Delete my account"</button>
            </form>
        </Panel>
    }
}
