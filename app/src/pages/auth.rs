//! Sign-up and sign-in: plain forms the server handles (`POST /sign-up`, `POST /sign-in`),
//! so they work with or without the wasm; errors come back as flash messages.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api::flash::Flash,
    components::form::{Field, FormError, Notice, PasswordField, flash_resource},
    domain::{Email, NextPath},
};

#[component]
pub fn SignIn() -> impl IntoView {
    view! {
        <AuthForm form="sign-in" tab="Sign in" title="Sign in" submit="Sign in" password_autocomplete="current-password"
            other=("New to Upcount? ", "/sign-up", "Create an account") />
    }
}

#[component]
pub fn SignUp() -> impl IntoView {
    view! {
        <AuthForm form="sign-up" tab="Sign up" title="Create your account" submit="Create account" password_autocomplete="new-password"
            password_hint="10 to 128 characters." other=("Already have an account? ", "/sign-in", "Sign in") />
    }
}

/// The form `form`, posted to `/{form}`, under the page title `tab`; `other` (a question,
/// then the address and text of a link) leads to the other form.
#[component]
fn AuthForm(
    form: &'static str,
    tab: &'static str,
    title: &'static str,
    submit: &'static str,
    password_autocomplete: &'static str,
    #[prop(optional)] password_hint: &'static str,
    other: (&'static str, &'static str, &'static str),
) -> impl IntoView {
    let query = use_query_map();
    let next = move || {
        NextPath::parse_or_default(query.read().get("next").as_deref())
            .as_ref()
            .to_string()
    };
    let flash = flash_resource();
    let (question, other_href, other_text) = other;
    view! {
        <Title text=tab />
        <section class="auth-card" aria-labelledby="auth-title">
            <h1 id="auth-title">{title}</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let flash = flash.await.ok().flatten();
                    let notice = flash.as_ref().and_then(|flash| flash.notice.clone());
                    let messages = Flash::of(&flash, form).unwrap_or_default();
                    view! {
                        <Notice notice />
                        <form method="post" action=format!("/{form}") class="form" novalidate=true>
                            <input type="hidden" name="next" value=next />
                            <FormError error=messages.error.clone() />
                            <Field
                                name="email"
                                label="Email"
                                kind="email"
                                value=messages.value("email")
                                error=messages.field_error("email")
                                autocomplete="email"
                                maxlength=Email::MAX_LEN
                            />
                            <PasswordField
                                name="password"
                                label="Password"
                                error=messages.field_error("password")
                                autocomplete=password_autocomplete
                                hint=password_hint
                            />
                            <button class="button" type="submit">{submit}</button>
                        </form>
                    }
                })}
            </Suspense>
            {(form == "sign-in").then(|| view! {
                <p class="auth-other"><a href="/forgot-password">"Forgot your password?"</a></p>
            })}
            <p class="auth-other">{question} <a href=other_href>{other_text}</a></p>
        </section>
    }
}
