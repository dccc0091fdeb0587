//! The JMESPath guard (`check_expression`) and `number_at`: a hostile expression, then a
//! document, separated by the first newline.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let (expression, document) = text.split_once('\n').unwrap_or((text, "{}"));
    if app::server::tracking::providers::json::check_expression("fuzzed", expression).is_err() {
        return;
    }
    if let Ok(document) = serde_json::from_str::<serde_json::Value>(document) {
        let _ = app::domain::json_pick::number_at(expression, &document);
    }
});
