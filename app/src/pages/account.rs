//! The account page: API tokens, password, deleting the account. Every form posts to
//! the server (`/account/…`), which answers with a redirect back here and flash messages.

use leptos::prelude::*;
use leptos_meta::Title;

use super::signed_in::SignedIn;
use crate::{
    api::{
        account::{TokenSummary, list_tokens},
        flash::Flash,
        session::{Viewer, get_flash},
    },
    components::form::{Field, FormError, Notice},
    domain::{Password, TokenName},
};

#[component]
pub fn Account() -> impl IntoView {
    // Made here, not in the page (see `SignedIn`).
    let flash = Resource::new(|| (), |_| get_flash());
    let tokens = Resource::new(|| (), |_| list_tokens());
    view! {
        <Title text="Account" />
        <SignedIn path="/account" page=move |viewer| view! { <AccountPage viewer flash tokens /> } />
    }
}

#[component]
fn AccountPage(
    viewer: Viewer,
    flash: Resource<Result<Option<Flash>, ServerFnError>>,
    tokens: Resource<Result<Vec<TokenSummary>, ServerFnError>>,
) -> impl IntoView {
    view! {
        <section class="account" aria-labelledby="account-title">
            <p class="eyebrow">{viewer.workspace_name.clone()}</p>
            <h1 id="account-title">"Account"</h1>
            <p class="account-email">"Signed in as " <strong>{viewer.email.clone()}</strong></p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
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
                        <Tokens tokens messages=Flash::of(&flash, "new-token").unwrap_or_default() />
                        <ChangePassword messages=Flash::of(&flash, "password").unwrap_or_default() />
                        <DeleteAccount messages=Flash::of(&flash, "delete-account").unwrap_or_default() />
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Tokens(tokens: Result<Vec<TokenSummary>, ServerFnError>, messages: Flash) -> impl IntoView {
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
                                        <form method="post" action=action>
                                            <button
                                                class="button-secondary"
                                                type="submit"
                                                aria-label=format!("Revoke {}", token.name)
                                            >
                                                "Revoke"
                                            </button>
                                        </form>
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
        <section class="panel" aria-labelledby="tokens-title">
            <h2 id="tokens-title">"API tokens"</h2>
            <p class="muted">
                "Scripts call the API with " <code>"Authorization: Bearer upc_…"</code>
                ". Read-only tokens cannot change anything."
            </p>
            {list}
            <form method="post" action="/account/tokens" class="form form-inline">
                <FormError error=messages.error.clone() />
                <Field
                    name="name"
                    label="Token name"
                    value=messages.value("name")
                    error=messages.field_error("name")
                    maxlength=TokenName::MAX_LEN
                />
                <div class="field">
                    <label for="field-scope">"Scope"</label>
                    <select id="field-scope" name="scope">
                        <option value="read" selected=scope != "write">"Read-only"</option>
                        <option value="write" selected=scope == "write">"Read-write"</option>
                    </select>
                    {messages.field_error("scope").map(|error| view! { <p class="field-error" role="alert">{error}</p> })}
                </div>
                <button class="button" type="submit">"Create token"</button>
            </form>
        </section>
    }
}

#[component]
fn ChangePassword(messages: Flash) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="password-title">
            <h2 id="password-title">"Change password"</h2>
            <p class="muted">"Your other sessions are signed out when you change it."</p>
            <form method="post" action="/account/password" class="form">
                <FormError error=messages.error.clone() />
                <Field
                    name="current_password"
                    label="Current password"
                    kind="password"
                    error=messages.field_error("current_password")
                    autocomplete="current-password"
                    maxlength=Password::MAX_LEN
                />
                <Field
                    name="new_password"
                    label="New password"
                    kind="password"
                    error=messages.field_error("new_password")
                    autocomplete="new-password"
                    hint="10 to 128 characters."
                    maxlength=Password::MAX_LEN
                />
                <button class="button" type="submit">"Change password"</button>
            </form>
        </section>
    }
}

#[component]
fn DeleteAccount(messages: Flash) -> impl IntoView {
    view! {
        <section class="panel panel-danger" aria-labelledby="delete-title">
            <h2 id="delete-title">"Delete account"</h2>
            <p class="muted">
                "Deletes your account and, if nobody else is in it, your workspace with all its trackers and tokens. This cannot be undone."
            </p>
            <form method="post" action="/account/delete" class="form">
                <FormError error=messages.error.clone() />
                <Field
                    name="password"
                    label="Your password"
                    kind="password"
                    error=messages.field_error("password")
                    autocomplete="current-password"
                    maxlength=Password::MAX_LEN
                />
                <button class="button button-danger" type="submit">"Delete my account"</button>
            </form>
        </section>
    }
}
