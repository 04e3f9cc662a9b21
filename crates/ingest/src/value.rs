//! One cell or JSON value turned into a domain value, with a reason a QA lead understands
//! when it cannot be.
//!
//! Both formats meet here: a CSV cell is text; a JSON value is kept raw until its field
//! decides what it may be, so `"csat": 1e400` is a csat error, not a broken line.

use crate::json::{self, Kind};
use crate::time;
use plumbline_domain::Millis;
use plumbline_domain::conversation::{AuthorRole, Channel, MAX_MESSAGES, MAX_TAGS, Message};
use plumbline_domain::scorecard::FieldError;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashSet;

/// A field's value as the file gives it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Value<'a> {
    /// A CSV cell.
    Text(&'a str),
    /// A JSON value, still as its source text.
    Json(&'a RawValue),
}

/// A value quoted for an error message, cut short: a cell may hold megabytes.
pub(crate) fn shown(text: &str) -> String {
    const KEEP: usize = 40;
    match text.char_indices().nth(KEEP) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

/// A name (column, key) cut short for use as an error's field.
pub(crate) fn short_name(name: &str) -> String {
    const KEEP: usize = 60;
    if name.is_empty() {
        return "(empty name)".to_string();
    }
    match name.char_indices().nth(KEEP) {
        Some((cut, _)) => format!("{}…", &name[..cut]),
        None => name.to_string(),
    }
}

/// A single value after JSON typing is resolved.
enum Scalar<'a> {
    Text(Cow<'a, str>),
    /// A JSON number, as written.
    Number(&'a str),
    Bool(bool),
}

/// `Ok(None)` for an empty cell, a blank string or a JSON null.
fn scalar<'a>(value: Value<'a>, expected: &str) -> Result<Option<Scalar<'a>>, String> {
    let scalar = match value {
        Value::Text(text) => Scalar::Text(Cow::Borrowed(text)),
        Value::Json(raw) => match json::kind(raw) {
            Kind::Null => return Ok(None),
            Kind::Bool(b) => Scalar::Bool(b),
            Kind::Number => Scalar::Number(raw.get().trim()),
            Kind::String => Scalar::Text(Cow::Owned(json::string(raw)?)),
            Kind::List => return Err(format!("must be {expected}, not a list")),
            Kind::Object => return Err(format!("must be {expected}, not an object")),
        },
    };
    match &scalar {
        Scalar::Text(text) if text.trim().is_empty() => Ok(None),
        _ => Ok(Some(scalar)),
    }
}

/// A name or id, trimmed; `None` when empty. Ids may be JSON numbers (helpdesks number tickets).
pub(crate) fn text(value: Value<'_>, allow_number: bool) -> Result<Option<String>, String> {
    match scalar(value, "text")? {
        None => Ok(None),
        Some(Scalar::Text(text)) => Ok(Some(text.trim().to_string())),
        Some(Scalar::Number(number)) if allow_number => Ok(Some(number.to_string())),
        Some(Scalar::Number(number)) => Err(format!("must be text, not the number {}", shown(number))),
        Some(Scalar::Bool(b)) => Err(format!("must be text, not {b}")),
    }
}

/// A whole number; `expected` says which ("a whole number from 1 to 5"). The range itself is
/// checked by the domain, so the message for 9 matches the create endpoint's.
pub(crate) fn whole_number(value: Value<'_>, expected: &str) -> Result<Option<i64>, String> {
    let text = match scalar(value, expected)? {
        None => return Ok(None),
        Some(Scalar::Text(text)) => text,
        Some(Scalar::Number(number)) => Cow::Borrowed(number),
        Some(Scalar::Bool(b)) => return Err(format!("must be {expected}, not {b}")),
    };
    parse_whole_number(text.trim()).map(Some).map_err(|problem| match problem {
        NumberProblem::NotWhole => format!("must be {expected}, not {}", shown(text.trim())),
        NumberProblem::TooLarge => format!("must be {expected}; {} is far too large", shown(text.trim())),
    })
}

enum NumberProblem {
    NotWhole,
    TooLarge,
}

/// `42`, `-3`, `+7`, and `4.0` (spreadsheets write whole numbers that way). Not `3.5`, `1e2`.
fn parse_whole_number(text: &str) -> Result<i64, NumberProblem> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (digits, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b == b'0') {
        return Err(NumberProblem::NotWhole);
    }
    let mut value: i64 = 0;
    for b in digits.bytes() {
        let digit = i64::from(b - b'0');
        value = value.checked_mul(10).and_then(|v| v.checked_add(digit)).ok_or(NumberProblem::TooLarge)?;
    }
    Ok(if negative { -value } else { value })
}

/// true/false, yes/no, y/n, 1/0, in any case.
pub(crate) fn yes_no(value: Value<'_>) -> Result<Option<bool>, String> {
    const EXPECTED: &str = "yes or no (true/false, y/n, 1/0)";
    let text = match scalar(value, EXPECTED)? {
        None => return Ok(None),
        Some(Scalar::Bool(b)) => return Ok(Some(b)),
        Some(Scalar::Text(text)) => text,
        Some(Scalar::Number(number)) => Cow::Borrowed(number),
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Ok(Some(true)),
        "false" | "no" | "n" | "0" => Ok(Some(false)),
        _ => Err(format!("must be {EXPECTED}, not {}", shown(text.trim()))),
    }
}

/// A time in one of the accepted formats (see [`crate::time`]).
pub(crate) fn time(value: Value<'_>) -> Result<Option<Millis>, String> {
    match scalar(value, "a date and time")? {
        None => Ok(None),
        Some(Scalar::Text(text)) => time::parse(&text).map(Some),
        Some(Scalar::Number(number)) if number.bytes().all(|b| b.is_ascii_digit() || b == b'-') => {
            time::parse(number).map(Some)
        }
        Some(Scalar::Number(number)) => Err(format!("{}, not {number}", time::expected_formats())),
        Some(Scalar::Bool(b)) => Err(format!("{}, not {b}", time::expected_formats())),
    }
}

pub(crate) fn channel(value: Value<'_>) -> Result<Option<Channel>, String> {
    const EXPECTED: &str = "one of email, chat, phone, social or other";
    let Some(name) = text(value, false).map_err(|_| format!("must be {EXPECTED}"))? else { return Ok(None) };
    name.parse().map(Some).map_err(|_| format!("must be {EXPECTED}, not {}", shown(&name)))
}

/// Tags: a JSON list of text, or text split on `;` or `|`. Blank and repeated tags are
/// dropped. At most one more than the domain allows is kept, so its check still fires
/// without a hostile cell turning into millions of strings.
pub(crate) fn tags(value: Value<'_>, errors: &mut Vec<FieldError>) -> Vec<String> {
    const FIELD: &str = "tags";
    let keep = MAX_TAGS + 1;
    let mut tags = Vec::new();
    let mut seen = HashSet::new();
    let mut add = |tag: &str, tags: &mut Vec<String>| {
        let tag = tag.trim();
        if !tag.is_empty() && tags.len() < keep && seen.insert(tag.to_string()) {
            tags.push(tag.to_string());
        }
    };
    let list_text = match value {
        Value::Text(text) if text.trim_start().starts_with('[') => text,
        Value::Json(raw) if matches!(json::kind(raw), Kind::List) => raw.get(),
        _ => {
            match scalar(value, "a list of tags") {
                Ok(None) => {}
                Ok(Some(Scalar::Text(text))) => text.split([';', '|']).for_each(|tag| add(tag, &mut tags)),
                Ok(Some(_)) => errors.push(FieldError::new(FIELD, "must be a list of tags")),
                Err(reason) => errors.push(FieldError::new(FIELD, reason)),
            }
            return tags;
        }
    };
    let list = match json::parse_list(list_text, keep) {
        Ok(list) => list,
        Err(reason) => {
            errors.push(FieldError::new(FIELD, format!("is not a valid JSON list: {reason}")));
            return tags;
        }
    };
    for (i, raw) in list.items.into_iter().enumerate() {
        match json::kind(raw) {
            Kind::String => match json::string(raw) {
                Ok(tag) => add(&tag, &mut tags),
                Err(reason) => errors.push(FieldError::new(format!("tags[{i}]"), reason)),
            },
            _ => errors.push(FieldError::new(format!("tags[{i}]"), "must be text")),
        }
    }
    tags
}

/// A transcript: a JSON list of `{author, text, at?}`, or plain text with one message per
/// line (`customer: Hello`); a line without an author continues the message before it.
/// Messages beyond one more than the domain allows are not kept.
pub(crate) fn transcript(value: Value<'_>, errors: &mut Vec<FieldError>) -> Vec<Message> {
    const FIELD: &str = "transcript";
    let text = match value {
        Value::Text(text) => Cow::Borrowed(text),
        Value::Json(raw) => match json::kind(raw) {
            Kind::Null => return Vec::new(),
            Kind::List => return messages_from_json(raw.get(), errors),
            Kind::String => match json::string(raw) {
                Ok(text) => Cow::Owned(text),
                Err(reason) => {
                    errors.push(FieldError::new(FIELD, reason));
                    return Vec::new();
                }
            },
            _ => {
                errors.push(FieldError::new(
                    FIELD,
                    "must be a list of messages like [{\"author\": \"customer\", \"text\": \"Hello\"}]",
                ));
                return Vec::new();
            }
        },
    };
    if text.trim_start().starts_with('[') {
        messages_from_json(&text, errors)
    } else {
        messages_from_lines(&text, errors)
    }
}

fn messages_from_json(list_text: &str, errors: &mut Vec<FieldError>) -> Vec<Message> {
    let list = match json::parse_list(list_text, MAX_MESSAGES + 1) {
        Ok(list) => list,
        Err(reason) => {
            errors.push(FieldError::new("transcript", format!("is not a valid JSON list: {reason}")));
            return Vec::new();
        }
    };
    let mut messages = Vec::with_capacity(list.items.len());
    for (i, raw) in list.items.into_iter().enumerate() {
        if let Some(message) = message_from_json(i, raw, errors) {
            messages.push(message);
        }
    }
    messages
}

fn message_from_json(i: usize, raw: &RawValue, errors: &mut Vec<FieldError>) -> Option<Message> {
    let field = |name: &str| format!("transcript[{i}].{name}");
    let object = match json::kind(raw) {
        Kind::Object => json::parse_object(raw.get()),
        _ => Err(String::new()),
    };
    let Ok(object) = object else {
        errors.push(FieldError::new(
            format!("transcript[{i}]"),
            "must be a message like {\"author\": \"customer\", \"text\": \"Hello\", \"at\": \"2026-03-01T10:15:00Z\"}",
        ));
        return None;
    };
    let (mut author, mut text, mut at) = (None, None, None);
    let before = errors.len();
    for (key, value) in &object.entries {
        let slot = match key.trim().to_ascii_lowercase().as_str() {
            "author" => &mut author,
            "text" => &mut text,
            "at" => &mut at,
            _ => {
                errors.push(FieldError::new(field(&short_name(key)), "unknown key; a message has author, text and at"));
                continue;
            }
        };
        if slot.replace(*value).is_some() {
            errors.push(FieldError::new(field(&short_name(key)), "appears twice in this message"));
        }
    }
    let author = match author.map(|raw| text_of(raw, &field("author"))) {
        None | Some(Ok(None)) => {
            errors.push(FieldError::new(field("author"), "is required (customer, agent or system)"));
            None
        }
        Some(Ok(Some(name))) => match name.parse::<AuthorRole>() {
            Ok(role) => Some(role),
            Err(_) => {
                errors.push(FieldError::new(
                    field("author"),
                    format!("must be customer, agent or system, not {}", shown(&name)),
                ));
                None
            }
        },
        Some(Err(error)) => {
            errors.push(error);
            None
        }
    };
    let text = match text.map(|raw| (json::kind(raw), raw)) {
        None | Some((Kind::Null, _)) => {
            errors.push(FieldError::new(field("text"), "is required"));
            None
        }
        Some((Kind::String, raw)) => match json::string(raw) {
            Ok(text) => Some(text),
            Err(reason) => {
                errors.push(FieldError::new(field("text"), reason));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new(field("text"), "must be text"));
            None
        }
    };
    let at = match at.map(|raw| time(Value::Json(raw))) {
        None => None,
        Some(Ok(at)) => at,
        Some(Err(reason)) => {
            errors.push(FieldError::new(field("at"), reason));
            None
        }
    };
    if errors.len() > before {
        return None;
    }
    Some(Message { author: author?, text: text?, at })
}

fn text_of(raw: &RawValue, field: &str) -> Result<Option<String>, FieldError> {
    text(Value::Json(raw), false).map_err(|reason| FieldError::new(field, reason))
}

fn messages_from_lines(text: &str, errors: &mut Vec<FieldError>) -> Vec<Message> {
    let mut messages: Vec<Message> = Vec::new();
    let mut blank_lines_pending = 0;
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            blank_lines_pending += 1;
            continue;
        }
        if let Some((label, rest)) = line.split_once(':')
            && let Ok(author) = label.parse::<AuthorRole>()
        {
            if messages.len() > MAX_MESSAGES {
                break;
            }
            messages.push(Message { author, text: rest.trim().to_string(), at: None });
        } else if let Some(message) = messages.last_mut() {
            for _ in 0..blank_lines_pending {
                message.text.push('\n');
            }
            message.text.push('\n');
            message.text.push_str(line.trim_end());
        } else {
            errors.push(FieldError::new(
                "transcript",
                format!(
                    "line {} of the transcript must start with customer:, agent: or system:, not {}",
                    number + 1,
                    shown(line.trim())
                ),
            ));
            return Vec::new();
        }
        blank_lines_pending = 0;
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers() {
        let n = |s| whole_number(Value::Text(s), "a whole number");
        assert_eq!(n("4"), Ok(Some(4)));
        assert_eq!(n(" 4.00 "), Ok(Some(4)));
        assert_eq!(n("-3"), Ok(Some(-3)));
        assert_eq!(n(""), Ok(None));
        assert!(n("3.5").unwrap_err().contains("not \"3.5\""));
        assert!(n("abc").is_err());
        assert!(n("1e400").is_err());
        assert!(n("-").is_err());
        assert!(n("99999999999999999999").unwrap_err().contains("too large"));
    }

    #[test]
    fn plain_transcript() {
        let mut errors = Vec::new();
        let messages = transcript(
            Value::Text("Customer: Hello\r\nmy order?\n\nstill there\nAGENT:  Hi  \nsystem:closed"),
            &mut errors,
        );
        assert!(errors.is_empty());
        let texts: Vec<(&str, AuthorRole)> = messages.iter().map(|m| (m.text.as_str(), m.author)).collect();
        assert_eq!(
            texts,
            [
                ("Hello\nmy order?\n\nstill there", AuthorRole::Customer),
                ("Hi", AuthorRole::Agent),
                ("closed", AuthorRole::System)
            ]
        );
    }

    #[test]
    fn shown_cuts_long_values() {
        let long = "é".repeat(100);
        assert_eq!(shown(&long).chars().count(), 43);
        assert_eq!(shown("ok"), "\"ok\"");
    }
}
