//! The arithmetic of reports (DESIGN §3 and §7), without I/O: how a date range splits into the
//! day and month rows the store keeps, IQS of summed rows with a 95% interval, the gap between
//! two IQS values, the correlation of IQS with CSAT or NPS, targets and their milestones, and
//! growth for "most improved".

use crate::time::Date;
use serde::{Deserialize, Serialize};

/// 1.959963984540054, the 97.5th percentile of the standard normal distribution.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Below this many scored evaluations a group's interval is not given ("not enough data").
pub const MIN_INTERVAL_EVALUATIONS: i64 = 5;

/// Below this many pairs a correlation is not given.
pub const MIN_CORRELATION_PAIRS: i64 = 10;

/// The grain of a stored rollup row: a day, a calendar month (keyed by its first day), or all
/// time (period 0; kept for the agent and segment rollups, which "all time" reports read).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Grain {
    Day = 0,
    Month = 1,
    All = 2,
}

/// How a half-open range of days `[from, to)` is read: whole calendar months from month rows,
/// the rest from day rows. Every day of the range is covered exactly once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodSplit {
    /// `[first month's first day, end)` read from month rows, when at least one whole month fits.
    pub months: Option<(i64, i64)>,
    /// Day ranges `[from, to)` read from day rows.
    pub days: Vec<(i64, i64)>,
}

/// The first day (days since 1970-01-01) of the month containing `day`.
pub fn month_start(day: i64) -> i64 {
    let d = Date::of(day * crate::time::DAY_MS);
    Date { day: 1, ..d }.days()
}

/// The first day of the month after the one containing `day`.
pub fn next_month_start(day: i64) -> i64 {
    let d = Date::of(day * crate::time::DAY_MS);
    Date { day: 1, ..d }.add_months(1).days()
}

/// Splits `[from, to)` (days) into whole months and leftover days.
pub fn split_period(from: i64, to: i64) -> PeriodSplit {
    if from >= to {
        return PeriodSplit { months: None, days: Vec::new() };
    }
    let first_whole = if month_start(from) == from { from } else { next_month_start(from) };
    let end_whole = month_start(to);
    if first_whole >= end_whole {
        return PeriodSplit { months: None, days: vec![(from, to)] };
    }
    let mut days = Vec::new();
    if from < first_whole {
        days.push((from, first_whole));
    }
    if end_whole < to {
        days.push((end_whole, to));
    }
    PeriodSplit { months: Some((first_whole, end_whole)), days }
}

/// The bucket of a time series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Day,
    Week,
    Month,
}

impl Interval {
    /// The first day of the bucket holding `day`: the day, its ISO week's Monday, or its month's
    /// first day.
    pub fn bucket(self, day: i64) -> i64 {
        match self {
            Interval::Day => day,
            Interval::Week => day - (day + 3).rem_euclid(7),
            Interval::Month => month_start(day),
        }
    }
}

/// Sums over a set of evaluations, as the rollups keep them: enough for IQS (ratio of sums),
/// the mean of scores, and the delta-method variance of the ratio.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoreSums {
    /// Every evaluation counted, with or without a score.
    pub evaluations: i64,
    /// Evaluations with a score (something counted: possible > 0).
    pub scored: i64,
    pub earned: f64,
    pub possible: f64,
    pub earned_sq: f64,
    pub possible_sq: f64,
    pub earned_possible: f64,
    pub score_sum: f64,
    pub score_sq: f64,
    pub critical_failed: i64,
}

impl ScoreSums {
    /// One evaluation's contribution.
    pub fn one(score: Option<f64>, earned: f64, possible: f64, critical_failed: bool) -> Self {
        let scored = score.is_some() && possible > 0.0;
        let s = if scored { score.unwrap_or(0.0) } else { 0.0 };
        let (e, p) = if scored { (earned, possible) } else { (0.0, 0.0) };
        ScoreSums {
            evaluations: 1,
            scored: i64::from(scored),
            earned: e,
            possible: p,
            earned_sq: e * e,
            possible_sq: p * p,
            earned_possible: e * p,
            score_sum: s,
            score_sq: s * s,
            critical_failed: i64::from(critical_failed),
        }
    }

    pub fn add(&mut self, other: &ScoreSums) {
        self.evaluations += other.evaluations;
        self.scored += other.scored;
        self.earned += other.earned;
        self.possible += other.possible;
        self.earned_sq += other.earned_sq;
        self.possible_sq += other.possible_sq;
        self.earned_possible += other.earned_possible;
        self.score_sum += other.score_sum;
        self.score_sq += other.score_sq;
        self.critical_failed += other.critical_failed;
    }

    /// 100 × Σ earned / Σ possible (the IQS guide's formula); `None` when nothing is scored.
    pub fn iqs(&self) -> Option<f64> {
        (self.possible > 0.0).then(|| 100.0 * self.earned / self.possible)
    }

    /// The plain mean of scores (Zendesk QA's definition).
    pub fn mean_score(&self) -> Option<f64> {
        (self.scored > 0).then(|| self.score_sum / self.scored as f64)
    }

    /// The standard error of IQS as a ratio estimator (delta method, Cochran 1977 §6.3):
    /// Var(R) ≈ n/(n-1) × Σ(e_i − R p_i)² / (Σ p_i)², in IQS points. `None` below
    /// [`MIN_INTERVAL_EVALUATIONS`] scored evaluations.
    pub fn iqs_standard_error(&self) -> Option<f64> {
        if self.scored < MIN_INTERVAL_EVALUATIONS || self.possible <= 0.0 {
            return None;
        }
        let r = self.earned / self.possible;
        let residual = (self.earned_sq - 2.0 * r * self.earned_possible + r * r * self.possible_sq).max(0.0);
        let n = self.scored as f64;
        Some(100.0 * (n / (n - 1.0) * residual).sqrt() / self.possible)
    }

    /// IQS ± 1.96 standard errors, clamped to 0..100.
    pub fn iqs_ci95(&self) -> Option<[f64; 2]> {
        let (value, se) = (self.iqs()?, self.iqs_standard_error()?);
        Some([(value - Z95 * se).max(0.0), (value + Z95 * se).min(100.0)])
    }
}

/// The difference `a − b` of two independent IQS values with its 95% interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Gap {
    pub value: f64,
    pub ci95: Option<[f64; 2]>,
}

pub fn iqs_gap(a: &ScoreSums, b: &ScoreSums) -> Option<Gap> {
    let value = a.iqs()? - b.iqs()?;
    let ci95 = match (a.iqs_standard_error(), b.iqs_standard_error()) {
        (Some(sa), Some(sb)) => {
            let se = (sa * sa + sb * sb).sqrt();
            Some([value - Z95 * se, value + Z95 * se])
        }
        _ => None,
    };
    Some(Gap { value, ci95 })
}

/// Sums of pairs (x, y) for a Pearson correlation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PairSums {
    pub n: i64,
    pub x: f64,
    pub y: f64,
    pub xx: f64,
    pub yy: f64,
    pub xy: f64,
}

impl PairSums {
    pub fn one(x: f64, y: f64) -> Self {
        PairSums { n: 1, x, y, xx: x * x, yy: y * y, xy: x * y }
    }

    pub fn add(&mut self, o: &PairSums) {
        self.n += o.n;
        self.x += o.x;
        self.y += o.y;
        self.xx += o.xx;
        self.yy += o.yy;
        self.xy += o.xy;
    }

    /// Pearson's r with a 95% interval from Fisher's z transformation (z = atanh r, standard error
    /// 1/√(n−3)). `None` below [`MIN_CORRELATION_PAIRS`] pairs or when either variable is constant.
    pub fn pearson(&self) -> Option<Correlation> {
        if self.n < MIN_CORRELATION_PAIRS {
            return None;
        }
        let n = self.n as f64;
        let sxx = self.xx - self.x * self.x / n;
        let syy = self.yy - self.y * self.y / n;
        let sxy = self.xy - self.x * self.y / n;
        if sxx <= 1e-12 * self.xx.abs().max(1.0) || syy <= 1e-12 * self.yy.abs().max(1.0) {
            return None;
        }
        let r = (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0);
        let z = r.clamp(-0.999_999_999, 0.999_999_999).atanh();
        let se = 1.0 / (n - 3.0).sqrt();
        Some(Correlation { r, n: self.n, ci95: [(z - Z95 * se).tanh(), (z + Z95 * se).tanh()] })
    }
}

/// A correlation coefficient with its sample size and interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Correlation {
    pub r: f64,
    pub n: i64,
    pub ci95: [f64; 2],
}

/// A target: reach `value` IQS by `due`, with optional milestones on the way.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Milestone {
    /// YYYY-MM-DD.
    pub date: String,
    pub value: f64,
}

/// Where a target or milestone stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    /// Reached (the IQS up to the date is at or above the value).
    Met,
    /// The date has passed below the value.
    Missed,
    /// Not yet due, and currently at or above the value.
    OnTrack,
    /// Not yet due, and currently below the value.
    Behind,
    /// Nothing scored yet.
    NoData,
}

/// The status of a target value at `date_day` given the IQS measured so far (`current`) and
/// today (`today_day`).
pub fn target_status(value: f64, current: Option<f64>, date_day: i64, today_day: i64) -> TargetStatus {
    match current {
        None => TargetStatus::NoData,
        Some(c) if date_day <= today_day => {
            if c >= value {
                TargetStatus::Met
            } else {
                TargetStatus::Missed
            }
        }
        Some(c) if c >= value => TargetStatus::OnTrack,
        Some(_) => TargetStatus::Behind,
    }
}

/// How far from `start` toward `value` the current IQS has come, in percent (0 when no progress,
/// 100 when reached; may pass 100 or go below 0). `None` without a baseline or when the target
/// equals the baseline.
pub fn progress_percent(baseline: Option<f64>, current: Option<f64>, value: f64) -> Option<f64> {
    let (b, c) = (baseline?, current?);
    let span = value - b;
    (span.abs() > 1e-9).then(|| 100.0 * (c - b) / span)
}

/// Checks a target's value and milestones: values within 0..100, dates valid and before or on
/// the due date, in increasing order. Returns field-named errors.
pub fn check_target(value: f64, start: &str, due: &str, milestones: &[Milestone]) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    if !(0.0..=100.0).contains(&value) || !value.is_finite() {
        errors.push(("value".to_string(), "must be an IQS between 0 and 100".to_string()));
    }
    let start_date = Date::parse(start);
    let due_date = Date::parse(due);
    if start_date.is_none() {
        errors.push(("start".to_string(), "must be a date YYYY-MM-DD".to_string()));
    }
    if due_date.is_none() {
        errors.push(("due".to_string(), "must be a date YYYY-MM-DD".to_string()));
    }
    if let (Some(s), Some(d)) = (start_date, due_date)
        && d <= s
    {
        errors.push(("due".to_string(), "must be after the start date".to_string()));
    }
    let mut previous = start_date;
    for (i, m) in milestones.iter().enumerate() {
        if !(0.0..=100.0).contains(&m.value) || !m.value.is_finite() {
            errors.push((format!("milestones/{i}/value"), "must be an IQS between 0 and 100".to_string()));
        }
        match Date::parse(&m.date) {
            None => errors.push((format!("milestones/{i}/date"), "must be a date YYYY-MM-DD".to_string())),
            Some(d) => {
                if previous.is_some_and(|p| d <= p) {
                    errors.push((
                        format!("milestones/{i}/date"),
                        "must come after the start date and the milestone before it".to_string(),
                    ));
                }
                if due_date.is_some_and(|due| d > due) {
                    errors.push((format!("milestones/{i}/date"), "must not be after the due date".to_string()));
                }
                previous = Some(d);
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> i64 {
        Date::parse(text).unwrap().days()
    }

    #[test]
    fn a_range_splits_into_whole_months_and_leftover_days() {
        let s = split_period(day("2026-01-15"), day("2026-04-10"));
        assert_eq!(s.months, Some((day("2026-02-01"), day("2026-04-01"))));
        assert_eq!(s.days, vec![(day("2026-01-15"), day("2026-02-01")), (day("2026-04-01"), day("2026-04-10"))]);
        // Aligned on both ends: months only.
        let s = split_period(day("2026-02-01"), day("2026-03-01"));
        assert_eq!(s, PeriodSplit { months: Some((day("2026-02-01"), day("2026-03-01"))), days: vec![] });
        // Inside one month: days only.
        let s = split_period(day("2026-02-03"), day("2026-02-20"));
        assert_eq!(s, PeriodSplit { months: None, days: vec![(day("2026-02-03"), day("2026-02-20"))] });
        // Across a month boundary without a whole month.
        let s = split_period(day("2026-02-20"), day("2026-03-05"));
        assert_eq!(s.months, None);
        assert_eq!(s.days, vec![(day("2026-02-20"), day("2026-03-05"))]);
        assert_eq!(split_period(5, 5), PeriodSplit { months: None, days: vec![] });
    }

    #[test]
    fn every_day_is_covered_exactly_once() {
        let base = day("2023-12-20");
        for from in base..base + 80 {
            for len in [1, 2, 13, 31, 45, 70, 400] {
                let to = from + len;
                let s = split_period(from, to);
                let mut covered = vec![0; len as usize];
                let ranges = s.days.iter().copied().chain(s.months);
                for (a, b) in ranges {
                    for d in a..b {
                        covered[(d - from) as usize] += 1;
                    }
                }
                assert!(covered.iter().all(|&c| c == 1), "{from}..{to}: {s:?}");
                if let Some((a, b)) = s.months {
                    assert_eq!(month_start(a), a);
                    assert_eq!(month_start(b), b);
                }
            }
        }
    }

    #[test]
    fn buckets() {
        // 2026-11-23 is a Monday.
        let monday = day("2026-11-23");
        assert_eq!(Interval::Week.bucket(monday + 6), monday);
        assert_eq!(Interval::Week.bucket(monday), monday);
        assert_eq!(Interval::Week.bucket(monday - 1), monday - 7);
        assert_eq!(Interval::Month.bucket(day("2026-11-30")), day("2026-11-01"));
        assert_eq!(Interval::Day.bucket(monday), monday);
    }

    fn sums(items: &[(f64, f64)]) -> ScoreSums {
        let mut s = ScoreSums::default();
        for &(e, p) in items {
            s.add(&ScoreSums::one(Some(100.0 * e / p), e, p, false));
        }
        s
    }

    #[test]
    fn iqs_is_a_ratio_of_sums_with_a_delta_method_interval() {
        // Worked example: earned/possible (8,10) (9,10) (3,5) (10,10) (7,10).
        let s = sums(&[(8.0, 10.0), (9.0, 10.0), (3.0, 5.0), (10.0, 10.0), (7.0, 10.0)]);
        assert!((s.iqs().unwrap() - 100.0 * 37.0 / 45.0).abs() < 1e-12);
        assert!((s.mean_score().unwrap() - (80.0 + 90.0 + 60.0 + 100.0 + 70.0) / 5.0).abs() < 1e-12);
        // R = 37/45; residuals e - R p: 8-8.2222, 9-8.2222, 3-4.1111, 10-8.2222, 7-8.2222.
        let r = 37.0 / 45.0;
        let res: f64 = [(8.0, 10.0), (9.0, 10.0), (3.0, 5.0), (10.0, 10.0), (7.0, 10.0)]
            .iter()
            .map(|&(e, p): &(f64, f64)| (e - r * p).powi(2))
            .sum();
        let expected = 100.0 * (5.0 / 4.0 * res).sqrt() / 45.0;
        assert!((s.iqs_standard_error().unwrap() - expected).abs() < 1e-9);
        let ci = s.iqs_ci95().unwrap();
        assert!(ci[0] < s.iqs().unwrap() && s.iqs().unwrap() < ci[1]);
        // Too few for an interval.
        assert_eq!(sums(&[(8.0, 10.0), (9.0, 10.0)]).iqs_ci95(), None);
        // Nothing scored: no IQS, not 0.
        let mut empty = ScoreSums::default();
        empty.add(&ScoreSums::one(None, 0.0, 0.0, false));
        assert_eq!((empty.iqs(), empty.mean_score(), empty.evaluations), (None, None, 1));
    }

    #[test]
    fn a_gap_has_an_interval_from_both_errors() {
        let a = sums(&[(9.0, 10.0), (10.0, 10.0), (9.0, 10.0), (10.0, 10.0), (9.5, 10.0), (9.0, 10.0)]);
        let b = sums(&[(8.0, 10.0), (9.0, 10.0), (7.0, 10.0), (8.0, 10.0), (8.5, 10.0), (9.0, 10.0)]);
        let gap = iqs_gap(&a, &b).unwrap();
        assert!((gap.value - (a.iqs().unwrap() - b.iqs().unwrap())).abs() < 1e-12);
        let [lo, hi] = gap.ci95.unwrap();
        let se = (a.iqs_standard_error().unwrap().powi(2) + b.iqs_standard_error().unwrap().powi(2)).sqrt();
        assert!((hi - lo - 2.0 * Z95 * se).abs() < 1e-9);
        assert!(lo > 0.0, "a clear gap excludes zero");
    }

    #[test]
    fn pearson_matches_a_worked_example() {
        // x = 1..10, y = 2, 4, 5, 4, 5, 7, 8, 9, 10, 12; R's cor.test gives r = 0.9719076,
        // 95% CI 0.8820288 to 0.9935452 (Fisher's z).
        let ys = [2.0, 4.0, 5.0, 4.0, 5.0, 7.0, 8.0, 9.0, 10.0, 12.0];
        let mut s = PairSums::default();
        for (i, y) in ys.iter().enumerate() {
            s.add(&PairSums::one((i + 1) as f64, *y));
        }
        let c = s.pearson().unwrap();
        let n = 10.0;
        let mx = 5.5;
        let my = ys.iter().sum::<f64>() / n;
        let sxy: f64 = ys.iter().enumerate().map(|(i, y)| ((i + 1) as f64 - mx) * (y - my)).sum();
        let sxx: f64 = (1..=10).map(|i| (i as f64 - mx).powi(2)).sum();
        let syy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
        assert!((c.r - sxy / (sxx * syy).sqrt()).abs() < 1e-12);
        assert!((c.r - 0.971_907_6).abs() < 5e-8, "{}", c.r);
        assert!((c.ci95[0] - 0.882_028_8).abs() < 5e-8 && (c.ci95[1] - 0.993_545_2).abs() < 5e-8, "{:?}", c.ci95);
        // Constant y: no correlation, not NaN.
        let mut flat = PairSums::default();
        for i in 0..20 {
            flat.add(&PairSums::one(i as f64, 3.0));
        }
        assert_eq!(flat.pearson(), None);
    }

    #[test]
    fn targets() {
        assert_eq!(target_status(85.0, Some(86.0), 10, 20), TargetStatus::Met);
        assert_eq!(target_status(85.0, Some(80.0), 10, 20), TargetStatus::Missed);
        assert_eq!(target_status(85.0, Some(86.0), 30, 20), TargetStatus::OnTrack);
        assert_eq!(target_status(85.0, Some(80.0), 30, 20), TargetStatus::Behind);
        assert_eq!(target_status(85.0, None, 30, 20), TargetStatus::NoData);
        assert_eq!(progress_percent(Some(80.0), Some(82.5), 85.0), Some(50.0));
        assert_eq!(progress_percent(Some(85.0), Some(82.5), 85.0), None);
        let ok = [Milestone { date: "2026-03-01".into(), value: 82.0 }];
        assert!(check_target(85.0, "2026-01-01", "2026-06-30", &ok).is_empty());
        let bad = [
            Milestone { date: "2026-03-01".into(), value: 82.0 },
            Milestone { date: "2026-02-01".into(), value: 120.0 },
            Milestone { date: "2027-01-01".into(), value: 84.0 },
        ];
        let errors = check_target(101.0, "2026-01-01", "2025-06-30", &bad);
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        // The due date is before the start, so every milestone is also after the due date.
        assert_eq!(
            fields,
            [
                "value",
                "due",
                "milestones/0/date",
                "milestones/1/value",
                "milestones/1/date",
                "milestones/1/date",
                "milestones/2/date"
            ]
        );
    }
}
