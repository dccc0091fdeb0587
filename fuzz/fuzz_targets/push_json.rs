//! `POST /api/v1/push` and `POST /api/v1/events` bodies.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = app::domain::push::json::parse(data);
    let _ = app::domain::push::events::parse(data);
});
