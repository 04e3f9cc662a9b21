//! JSON Lines: one object per line, read into a reused, capped buffer.

use crate::fields::Field;
use crate::input::Input;
use crate::row::{self, RowValues};
use crate::value::{Value, short_name};
use crate::{MAX_ROW_BYTES, Step, json};
use plumbline_domain::scorecard::FieldError;
use std::io::{self, Read};

pub(crate) struct JsonLines<R> {
    input: Input<R>,
    line: Vec<u8>,
    line_number: u64,
    finished: bool,
}

enum LineRead {
    Line,
    TooLong,
    End,
}

impl<R: Read> JsonLines<R> {
    pub(crate) fn new(reader: R) -> Self {
        Self { input: Input::new(reader), line: Vec::new(), line_number: 0, finished: false }
    }

    pub(crate) fn next_step(&mut self) -> Step {
        loop {
            if self.finished {
                return Step::End;
            }
            self.line_number += 1;
            let line = self.line_number;
            match self.read_line() {
                Err(e) => {
                    self.finished = true;
                    return Step::Stop { line, errors: vec![whole_row(format!("could not read the file: {e}"))] };
                }
                Ok(LineRead::End) => {
                    self.finished = true;
                    return Step::End;
                }
                Ok(LineRead::TooLong) => {
                    let reason = format!("the line is longer than {} MiB", MAX_ROW_BYTES / (1024 * 1024));
                    return Step::Rejected { line, errors: vec![whole_row(reason)] };
                }
                Ok(LineRead::Line) => {}
            }
            let bytes = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
            if bytes.trim_ascii().is_empty() {
                continue;
            }
            return match std::str::from_utf8(bytes) {
                Ok(text) => parse_line(line, text),
                Err(e) => Step::Rejected {
                    line,
                    errors: vec![whole_row(format!(
                        "is not valid UTF-8 text (byte {}); save the file as UTF-8",
                        e.valid_up_to() + 1
                    ))],
                },
            };
        }
    }

    /// Reads one physical line into `line` without its `\n`. A line over the cap is read
    /// to its end but not kept.
    fn read_line(&mut self) -> io::Result<LineRead> {
        if self.line_number == 1 {
            self.input.skip_bom()?;
        }
        self.line.clear();
        let mut too_long = false;
        let mut read_any = false;
        loop {
            let buffered = self.input.fill()?;
            if buffered.is_empty() {
                return Ok(match (read_any, too_long) {
                    (false, _) => LineRead::End,
                    (true, true) => LineRead::TooLong,
                    (true, false) => LineRead::Line,
                });
            }
            read_any = true;
            let newline = buffered.iter().position(|&b| b == b'\n');
            let piece = &buffered[..newline.unwrap_or(buffered.len())];
            if !too_long {
                if self.line.len() + piece.len() > MAX_ROW_BYTES {
                    too_long = true;
                    self.line.clear();
                } else {
                    self.line.extend_from_slice(piece);
                }
            }
            let consumed = piece.len() + usize::from(newline.is_some());
            self.input.consume(consumed);
            if newline.is_some() {
                return Ok(if too_long { LineRead::TooLong } else { LineRead::Line });
            }
        }
    }
}

fn parse_line(line: u64, text: &str) -> Step {
    let start = text.trim_start();
    if !start.starts_with('{') {
        let reason = if start.starts_with('[') {
            "holds a JSON list; JSON Lines needs one conversation object ({...}) per line"
        } else {
            "must be a JSON object ({...}) holding one conversation"
        };
        return Step::Rejected { line, errors: vec![whole_row(reason)] };
    }
    let object = match json::parse_object(text) {
        Ok(object) => object,
        Err(reason) => return Step::Rejected { line, errors: vec![whole_row(format!("is not valid JSON: {reason}"))] },
    };
    let mut values = RowValues::default();
    let mut errors = Vec::new();
    for (key, raw) in &object.entries {
        match Field::from_name(key) {
            None => errors.push(FieldError::new(
                short_name(key),
                format!("unknown key; the known keys are {}", Field::known_names()),
            )),
            Some(field) => {
                if !values.set(field, Value::Json(raw)) {
                    errors.push(FieldError::new(field.name(), "is given more than once"));
                }
            }
        }
    }
    if object.skipped > 0 {
        errors.push(whole_row(format!(
            "has {} keys; a conversation has at most {}",
            object.entries.len() + object.skipped,
            Field::COUNT
        )));
    }
    let (record, mut field_errors) = row::build(&values);
    errors.append(&mut field_errors);
    Step::Record { line, record, errors }
}

fn whole_row(reason: impl Into<String>) -> FieldError {
    FieldError::new("", reason)
}
