//! Two-rater coefficients from the contingency table: Cohen's kappa (unweighted and weighted)
//! and Scott's pi.

use crate::data::{Level, Ratings};
use crate::estimate::{CannotCompute, Estimate, IntervalMethod, MIN_PAIRABLE_UNITS, t_interval};

/// Weights for Cohen's kappa, built on category **ranks** as R's `irr::kappa2`, scikit-learn and
/// statsmodels do (not on the numeric values, which irrCAC's raw-data API uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CohenWeights {
    /// Cohen (1960).
    Unweighted,
    /// `1 - |i - j| / (q - 1)` ("equal" in irr; Cicchetti-Allison in SAS).
    Linear,
    /// `1 - (i - j)² / (q - 1)²` ("squared" in irr; Fleiss-Cohen).
    Quadratic,
}

impl CohenWeights {
    /// Plumbline's choice per level: unweighted, linear, quadratic, quadratic.
    pub fn for_level(level: Level) -> Self {
        match level {
            Level::Nominal => CohenWeights::Unweighted,
            Level::Ordinal => CohenWeights::Linear,
            Level::Interval | Level::Ratio => CohenWeights::Quadratic,
        }
    }

    /// Human name for notes.
    pub fn name(self) -> &'static str {
        match self {
            CohenWeights::Unweighted => "unweighted",
            CohenWeights::Linear => "linear weights on category ranks",
            CohenWeights::Quadratic => "quadratic weights on category ranks",
        }
    }

    fn weight(self, i: usize, j: usize, q: usize) -> f64 {
        let distance = i.abs_diff(j) as f64;
        let span = (q.max(2) - 1) as f64;
        match self {
            CohenWeights::Unweighted => f64::from(u8::from(i == j)),
            CohenWeights::Linear => 1.0 - distance / span,
            CohenWeights::Quadratic => 1.0 - (distance / span).powi(2),
        }
    }
}

/// A q x q table of proportions over the categories both raters used.
struct Table {
    q: usize,
    n: usize,
    proportions: Vec<f64>,
    rows: Vec<f64>,
    columns: Vec<f64>,
}

impl Table {
    /// Units rated by both raters; categories are the sorted union of the values they used.
    fn from_two_raters(data: &Ratings) -> Result<Self, CannotCompute> {
        if data.raters() != 2 {
            return Err(CannotCompute::NotTwoRaters { found: data.raters() });
        }
        let pairs: Vec<(f64, f64)> =
            (0..data.units()).filter_map(|unit| Some((data.rating(unit, 0)?, data.rating(unit, 1)?))).collect();
        if pairs.len() < MIN_PAIRABLE_UNITS {
            return Err(CannotCompute::TooFewUnits { found: pairs.len(), required: MIN_PAIRABLE_UNITS });
        }
        let mut categories: Vec<f64> = pairs.iter().flat_map(|(a, b)| [*a, *b]).collect();
        categories.sort_by(f64::total_cmp);
        categories.dedup_by(|a, b| a == b);
        let q = categories.len();
        let index_of = |value: f64| categories.partition_point(|c| *c < value);
        let n = pairs.len();
        let mut proportions = vec![0.0; q * q];
        for (a, b) in &pairs {
            proportions[index_of(*a) * q + index_of(*b)] += 1.0 / n as f64;
        }
        let rows = (0..q).map(|i| (0..q).map(|j| proportions[i * q + j]).sum()).collect();
        let columns = (0..q).map(|j| (0..q).map(|i| proportions[i * q + j]).sum()).collect();
        Ok(Table { q, n, proportions, rows, columns })
    }

    /// `(p_a - p_e) / (1 - p_e)` and Gwet's (2014, eq. 2.9) variance, where each coefficient
    /// supplies `p_e` and the per-category derivative terms `row_term[k]`, `column_term[l]`.
    fn coefficient(
        &self,
        weights: CohenWeights,
        pe: f64,
        row_term: &[f64],
        column_term: &[f64],
    ) -> Result<Estimate, CannotCompute> {
        if pe.is_nan() || pe >= 1.0 - 1e-12 {
            return Err(CannotCompute::NoVariation);
        }
        let q = self.q;
        let mut pa = 0.0;
        for i in 0..q {
            for j in 0..q {
                pa += weights.weight(i, j, q) * self.proportions[i * q + j];
            }
        }
        let value = (pa - pe) / (1.0 - pe);
        let mut sum = 0.0;
        for (i, row) in row_term.iter().enumerate() {
            for (j, column) in column_term.iter().enumerate() {
                let p = self.proportions[i * q + j];
                if p > 0.0 {
                    let term = weights.weight(i, j, q) - (1.0 - value) * (row + column);
                    sum += p * term * term;
                }
            }
        }
        let n = self.n as f64;
        let variance = ((sum - (pa - 2.0 * (1.0 - value) * pe).powi(2)) / (n * (1.0 - pe).powi(2))).max(0.0);
        Ok(Estimate {
            value,
            ci95: t_interval(value, variance, self.n - 1),
            standard_error: Some(variance.sqrt()),
            interval: IntervalMethod::GwetVariance { df: self.n - 1 },
            units_used: self.n,
        })
    }
}

/// Cohen's kappa for exactly two raters, over units both rated, unweighted or weighted.
///
/// Sources: Cohen, J. (1960). A coefficient of agreement for nominal scales. *Educational and
/// Psychological Measurement* 20, 37-46; Cohen, J. (1968). Weighted kappa. *Psychological
/// Bulletin* 70, 213-220. Weights on category ranks as R `irr::kappa2`; variance from Gwet
/// (2014) *Handbook*, 4th ed., ch. 2 (irrCAC `kappa2.table`).
pub fn cohen_kappa(data: &Ratings, weights: CohenWeights) -> Result<Estimate, CannotCompute> {
    let table = Table::from_two_raters(data)?;
    let q = table.q;
    let mut pe = 0.0;
    for i in 0..q {
        for j in 0..q {
            pe += weights.weight(i, j, q) * table.rows[i] * table.columns[j];
        }
    }
    let row_term: Vec<f64> = (0..q).map(|k| (0..q).map(|l| weights.weight(k, l, q) * table.columns[l]).sum()).collect();
    let column_term: Vec<f64> = (0..q).map(|l| (0..q).map(|k| weights.weight(k, l, q) * table.rows[k]).sum()).collect();
    table.coefficient(weights, pe, &row_term, &column_term)
}

/// Scott's pi for exactly two raters over units both rated (unweighted).
///
/// Source: Scott, W. A. (1955). Reliability of content analysis: the case of nominal scale
/// coding. *Public Opinion Quarterly* 19(3), 321-325; variance from Gwet (2014), ch. 2
/// (irrCAC `scott2.table`).
pub(crate) fn scott_pi(data: &Ratings) -> Result<Estimate, CannotCompute> {
    let table = Table::from_two_raters(data)?;
    let q = table.q;
    let weights = CohenWeights::Unweighted;
    let mean: Vec<f64> = (0..q).map(|k| (table.rows[k] + table.columns[k]) / 2.0).collect();
    let pe: f64 = mean.iter().map(|p| p * p).sum();
    table.coefficient(weights, pe, &mean, &mean)
}
