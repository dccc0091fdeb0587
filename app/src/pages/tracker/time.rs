//! Times and durations as the tracker page writes them.

/// Milliseconds since the epoch as RFC 3339 UTC (`2026-01-01T01:30:00Z`).
pub(super) fn rfc3339(millis: i64) -> String {
    let text = utc(millis);
    let secs = millis.div_euclid(1000).rem_euclid(60);
    format!("{}T{}:{secs:02}Z", &text[..10], &text[11..])
}

/// 3600 → "1 h", 900 → "15 min", 86400 → "1 d".
pub fn describe_secs(secs: i64) -> String {
    if secs % 86_400 == 0 {
        format!("{} d", secs / 86_400)
    } else if secs % 3_600 == 0 {
        format!("{} h", secs / 3_600)
    } else if secs % 60 == 0 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

/// Milliseconds since the epoch as "YYYY-MM-DD HH:MM" UTC.
pub fn utc(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        of_day / 3_600,
        of_day % 3_600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::{describe_secs, rfc3339, utc};

    #[test]
    fn times_and_durations_read_well() {
        assert_eq!(utc(0), "1970-01-01 00:00");
        assert_eq!(utc(1_767_225_600_000 + 90 * 60_000), "2026-01-01 01:30");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00");
        assert_eq!(
            rfc3339(1_767_225_600_000 + 90 * 60_000 + 7_000),
            "2026-01-01T01:30:07Z"
        );
        assert_eq!(describe_secs(900), "15 min");
        assert_eq!(describe_secs(7_200), "2 h");
        assert_eq!(describe_secs(86_400), "1 d");
        assert_eq!(describe_secs(90), "90 s");
    }
}
