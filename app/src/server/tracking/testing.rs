//! Helpers the unit tests of tracking and billing share.

use chrono::{DateTime, Utc};

/// The time an RFC 3339 text names.
pub(crate) fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a time")
        .with_timezone(&Utc)
}

/// Asserts that `check` refuses each of `inputs` with an error containing `needle`.
pub(crate) fn assert_refused<T: std::fmt::Debug>(
    check: impl Fn(&str) -> Result<T, String>,
    inputs: &[&str],
    needle: &str,
) {
    for input in inputs {
        let error = check(input).expect_err(input);
        assert!(error.contains(needle), "{input}: {error}");
    }
}
