//! Inter-rater reliability and grader leniency for Plumbline. Pure functions over plain
//! types: no I/O, no database, no clock. Storage, HTTP and the CLI call these.
//!
//! # The one call most code needs
//!
//! ```
//! use plumbline_agreement::{Level, Ratings, reliability_report};
//!
//! // One row per unit (a conversation, or one criterion of it), one column per grader;
//! // None = that grader did not rate that unit.
//! let ratings = Ratings::from_unit_rows(&[
//!     vec![Some(1.0), Some(1.0), None],
//!     vec![Some(0.0), Some(0.0), Some(0.0)],
//!     vec![Some(1.0), Some(0.0), Some(1.0)],
//!     vec![Some(1.0), Some(1.0), Some(1.0)],
//!     vec![Some(0.0), None, Some(0.0)],
//!     vec![Some(1.0), Some(1.0), Some(1.0)],
//! ])
//! .unwrap();
//! for statistic in reliability_report(&ratings, Level::Nominal, Some(&[0.0, 1.0])) {
//!     println!("{} = {:?} {:?} ({})", statistic.name, statistic.value, statistic.ci95, statistic.note);
//! }
//! ```
//!
//! Calibration code that holds `(conversation, grader, value)` rows builds the matrix with
//! [`Ratings::from_observations`] (keys come back with it) and then calls [`reliability_report`]:
//! once per session (units = the session's conversations x criteria, or one call per criterion
//! with units = conversations) and once per criterion across sessions.
//! Use [`Level::Nominal`] for pass/fail and yes/no/N/A criteria,
//! [`Level::Ordinal`] for rating scales (pass `categories` = the scale's points), and
//! [`Level::Interval`] for evaluation scores. Each [`Statistic`] serialises to the JSON
//! contract of `plumbline agreement`. Below [`MIN_PAIRABLE_UNITS`] units rated twice, or with
//! fewer than [`MIN_RATERS`] raters, a statistic has no value and its note starts with
//! "not enough data".
//!
//! Grade-the-grader and leniency reports call [`leniency`] with one
//! `(grader, conversation, grader_value - benchmark_value)` triple per graded item (per
//! criterion points, or whole scores); it adjusts for conversation difficulty and flags graders
//! whose 95% interval excludes zero.
//!
//! # Estimators (each cites its source)
//!
//! | function | source |
//! |---|---|
//! | [`krippendorff_alpha`] (nominal, ordinal, interval, ratio; bootstrap CI) | Krippendorff 2011 |
//! | [`percent_agreement`] | Gwet 2014 |
//! | [`fleiss_kappa`], [`weighted_fleiss_kappa`] | Fleiss 1971; Gwet 2014 for missing data |
//! | [`gwet_ac1`], [`gwet_ac2`] | Gwet 2008; Gwet 2014 |
//! | [`brennan_prediger`] | Brennan and Prediger 1981; Gwet 2014 |
//! | [`conger_kappa`] | Conger 1980; Gwet 2014 |
//! | [`cohen_kappa`] (unweighted, linear, quadratic on ranks), [`scott_pi`] | Cohen 1960, 1968; Scott 1955 |
//! | [`icc`], [`icc_all`] (six forms, F intervals) | Shrout and Fleiss 1979; McGraw and Wong 1996 |
//! | [`leniency`] | two-way additive least squares (Searle 1987, unbalanced data) |
//!
//! Interpretation labels ([`interpret_alpha`], [`interpret_kappa`], [`interpret_icc`]) are
//! conventions (Krippendorff; Landis and Koch 1977; Koo and Li 2016), not truths.

mod cohen;
mod data;
mod distributions;
mod estimate;
mod gwet;
mod icc;
mod krippendorff;
mod leniency;
mod report;
mod rng;

pub use cohen::{CohenWeights, cohen_kappa};
pub use data::{KeyedRatings, Level, Ratings, RatingsError, UnknownLevel};
pub use distributions::{f_cdf, f_quantile, incomplete_beta, t_cdf, t_quantile};
pub use estimate::{
    CannotCompute, Estimate, IntervalMethod, MIN_PAIRABLE_UNITS, MIN_RATERS, interpret_alpha, interpret_icc,
    interpret_kappa,
};
pub use gwet::{
    MAX_WEIGHTED_CATEGORIES, Weights, brennan_prediger, conger_kappa, fleiss_kappa, gwet_ac1, gwet_ac2,
    percent_agreement, scott_pi, weighted_fleiss_kappa,
};
pub use icc::{IccForm, icc, icc_all};
pub use krippendorff::{Bootstrap, DEFAULT_BOOTSTRAP_SEED, krippendorff_alpha, krippendorff_alpha_with};
pub use leniency::{GraderLeniency, LeniencyVerdict, MIN_LENIENCY_OBSERVATIONS, leniency};
pub use report::{Statistic, reliability_report};
