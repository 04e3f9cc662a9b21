//! The one call the product and the CLI make: every applicable coefficient for a ratings
//! matrix, each with its interval, note and conventional interpretation.

use serde::Serialize;

use crate::cohen::{CohenWeights, cohen_kappa};
use crate::data::{Level, Ratings};
use crate::estimate::{CannotCompute, Estimate, interpret_alpha, interpret_icc, interpret_kappa};
use crate::gwet::{Weights, brennan_prediger, fleiss_kappa, gwet_ac1, gwet_ac2, percent_agreement};
use crate::icc::icc_all;
use crate::krippendorff::krippendorff_alpha;

/// One row of a reliability report, in the shape of the `plumbline agreement --format json`
/// contract: `{"name", "value", "ci95", "note", "interpretation"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statistic {
    /// `krippendorff_alpha`, `percent_agreement`, `fleiss_kappa`, `gwet_ac1`,
    /// `brennan_prediger`, `gwet_ac2`, `cohen_kappa` or `icc_1_1` ... `icc_3_k`.
    pub name: String,
    /// `None` when the coefficient cannot be computed; the note says why.
    pub value: Option<f64>,
    /// 95% interval, serialised as `[low, high]`.
    pub ci95: Option<(f64, f64)>,
    /// Variant, interval method and data used; or why there is no value ("not enough data...").
    pub note: String,
    /// Conventional reading (Krippendorff; Landis & Koch; Koo & Li), labelled as a convention.
    pub interpretation: Option<String>,
}

impl Statistic {
    fn from_result(
        name: &str,
        variant: &str,
        result: Result<Estimate, CannotCompute>,
        interpret: Option<fn(f64) -> String>,
    ) -> Self {
        match result {
            Ok(estimate) => Statistic {
                name: name.to_owned(),
                value: Some(estimate.value),
                ci95: estimate.ci95,
                note: format!(
                    "{variant}; {} {}; {}",
                    estimate.units_used,
                    if name == "krippendorff_alpha" { "pairable units" } else { "units" },
                    estimate.interval
                ),
                interpretation: interpret.map(|f| f(estimate.value)),
            },
            Err(reason) => Statistic {
                name: name.to_owned(),
                value: None,
                ci95: None,
                note: reason.to_string(),
                interpretation: None,
            },
        }
    }

    /// True when the coefficient was withheld because the sample is below the documented minimum.
    pub fn is_not_enough_data(&self) -> bool {
        self.value.is_none() && self.note.starts_with("not enough data")
    }
}

/// Every coefficient that applies to `data` at `level`, in a fixed order:
///
/// 1. `krippendorff_alpha` at `level`, bootstrap interval (1000 resamples, seed 2011);
/// 2. `percent_agreement`, `fleiss_kappa`, `gwet_ac1`, `brennan_prediger`: unweighted, Gwet's
///    missing-data definitions, Gwet's variance;
/// 3. `gwet_ac2` weighted for `level` (identity, ordinal, quadratic or ratio weights);
/// 4. `cohen_kappa` only with exactly two raters (unweighted, linear or quadratic by level);
/// 5. `icc_1_1`, `icc_2_1`, `icc_3_1`, `icc_1_k`, `icc_2_k`, `icc_3_k` only on complete data.
///
/// `categories` lists the scale's possible values (e.g. `[0, 1, 2, 3, 4]`); AC1, AC2 and
/// Brennan-Prediger count unused ones in their chance term. Pass `None` to use observed values.
/// Coefficients that cannot be computed (fewer than [`crate::MIN_PAIRABLE_UNITS`] units rated
/// twice, fewer than two raters, no variation) have `value: None` and the reason in `note`.
pub fn reliability_report(data: &Ratings, level: Level, categories: Option<&[f64]>) -> Vec<Statistic> {
    let kappa = Some(interpret_kappa as fn(f64) -> String);
    let mut report = vec![
        Statistic::from_result(
            "krippendorff_alpha",
            &format!("{level} metric"),
            krippendorff_alpha(data, level),
            Some(interpret_alpha),
        ),
        Statistic::from_result("percent_agreement", "unweighted", percent_agreement(data), None),
        Statistic::from_result("fleiss_kappa", "unweighted", fleiss_kappa(data), kappa),
        Statistic::from_result("gwet_ac1", "unweighted", gwet_ac1(data, categories), kappa),
        Statistic::from_result("brennan_prediger", "unweighted", brennan_prediger(data, categories), kappa),
    ];
    let weights = Weights::for_level(level);
    report.push(Statistic::from_result("gwet_ac2", weights.name(), gwet_ac2(data, weights, categories), kappa));
    if data.raters() == 2 {
        let weights = CohenWeights::for_level(level);
        report.push(Statistic::from_result("cohen_kappa", weights.name(), cohen_kappa(data, weights), kappa));
    }
    if data.is_complete() && data.raters() >= 2 && data.units() > 0 {
        match icc_all(data) {
            Ok(forms) => report.extend(forms.into_iter().map(|(form, estimate)| {
                Statistic::from_result(form.name(), form.label(), Ok(estimate), Some(interpret_icc))
            })),
            Err(reason) => report.extend(
                crate::icc::IccForm::ALL
                    .iter()
                    .map(|form| Statistic::from_result(form.name(), form.label(), Err(reason.clone()), None)),
            ),
        }
    }
    report
}
