//! The Calibration Performance Report (issue 4, DESIGN §7): per session, per grader over time,
//! per criterion, per scorecard version and per vendor, aggregated from the result rows that
//! submitted sessions store. Only submitted sessions have rows; a participant who never scored
//! is counted as such (`sessions_not_scored`), never as a zero.

use crate::{CalibrationId, ConversationId, CriterionId, Millis, ScorecardVersionId, UserId, VendorId};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One participant and conversation of a submitted session.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultRow {
    pub session_id: CalibrationId,
    pub session_title: String,
    pub user_id: UserId,
    pub user_name: String,
    pub vendor_id: VendorId,
    pub vendor_name: String,
    pub vendor_is_internal: bool,
    pub conversation_id: ConversationId,
    pub scorecard_version_id: ScorecardVersionId,
    pub scored: bool,
    pub score_delta: Option<f64>,
    pub within_tolerance: Option<bool>,
    pub alignment: Option<f64>,
    pub submitted_at: Millis,
}

/// One criterion and conversation of a submitted session.
#[derive(Clone, Debug, PartialEq)]
pub struct CriterionRow {
    pub session_id: CalibrationId,
    pub conversation_id: ConversationId,
    pub criterion_id: CriterionId,
    pub scorecard_version_id: ScorecardVersionId,
    pub agreement_with_calibrated: Option<f64>,
    pub percent_agreement: Option<f64>,
    pub spread: Option<f64>,
    pub submitted_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SessionLine {
    pub session_id: CalibrationId,
    pub title: String,
    pub submitted_at: Millis,
    pub participants: usize,
    /// Participants who scored at least one conversation.
    pub scored: usize,
    pub mean_alignment: Option<f64>,
    pub mean_delta: Option<f64>,
    pub within_tolerance_rate: Option<f64>,
    /// Agreement between the session's participants on criteria, chance-corrected, with its
    /// interval or the reason there is none: Krippendorff's alpha and Gwet's AC1 (filled from
    /// the session's stored results).
    pub reliability: Vec<crate::calibration::ReliabilityStatistic>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TrendPoint {
    pub session_id: CalibrationId,
    pub at: Millis,
    pub alignment: Option<f64>,
    pub mean_delta: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GraderLine {
    pub user_id: UserId,
    pub name: String,
    pub vendor_id: VendorId,
    pub vendor_name: String,
    pub internal: bool,
    /// Sessions where they scored at least one conversation.
    pub sessions_attended: usize,
    /// Sessions they were part of but never scored in.
    pub sessions_not_scored: usize,
    pub mean_alignment: Option<f64>,
    /// Leniency: the mean signed score delta (positive = scores above the calibrated answer).
    pub mean_delta: Option<f64>,
    /// t interval of the mean delta (needs two scored conversations).
    pub mean_delta_ci95: Option<[f64; 2]>,
    /// Leniency adjusted for conversation difficulty (two-way model: grader + conversation),
    /// with its interval and verdict (`lenient`, `severe`, `in_line`, `not_enough_data`).
    pub adjusted_delta: Option<f64>,
    pub adjusted_delta_ci95: Option<[f64; 2]>,
    pub leniency_verdict: String,
    pub within_tolerance_rate: Option<f64>,
    /// Alignment per session, oldest first.
    pub trend: Vec<TrendPoint>,
    /// Least-squares slope of alignment per session (positive = improving); `None` with fewer
    /// than two sessions.
    pub trend_slope: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CriterionLine {
    pub criterion_id: CriterionId,
    pub title: String,
    pub sessions: usize,
    /// Mean share of participants who gave the calibrated answer.
    pub mean_agreement_with_calibrated: Option<f64>,
    pub mean_percent_agreement: Option<f64>,
    pub mean_spread: Option<f64>,
    /// Sessions in which it had the lowest agreement with the calibrated answer.
    pub most_contested: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VersionLine {
    pub scorecard_version_id: ScorecardVersionId,
    pub label: String,
    pub sessions: usize,
    pub mean_alignment: Option<f64>,
    pub within_tolerance_rate: Option<f64>,
    pub mean_agreement_with_calibrated: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VendorLine {
    pub vendor_id: VendorId,
    pub name: String,
    pub internal: bool,
    pub graders: usize,
    pub mean_alignment: Option<f64>,
    pub mean_delta: Option<f64>,
    pub within_tolerance_rate: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CalibrationReport {
    pub sessions: Vec<SessionLine>,
    pub graders: Vec<GraderLine>,
    pub criteria: Vec<CriterionLine>,
    pub versions: Vec<VersionLine>,
    pub vendors: Vec<VendorLine>,
}

fn mean(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.into_iter().fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| sum / n as f64)
}

fn rate(values: impl IntoIterator<Item = bool>) -> Option<f64> {
    mean(values.into_iter().map(|b| if b { 1.0 } else { 0.0 }))
}

/// Least-squares slope of `y` against its position 0, 1, 2, ...
fn slope(ys: &[f64]) -> Option<f64> {
    if ys.len() < 2 {
        return None;
    }
    let n = ys.len() as f64;
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = ys.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        let dx = i as f64 - mean_x;
        sxy += dx * (y - mean_y);
        sxx += dx * dx;
    }
    Some(sxy / sxx)
}

/// Builds the report. `criterion_titles` and `version_labels` name the ids.
pub fn calibration_report(
    results: &[ResultRow],
    criteria: &[CriterionRow],
    criterion_titles: &HashMap<CriterionId, String>,
    version_labels: &HashMap<ScorecardVersionId, String>,
) -> CalibrationReport {
    let scored: Vec<&ResultRow> = results.iter().filter(|r| r.scored).collect();

    // Per session, in submission order.
    let mut session_order: Vec<(Millis, CalibrationId)> =
        results.iter().map(|r| (r.submitted_at, r.session_id)).collect();
    session_order.sort();
    session_order.dedup();
    let sessions = session_order
        .iter()
        .map(|&(at, id)| {
            let rows: Vec<&ResultRow> = results.iter().filter(|r| r.session_id == id).collect();
            let mut people: Vec<UserId> = rows.iter().map(|r| r.user_id).collect();
            people.sort();
            people.dedup();
            let mut scorers: Vec<UserId> = rows.iter().filter(|r| r.scored).map(|r| r.user_id).collect();
            scorers.sort();
            scorers.dedup();
            SessionLine {
                session_id: id,
                title: rows.first().map(|r| r.session_title.clone()).unwrap_or_default(),
                submitted_at: at,
                participants: people.len(),
                scored: scorers.len(),
                mean_alignment: mean(rows.iter().filter_map(|r| r.alignment)),
                mean_delta: mean(rows.iter().filter_map(|r| r.score_delta)),
                within_tolerance_rate: rate(rows.iter().filter_map(|r| r.within_tolerance)),
                reliability: Vec::new(),
            }
        })
        .collect();

    // Per grader, with the leniency model over every scored conversation of every session.
    let observations: Vec<(UserId, (CalibrationId, ConversationId), f64)> = scored
        .iter()
        .filter_map(|r| r.score_delta.map(|d| (r.user_id, (r.session_id, r.conversation_id), d)))
        .collect();
    let leniency: HashMap<UserId, plumbline_agreement::GraderLeniency<UserId>> =
        plumbline_agreement::leniency(&observations).into_iter().map(|l| (l.grader, l)).collect();
    let mut by_grader: BTreeMap<(String, UserId), Vec<&ResultRow>> = BTreeMap::new();
    for r in results {
        by_grader.entry((r.user_name.clone(), r.user_id)).or_default().push(r);
    }
    let graders = by_grader
        .into_iter()
        .map(|((name, user_id), rows)| {
            let first = rows[0];
            let mut per_session: Vec<(Millis, CalibrationId)> =
                rows.iter().map(|r| (r.submitted_at, r.session_id)).collect();
            per_session.sort();
            per_session.dedup();
            let mut trend = Vec::new();
            let mut not_scored = 0;
            for &(at, session) in &per_session {
                let in_session: Vec<&&ResultRow> =
                    rows.iter().filter(|r| r.session_id == session && r.scored).collect();
                if in_session.is_empty() {
                    not_scored += 1;
                    continue;
                }
                trend.push(TrendPoint {
                    session_id: session,
                    at,
                    alignment: mean(in_session.iter().filter_map(|r| r.alignment)),
                    mean_delta: mean(in_session.iter().filter_map(|r| r.score_delta)),
                });
            }
            let deltas: Vec<f64> = rows.iter().filter_map(|r| r.score_delta).collect();
            let alignments: Vec<f64> = trend.iter().filter_map(|p| p.alignment).collect();
            GraderLine {
                user_id,
                name,
                vendor_id: first.vendor_id,
                vendor_name: first.vendor_name.clone(),
                internal: first.vendor_is_internal,
                sessions_attended: trend.len(),
                sessions_not_scored: not_scored,
                mean_alignment: mean(rows.iter().filter_map(|r| r.alignment)),
                mean_delta: mean(deltas.iter().copied()),
                mean_delta_ci95: leniency.get(&user_id).and_then(|l| l.mean_ci95).map(|(l, h)| [l, h]),
                adjusted_delta: leniency.get(&user_id).map(|l| l.adjusted_deviation),
                adjusted_delta_ci95: leniency.get(&user_id).and_then(|l| l.ci95).map(|(l, h)| [l, h]),
                leniency_verdict: leniency.get(&user_id).map_or("not_enough_data".into(), |l| {
                    serde_json::to_value(l.verdict)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                }),
                within_tolerance_rate: rate(rows.iter().filter_map(|r| r.within_tolerance)),
                trend_slope: slope(&alignments),
                trend,
            }
        })
        .collect();

    // Per criterion: the most contested criterion of a session has the lowest mean agreement
    // with the calibrated answer in that session (every criterion tied at the lowest counts).
    let mut per_session_criterion: BTreeMap<(CalibrationId, CriterionId), Vec<f64>> = BTreeMap::new();
    for c in criteria {
        if let Some(a) = c.agreement_with_calibrated {
            per_session_criterion.entry((c.session_id, c.criterion_id)).or_default().push(a);
        }
    }
    let mut contested: HashMap<CriterionId, usize> = HashMap::new();
    let mut session_ids: Vec<CalibrationId> = per_session_criterion.keys().map(|k| k.0).collect();
    session_ids.dedup();
    for session in session_ids {
        let means: Vec<(CriterionId, f64)> = per_session_criterion
            .iter()
            .filter(|((s, _), _)| *s == session)
            .filter_map(|((_, c), v)| mean(v.iter().copied()).map(|m| (*c, m)))
            .collect();
        let lowest = means.iter().map(|m| m.1).fold(f64::INFINITY, f64::min);
        for (criterion, m) in means {
            if (m - lowest).abs() < 1e-12 {
                *contested.entry(criterion).or_default() += 1;
            }
        }
    }
    let mut by_criterion: BTreeMap<CriterionId, Vec<&CriterionRow>> = BTreeMap::new();
    for c in criteria {
        by_criterion.entry(c.criterion_id).or_default().push(c);
    }
    let mut criterion_lines: Vec<CriterionLine> = by_criterion
        .into_iter()
        .map(|(criterion_id, rows)| {
            let mut sessions: Vec<CalibrationId> = rows.iter().map(|r| r.session_id).collect();
            sessions.sort();
            sessions.dedup();
            CriterionLine {
                criterion_id,
                title: criterion_titles.get(&criterion_id).cloned().unwrap_or_else(|| criterion_id.to_string()),
                sessions: sessions.len(),
                mean_agreement_with_calibrated: mean(rows.iter().filter_map(|r| r.agreement_with_calibrated)),
                mean_percent_agreement: mean(rows.iter().filter_map(|r| r.percent_agreement)),
                mean_spread: mean(rows.iter().filter_map(|r| r.spread)),
                most_contested: contested.get(&criterion_id).copied().unwrap_or(0),
            }
        })
        .collect();
    // Hardest first.
    criterion_lines.sort_by(|a, b| {
        a.mean_agreement_with_calibrated
            .unwrap_or(f64::INFINITY)
            .total_cmp(&b.mean_agreement_with_calibrated.unwrap_or(f64::INFINITY))
            .then_with(|| a.title.cmp(&b.title))
    });

    // Per scorecard version.
    let mut by_version: BTreeMap<ScorecardVersionId, Vec<&ResultRow>> = BTreeMap::new();
    for r in results {
        by_version.entry(r.scorecard_version_id).or_default().push(r);
    }
    let versions = by_version
        .into_iter()
        .map(|(id, rows)| {
            let mut sessions: Vec<CalibrationId> = rows.iter().map(|r| r.session_id).collect();
            sessions.sort();
            sessions.dedup();
            VersionLine {
                scorecard_version_id: id,
                label: version_labels.get(&id).cloned().unwrap_or_else(|| id.to_string()),
                sessions: sessions.len(),
                mean_alignment: mean(rows.iter().filter_map(|r| r.alignment)),
                within_tolerance_rate: rate(rows.iter().filter_map(|r| r.within_tolerance)),
                mean_agreement_with_calibrated: mean(
                    criteria
                        .iter()
                        .filter(|c| c.scorecard_version_id == id)
                        .filter_map(|c| c.agreement_with_calibrated),
                ),
            }
        })
        .collect();

    // Per vendor: internal graders vs each BPO's.
    let mut by_vendor: BTreeMap<(bool, String, VendorId), Vec<&ResultRow>> = BTreeMap::new();
    for r in &scored {
        by_vendor.entry((!r.vendor_is_internal, r.vendor_name.clone(), r.vendor_id)).or_default().push(r);
    }
    let vendors = by_vendor
        .into_iter()
        .map(|((bpo, name, vendor_id), rows)| {
            let mut people: Vec<UserId> = rows.iter().map(|r| r.user_id).collect();
            people.sort();
            people.dedup();
            VendorLine {
                vendor_id,
                name,
                internal: !bpo,
                graders: people.len(),
                mean_alignment: mean(rows.iter().filter_map(|r| r.alignment)),
                mean_delta: mean(rows.iter().filter_map(|r| r.score_delta)),
                within_tolerance_rate: rate(rows.iter().filter_map(|r| r.within_tolerance)),
            }
        })
        .collect();

    CalibrationReport { sessions, graders, criteria: criterion_lines, versions, vendors }
}
