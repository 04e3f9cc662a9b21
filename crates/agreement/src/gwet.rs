//! Percent agreement and the chance-corrected coefficients that share Gwet's (2014) framework
//! for any number of raters with missing data: Fleiss' kappa, Gwet's AC1/AC2,
//! Brennan-Prediger and Conger's kappa. All share the same observed agreement `p_a` and differ
//! in the chance agreement `p_e`; all get Gwet's linearised variance.
//!
//! Conventions (Gwet 2014, ch. 2-3; his R package irrCAC `*.raw` functions):
//! - units with no rating are dropped; `n` counts the remaining units;
//! - `p_a` averages, over the `n'` units with two or more ratings, the share of agreeing
//!   ordered pairs `Σ_k r_ik (r*_ik - 1) / (r_i (r_i - 1))`, with `r*_ik = Σ_l w_kl r_il`;
//! - category prevalences `π_k` average `r_ik / r_i` over all `n` units, **including units
//!   rated once** (this is why Gwet's Fleiss kappa differs from packages that drop them first);
//! - the interval is `value ± t(0.975, n - 1) · se`, upper end capped at 1.

use crate::data::{CategoryCounts, Level, Ratings};
use crate::estimate::{CannotCompute, Estimate, IntervalMethod, MIN_PAIRABLE_UNITS, MIN_RATERS, t_interval};

/// Largest category count for which weighted coefficients are computed (the weight matrix is
/// q x q).
pub const MAX_WEIGHTED_CATEGORIES: usize = 4096;

/// Gwet's (2014, ch. 3) agreement weights `w_kl` between categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weights {
    /// 1 on the diagonal, 0 elsewhere (unweighted).
    Identity,
    /// `1 - |x_k - x_l| / (x_max - x_min)` on the category values.
    Linear,
    /// `1 - (x_k - x_l)² / (x_max - x_min)²` on the category values.
    Quadratic,
    /// Rank-based: `1 - M_kl / max M` with `M_kl = (|k - l| + 1) |k - l| / 2` on category ranks.
    Ordinal,
    /// `1 - ((x_k - x_l) / (x_k + x_l))² / ((x_max - x_min) / (x_max + x_min))²`.
    Ratio,
}

impl Weights {
    /// The weights Plumbline uses for AC2 at each level: identity, ordinal, quadratic, ratio.
    pub fn for_level(level: Level) -> Self {
        match level {
            Level::Nominal => Weights::Identity,
            Level::Ordinal => Weights::Ordinal,
            Level::Interval => Weights::Quadratic,
            Level::Ratio => Weights::Ratio,
        }
    }

    /// Human name for notes.
    pub fn name(self) -> &'static str {
        match self {
            Weights::Identity => "unweighted",
            Weights::Linear => "linear weights",
            Weights::Quadratic => "quadratic weights",
            Weights::Ordinal => "ordinal weights",
            Weights::Ratio => "ratio weights",
        }
    }

    /// Dense row-major q x q matrix over the sorted category values.
    fn matrix(self, values: &[f64]) -> Vec<f64> {
        let q = values.len();
        let (low, high) = (values[0], values[q - 1]);
        let mut matrix = vec![0.0; q * q];
        let rank_scale = {
            let d = (q - 1) as f64;
            (d + 1.0) * d / 2.0
        };
        for k in 0..q {
            for l in 0..q {
                let (x, y) = (values[k], values[l]);
                matrix[k * q + l] = if k == l {
                    1.0
                } else {
                    match self {
                        Weights::Identity => 0.0,
                        Weights::Linear => 1.0 - (x - y).abs() / (high - low),
                        Weights::Quadratic => 1.0 - (x - y).powi(2) / (high - low).powi(2),
                        Weights::Ordinal => {
                            let d = k.abs_diff(l) as f64;
                            1.0 - (d + 1.0) * d / 2.0 / rank_scale
                        }
                        Weights::Ratio => {
                            let scale = ((high - low) / (high + low)).powi(2);
                            let term = if x + y == 0.0 { 0.0 } else { ((x - y) / (x + y)).powi(2) };
                            1.0 - term / scale
                        }
                    }
                };
            }
        }
        matrix
    }
}

/// The shared pieces: observed agreement per unit and category prevalences.
struct Core {
    counts: CategoryCounts,
    weights: Option<Vec<f64>>,
    /// Units with at least one rating.
    n: usize,
    /// Units with at least two ratings.
    pairable: usize,
    pa: f64,
    /// Per-unit agreement `Σ_k r_ik (r*_ik - 1) / (r_i (r_i - 1))`, 0 for units rated once.
    unit_agreement: Vec<f64>,
    /// `π_k`: mean over units of `r_ik / r_i`.
    prevalence: Vec<f64>,
}

impl Core {
    fn build(data: &Ratings, weights: Weights, categories: Option<&[f64]>) -> Result<Self, CannotCompute> {
        if data.raters() < MIN_RATERS {
            return Err(CannotCompute::TooFewRaters { found: data.raters(), required: MIN_RATERS });
        }
        let counts = CategoryCounts::build(data, categories);
        let pairable = counts.totals.iter().filter(|total| **total >= 2.0).count();
        if pairable < MIN_PAIRABLE_UNITS {
            return Err(CannotCompute::TooFewUnits { found: pairable, required: MIN_PAIRABLE_UNITS });
        }
        let q = counts.categories.len();
        if q < 2 {
            return Err(CannotCompute::NoVariation);
        }
        let weights = match weights {
            Weights::Identity => None,
            _ if q > MAX_WEIGHTED_CATEGORIES => {
                return Err(CannotCompute::TooManyCategories { found: q, limit: MAX_WEIGHTED_CATEGORIES });
            }
            other => Some(other.matrix(&counts.categories)),
        };
        let n = counts.units();
        let mut prevalence = vec![0.0; q];
        let mut unit_agreement = Vec::with_capacity(n);
        let mut pa_sum = 0.0;
        for unit in 0..n {
            let entries = counts.unit(unit);
            let total = counts.totals[unit];
            for (category, count) in entries {
                prevalence[*category] += count / total;
            }
            let agreement = if total >= 2.0 {
                let agreeing: f64 = match &weights {
                    None => entries.iter().map(|(_, r)| r * (r - 1.0)).sum(),
                    Some(w) => entries
                        .iter()
                        .map(|(k, r_k)| {
                            let weighted: f64 = entries.iter().map(|(l, r_l)| w[k * q + l] * r_l).sum();
                            r_k * (weighted - 1.0)
                        })
                        .sum(),
                };
                agreeing / (total * (total - 1.0))
            } else {
                0.0
            };
            pa_sum += agreement;
            unit_agreement.push(agreement);
        }
        prevalence.iter_mut().for_each(|p| *p /= n as f64);
        Ok(Core { counts, weights, n, pairable, pa: pa_sum / pairable as f64, unit_agreement, prevalence })
    }

    fn q(&self) -> usize {
        self.counts.categories.len()
    }

    fn weight(&self, k: usize, l: usize) -> f64 {
        match &self.weights {
            None => f64::from(u8::from(k == l)),
            Some(w) => w[k * self.q() + l],
        }
    }

    fn weight_sum(&self) -> f64 {
        match &self.weights {
            None => self.q() as f64,
            Some(w) => w.iter().sum(),
        }
    }

    /// Gwet's coefficient `(p_a - p_e) / (1 - p_e)` with its linearised variance, given the
    /// chance agreement and each unit's contribution to it (`unit_chance(i)`; `None` when the
    /// chance term does not depend on the data, as for Brennan-Prediger).
    fn estimate(&self, pe: f64, unit_chance: Option<&dyn Fn(usize) -> f64>) -> Result<Estimate, CannotCompute> {
        if pe.is_nan() || pe >= 1.0 - 1e-12 {
            return Err(CannotCompute::NoVariation);
        }
        let value = (self.pa - pe) / (1.0 - pe);
        let n = self.n as f64;
        let scale = n / self.pairable as f64;
        let mut squares = 0.0;
        for unit in 0..self.n {
            let rated_twice = self.counts.totals[unit] >= 2.0;
            let pe_if_pairable = if rated_twice { pe } else { 0.0 };
            let mut contribution = scale * (self.unit_agreement[unit] - pe_if_pairable) / (1.0 - pe);
            if let Some(chance) = unit_chance {
                contribution -= 2.0 * (1.0 - value) * (chance(unit) - pe) / (1.0 - pe);
            }
            squares += (contribution - value).powi(2);
        }
        let variance = squares / (n * (n - 1.0));
        Ok(Estimate {
            value,
            ci95: t_interval(value, variance, self.n - 1),
            standard_error: Some(variance.sqrt()),
            interval: IntervalMethod::GwetVariance { df: self.n - 1 },
            units_used: self.n,
        })
    }
}

/// Percent agreement with missing data: the mean, over units rated by two or more raters, of
/// the share of agreeing rater pairs.
///
/// Source: Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability*, 4th ed., ch. 2 (percent
/// agreement `p_a` with missing ratings); variance as in Gwet's irrCAC `pa.coeff.raw`.
pub fn percent_agreement(data: &Ratings) -> Result<Estimate, CannotCompute> {
    let core = Core::build(data, Weights::Identity, None)?;
    let mut estimate = core.estimate(0.0, None)?;
    if let Some((low, high)) = estimate.ci95 {
        estimate.ci95 = Some((low.max(0.0), high));
    }
    Ok(estimate)
}

/// Fleiss' kappa generalised to missing data: `p_e = Σ_k π_k²`.
///
/// Sources: Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
/// *Psychological Bulletin* 76(5), 378-382; missing-data form and variance from Gwet (2014)
/// *Handbook*, 4th ed., ch. 2 (irrCAC `fleiss.kappa.raw`). Identical to Fleiss (1971) on
/// complete data; singly rated units count in the prevalences.
pub fn fleiss_kappa(data: &Ratings) -> Result<Estimate, CannotCompute> {
    weighted_fleiss_kappa(data, Weights::Identity, None)
}

/// Fleiss' kappa with agreement weights (Gwet 2014, ch. 3): `p_e = Σ_kl w_kl π_k π_l`.
pub fn weighted_fleiss_kappa(
    data: &Ratings,
    weights: Weights,
    categories: Option<&[f64]>,
) -> Result<Estimate, CannotCompute> {
    let core = Core::build(data, weights, categories)?;
    let q = core.q();
    let pe: f64 =
        (0..q).map(|k| (0..q).map(|l| core.weight(k, l) * core.prevalence[k] * core.prevalence[l]).sum::<f64>()).sum();
    // π̄_k = (Σ_l w_kl π_l + Σ_l w_lk π_l) / 2, the derivative of p_e in π_k.
    let symmetric: Vec<f64> = (0..q)
        .map(|k| (0..q).map(|l| (core.weight(k, l) + core.weight(l, k)) * core.prevalence[l]).sum::<f64>() / 2.0)
        .collect();
    let unit_chance = |unit: usize| {
        core.counts.unit(unit).iter().map(|(k, r)| r * symmetric[*k]).sum::<f64>() / core.counts.totals[unit]
    };
    core.estimate(pe, Some(&unit_chance))
}

/// Scott's pi for two raters is Fleiss' kappa restricted to units both rated.
///
/// Source: Scott, W. A. (1955). Reliability of content analysis: the case of nominal scale
/// coding. *Public Opinion Quarterly* 19(3), 321-325; variance from Gwet (2014), ch. 2
/// (irrCAC `scott2.table`). Requires exactly two raters.
pub fn scott_pi(data: &Ratings) -> Result<Estimate, CannotCompute> {
    crate::cohen::scott_pi(data)
}

/// Gwet's AC1: `p_e = Σ_k π_k (1 - π_k) / (q - 1)`, robust to the kappa paradox (a high
/// prevalence of one category, the normal case when nearly every QA answer is "pass").
///
/// Source: Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the
/// presence of high agreement. *British Journal of Mathematical and Statistical Psychology*
/// 61, 29-48; Gwet (2014) *Handbook*, 4th ed., ch. 2. `q` counts the `categories` given (the
/// scale's points) plus any other observed value, so declare unused scale points.
pub fn gwet_ac1(data: &Ratings, categories: Option<&[f64]>) -> Result<Estimate, CannotCompute> {
    gwet_ac2(data, Weights::Identity, categories)
}

/// Gwet's AC2, the weighted AC1: `p_e = Σ_kl w_kl / (q (q - 1)) · Σ_k π_k (1 - π_k)` with a
/// weighted `p_a`.
///
/// Source: Gwet (2014) *Handbook of Inter-Rater Reliability*, 4th ed., ch. 3 (irrCAC
/// `gwet.ac1.raw` with weights).
pub fn gwet_ac2(data: &Ratings, weights: Weights, categories: Option<&[f64]>) -> Result<Estimate, CannotCompute> {
    let core = Core::build(data, weights, categories)?;
    let q = core.q() as f64;
    let factor = core.weight_sum() / (q * (q - 1.0));
    let pe = factor * core.prevalence.iter().map(|p| p * (1.0 - p)).sum::<f64>();
    let unit_chance = |unit: usize| {
        factor * core.counts.unit(unit).iter().map(|(k, r)| r * (1.0 - core.prevalence[*k])).sum::<f64>()
            / core.counts.totals[unit]
    };
    core.estimate(pe, Some(&unit_chance))
}

/// Brennan-Prediger coefficient (free-marginal kappa): `p_e = 1 / q`, or with weights
/// `Σ_kl w_kl / q²`.
///
/// Sources: Brennan, R. L. and Prediger, D. J. (1981). Coefficient kappa: some uses, misuses,
/// and alternatives. *Educational and Psychological Measurement* 41, 687-699; missing data and
/// variance from Gwet (2014), ch. 2 (irrCAC `bp.coeff.raw`). Equals Randolph's free-marginal
/// multirater kappa on complete data. `q` includes declared `categories`.
pub fn brennan_prediger(data: &Ratings, categories: Option<&[f64]>) -> Result<Estimate, CannotCompute> {
    let core = Core::build(data, Weights::Identity, categories)?;
    let q = core.q() as f64;
    core.estimate(core.weight_sum() / (q * q), None)
}

/// Conger's kappa for multiple raters with rater-specific marginals (unweighted), with missing
/// data and variance as in Gwet (2014).
///
/// Sources: Conger, A. J. (1980). Integration and generalization of kappas for multiple raters.
/// *Psychological Bulletin* 88, 322-328; Gwet (2014) *Handbook*, 4th ed., ch. 2 (irrCAC
/// `conger.kappa.raw`). Unlike the other coefficients it depends on which rater gave which
/// rating, so do not use it on count-format data.
pub fn conger_kappa(data: &Ratings) -> Result<Estimate, CannotCompute> {
    let core = Core::build(data, Weights::Identity, None)?;
    let q = core.q();
    // Keep units with at least one rating, as the counts do, and raters with at least one.
    let kept_units: Vec<usize> = (0..data.units()).filter(|unit| data.unit_values(*unit).next().is_some()).collect();
    let index_of = |value: f64| core.counts.categories.partition_point(|c| *c < value);
    let mut classified = vec![vec![0.0; q]; data.raters()];
    for unit in &kept_units {
        for (rater, value) in data.unit(*unit).enumerate() {
            if let Some(value) = value {
                classified[rater][index_of(value)] += 1.0;
            }
        }
    }
    let active: Vec<usize> = (0..data.raters()).filter(|rater| classified[*rater].iter().sum::<f64>() > 0.0).collect();
    let r = active.len() as f64;
    if active.len() < MIN_RATERS {
        return Err(CannotCompute::TooFewRaters { found: active.len(), required: MIN_RATERS });
    }
    let rated: Vec<f64> = active.iter().map(|g| classified[*g].iter().sum::<f64>()).collect();
    let shares: Vec<Vec<f64>> =
        active.iter().zip(&rated).map(|(g, n_g)| classified[*g].iter().map(|c| c / n_g).collect()).collect();
    let mean_share: Vec<f64> = (0..q).map(|k| shares.iter().map(|p| p[k]).sum::<f64>() / r).collect();
    // Unweighted: p_e = Σ_k (p̄_k² - s²_kk / r), s²_kk the between-rater variance of p_gk.
    let pe: f64 = (0..q)
        .map(|k| {
            let variance =
                (shares.iter().map(|p| p[k] * p[k]).sum::<f64>() - r * mean_share[k] * mean_share[k]) / (r - 1.0);
            mean_share[k] * mean_share[k] - variance / r
        })
        .sum();
    let n = kept_units.len() as f64;
    let unit_chance_values: Vec<f64> = kept_units
        .iter()
        .map(|unit| {
            let mut lambda_sum = 0.0;
            for (position, g) in active.iter().enumerate() {
                let n_g = rated[position];
                let rated_here = data.rating(*unit, *g);
                let present = f64::from(u8::from(rated_here.is_some()));
                let chosen = rated_here.map(index_of);
                for k in 0..q {
                    let indicator = f64::from(u8::from(chosen == Some(k)));
                    let lambda = (indicator - (present - n_g / n) * shares[position][k]) * (n / n_g);
                    lambda_sum += lambda * (r * mean_share[k] - shares[position][k]);
                }
            }
            lambda_sum / (r * (r - 1.0))
        })
        .collect();
    let unit_chance = |unit: usize| unit_chance_values[unit];
    core.estimate(pe, Some(&unit_chance))
}
