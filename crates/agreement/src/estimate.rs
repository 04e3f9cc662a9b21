//! What every estimator returns: a value with its interval, or a typed reason it cannot.

use std::fmt;

use serde::Serialize;
use thiserror::Error;

/// Fewest units rated by two or more raters before any coefficient is reported.
///
/// Below this a chance-corrected coefficient swings wildly with a single rating and its interval
/// spans most of [-1, 1]; Plumbline says "not enough data" instead of printing a number.
pub const MIN_PAIRABLE_UNITS: usize = 5;

/// Fewest raters for any agreement coefficient.
pub const MIN_RATERS: usize = 2;

/// A coefficient with its 95% interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub value: f64,
    /// 95% interval `(low, high)`; `None` when it cannot be formed (e.g. zero variance).
    pub ci95: Option<(f64, f64)>,
    /// Standard error where the interval comes from one (Gwet's variance); `None` otherwise.
    pub standard_error: Option<f64>,
    /// How the interval was obtained.
    pub interval: IntervalMethod,
    /// Units that entered the coefficient (for alpha: pairable units).
    pub units_used: usize,
}

/// How a 95% interval was obtained; its `Display` is the human note.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum IntervalMethod {
    /// No interval.
    None,
    /// Gwet's (2014) linearised variance with a Student t quantile on `df` degrees of freedom,
    /// as Gwet's R package irrCAC does.
    GwetVariance { df: usize },
    /// Percentile bootstrap over units.
    Bootstrap {
        resamples: usize,
        seed: u64,
        /// Resamples where the coefficient was undefined (no variation) and were skipped.
        skipped: usize,
    },
    /// Exact F-distribution interval (Shrout and Fleiss 1979; McGraw and Wong 1996).
    FDistribution,
}

impl fmt::Display for IntervalMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntervalMethod::None => f.write_str("no interval"),
            IntervalMethod::GwetVariance { df } => {
                write!(f, "95% CI from Gwet's variance, t with {df} df")
            }
            IntervalMethod::Bootstrap { resamples, seed, skipped } => {
                write!(f, "95% CI: percentile bootstrap over units, {resamples} resamples, seed {seed}")?;
                if *skipped > 0 {
                    write!(f, " ({skipped} undefined resamples skipped)")?;
                }
                Ok(())
            }
            IntervalMethod::FDistribution => f.write_str("95% CI from the F distribution"),
        }
    }
}

/// Why a coefficient cannot be computed. The message is written for a QA lead.
#[derive(Debug, Clone, PartialEq, Error, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum CannotCompute {
    #[error("not enough data: {found} rater(s), at least {required} needed")]
    TooFewRaters { found: usize, required: usize },
    #[error("not enough data: {found} unit(s) rated by two or more raters, at least {required} needed")]
    TooFewUnits { found: usize, required: usize },
    #[error("no variation: all ratings fall in one category, so chance agreement is total")]
    NoVariation,
    #[error("needs complete data: {missing} rating(s) missing")]
    IncompleteData { missing: usize },
    #[error("needs exactly two raters, found {found}")]
    NotTwoRaters { found: usize },
    #[error("the ratio level needs non-negative values, found {value}")]
    NegativeRatioValue { value: f64 },
    #[error("{found} distinct values is too many for weighted agreement (limit {limit})")]
    TooManyCategories { found: usize, limit: usize },
    #[error("the values are too large to compare: a squared difference overflows")]
    Overflow,
}

/// Gwet-style interval: `value ± t(0.975, df) * se`, clamped to [-1, 1].
pub(crate) fn t_interval(value: f64, variance: f64, df: usize) -> Option<(f64, f64)> {
    if df == 0 || !variance.is_finite() || variance < 0.0 {
        return None;
    }
    let half = crate::distributions::t_quantile(0.975, df as f64) * variance.sqrt();
    Some(((value - half).max(-1.0), (value + half).min(1.0)))
}

/// Krippendorff's (2004, 2011) convention for alpha, shown as a convention, not a truth.
pub fn interpret_alpha(value: f64) -> String {
    let verdict = if value >= 0.800 {
        "reliable (alpha >= 0.800)"
    } else if value >= 0.667 {
        "tentative conclusions only (0.667 <= alpha < 0.800)"
    } else {
        "unreliable (alpha < 0.667)"
    };
    format!("{verdict}; Krippendorff's convention")
}

/// Landis and Koch's (1977) benchmarks for kappa-type coefficients, shown as a convention.
pub fn interpret_kappa(value: f64) -> String {
    let verdict = if value < 0.0 {
        "poor"
    } else if value <= 0.20 {
        "slight"
    } else if value <= 0.40 {
        "fair"
    } else if value <= 0.60 {
        "moderate"
    } else if value <= 0.80 {
        "substantial"
    } else {
        "almost perfect"
    };
    format!("{verdict}; Landis & Koch 1977 convention")
}

/// Koo and Li's (2016) guideline for intraclass correlations, shown as a convention.
pub fn interpret_icc(value: f64) -> String {
    let verdict = if value < 0.5 {
        "poor"
    } else if value < 0.75 {
        "moderate"
    } else if value < 0.9 {
        "good"
    } else {
        "excellent"
    };
    format!("{verdict}; Koo & Li 2016 convention")
}
