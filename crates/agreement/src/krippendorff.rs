//! Krippendorff's alpha from the coincidence matrix, with a bootstrap interval over units.

use crate::data::{CategoryCounts, Level, Ratings};
use crate::estimate::{CannotCompute, Estimate, IntervalMethod, MIN_PAIRABLE_UNITS, MIN_RATERS};
use crate::rng::SplitMix64;

/// Bootstrap settings for alpha's interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bootstrap {
    /// Number of resamples; 0 skips the interval.
    pub resamples: usize,
    /// Seed of the SplitMix64 generator; reported with the interval.
    pub seed: u64,
}

/// The seed Plumbline reports with every alpha interval.
pub const DEFAULT_BOOTSTRAP_SEED: u64 = 2011;

impl Default for Bootstrap {
    fn default() -> Self {
        Bootstrap { resamples: 1000, seed: DEFAULT_BOOTSTRAP_SEED }
    }
}

/// Krippendorff's alpha at the given level, with missing data, and a 95% bootstrap interval
/// (1000 resamples of units, seed [`DEFAULT_BOOTSTRAP_SEED`]).
///
/// Source: Krippendorff, K. (2011). *Computing Krippendorff's Alpha-Reliability*. Annenberg
/// School for Communication Departmental Papers 43. `alpha = 1 - (n - 1) * Σ o_ck δ²_ck /
/// Σ n_c n_k δ²_ck`, where `o` is the coincidence matrix of pairable values (units with two or
/// more ratings; each unit contributes `n_uc n_uk / (m_u - 1)`), `n_c` its margins and `δ²`
/// the metric of the level:
/// - nominal: 0 if equal, else 1;
/// - ordinal: `(Σ_{g=c..k} n_g - (n_c + n_k) / 2)²`, built from the value **frequencies**
///   (not from ranks, and not Gwet's rank-distance "ordinal" weights);
/// - interval: `(c - k)²`; ratio: `((c - k) / (c + k))²`.
///
/// Computed from per-unit value counts, O(units x distinct values²), never over rater pairs.
pub fn krippendorff_alpha(data: &Ratings, level: Level) -> Result<Estimate, CannotCompute> {
    krippendorff_alpha_with(data, level, Bootstrap::default())
}

/// [`krippendorff_alpha`] with explicit bootstrap settings (`resamples: 0` for the value alone).
///
/// The bootstrap resamples pairable units with replacement and recomputes observed and expected
/// disagreement from the resampled units; the ordinal metric is held at the full sample's
/// (as Hayes and Krippendorff 2007 hold the metric fixed). Percentile interval.
pub fn krippendorff_alpha_with(data: &Ratings, level: Level, bootstrap: Bootstrap) -> Result<Estimate, CannotCompute> {
    if data.raters() < MIN_RATERS {
        return Err(CannotCompute::TooFewRaters { found: data.raters(), required: MIN_RATERS });
    }
    let counts = CategoryCounts::build(data, None);
    if level == Level::Ratio
        && let Some(negative) = counts.categories.iter().find(|value| **value < 0.0)
    {
        return Err(CannotCompute::NegativeRatioValue { value: *negative });
    }
    let pairable: Vec<usize> = (0..counts.units()).filter(|unit| counts.totals[*unit] >= 2.0).collect();
    if pairable.len() < MIN_PAIRABLE_UNITS {
        return Err(CannotCompute::TooFewUnits { found: pairable.len(), required: MIN_PAIRABLE_UNITS });
    }
    let q = counts.categories.len();
    let mut margins = vec![0.0; q];
    for unit in &pairable {
        for (category, count) in counts.unit(*unit) {
            margins[*category] += count;
        }
    }
    let metric = Metric::new(level, &counts.categories, &margins);
    let unit_disagreement: Vec<f64> =
        pairable.iter().map(|unit| metric.unit_disagreement(counts.unit(*unit), counts.totals[*unit])).collect();
    let observed: f64 = unit_disagreement.iter().sum();
    let value = alpha_from(&metric, observed, &margins).ok_or(CannotCompute::NoVariation)?;
    if !value.is_finite() {
        // Values near f64::MAX (1e308 beside 0 at the interval level): the squared
        // difference is infinite and alpha NaN.
        return Err(CannotCompute::Overflow);
    }

    let (ci95, interval) = if bootstrap.resamples == 0 {
        (None, IntervalMethod::None)
    } else {
        let resampler = Resampler::new(&counts, &pairable, &unit_disagreement, q);
        // Each resample has its own generator seeded from the master stream, so the interval
        // is the same whatever the number of threads.
        let mut master = SplitMix64::new(bootstrap.seed);
        let seeds: Vec<u64> = (0..bootstrap.resamples).map(|_| master.next_u64()).collect();
        let work = pairable.len() * bootstrap.resamples;
        let threads =
            if work < 2_000_000 { 1 } else { std::thread::available_parallelism().map_or(1, |n| n.get()).min(4) };
        let chunk = seeds.len().div_ceil(threads);
        let results: Vec<Option<f64>> = if threads == 1 {
            resampler.run(&metric, &seeds)
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = seeds
                    .chunks(chunk)
                    .map(|part| {
                        let (resampler, metric) = (&resampler, &metric);
                        scope.spawn(move || resampler.run(metric, part))
                    })
                    .collect();
                handles.into_iter().flat_map(|handle| handle.join().unwrap_or_default()).collect()
            })
        };
        let skipped = results.iter().filter(|alpha| alpha.is_none()).count();
        let mut alphas: Vec<f64> = results.into_iter().flatten().collect();
        alphas.sort_by(f64::total_cmp);
        let ci = (!alphas.is_empty()).then(|| (quantile(&alphas, 0.025), quantile(&alphas, 0.975)));
        (ci, IntervalMethod::Bootstrap { resamples: bootstrap.resamples, seed: bootstrap.seed, skipped })
    };
    Ok(Estimate { value, ci95, standard_error: None, interval, units_used: pairable.len() })
}

/// Bootstrap over pairable units. A resample is a vector of multiplicities `w_u` (how often
/// unit `u` was drawn); observed disagreement is the dot product of `w` with the units'
/// disagreements (always in unit order, so a seed gives the same interval bit for bit), and the
/// margins are `Σ_u w_u n_uc`.
///
/// Margins are sums of whole numbers, exact in any order, so with few categories they are
/// added up while drawing, from one small row of counts per unit: that replaces a pass over
/// every unit per category with a few integer adds per draw.
struct Resampler<'a> {
    units: usize,
    unit_disagreement: &'a [f64],
    margins: MarginSource<'a>,
}

/// Where a resample's margins come from.
enum MarginSource<'a> {
    /// `rows[u][c]`: count of category `c` in pairable unit `u` (at most [`ROW_WIDTH`]
    /// categories, at most 65,535 ratings per unit, and few enough units that a margin fits
    /// in `u32`). Sixteen bytes a unit keep the rows in cache while draws hop between
    /// them.
    Rows(Vec<[u16; ROW_WIDTH]>),
    /// `columns[c][u]`: the same counts, one column per category, for up to
    /// [`Resampler::DENSE_LIMIT`] categories.
    Columns(Vec<Vec<f64>>),
    /// Many categories: walk each drawn unit's sparse counts.
    Sparse(&'a CategoryCounts, &'a [usize]),
}

/// Categories per row of [`MarginSource::Rows`] (one SSE register of `u16`).
const ROW_WIDTH: usize = 8;

impl<'a> Resampler<'a> {
    const DENSE_LIMIT: usize = 32;

    fn new(counts: &'a CategoryCounts, pairable: &'a [usize], unit_disagreement: &'a [f64], q: usize) -> Self {
        // A resample's margin is at most units x the most ratings any unit has.
        let largest_unit = pairable.iter().map(|unit| counts.totals[*unit]).fold(0.0, f64::max);
        let fits = largest_unit <= f64::from(u16::MAX) && pairable.len() as f64 * largest_unit < f64::from(u32::MAX);
        let margins = if q <= ROW_WIDTH && fits {
            let rows = pairable
                .iter()
                .map(|unit| {
                    let mut row = [0u16; ROW_WIDTH];
                    for (category, count) in counts.unit(*unit) {
                        row[*category] = *count as u16;
                    }
                    row
                })
                .collect();
            MarginSource::Rows(rows)
        } else if q <= Self::DENSE_LIMIT {
            let mut columns = vec![vec![0.0; pairable.len()]; q];
            for (position, unit) in pairable.iter().enumerate() {
                for (category, count) in counts.unit(*unit) {
                    columns[*category][position] = *count;
                }
            }
            MarginSource::Columns(columns)
        } else {
            MarginSource::Sparse(counts, pairable)
        };
        Resampler { units: pairable.len(), unit_disagreement, margins }
    }

    fn run(&self, metric: &Metric, seeds: &[u64]) -> Vec<Option<f64>> {
        let mut weights = vec![0.0; self.units];
        let mut margins = vec![0.0; metric.margins.len()];
        seeds
            .iter()
            .map(|seed| {
                weights.iter_mut().for_each(|w| *w = 0.0);
                let mut rng = SplitMix64::new(*seed);
                match &self.margins {
                    MarginSource::Rows(rows) => {
                        let mut drawn = [0u32; ROW_WIDTH];
                        for _ in 0..self.units {
                            let unit = rng.below(self.units);
                            weights[unit] += 1.0;
                            for (margin, count) in drawn.iter_mut().zip(&rows[unit]) {
                                *margin += u32::from(*count);
                            }
                        }
                        for (margin, count) in margins.iter_mut().zip(drawn) {
                            *margin = f64::from(count);
                        }
                    }
                    MarginSource::Columns(columns) => {
                        for _ in 0..self.units {
                            weights[rng.below(self.units)] += 1.0;
                        }
                        for (margin, column) in margins.iter_mut().zip(columns) {
                            *margin = dot(&weights, column);
                        }
                    }
                    MarginSource::Sparse(counts, pairable) => {
                        for _ in 0..self.units {
                            weights[rng.below(self.units)] += 1.0;
                        }
                        margins.iter_mut().for_each(|m| *m = 0.0);
                        for (position, unit) in pairable.iter().enumerate() {
                            if weights[position] > 0.0 {
                                for (category, count) in counts.unit(*unit) {
                                    margins[*category] += weights[position] * count;
                                }
                            }
                        }
                    }
                }
                let observed = dot(&weights, self.unit_disagreement);
                alpha_from(metric, observed, &margins)
            })
            .collect()
    }
}

/// Dot product with four accumulators so the compiler can vectorise it.
fn dot(left: &[f64], right: &[f64]) -> f64 {
    let mut lanes = [0.0; 4];
    let (left_chunks, right_chunks) = (left.chunks_exact(4), right.chunks_exact(4));
    let tail: f64 = left_chunks.remainder().iter().zip(right_chunks.remainder()).map(|(a, b)| a * b).sum();
    for (a, b) in left_chunks.zip(right_chunks) {
        for lane in 0..4 {
            lanes[lane] += a[lane] * b[lane];
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// `1 - (n - 1) D_o / D_e`, or `None` when expected disagreement is zero.
fn alpha_from(metric: &Metric, observed: f64, margins: &[f64]) -> Option<f64> {
    let total: f64 = margins.iter().sum();
    let expected = metric.expected_disagreement(margins);
    (expected > 0.0).then(|| 1.0 - (total - 1.0) * observed / expected)
}

/// Linear-interpolation quantile of sorted values (R's type 7).
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let position = p * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let fraction = position - below as f64;
    sorted[below] + fraction * (sorted[above] - sorted[below])
}

/// The squared difference function `δ²` of a level, over the sorted categories.
struct Metric<'a> {
    level: Level,
    values: &'a [f64],
    /// For the ordinal metric: `cumulative[i]` = sum of margins of categories before `i`.
    cumulative: Vec<f64>,
    margins: Vec<f64>,
    /// Centre used by the interval closed forms to avoid cancellation.
    centre: f64,
    /// `δ²` of every pair, row-major, when there are few categories (empty otherwise): the
    /// per-unit sums then look it up instead of recomputing the metric.
    table: Vec<f64>,
}

impl<'a> Metric<'a> {
    fn new(level: Level, values: &'a [f64], margins: &[f64]) -> Self {
        let mut cumulative = Vec::with_capacity(margins.len() + 1);
        let mut running = 0.0;
        cumulative.push(0.0);
        for margin in margins {
            running += margin;
            cumulative.push(running);
        }
        let centre =
            if running > 0.0 { values.iter().zip(margins).map(|(v, n)| v * n).sum::<f64>() / running } else { 0.0 };
        let mut metric = Metric { level, values, cumulative, margins: margins.to_vec(), centre, table: Vec::new() };
        let q = values.len();
        if q <= Self::TABLE_LIMIT {
            metric.table = (0..q * q).map(|index| metric.compute_delta_squared(index / q, index % q)).collect();
        }
        metric
    }

    /// Most categories for which `δ²` is tabulated (a 64 x 64 table is 32 KiB).
    const TABLE_LIMIT: usize = 64;

    /// `δ²(c, k)` for category indices `c`, `k`.
    #[inline(always)]
    fn delta_squared(&self, c: usize, k: usize) -> f64 {
        if self.table.is_empty() { self.compute_delta_squared(c, k) } else { self.table[c * self.values.len() + k] }
    }

    #[inline(never)]
    fn compute_delta_squared(&self, c: usize, k: usize) -> f64 {
        if c == k {
            return 0.0;
        }
        match self.level {
            Level::Nominal => 1.0,
            Level::Ordinal => {
                let (low, high) = if c < k { (c, k) } else { (k, c) };
                let between = self.cumulative[high + 1] - self.cumulative[low];
                let d = between - (self.margins[low] + self.margins[high]) / 2.0;
                d * d
            }
            Level::Interval => {
                let d = self.values[c] - self.values[k];
                d * d
            }
            Level::Ratio => {
                let sum = self.values[c] + self.values[k];
                if sum == 0.0 {
                    0.0
                } else {
                    let d = (self.values[c] - self.values[k]) / sum;
                    d * d
                }
            }
        }
    }

    /// One unit's contribution to `Σ o_ck δ²_ck`: `Σ_{c,k} n_uc n_uk δ²_ck / (m_u - 1)`.
    fn unit_disagreement(&self, entries: &[(usize, f64)], total: f64) -> f64 {
        let sum = match self.level {
            Level::Nominal => total * total - entries.iter().map(|(_, n)| n * n).sum::<f64>(),
            Level::Interval if entries.len() > 8 => {
                let (mut first, mut second) = (0.0, 0.0);
                for (category, count) in entries {
                    let x = self.values[*category] - self.centre;
                    first += count * x;
                    second += count * x * x;
                }
                2.0 * (total * second - first * first)
            }
            _ => {
                let mut sum = 0.0;
                for (i, (c, n_c)) in entries.iter().enumerate() {
                    for (k, n_k) in &entries[i + 1..] {
                        sum += n_c * n_k * self.delta_squared(*c, *k);
                    }
                }
                2.0 * sum
            }
        };
        sum / (total - 1.0)
    }

    /// `Σ_{c,k} n_c n_k δ²_ck` for the given margins.
    fn expected_disagreement(&self, margins: &[f64]) -> f64 {
        match self.level {
            Level::Nominal => {
                let total: f64 = margins.iter().sum();
                total * total - margins.iter().map(|n| n * n).sum::<f64>()
            }
            Level::Interval if margins.len() > 64 => {
                let (mut total, mut first, mut second) = (0.0, 0.0, 0.0);
                for (value, count) in self.values.iter().zip(margins) {
                    let x = value - self.centre;
                    total += count;
                    first += count * x;
                    second += count * x * x;
                }
                2.0 * (total * second - first * first)
            }
            _ => {
                let used: Vec<usize> = (0..margins.len()).filter(|c| margins[*c] > 0.0).collect();
                let mut sum = 0.0;
                for (i, c) in used.iter().enumerate() {
                    for k in &used[i + 1..] {
                        sum += margins[*c] * margins[*k] * self.delta_squared(*c, *k);
                    }
                }
                2.0 * sum
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value near f64::MAX beside zeros (found by the CLI's fuzz test) overflows the interval
    /// metric's squared difference: an error, never a NaN alpha.
    #[test]
    fn huge_values_are_refused_not_computed_as_nan() {
        let mut rows = vec![vec![None, Some(0.0), Some(0.0)]; 4];
        rows.push(vec![None, Some(1e308), Some(0.0)]);
        let data = Ratings::from_unit_rows(&rows).unwrap();
        let result = krippendorff_alpha(&data, Level::Interval);
        assert!(matches!(result, Err(CannotCompute::Overflow)), "{result:?}");
        // The ratio metric is bounded, and nominal only compares.
        for level in [Level::Nominal, Level::Ratio] {
            assert!(krippendorff_alpha(&data, level).is_ok_and(|e| e.value.is_finite()), "{level:?}");
        }
    }

    /// Margins added up while drawing (rows of counts) equal the per-category dot products
    /// they replaced, so every resample's alpha is the same bit for bit.
    #[test]
    fn margins_from_rows_equal_margins_from_columns() {
        let rows: Vec<Vec<Option<f64>>> = (0..40u32)
            .map(|unit| {
                (0..5u32)
                    .map(|rater| ((unit + rater) % 7 != 0).then(|| f64::from((unit * 3 + rater * rater) % 5)))
                    .collect()
            })
            .collect();
        let data = Ratings::from_unit_rows(&rows).unwrap();
        let counts = CategoryCounts::build(&data, None);
        let pairable: Vec<usize> = (0..counts.units()).filter(|unit| counts.totals[*unit] >= 2.0).collect();
        let q = counts.categories.len();
        let mut margins = vec![0.0; q];
        for unit in &pairable {
            for (category, count) in counts.unit(*unit) {
                margins[*category] += count;
            }
        }
        let seeds: Vec<u64> = (0..50).collect();
        for level in [Level::Nominal, Level::Ordinal, Level::Interval, Level::Ratio] {
            let metric = Metric::new(level, &counts.categories, &margins);
            let unit_disagreement: Vec<f64> = pairable
                .iter()
                .map(|unit| metric.unit_disagreement(counts.unit(*unit), counts.totals[*unit]))
                .collect();
            let by_rows = Resampler::new(&counts, &pairable, &unit_disagreement, q);
            assert!(matches!(by_rows.margins, MarginSource::Rows(_)));
            let mut columns = vec![vec![0.0; pairable.len()]; q];
            for (position, unit) in pairable.iter().enumerate() {
                for (category, count) in counts.unit(*unit) {
                    columns[*category][position] = *count;
                }
            }
            let by_columns = Resampler {
                units: pairable.len(),
                unit_disagreement: &unit_disagreement,
                margins: MarginSource::Columns(columns),
            };
            let by_sparse = Resampler {
                units: pairable.len(),
                unit_disagreement: &unit_disagreement,
                margins: MarginSource::Sparse(&counts, &pairable),
            };
            let expected = by_columns.run(&metric, &seeds);
            assert_eq!(by_rows.run(&metric, &seeds), expected, "{level}");
            assert_eq!(by_sparse.run(&metric, &seeds), expected, "{level}");
        }
    }
}
