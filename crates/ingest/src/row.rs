//! A row's values, whichever format they came from, turned into a record.

use crate::fields::Field;
use crate::value::{self, Value};
use plumbline_domain::conversation::{Channel, ConversationMetrics, ConversationRecord};
use plumbline_domain::scorecard::FieldError;

/// The values of one row, by field; `None` where the file has no such column or key.
#[derive(Default)]
pub(crate) struct RowValues<'a> {
    slots: [Option<Value<'a>>; Field::COUNT],
}

impl<'a> RowValues<'a> {
    /// Sets a field; returns false if it was already set (a repeated JSON key).
    pub(crate) fn set(&mut self, field: Field, value: Value<'a>) -> bool {
        self.slots[field.index()].replace(value).is_none()
    }

    fn get(&self, field: Field) -> Option<Value<'a>> {
        self.slots[field.index()]
    }
}

/// Builds the record and every problem with it. Where a field fails, the record holds a
/// placeholder (empty id, `other` channel, time 0) so the other fields are still checked;
/// a record with errors must not be used.
pub(crate) fn build(values: &RowValues<'_>) -> (ConversationRecord, Vec<FieldError>) {
    let mut row = Builder { values, errors: Vec::new() };
    let external_id = row.field(Field::ExternalId, |v| value::text(v, true)).unwrap_or_default();
    let channel = row.field(Field::Channel, value::channel).unwrap_or(Channel::Other);
    let started_at = row.field(Field::StartedAt, value::time).unwrap_or_default();
    let name = |v| value::text(v, false);
    let agent = row.field(Field::Agent, name);
    let team = row.field(Field::Team, name);
    let vendor = row.field(Field::Vendor, name);
    let subject = row.field(Field::Subject, name).unwrap_or_default();
    let transcript = row.list(Field::Transcript, value::transcript);
    let tags = row.list(Field::Tags, value::tags);
    let csat = row.field(Field::Csat, |v| value::whole_number(v, "a whole number from 1 to 5"));
    let nps = row.field(Field::Nps, |v| value::whole_number(v, "a whole number from 0 to 10"));
    let handle_time_seconds =
        row.field(Field::HandleTimeSeconds, |v| value::whole_number(v, "a whole number of seconds from 0 to 31536000"));
    let fcr = row.field(Field::Fcr, value::yes_no);
    let record = ConversationRecord {
        external_id,
        channel,
        agent,
        team,
        vendor,
        started_at,
        subject,
        transcript,
        tags,
        metrics: ConversationMetrics { csat, nps, fcr, handle_time_seconds },
    };
    (record, row.errors)
}

struct Builder<'r, 'a> {
    values: &'r RowValues<'a>,
    errors: Vec<FieldError>,
}

impl<'a> Builder<'_, 'a> {
    /// A single value; a required field that is absent or empty is an error.
    fn field<T>(&mut self, field: Field, parse: impl FnOnce(Value<'a>) -> Result<Option<T>, String>) -> Option<T> {
        let parsed = self.values.get(field).map(parse).transpose();
        match parsed {
            Ok(Some(Some(value))) => Some(value),
            Ok(_) => {
                if field.required() {
                    self.errors.push(FieldError::new(field.name(), "is required"));
                }
                None
            }
            Err(reason) => {
                self.errors.push(FieldError::new(field.name(), reason));
                None
            }
        }
    }

    /// A list whose parser reports its own errors (they name items: `tags[2]`).
    fn list<T>(&mut self, field: Field, parse: impl FnOnce(Value<'a>, &mut Vec<FieldError>) -> Vec<T>) -> Vec<T> {
        match self.values.get(field) {
            Some(value) => parse(value, &mut self.errors),
            None => Vec::new(),
        }
    }
}
