//! Sign-up and sign-in: plain forms the server handles (`POST /sign-up`, `POST /sign-in`),
//! so they work with or without the wasm; errors come back as flash messages.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api::{flash::Flash, session::get_flash},
    components::form::{Field, FormError, Notice},
    domain::{Email, NextPath, Password},
};

#[component]
pub fn SignIn() -> impl IntoView {
    view! {
        <Title text="Sign in" />
        <AuthForm
            form="sign-in"
            title="Sign in"
            action="/sign-in"
            submit="Sign in"
            password_autocomplete="current-password"
            other=view! {
                <p class="auth-other">"New to Upcount? " <a href="/sign-up">"Create an account"</a></p>
            }
                .into_any()
        />
    }
}

#[component]
pub fn SignUp() -> impl IntoView {
    view! {
        <Title text="Sign up" />
        <AuthForm
            form="sign-up"
            title="Create your account"
            action="/sign-up"
            submit="Create account"
            password_autocomplete="new-password"
            password_hint="10 to 128 characters."
            other=view! {
                <p class="auth-other">"Already have an account? " <a href="/sign-in">"Sign in"</a></p>
            }
                .into_any()
        />
    }
}

#[component]
fn AuthForm(
    form: &'static str,
    title: &'static str,
    action: &'static str,
    submit: &'static str,
    password_autocomplete: &'static str,
    #[prop(optional)] password_hint: &'static str,
    other: AnyView,
) -> impl IntoView {
    let query = use_query_map();
    let next = move || {
        NextPath::parse_or_default(query.read().get("next").as_deref())
            .as_ref()
            .to_string()
    };
    let flash = Resource::new(|| (), |_| get_flash());
    view! {
        <section class="auth-card" aria-labelledby="auth-title">
            <h1 id="auth-title">{title}</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let flash = flash.await.ok().flatten();
                    let notice = flash.as_ref().and_then(|flash| flash.notice.clone());
                    let messages = Flash::of(&flash, form).unwrap_or_default();
                    view! {
                        <Notice notice />
                        <form method="post" action=action class="form" novalidate=true>
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
                            <Field
                                name="password"
                                label="Password"
                                kind="password"
                                error=messages.field_error("password")
                                autocomplete=password_autocomplete
                                hint=password_hint
                                maxlength=Password::MAX_LEN
                            />
                            <button class="button" type="submit">{submit}</button>
                        </form>
                    }
                })}
            </Suspense>
            {other}
        </section>
    }
}
