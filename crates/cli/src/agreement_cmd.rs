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
    let bytes = std::fs::read(path).map_err(|e| FileError {
        path: path.to_path_buf(),
        line: None,
        column: None,
        message: format!("cannot open: {e}"),
    })?;
    let mut sink = RatingsSink { path, categories, raters: Vec::new(), width: 0, cells: Vec::new(), units: 0 };
    match plain_text(&bytes) {
        Some(text) => parse_plain(text, &mut sink)?,
        None => parse_with_quoting(&bytes, &mut sink)?,
    }
    sink.finish()
}

/// The file as text when it can be read by splitting lines and commas: valid UTF-8 with no
/// quote character and no carriage return except before a line feed. That is what
/// spreadsheets export for a grid of numbers. Anything else goes through the `csv` crate.
fn plain_text(bytes: &[u8]) -> Option<&str> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    // Chunked so the scan vectorises; files are mostly digits and commas.
    let special = bytes.chunks(64).any(|chunk| chunk.iter().fold(false, |seen, b| seen | (*b == b'"') | (*b == b'\r')));
    if special {
        let lone_carriage_return =
            bytes.iter().enumerate().any(|(i, b)| *b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
        if bytes.contains(&b'"') || lone_carriage_return {
            return None;
        }
    }
    std::str::from_utf8(bytes).ok()
}

/// Lines and commas, no per-cell allocation. Matches the `csv` crate on such input: empty lines
/// are skipped, the first other line is the header, fields are trimmed.
fn parse_plain(text: &str, sink: &mut RatingsSink<'_>) -> Result<(), FileError> {
    let mut fields: Vec<&str> = Vec::new();
    let mut header_seen = false;
    for (index, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        fields.clear();
        split_fields(line, &mut fields);
        if header_seen {
            sink.row(Some(index as u64 + 1), &fields)?;
        } else {
            sink.header(&fields)?;
            header_seen = true;
        }
    }
    if !header_seen {
        sink.header(&[])?;
    }
    Ok(())
}

/// The trimmed comma-separated fields of one line. A byte loop: fields are a digit or two, too
/// short for a `memchr` call per field to pay off.
fn split_fields<'a>(line: &'a str, fields: &mut Vec<&'a str>) {
    let mut start = 0;
    for (position, byte) in line.bytes().enumerate() {
        if byte == b',' {
            fields.push(line[start..position].trim());
            start = position + 1;
        }
    }
    fields.push(line[start..].trim());
}

/// Quoted fields, lone carriage returns or invalid UTF-8: the `csv` crate reads the file.
fn parse_with_quoting(bytes: &[u8], sink: &mut RatingsSink<'_>) -> Result<(), FileError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).trim(csv::Trim::All).from_reader(bytes);
    let path = sink.path;
    let csv_error = |e: csv::Error| {
        let line = e.position().map(csv::Position::line);
        let column = match e.kind() {
            csv::ErrorKind::Utf8 { err, .. } => Some(err.field() + 1),
            _ => None,
        };
        FileError { path: path.to_path_buf(), line, column, message: format!("not a readable CSV file: {e}") }
    };
    let header: Vec<String> = reader.headers().map_err(csv_error)?.iter().map(str::to_owned).collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    sink.header(&header)?;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(e)),
        }
        let fields: Vec<&str> = record.iter().collect();
        sink.row(record.position().map(csv::Position::line), &fields)?;
    }
    Ok(())
}

/// Checks the header and each row and collects the cells, whichever reader split the file.
struct RatingsSink<'a> {
    path: &'a Path,
    categories: Option<&'a [f64]>,
    raters: Vec<String>,
    /// Fields per row: the unit column and one per rater.
    width: usize,
    cells: Vec<Option<f64>>,
    units: usize,
}

impl RatingsSink<'_> {
    fn error(&self, line: Option<u64>, column: Option<usize>, message: String) -> FileError {
        FileError { path: self.path.to_path_buf(), line, column, message }
    }

    fn header(&mut self, fields: &[&str]) -> Result<(), FileError> {
        if fields.len() < 2 || fields.iter().all(|field| field.is_empty()) {
            return Err(self.error(
                Some(1),
                None,
                "the header must be `unit,<rater>,<rater>,...` (a unit column and at least one rater)".into(),
            ));
        }
        let raters: Vec<String> = fields.iter().skip(1).map(|name| (*name).to_owned()).collect();
        for (index, rater) in raters.iter().enumerate() {
            if rater.is_empty() {
                return Err(self.error(Some(1), Some(index + 2), "empty rater name in the header".into()));
            }
            if raters[..index].contains(rater) {
                return Err(self.error(
                    Some(1),
                    Some(index + 2),
                    format!("rater {rater:?} appears twice in the header"),
                ));
            }
        }
        self.width = fields.len();
        self.raters = raters;
        Ok(())
    }

    fn row(&mut self, line: Option<u64>, fields: &[&str]) -> Result<(), FileError> {
        if fields.len() == 1 && fields[0].is_empty() {
            return Ok(()); // a blank line
        }
        if fields.len() != self.width {
            return Err(self.error(
                line,
                Some(fields.len().min(self.width) + 1),
                format!("expected {} fields (unit + {} raters), found {}", self.width, self.raters.len(), fields.len()),
            ));
        }
        for (index, field) in fields.iter().enumerate().skip(1) {
            if field.is_empty() {
                self.cells.push(None);
                continue;
            }
            let value = parse_number(field).map_err(|_| {
                self.error(
                    line,
                    Some(index + 1),
                    format!("{field:?} is not a number (rater {:?})", self.raters[index - 1]),
                )
            })?;
            if !value.is_finite() {
                return Err(self.error(line, Some(index + 1), format!("{field:?} is not a finite number")));
            }
            if let Some(allowed) = self.categories
                && !allowed.contains(&value)
            {
                return Err(self.error(
                    line,
                    Some(index + 1),
                    format!("{field} is not one of the --categories {}", join_numbers(allowed)),
                ));
            }
            self.cells.push(Some(value));
        }
        self.units += 1;
        Ok(())
    }

    fn finish(self) -> Result<RatingsFile, FileError> {
        let ratings = Ratings::from_cells(self.units, self.raters.len(), self.cells).map_err(|e| FileError {
            path: self.path.to_path_buf(),
            line: None,
            column: None,
            message: e.to_string(),
        })?;
        Ok(RatingsFile { raters: self.raters, ratings })
    }
}

/// `str::parse::<f64>` with a shortcut for whole numbers of up to 15 digits (exact in `f64`,
/// so the same value), which is what rating scales hold.
fn parse_number(text: &str) -> Result<f64, std::num::ParseFloatError> {
    let (negative, digits) = match text.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        bytes => (false, bytes),
    };
    if !digits.is_empty() && digits.len() <= 15 && digits.iter().all(u8::is_ascii_digit) {
        let magnitude = digits.iter().fold(0u64, |number, digit| number * 10 + u64::from(digit - b'0')) as f64;
        return Ok(if negative { -magnitude } else { magnitude });
    }
    text.parse()
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
    use super::{RatingsSink, parse_plain, parse_with_quoting, plain_text, read_ratings};
    use plumbline_agreement::{Level, Ratings, reliability_report};
    use proptest::prelude::*;
    use std::path::Path;

    /// Raters and ratings, or the error as the user would read it.
    type Parsed = Result<(Vec<String>, Ratings), String>;

    /// The same bytes through the plain reader and through the `csv` crate.
    fn both_readers(bytes: &[u8]) -> (Parsed, Parsed) {
        let categories = [1.0, 2.0, 3.0, 3.5, 4.0, 1000.0, -2.0, 0.0];
        let read = |plain: bool| {
            let path = Path::new("ratings.csv");
            let mut sink = RatingsSink {
                path,
                categories: Some(&categories),
                raters: Vec::new(),
                width: 0,
                cells: Vec::new(),
                units: 0,
            };
            let parsed = if plain {
                parse_plain(plain_text(bytes).expect("plain input"), &mut sink)
            } else {
                parse_with_quoting(bytes, &mut sink)
            };
            parsed.and_then(|()| sink.finish()).map(|file| (file.raters, file.ratings)).map_err(|e| e.to_string())
        };
        (read(true), read(false))
    }

    #[test]
    fn quotes_and_lone_carriage_returns_go_to_the_csv_reader() {
        assert!(plain_text(b"unit,\"a\",b\n1,2,3\n").is_none());
        assert!(plain_text(b"unit,a,b\r1,2,3\r").is_none());
        assert!(plain_text(b"unit,a,b\n\xff,2,3\n").is_none());
        assert_eq!(plain_text(b"\xef\xbb\xbfunit,a\r\nu1,2\r\n"), Some("unit,a\r\nu1,2\r\n"));
        let quoted = read_ratings_text("unit,\"rater, one\",b\nu1,\"1\",2\nu2,3,\n").expect("quoted file");
        assert_eq!(quoted.raters, ["rater, one", "b"]);
        assert_eq!(quoted.ratings.rating(1, 0), Some(3.0));
        assert_eq!(quoted.ratings.rating(1, 1), None);
    }

    #[test]
    fn errors_name_the_line_an_editor_shows() {
        let windows = read_ratings_text("unit,a,b\r\nu1,1,2\r\nu2,x,3\r\n").err().expect("a bad cell");
        assert_eq!((windows.line, windows.column), (Some(3), Some(2)));
        let blank_lines = read_ratings_text("unit,a,b\n\nu1,1,2\n\nu2,3,x\n").err().expect("a bad cell");
        assert_eq!((blank_lines.line, blank_lines.column), (Some(5), Some(3)));
    }

    fn read_ratings_text(text: &str) -> Result<super::RatingsFile, super::FileError> {
        let path = std::env::temp_dir().join(format!("plumbline-agreement-quoted-{}.csv", std::process::id()));
        std::fs::write(&path, text).expect("write");
        let file = read_ratings(&path, None);
        let _ = std::fs::remove_file(&path);
        file
    }

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
        fn the_plain_reader_reads_what_the_csv_crate_reads(
            bom in any::<bool>(),
            header in prop_oneof![
                Just("unit,a,b"), Just(" unit , a ,b "), Just("unit,a,a"), Just("unit,"), Just("unit"), Just("  "),
            ],
            lines in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![
                        Just(""), Just(" "), Just("1"), Just(" 2 "), Just("-2"), Just("3.5"), Just("1e3"), Just("x"),
                        Just("-0"), Just("7"), Just("u9"), Just("+4"), Just("\t3"),
                    ],
                    0..5,
                ),
                0..8,
            ),
            crlf in any::<bool>(),
            trailing_newline in any::<bool>(),
            blank_lines in proptest::collection::vec(0usize..10, 0..3),
        ) {
            let mut rows: Vec<String> = vec![header.to_string()];
            rows.extend(lines.iter().map(|fields| fields.join(",")));
            for position in blank_lines {
                rows.insert(position.min(rows.len()), String::new());
            }
            let render = |newline: &str| {
                let mut text = if bom { "\u{feff}".to_string() } else { String::new() };
                text.push_str(&rows.join(newline));
                if trailing_newline {
                    text.push_str(newline);
                }
                text
            };
            let text = render("\n");
            let (plain, reference) = both_readers(text.as_bytes());
            // The csv crate counts a record's line without the blank lines before it; the plain
            // reader names the line an editor shows (see the tests above). All else agrees.
            let without_line = |parsed: &Parsed| {
                parsed.clone().map_err(|message| match (message.find(": line "), message.find(", column")) {
                    (Some(start), Some(end)) => format!("{}{}", &message[..start], &message[end..]),
                    _ => message,
                })
            };
            prop_assert_eq!(without_line(&plain), without_line(&reference), "{:?}", text);
            if crlf {
                // The csv crate also numbers CRLF lines one short; the plain reader reads them
                // exactly as the LF file.
                let windows = render("\r\n");
                prop_assert_eq!(&both_readers(windows.as_bytes()).0, &plain, "{:?}", windows);
            }
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
