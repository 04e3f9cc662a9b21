//! Recurring calibration series (DESIGN §4): a cadence, the dates it gives, a reproducible
//! random draw of conversations for each occurrence, and the iCalendar (RFC 5545) text of
//! events.

use crate::calibration::SessionMode;
use crate::conversation::Channel;
use crate::time::{DAY_MS, Date};
use crate::{CalibrationId, Millis, ScorecardId, TeamId, UserId, VendorId};
use serde::{Deserialize, Serialize};

/// How often a series meets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    Weekly,
    EveryTwoWeeks,
    Monthly,
    EveryTwoMonths,
    Quarterly,
}

impl Cadence {
    pub const ALL: [Cadence; 5] =
        [Cadence::Weekly, Cadence::EveryTwoWeeks, Cadence::Monthly, Cadence::EveryTwoMonths, Cadence::Quarterly];

    pub fn as_str(self) -> &'static str {
        match self {
            Cadence::Weekly => "weekly",
            Cadence::EveryTwoWeeks => "every_two_weeks",
            Cadence::Monthly => "monthly",
            Cadence::EveryTwoMonths => "every_two_months",
            Cadence::Quarterly => "quarterly",
        }
    }

    pub fn parse(text: &str) -> Option<Cadence> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// The date of occurrence `n` (0 = the first). Months are counted from the first date and
    /// clamped to the month's end (a series on the 31st meets on Feb 28), so they never drift.
    pub fn occurrence(self, first: Date, n: u32) -> Date {
        match self {
            Cadence::Weekly => Date::of((first.days() + 7 * i64::from(n)) * DAY_MS),
            Cadence::EveryTwoWeeks => Date::of((first.days() + 14 * i64::from(n)) * DAY_MS),
            Cadence::Monthly => first.add_months(n),
            Cadence::EveryTwoMonths => first.add_months(2 * n),
            Cadence::Quarterly => first.add_months(3 * n),
        }
    }
}

/// Which conversations an occurrence may draw from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct SeriesFilter {
    pub vendor_id: Option<VendorId>,
    pub team_id: Option<TeamId>,
    pub channel: Option<Channel>,
    /// Only conversations whose CSAT is at most this (e.g. 3 for unhappy customers).
    pub max_csat: Option<i64>,
    /// Only conversations started in the this many days before the occurrence (default 30).
    pub within_days: Option<u32>,
}

/// A recurring calibration series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CalibrationSeries {
    pub id: crate::SeriesId,
    pub title: String,
    pub goals: String,
    /// Each occurrence calibrates the scorecard's active version of the day.
    pub scorecard_id: ScorecardId,
    pub cadence: Cadence,
    /// `YYYY-MM-DD`: the first occurrence.
    pub first_date: String,
    /// Minutes after midnight UTC when the meeting starts.
    pub start_minute: u32,
    pub duration_minutes: u32,
    pub facilitator_id: UserId,
    pub participant_ids: Vec<UserId>,
    pub mode: SessionMode,
    pub hide_agent_name: bool,
    pub filter: SeriesFilter,
    pub conversations_per_occurrence: u32,
    /// The series' random seed; occurrence `n` draws with [`occurrence_seed`].
    #[schema(value_type = String)]
    #[serde(with = "seed_text")]
    pub seed: u64,
    pub active: bool,
    pub created_at: Millis,
}

/// A held or scheduled occurrence of a series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Occurrence {
    pub number: u32,
    /// `YYYY-MM-DD`.
    pub occurs_on: String,
    pub starts_at: Millis,
    /// The session created for it; `None` for a future date not yet scheduled.
    pub session_id: Option<CalibrationId>,
    /// The seed of its draw (decimal text: it does not fit a JSON number exactly).
    #[schema(value_type = Option<String>)]
    #[serde(with = "opt_seed_text")]
    pub seed: Option<u64>,
    /// How many conversations matched the filter when it was drawn.
    pub candidates: Option<u64>,
}

impl CalibrationSeries {
    pub fn first(&self) -> Date {
        Date::parse(&self.first_date).unwrap_or(Date { year: 1970, month: 1, day: 1 })
    }

    /// Occurrence `n`'s date and start time.
    pub fn occurrence(&self, n: u32) -> (Date, Millis) {
        let date = self.cadence.occurrence(self.first(), n);
        (date, date.millis() + i64::from(self.start_minute) * 60_000)
    }
}

/// The seed of occurrence `n` of a series with `series_seed`: distinct per occurrence, and
/// recorded with it.
pub fn occurrence_seed(series_seed: u64, n: u32) -> u64 {
    SplitMix64(series_seed ^ u64::from(n).wrapping_mul(0xD1B5_4A32_D192_ED03)).next()
}

pub(crate) mod seed_text {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(seed: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&seed.to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

mod opt_seed_text {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(seed: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match seed {
            Some(seed) => s.serialize_some(&seed.to_string()),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Option::<String>::deserialize(d)?.map(|t| t.parse().map_err(serde::de::Error::custom)).transpose()
    }
}

/// SplitMix64: a small, well-known generator whose output depends only on the seed, so a draw
/// can be reproduced from the recorded seed on any machine and any version of Plumbline.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..bound (Lemire's rejection keeps it unbiased).
    fn below(&mut self, bound: u64) -> u64 {
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = u128::from(self.next()) * u128::from(bound);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }
}

/// Draws `count` distinct items (conversations, reviews) at random from `candidates`. The
/// candidates are sorted first, so the same candidates and seed always give the same draw.
pub fn draw<T: Ord + Clone>(candidates: &[T], count: usize, seed: u64) -> Vec<T> {
    let mut pool = candidates.to_vec();
    pool.sort();
    pool.dedup();
    let mut rng = SplitMix64(seed);
    let take = count.min(pool.len());
    // A partial Fisher-Yates shuffle: the first `take` places.
    for i in 0..take {
        let j = i + rng.below((pool.len() - i) as u64) as usize;
        pool.swap(i, j);
    }
    pool.truncate(take);
    pool
}

/// One calendar event.
#[derive(Clone, Debug, PartialEq)]
pub struct CalendarEvent {
    /// Globally unique and stable across feeds (e.g. `series-<id>-3@plumbline`).
    pub uid: String,
    pub start: Millis,
    pub duration_minutes: u32,
    pub summary: String,
    pub description: String,
}

fn ical_time(ms: Millis) -> String {
    let date = Date::of(ms);
    let seconds = ms.rem_euclid(DAY_MS) / 1000;
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        date.year,
        date.month,
        date.day,
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// TEXT escaping of RFC 5545 §3.3.11.
fn ical_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for ch in line.chars() {
        if width + ch.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += ch.len_utf8();
    }
    out.push_str("\r\n");
}

/// An iCalendar document with `events`. `now` stamps them (DTSTAMP).
pub fn calendar(name: &str, events: &[CalendarEvent], now: Millis) -> String {
    let mut out = String::new();
    for line in ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Plumbline//Calibration//EN", "CALSCALE:GREGORIAN"] {
        fold(line, &mut out);
    }
    fold(&format!("X-WR-CALNAME:{}", ical_text(name)), &mut out);
    for event in events {
        fold("BEGIN:VEVENT", &mut out);
        fold(&format!("UID:{}", ical_text(&event.uid)), &mut out);
        fold(&format!("DTSTAMP:{}", ical_time(now)), &mut out);
        fold(&format!("DTSTART:{}", ical_time(event.start)), &mut out);
        fold(&format!("DTEND:{}", ical_time(event.start + i64::from(event.duration_minutes) * 60_000)), &mut out);
        fold(&format!("SUMMARY:{}", ical_text(&event.summary)), &mut out);
        if !event.description.is_empty() {
            fold(&format!("DESCRIPTION:{}", ical_text(&event.description)), &mut out);
        }
        fold("END:VEVENT", &mut out);
    }
    fold("END:VCALENDAR", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConversationId;

    #[test]
    fn cadences_give_the_expected_dates() {
        let first = Date::parse("2026-01-31").unwrap();
        let dates = |c: Cadence| (0..4).map(|n| c.occurrence(first, n).to_string()).collect::<Vec<_>>();
        assert_eq!(dates(Cadence::Weekly), ["2026-01-31", "2026-02-07", "2026-02-14", "2026-02-21"]);
        assert_eq!(dates(Cadence::EveryTwoWeeks), ["2026-01-31", "2026-02-14", "2026-02-28", "2026-03-14"]);
        assert_eq!(dates(Cadence::Monthly), ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]);
        assert_eq!(dates(Cadence::EveryTwoMonths), ["2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31"]);
        assert_eq!(dates(Cadence::Quarterly), ["2026-01-31", "2026-04-30", "2026-07-31", "2026-10-31"]);
    }

    #[test]
    fn draws_are_reproducible_and_distinct() {
        let candidates: Vec<ConversationId> = (0..50).map(|_| ConversationId::new()).collect();
        let a = draw(&candidates, 5, 42);
        let mut reversed = candidates.clone();
        reversed.reverse();
        assert_eq!(a, draw(&reversed, 5, 42), "the order of the candidates does not matter");
        assert_ne!(a, draw(&candidates, 5, 43));
        let mut unique = a.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 5);
        assert_eq!(draw(&candidates[..3], 5, 1).len(), 3);
        assert!(draw::<ConversationId>(&[], 2, 1).is_empty());
        // Every candidate can be drawn.
        let mut seen = std::collections::HashSet::new();
        for seed in 0..2000 {
            seen.extend(draw(&candidates, 1, seed));
        }
        assert_eq!(seen.len(), 50);
    }

    #[test]
    fn calendar_text_is_escaped_and_folded() {
        let event = CalendarEvent {
            uid: "series-1-0@plumbline".into(),
            start: Date::parse("2026-12-01").unwrap().millis() + 14 * 3_600_000 + 30 * 60_000,
            duration_minutes: 60,
            summary: "Tone, empathy; and \\ more".into(),
            description: "ä".repeat(60),
        };
        let text = calendar("QA", &[event], 0);
        assert!(text.contains("DTSTART:20261201T143000Z\r\n"));
        assert!(text.contains("DTEND:20261201T153000Z\r\n"));
        assert!(text.contains("SUMMARY:Tone\\, empathy\\; and \\\\ more\r\n"));
        assert!(text.lines().all(|l| l.len() <= 76), "folded at 75 octets plus CR");
        assert!(text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") && text.ends_with("END:VCALENDAR\r\n"));
    }
}
