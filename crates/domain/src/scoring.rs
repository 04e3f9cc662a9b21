//! Scoring exactly as DESIGN §3: the evaluation score, the N/A and auto-fail policies, critical
//! groups, the IQS of a set of evaluations (ratio of sums, the IQS guide's formula), the plain
//! mean of scores (Zendesk QA's definition) and bands.

use crate::CriterionId;
use crate::evaluation::{Answer, Choice};
use crate::org::{AutoFailPolicy, NaPolicy};
use crate::scorecard::{Outcome, ScorecardDefinition};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// The policies scoring depends on (workspace settings).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ScoringPolicy {
    pub na: NaPolicy,
    pub auto_fail: AutoFailPolicy,
}

/// The result of scoring one evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EvaluationScore {
    /// 0..=100, or `None` when no criterion counts (every answer N/A): "no score", not 0.
    pub score: Option<f64>,
    /// score/100 * possible: what the IQS of a set adds up.
    pub earned: f64,
    /// The sum of the weights that count.
    pub possible: f64,
    /// A critical criterion or a criterion in a critical group was answered with a fail outcome.
    pub critical_failed: bool,
    /// Which criteria failed critically.
    pub critical_failures: Vec<CriterionId>,
}

/// Scores one evaluation. Criteria without an answer are left out, like N/A under the
/// exclude policy, so a draft shows the score of what is answered so far.
///
/// For criterion i with points p_i, maximum m_i and weight w_i, f_i = p_i / m_i and
/// score = 100 * Σ w_i f_i / Σ w_i over the criteria that count.
pub fn score_evaluation(
    definition: &ScorecardDefinition,
    answers: &[Answer],
    policy: ScoringPolicy,
) -> EvaluationScore {
    let by_criterion: HashMap<CriterionId, &Answer> = answers.iter().map(|a| (a.criterion_id, a)).collect();

    // First pass: which critical criteria and critical groups failed.
    let mut critical_failures = Vec::new();
    let mut failed_groups = HashSet::new();
    for criterion in &definition.criteria {
        let Some(Choice::Option(o)) = by_criterion.get(&criterion.id).map(|a| a.choice) else { continue };
        let Some(option) = criterion.scale.options.get(o) else { continue };
        if option.outcome != Outcome::Fail {
            continue;
        }
        let in_critical_group = criterion.group_id.and_then(|g| definition.group(g)).filter(|g| g.critical);
        if criterion.critical || in_critical_group.is_some() {
            critical_failures.push(criterion.id);
        }
        if let Some(group) = in_critical_group {
            failed_groups.insert(group.id);
        }
    }
    let zero_on_fail = policy.auto_fail == AutoFailPolicy::Zero;
    let evaluation_failed = definition.criteria.iter().any(|c| c.critical && critical_failures.contains(&c.id));

    let mut weighted = 0.0;
    let mut possible = 0.0;
    for criterion in &definition.criteria {
        let Some(answer) = by_criterion.get(&criterion.id) else { continue };
        let max = criterion.max_points();
        let fraction_times_weight = match answer.choice {
            Choice::NotApplicable => match policy.na {
                NaPolicy::Exclude => continue,
                NaPolicy::CountAsPass => criterion.weight,
            },
            Choice::Option(o) => {
                let Some(option) = criterion.scale.options.get(o) else { continue };
                let group_failed = criterion.group_id.is_some_and(|g| failed_groups.contains(&g));
                if (group_failed && zero_on_fail) || max <= 0.0 { 0.0 } else { criterion.weight * option.points / max }
            }
        };
        weighted += fraction_times_weight;
        possible += criterion.weight;
    }

    if possible <= 0.0 {
        return EvaluationScore {
            score: None,
            earned: 0.0,
            possible: 0.0,
            critical_failed: !critical_failures.is_empty(),
            critical_failures,
        };
    }
    let mut score = (100.0 * weighted / possible).clamp(0.0, 100.0);
    if evaluation_failed && zero_on_fail {
        score = 0.0;
    }
    EvaluationScore {
        score: Some(score),
        earned: score / 100.0 * possible,
        possible,
        critical_failed: !critical_failures.is_empty(),
        critical_failures,
    }
}

/// One criterion's answer as the per-criterion and per-group reports count it: the fraction of
/// the criterion's maximum points the chosen option gives (N/A: `None`), before any critical
/// group zeroing, so a criterion's own quality is measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CriterionOutcome {
    pub criterion_id: CriterionId,
    pub weight: f64,
    /// `None` for N/A.
    pub fraction: Option<f64>,
    /// The option's outcome is fail.
    pub failed: bool,
}

/// The outcome of every answered criterion, in the scorecard's order.
pub fn criterion_outcomes(definition: &ScorecardDefinition, answers: &[Answer]) -> Vec<CriterionOutcome> {
    let by_criterion: HashMap<CriterionId, &Answer> = answers.iter().map(|a| (a.criterion_id, a)).collect();
    definition
        .criteria
        .iter()
        .filter_map(|criterion| {
            let answer = by_criterion.get(&criterion.id)?;
            let (fraction, failed) = match answer.choice {
                Choice::NotApplicable => (None, false),
                Choice::Option(o) => {
                    let option = criterion.scale.options.get(o)?;
                    let max = criterion.max_points();
                    let fraction = if max > 0.0 { option.points / max } else { 0.0 };
                    (Some(fraction), option.outcome == Outcome::Fail)
                }
            };
            Some(CriterionOutcome { criterion_id: criterion.id, weight: criterion.weight, fraction, failed })
        })
        .collect()
}

/// How far an agent's self-review is from a review of the same conversation with the same
/// scorecard version, per criterion: 100 × (self fraction − review fraction) of the criterion's
/// maximum, for the criteria both answered (neither N/A). Positive: the agent rates themselves
/// higher. The self-assessment report averages these over pairs.
pub fn self_review_gaps(
    definition: &ScorecardDefinition,
    self_answers: &[Answer],
    review_answers: &[Answer],
) -> Vec<(CriterionId, f64)> {
    let own: HashMap<CriterionId, Option<f64>> =
        criterion_outcomes(definition, self_answers).into_iter().map(|o| (o.criterion_id, o.fraction)).collect();
    criterion_outcomes(definition, review_answers)
        .into_iter()
        .filter_map(|o| match (own.get(&o.criterion_id), o.fraction) {
            (Some(Some(mine)), Some(theirs)) => Some((o.criterion_id, 100.0 * (mine - theirs))),
            _ => None,
        })
        .collect()
}

/// IQS of a set of evaluations, the IQS guide's formula: 100 * Σ earned / Σ possible.
/// `None` when nothing in the set has a score.
pub fn iqs<I: IntoIterator<Item = (f64, f64)>>(earned_possible: I) -> Option<f64> {
    let (earned, possible) =
        earned_possible.into_iter().fold((0.0, 0.0), |(e, p), (earned, possible)| (e + earned, p + possible));
    (possible > 0.0).then(|| 100.0 * earned / possible)
}

/// The plain mean of evaluation scores (Zendesk QA's definition). Evaluations without a score
/// are left out; `None` when none has one.
pub fn mean_score<I: IntoIterator<Item = Option<f64>>>(scores: I) -> Option<f64> {
    let (sum, n) = scores.into_iter().flatten().fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| sum / n as f64)
}
