//! Pieces of the server-handled forms: labelled fields with their error, and messages.

use leptos::prelude::*;

/// A labelled input with the error for it, if any.
#[component]
pub fn Field(
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] value: String,
    #[prop(optional_no_strip)] error: Option<String>,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] maxlength: Option<usize>,
    #[prop(default = true)] required: bool,
) -> impl IntoView {
    let id = format!("field-{name}");
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
                aria-invalid=has_error.then_some("true")
                aria-describedby=has_error.then(|| error_id.clone())
            />
            {(!hint.is_empty()).then(|| view! { <p class="field-hint">{hint}</p> })}
            {error.map(|error| view! { <p class="field-error" id=error_id role="alert">{error}</p> })}
        </div>
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
