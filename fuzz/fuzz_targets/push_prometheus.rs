//! Prometheus text exposition format (`/api/v1/push/prometheus`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = app::domain::push::prometheus::parse(text);
});
