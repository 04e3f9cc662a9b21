//! Times as import files write them, turned into Unix milliseconds (UTC).
//!
//! Accepted: RFC 3339 (`2026-03-01T10:15:00Z`, `2026-03-01T12:15:00.250+02:00`), the same
//! without a zone (`2026-03-01 10:15:00`, `2026-03-01T10:15`, taken as UTC), a bare date
//! (`2026-03-01`, midnight UTC) and an integer of Unix milliseconds.

use plumbline_domain::Millis;

const MS_PER_DAY: i64 = 86_400_000;
/// 9999-12-31T23:59:59.999Z: four-digit years only.
const LATEST: Millis = 253_402_300_799_999;
/// Below this an integer is far more likely Unix seconds than a time in early 1973.
const SMALLEST_PLAUSIBLE_MS: i64 = 100_000_000_000;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The reason given for text that is not a time at all.
pub(crate) fn expected_formats() -> &'static str {
    "must be a date and time like 2026-03-01T10:15:00Z, 2026-03-01T12:15:00+02:00, \
     2026-03-01 10:15:00 (UTC), 2026-03-01, or Unix milliseconds"
}

/// Parses one time; the error is a reason for a QA lead.
pub(crate) fn parse(text: &str) -> Result<Millis, String> {
    let text = text.trim();
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return from_unix_millis(text);
    }
    let Some(ms) = parse_calendar(text)? else {
        return Err(format!("{}, not {}", expected_formats(), crate::value::shown(text)));
    };
    if ms < 0 {
        return Err(format!("must not be before 1970 ({text})"));
    }
    if ms > LATEST {
        return Err(format!("must not be after the year 9999 ({text})"));
    }
    Ok(ms)
}

fn from_unix_millis(text: &str) -> Result<Millis, String> {
    let Ok(ms) = text.parse::<i64>() else {
        return Err(format!("{text} is too large to be a time in Unix milliseconds"));
    };
    if ms < 0 {
        return Err(format!("{ms} is before 1970; give Unix milliseconds (UTC)"));
    }
    if ms < SMALLEST_PLAUSIBLE_MS {
        return Err(format!(
            "{ms} looks like Unix seconds; give Unix milliseconds (multiply by 1000) or a date like 2026-03-01T10:15:00Z"
        ));
    }
    if ms > LATEST {
        return Err(format!("{ms} is after the year 9999; give Unix milliseconds (UTC)"));
    }
    Ok(ms)
}

/// `Ok(None)` when the text does not have the shape of a date; `Err` when it does but a part
/// is impossible (2026-02-30, 25:00).
fn parse_calendar(text: &str) -> Result<Option<Millis>, String> {
    let mut cursor = Cursor { bytes: text.as_bytes(), at: 0 };
    let Some(date) = cursor.date() else { return Ok(None) };
    let (year, month, day) = date;
    if !(1..=12).contains(&month) {
        return Err(format!("{text}: month must be from 01 to 12"));
    }
    let month_days = days_in_month(year, month);
    if day < 1 || day > month_days {
        let month_name = MONTHS[(month - 1) as usize];
        return Err(format!(
            "{year:04}-{month:02}-{day:02} is not a real date ({month_name} {year} has {month_days} days)"
        ));
    }
    let mut ms = days_from_civil(year, month, day) * MS_PER_DAY;
    if cursor.done() {
        return Ok(Some(ms));
    }
    if !cursor.eat(|b| matches!(b, b'T' | b't' | b' ')) {
        return Ok(None);
    }
    let Some(hour) = cursor.two_digits() else { return Ok(None) };
    if !cursor.eat(|b| b == b':') {
        return Ok(None);
    }
    let Some(minute) = cursor.two_digits() else { return Ok(None) };
    let mut second = 0;
    let mut millis = 0;
    if cursor.eat(|b| b == b':') {
        let Some(s) = cursor.two_digits() else { return Ok(None) };
        second = s;
        if cursor.eat(|b| b == b'.' || b == b',') {
            let Some(fraction) = cursor.fraction_millis() else { return Ok(None) };
            millis = fraction;
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!("{text}: the time of day must be from 00:00:00 to 23:59:59"));
    }
    ms += i64::from(hour) * 3_600_000 + i64::from(minute) * 60_000 + i64::from(second) * 1000 + millis;
    // A space may sit between the time and its zone ("10:15:00 +02:00").
    let _ = cursor.eat(|b| b == b' ');
    if cursor.done() {
        return Ok(Some(ms));
    }
    if cursor.eat(|b| b == b'Z' || b == b'z') {
        return Ok(cursor.done().then_some(ms));
    }
    let sign = match cursor.peek() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Ok(None),
    };
    cursor.at += 1;
    let Some(offset_hours) = cursor.two_digits() else { return Ok(None) };
    let _ = cursor.eat(|b| b == b':');
    let Some(offset_minutes) = cursor.two_digits() else { return Ok(None) };
    if !cursor.done() {
        return Ok(None);
    }
    if offset_hours > 23 || offset_minutes > 59 {
        return Err(format!("{text}: the UTC offset must be from -23:59 to +23:59"));
    }
    let offset_ms = sign * (i64::from(offset_hours) * 3_600_000 + i64::from(offset_minutes) * 60_000);
    Ok(Some(ms - offset_ms))
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn eat(&mut self, wanted: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(b) if wanted(b) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    fn digits(&mut self, count: usize) -> Option<u32> {
        let slice = self.bytes.get(self.at..self.at + count)?;
        let mut value = 0u32;
        for &b in slice {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(b - b'0');
        }
        self.at += count;
        Some(value)
    }

    fn two_digits(&mut self) -> Option<u32> {
        self.digits(2)
    }

    /// `YYYY-MM-DD`.
    fn date(&mut self) -> Option<(i64, u32, u32)> {
        let year = self.digits(4)?;
        if !self.eat(|b| b == b'-') {
            return None;
        }
        let month = self.two_digits()?;
        if !self.eat(|b| b == b'-') {
            return None;
        }
        let day = self.two_digits()?;
        Some((i64::from(year), month, day))
    }

    /// Digits after the decimal point, truncated to milliseconds.
    fn fraction_millis(&mut self) -> Option<i64> {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        let digits = &self.bytes[start..self.at];
        if digits.is_empty() {
            return None;
        }
        let mut millis = 0;
        for i in 0..3 {
            millis = millis * 10 + digits.get(i).map_or(0, |&b| i64::from(b - b'0'));
        }
        Some(millis)
    }
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date. Counting from March makes the leap
/// day the last day of the (shifted) year, so each 400-year era has the same shape.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719_468 days separate 0000-03-01 from 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_from_civil_matches_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 3, 1), 20_513);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2024, 2, 29) + 1, days_from_civil(2024, 3, 1));
    }

    #[test]
    fn days_from_civil_is_consecutive_over_four_centuries() {
        let mut expected = days_from_civil(1900, 1, 1);
        for year in 1900..2300 {
            for month in 1..=12 {
                for day in 1..=days_in_month(year, month) {
                    assert_eq!(days_from_civil(year, month, day), expected, "{year}-{month}-{day}");
                    expected += 1;
                }
            }
        }
    }

    #[test]
    fn formats() {
        let base = 1_772_360_100_000; // 2026-03-01T10:15:00Z
        assert_eq!(parse("2026-03-01T10:15:00Z"), Ok(base));
        assert_eq!(parse("2026-03-01t10:15:00z"), Ok(base));
        assert_eq!(parse("2026-03-01T12:15:00+02:00"), Ok(base));
        assert_eq!(parse("2026-03-01T05:15:00-0500"), Ok(base));
        assert_eq!(parse("2026-03-01 10:15:00"), Ok(base));
        assert_eq!(parse("2026-03-01 10:15"), Ok(base));
        assert_eq!(parse("2026-03-01T10:15:00.25Z"), Ok(base + 250));
        assert_eq!(parse("2026-03-01T10:15:00.123456789Z"), Ok(base + 123));
        assert_eq!(parse("2026-03-01"), Ok(base - 36_900_000));
        assert_eq!(parse(" 1772360100000 "), Ok(base));
    }

    #[test]
    fn rejects() {
        assert!(parse("2026-02-30").unwrap_err().contains("February 2026 has 28 days"));
        assert!(parse("2023-02-29").is_err());
        assert!(parse("2024-02-29").is_ok());
        assert!(parse("2026-13-01").is_err());
        assert!(parse("2026-03-01T24:00:00Z").is_err());
        assert!(parse("2026-03-01T10:15:00+24:00").is_err());
        assert!(parse("2026-03-01T10:15:00Zjunk").is_err());
        assert!(parse("01/03/2026").is_err());
        assert!(parse("1772360100").unwrap_err().contains("Unix seconds"));
        assert!(parse("-5").is_err());
        assert!(parse("99999999999999999999999").is_err());
        assert!(parse("1969-12-31").is_err());
        assert!(parse("").is_err());
    }
}
