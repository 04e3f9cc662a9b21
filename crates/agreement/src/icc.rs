//! Intraclass correlations on complete data, from the two-way ANOVA mean squares.

use serde::Serialize;

use crate::data::Ratings;
use crate::distributions::f_quantile;
use crate::estimate::{CannotCompute, Estimate, IntervalMethod, MIN_PAIRABLE_UNITS, MIN_RATERS};

/// The six forms of Shrout and Fleiss (1979), with McGraw and Wong's (1996) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum IccForm {
    /// ICC(1,1) = McGraw-Wong ICC(1): one-way random, single rater.
    OneWaySingle,
    /// ICC(2,1) = ICC(A,1): two-way random, absolute agreement, single rater.
    TwoWayRandomSingle,
    /// ICC(3,1) = ICC(C,1): two-way mixed, consistency, single rater.
    TwoWayMixedSingle,
    /// ICC(1,k): one-way random, mean of k raters.
    OneWayAverage,
    /// ICC(2,k) = ICC(A,k): two-way random, absolute agreement, mean of k raters.
    TwoWayRandomAverage,
    /// ICC(3,k) = ICC(C,k): two-way mixed, consistency, mean of k raters.
    TwoWayMixedAverage,
}

impl IccForm {
    /// All six, in Shrout and Fleiss' order.
    pub const ALL: [IccForm; 6] = [
        IccForm::OneWaySingle,
        IccForm::TwoWayRandomSingle,
        IccForm::TwoWayMixedSingle,
        IccForm::OneWayAverage,
        IccForm::TwoWayRandomAverage,
        IccForm::TwoWayMixedAverage,
    ];

    /// Name in Plumbline's JSON contract, e.g. `icc_2_1`, `icc_3_k`.
    pub fn name(self) -> &'static str {
        match self {
            IccForm::OneWaySingle => "icc_1_1",
            IccForm::TwoWayRandomSingle => "icc_2_1",
            IccForm::TwoWayMixedSingle => "icc_3_1",
            IccForm::OneWayAverage => "icc_1_k",
            IccForm::TwoWayRandomAverage => "icc_2_k",
            IccForm::TwoWayMixedAverage => "icc_3_k",
        }
    }

    /// Shrout-Fleiss label, e.g. `ICC(2,1)`.
    pub fn label(self) -> &'static str {
        match self {
            IccForm::OneWaySingle => "ICC(1,1)",
            IccForm::TwoWayRandomSingle => "ICC(2,1)",
            IccForm::TwoWayMixedSingle => "ICC(3,1)",
            IccForm::OneWayAverage => "ICC(1,k)",
            IccForm::TwoWayRandomAverage => "ICC(2,k)",
            IccForm::TwoWayMixedAverage => "ICC(3,k)",
        }
    }

    /// Parses `ICC(2,1)`, `ICC(A,1)`, `icc_2_1` and similar labels.
    pub fn from_label(label: &str) -> Option<Self> {
        let compact: String = label.to_ascii_uppercase().chars().filter(char::is_ascii_alphanumeric).collect();
        Some(match compact.as_str() {
            "ICC11" | "ICC1" => IccForm::OneWaySingle,
            "ICC21" | "ICCA1" => IccForm::TwoWayRandomSingle,
            "ICC31" | "ICCC1" => IccForm::TwoWayMixedSingle,
            "ICC1K" => IccForm::OneWayAverage,
            "ICC2K" | "ICCAK" => IccForm::TwoWayRandomAverage,
            "ICC3K" | "ICCCK" => IccForm::TwoWayMixedAverage,
            _ => return None,
        })
    }
}

/// Mean squares of the targets x raters layout.
#[derive(Debug, Clone, Copy)]
struct MeanSquares {
    n: f64,
    k: f64,
    /// Between targets (rows).
    rows: f64,
    /// Between raters (columns).
    columns: f64,
    /// Residual.
    error: f64,
    /// Within targets (columns + residual), for the one-way model.
    within: f64,
}

impl MeanSquares {
    fn of(data: &Ratings) -> Result<Self, CannotCompute> {
        if data.raters() < MIN_RATERS {
            return Err(CannotCompute::TooFewRaters { found: data.raters(), required: MIN_RATERS });
        }
        let missing = data.missing();
        if missing > 0 {
            return Err(CannotCompute::IncompleteData { missing });
        }
        if data.units() < MIN_PAIRABLE_UNITS {
            return Err(CannotCompute::TooFewUnits { found: data.units(), required: MIN_PAIRABLE_UNITS });
        }
        let (units, raters) = (data.units(), data.raters());
        let value = |unit: usize, rater: usize| data.rating(unit, rater).unwrap_or_default();
        let (n, k) = (units as f64, raters as f64);
        let grand =
            (0..units).flat_map(|u| (0..raters).map(move |r| (u, r))).map(|(u, r)| value(u, r)).sum::<f64>() / (n * k);
        let row_means: Vec<f64> = (0..units).map(|u| (0..raters).map(|r| value(u, r)).sum::<f64>() / k).collect();
        let column_means: Vec<f64> = (0..raters).map(|r| (0..units).map(|u| value(u, r)).sum::<f64>() / n).collect();
        let ss_rows = k * row_means.iter().map(|m| (m - grand).powi(2)).sum::<f64>();
        let ss_columns = n * column_means.iter().map(|m| (m - grand).powi(2)).sum::<f64>();
        let mut ss_error = 0.0;
        for (u, row_mean) in row_means.iter().enumerate() {
            for (r, column_mean) in column_means.iter().enumerate() {
                ss_error += (value(u, r) - row_mean - column_mean + grand).powi(2);
            }
        }
        Ok(MeanSquares {
            n,
            k,
            rows: ss_rows / (n - 1.0),
            columns: ss_columns / (k - 1.0),
            error: ss_error / ((n - 1.0) * (k - 1.0)),
            within: (ss_columns + ss_error) / (n * (k - 1.0)),
        })
    }
}

/// One intraclass correlation with its exact F-based 95% interval; complete data only.
///
/// Sources: Shrout, P. E. and Fleiss, J. L. (1979). Intraclass correlations: uses in assessing
/// rater reliability. *Psychological Bulletin* 86(2), 420-428 (forms and intervals for ICC(1,·)
/// and ICC(3,·)); McGraw, K. O. and Wong, S. P. (1996). Forming inferences about some intraclass
/// correlation coefficients. *Psychological Methods* 1(1), 30-46 (Satterthwaite interval for
/// ICC(A,1) = ICC(2,1); average forms by Spearman-Brown of the bounds).
pub fn icc(data: &Ratings, form: IccForm) -> Result<Estimate, CannotCompute> {
    let ms = MeanSquares::of(data)?;
    estimate_from(&ms, form, data.units())
}

/// All six forms at once (one ANOVA).
pub fn icc_all(data: &Ratings) -> Result<Vec<(IccForm, Estimate)>, CannotCompute> {
    let ms = MeanSquares::of(data)?;
    IccForm::ALL.iter().map(|form| Ok((*form, estimate_from(&ms, *form, data.units())?))).collect()
}

fn estimate_from(ms: &MeanSquares, form: IccForm, units: usize) -> Result<Estimate, CannotCompute> {
    let MeanSquares { n, k, rows, columns, error, within } = *ms;
    let value = match form {
        IccForm::OneWaySingle => (rows - within) / (rows + (k - 1.0) * within),
        IccForm::TwoWayRandomSingle => (rows - error) / (rows + (k - 1.0) * error + k * (columns - error) / n),
        IccForm::TwoWayMixedSingle => (rows - error) / (rows + (k - 1.0) * error),
        IccForm::OneWayAverage => (rows - within) / rows,
        IccForm::TwoWayRandomAverage => (rows - error) / (rows + (columns - error) / n),
        IccForm::TwoWayMixedAverage => (rows - error) / rows,
    };
    if !value.is_finite() {
        return Err(CannotCompute::NoVariation);
    }
    let upper_tail = 0.975;
    let ci = match form {
        IccForm::OneWaySingle | IccForm::OneWayAverage => {
            let (d1, d2) = (n - 1.0, n * (k - 1.0));
            let f = rows / within;
            let f_low = f / f_quantile(upper_tail, d1, d2);
            let f_high = f * f_quantile(upper_tail, d2, d1);
            if form == IccForm::OneWaySingle {
                ((f_low - 1.0) / (f_low + k - 1.0), (f_high - 1.0) / (f_high + k - 1.0))
            } else {
                (1.0 - 1.0 / f_low, 1.0 - 1.0 / f_high)
            }
        }
        IccForm::TwoWayMixedSingle | IccForm::TwoWayMixedAverage => {
            let (d1, d2) = (n - 1.0, (n - 1.0) * (k - 1.0));
            let f = rows / error;
            let f_low = f / f_quantile(upper_tail, d1, d2);
            let f_high = f * f_quantile(upper_tail, d2, d1);
            if form == IccForm::TwoWayMixedSingle {
                ((f_low - 1.0) / (f_low + k - 1.0), (f_high - 1.0) / (f_high + k - 1.0))
            } else {
                (1.0 - 1.0 / f_low, 1.0 - 1.0 / f_high)
            }
        }
        IccForm::TwoWayRandomSingle | IccForm::TwoWayRandomAverage => {
            let single = (rows - error) / (rows + (k - 1.0) * error + k * (columns - error) / n);
            let a = k * single / (n * (1.0 - single));
            let b = 1.0 + k * single * (n - 1.0) / (n * (1.0 - single));
            let v = (a * columns + b * error).powi(2)
                / ((a * columns).powi(2) / (k - 1.0) + (b * error).powi(2) / ((n - 1.0) * (k - 1.0)));
            let f_low = f_quantile(upper_tail, n - 1.0, v);
            let f_high = f_quantile(upper_tail, v, n - 1.0);
            let mix = k * columns + (k * n - k - n) * error;
            let low = n * (rows - f_low * error) / (f_low * mix + n * rows);
            let high = n * (f_high * rows - error) / (mix + n * f_high * rows);
            if form == IccForm::TwoWayRandomSingle {
                (low, high)
            } else {
                (low * k / (1.0 + low * (k - 1.0)), high * k / (1.0 + high * (k - 1.0)))
            }
        }
    };
    // Degenerate data (e.g. a negative single-rater bound below -1/(k-1), where Spearman-Brown
    // breaks down) give no usable interval rather than an inverted one.
    let ci95 = (ci.0.is_finite() && ci.1.is_finite() && ci.0 <= ci.1).then_some(ci);
    Ok(Estimate { value, ci95, standard_error: None, interval: IntervalMethod::FDistribution, units_used: units })
}
