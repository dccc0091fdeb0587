//! What the chart and series endpoints read from a query string: times, ranges, series
//! and label names, event labels.
#![no_main]

use app::domain::{
    chart::ChartRange,
    push::{events::parse_event_labels, series},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let default = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    let _ = upcount::routes::trackers::time_param("from", Some(text), default);
    let _ = ChartRange::parse(text);
    let _ = series::check_metric_name(text);
    let _ = series::check_label_name(text);
    let _ = series::split_series_names(text);
    let _ = parse_event_labels(text);
});
