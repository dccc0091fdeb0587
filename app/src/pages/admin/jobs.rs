//! The console's background jobs: counts by queue and status, and the jobs that failed for
//! good, with retry and discard buttons.

use leptos::prelude::*;

use super::{actions::action_button, table::AdminTable};
use crate::{api::admin::ConsoleJob, components::layout::Panel};

/// The jobs table's columns: the queue, then the apalis job statuses in the order a job
/// goes through them.
const JOB_COLUMNS: [&str; 7] = [
    "Queue", "Pending", "Queued", "Running", "Done", "Failed", "Killed",
];

#[component]
pub fn JobsPanel(counts: Vec<(String, String, i64)>, failed: Vec<ConsoleJob>) -> impl IntoView {
    view! {
        <Panel title_id="jobs-title" title="Jobs">
            <JobCounts counts />
            <AdminTable columns=&["Job", "Status", "Attempts", "Error", "Actions"] rows=failed row=|job| view! { <JobLine job /> } none="No job has failed for good." />
        </Panel>
    }
}

/// Jobs by queue (rows) and status (columns).
#[component]
fn JobCounts(counts: Vec<(String, String, i64)>) -> impl IntoView {
    let mut queues: Vec<String> = counts.iter().map(|(queue, _, _)| queue.clone()).collect();
    queues.dedup();
    let count = move |queue: &str, status: &str| {
        counts
            .iter()
            .find(|(q, s, _)| q == queue && s == status)
            .map_or(0, |(_, _, count)| *count)
    };
    let row = move |queue: String| {
        let cells = JOB_COLUMNS[1..]
            .iter()
            .map(|status| view! { <td>{count(&queue, status)}</td> })
            .collect_view();
        view! { <tr><th scope="row"><code>{queue.clone()}</code></th>{cells}</tr> }
    };
    view! { <AdminTable columns=&JOB_COLUMNS rows=queues row caption="Jobs by queue" testid="job-counts" /> }
}

#[component]
fn JobLine(job: ConsoleJob) -> impl IntoView {
    let retry = action_button(
        format!("/admin/jobs/{}/retry", job.id),
        format!("Retry job {}", job.id),
    );
    let discard = (job.status != "Killed").then(|| {
        action_button(
            format!("/admin/jobs/{}/discard", job.id),
            format!("Discard job {}", job.id),
        )
    });
    view! {
        <tr data-testid=format!("job-{}", job.id)>
            <td><code>{job.queue}</code><br /><code class="muted">{job.id.clone()}</code><br /><span class="muted">{job.run_at}</span></td>
            <td>{job.status.clone()}</td>
            <td>{job.attempts} " of " {job.max_attempts}</td>
            <td>{job.error.unwrap_or_default()}</td>
            <td class="actions">{retry}{discard}</td>
        </tr>
    }
}
