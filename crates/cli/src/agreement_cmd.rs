//! `plumbline agreement FILE.csv`: reliability statistics for any ratings spreadsheet.
//!
//! Input: a header `unit,<rater>,<rater>,...` and one row per unit; an empty cell is a missing
//! rating; values are numbers. The file is parsed here, at the edge, into
//! `plumbline_agreement::Ratings`; the statistics crate never sees text. A bad file gets one
//! error naming line and column on stderr and exit code 2.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use plumbline_agreement::{Level, Ratings, Statistic, reliability_report};
use serde::Serialize;

#[derive(clap::Args)]
pub struct AgreementArgs {
    /// The ratings CSV: header `unit,<rater>,...`, one row per unit, empty cell = missing.
    pub file: PathBuf,
    /// Measurement level: chooses alpha's metric, AC2's and Cohen's weights.
    #[arg(long, value_enum, default_value_t = LevelArg::Ordinal)]
    pub level: LevelArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// The scale's possible values, e.g. `0,1,2,3,4` (unused ones count in AC1/AC2/BP chance terms).
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    pub categories: Option<Vec<f64>>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum LevelArg {
    Nominal,
    Ordinal,
    Interval,
    Ratio,
}

impl From<LevelArg> for Level {
    fn from(level: LevelArg) -> Self {
        match level {
            LevelArg::Nominal => Level::Nominal,
            LevelArg::Ordinal => Level::Ordinal,
            LevelArg::Interval => Level::Interval,
            LevelArg::Ratio => Level::Ratio,
        }
    }
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// A problem with the input file, located for the person who has to fix it.
#[derive(Debug)]
struct FileError {
    path: PathBuf,
    line: Option<u64>,
    column: Option<usize>,
    message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ": line {line}")?;
        }
        if let Some(column) = self.column {
            write!(f, ", column {column}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The parsed spreadsheet.
struct RatingsFile {
    raters: Vec<String>,
    ratings: Ratings,
}

/// The JSON contract scripts rely on.
#[derive(Serialize)]
struct JsonReport<'a> {
    units: usize,
    raters: usize,
    level: &'a str,
    statistics: &'a [Statistic],
}

pub fn run(args: AgreementArgs) -> ExitCode {
    let level = Level::from(args.level);
    let file = match read_ratings(&args.file, args.categories.as_deref()) {
        Ok(file) => file,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let statistics = reliability_report(&file.ratings, level, args.categories.as_deref());
    match args.format {
        OutputFormat::Json => {
            let report = JsonReport {
                units: file.ratings.units(),
                raters: file.ratings.raters(),
                level: level.as_str(),
                statistics: &statistics,
            };
            match serde_json::to_string_pretty(&report) {
                Ok(json) => println!("{json}"),
                Err(error) => {
                    eprintln!("error: cannot write JSON: {error}");
                    return ExitCode::from(1);
                }
            }
        }
        OutputFormat::Text => print!("{}", text_report(&args.file, &file, level, &statistics)),
    }
    ExitCode::SUCCESS
}

fn read_ratings(path: &Path, categories: Option<&[f64]>) -> Result<RatingsFile, FileError> {
    let error = |line: Option<u64>, column: Option<usize>, message: String| FileError {
        path: path.to_path_buf(),
        line,
        column,
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| error(None, None, format!("cannot open: {e}")))?;
    let csv_error = |e: csv::Error| {
        let line = e.position().map(csv::Position::line);
        error(line, None, format!("not a readable CSV file: {e}"))
    };
    let header = reader.headers().map_err(csv_error)?.clone();
    if header.len() < 2 || header.iter().all(str::is_empty) {
        return Err(error(
            Some(1),
            None,
            "the header must be `unit,<rater>,<rater>,...` (a unit column and at least one rater)".into(),
        ));
    }
    let raters: Vec<String> = header.iter().skip(1).map(str::to_owned).collect();
    for (index, rater) in raters.iter().enumerate() {
        if rater.is_empty() {
            return Err(error(Some(1), Some(index + 2), "empty rater name in the header".into()));
        }
        if raters[..index].contains(rater) {
            return Err(error(Some(1), Some(index + 2), format!("rater {rater:?} appears twice in the header")));
        }
    }
    let mut cells: Vec<Option<f64>> = Vec::new();
    let mut units = 0usize;
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(csv_error)? {
        let line = record.position().map(csv::Position::line);
        if record.len() == 1 && record[0].is_empty() {
            continue; // a blank line
        }
        if record.len() != header.len() {
            return Err(error(
                line,
                Some(record.len().min(header.len()) + 1),
                format!("expected {} fields (unit + {} raters), found {}", header.len(), raters.len(), record.len()),
            ));
        }
        for (index, field) in record.iter().enumerate().skip(1) {
            if field.is_empty() {
                cells.push(None);
                continue;
            }
            let value: f64 = field.parse().map_err(|_| {
                error(line, Some(index + 1), format!("{field:?} is not a number (rater {:?})", raters[index - 1]))
            })?;
            if !value.is_finite() {
                return Err(error(line, Some(index + 1), format!("{field:?} is not a finite number")));
            }
            if let Some(allowed) = categories
                && !allowed.contains(&value)
            {
                return Err(error(
                    line,
                    Some(index + 1),
                    format!("{field} is not one of the --categories {}", join_numbers(allowed)),
                ));
            }
            cells.push(Some(value));
        }
        units += 1;
    }
    let ratings = Ratings::from_cells(units, raters.len(), cells).map_err(|e| error(None, None, e.to_string()))?;
    Ok(RatingsFile { raters, ratings })
}

fn join_numbers(values: &[f64]) -> String {
    values.iter().map(f64::to_string).collect::<Vec<_>>().join(",")
}

fn text_report(path: &Path, file: &RatingsFile, level: Level, statistics: &[Statistic]) -> String {
    use std::fmt::Write as _;
    let ratings = &file.ratings;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} units x {} raters ({}), {} of {} ratings missing, level {}",
        path.display(),
        ratings.units(),
        ratings.raters(),
        abbreviate(&file.raters),
        ratings.missing(),
        ratings.units() * ratings.raters(),
        level
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "{:<20} {:>8}  {:<18}  verdict", "statistic", "value", "95% CI");
    let _ = writeln!(out, "{}", "-".repeat(78));
    for statistic in statistics {
        let value = statistic.value.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
        let ci = statistic.ci95.map_or_else(|| "-".to_owned(), |(low, high)| format!("[{low:.3}, {high:.3}]"));
        let verdict = match (&statistic.interpretation, statistic.value) {
            (Some(text), _) => text.split(';').next().unwrap_or_default().to_owned(),
            (None, None) if statistic.is_not_enough_data() => "NOT ENOUGH DATA".to_owned(),
            (None, None) => "cannot compute".to_owned(),
            (None, Some(_)) => String::new(),
        };
        let _ = writeln!(out, "{:<20} {:>8}  {:<18}  {}", statistic.name, value, ci, verdict);
        let _ = writeln!(out, "{:<20} {}", "", statistic.note);
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Verdicts are conventions, not truths: Krippendorff (alpha >= 0.800 reliable, >= 0.667 tentative), \
         Landis & Koch 1977 (kappas), Koo & Li 2016 (ICC)."
    );
    out
}

fn abbreviate(names: &[String]) -> String {
    if names.len() <= 6 {
        names.join(", ")
    } else {
        format!("{}, ... {}", names[..4].join(", "), names[names.len() - 1])
    }
}

#[cfg(test)]
mod tests {
    use super::read_ratings;
    use plumbline_agreement::{Level, reliability_report};
    use proptest::prelude::*;

    /// Parses `text` as a ratings file and, when it parses, computes every statistic at every
    /// level: hostile input gets an error, never a panic.
    fn survive(text: &str) {
        let dir = std::env::temp_dir().join(format!("plumbline-agreement-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(format!("{:x}.csv", rand_name(text)));
        std::fs::write(&path, text).expect("write");
        if let Ok(file) = read_ratings(&path, None) {
            for level in [Level::Nominal, Level::Ordinal, Level::Interval, Level::Ratio] {
                for statistic in reliability_report(&file.ratings, level, None) {
                    assert!(statistic.value.is_none_or(f64::is_finite), "{}", statistic.name);
                }
            }
        }
        let _ = std::fs::remove_file(&path);
    }

    fn rand_name(text: &str) -> u64 {
        text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            survive(&text);
            survive(&format!("unit,a,b\n{text}"));
        }

        #[test]
        fn numeric_grids_never_panic(
            grid in proptest::collection::vec(proptest::collection::vec(
                prop_oneof![Just(String::new()), "-?[0-9]{1,3}(\\.[0-9])?", Just("1e308".to_string()), Just("NaN".to_string())], 3),
                0..12),
        ) {
            let mut text = String::from("unit,r1,r2,r3\n");
            for (i, row) in grid.iter().enumerate() {
                text.push_str(&format!("u{i},{}\n", row.join(",")));
            }
            survive(&text);
        }
    }
}
