//! The QA program reports (issue #7), assembled once for the API and the pages: IQS trends,
//! targets with progress, the BPO vendor view, IQS vs CSAT/NPS, self-assessment and
//! leaderboards. Sums come from the store's rollups; the arithmetic from
//! `domain::reports`; the viewer's vendor scope is applied in every store read.

use crate::AppState;
use crate::api::{parse_id, parse_time};
use crate::error::{ApiError, ApiResult};
use plumbline_domain::access::Viewer;
use plumbline_domain::conversation::Channel;
use plumbline_domain::org::Band;
use plumbline_domain::reports::{
    Correlation, Gap, Interval, PairSums, ScoreSums, TargetStatus, iqs_gap, progress_percent, target_status,
};
use plumbline_domain::time::{DAY_MS, Date};
use plumbline_store::{
    GRADER_INTERNAL, GRADER_OWN, IqsFilter, IqsGrouping, Mismatch, Rollup, RollupRow, Sums, Target, TimeMode,
    now_millis,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The filters every report takes, as the query string gives them.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    pub vendor_id: Option<String>,
    pub team_id: Option<String>,
    pub agent_id: Option<String>,
    pub scorecard_id: Option<String>,
    /// email, chat, phone, social or other.
    pub channel: Option<String>,
    /// Submitted on or after: YYYY-MM-DD or Unix ms (reports count whole UTC days).
    pub from: Option<String>,
    /// Submitted before: YYYY-MM-DD or Unix ms.
    pub to: Option<String>,
}

impl ReportQuery {
    pub fn filter(&self) -> ApiResult<IqsFilter> {
        let channel = match self.channel.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => match Channel::ALL.iter().find(|ch| ch.as_str() == c) {
                Some(ch) => Some(ch.as_str().to_string()),
                None => return Err(ApiError::field("channel", "must be email, chat, phone, social or other")),
            },
        };
        let filter = IqsFilter {
            vendor_id: parse_id("vendor_id", &self.vendor_id)?,
            team_id: parse_id("team_id", &self.team_id)?,
            agent_id: parse_id("agent_id", &self.agent_id)?,
            scorecard_id: parse_id("scorecard_id", &self.scorecard_id)?,
            channel,
            from: parse_time("from", &self.from)?,
            to: parse_time("to", &self.to)?,
        };
        if let (Some(f), Some(t)) = (filter.from, filter.to)
            && t <= f
        {
            return Err(ApiError::field("to", "must be after from"));
        }
        Ok(filter)
    }
}

pub fn today() -> i64 {
    now_millis().div_euclid(DAY_MS)
}

fn day_text(day: i64) -> String {
    Date::of(day * DAY_MS).to_string()
}

/// The filter's range, defaulting the start to `default_days` before tomorrow.
fn range_or_last(filter: &IqsFilter, default_days: i64) -> (i64, i64) {
    let (from, to) = filter.days(today());
    if filter.from.is_none() { ((to - default_days).max(0), to) } else { (from, to) }
}

// ---------------------------------------------------------------------------------------------
// Trend

/// One point of a trend.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IqsTrendPoint {
    /// The bucket's first day, YYYY-MM-DD.
    pub start: String,
    pub evaluations: i64,
    pub iqs: Option<f64>,
    pub ci95: Option<[f64; 2]>,
    pub band: Option<Band>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TrendSeries {
    /// The group's id (absent for the whole selection).
    pub id: Option<String>,
    pub name: String,
    pub points: Vec<IqsTrendPoint>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Trend {
    pub interval: Interval,
    /// YYYY-MM-DD, inclusive.
    pub from: String,
    /// YYYY-MM-DD, exclusive.
    pub to: String,
    pub series: Vec<TrendSeries>,
}

/// The most series a trend draws (the groups with the most evaluations).
pub const MAX_SERIES: usize = 12;

/// IQS per day, week or month, for everything selected or per vendor, team, channel or
/// scorecard. Without `from`: the last 12 months (monthly), 26 weeks (weekly) or 60 days.
pub async fn trend(
    state: &AppState,
    viewer: &Viewer,
    filter: &IqsFilter,
    interval: Interval,
    group_by: Option<IqsGrouping>,
) -> ApiResult<Trend> {
    let default_days = match interval {
        Interval::Month => 366,
        Interval::Week => 26 * 7,
        Interval::Day => 60,
    };
    let (mut from, to) = range_or_last(filter, default_days);
    // Whole buckets: a monthly trend starts on the 1st, a weekly one on a Monday.
    from = interval.bucket(from);
    if interval == Interval::Day && to - from > 400 {
        return Err(ApiError::field("from", "a daily trend covers at most 400 days; use weeks or months"));
    }
    let column = match group_by {
        None => None,
        Some(g @ (IqsGrouping::Vendor | IqsGrouping::Team | IqsGrouping::Channel | IqsGrouping::Scorecard)) => {
            Some((g, Rollup::for_grouping(g).1))
        }
        Some(_) => return Err(ApiError::field("group_by", "a trend groups by vendor, team, channel or scorecard")),
    };
    let rollup = if filter.agent_id.is_some() && column.is_none() { Rollup::Agent } else { Rollup::Segment };
    let group_cols: Vec<&str> = column.map(|(_, c)| vec![c]).unwrap_or_default();
    let rows = state
        .store
        .rollup_sums(
            Sums::Scores,
            viewer.workspace_id,
            viewer.vendor_scope(),
            rollup,
            &group_cols,
            filter,
            (from, to),
            TimeMode::Series(interval),
        )
        .await?;
    let bands = state.store.get_workspace(viewer.workspace_id).await?.settings.bands;
    let names = match column {
        Some((g, _)) => state.store.group_names(viewer.workspace_id, g).await?,
        None => HashMap::new(),
    };
    let mut by_key: HashMap<String, Vec<&RollupRow>> = HashMap::new();
    for r in &rows {
        by_key.entry(r.key.first().cloned().unwrap_or_default()).or_default().push(r);
    }
    let mut groups: Vec<(String, i64)> =
        by_key.iter().map(|(k, v)| (k.clone(), v.iter().map(|r| r.sums.evaluations).sum())).collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut series = Vec::new();
    for (key, _) in groups.into_iter().take(MAX_SERIES) {
        let mut points: Vec<IqsTrendPoint> = by_key[&key]
            .iter()
            .map(|r| {
                let iqs = r.sums.iqs();
                IqsTrendPoint {
                    start: day_text(r.bucket.unwrap_or(from)),
                    evaluations: r.sums.evaluations,
                    iqs,
                    ci95: r.sums.iqs_ci95(),
                    band: iqs.map(|v| bands.classify(v)),
                }
            })
            .collect();
        points.sort_by(|a, b| a.start.cmp(&b.start));
        let name = if column.is_none() {
            "All selected".to_string()
        } else {
            names.get(&key).cloned().unwrap_or_else(|| if key.is_empty() { "(none)".into() } else { key.clone() })
        };
        series.push(TrendSeries { id: (column.is_some() && !key.is_empty()).then_some(key), name, points });
    }
    Ok(Trend { interval, from: day_text(from), to: day_text(to), series })
}

// ---------------------------------------------------------------------------------------------
// Targets

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MilestoneProgress {
    pub date: String,
    pub value: f64,
    /// IQS from the target's start up to and including the milestone's date (or today).
    pub iqs: Option<f64>,
    pub status: TargetStatus,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TargetProgress {
    #[serde(flatten)]
    pub target: Target,
    /// What it applies to, in words.
    pub applies_to: String,
    /// IQS over the 90 days before the start.
    pub baseline: Option<f64>,
    /// IQS from the start up to today (or the due date when it has passed).
    pub current: Option<f64>,
    pub evaluations: i64,
    pub ci95: Option<[f64; 2]>,
    /// How far from the baseline to the value the current IQS has come, in percent.
    pub progress_percent: Option<f64>,
    pub status: TargetStatus,
    pub milestones: Vec<MilestoneProgress>,
}

pub async fn target_progress(state: &AppState, viewer: &Viewer, target: Target) -> ApiResult<TargetProgress> {
    let ws = viewer.workspace_id;
    let scope = viewer.vendor_scope();
    let filter = IqsFilter {
        vendor_id: target.vendor_id,
        team_id: target.team_id,
        scorecard_id: target.scorecard_id,
        ..Default::default()
    };
    let day = |s: &str| Date::parse(s).map(Date::days).unwrap_or(0);
    let (start, due, now) = (day(&target.start), day(&target.due), today());
    let sums = |from: i64, to: i64| {
        let filter = filter.clone();
        async move {
            let rows = state
                .store
                .rollup_sums(Sums::Scores, ws, scope, Rollup::Segment, &[], &filter, (from, to), TimeMode::Total)
                .await?;
            let mut total = ScoreSums::default();
            for r in rows {
                total.add(&r.sums);
            }
            ApiResult::Ok(total)
        }
    };
    let baseline = sums(start - 90, start).await?.iqs();
    let current_sums = sums(start, now.min(due) + 1).await?;
    let current = current_sums.iqs();
    let mut milestones = Vec::new();
    for m in &target.milestones {
        let m_day = day(&m.date);
        let iqs = sums(start, now.min(m_day) + 1).await?.iqs();
        milestones.push(MilestoneProgress {
            date: m.date.clone(),
            value: m.value,
            iqs,
            status: target_status(m.value, iqs, m_day, now),
        });
    }
    let mut applies_to = Vec::new();
    if let Some(v) = target.vendor_id {
        applies_to.push(format!("vendor {}", state.store.get_vendor(ws, v).await.map(|v| v.name).unwrap_or_default()));
    }
    if let Some(t) = target.team_id {
        let names = state.store.group_names(ws, IqsGrouping::Team).await?;
        applies_to.push(format!("team {}", names.get(&t.to_string()).cloned().unwrap_or_default()));
    }
    if let Some(s) = target.scorecard_id {
        let names = state.store.group_names(ws, IqsGrouping::Scorecard).await?;
        applies_to.push(format!("scorecard {}", names.get(&s.to_string()).cloned().unwrap_or_default()));
    }
    let applies_to = if applies_to.is_empty() { "the whole workspace".to_string() } else { applies_to.join(", ") };
    Ok(TargetProgress {
        status: target_status(target.value, current, due, now),
        progress_percent: progress_percent(baseline, current, target.value),
        applies_to,
        baseline,
        current,
        evaluations: current_sums.evaluations,
        ci95: current_sums.iqs_ci95(),
        milestones,
        target,
    })
}

// ---------------------------------------------------------------------------------------------
// Vendor view

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GradedIqs {
    pub evaluations: i64,
    pub iqs: Option<f64>,
    pub ci95: Option<[f64; 2]>,
}

impl GradedIqs {
    fn of(s: &ScoreSums) -> Self {
        GradedIqs { evaluations: s.evaluations, iqs: s.iqs(), ci95: s.iqs_ci95() }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VendorMonth {
    /// The month's first day.
    pub start: String,
    pub own_iqs: Option<f64>,
    pub internal_iqs: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VendorViewLine {
    pub vendor_id: String,
    pub name: String,
    /// Graded by the vendor's own graders.
    pub own: GradedIqs,
    /// Graded by internal graders, on the same vendor's conversations.
    pub internal: GradedIqs,
    /// own - internal, with a 95% interval (independent samples): how much the vendor's
    /// self-reported quality exceeds what internal graders measure.
    pub gap: Option<Gap>,
    /// Completed audits of the vendor's graders by internal benchmarks, and their mean alignment.
    pub audits: i64,
    pub alignment: Option<f64>,
    pub alignment_ci95: Option<[f64; 2]>,
    /// Mean CSAT (1-5) of the vendor's reviewed conversations, and how many had one.
    pub csat: Option<f64>,
    pub csat_responses: i64,
    /// Month by month over the range (at most 12 months).
    pub trend: Vec<VendorMonth>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VendorView {
    pub from: String,
    pub to: String,
    pub vendors: Vec<VendorViewLine>,
}

/// For each BPO vendor (a vendor_lead: their own): IQS by their own graders vs internal graders
/// on their conversations, the gap with its interval, their graders' alignment to internal
/// benchmarks, CSAT and a monthly trend. Without `from`: the last 12 months.
pub async fn vendor_view(state: &AppState, viewer: &Viewer, filter: &IqsFilter) -> ApiResult<VendorView> {
    let ws = viewer.workspace_id;
    let scope = viewer.vendor_scope();
    let (from, to) = range_or_last(filter, 366);
    let store = &state.store;
    let totals = store
        .rollup_sums(
            Sums::Outcomes,
            ws,
            scope,
            Rollup::Segment,
            &["vendor_id", "grader_class"],
            filter,
            (from, to),
            TimeMode::Total,
        )
        .await?;
    let months = store
        .rollup_sums(
            Sums::Scores,
            ws,
            scope,
            Rollup::Segment,
            &["vendor_id", "grader_class"],
            filter,
            (Interval::Month.bucket(from.max(to - 366)), to),
            TimeMode::Series(Interval::Month),
        )
        .await?;
    let alignment = store.vendor_alignment(ws, scope, filter).await?;
    let mut vendors = Vec::new();
    for vendor in store.list_vendors(ws, scope).await? {
        if vendor.is_internal || scope.vendor().is_some_and(|v| v != vendor.id) {
            continue;
        }
        if filter.vendor_id.is_some_and(|v| v != vendor.id) {
            continue;
        }
        let id = vendor.id.to_string();
        let (mut own, mut internal, mut csat) = (ScoreSums::default(), ScoreSums::default(), PairSums::default());
        for r in totals.iter().filter(|r| r.key[0] == id) {
            match r.key[1].as_str() {
                GRADER_OWN => own.add(&r.sums),
                GRADER_INTERNAL => internal.add(&r.sums),
                _ => {}
            }
            csat.add(&r.outcomes.csat);
        }
        let mut trend: HashMap<i64, (ScoreSums, ScoreSums)> = HashMap::new();
        for r in months.iter().filter(|r| r.key[0] == id) {
            let entry = trend.entry(r.bucket.unwrap_or(0)).or_default();
            match r.key[1].as_str() {
                GRADER_OWN => entry.0.add(&r.sums),
                GRADER_INTERNAL => entry.1.add(&r.sums),
                _ => {}
            }
        }
        let mut trend: Vec<VendorMonth> = trend
            .into_iter()
            .map(|(day, (o, i))| VendorMonth { start: day_text(day), own_iqs: o.iqs(), internal_iqs: i.iqs() })
            .collect();
        trend.sort_by(|a, b| a.start.cmp(&b.start));
        let (audits, mean, sd) = alignment
            .iter()
            .find(|(v, ..)| *v == vendor.id)
            .map(|(_, n, m, s)| (*n, *m, *s))
            .unwrap_or((0, None, None));
        let alignment_ci95 = match (mean, sd) {
            (Some(m), Some(s)) if audits >= plumbline_domain::reports::MIN_INTERVAL_EVALUATIONS => {
                let half = plumbline_domain::reports::Z95 * s / (audits as f64).sqrt();
                Some([(m - half).max(0.0), (m + half).min(100.0)])
            }
            _ => None,
        };
        vendors.push(VendorViewLine {
            vendor_id: id,
            name: vendor.name,
            gap: iqs_gap(&own, &internal),
            own: GradedIqs::of(&own),
            internal: GradedIqs::of(&internal),
            audits,
            alignment: mean,
            alignment_ci95,
            csat: (csat.n > 0).then(|| csat.y / csat.n as f64),
            csat_responses: csat.n,
            trend,
        });
    }
    Ok(VendorView { from: day_text(from), to: day_text(to), vendors })
}

// ---------------------------------------------------------------------------------------------
// IQS vs CSAT / NPS

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CorrelationLine {
    /// "all", or the vendor's name.
    pub name: String,
    pub vendor_id: Option<String>,
    /// Pearson's r between the review score and CSAT (1-5), with n and the Fisher-z interval.
    pub csat: Option<Correlation>,
    pub csat_pairs: i64,
    /// Pearson's r between the review score and NPS (0-10).
    pub nps: Option<Correlation>,
    pub nps_pairs: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CsatReport {
    pub from: String,
    pub to: String,
    pub correlations: Vec<CorrelationLine>,
    /// The review score from which IQS counts as high, and the CSAT at or below which the
    /// customer was unhappy.
    pub high_score: f64,
    pub low_csat: i64,
    /// The review score below which IQS counts as low, and the CSAT from which the customer was
    /// happy.
    pub low_score: f64,
    pub high_csat: i64,
    /// High IQS, poor CSAT: the scorecard may miss what customers care about.
    pub high_iqs_poor_csat: Vec<Mismatch>,
    /// Low IQS, top CSAT: the scorecard may demand what customers do not value.
    pub low_iqs_happy_customer: Vec<Mismatch>,
}

/// The most conversations each mismatch list shows.
pub const MISMATCH_LIMIT: i64 = 50;

/// Correlation of review scores with CSAT and NPS (overall and per vendor) and the
/// conversations where they disagree most. Without `from`: the last 90 days.
pub async fn csat_report(state: &AppState, viewer: &Viewer, filter: &IqsFilter) -> ApiResult<CsatReport> {
    let ws = viewer.workspace_id;
    let scope = viewer.vendor_scope();
    let (from, to) = range_or_last(filter, 90);
    let rows = state
        .store
        .rollup_sums(Sums::Outcomes, ws, scope, Rollup::Segment, &["vendor_id"], filter, (from, to), TimeMode::Total)
        .await?;
    let names = state.store.group_names(ws, IqsGrouping::Vendor).await?;
    let line = |name: String, vendor_id: Option<String>, csat: &PairSums, nps: &PairSums| CorrelationLine {
        name,
        vendor_id,
        csat: csat.pearson(),
        csat_pairs: csat.n,
        nps: nps.pearson(),
        nps_pairs: nps.n,
    };
    let (mut all_csat, mut all_nps) = (PairSums::default(), PairSums::default());
    let mut correlations = Vec::new();
    for r in &rows {
        all_csat.add(&r.outcomes.csat);
        all_nps.add(&r.outcomes.nps);
        let name = names.get(&r.key[0]).cloned().unwrap_or_default();
        correlations.push(line(name, Some(r.key[0].clone()), &r.outcomes.csat, &r.outcomes.nps));
    }
    correlations.sort_by(|a, b| a.name.cmp(&b.name));
    correlations.insert(0, line("all".into(), None, &all_csat, &all_nps));
    let bands = state.store.get_workspace(ws).await?.settings.bands;
    let ranged = IqsFilter { from: Some(from * DAY_MS), to: Some(to * DAY_MS), ..filter.clone() };
    let (high_score, low_csat, low_score, high_csat) = (bands.excellent, 2, bands.good, 5);
    // Both lists are read side by side, each on its own connection.
    let (high, low) = tokio::try_join!(
        state.store.iqs_csat_mismatches(ws, scope, &ranged, true, (high_score, low_csat), MISMATCH_LIMIT),
        state.store.iqs_csat_mismatches(ws, scope, &ranged, false, (low_score, high_csat), MISMATCH_LIMIT),
    )?;
    Ok(CsatReport {
        from: day_text(from),
        to: day_text(to),
        correlations,
        high_score,
        low_csat,
        low_score,
        high_csat,
        high_iqs_poor_csat: high,
        low_iqs_happy_customer: low,
    })
}

// ---------------------------------------------------------------------------------------------
// Self-assessment

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SelfAssessmentAgent {
    pub agent_id: String,
    pub name: String,
    /// Conversations with both a self-review and a review.
    pub pairs: i64,
    pub self_score: Option<f64>,
    pub review_score: Option<f64>,
    /// self - review, in points: positive means the agent rates themselves higher.
    pub gap: Option<f64>,
    /// IQS, first-contact resolution rate and mean handle time of the agent's reviewed
    /// conversations in the range.
    pub iqs: Option<f64>,
    pub fcr_rate: Option<f64>,
    pub handle_time_seconds: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SelfAssessmentCriterion {
    pub criterion_id: String,
    pub title: String,
    pub pairs: i64,
    /// Mean of (self - review) as a share of the criterion's maximum, in points of 100.
    pub gap: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SelfAssessment {
    pub from: String,
    pub to: String,
    pub agents: Vec<SelfAssessmentAgent>,
    pub criteria: Vec<SelfAssessmentCriterion>,
    /// Deprecated: always false. The report once read at most 5,000 pairs; it now adds up
    /// rollups of every pair (migration 0010). Kept so that existing clients still parse.
    #[schema(deprecated)]
    pub truncated: bool,
}

/// Agents' self-reviews against their reviewers' scores on the same conversations, per agent
/// and per criterion, with FCR and handle time beside IQS. Without `from`: the last 90 days.
pub async fn self_assessment(state: &AppState, viewer: &Viewer, filter: &IqsFilter) -> ApiResult<SelfAssessment> {
    let ws = viewer.workspace_id;
    let scope = viewer.vendor_scope();
    let (from, to) = range_or_last(filter, 90);
    // With IQS, FCR and handle time of the agents with pairs only: a few hundred of thousands.
    let (sums, agent_rows) = state.store.self_assessment_with_outcomes(ws, scope, filter, (from, to)).await?;
    let outcomes: HashMap<&str, &RollupRow> = agent_rows.iter().map(|r| (r.key[0].as_str(), r)).collect();
    let mut agent_lines: Vec<SelfAssessmentAgent> = sums
        .agents
        .into_iter()
        .map(|a| {
            let (self_score, review_score) = (a.self_score(), a.review_score());
            let o = outcomes.get(a.agent_id.as_str());
            SelfAssessmentAgent {
                pairs: a.pairs,
                self_score,
                review_score,
                gap: self_score.zip(review_score).map(|(s, r)| s - r),
                iqs: o.and_then(|r| r.sums.iqs()),
                fcr_rate: o
                    .filter(|r| r.outcomes.fcr_n > 0)
                    .map(|r| r.outcomes.fcr_yes as f64 / r.outcomes.fcr_n as f64),
                handle_time_seconds: o
                    .filter(|r| r.outcomes.handle_n > 0)
                    .map(|r| r.outcomes.handle_sum / r.outcomes.handle_n as f64),
                agent_id: a.agent_id,
                name: a.name,
            }
        })
        .collect();
    agent_lines.sort_by(|a, b| {
        b.gap
            .unwrap_or(f64::MIN)
            .partial_cmp(&a.gap.unwrap_or(f64::MIN))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.agent_id.cmp(&b.agent_id))
    });
    let titles = state.store.criterion_groups(ws).await?;
    let mut criteria: Vec<SelfAssessmentCriterion> = sums
        .criteria
        .into_iter()
        .map(|c| SelfAssessmentCriterion {
            title: titles.get(&c.criterion_id).map(|(_, t)| t.clone()).unwrap_or_default(),
            pairs: c.pairs,
            gap: c.gap(),
            criterion_id: c.criterion_id,
        })
        .collect();
    criteria.sort_by(|a, b| {
        b.gap
            .unwrap_or(f64::MIN)
            .abs()
            .partial_cmp(&a.gap.unwrap_or(f64::MIN).abs())
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.criterion_id.cmp(&b.criterion_id))
    });
    Ok(SelfAssessment { from: day_text(from), to: day_text(to), agents: agent_lines, criteria, truncated: false })
}

// ---------------------------------------------------------------------------------------------
// Leaderboard

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LeaderLine {
    pub agent_id: String,
    pub name: String,
    pub evaluations: i64,
    pub iqs: Option<f64>,
    pub ci95: Option<[f64; 2]>,
    pub previous_iqs: Option<f64>,
    /// iqs - previous_iqs, in points.
    pub change: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Leaderboard {
    pub from: String,
    pub to: String,
    /// The previous period of the same length, compared for growth.
    pub previous_from: String,
    /// Agents need this many evaluations in a period to be ranked (a few lucky reviews are not a
    /// record).
    pub min_evaluations: i64,
    /// Highest IQS, ranked by the lower end of the interval so a short record does not win.
    pub top: Vec<LeaderLine>,
    /// Largest growth since the previous period.
    pub most_improved: Vec<LeaderLine>,
}

pub const LEADERBOARD_SIZE: usize = 10;
pub const LEADERBOARD_MIN_EVALUATIONS: i64 = 5;

/// Recognition: the agents with the best IQS and the most improved. Without `from`: the last
/// 30 days against the 30 before.
pub async fn leaderboard(state: &AppState, viewer: &Viewer, filter: &IqsFilter) -> ApiResult<Leaderboard> {
    let ws = viewer.workspace_id;
    let scope = viewer.vendor_scope();
    let (from, to) = range_or_last(filter, 30);
    let previous_from = (from - (to - from)).max(0);
    let filter = IqsFilter { channel: None, ..filter.clone() };
    // Both periods are read together (on SQLite in one walk over the agents), with only the sums
    // a ranking needs (IQS, its interval, the count); names come with the rows.
    let (current, previous) = state
        .store
        .rollup_sums_compared(
            Sums::Interval,
            ws,
            scope,
            Rollup::Agent,
            &["agent_id"],
            &filter,
            (from, to),
            (previous_from, from),
        )
        .await?;
    let previous: HashMap<&str, &ScoreSums> = previous.iter().map(|r| (r.key[0].as_str(), &r.sums)).collect();
    let lines: Vec<LeaderLine> = current
        .iter()
        .filter(|r| !r.key[0].is_empty() && r.sums.scored >= LEADERBOARD_MIN_EVALUATIONS)
        .map(|r| {
            let prev = previous.get(r.key[0].as_str()).filter(|p| p.scored >= LEADERBOARD_MIN_EVALUATIONS);
            let previous_iqs = prev.and_then(|p| p.iqs());
            let iqs = r.sums.iqs();
            LeaderLine {
                agent_id: r.key[0].clone(),
                name: r.name.clone().unwrap_or_default(),
                evaluations: r.sums.evaluations,
                iqs,
                ci95: r.sums.iqs_ci95(),
                previous_iqs,
                change: iqs.zip(previous_iqs).map(|(a, b)| a - b),
            }
        })
        .collect();
    let key = |v: Option<f64>| v.unwrap_or(f64::MIN);
    let mut top = lines.clone();
    top.sort_by(|a, b| {
        key(b.ci95.map(|c| c[0]).or(b.iqs))
            .partial_cmp(&key(a.ci95.map(|c| c[0]).or(a.iqs)))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.name.cmp(&b.name))
    });
    top.truncate(LEADERBOARD_SIZE);
    let mut most_improved: Vec<LeaderLine> = lines.into_iter().filter(|l| l.change.is_some_and(|c| c > 0.0)).collect();
    most_improved.sort_by(|a, b| {
        key(b.change).partial_cmp(&key(a.change)).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.name.cmp(&b.name))
    });
    most_improved.truncate(LEADERBOARD_SIZE);
    Ok(Leaderboard {
        from: day_text(from),
        to: day_text(to),
        previous_from: day_text(previous_from),
        min_evaluations: LEADERBOARD_MIN_EVALUATIONS,
        top,
        most_improved,
    })
}

// ---------------------------------------------------------------------------------------------
// Ordering and paging the IQS report's rows

/// How the IQS report's rows are searched, ordered and paged (the API and the page alike): a
/// workspace of 5,000 agents is read a page at a time, best or worst first.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RowPage {
    /// name, iqs, evaluations or change (default: name).
    pub sort: Option<String>,
    /// asc or desc (default: asc by name, desc otherwise). Rows without a value come last.
    pub order: Option<String>,
    /// Only rows whose name contains this, ignoring case.
    pub q: Option<String>,
    /// At most this many rows, 1 to 5000 (default: every row).
    pub limit: Option<u32>,
    /// Rows to skip before the first one returned (default 0).
    pub offset: Option<u32>,
}

/// The largest page of rows.
pub const MAX_ROW_PAGE: u32 = 5_000;

impl RowPage {
    /// The sort key and whether it runs high to low, checked.
    pub fn ordering(&self) -> ApiResult<(&str, bool)> {
        let sort = self.sort.as_deref().filter(|s| !s.is_empty()).unwrap_or("name");
        if !["name", "iqs", "evaluations", "change"].contains(&sort) {
            return Err(ApiError::field("sort", "must be name, iqs, evaluations or change"));
        }
        let descending = match self.order.as_deref().filter(|o| !o.is_empty()) {
            None => sort != "name",
            Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(ApiError::field("order", "must be asc or desc")),
        };
        Ok((sort, descending))
    }

    /// The rows that match `q`, ordered, and the page of them asked for; with how many matched.
    pub fn apply(&self, mut rows: Vec<plumbline_store::IqsRow>) -> ApiResult<(Vec<plumbline_store::IqsRow>, usize)> {
        let (sort, descending) = self.ordering()?;
        if self.limit.is_some_and(|l| l == 0 || l > MAX_ROW_PAGE) {
            return Err(ApiError::field("limit", format!("must be between 1 and {MAX_ROW_PAGE}")));
        }
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let q = q.to_lowercase();
            rows.retain(|r| r.name.to_lowercase().contains(&q));
        }
        let value = |r: &plumbline_store::IqsRow| match sort {
            "iqs" => r.iqs,
            "evaluations" => Some(r.evaluations as f64),
            _ => r.change,
        };
        rows.sort_by(|a, b| {
            let order = if sort == "name" {
                a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id))
            } else {
                match (value(a), value(b)) {
                    (Some(x), Some(y)) => {
                        let o = x.total_cmp(&y);
                        if descending { o.reverse() } else { o }
                    }
                    // Rows without a value come last either way.
                    (Some(_), None) => return std::cmp::Ordering::Less,
                    (None, Some(_)) => return std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                }
                .then_with(|| a.name.cmp(&b.name))
            };
            if sort == "name" && descending { order.reverse() } else { order }
        });
        let total = rows.len();
        let offset = (self.offset.unwrap_or(0) as usize).min(total);
        let end = self.limit.map_or(total, |l| (offset + l as usize).min(total));
        rows.truncate(end);
        rows.drain(..offset);
        Ok((rows, total))
    }
}
