//! Pieces of the data tables.

use leptos::prelude::*;

/// A table's head: one column header per name.
pub fn column_heads(columns: &[&'static str]) -> impl IntoView + use<> {
    let heads = columns
        .iter()
        .map(|column| view! { <th scope="col">{*column}</th> })
        .collect_view();
    view! {
        <thead>
            <tr>{heads}</tr>
        </thead>
    }
}
