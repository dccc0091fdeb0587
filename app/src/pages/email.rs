//! The pages behind the links sent by email, and around them: confirming an address
//! (`/verify-email?token=…`, one button), "check your inbox" (`/check-inbox`), asking for
//! a password reset (`/forgot-password`) and choosing the new password
//! (`/reset-password?token=…`). Each posts a plain form to the server (`POST` of the same
//! path), so a mail client's link scanner opening a link uses nothing up.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api::flash::Flash,
    components::form::{Field, FormError, Notice, PasswordField, flash_resource},
    domain::Email,
};

/// The query's `token`, as the page's form posts it back.
fn token_param() -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || query.read().get("token").unwrap_or_default()
}

#[component]
pub fn VerifyEmail() -> impl IntoView {
    let token = token_param();
    let flash = flash_resource();
    view! {
        <Title text="Confirm your email address" />
        <section class="auth-card" aria-labelledby="verify-title">
            <h1 id="verify-title">"Confirm your email address"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let flash = flash.await.ok().flatten();
                    let notice = flash.as_ref().and_then(|flash| flash.notice.clone());
                    let error = Flash::of(&flash, "verify").and_then(|flash| flash.error);
                    let has_token = !token().is_empty();
                    view! {
                        <Notice notice=notice.clone() />
                        <FormError error />
                        {(has_token && notice.is_none()).then(|| view! {
                            <form method="post" action="/verify-email" class="form">
                                <input type="hidden" name="token" value=token />
                                <p>"One click and your address is confirmed."</p>
                                <button class="button" type="submit">"Confirm my email address"</button>
                            </form>
                        })}
                        {(!has_token && notice.is_none()).then(|| view! {
                            <p>"Sign in and press \u{201c}Send it again\u{201d} on the banner for a new link."</p>
                        })}
                    }
                })}
            </Suspense>
            <p class="auth-other"><a href="/dashboard">"Go to your dashboard"</a></p>
        </section>
    }
}

#[component]
pub fn CheckInbox() -> impl IntoView {
    let flash = flash_resource();
    view! {
        <Title text="Check your inbox" />
        <section class="auth-card" aria-labelledby="inbox-title">
            <h1 id="inbox-title">"Check your inbox"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let notice = flash.await.ok().flatten().and_then(|flash| flash.notice);
                    let notice = notice.unwrap_or_else(|| "Check your inbox: we sent you a link.".to_string());
                    view! { <p class="notice" role="status" data-testid="check-inbox">{notice}</p> }
                })}
            </Suspense>
            <p class="auth-other">"Nothing came? Look in the spam folder, or " <a href="/sign-in">"sign in"</a> "."</p>
        </section>
    }
}

#[component]
pub fn ForgotPassword() -> impl IntoView {
    let flash = flash_resource();
    view! {
        <Title text="Forgot your password" />
        <section class="auth-card" aria-labelledby="forgot-title">
            <h1 id="forgot-title">"Reset your password"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let flash = flash.await.ok().flatten();
                    let messages = Flash::of(&flash, "forgot").or_else(|| Flash::of(&flash, "reset")).unwrap_or_default();
                    view! {
                        <form method="post" action="/forgot-password" class="form" novalidate=true>
                            <p>"Enter the address of your account: we will email you a link to choose a new password."</p>
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
                            <button class="button" type="submit">"Send me a link"</button>
                        </form>
                    }
                })}
            </Suspense>
            <p class="auth-other">"Remembered it? " <a href="/sign-in">"Sign in"</a></p>
        </section>
    }
}

#[component]
pub fn ResetPassword() -> impl IntoView {
    let token = token_param();
    let flash = flash_resource();
    view! {
        <Title text="Choose a new password" />
        <section class="auth-card" aria-labelledby="reset-title">
            <h1 id="reset-title">"Choose a new password"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let flash = flash.await.ok().flatten();
                    let messages = Flash::of(&flash, "reset").unwrap_or_default();
                    view! {
                        <form method="post" action="/reset-password" class="form" novalidate=true>
                            <input type="hidden" name="token" value=token />
                            <FormError error=messages.error.clone() />
                            <PasswordField
                                name="password"
                                label="New password"
                                error=messages.field_error("password")
                                autocomplete="new-password"
                                hint="10 to 128 characters. Using it signs you out everywhere else."
                            />
                            <button class="button" type="submit">"Set my new password"</button>
                        </form>
                    }
                })}
            </Suspense>
            <p class="auth-other">"Link expired? " <a href="/forgot-password">"Ask for a new one"</a></p>
        </section>
    }
}
