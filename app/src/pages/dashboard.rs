//! The signed-in home page. Trackers arrive with the tracking engine; until then it
//! invites the user to add their first one.

use leptos::prelude::*;
use leptos_meta::Title;

use super::signed_in::SignedIn;

#[component]
pub fn Dashboard() -> impl IntoView {
    view! {
        <Title text="Dashboard" />
        <SignedIn
            path="/dashboard"
            page=|viewer| {
                view! {
                    <section class="dashboard" aria-labelledby="dashboard-title">
                        <p class="eyebrow">{viewer.workspace_name.clone()}</p>
                        <h1 id="dashboard-title">"Dashboard"</h1>
                        <div class="empty-state">
                            <h2>"Add your first tracker"</h2>
                            <p>
                                "Paste the link of a GitHub repository, a YouTube video, a Hacker News post or any JSON API, and Upcount starts charting its numbers."
                            </p>
                        </div>
                    </section>
                }
            }
        />
    }
}
