//! When Google's daily quotas come back: at midnight Pacific time (US rules:
//! daylight time from the second Sunday of March to the first Sunday of November,
//! both at 02:00 local), and how that reads on a Moscow clock (UTC+3 all year).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;
/// Moscow's offset from UTC: three hours, no daylight time since 2014.
const MOSCOW: i64 = 3 * HOUR;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil year of a day number.
fn year_of(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

/// The day number of the `nth` Sunday (1-based) of `month` in `year`.
fn nth_sunday(year: i64, month: i64, nth: i64) -> i64 {
    let first = days_from_civil(year, month, 1);
    // 1970-01-01 was a Thursday: (days + 4) % 7 == 0 on Sundays.
    let to_sunday = (7 - (first + 4).rem_euclid(7)) % 7;
    first + to_sunday + 7 * (nth - 1)
}

/// The Pacific offset from UTC in seconds at the UTC instant `unix`: −7 h in
/// daylight time, −8 h otherwise.
fn pacific_offset(unix: i64) -> i64 {
    let year = year_of(unix.div_euclid(DAY));
    // Daylight time starts at 02:00 PST (10:00 UTC) and ends at 02:00 PDT (09:00 UTC).
    let start = nth_sunday(year, 3, 2) * DAY + 10 * HOUR;
    let end = nth_sunday(year, 11, 1) * DAY + 9 * HOUR;
    if (start..end).contains(&unix) {
        -7 * HOUR
    } else {
        -8 * HOUR
    }
}

fn unix(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The next midnight in Pacific time after `now`: when Google resets daily quotas.
pub fn next_pacific_midnight(now: SystemTime) -> SystemTime {
    let now = unix(now);
    let local_day = (now + pacific_offset(now)).div_euclid(DAY);
    // The next local midnight, tried with the offset of that moment (a DST
    // change never falls on midnight, so one correction is enough).
    let guess = (local_day + 1) * DAY + 8 * HOUR;
    let midnight = (local_day + 1) * DAY - pacific_offset(guess);
    UNIX_EPOCH + Duration::from_secs(midnight.max(0) as u64)
}

/// `HH:MM` on a Moscow clock.
pub fn moscow_clock(at: SystemTime) -> String {
    let seconds = (unix(at) + MOSCOW).rem_euclid(DAY);
    format!("{:02}:{:02}", seconds / HOUR, seconds % HOUR / 60)
}

/// RFC 3339 in UTC, to the second.
pub fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SystemTime {
        humantime::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn midnight_pacific_in_winter_is_eight_utc_and_eleven_in_moscow() {
        let reset = next_pacific_midnight(at("2026-12-05T15:30:00Z"));
        assert_eq!(rfc3339(reset), "2026-12-06T08:00:00Z");
        assert_eq!(moscow_clock(reset), "11:00");
        // Just before a reset, the reset is minutes away, not a day.
        let reset = next_pacific_midnight(at("2026-12-06T07:59:00Z"));
        assert_eq!(rfc3339(reset), "2026-12-06T08:00:00Z");
        let reset = next_pacific_midnight(at("2026-12-06T08:00:00Z"));
        assert_eq!(rfc3339(reset), "2026-12-07T08:00:00Z");
    }

    #[test]
    fn midnight_pacific_in_summer_is_seven_utc_and_ten_in_moscow() {
        let reset = next_pacific_midnight(at("2026-07-01T12:00:00Z"));
        assert_eq!(rfc3339(reset), "2026-07-02T07:00:00Z");
        assert_eq!(moscow_clock(reset), "10:00");
    }

    #[test]
    fn daylight_time_switches_on_the_us_dates() {
        // 2026: DST from Sunday 8 March to Sunday 1 November.
        assert_eq!(
            rfc3339(next_pacific_midnight(at("2026-03-08T12:00:00Z"))),
            "2026-03-09T07:00:00Z"
        );
        assert_eq!(
            rfc3339(next_pacific_midnight(at("2026-03-07T12:00:00Z"))),
            "2026-03-08T08:00:00Z"
        );
        assert_eq!(
            rfc3339(next_pacific_midnight(at("2026-10-31T12:00:00Z"))),
            "2026-11-01T07:00:00Z"
        );
        assert_eq!(
            rfc3339(next_pacific_midnight(at("2026-11-01T12:00:00Z"))),
            "2026-11-02T08:00:00Z"
        );
        assert_eq!(
            rfc3339(next_pacific_midnight(at("2027-03-13T12:00:00Z"))),
            "2027-03-14T08:00:00Z"
        );
        assert_eq!(
            rfc3339(next_pacific_midnight(at("2027-03-14T12:00:00Z"))),
            "2027-03-15T07:00:00Z"
        );
    }
}
