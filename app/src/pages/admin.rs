//! The admin console (administrators only).

use leptos::prelude::*;
use leptos_meta::Title;

use super::signed_in::SignedIn;

#[component]
pub fn Admin() -> impl IntoView {
    view! {
        <Title text="Admin" />
        <SignedIn
            path="/admin"
            admin_only=true
            page=|viewer| {
                view! {
                    <section aria-labelledby="admin-title">
                        <p class="eyebrow">"Signed in as " {viewer.email.clone()}</p>
                        <h1 id="admin-title">"Admin console"</h1>
                        <p>"Users, workspaces, jobs and billing will be managed here."</p>
                    </section>
                }
            }
        />
    }
}
