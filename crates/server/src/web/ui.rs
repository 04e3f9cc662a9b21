//! Small pieces every page uses: dates, scores, status badges, answers in words, and the SVG
//! distribution bars. Everything returns maud markup or plain text that maud escapes.

use maud::{Markup, html};
use plumbline_domain::Millis;
use plumbline_domain::calibration::{CriterionSummary, SessionStatus};
use plumbline_domain::evaluation::Choice;
use plumbline_domain::scorecard::Criterion;
use plumbline_domain::time::{DAY_MS, Date};

pub fn date(ms: Millis) -> String {
    Date::of(ms).to_string()
}

/// "2026-03-01 14:30 UTC"; midnight shows as the date alone.
pub fn datetime(ms: Millis) -> String {
    let minutes = ms.rem_euclid(DAY_MS) / 60_000;
    if minutes == 0 { date(ms) } else { format!("{} {:02}:{:02} UTC", date(ms), minutes / 60, minutes % 60) }
}

/// The value of a `datetime-local` input for a time (UTC): `2026-03-01T14:30`.
pub fn datetime_input(ms: Millis) -> String {
    let minutes = ms.rem_euclid(DAY_MS) / 60_000;
    format!("{}T{:02}:{:02}", date(ms), minutes / 60, minutes % 60)
}

/// Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM` (UTC). `Ok(None)` for an empty field.
pub fn parse_datetime(text: &str) -> Result<Option<Millis>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || format!("{text:?} is not a date and time (YYYY-MM-DD HH:MM)");
    let (day, time) = match text.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let day = Date::parse(day).ok_or_else(bad)?;
    let minutes = match time {
        None => 0,
        Some(t) => {
            let mut parts = t.split(':');
            let h: i64 = parts.next().and_then(|h| h.parse().ok()).filter(|h| (0..24).contains(h)).ok_or_else(bad)?;
            let m: i64 = parts.next().and_then(|m| m.parse().ok()).filter(|m| (0..60).contains(m)).ok_or_else(bad)?;
            h * 60 + m
        }
    };
    Ok(Some(day.millis() + minutes * 60_000))
}

pub fn score(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())
}

pub fn percent(value: Option<f64>) -> String {
    value.map(|v| format!("{:.0}%", v * 100.0)).unwrap_or_else(|| "–".into())
}

pub fn status_badge(status: SessionStatus) -> Markup {
    html! { span class={ "badge " (status.as_str()) } { (status.as_str()) } }
}

/// An answer in words: "Good (3 points)", "N/A".
pub fn choice_text(criterion: &Criterion, choice: Choice) -> String {
    match choice {
        Choice::NotApplicable => "N/A".into(),
        Choice::Option(o) => criterion
            .scale
            .options
            .get(o)
            .map_or_else(|| format!("option {o}"), |option| format!("{} ({})", option.label, option.points)),
    }
}

/// The short form of an answer for a matrix cell: the option's points, or N/A.
pub fn choice_short(criterion: &Criterion, choice: Choice) -> String {
    match choice {
        Choice::NotApplicable => "N/A".into(),
        Choice::Option(o) => criterion.scale.options.get(o).map_or_else(|| "?".into(), |x| format!("{}", x.points)),
    }
}

pub fn parse_choice(value: &str) -> Option<Choice> {
    match value.trim() {
        "" => None,
        "na" => Some(Choice::NotApplicable),
        v => v.parse().ok().map(Choice::Option),
    }
}

/// How many options apart two choices are (0 = the same; N/A against an option counts as far).
pub fn distance(criterion: &Criterion, a: Choice, b: Choice) -> usize {
    match (a, b) {
        (Choice::Option(x), Choice::Option(y)) => {
            let points = |o: usize| criterion.scale.options.get(o).map(|x| x.points).unwrap_or(0.0);
            let max = criterion.max_points().max(1.0);
            // Steps of the scale, so a 2-option and a 5-option scale colour alike.
            let steps = (criterion.scale.options.len().max(2) - 1) as f64;
            ((points(x) - points(y)).abs() / max * steps).round() as usize
        }
        (Choice::NotApplicable, Choice::NotApplicable) => 0,
        _ => 3,
    }
}

/// The heat-map class of a cell: how far its answer is from the suggested one.
pub fn heat_class(criterion: &Criterion, choice: Choice, suggested: Option<Choice>) -> &'static str {
    match suggested {
        None => "heat-na",
        Some(s) => match distance(criterion, choice, s) {
            0 => "heat-0",
            1 => "heat-1",
            2 => "heat-2",
            _ => "heat-3",
        },
    }
}

/// The distribution of a criterion's answers as horizontal SVG bars, one per option (and N/A
/// when allowed), with the count at the end of each bar.
pub fn distribution_bars(criterion: &Criterion, summary: &CriterionSummary) -> Markup {
    let mut rows: Vec<(String, usize, bool)> = criterion
        .scale
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let count = summary.distribution.get(i).copied().unwrap_or(0);
            (format!("{} ({})", o.label, o.points), count, summary.suggested == Some(Choice::Option(i)))
        })
        .collect();
    if criterion.na_allowed || summary.not_applicable > 0 {
        rows.push(("N/A".into(), summary.not_applicable, summary.suggested == Some(Choice::NotApplicable)));
    }
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let (label_w, bar_w, row_h) = (130.0, 140.0, 16.0);
    let height = row_h * rows.len() as f64 + 2.0;
    let description = rows.iter().map(|(l, c, _)| format!("{l}: {c}")).collect::<Vec<_>>().join(", ");
    html! {
        svg class="dist" role="img" width=(label_w + bar_w + 30.0) height=(height)
            viewBox={ "0 0 " (label_w + bar_w + 30.0) " " (height) } {
            title { "Answers to " (criterion.title) ": " (description) }
            @for (i, (label, count, suggested)) in rows.iter().enumerate() {
                @let y = i as f64 * row_h + 1.0;
                @let w = bar_w * *count as f64 / max as f64;
                text x="0" y=(y + 11.0) { (truncate(label, 22)) }
                rect x=(label_w) y=(y + 2.0) width=(w.max(1.0)) height=(row_h - 5.0)
                    fill=(if *suggested { "#1f3a5f" } else { "#8aa4c8" }) {}
                text x=(label_w + w + 4.0) y=(y + 11.0) { (count) }
            }
        }
    }
}

pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn url_encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_parse_and_print() {
        assert_eq!(parse_datetime("").unwrap(), None);
        assert_eq!(parse_datetime("1970-01-02").unwrap(), Some(86_400_000));
        assert_eq!(parse_datetime("1970-01-02T01:30").unwrap(), Some(86_400_000 + 90 * 60_000));
        assert!(parse_datetime("1970-01-02T25:00").is_err());
        assert!(parse_datetime("soon").is_err());
        assert_eq!(datetime(86_400_000 + 90 * 60_000), "1970-01-02 01:30 UTC");
        let t = 86_400_000 + 90 * 60_000;
        assert_eq!(parse_datetime(&datetime_input(t)).unwrap(), Some(t));
    }

    #[test]
    fn choices_round_trip() {
        assert_eq!(parse_choice("na"), Some(Choice::NotApplicable));
        assert_eq!(parse_choice("3"), Some(Choice::Option(3)));
        assert_eq!(parse_choice(""), None);
    }
}
