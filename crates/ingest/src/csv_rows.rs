//! CSV rows, one at a time, each with the physical line it starts on.
//!
//! csv-core does the quoting; we feed it and count `\n` bytes ourselves, skipping blank
//! lines before each row, so a row's line is exact even after quoted multi-line cells,
//! blank lines and CRLF endings. A row is capped at [`MAX_ROW_BYTES`]: past that its bytes
//! are parsed but not kept, and the row becomes one error. The delimiter is a comma unless
//! the header has none and has semicolons or tabs instead.

use crate::Step;
use crate::fields::Field;
use crate::input::{Input, count_newlines};
use crate::row::{self, RowValues};
use crate::value::{Value, short_name};
use crate::{MAX_CELLS, MAX_ROW_BYTES};
use csv_core::ReadRecordResult;
use plumbline_domain::scorecard::FieldError;
use std::io::{self, Read};

#[derive(Clone, Copy)]
enum Column {
    Known(Field),
    /// An empty header cell (spreadsheets leave trailing ones); its cells must stay empty.
    Nameless,
}

pub(crate) struct CsvRows<R> {
    input: Input<R>,
    parser: csv_core::Reader,
    /// The physical line (1-based) at the parser's position.
    line: u64,
    started: bool,
    finished: bool,
    /// The current row's unescaped cells, back to back, and where each ends.
    cells: Vec<u8>,
    ends: Vec<usize>,
    cell_count: usize,
    columns: Option<Vec<Column>>,
}

enum RawRow {
    End,
    Row { line: u64, overflow: Option<String> },
}

impl<R: Read> CsvRows<R> {
    pub(crate) fn new(reader: R) -> Self {
        Self {
            input: Input::new(reader),
            parser: csv_core::Reader::new(),
            line: 1,
            started: false,
            finished: false,
            cells: vec![0; 4096],
            ends: vec![0; 32],
            cell_count: 0,
            columns: None,
        }
    }

    pub(crate) fn next_step(&mut self) -> Step {
        loop {
            if self.finished {
                return Step::End;
            }
            let raw = match self.read_raw_row() {
                Ok(raw) => raw,
                Err(e) => {
                    self.finished = true;
                    return Step::Stop {
                        line: self.line,
                        errors: vec![whole_row(format!("could not read the file: {e}"))],
                    };
                }
            };
            let (line, overflow) = match raw {
                RawRow::End => {
                    self.finished = true;
                    if self.columns.is_none() {
                        return Step::Stop {
                            line: 1,
                            errors: vec![whole_row(
                                "the file is empty; its first line must name the columns (external_id, channel, started_at, …)",
                            )],
                        };
                    }
                    return Step::End;
                }
                RawRow::Row { line, overflow } => (line, overflow),
            };
            let Some(columns) = &self.columns else {
                match overflow.map_or_else(|| self.read_header(), |reason| Err(vec![whole_row(reason)])) {
                    Ok(columns) => {
                        self.columns = Some(columns);
                        continue;
                    }
                    Err(errors) => {
                        self.finished = true;
                        return Step::Stop { line, errors };
                    }
                }
            };
            if let Some(reason) = overflow {
                return Step::Rejected { line, errors: vec![whole_row(reason)] };
            }
            if (0..self.cell_count).all(|i| self.cell(i).trim_ascii().is_empty()) {
                continue; // a row of empty cells (",,,") is a spreadsheet artefact, not data
            }
            if self.cell_count != columns.len() {
                let reason = format!(
                    "has {} cells but the header has {} columns (is a quote or a comma out of place?)",
                    self.cell_count,
                    columns.len()
                );
                return Step::Rejected { line, errors: vec![whole_row(reason)] };
            }
            let mut values = RowValues::default();
            let mut errors = Vec::new();
            for (i, column) in columns.iter().enumerate() {
                let bytes = self.cell(i);
                match (column, std::str::from_utf8(bytes)) {
                    (Column::Nameless, _) if bytes.trim_ascii().is_empty() => {}
                    (Column::Nameless, _) => errors.push(whole_row(format!(
                        "column {} has a value but no name in the header; name it or empty it",
                        i + 1
                    ))),
                    (Column::Known(field), Ok(text)) => {
                        values.set(*field, Value::Text(text));
                    }
                    (Column::Known(field), Err(e)) => errors.push(FieldError::new(
                        field.name(),
                        format!("is not valid UTF-8 text (byte {}); save the file as UTF-8", e.valid_up_to() + 1),
                    )),
                }
            }
            let (record, mut field_errors) = row::build(&values);
            errors.append(&mut field_errors);
            // A cell that was not UTF-8 also shows up as missing if required; say it once.
            dedupe_by_field(&mut errors);
            return Step::Record { line, record, errors };
        }
    }

    fn cell(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends.get(i - 1).copied().unwrap_or(0) };
        let end = self.ends.get(i).copied().unwrap_or(start);
        self.cells.get(start..end).unwrap_or_default()
    }

    /// Maps the header's names to fields; every problem is an error on the header's line.
    fn read_header(&self) -> Result<Vec<Column>, Vec<FieldError>> {
        let mut columns = Vec::with_capacity(self.cell_count);
        let mut errors = Vec::new();
        let mut first_column_of = [None; Field::COUNT];
        for i in 0..self.cell_count {
            let Ok(name) = std::str::from_utf8(self.cell(i)) else {
                errors.push(whole_row(format!("the name of column {} is not valid UTF-8 text", i + 1)));
                continue;
            };
            if name.trim().is_empty() {
                columns.push(Column::Nameless);
                continue;
            }
            let Some(field) = Field::from_name(name) else {
                errors.push(FieldError::new(
                    short_name(name.trim()),
                    format!("unknown column; the known columns are {}", Field::known_names()),
                ));
                continue;
            };
            if let Some(first) = first_column_of[field.index()].replace(i + 1) {
                errors.push(FieldError::new(
                    field.name(),
                    format!("appears twice in the header (columns {first} and {})", i + 1),
                ));
            }
            columns.push(Column::Known(field));
        }
        for field in Field::ALL {
            if field.required() && first_column_of[field.index()].is_none() {
                errors.push(FieldError::new(field.name(), "required column is missing from the header"));
            }
        }
        if errors.is_empty() { Ok(columns) } else { Err(errors) }
    }

    /// Reads the next row into `cells`/`ends`, skipping blank lines before it.
    fn read_raw_row(&mut self) -> io::Result<RawRow> {
        if !self.started {
            self.started = true;
            self.input.skip_bom()?;
            let delimiter = guess_delimiter(self.input.peek_first_line()?);
            self.parser = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
        }
        loop {
            let buffered = self.input.fill()?;
            let blank = buffered.iter().take_while(|&&b| b == b'\n' || b == b'\r').count();
            let all_blank = blank == buffered.len();
            self.line += count_newlines(&buffered[..blank]);
            self.input.consume(blank);
            if blank == 0 || !all_blank {
                break;
            }
        }
        let line = self.line;
        let mut overflow = None;
        let (mut written, mut ended) = (0, 0);
        loop {
            let buffered = self.input.fill()?;
            let (result, read, wrote, ends) =
                self.parser.read_record(buffered, &mut self.cells[written..], &mut self.ends[ended..]);
            self.line += count_newlines(&buffered[..read]);
            self.input.consume(read);
            written += wrote;
            ended += ends;
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull if self.cells.len() >= MAX_ROW_BYTES => {
                    overflow.get_or_insert_with(|| {
                        format!(
                            "the row is longer than {} MiB; is a quote (\") left unclosed?",
                            MAX_ROW_BYTES / (1024 * 1024)
                        )
                    });
                    written = 0; // keep parsing to the row's end, dropping its bytes
                }
                ReadRecordResult::OutputFull => {
                    let larger = (self.cells.len() * 2).min(MAX_ROW_BYTES);
                    self.cells.resize(larger, 0);
                }
                ReadRecordResult::OutputEndsFull if self.ends.len() >= MAX_CELLS => {
                    overflow.get_or_insert_with(|| format!("the row has more than {MAX_CELLS} cells"));
                    ended = 0;
                }
                ReadRecordResult::OutputEndsFull => {
                    let larger = (self.ends.len() * 2).min(MAX_CELLS);
                    self.ends.resize(larger, 0);
                }
                ReadRecordResult::Record => {
                    self.cell_count = ended;
                    return Ok(RawRow::Row { line, overflow });
                }
                ReadRecordResult::End => return Ok(RawRow::End),
            }
        }
    }
}

/// Spreadsheets in many locales save "CSV" with `;` between cells, and some exports use
/// tabs; the header line tells which. Commas win whenever the header has one.
fn guess_delimiter(first_line: &[u8]) -> u8 {
    let header = first_line.iter().skip_while(|&&b| b == b'\n' || b == b'\r').take_while(|&&b| b != b'\n');
    let (mut commas, mut semicolons, mut tabs) = (0, 0, 0);
    for &b in header {
        match b {
            b',' => commas += 1,
            b';' => semicolons += 1,
            b'\t' => tabs += 1,
            _ => {}
        }
    }
    if commas == 0 && semicolons > 0 {
        b';'
    } else if commas == 0 && tabs > 0 {
        b'\t'
    } else {
        b','
    }
}

fn whole_row(reason: impl Into<String>) -> FieldError {
    FieldError::new("", reason)
}

/// Keeps the first error of each field.
fn dedupe_by_field(errors: &mut Vec<FieldError>) {
    let mut seen = std::collections::HashSet::new();
    errors.retain(|e| e.field.is_empty() || seen.insert(e.field.clone()));
}
