//! Every published value in `tests/fixtures/*.json` (copied from `../shared/fixtures/agreement/`)
//! is reproduced to its published precision, to 1e-12 against the exact fraction where one is
//! given, and to 1e-9 against each package value not listed as known-divergent.

use std::collections::BTreeMap;
use std::path::PathBuf;

use plumbline_agreement::{
    Bootstrap, CohenWeights, IccForm, Level, Ratings, brennan_prediger, cohen_kappa, conger_kappa, fleiss_kappa,
    gwet_ac1, icc, krippendorff_alpha_with, percent_agreement, scott_pi,
};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct Fixture {
    id: String,
    data_format: String,
    ratings: Value,
    categories: Option<Vec<f64>>,
    ratings_variants: Option<BTreeMap<String, Value>>,
    rater_pair: Option<Vec<usize>>,
    statistics: Vec<PublishedStatistic>,
}

#[derive(Debug, Deserialize)]
struct PublishedStatistic {
    statistic: String,
    level: String,
    weights: Option<String>,
    form: Option<String>,
    published: Option<f64>,
    published_decimals: Option<i32>,
    exact_rational: Option<String>,
    ratings_variant: Option<String>,
    #[serde(default)]
    package_values: BTreeMap<String, Value>,
    #[serde(default)]
    known_divergent: BTreeMap<String, String>,
}

fn fixtures() -> Vec<Fixture> {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&directory)
        .expect("fixtures directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 9, "expected the nine published datasets");
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("readable fixture");
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect()
}

fn matrix(value: &Value) -> Vec<Vec<Option<f64>>> {
    value
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row.as_array().expect("cells").iter().map(Value::as_f64).collect())
        .collect()
}

fn counts(value: &Value) -> Vec<Vec<u32>> {
    matrix(value).into_iter().map(|row| row.into_iter().map(|c| c.expect("count") as u32).collect()).collect()
}

fn ratings_of(fixture: &Fixture, variant: Option<&str>) -> Ratings {
    let raw = match variant {
        Some(name) => &fixture.ratings_variants.as_ref().expect("variants")[name],
        None => &fixture.ratings,
    };
    let categories = fixture.categories.as_deref().unwrap_or(&[]);
    let data = match fixture.data_format.as_str() {
        "units_x_raters" => Ratings::from_unit_rows(&matrix(raw)),
        "raters_x_units" => Ratings::from_rater_rows(&matrix(raw)),
        "counts_units_x_categories" => Ratings::from_category_counts(&counts(raw), categories),
        "contingency_table" => Ratings::from_contingency_table(&counts(raw), categories),
        other => panic!("{}: unknown data format {other}", fixture.id),
    }
    .expect("valid fixture ratings");
    match &fixture.rater_pair {
        Some(pair) => data.select_raters(pair),
        None => data,
    }
}

fn compute(fixture: &Fixture, published: &PublishedStatistic) -> f64 {
    let data = ratings_of(fixture, published.ratings_variant.as_deref());
    let level: Level = published.level.parse().expect("level");
    let categories = fixture.categories.as_deref();
    let no_bootstrap = Bootstrap { resamples: 0, seed: 0 };
    let result = match published.statistic.as_str() {
        "krippendorff_alpha" => krippendorff_alpha_with(&data, level, no_bootstrap),
        "fleiss_kappa" => fleiss_kappa(&data),
        "percent_agreement" => percent_agreement(&data),
        "gwet_ac1" => gwet_ac1(&data, categories),
        "brennan_prediger" => brennan_prediger(&data, categories),
        "scott_pi" => scott_pi(&data),
        "conger_kappa" => conger_kappa(&data),
        "cohen_kappa" => {
            let weights = match published.weights.as_deref() {
                None => CohenWeights::Unweighted,
                Some("linear") => CohenWeights::Linear,
                Some("quadratic") => CohenWeights::Quadratic,
                Some(other) => panic!("unknown Cohen weights {other}"),
            };
            cohen_kappa(&data, weights)
        }
        "icc" => {
            let label = published.form.as_deref().expect("ICC form");
            icc(&data, IccForm::from_label(label).expect("known ICC form"))
        }
        other => panic!("{}: no estimator for {other}", fixture.id),
    };
    result.unwrap_or_else(|reason| panic!("{} {} {}: {reason}", fixture.id, published.statistic, published.level)).value
}

fn rational(text: &str) -> f64 {
    let (numerator, denominator) = text.split_once('/').expect("a/b");
    numerator.trim().parse::<f64>().expect("numerator") / denominator.trim().parse::<f64>().expect("denominator")
}

#[test]
fn every_published_value_is_reproduced() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for fixture in fixtures() {
        for published in &fixture.statistics {
            let value = compute(&fixture, published);
            let label = format!(
                "{} / {} ({}{}{})",
                fixture.id,
                published.statistic,
                published.level,
                published.weights.as_deref().map(|w| format!(", {w}")).unwrap_or_default(),
                published.form.as_deref().map(|f| format!(", {f}")).unwrap_or_default(),
            );
            if let (Some(expected), Some(decimals)) = (published.published, published.published_decimals) {
                let tolerance = 0.5 * 10f64.powi(-decimals) + 1e-12;
                if (value - expected).abs() > tolerance {
                    failures.push(format!("{label}: {value} vs published {expected} (±{tolerance:e})"));
                }
            }
            if let Some(exact) = &published.exact_rational {
                let expected = rational(exact);
                if (value - expected).abs() > 1e-12 {
                    failures.push(format!("{label}: {value} vs exact {exact} = {expected}"));
                }
            }
            for (package, package_value) in &published.package_values {
                if published.known_divergent.contains_key(package) {
                    continue;
                }
                if let Some(expected) = package_value.as_f64()
                    && (value - expected).abs() > 1e-9
                {
                    failures.push(format!("{label}: {value} vs {package} {expected}"));
                }
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    assert!(checked >= 40, "only {checked} statistics checked");
}

/// The traps the fixtures warn about, spelled out so a regression names the trap.
#[test]
fn known_traps_are_avoided() {
    let fixtures = fixtures();
    let find = |id: &str| fixtures.iter().find(|f| f.id == id).expect("fixture");
    let no_bootstrap = Bootstrap { resamples: 0, seed: 0 };

    // Ordinal alpha uses Krippendorff's frequency metric, not Gwet's rank-distance weights.
    let krippendorff = ratings_of(find("krippendorff_2011_4obs_12units"), None);
    let ordinal = krippendorff_alpha_with(&krippendorff, Level::Ordinal, no_bootstrap).unwrap();
    assert!((ordinal.value - 0.8153875037548814).abs() < 1e-12);
    assert!((ordinal.value - 0.8336380255941492).abs() > 1e-3);

    // Unit 12 has a single rating: alpha ignores it, Gwet's Fleiss chance term counts it.
    assert_eq!(ordinal.units_used, 11);
    let fleiss = fleiss_kappa(&krippendorff).unwrap();
    assert!((fleiss.value - 7343.0 / 9647.0).abs() < 1e-12);
    assert!((fleiss.value - 0.7624831309041836).abs() > 1e-4);

    // Cohen's weights are built on ranks (1..5), not values (1,2,3,4,6).
    let anxiety = ratings_of(find("r_irr_anxiety_cohen_weighted"), None);
    let linear = cohen_kappa(&anxiety, CohenWeights::Linear).unwrap();
    assert!((linear.value - 41.0 / 281.0).abs() < 1e-12);
    assert!((linear.value - 0.12621359223300985).abs() > 1e-3);

    // Units with no ratings at all are dropped (Wikipedia example, units 2 and 14).
    let wikipedia = ratings_of(find("krippendorff_wikipedia_3coders_15units"), None);
    let nominal = krippendorff_alpha_with(&wikipedia, Level::Nominal, no_bootstrap).unwrap();
    assert!((nominal.value - 56.0 / 81.0).abs() < 1e-12);
}

/// Standard errors and intervals printed in Gwet's irrCAC README (github.com/kgwet/irrCAC),
/// which implements the variance formulas of Gwet (2014).
#[test]
fn gwet_intervals_match_irrcac() {
    let fixtures = fixtures();
    let find = |id: &str| fixtures.iter().find(|f| f.id == id).expect("fixture");
    // (estimate, published se, published interval rounded to 3 decimals)
    let check = |label: &str, estimate: plumbline_agreement::Estimate, se: f64, se_decimals: i32, ci: (f64, f64)| {
        let got_se = estimate.standard_error.expect("standard error");
        assert!(
            (got_se - se).abs() <= 0.5 * 10f64.powi(-se_decimals) + 1e-12,
            "{label}: se {got_se} vs published {se}"
        );
        let (low, high) = estimate.ci95.expect("interval");
        assert!((low - ci.0).abs() <= 0.0005 + 1e-12, "{label}: low {low} vs {}", ci.0);
        assert!((high - ci.1).abs() <= 0.0005 + 1e-12, "{label}: high {high} vs {}", ci.1);
    };

    let raw = ratings_of(find("krippendorff_2011_4obs_12units"), None);
    check("pa raw4raters", percent_agreement(&raw).unwrap(), 0.12561, 5, (0.542, 1.0));
    check("AC1 raw4raters", gwet_ac1(&raw, None).unwrap(), 0.14295, 5, (0.461, 1.0));
    check("Fleiss raw4raters", fleiss_kappa(&raw).unwrap(), 0.15302, 5, (0.424, 1.0));
    check("BP raw4raters", brennan_prediger(&raw, None).unwrap(), 0.14472, 5, (0.454, 1.0));
    let gwet_layout = ratings_of(find("krippendorff_2011_4obs_12units"), Some("gwet_layout"));
    check("Conger raw4raters", conger_kappa(&gwet_layout).unwrap(), 0.14917, 5, (0.435, 1.0));

    let table = ratings_of(find("gwet_cont3x3abstractors"), None);
    check("Cohen 3x3", cohen_kappa(&table, CohenWeights::Unweighted).unwrap(), 0.05891072, 8, (0.68, 0.913));
    check("Scott 3x3", scott_pi(&table).unwrap(), 0.05905473, 8, (0.679, 0.913));

    let dist = ratings_of(find("gwet_distrib_6raters"), None);
    let categories = find("gwet_distrib_6raters").categories.clone().unwrap();
    check("AC1 dist", gwet_ac1(&dist, Some(&categories)).unwrap(), 0.08418757, 8, (0.264, 0.625));
    check("Fleiss dist", fleiss_kappa(&dist).unwrap(), 0.08119291, 8, (0.24, 0.588));
    check("BP dist", brennan_prediger(&dist, Some(&categories)).unwrap(), 0.08312142, 8, (0.261, 0.617));
}
