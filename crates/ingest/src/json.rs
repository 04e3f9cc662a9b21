//! Bounded JSON shapes: an object's keys with their values kept as raw text, and a list
//! that keeps at most a given number of items. Nothing here grows with hostile input beyond
//! the line it reads.

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// More keys than any real row has (13 columns and an alias); the rest are counted, not kept.
pub(crate) const MAX_KEYS: usize = 32;

/// A JSON object as `(key, raw value)` pairs in file order, duplicates kept.
pub(crate) struct JsonObject<'a> {
    pub(crate) entries: Vec<(String, &'a RawValue)>,
    /// Keys beyond [`MAX_KEYS`], skipped.
    pub(crate) skipped: usize,
}

impl<'de> Deserialize<'de> for JsonObject<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = JsonObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut object = JsonObject { entries: Vec::new(), skipped: 0 };
                while object.entries.len() < MAX_KEYS {
                    let Some(key) = map.next_key::<String>()? else { return Ok(object) };
                    let value = map.next_value::<&'de RawValue>()?;
                    object.entries.push((key, value));
                }
                while map.next_key::<IgnoredAny>()?.is_some() {
                    map.next_value::<IgnoredAny>()?;
                    object.skipped += 1;
                }
                Ok(object)
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// A JSON list keeping its first `limit` items as raw text.
pub(crate) struct JsonList<'a> {
    pub(crate) items: Vec<&'a RawValue>,
}

struct ListSeed {
    limit: usize,
}

impl<'de> DeserializeSeed<'de> for ListSeed {
    type Value = JsonList<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ListSeed {
    type Value = JsonList<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON list")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut list = JsonList { items: Vec::new() };
        while list.items.len() < self.limit {
            match seq.next_element::<&'de RawValue>()? {
                Some(item) => list.items.push(item),
                None => return Ok(list),
            }
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(list)
    }
}

/// Parses a whole text as one JSON object.
pub(crate) fn parse_object(text: &str) -> Result<JsonObject<'_>, String> {
    serde_json::from_str(text).map_err(|e| reason(&e))
}

/// Parses a whole text as one JSON list, keeping at most `limit` items.
pub(crate) fn parse_list(text: &str, limit: usize) -> Result<JsonList<'_>, String> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let list = ListSeed { limit }.deserialize(&mut deserializer).map_err(|e| reason(&e))?;
    deserializer.end().map_err(|e| reason(&e))?;
    Ok(list)
}

/// serde_json's message without its "at line 1 column 9" tail (the line is ours to give),
/// with the column kept because it helps find the mistake in a long line.
fn reason(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let message = message.rfind(" at line ").map_or(message.as_str(), |at| &message[..at]);
    if error.column() > 0 { format!("{message} (column {})", error.column()) } else { message.to_string() }
}

/// What a raw JSON value is, by its first character (the text is already valid JSON).
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Number,
    String,
    List,
    Object,
}

pub(crate) fn kind(raw: &RawValue) -> Kind {
    match raw.get().trim_start().as_bytes().first() {
        Some(b'n') => Kind::Null,
        Some(b't') => Kind::Bool(true),
        Some(b'f') => Kind::Bool(false),
        Some(b'"') => Kind::String,
        Some(b'[') => Kind::List,
        Some(b'{') => Kind::Object,
        _ => Kind::Number,
    }
}

/// The text of a JSON string value.
pub(crate) fn string(raw: &RawValue) -> Result<String, String> {
    serde_json::from_str::<String>(raw.get())
        .map_err(|_| "is not valid text (it holds a broken \\u escape)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keeps_raw_values_and_order() {
        let object = parse_object(r#"{"b": 1e400, "a": [1, 2], "b": "x"}"#).unwrap();
        let pairs: Vec<(&str, &str)> = object.entries.iter().map(|(k, v)| (k.as_str(), v.get())).collect();
        assert_eq!(pairs, [("b", "1e400"), ("a", "[1, 2]"), ("b", "\"x\"")]);
    }

    #[test]
    fn object_caps_keys() {
        let text = format!("{{{}}}", (0..100).map(|i| format!("\"k{i}\": {i}")).collect::<Vec<_>>().join(","));
        let object = parse_object(&text).unwrap();
        assert_eq!(object.entries.len(), MAX_KEYS);
        assert_eq!(object.skipped, 100 - MAX_KEYS);
    }

    #[test]
    fn list_caps_items_but_reads_to_the_end() {
        let list = parse_list("[1, 2, 3, 4]", 2).unwrap();
        assert_eq!(list.items.len(), 2);
        assert!(parse_list("[1, 2, 3, 4] x", 2).is_err());
    }

    #[test]
    fn errors_name_the_column() {
        let message = parse_object(r#"{"a": }"#).err().unwrap();
        assert!(message.contains("column 7"), "{message}");
        assert!(parse_object("[1]").is_err());
    }
}
