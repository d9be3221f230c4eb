//! RFC 3339 UTC timestamps (`2026-11-22T10:15:30Z`) computed from `SystemTime` without a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// Formats `time` as RFC 3339 in UTC with whole seconds, e.g. `2026-11-22T10:15:30Z`.
///
/// A clock set before the Unix epoch clamps to `1970-01-01T00:00:00Z` rather than failing.
pub fn format(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_unix(secs)
}

/// Formats whole seconds since the Unix epoch as RFC 3339 UTC.
pub fn format_unix(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Formats `time` as a compact UTC timestamp with milliseconds, safe in file names and sorting
/// in time order: `20261122T101530.123Z`.
pub fn compact_millis(time: SystemTime) -> String {
    let ms = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let secs = u64::try_from(ms / 1000).unwrap_or(u64::MAX);
    let (year, month, day) = civil_from_days(secs / 86_400);
    let rem = secs % 86_400;
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day).
///
/// Howard Hinnant's `civil_from_days`, restricted to non-negative day counts: eras are
/// 400-year cycles of 146,097 days starting on March 1st, so leap days fall at the end.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097;
    let doe = z % 146_097; // day of era, 0..=146_096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365, from March 1st
    let mp = (5 * doy + 2) / 153; // 0..=11, March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn known_instants() {
        // Each pair is checked against `date -u -d @SECS +%Y-%m-%dT%H:%M:%SZ`.
        let cases: &[(u64, &str)] = &[
            (0, "1970-01-01T00:00:00Z"),
            (59, "1970-01-01T00:00:59Z"),
            (86_399, "1970-01-01T23:59:59Z"),
            (68_169_600, "1972-02-29T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (951_868_800, "2000-03-01T00:00:00Z"),
            (978_307_199, "2000-12-31T23:59:59Z"),
            (1_000_000_000, "2001-09-09T01:46:40Z"),
            (1_234_567_890, "2009-02-13T23:31:30Z"),
            (1_700_000_000, "2023-11-14T22:13:20Z"),
            (1_795_342_530, "2026-11-22T10:15:30Z"),
            (2_147_483_647, "2038-01-19T03:14:07Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
        ];
        for &(secs, want) in cases {
            assert_eq!(format_unix(secs), want, "secs = {secs}");
        }
    }

    #[test]
    fn non_leap_century_has_no_february_29() {
        // 2100-02-28T00:00:00Z is followed one day later by March 1st.
        assert_eq!(format_unix(4_107_456_000), "2100-02-28T00:00:00Z");
        assert_eq!(format_unix(4_107_456_000 + 86_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn system_time_is_truncated_to_seconds() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_342_530_999);
        assert_eq!(format(t), "2026-11-22T10:15:30Z");
    }

    #[test]
    fn compact_form_keeps_milliseconds() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_342_530_042);
        assert_eq!(compact_millis(t), "20261122T101530.042Z");
        assert_eq!(compact_millis(UNIX_EPOCH), "19700101T000000.000Z");
    }

    #[test]
    fn before_epoch_clamps() {
        let t = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(format(t), "1970-01-01T00:00:00Z");
    }
}
