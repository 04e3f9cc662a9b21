//! Civil dates in UTC, without a time library: `YYYY-MM-DD` to Unix milliseconds and back
//! (Howard Hinnant's days-from-civil algorithms), and adding calendar months for recurring series.

use crate::Millis;

pub const DAY_MS: Millis = 86_400_000;

/// A calendar date (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

impl Date {
    /// A valid date between 1970 and 9999, or `None`.
    pub fn new(year: i64, month: u32, day: u32) -> Option<Date> {
        let valid = (1970..=9999).contains(&year) && (1..=12).contains(&month) && day >= 1;
        (valid && day <= days_in_month(year, month)).then_some(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Date> {
        let mut parts = text.trim().splitn(3, '-');
        let year = parts.next()?.parse().ok()?;
        let month = parts.next()?.parse().ok()?;
        let day = parts.next()?.parse().ok()?;
        Date::new(year, month, day)
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = if m <= 2 { self.year - 1 } else { self.year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Midnight UTC of this date.
    pub fn millis(self) -> Millis {
        self.days() * DAY_MS
    }

    /// The date containing `millis`.
    pub fn of(millis: Millis) -> Date {
        let z = millis.div_euclid(DAY_MS) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date { year, month, day }
    }

    /// The same day `months` later, clamped to the month's last day (Jan 31 + 1 month = Feb 28).
    pub fn add_months(self, months: u32) -> Date {
        let index = self.year * 12 + i64::from(self.month - 1) + i64::from(months);
        let (year, month) = (index.div_euclid(12), (index.rem_euclid(12) + 1) as u32);
        Date { year, month, day: self.day.min(days_in_month(year, month)) }
    }

    /// Monday = 0 ... Sunday = 6.
    pub fn weekday(self) -> u32 {
        (self.days() + 3).rem_euclid(7) as u32
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::Date;

    #[test]
    fn dates_round_trip() {
        assert_eq!(Date::parse("1970-01-02").unwrap().millis(), 86_400_000);
        assert_eq!(Date::parse("2026-03-01").unwrap().millis(), 1_772_323_200_000);
        assert!(Date::parse("2026-02-30").is_none());
        assert!(Date::parse("2026-13-01").is_none());
        for days in (0..40_000).step_by(7) {
            let date = Date::of(days * super::DAY_MS + 5);
            assert_eq!(date.days(), days);
            assert_eq!(Date::parse(&date.to_string()), Some(date));
        }
    }

    #[test]
    fn months_clamp_to_the_last_day() {
        let jan31 = Date::parse("2026-01-31").unwrap();
        assert_eq!(jan31.add_months(1).to_string(), "2026-02-28");
        assert_eq!(jan31.add_months(13).to_string(), "2027-02-28");
        assert_eq!(Date::parse("2024-11-30").unwrap().add_months(3).to_string(), "2025-02-28");
        assert_eq!(Date::parse("2026-11-23").unwrap().weekday(), 0, "2026-11-23 is a Monday");
    }
}
