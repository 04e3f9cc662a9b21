//! Timings of the reliability statistics on a large calibration-like dataset.
//!
//! `cargo bench -p plumbline-agreement --bench agreement` times a generated 20,000 units x 50
//! raters, 5-point, 10% missing dataset; set `PLUMBLINE_BENCH_CSV=ratings.csv` (header
//! `unit,<rater>,...`) to time a file instead, as `bench/agreement/compare.sh` does. Prints one
//! `name_ms=median value=...` line per measurement.

use std::hint::black_box;
use std::time::{Duration, Instant};

use plumbline_agreement::{
    Bootstrap, Level, Ratings, fleiss_kappa, gwet_ac1, krippendorff_alpha_with, percent_agreement, reliability_report,
};

fn main() {
    let started = Instant::now();
    let data = match std::env::var("PLUMBLINE_BENCH_CSV") {
        Ok(path) => read_csv(&path),
        Err(_) => generate(20_000, 50, 0.10),
    };
    println!(
        "data: {} units x {} raters, {} missing ({} ms to load)",
        data.units(),
        data.raters(),
        data.missing(),
        started.elapsed().as_millis()
    );
    let scale = [1.0, 2.0, 3.0, 4.0, 5.0];
    let no_bootstrap = Bootstrap { resamples: 0, seed: 0 };
    for level in [Level::Nominal, Level::Ordinal, Level::Interval, Level::Ratio] {
        time(&format!("rust_alpha_{level}"), 41, || {
            krippendorff_alpha_with(&data, level, no_bootstrap).map(|e| e.value)
        });
    }
    time("rust_alpha_ordinal_bootstrap1000", 3, || {
        krippendorff_alpha_with(&data, Level::Ordinal, Bootstrap::default()).map(|e| e.value)
    });
    time("rust_gwet_ac1", 15, || gwet_ac1(&data, Some(&scale)).map(|e| e.value));
    time("rust_fleiss_kappa", 15, || fleiss_kappa(&data).map(|e| e.value));
    time("rust_percent_agreement", 15, || percent_agreement(&data).map(|e| e.value));
    time("rust_reliability_report_ordinal", 3, || {
        Ok::<f64, ()>(
            reliability_report(&data, Level::Ordinal, Some(&scale)).first().and_then(|s| s.value).unwrap_or(f64::NAN),
        )
    });
}

/// Runs `f` `runs` times and prints the median wall time, then the fastest run (steadier than
/// the median on a shared machine).
fn time<E: std::fmt::Debug>(name: &str, runs: usize, mut f: impl FnMut() -> Result<f64, E>) {
    let mut timings: Vec<Duration> = Vec::with_capacity(runs);
    let mut value = f64::NAN;
    for _ in 0..runs {
        let start = Instant::now();
        value = black_box(f()).expect("computable");
        timings.push(start.elapsed());
    }
    timings.sort();
    let median = timings[runs / 2];
    println!(
        "{name}_ms={:.3} min_ms={:.3} value={value:.12}",
        median.as_secs_f64() * 1000.0,
        timings[0].as_secs_f64() * 1000.0
    );
}

fn read_csv(path: &str) -> Ratings {
    let text = std::fs::read_to_string(path).expect("readable CSV");
    let mut lines = text.lines();
    let raters = lines.next().expect("header").split(',').count() - 1;
    let mut cells = Vec::new();
    let mut units = 0;
    for line in lines.filter(|line| !line.trim().is_empty()) {
        cells.extend(line.split(',').skip(1).map(|cell| {
            let cell = cell.trim();
            (!cell.is_empty()).then(|| cell.parse::<f64>().expect("number"))
        }));
        units += 1;
    }
    Ratings::from_cells(units, raters, cells).expect("rectangular CSV")
}

/// Same shape as bench/agreement/generate.py (not the same numbers): a true level per unit,
/// a bias per rater, noise, rounding to 1..=5, about `missing` of the cells empty.
fn generate(units: usize, raters: usize, missing: f64) -> Ratings {
    let mut state = 2011_u64;
    let mut uniform = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let biases: Vec<f64> = (0..raters).map(|_| (uniform() - 0.5) * 0.8).collect();
    let mut cells = Vec::with_capacity(units * raters);
    for _ in 0..units {
        let truth = [1.0, 2.0, 3.0, 3.0, 4.0, 4.0, 4.0, 5.0, 5.0][(uniform() * 9.0) as usize];
        for bias in &biases {
            if uniform() < missing {
                cells.push(None);
            } else {
                let noise = (uniform() + uniform() + uniform() - 1.5) * 0.9;
                cells.push(Some((truth + bias + noise).round().clamp(1.0, 5.0)));
            }
        }
    }
    Ratings::from_cells(units, raters, cells).expect("rectangular")
}
