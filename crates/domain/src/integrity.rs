//! Calibration-sample integrity: is a hand-picked set of conversations plausibly a random draw
//! from the population it came from? Each feature (channel mix, CSAT, the latest review score,
//! concentration on one agent) is tested with a Monte Carlo randomization test: the same
//! statistic on many random draws of the same size from the population (seeded, so the result
//! reproduces); the p-value is the share of random draws at least as extreme as the pick (with
//! the usual +1 correction). The set is flagged when a p-value is below 0.05 / the number of
//! features tested (Bonferroni).

use crate::AgentId;
use crate::conversation::Channel;
use crate::series::{draw, occurrence_seed};
use serde::Serialize;
use std::collections::HashMap;

/// One conversation of the population, with what is compared.
#[derive(Clone, Debug, PartialEq)]
pub struct PopulationUnit {
    pub channel: Channel,
    pub csat: Option<i64>,
    pub agent: Option<AgentId>,
    /// Its latest review score.
    pub score: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FeatureTest {
    /// `channel_mix`, `csat`, `review_score` or `one_agent`.
    pub feature: String,
    /// What the statistic is, in words.
    pub statistic_name: String,
    pub picked_value: f64,
    pub population_value: f64,
    pub statistic: f64,
    pub p_value: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IntegrityReport {
    pub picked: usize,
    pub population: usize,
    pub tests: Vec<FeatureTest>,
    /// Features that could not be tested, and why (e.g. no CSAT among the picked).
    pub not_tested: Vec<String>,
    /// Some p-value is below `threshold`: the pick is unlikely to be random.
    pub flagged: bool,
    /// 0.05 divided by the number of features tested.
    pub threshold: f64,
    pub method: String,
}

fn mean<I: Iterator<Item = f64>>(values: I) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// The features' statistics for the units at `indexes`: (feature, statistic, picked value).
fn statistics(
    indexes: &[usize],
    population: &[PopulationUnit],
    shares: &HashMap<Channel, f64>,
    means: &Means,
) -> Vec<(&'static str, f64, f64)> {
    let n = indexes.len() as f64;
    let mut out = Vec::new();
    let mut counts: HashMap<Channel, f64> = HashMap::new();
    for &i in indexes {
        *counts.entry(population[i].channel).or_default() += 1.0;
    }
    let chi_square: f64 = shares
        .iter()
        .map(|(channel, share)| {
            let expected = n * share;
            let observed = counts.get(channel).copied().unwrap_or(0.0);
            (observed - expected).powi(2) / expected
        })
        .sum();
    out.push(("channel_mix", chi_square, chi_square));
    if let (Some(pop), Some(picked)) =
        (means.csat, mean(indexes.iter().filter_map(|&i| population[i].csat.map(|c| c as f64))))
    {
        out.push(("csat", (picked - pop).abs(), picked));
    }
    if let (Some(pop), Some(picked)) = (means.score, mean(indexes.iter().filter_map(|&i| population[i].score))) {
        out.push(("review_score", (picked - pop).abs(), picked));
    }
    let mut per_agent: HashMap<AgentId, usize> = HashMap::new();
    for &i in indexes {
        if let Some(agent) = population[i].agent {
            *per_agent.entry(agent).or_default() += 1;
        }
    }
    let top = per_agent.values().copied().max().unwrap_or(0) as f64;
    out.push(("one_agent", top, top));
    out
}

struct Means {
    csat: Option<f64>,
    score: Option<f64>,
}

/// Tests whether `picked` (indexes into `population`) looks like a random draw of its size.
pub fn sample_integrity(picked: &[usize], population: &[PopulationUnit], seed: u64, resamples: u32) -> IntegrityReport {
    let total = population.len() as f64;
    let mut shares: HashMap<Channel, f64> = HashMap::new();
    for unit in population {
        *shares.entry(unit.channel).or_default() += 1.0 / total;
    }
    let means = Means {
        csat: mean(population.iter().filter_map(|u| u.csat.map(|c| c as f64))),
        score: mean(population.iter().filter_map(|u| u.score)),
    };
    let observed = statistics(picked, population, &shares, &means);
    let indexes: Vec<usize> = (0..population.len()).collect();
    let mut as_extreme: HashMap<&'static str, u32> = HashMap::new();
    for r in 0..resamples {
        let random = draw(&indexes, picked.len(), occurrence_seed(seed, r));
        for (feature, statistic, _) in statistics(&random, population, &shares, &means) {
            let Some((_, seen, _)) = observed.iter().find(|(f, ..)| *f == feature) else { continue };
            if statistic >= *seen - 1e-12 {
                *as_extreme.entry(feature).or_default() += 1;
            }
        }
    }
    let describe = |feature: &str| match feature {
        "channel_mix" => "chi-square distance of the channel mix from the population's",
        "csat" => "absolute difference of mean CSAT from the population's",
        "review_score" => "absolute difference of the mean latest review score from the population's",
        _ => "most conversations of a single agent",
    };
    let population_value = |feature: &str| match feature {
        "csat" => means.csat.unwrap_or_default(),
        "review_score" => means.score.unwrap_or_default(),
        "one_agent" => {
            // Expected top share is not simple; report the population's size per agent instead.
            let agents: std::collections::HashSet<AgentId> = population.iter().filter_map(|u| u.agent).collect();
            if agents.is_empty() { 0.0 } else { picked.len() as f64 / agents.len() as f64 }
        }
        _ => 0.0,
    };
    let tests: Vec<FeatureTest> = observed
        .iter()
        .map(|(feature, statistic, picked_value)| FeatureTest {
            feature: feature.to_string(),
            statistic_name: describe(feature).into(),
            picked_value: *picked_value,
            population_value: population_value(feature),
            statistic: *statistic,
            p_value: f64::from(1 + as_extreme.get(feature).copied().unwrap_or(0)) / f64::from(1 + resamples),
        })
        .collect();
    let mut not_tested = Vec::new();
    for feature in ["csat", "review_score"] {
        if !tests.iter().any(|t| t.feature == feature) {
            not_tested.push(format!("{feature}: no value among the picked conversations or the population"));
        }
    }
    let threshold = 0.05 / tests.len().max(1) as f64;
    IntegrityReport {
        picked: picked.len(),
        population: population.len(),
        flagged: tests.iter().any(|t| t.p_value < threshold),
        threshold,
        method: format!(
            "Monte Carlo randomization test: each statistic compared with {resamples} random draws of {} conversations from the population (seed {seed}); p = (1 + draws at least as extreme) / (1 + {resamples}); Bonferroni over {} features",
            picked.len(),
            tests.len()
        ),
        tests,
        not_tested,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn population() -> Vec<PopulationUnit> {
        let agents: Vec<AgentId> = (0..20).map(|_| AgentId::new()).collect();
        (0..400)
            .map(|i| PopulationUnit {
                channel: [Channel::Email, Channel::Chat, Channel::Phone, Channel::Chat][i % 4],
                csat: Some(1 + (i as i64 * 7) % 5),
                agent: Some(agents[i % 20]),
                score: Some(50.0 + (i % 50) as f64),
            })
            .collect()
    }

    #[test]
    fn a_random_pick_passes_and_a_cherry_pick_is_flagged() {
        let population = population();
        let random: Vec<usize> = draw(&(0..400).collect::<Vec<_>>(), 20, 123);
        let fair = sample_integrity(&random, &population, 7, 999);
        assert!(!fair.flagged, "{fair:#?}");
        // Twenty of the unhappiest chats of one agent.
        let cherry: Vec<usize> = (0..400)
            .filter(|i| population[*i].channel == Channel::Chat && population[*i].csat == Some(1))
            .take(20)
            .collect();
        let report = sample_integrity(&cherry, &population, 7, 999);
        assert!(report.flagged, "{report:#?}");
        let csat = report.tests.iter().find(|t| t.feature == "csat").unwrap();
        assert!(csat.p_value <= 0.002 && csat.picked_value == 1.0);
        assert_eq!(report, sample_integrity(&cherry, &population, 7, 999), "the seed makes it reproduce");
    }
}
