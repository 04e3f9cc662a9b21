//! Ratings as they arrive (units x raters, missing allowed) and the per-unit category counts
//! every coefficient is computed from.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Measurement level of the ratings; chooses Krippendorff's metric and Gwet's weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Unordered categories (pass/fail, yes/no/N/A).
    Nominal,
    /// Ordered categories (a 1-5 rubric).
    Ordinal,
    /// Equal-interval numbers (scores).
    Interval,
    /// Numbers with a true zero (durations, counts).
    Ratio,
}

impl Level {
    /// The lowercase name used in the CLI and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Nominal => "nominal",
            Level::Ordinal => "ordinal",
            Level::Interval => "interval",
            Level::Ratio => "ratio",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of `nominal`, `ordinal`, `interval`, `ratio`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown level {0:?}: expected nominal, ordinal, interval or ratio")]
pub struct UnknownLevel(pub String);

impl FromStr for Level {
    type Err = UnknownLevel;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "nominal" => Ok(Level::Nominal),
            "ordinal" => Ok(Level::Ordinal),
            "interval" => Ok(Level::Interval),
            "ratio" => Ok(Level::Ratio),
            _ => Err(UnknownLevel(text.to_owned())),
        }
    }
}

/// Why a ratings matrix could not be built.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RatingsError {
    /// A unit row does not have one cell per rater.
    #[error("unit {unit} has {found} cells but there are {expected} raters")]
    RaggedRow { unit: usize, found: usize, expected: usize },
    /// NaN or infinity.
    #[error("unit {unit}, rater {rater}: {value} is not a finite number")]
    NotFinite { unit: usize, rater: usize, value: f64 },
    /// The same rater rated the same unit twice (index of the second observation).
    #[error("observation {index} repeats a unit and rater already rated")]
    DuplicateRating { index: usize },
    /// A count or contingency table row has the wrong width.
    #[error("table row {row} has {found} cells but there are {expected} categories")]
    TableWidth { row: usize, found: usize, expected: usize },
}

/// A units x raters matrix of numeric ratings; `None` is a missing rating.
///
/// Units are the things rated (conversations, or one criterion of a conversation), raters are
/// the graders. Values are numbers: category codes for nominal data, scale points or scores
/// otherwise. Every cell is finite; that is checked once, here.
#[derive(Debug, Clone)]
pub struct Ratings {
    units: usize,
    raters: usize,
    /// Row-major; NaN marks a missing rating (real ratings are finite), which halves the
    /// memory the estimators stream through compared with `Option<f64>`.
    cells: Vec<f64>,
}

impl Ratings {
    /// Builds from one row per unit, each with one cell per rater.
    pub fn from_unit_rows<R: AsRef<[Option<f64>]>>(rows: &[R]) -> Result<Self, RatingsError> {
        let raters = rows.first().map_or(0, |row| row.as_ref().len());
        let mut cells = Vec::with_capacity(rows.len() * raters);
        for (unit, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            if row.len() != raters {
                return Err(RatingsError::RaggedRow { unit, found: row.len(), expected: raters });
            }
            cells.extend_from_slice(row);
        }
        Self::from_cells(rows.len(), raters, cells)
    }

    /// Builds from one row per rater, each with one cell per unit (Krippendorff's layout).
    pub fn from_rater_rows<R: AsRef<[Option<f64>]>>(rows: &[R]) -> Result<Self, RatingsError> {
        let raters = rows.len();
        let units = rows.first().map_or(0, |row| row.as_ref().len());
        let mut cells = vec![None; units * raters];
        for (rater, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            if row.len() != units {
                return Err(RatingsError::RaggedRow { unit: rater, found: row.len(), expected: units });
            }
            for (unit, value) in row.iter().enumerate() {
                cells[unit * raters + rater] = *value;
            }
        }
        Self::from_cells(units, raters, cells)
    }

    /// Builds from a flat row-major `units x raters` vector.
    pub fn from_cells(units: usize, raters: usize, cells: Vec<Option<f64>>) -> Result<Self, RatingsError> {
        if cells.len() != units * raters {
            return Err(RatingsError::RaggedRow {
                unit: cells.len() / raters.max(1),
                found: cells.len() % raters.max(1),
                expected: raters,
            });
        }
        for (index, cell) in cells.iter().enumerate() {
            if let Some(value) = cell
                && !value.is_finite()
            {
                return Err(RatingsError::NotFinite { unit: index / raters, rater: index % raters, value: *value });
            }
        }
        let cells = cells.into_iter().map(|cell| cell.unwrap_or(f64::NAN)).collect();
        Ok(Ratings { units, raters, cells })
    }

    /// Builds from the "distribution" format (Fleiss 1971; Gwet's `*.dist` functions): one row
    /// per unit, one column per category, each cell the number of raters who chose it.
    ///
    /// Rater identity is not recorded in that format, so the raters are synthesised in an
    /// arbitrary order; use it only with exchangeable-rater statistics (alpha, Fleiss, Gwet,
    /// Brennan-Prediger), not with Cohen or Conger.
    pub fn from_category_counts(counts: &[Vec<u32>], categories: &[f64]) -> Result<Self, RatingsError> {
        let mut rows = Vec::with_capacity(counts.len());
        for (row_index, row) in counts.iter().enumerate() {
            if row.len() != categories.len() {
                return Err(RatingsError::TableWidth { row: row_index, found: row.len(), expected: categories.len() });
            }
            let mut unit = Vec::new();
            for (count, category) in row.iter().zip(categories) {
                unit.extend(std::iter::repeat_n(Some(*category), *count as usize));
            }
            rows.push(unit);
        }
        let raters = rows.iter().map(Vec::len).max().unwrap_or(0);
        for unit in &mut rows {
            unit.resize(raters, None);
        }
        Self::from_unit_rows(&rows)
    }

    /// Builds two-rater data from a square contingency table: `table[a][b]` units were rated
    /// `categories[a]` by the first rater and `categories[b]` by the second.
    pub fn from_contingency_table(table: &[Vec<u32>], categories: &[f64]) -> Result<Self, RatingsError> {
        let mut cells = Vec::new();
        for (row_index, row) in table.iter().enumerate() {
            if row.len() != categories.len() || table.len() != categories.len() {
                return Err(RatingsError::TableWidth { row: row_index, found: row.len(), expected: categories.len() });
            }
            for (column, count) in row.iter().enumerate() {
                for _ in 0..*count {
                    cells.push(Some(categories[row_index]));
                    cells.push(Some(categories[column]));
                }
            }
        }
        Self::from_cells(cells.len() / 2, 2, cells)
    }

    /// Builds from `(unit, rater, value)` observations, the shape calibration data has in the
    /// database; returns the matrix with its unit and rater keys in sorted order (the row and
    /// column order of the matrix). A unit a rater did not rate is missing.
    pub fn from_observations<U, R>(observations: &[(U, R, f64)]) -> Result<KeyedRatings<U, R>, RatingsError>
    where
        U: Ord + Clone,
        R: Ord + Clone,
    {
        let mut unit_keys: Vec<U> = observations.iter().map(|o| o.0.clone()).collect();
        unit_keys.sort();
        unit_keys.dedup();
        let mut rater_keys: Vec<R> = observations.iter().map(|o| o.1.clone()).collect();
        rater_keys.sort();
        rater_keys.dedup();
        let raters = rater_keys.len();
        let mut cells = vec![None; unit_keys.len() * raters];
        for (index, (unit, rater, value)) in observations.iter().enumerate() {
            let row = unit_keys.binary_search(unit).unwrap_or_default();
            let column = rater_keys.binary_search(rater).unwrap_or_default();
            let cell = &mut cells[row * raters + column];
            if cell.is_some() {
                return Err(RatingsError::DuplicateRating { index });
            }
            *cell = Some(*value);
        }
        let ratings = Self::from_cells(unit_keys.len(), raters, cells)?;
        Ok(KeyedRatings { ratings, units: unit_keys, raters: rater_keys })
    }

    /// Number of units (rows).
    pub fn units(&self) -> usize {
        self.units
    }

    /// Number of raters (columns).
    pub fn raters(&self) -> usize {
        self.raters
    }

    /// One rating.
    pub fn rating(&self, unit: usize, rater: usize) -> Option<f64> {
        let value = self.cells[unit * self.raters + rater];
        (!value.is_nan()).then_some(value)
    }

    /// All ratings of one unit, one per rater (`None` = missing).
    pub fn unit(&self, unit: usize) -> impl Iterator<Item = Option<f64>> + '_ {
        self.unit_cells(unit).iter().map(|value| (!value.is_nan()).then_some(*value))
    }

    /// The present ratings of one unit.
    pub(crate) fn unit_values(&self, unit: usize) -> impl Iterator<Item = f64> + '_ {
        self.unit_cells(unit).iter().copied().filter(|value| !value.is_nan())
    }

    fn unit_cells(&self, unit: usize) -> &[f64] {
        &self.cells[unit * self.raters..(unit + 1) * self.raters]
    }

    /// Number of missing cells.
    pub fn missing(&self) -> usize {
        self.cells.iter().filter(|cell| cell.is_nan()).count()
    }

    /// True when no rating is missing.
    pub fn is_complete(&self) -> bool {
        !self.cells.iter().any(|cell| cell.is_nan())
    }

    /// The same units, keeping only the listed raters (in the order given).
    pub fn select_raters(&self, raters: &[usize]) -> Ratings {
        let mut cells = Vec::with_capacity(self.units * raters.len());
        for unit in 0..self.units {
            cells.extend(raters.iter().map(|rater| self.cells[unit * self.raters + rater]));
        }
        Ratings { units: self.units, raters: raters.len(), cells }
    }

    /// The same ratings with units in another order (`order[i]` is the old index of unit `i`).
    pub fn reorder_units(&self, order: &[usize]) -> Ratings {
        let mut cells = Vec::with_capacity(order.len() * self.raters);
        for unit in order {
            cells.extend_from_slice(self.unit_cells(*unit));
        }
        Ratings { units: order.len(), raters: self.raters, cells }
    }
}

impl PartialEq for Ratings {
    /// Same shape and the same rating (or the same missing cell) everywhere.
    fn eq(&self, other: &Self) -> bool {
        self.units == other.units
            && self.raters == other.raters
            && self.cells.iter().zip(&other.cells).all(|(a, b)| a == b || (a.is_nan() && b.is_nan()))
    }
}

/// A ratings matrix with the keys of its rows (units) and columns (raters).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyedRatings<U, R> {
    pub ratings: Ratings,
    /// `units[i]` is the key of row `i`.
    pub units: Vec<U>,
    /// `raters[j]` is the key of column `j`.
    pub raters: Vec<R>,
}

/// Canonical hash key of a rating value (`-0.0` and `0.0` are one category).
fn value_key(value: f64) -> u64 {
    if value == 0.0 { 0 } else { value.to_bits() }
}

/// Per-unit counts of each category, sparse: the building block of every coefficient.
///
/// Units with no rating at all are dropped (Gwet: "exclude all subjects that are not rated by
/// any rater"). Categories are the distinct values, sorted ascending, plus any declared ones.
#[derive(Debug, Clone)]
pub(crate) struct CategoryCounts {
    pub categories: Vec<f64>,
    /// `entries[starts[u]..starts[u + 1]]` are unit `u`'s `(category index, count)` pairs.
    starts: Vec<usize>,
    entries: Vec<(usize, f64)>,
    /// Number of ratings of each kept unit.
    pub totals: Vec<f64>,
}

impl CategoryCounts {
    /// Counts every unit's categories. Rating scales have a handful of points, so the usual
    /// case goes through [`CategoryCounts::build_few`]; data with more distinct values (scores,
    /// fractions) through the general interner.
    pub fn build(data: &Ratings, declared: Option<&[f64]>) -> Self {
        Self::build_few(data, declared).unwrap_or_else(|| Self::build_general(data, declared))
    }

    /// The fast path for at most [`FEW_CATEGORIES`] distinct values; `None` when there are more.
    ///
    /// Each unit's row is compared against every known value at once (branch-free compares the
    /// compiler vectorises), which beats looking each cell up: no data-dependent branch on
    /// missing cells and no per-cell table walk. A row whose counts fall short of its present
    /// cells holds a value not seen before; it is learned and the row counted again. Counts
    /// are kept dense per unit in order of first appearance, then written out sparse in sorted
    /// category order, exactly as [`CategoryCounts::build_general`] writes them.
    fn build_few(data: &Ratings, declared: Option<&[f64]>) -> Option<Self> {
        let mut known = [f64::NAN; FEW_CATEGORIES];
        let mut distinct = 0;
        for value in declared.unwrap_or(&[]) {
            if value.is_nan() {
                return None;
            }
            if !known[..distinct].contains(value) {
                if distinct == FEW_CATEGORIES {
                    return None;
                }
                known[distinct] = *value;
                distinct += 1;
            }
        }
        let mut dense: Vec<[u32; FEW_CATEGORIES]> = Vec::with_capacity(data.units());
        let mut totals = Vec::with_capacity(data.units());
        for unit in 0..data.units() {
            let row = data.unit_cells(unit);
            let mut counts = count_known(row, &known, distinct);
            let present = counts[FEW_CATEGORIES];
            if present == 0 {
                continue;
            }
            if counts[..FEW_CATEGORIES].iter().sum::<u32>() != present {
                for value in row.iter().filter(|value| !value.is_nan()) {
                    if !known[..distinct].contains(value) {
                        if distinct == FEW_CATEGORIES {
                            return None;
                        }
                        known[distinct] = *value;
                        distinct += 1;
                    }
                }
                counts = count_known(row, &known, distinct);
            }
            let mut unit_counts = [0; FEW_CATEGORIES];
            unit_counts.copy_from_slice(&counts[..FEW_CATEGORIES]);
            dense.push(unit_counts);
            totals.push(f64::from(present));
        }
        let mut order: Vec<usize> = (0..distinct).collect();
        order.sort_by(|a, b| known[*a].total_cmp(&known[*b]));
        let categories: Vec<f64> = order.iter().map(|id| known[*id]).collect();
        // A unit's entries are gathered in a small array whose end advances only past non-zero
        // counts (no branch on the data, which is as unpredictable as the ratings), then
        // copied out.
        let mut starts = Vec::with_capacity(dense.len() + 1);
        let mut entries = Vec::with_capacity(dense.len() * distinct + FEW_CATEGORIES);
        starts.push(0);
        for unit_counts in &dense {
            let mut unit_entries = [(0, 0.0); FEW_CATEGORIES];
            let mut end = 0;
            for (category, id) in order.iter().enumerate() {
                let count = unit_counts[*id];
                unit_entries[end] = (category, f64::from(count));
                end += usize::from(count > 0);
            }
            // The whole fixed-size array, then back to the real end: a copy of known size
            // compiles to a few moves, where a variable-length one calls memcpy per unit.
            let start = entries.len();
            entries.extend_from_slice(&unit_entries);
            entries.truncate(start + end);
            starts.push(entries.len());
        }
        Some(CategoryCounts { categories, starts, entries, totals })
    }

    /// One pass over the cells: values get provisional ids in order of appearance (integers
    /// through a direct table, others through a hash map), counts accumulate per unit, and the
    /// ids are remapped to sorted category order at the end.
    fn build_general(data: &Ratings, declared: Option<&[f64]>) -> Self {
        let mut interner = Interner::new();
        for value in declared.unwrap_or(&[]) {
            interner.id(*value);
        }
        let mut starts = Vec::with_capacity(data.units() + 1);
        let mut entries: Vec<(usize, f64)> = Vec::with_capacity(data.units() * 6);
        let mut totals = Vec::with_capacity(data.units());
        // Dense scratch counts plus the list of touched ids keep this O(cells).
        // Two banks of integer counters, alternated by rater, so consecutive increments of the
        // same category do not wait on each other.
        let mut scratch = vec![[0u32; 2]; interner.values.len().max(8)];
        let mut touched: Vec<usize> = Vec::with_capacity(data.raters());
        starts.push(0);
        for unit in 0..data.units() {
            // With few distinct values, count unconditionally and scan them all at the end of
            // the unit; with many, remember which ones this unit touched.
            let sparse = interner.values.len() > 32;
            for (position, value) in data.unit_cells(unit).iter().enumerate() {
                if value.is_nan() {
                    continue;
                }
                let id = interner.id(*value);
                if id >= scratch.len() {
                    scratch.resize(id + 1, [0, 0]);
                }
                let slot = &mut scratch[id];
                if sparse && slot[0] + slot[1] == 0 {
                    touched.push(id);
                }
                slot[position & 1] += 1;
            }
            if !sparse {
                touched.extend((0..interner.values.len()).filter(|id| scratch[*id][0] + scratch[*id][1] > 0));
            }
            if touched.is_empty() {
                continue;
            }
            let mut total = 0.0;
            for id in touched.drain(..) {
                let count = f64::from(scratch[id][0] + scratch[id][1]);
                total += count;
                entries.push((id, count));
                scratch[id] = [0, 0];
            }
            totals.push(total);
            starts.push(entries.len());
        }
        let mut order: Vec<usize> = (0..interner.values.len()).collect();
        order.sort_by(|a, b| interner.values[*a].total_cmp(&interner.values[*b]));
        let mut rank = vec![0; order.len()];
        for (position, id) in order.iter().enumerate() {
            rank[*id] = position;
        }
        let categories: Vec<f64> = order.iter().map(|id| interner.values[*id]).collect();
        let already_sorted = rank.iter().enumerate().all(|(id, r)| id == *r);
        if !already_sorted {
            for entry in &mut entries {
                entry.0 = rank[entry.0];
            }
        }
        for unit in 0..totals.len() {
            entries[starts[unit]..starts[unit + 1]].sort_unstable_by_key(|entry| entry.0);
        }
        CategoryCounts { categories, starts, entries, totals }
    }

    pub fn units(&self) -> usize {
        self.totals.len()
    }

    pub fn unit(&self, unit: usize) -> &[(usize, f64)] {
        &self.entries[self.starts[unit]..self.starts[unit + 1]]
    }
}

/// Most distinct values [`CategoryCounts::build_few`] handles (a 0-7 or 1-8 scale).
const FEW_CATEGORIES: usize = 8;

/// How many cells of `row` equal each of the first `distinct` known values (`[0..8]`), and how
/// many are present (`[8]`). Dispatches to a kernel with the count fixed at compile time, so the
/// compares unroll and vectorise.
fn count_known(row: &[f64], known: &[f64; FEW_CATEGORIES], distinct: usize) -> [u32; FEW_CATEGORIES + 1] {
    match distinct {
        0 => count_row::<0>(row, known),
        1 => count_row::<1>(row, known),
        2 => count_row::<2>(row, known),
        3 => count_row::<3>(row, known),
        4 => count_row::<4>(row, known),
        5 => count_row::<5>(row, known),
        6 => count_row::<6>(row, known),
        7 => count_row::<7>(row, known),
        _ => count_row::<8>(row, known),
    }
}

#[inline(always)]
fn count_row<const N: usize>(row: &[f64], known: &[f64; FEW_CATEGORIES]) -> [u32; FEW_CATEGORIES + 1] {
    // u64 lanes match the width of f64 compare masks, which keeps the loop vectorised.
    let mut matches = [0u64; N];
    let mut present = 0u64;
    for value in row {
        present += u64::from(!value.is_nan());
        for (count, category) in matches.iter_mut().zip(known) {
            *count += u64::from(*value == *category);
        }
    }
    let mut counts = [0u32; FEW_CATEGORIES + 1];
    for (count, matched) in counts.iter_mut().zip(matches) {
        *count = matched as u32;
    }
    counts[FEW_CATEGORIES] = present as u32;
    counts
}

/// Provisional ids for distinct values, in order of first appearance.
struct Interner {
    values: Vec<f64>,
    /// Integer values in `-SMALL..=SMALL` map through this table (index `value + SMALL`).
    small: Vec<u32>,
    others: HashMap<u64, usize>,
}

impl Interner {
    const SMALL: i64 = 1024;

    fn new() -> Self {
        Interner { values: Vec::new(), small: vec![u32::MAX; (2 * Self::SMALL + 1) as usize], others: HashMap::new() }
    }

    /// Hot path: a small integer already seen is one table load.
    #[inline(always)]
    fn id(&mut self, value: f64) -> usize {
        // A truncating cast and back is an integer test without libm's trunc (no SSE4.1 needed).
        let integer = value as i64;
        if integer as f64 == value && (-Self::SMALL..=Self::SMALL).contains(&integer) {
            let id = self.small[(integer + Self::SMALL) as usize];
            if id != u32::MAX {
                return id as usize;
            }
        }
        self.new_or_other(value)
    }

    #[cold]
    #[inline(never)]
    fn new_or_other(&mut self, value: f64) -> usize {
        let integer = value as i64;
        if integer as f64 == value && (-Self::SMALL..=Self::SMALL).contains(&integer) {
            let id = self.values.len();
            self.small[(integer + Self::SMALL) as usize] = id as u32;
            self.values.push(value);
            return id;
        }
        let next = self.values.len();
        let id = *self.others.entry(value_key(value)).or_insert(next);
        if id == next {
            self.values.push(value);
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    #[test]
    fn counts_skip_empty_units_and_sort_categories() {
        let data = Ratings::from_unit_rows(&[
            vec![Some(3.0), Some(1.0), Some(3.0)],
            vec![None, None, None],
            vec![Some(2.0), None, Some(-0.0)],
        ])
        .unwrap();
        let counts = CategoryCounts::build(&data, Some(&[5.0]));
        assert_eq!(counts.categories, vec![-0.0, 1.0, 2.0, 3.0, 5.0]);
        assert_eq!(counts.units(), 2);
        assert_eq!(counts.unit(0), &[(1, 1.0), (3, 2.0)]);
        assert_eq!(counts.unit(1), &[(0, 1.0), (2, 1.0)]);
        assert_eq!(counts.totals, vec![3.0, 2.0]);
    }

    #[test]
    fn many_distinct_values_use_the_hashed_index() {
        let rows: Vec<Vec<Option<f64>>> =
            (0..200).map(|unit| vec![Some(unit as f64 * 0.5), Some(unit as f64 * 0.5 + 0.25)]).collect();
        let counts = CategoryCounts::build(&Ratings::from_unit_rows(&rows).unwrap(), None);
        assert_eq!(counts.categories.len(), 400);
        assert_eq!(counts.unit(10), &[(20, 1.0), (21, 1.0)]);
    }

    #[test]
    fn observations_become_a_matrix_with_keys() {
        let keyed =
            Ratings::from_observations(&[("conv-2", "bob", 1.0), ("conv-1", "ann", 0.0), ("conv-2", "ann", 1.0)])
                .unwrap();
        assert_eq!(keyed.units, vec!["conv-1", "conv-2"]);
        assert_eq!(keyed.raters, vec!["ann", "bob"]);
        assert_eq!(keyed.ratings.unit(0).collect::<Vec<_>>(), [Some(0.0), None]);
        assert_eq!(keyed.ratings.unit(1).collect::<Vec<_>>(), [Some(1.0), Some(1.0)]);
        let duplicate = Ratings::from_observations(&[("c", "a", 1.0), ("c", "a", 0.0)]);
        assert_eq!(duplicate, Err(RatingsError::DuplicateRating { index: 1 }));
    }

    fn same_counts(left: &CategoryCounts, right: &CategoryCounts) -> bool {
        let bits = |values: &[f64]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        bits(&left.categories) == bits(&right.categories)
            && left.starts == right.starts
            && left.entries == right.entries
            && left.totals == right.totals
    }

    proptest::proptest! {
        /// The fast path for few categories counts exactly as the general one, including `-0.0`,
        /// declared but unused categories, units with no rating, and falling back past eight values.
        #[test]
        fn few_categories_count_like_the_general_path(
            rows in (1usize..7).prop_flat_map(|raters| proptest::collection::vec(
                proptest::collection::vec(
                    proptest::prop_oneof![
                        proptest::strategy::Just(None),
                        (-3i32..7).prop_map(|v| Some(f64::from(v) / 2.0)),
                        proptest::strategy::Just(Some(-0.0)),
                    ],
                    raters,
                ),
                0..30,
            )),
            declared in proptest::collection::vec((-2i32..5).prop_map(f64::from), 0..5),
        ) {
            let data = Ratings::from_unit_rows(&rows).unwrap();
            for declared in [None, Some(&declared[..])] {
                let general = CategoryCounts::build_general(&data, declared);
                match CategoryCounts::build_few(&data, declared) {
                    Some(few) => proptest::prop_assert!(same_counts(&few, &general), "{few:?} vs {general:?}"),
                    None => proptest::prop_assert!(general.categories.len() > FEW_CATEGORIES),
                }
                proptest::prop_assert!(same_counts(&CategoryCounts::build(&data, declared), &general));
            }
        }
    }

    #[test]
    fn count_format_round_trips() {
        let data = Ratings::from_category_counts(&[vec![2, 1], vec![0, 3]], &[0.0, 1.0]).unwrap();
        assert_eq!(data.raters(), 3);
        assert_eq!(data.unit(0).collect::<Vec<_>>(), [Some(0.0), Some(0.0), Some(1.0)]);
    }
}
