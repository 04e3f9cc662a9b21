//! Conversation imports: a CSV or JSON Lines file turned into
//! [`ConversationRecord`]s one row at a time, with an error per bad field naming its line.
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! use plumbline_ingest::{Format, records};
//! let file = std::fs::File::open("conversations.csv")?;
//! let format = Format::from_name("conversations.csv").expect("a known extension");
//! for item in records(format, file) {
//!     match item {
//!         Ok((line, record)) => println!("line {line}: {}", record.external_id),
//!         Err(error) => eprintln!("{error}"), // "line 12, field csat: must be from 1 to 5"
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Columns
//!
//! CSV header names and JSON keys are the same (case, spaces and dashes are forgiven):
//!
//! | column | required | accepts |
//! |---|---|---|
//! | `external_id` | yes | text (a JSON number too); unique within the file |
//! | `channel` | yes | email, chat, phone, social, other (any case) |
//! | `agent`, `team`, `vendor`, `subject` | | text; an empty cell is absent |
//! | `started_at` | yes | `2026-03-01T10:15:00Z`, `…+02:00`, `2026-03-01 10:15:00` (UTC), `2026-03-01`, Unix milliseconds |
//! | `transcript` | | JSON list of `{author, text, at?}`, or text with one `customer: …` / `agent: …` / `system: …` message per line |
//! | `tags` | | JSON list of text, or text split on `;` or `\|` |
//! | `csat`, `nps` | | whole numbers, 1 to 5 and 0 to 10 |
//! | `fcr` | | true/false, yes/no, y/n, 1/0 |
//! | `handle_time_seconds` (or `handle_time`) | | whole seconds, 0 to 31536000 |
//!
//! In JSON, numbers and yes/no may also be given as strings, and `null` means absent. A CSV
//! file is comma-separated unless its header has no comma but semicolons (or tabs). Blank
//! lines and a UTF-8 byte order mark are skipped in both formats.
//!
//! Memory stays bounded whatever the file: one row is held at a time (at most
//! [`MAX_ROW_BYTES`]), and duplicate ids are found through a 128-bit fingerprint per row
//! rather than the ids themselves. After a bad row the next row is read; the caller
//! decides whether to abort. Nothing here panics on any input.
//!
//! Layout: `csv_rows` and `json_lines` read rows; `row` and `value` turn a row's values
//! (a CSV cell or a raw JSON value) into a record; `time` parses times; `seen` remembers ids.

mod csv_rows;
mod fields;
mod input;
mod json;
mod json_lines;
mod row;
mod seen;
mod time;
mod value;

use plumbline_domain::conversation::ConversationRecord;
use plumbline_domain::scorecard::FieldError;
use serde::Serialize;
use std::collections::VecDeque;
use std::fmt;
use std::io::Read;
use std::iter::FusedIterator;

/// The largest row (CSV) or line (JSON Lines) read; a longer one is an error, not a buffer
/// that grows until memory runs out.
pub const MAX_ROW_BYTES: usize = 8 * 1024 * 1024;
/// The most cells a CSV row may have.
pub const MAX_CELLS: usize = 1_000;
/// Errors reported for one row; past this a single "more problems" error closes the row.
pub const MAX_ERRORS_PER_ROW: usize = 25;

/// The format of an import file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    /// JSON Lines (NDJSON): one JSON object per line.
    JsonLines,
}

impl Format {
    /// The format named by a file name (`.csv`, `.jsonl`, `.ndjson`, any case) or a content
    /// type (`text/csv`, `application/x-ndjson`, `application/jsonl`, parameters allowed).
    pub fn from_name(file_name_or_content_type: &str) -> Option<Format> {
        let name = file_name_or_content_type.trim().to_ascii_lowercase();
        let media_type = name.split(';').next().unwrap_or_default().trim();
        match media_type {
            "text/csv" | "application/csv" => return Some(Format::Csv),
            "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/x-jsonl"
            | "application/jsonlines"
            | "application/x-jsonlines" => return Some(Format::JsonLines),
            _ => {}
        }
        let (_, extension) = name.rsplit_once('.')?;
        match extension {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            _ => None,
        }
    }
}

/// A problem with one row of an import.
///
/// `line` is the 1-based physical line where the row starts (the CSV header is line 1).
/// `field` names the column or key (`csat`, `transcript[2].author`); it is empty when the
/// whole row is at fault (invalid JSON, a wrong number of cells, an unreadable file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: u64,
    pub field: String,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "line {}: {}", self.line, self.reason)
        } else {
            write!(f, "line {}, field {}: {}", self.line, self.field, self.reason)
        }
    }
}

impl std::error::Error for RowError {}

/// The rows of an import, in file order: each good row as `(line, record)`, each problem as
/// a [`RowError`] (a row with several bad fields yields several, one after another).
pub struct Records<R: Read> {
    source: Source<R>,
    seen: seen::SeenIds,
    pending: VecDeque<RowError>,
    finished: bool,
}

enum Source<R> {
    // csv-core's state tables are large; keep `Records` small to move around.
    Csv(Box<csv_rows::CsvRows<R>>),
    JsonLines(json_lines::JsonLines<R>),
}

/// Reads `reader` as `format`, lazily: nothing is read until the first `next()`.
pub fn records<R: Read>(format: Format, reader: R) -> Records<R> {
    let source = match format {
        Format::Csv => Source::Csv(Box::new(csv_rows::CsvRows::new(reader))),
        Format::JsonLines => Source::JsonLines(json_lines::JsonLines::new(reader)),
    };
    Records { source, seen: seen::SeenIds::new(), pending: VecDeque::new(), finished: false }
}

/// What a reader found next. Errors use [`FieldError`] with an empty field for the row.
#[expect(clippy::large_enum_variant, reason = "the record is the common case; each step is moved once")]
pub(crate) enum Step {
    /// A row that gave a record, possibly with errors (then the record holds placeholders).
    Record {
        line: u64,
        record: ConversationRecord,
        errors: Vec<FieldError>,
    },
    /// A row too broken to give a record.
    Rejected {
        line: u64,
        errors: Vec<FieldError>,
    },
    /// A problem after which nothing more can be read (a bad header, an I/O error).
    Stop {
        line: u64,
        errors: Vec<FieldError>,
    },
    End,
}

impl<R: Read> Iterator for Records<R> {
    type Item = Result<(u64, ConversationRecord), RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(error) = self.pending.pop_front() {
                return Some(Err(error));
            }
            if self.finished {
                return None;
            }
            let step = match &mut self.source {
                Source::Csv(rows) => rows.next_step(),
                Source::JsonLines(rows) => rows.next_step(),
            };
            match step {
                Step::End => self.finished = true,
                Step::Stop { line, errors } => {
                    self.finished = true;
                    self.queue(line, errors);
                }
                Step::Rejected { line, errors } => self.queue(line, errors),
                Step::Record { line, record, errors } => {
                    let errors = self.finish_checks(line, &record, errors);
                    if errors.is_empty() {
                        return Some(Ok((line, record)));
                    }
                    self.queue(line, errors);
                }
            }
        }
    }
}

impl<R: Read> FusedIterator for Records<R> {}

impl<R: Read> Records<R> {
    /// Adds the file-wide duplicate check and the domain's own checks to a row's parse errors.
    fn finish_checks(
        &mut self,
        line: u64,
        record: &ConversationRecord,
        mut errors: Vec<FieldError>,
    ) -> Vec<FieldError> {
        let id_parsed = !record.external_id.is_empty() && !errors.iter().any(|e| e.field == "external_id");
        if id_parsed && let Some(first) = self.seen.first_line(&record.external_id, line) {
            errors.push(FieldError::new(
                "external_id",
                format!("{} already appears on line {first}", value::shown(&record.external_id)),
            ));
        }
        // A field that failed to parse holds a placeholder; checking it would only repeat
        // the problem in other words.
        for problem in record.check() {
            let root = field_root(&problem.field);
            if !errors.iter().any(|e| field_root(&e.field) == root) {
                errors.push(problem);
            }
        }
        errors
    }

    fn queue(&mut self, line: u64, errors: Vec<FieldError>) {
        let total = errors.len();
        for error in errors.into_iter().take(MAX_ERRORS_PER_ROW) {
            self.pending.push_back(RowError { line, field: error.field, reason: error.reason });
        }
        if total > MAX_ERRORS_PER_ROW {
            let reason = format!("and {} more problems on this row", total - MAX_ERRORS_PER_ROW);
            self.pending.push_back(RowError { line, field: String::new(), reason });
        }
    }
}

/// `transcript[3].text` → `transcript`.
fn field_root(field: &str) -> &str {
    field.split(['[', '.']).next().unwrap_or(field)
}
