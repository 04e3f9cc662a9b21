//! Grade-the-grader (DESIGN §6): programs that sample submitted reviews at random with a
//! recorded seed (more often for graders whose alignment is low or uncertain, within a budget),
//! assign each to a benchmark grader who is never the original grader, and compare the blind
//! re-grade with the original (alignment from [`crate::calibration::alignment`]). Appeals let the
//! original grader contest a criterion; an accepted appeal gives the benchmark the original's
//! answer there and alignment is recomputed.

use crate::conversation::Channel;
use crate::evaluation::Answer;
use crate::series::{draw, occurrence_seed};
use crate::{CriterionId, EvaluationId, Millis, TeamId, UserId, VendorId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// How many reviews a draw takes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sample {
    /// This percentage (0 < p <= 100) of the eligible reviews, at random.
    Percent(f64),
    /// This many reviews per grader, at random among theirs.
    PerGrader(u32),
}

/// Which submitted reviews a program samples from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AuditFilter {
    /// The vendor of the reviewed conversation.
    pub vendor_id: Option<VendorId>,
    pub team_id: Option<TeamId>,
    pub channel: Option<Channel>,
    /// Reviews submitted in the this many days before the draw (default: the program's period).
    pub within_days: Option<u32>,
}

/// Adaptive sampling: graders whose mean alignment is below `alignment_below`, or who have
/// fewer than `min_audits` completed audits (their interval is wide), get `factor` times the
/// base sample, while the draw stays within `budget` reviews in all.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AdaptiveRule {
    pub alignment_below: f64,
    pub min_audits: u32,
    pub factor: u32,
    pub budget: u32,
}

impl AdaptiveRule {
    /// The rule in words, shown where the program is configured.
    pub fn explain(&self) -> String {
        format!(
            "Graders whose mean alignment is below {:.0}%, or who have fewer than {} completed audits, are sampled {}x as often; a draw never takes more than {} reviews.",
            self.alignment_below * 100.0,
            self.min_audits,
            self.factor,
            self.budget
        )
    }
}

/// What the program knows about a grader when it draws.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GraderRecord {
    pub audits: u32,
    pub mean_alignment: Option<f64>,
}

/// A reviewer's submitted review that may be drawn.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    pub evaluation_id: EvaluationId,
    pub reviewer_id: UserId,
}

/// Draws the reviews to audit. Draw `n` of a program with `seed` uses [`occurrence_seed`]`(seed,
/// n)`; per grader, each grader's reviews are drawn with that seed mixed with the grader's id, so
/// the same candidates and seed always give the same sample.
pub fn sample(
    candidates: &[Candidate],
    rule: Sample,
    adaptive: Option<AdaptiveRule>,
    records: &HashMap<UserId, GraderRecord>,
    seed: u64,
) -> Vec<EvaluationId> {
    let mut drawn: Vec<EvaluationId> = match rule {
        Sample::Percent(p) => {
            let count = ((candidates.len() as f64) * p.clamp(0.0, 100.0) / 100.0).round() as usize;
            let ids: Vec<EvaluationId> = candidates.iter().map(|c| c.evaluation_id).collect();
            draw(&ids, count, seed)
        }
        Sample::PerGrader(base) => {
            let mut by_grader: BTreeMap<UserId, Vec<EvaluationId>> = BTreeMap::new();
            for c in candidates {
                by_grader.entry(c.reviewer_id).or_default().push(c.evaluation_id);
            }
            let mut out = Vec::new();
            for (grader, ids) in by_grader {
                let record = records.get(&grader).copied().unwrap_or_default();
                let flagged = adaptive.is_some_and(|a| {
                    record.audits < a.min_audits || record.mean_alignment.is_some_and(|m| m < a.alignment_below)
                });
                let count = if flagged { base * adaptive.map_or(1, |a| a.factor.max(1)) } else { base };
                let grader_seed = seed ^ (grader.0.as_u128() as u64);
                out.extend(draw(&ids, count as usize, grader_seed));
            }
            out
        }
    };
    if let Some(a) = adaptive {
        // Within the budget: keep a random subset, the same for the same seed.
        if drawn.len() > a.budget as usize {
            drawn = draw(&drawn, a.budget as usize, occurrence_seed(seed, u32::MAX));
        }
    }
    drawn.sort();
    drawn
}

/// Assigns each drawn review to a benchmark grader who is not its original grader: the least
/// loaded one (counting `load`, their open audits), ties to the first listed. Reviews whose only
/// possible benchmark is their own grader are left out.
pub fn assign_benchmarks(
    drawn: &[(EvaluationId, UserId)],
    benchmarks: &[UserId],
    load: &HashMap<UserId, usize>,
) -> Vec<(EvaluationId, UserId)> {
    let mut load: HashMap<UserId, usize> = benchmarks.iter().map(|b| (*b, load.get(b).copied().unwrap_or(0))).collect();
    let mut out = Vec::new();
    for (review, original) in drawn {
        let chosen = benchmarks
            .iter()
            .enumerate()
            .filter(|(_, b)| *b != original)
            .min_by_key(|(i, b)| (load.get(b).copied().unwrap_or(0), *i))
            .map(|(_, b)| *b);
        if let Some(benchmark) = chosen {
            *load.entry(benchmark).or_default() += 1;
            out.push((*review, benchmark));
        }
    }
    out
}

/// The benchmark's answers after an accepted appeal on `criterion`: the original answer there.
pub fn concede(benchmark: &[Answer], original: &[Answer], criterion: CriterionId) -> Vec<Answer> {
    let mut out: Vec<Answer> = benchmark.iter().filter(|a| a.criterion_id != criterion).cloned().collect();
    if let Some(theirs) = original.iter().find(|a| a.criterion_id == criterion) {
        out.push(Answer { comment: String::new(), ..theirs.clone() });
    }
    out
}

/// A grade-the-grader program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditProgram {
    pub id: crate::ProgramId,
    pub name: String,
    pub sample: Sample,
    /// Days between draws (a draw takes reviews submitted in the period before it).
    pub period_days: u32,
    pub filter: AuditFilter,
    pub benchmark_ids: Vec<UserId>,
    pub hide_agent_name: bool,
    pub adaptive: Option<AdaptiveRule>,
    /// The adaptive rule in words, when there is one.
    pub adaptive_rule: Option<String>,
    #[schema(value_type = String)]
    #[serde(with = "crate::series::seed_text")]
    pub seed: u64,
    pub active: bool,
    pub created_at: Millis,
}

/// One completed audit, as the grade-the-grader report reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRow {
    pub grader_id: UserId,
    pub grader_name: String,
    pub vendor_id: VendorId,
    pub vendor_name: String,
    pub internal: bool,
    pub conversation_id: crate::ConversationId,
    pub alignment: Option<f64>,
    /// Original score - benchmark score.
    pub score_delta: Option<f64>,
    pub completed_at: Millis,
    /// Per criterion: (criterion, original option label, benchmark option label).
    pub answers: Vec<(CriterionId, String, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MonthPoint {
    /// `YYYY-MM`.
    pub month: String,
    pub audits: usize,
    pub mean_alignment: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GraderAlignment {
    pub user_id: UserId,
    pub name: String,
    pub vendor_id: VendorId,
    pub vendor_name: String,
    pub internal: bool,
    pub audits: usize,
    pub mean_alignment: Option<f64>,
    /// t interval of the mean alignment (needs two audits).
    pub alignment_ci95: Option<[f64; 2]>,
    pub trend: Vec<MonthPoint>,
    /// Least-squares slope of monthly mean alignment per month; `None` with fewer than two months.
    pub trend_slope: Option<f64>,
    /// Mean of original score - benchmark score: positive is lenient.
    pub mean_delta: Option<f64>,
    /// Leniency adjusted for conversation difficulty (two-way model), with its interval/verdict.
    pub adjusted_delta: Option<f64>,
    pub adjusted_delta_ci95: Option<[f64; 2]>,
    pub leniency_verdict: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConfusionCell {
    pub original: String,
    pub benchmark: String,
    pub count: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CriterionConfusion {
    pub criterion_id: CriterionId,
    pub title: String,
    /// How often the original grader chose `original` where the benchmark chose `benchmark`,
    /// disagreements first, most frequent first.
    pub cells: Vec<ConfusionCell>,
    pub agreement: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VendorAlignment {
    pub vendor_id: VendorId,
    pub name: String,
    pub internal: bool,
    pub graders: usize,
    pub audits: usize,
    pub mean_alignment: Option<f64>,
    pub mean_delta: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GraderQaReport {
    pub graders: Vec<GraderAlignment>,
    /// Up to five graders with the highest adjusted leniency, then the five most severe.
    pub most_lenient: Vec<UserId>,
    pub strictest: Vec<UserId>,
    pub criteria: Vec<CriterionConfusion>,
    pub vendors: Vec<VendorAlignment>,
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// t interval of a mean (needs two values).
fn mean_ci95(values: &[f64]) -> Option<[f64; 2]> {
    let n = values.len();
    let m = mean(values)?;
    if n < 2 {
        return None;
    }
    let variance = values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = plumbline_agreement::t_quantile(0.975, (n - 1) as f64) * (variance / n as f64).sqrt();
    Some([m - half, m + half])
}

fn slope(ys: &[f64]) -> Option<f64> {
    if ys.len() < 2 {
        return None;
    }
    let n = ys.len() as f64;
    let mx = (n - 1.0) / 2.0;
    let my = ys.iter().sum::<f64>() / n;
    let (sxy, sxx) = ys.iter().enumerate().fold((0.0, 0.0), |(sxy, sxx), (i, y)| {
        let dx = i as f64 - mx;
        (sxy + dx * (y - my), sxx + dx * dx)
    });
    Some(sxy / sxx)
}

/// The grade-the-grader report from completed audits.
pub fn grader_qa_report(rows: &[AuditRow], titles: &HashMap<CriterionId, String>) -> GraderQaReport {
    let observations: Vec<(UserId, crate::ConversationId, f64)> =
        rows.iter().filter_map(|r| r.score_delta.map(|d| (r.grader_id, r.conversation_id, d))).collect();
    let leniency: HashMap<UserId, plumbline_agreement::GraderLeniency<UserId>> =
        plumbline_agreement::leniency(&observations).into_iter().map(|l| (l.grader, l)).collect();
    let mut by_grader: BTreeMap<(String, UserId), Vec<&AuditRow>> = BTreeMap::new();
    for r in rows {
        by_grader.entry((r.grader_name.clone(), r.grader_id)).or_default().push(r);
    }
    let graders: Vec<GraderAlignment> = by_grader
        .into_iter()
        .map(|((name, user_id), audits)| {
            let alignments: Vec<f64> = audits.iter().filter_map(|a| a.alignment).collect();
            let deltas: Vec<f64> = audits.iter().filter_map(|a| a.score_delta).collect();
            let mut months: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            for a in &audits {
                let date = crate::time::Date::of(a.completed_at);
                let entry = months.entry(format!("{:04}-{:02}", date.year, date.month)).or_default();
                entry.extend(a.alignment);
            }
            let trend: Vec<MonthPoint> = months
                .into_iter()
                .map(|(month, values)| MonthPoint { month, audits: values.len(), mean_alignment: mean(&values) })
                .collect();
            let monthly: Vec<f64> = trend.iter().filter_map(|p| p.mean_alignment).collect();
            let l = leniency.get(&user_id);
            GraderAlignment {
                user_id,
                name,
                vendor_id: audits[0].vendor_id,
                vendor_name: audits[0].vendor_name.clone(),
                internal: audits[0].internal,
                audits: audits.len(),
                mean_alignment: mean(&alignments),
                alignment_ci95: mean_ci95(&alignments),
                trend_slope: slope(&monthly),
                trend,
                mean_delta: mean(&deltas),
                adjusted_delta: l.map(|l| l.adjusted_deviation),
                adjusted_delta_ci95: l.and_then(|l| l.ci95).map(|(a, b)| [a, b]),
                leniency_verdict: l.map_or("not_enough_data".into(), |l| {
                    serde_json::to_value(l.verdict)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                }),
            }
        })
        .collect();
    let mut ranked: Vec<&GraderAlignment> = graders.iter().filter(|g| g.adjusted_delta.is_some()).collect();
    ranked.sort_by(|a, b| b.adjusted_delta.unwrap_or(0.0).total_cmp(&a.adjusted_delta.unwrap_or(0.0)));
    let most_lenient = ranked.iter().filter(|g| g.adjusted_delta > Some(0.0)).take(5).map(|g| g.user_id).collect();
    let strictest = ranked.iter().rev().filter(|g| g.adjusted_delta < Some(0.0)).take(5).map(|g| g.user_id).collect();

    let mut confusion: BTreeMap<CriterionId, HashMap<(String, String), usize>> = BTreeMap::new();
    for r in rows {
        for (criterion, original, benchmark) in &r.answers {
            *confusion.entry(*criterion).or_default().entry((original.clone(), benchmark.clone())).or_default() += 1;
        }
    }
    let criteria = confusion
        .into_iter()
        .map(|(criterion_id, counts)| {
            let total: usize = counts.values().sum();
            let same: usize = counts.iter().filter(|((o, b), _)| o == b).map(|(_, n)| n).sum();
            let mut cells: Vec<ConfusionCell> = counts
                .into_iter()
                .map(|((original, benchmark), count)| ConfusionCell { original, benchmark, count })
                .collect();
            cells.sort_by(|a, b| {
                (a.original == a.benchmark, std::cmp::Reverse(a.count), &a.original, &a.benchmark).cmp(&(
                    b.original == b.benchmark,
                    std::cmp::Reverse(b.count),
                    &b.original,
                    &b.benchmark,
                ))
            });
            CriterionConfusion {
                criterion_id,
                title: titles.get(&criterion_id).cloned().unwrap_or_else(|| criterion_id.to_string()),
                cells,
                agreement: (total > 0).then(|| same as f64 / total as f64),
            }
        })
        .collect();

    let mut by_vendor: BTreeMap<(bool, String, VendorId), Vec<&AuditRow>> = BTreeMap::new();
    for r in rows {
        by_vendor.entry((!r.internal, r.vendor_name.clone(), r.vendor_id)).or_default().push(r);
    }
    let vendors = by_vendor
        .into_iter()
        .map(|((bpo, name, vendor_id), audits)| {
            let mut people: Vec<UserId> = audits.iter().map(|a| a.grader_id).collect();
            people.sort();
            people.dedup();
            let alignments: Vec<f64> = audits.iter().filter_map(|a| a.alignment).collect();
            let deltas: Vec<f64> = audits.iter().filter_map(|a| a.score_delta).collect();
            VendorAlignment {
                vendor_id,
                name,
                internal: !bpo,
                graders: people.len(),
                audits: audits.len(),
                mean_alignment: mean(&alignments),
                mean_delta: mean(&deltas),
            }
        })
        .collect();
    GraderQaReport { graders, most_lenient, strictest, criteria, vendors }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benchmarks_never_get_their_own_review_and_share_the_work() {
        let (a, b, c) = (UserId::new(), UserId::new(), UserId::new());
        let reviews: Vec<(EvaluationId, UserId)> = (0..9).map(|i| (EvaluationId::new(), [a, b, c][i % 3])).collect();
        let assigned = assign_benchmarks(&reviews, &[a, b], &HashMap::new());
        // c's reviews go to a or b; a's to b; b's to a: all nine are assigned.
        assert_eq!(assigned.len(), 9);
        for ((review, original), (assigned_review, benchmark)) in reviews.iter().zip(&assigned) {
            assert_eq!(review, assigned_review);
            assert_ne!(original, benchmark);
        }
        let to_a = assigned.iter().filter(|x| x.1 == a).count();
        assert!((4..=5).contains(&to_a), "the work is spread evenly: {to_a} of 9");
        // A benchmark who is the only one and the original grader: left out.
        assert!(assign_benchmarks(&[(EvaluationId::new(), a)], &[a], &HashMap::new()).is_empty());
    }

    #[test]
    fn samples_are_reproducible_and_adaptive_within_budget() {
        let (steady, shaky) = (UserId::new(), UserId::new());
        let candidates: Vec<Candidate> = (0..40)
            .map(|i| Candidate {
                evaluation_id: EvaluationId::new(),
                reviewer_id: if i % 2 == 0 { steady } else { shaky },
            })
            .collect();
        let records = HashMap::from([
            (steady, GraderRecord { audits: 20, mean_alignment: Some(0.97) }),
            (shaky, GraderRecord { audits: 20, mean_alignment: Some(0.70) }),
        ]);
        let rule = AdaptiveRule { alignment_below: 0.9, min_audits: 5, factor: 3, budget: 100 };
        let drawn = sample(&candidates, Sample::PerGrader(2), Some(rule), &records, 9);
        assert_eq!(drawn, sample(&candidates, Sample::PerGrader(2), Some(rule), &records, 9));
        let of = |g: UserId| {
            drawn.iter().filter(|e| candidates.iter().any(|c| c.evaluation_id == **e && c.reviewer_id == g)).count()
        };
        assert_eq!((of(steady), of(shaky)), (2, 6), "the low-alignment grader is sampled 3x");
        let tight = AdaptiveRule { budget: 5, ..rule };
        assert_eq!(sample(&candidates, Sample::PerGrader(2), Some(tight), &records, 9).len(), 5);
        assert_eq!(sample(&candidates, Sample::Percent(25.0), None, &records, 9).len(), 10);
    }

    #[test]
    fn an_accepted_appeal_takes_the_original_answer() {
        let criterion = CriterionId::new();
        let other = CriterionId::new();
        let answer =
            |c, o| Answer { criterion_id: c, choice: crate::evaluation::Choice::Option(o), comment: "x".into() };
        let conceded =
            concede(&[answer(criterion, 0), answer(other, 1)], &[answer(criterion, 2), answer(other, 0)], criterion);
        assert!(conceded.contains(&Answer { comment: String::new(), ..answer(criterion, 2) }));
        assert!(conceded.contains(&answer(other, 1)));
    }
}
