//! Properties every coefficient must keep: perfect agreement gives 1, the order of raters and
//! units does not matter, values stay in range.

use plumbline_agreement::{Level, Ratings, Statistic, reliability_report};
use proptest::prelude::*;

const LEVELS: [Level; 4] = [Level::Nominal, Level::Ordinal, Level::Interval, Level::Ratio];

/// Units x raters on a 5-point scale (0..=4), about a fifth missing.
fn ratings() -> impl Strategy<Value = Vec<Vec<Option<f64>>>> {
    (5usize..25, 2usize..6).prop_flat_map(|(units, raters)| {
        prop::collection::vec(
            prop::collection::vec(prop::option::weighted(0.8, (0u8..5).prop_map(f64::from)), raters),
            units,
        )
    })
}

/// Every unit gets one value from all its raters; a few cells missing but never below 2 ratings.
fn perfect_agreement() -> impl Strategy<Value = Vec<Vec<Option<f64>>>> {
    (6usize..25, 2usize..6).prop_flat_map(|(units, raters)| {
        prop::collection::vec(((1u8..5).prop_map(f64::from), prop::collection::vec(any::<bool>(), raters)), units)
            .prop_map(move |rows| {
                rows.into_iter()
                    .enumerate()
                    .map(|(unit, (value, keep))| {
                        // Alternate 0 and the drawn value so there is always variation across units.
                        let value = if unit % 2 == 0 { 0.0 } else { value };
                        keep.iter().enumerate().map(|(rater, keep)| (*keep || rater < 2).then_some(value)).collect()
                    })
                    .collect()
            })
    })
}

fn values(report: &[Statistic]) -> Vec<(String, Option<f64>)> {
    report.iter().map(|s| (s.name.clone(), s.value)).collect()
}

fn same_values(left: &[Statistic], right: &[Statistic]) -> Result<(), TestCaseError> {
    prop_assert_eq!(left.len(), right.len());
    for ((name, a), (_, b)) in values(left).into_iter().zip(values(right)) {
        match (a, b) {
            (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-9, "{}: {} vs {}", name, a, b),
            (a, b) => prop_assert_eq!(a, b, "{}", name),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn perfect_agreement_gives_one(rows in perfect_agreement()) {
        let data = Ratings::from_unit_rows(&rows).unwrap();
        for level in LEVELS {
            for statistic in reliability_report(&data, level, Some(&[0.0, 1.0, 2.0, 3.0, 4.0])) {
                if statistic.name.starts_with("icc") {
                    continue; // ICC needs variance between units, which perfect agreement may lack.
                }
                let value = statistic.value.unwrap_or_else(|| panic!("{}: {}", statistic.name, statistic.note));
                prop_assert!((value - 1.0).abs() < 1e-12, "{} at {:?}: {}", statistic.name, level, value);
            }
        }
    }

    #[test]
    fn permuting_raters_or_units_changes_nothing(rows in ratings(), seed in any::<u64>()) {
        let data = Ratings::from_unit_rows(&rows).unwrap();
        let mut rater_order: Vec<usize> = (0..data.raters()).collect();
        let mut unit_order: Vec<usize> = (0..data.units()).collect();
        // A seeded shuffle (Fisher-Yates with a simple LCG) keeps the case reproducible.
        let mut state = seed | 1;
        let mut next = |bound: usize| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) as usize) % bound
        };
        for i in (1..rater_order.len()).rev() { rater_order.swap(i, next(i + 1)); }
        for i in (1..unit_order.len()).rev() { unit_order.swap(i, next(i + 1)); }
        let raters_shuffled = data.select_raters(&rater_order);
        let units_shuffled = data.reorder_units(&unit_order);
        for level in LEVELS {
            let original = reliability_report(&data, level, None);
            same_values(&original, &reliability_report(&raters_shuffled, level, None))?;
            same_values(&original, &reliability_report(&units_shuffled, level, None))?;
        }
    }

    #[test]
    fn values_stay_in_range(rows in ratings()) {
        let data = Ratings::from_unit_rows(&rows).unwrap();
        for level in LEVELS {
            for statistic in reliability_report(&data, level, None) {
                let Some(value) = statistic.value else { continue };
                prop_assert!(value.is_finite(), "{}", statistic.name);
                prop_assert!(value <= 1.0 + 1e-12, "{}: {}", statistic.name, value);
                if statistic.name == "percent_agreement" {
                    prop_assert!(value >= 0.0);
                }
                // A lower bound of -1 is a theorem only where the chance term is at most 1/2: AC1 and
                // Brennan-Prediger (chance <= 1/q) and unweighted kappa. Weighted AC2 and weighted kappa
                // have none: with ratio weights every pair involving 0 has weight 0, so agreement can be 0
                // while chance agreement is near 1 (a CI run found AC2 = -1.31 that way).
                let unweighted_kappa = statistic.name == "cohen_kappa" && level == Level::Nominal;
                if unweighted_kappa || ["gwet_ac1", "brennan_prediger"].contains(&statistic.name.as_str()) {
                    prop_assert!(value >= -1.0 - 1e-12, "{}: {}", statistic.name, value);
                }
                if let Some((low, high)) = statistic.ci95 {
                    prop_assert!(low <= high, "{}: [{}, {}]", statistic.name, low, high);
                    // Gwet's intervals are clamped to [-1, 1]; ICC and bootstrap bounds are not.
                    let clamped = !statistic.name.starts_with("icc") && statistic.name != "krippendorff_alpha";
                    prop_assert!(!clamped || (high <= 1.0 + 1e-12 && low >= -1.0 - 1e-12), "{}", statistic.name);
                }
            }
        }
    }
}
