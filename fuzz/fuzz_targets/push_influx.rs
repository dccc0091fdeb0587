//! InfluxDB line protocol (`/api/v1/push/influx`), at each precision: the first byte
//! picks it.
#![no_main]

use app::domain::push::influx::{Precision, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((choice, body)) = data.split_first() else {
        return;
    };
    let precision = match choice % 6 {
        0 => Precision::Nanoseconds,
        1 => Precision::Microseconds,
        2 => Precision::Milliseconds,
        3 => Precision::Seconds,
        4 => Precision::Minutes,
        _ => Precision::Hours,
    };
    let _ = parse(&String::from_utf8_lossy(body), precision);
});
