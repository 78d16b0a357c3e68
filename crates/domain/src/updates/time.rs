//! Time in the ledger. Predicates carry RFC 3339 instants (`at`, `evaluatedAt`) and
//! `YYYY-MM-DD` days; the state keeps unix seconds.
//!
//! The ledger has no clock of its own in `apply`: an entry's `at` is its signer's claim. The
//! write path refuses an `at` in the future; `apply` refuses one more than
//! [`CLOCK_TOLERANCE_SECONDS`] before the latest `at` already accepted, so the ledger's time only
//! moves forward and a notice cannot be backdated by more than the tolerance.

use jiff::Timestamp;
use jiff::civil::Date;

pub const DAY_SECONDS: i64 = 86_400;

/// How far an entry's `at` may lie before the latest `at` the ledger has accepted: submitters
/// stamp entries before they reach the ledger, and their order of arrival may differ.
pub const CLOCK_TOLERANCE_SECONDS: i64 = 600;

/// How far in the future an entry's `at` may be when the ledger receives it (clock skew).
pub const FUTURE_TOLERANCE_SECONDS: i64 = 300;

/// Parses an RFC 3339 instant into unix seconds.
pub fn parse_instant(field: &str, text: &str) -> Result<i64, String> {
    text.parse::<Timestamp>()
        .map(|t| t.as_second())
        .map_err(|_| {
            format!("`{field}` is `{text}`, not an RFC 3339 time such as `2027-03-01T09:00:00Z`")
        })
}

/// Parses a `YYYY-MM-DD` day into the unix seconds of its start (UTC).
pub fn parse_day(field: &str, text: &str) -> Result<i64, String> {
    let bad = || format!("`{field}` is `{text}`, not a day such as `2027-03-01`");
    if text.len() != 10 {
        return Err(bad());
    }
    let date: Date = text.parse().map_err(|_| bad())?;
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|zoned| zoned.timestamp().as_second())
        .map_err(|_| bad())
}

/// Formats unix seconds as RFC 3339 (UTC, whole seconds).
pub fn format_instant(seconds: i64) -> String {
    Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| seconds.to_string())
}

/// Formats unix seconds as the `YYYY-MM-DD` day they fall in (UTC).
pub fn format_day(seconds: i64) -> String {
    Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| seconds.to_string())
}

/// A span of seconds for people, sign dropped: `3 d 4 h`, `5 h 10 min`, `12 min`.
pub fn format_span(seconds: i64) -> String {
    let seconds = seconds.unsigned_abs();
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    match (days, hours) {
        (0, 0) => format!("{minutes} min"),
        (0, _) => format!("{hours} h {minutes} min"),
        _ => format!("{days} d {hours} h"),
    }
}

/// Whole days from `from` to `until` (negative when `until` is earlier).
pub fn days_between(from: i64, until: i64) -> i64 {
    (until - from).div_euclid(DAY_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_and_days_round_trip() {
        let at = parse_instant("at", "2027-03-01T09:30:00Z").unwrap_or_default();
        assert_eq!(format_instant(at), "2027-03-01T09:30:00Z");
        assert_eq!(parse_instant("at", "2027-03-01T10:30:00+01:00"), Ok(at));
        let day = parse_day("d", "2027-03-01").unwrap_or_default();
        assert_eq!(format_day(day), "2027-03-01");
        assert_eq!(days_between(day, at), 0);
        assert_eq!(days_between(at, day + 60 * DAY_SECONDS), 59);
        assert!(parse_day("service_from", "2027-3-1").is_err());
        assert!(
            parse_instant("at", "yesterday")
                .unwrap_err()
                .contains("`at` is `yesterday`")
        );
    }
}
