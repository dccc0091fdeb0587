//! Server functions and the data they return, by area.

pub mod account;
pub mod admin;
pub mod alerts;
pub mod billing;
pub mod catalogue;
pub mod chart;
pub mod compare;
pub mod members;
/// Kept under `api` for the pages; the type lives in `domain`.
pub use crate::domain::flash;
pub mod session;
pub mod shared;
pub mod streams;
pub mod trackers;
pub mod watches;

/// The server functions that only read, by URL path: the only ones open while an
/// administrator views the site as someone else (read-only). Each is named here on
/// purpose; every other server function counts as a write and is refused then, which
/// `server/tests/api/authz.rs` checks by walking every registered server function.
#[cfg(feature = "ssr")]
pub fn read_only_server_fns() -> [&'static str; 22] {
    use leptos::server_fn::ServerFn;
    [
        account::ListTokens::PATH,
        alerts::GetAlertsPage::PATH,
        alerts::GetTrackerAlerts::PATH,
        billing::GetBilling::PATH,
        billing::ListPlans::PATH,
        catalogue::GetCatalogue::PATH,
        compare::GetComparison::PATH,
        members::GetMembers::PATH,
        members::GetInvitation::PATH,
        session::GetViewer::PATH,
        session::GetFlash::PATH,
        trackers::ListTrackers::PATH,
        trackers::PreviewTracker::PATH,
        trackers::TrackerFormOptions::PATH,
        shared::GetShared::PATH,
        chart::GetTrackerDetail::PATH,
        chart::GetSeriesWindow::PATH,
        chart::GetBackfillStatus::PATH,
        streams::GetChannelStreams::PATH,
        streams::GetStreamRanking::PATH,
        watches::GetWatchesPage::PATH,
        watches::GetWatch::PATH,
    ]
}
