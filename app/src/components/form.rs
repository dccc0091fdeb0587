//! Pieces of the server-handled forms: labelled fields with their error, the flash messages
//! a form comes back with, and forms that are one button.

use leptos::prelude::*;

use crate::{
    api::{flash::Flash, session::get_flash},
    domain::Password,
};

/// The flash messages of the request that led here (read once per page load).
pub type FlashResource = Resource<Result<Option<Flash>, ServerFnError>>;

/// Reads the flash messages; made in a route's component (see `SignedIn`).
pub fn flash_resource() -> FlashResource {
    Resource::new(|| (), |_| get_flash())
}

/// A labelled input with the error for it, if any.
#[component]
pub fn Field(
    name: &'static str,
    /// The input's id when `field-{name}` is taken by another form on the same page.
    #[prop(optional)]
    id: Option<&'static str>,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] value: String,
    #[prop(optional_no_strip)] error: Option<String>,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] maxlength: Option<usize>,
    #[prop(default = true)] required: bool,
    /// The id of a `datalist` of suggestions.
    #[prop(optional)]
    list: Option<&'static str>,
) -> impl IntoView {
    let id = id.map_or_else(|| format!("field-{name}"), str::to_string);
    let error_id = format!("{id}-error");
    let has_error = error.is_some();
    view! {
        <div class="field" class:field-invalid=has_error>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                value=value
                autocomplete=(!autocomplete.is_empty()).then_some(autocomplete)
                maxlength=maxlength
                required=required
                list=list
                aria-invalid=has_error.then_some("true")
                aria-describedby=has_error.then(|| error_id.clone())
            />
            {(!hint.is_empty()).then(|| view! { <p class="field-hint">{hint}</p> })}
            {error.map(|error| view! { <p class="field-error" id=error_id role="alert">{error}</p> })}
        </div>
    }
}

/// A labelled `select` of the `option`s in `children`, with the error for it, if any.
#[component]
pub fn SelectField(
    #[prop(into)] id: String,
    name: &'static str,
    label: &'static str,
    #[prop(optional_no_strip)] error: Option<String>,
    children: Children,
) -> impl IntoView {
    let invalid = error.is_some();
    view! {
        <div class="field" class:field-invalid=invalid>
            <label for=id.clone()>{label}</label>
            <select id=id name=name>{children()}</select>
            {error.map(|error| view! { <p class="field-error" role="alert">{error}</p> })}
        </div>
    }
}

/// A password input with its error, as long as a password may be.
#[component]
pub fn PasswordField(
    name: &'static str,
    label: &'static str,
    #[prop(optional_no_strip)] error: Option<String>,
    autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
) -> impl IntoView {
    view! {
        <Field name label kind="password" error autocomplete hint maxlength=Password::MAX_LEN />
    }
}

/// An error about a whole form.
#[component]
pub fn FormError(error: Option<String>) -> impl IntoView {
    error.map(|error| view! { <p class="form-error" role="alert">{error}</p> })
}

/// A confirmation.
#[component]
pub fn Notice(notice: Option<String>) -> impl IntoView {
    notice.map(|notice| view! { <p class="notice" role="status">{notice}</p> })
}

/// The flash's notice and the error of the first of `forms` that has one. A notice of
/// a flash whose form is one of `except` is left to another part of the page.
#[component]
pub fn FlashMessages(
    flash: FlashResource,
    forms: &'static [&'static str],
    #[prop(optional)] except: &'static [&'static str],
) -> impl IntoView {
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let flash = flash.await.ok().flatten();
                let notice = flash
                    .as_ref()
                    .filter(|flash| !flash.form.as_deref().is_some_and(|form| except.contains(&form)))
                    .and_then(|flash| flash.notice.clone());
                let error = forms
                    .iter()
                    .find_map(|form| Flash::of(&flash, form))
                    .and_then(|flash| flash.error);
                view! {
                    <Notice notice />
                    <FormError error />
                }
            })}
        </Suspense>
    }
}

/// A form that posts to `action` with nothing but its button (`label`: the button's
/// accessible name when its text alone would be ambiguous).
#[component]
pub fn PostButton(
    action: String,
    #[prop(into)] text: String,
    #[prop(optional, into)] label: Option<String>,
    /// Laid out in line with other buttons.
    #[prop(optional)]
    inline: bool,
    /// Hidden fields posted with it (name, value).
    #[prop(optional)]
    hidden: Vec<(&'static str, String)>,
) -> impl IntoView {
    view! {
        <form method="post" action=action class=inline.then_some("inline-form")>
            {hidden
                .into_iter()
                .map(|(name, value)| view! { <input type="hidden" name=name value=value /> })
                .collect_view()}
            <button type="submit" class="button-secondary" aria-label=label>{text}</button>
        </form>
    }
}
