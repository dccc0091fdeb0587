//! The console's tables: each scrolls sideways on a narrow screen and says so when it has
//! no rows.

use leptos::prelude::*;

use crate::{api::admin::ConsoleAudit, components::table::column_heads};

/// A table of the console: a `row` per item of `rows`. `none` is the row shown when there
/// are no items (no row when it is empty itself).
#[component]
pub fn AdminTable<T, F, V>(
    columns: &'static [&'static str],
    rows: Vec<T>,
    row: F,
    #[prop(optional)] none: &'static str,
    #[prop(optional)] caption: &'static str,
    #[prop(optional)] testid: &'static str,
) -> impl IntoView
where
    T: 'static,
    F: Fn(T) -> V + 'static,
    V: IntoView + 'static,
{
    let none = (rows.is_empty() && !none.is_empty())
        .then(|| view! { <tr><td colspan=columns.len() class="muted">{none}</td></tr> });
    let rows = rows.into_iter().map(row).collect_view();
    view! {
        <div class="table-scroll">
            <table class="admin-table" data-testid=(!testid.is_empty()).then_some(testid)>
                {(!caption.is_empty()).then(|| view! { <caption>{caption}</caption> })}
                {column_heads(columns)}
                <tbody>{none}{rows}</tbody>
            </table>
        </div>
    }
}

/// Admin actions, newest first.
#[component]
pub fn AuditTable(
    rows: Vec<ConsoleAudit>,
    testid: &'static str,
    empty: &'static str,
) -> impl IntoView {
    let row = |row: ConsoleAudit| {
        view! {
            <tr><td>{row.at}</td><td>{row.actor}</td><td>{row.action}</td><td><code>{row.target}</code></td><td><code>{row.detail}</code></td></tr>
        }
    };
    view! { <AdminTable columns=&["When", "Who", "What", "Target", "Detail"] rows row none=empty testid /> }
}
