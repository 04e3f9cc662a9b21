//! The import parsers, end to end: fixtures, every error kind with its line and field,
//! line numbering across multi-line cells, bounded memory, and no panics on any input.

use plumbline_domain::conversation::{AuthorRole, Channel, ConversationRecord, Message};
use plumbline_ingest::{Format, MAX_ROW_BYTES, RowError, records};
use proptest::prelude::*;
use std::io::Read;

const HEADER: &str = "external_id,channel,started_at,agent,csat,nps,fcr,handle_time_seconds,tags,transcript";
const MARCH_1_1015: i64 = 1_772_360_100_000; // 2026-03-01T10:15:00Z

/// Everything an import yields, split into good rows and errors.
struct Outcome {
    rows: Vec<(u64, ConversationRecord)>,
    errors: Vec<RowError>,
}

impl Outcome {
    fn of(format: Format, input: impl AsRef<[u8]>) -> Self {
        let mut outcome = Outcome { rows: Vec::new(), errors: Vec::new() };
        for item in records(format, input.as_ref()) {
            match item {
                Ok(row) => outcome.rows.push(row),
                Err(error) => outcome.errors.push(error),
            }
        }
        outcome
    }

    fn csv(input: impl AsRef<[u8]>) -> Self {
        Self::of(Format::Csv, input)
    }

    fn jsonl(input: impl AsRef<[u8]>) -> Self {
        Self::of(Format::JsonLines, input)
    }

    /// A CSV of [`HEADER`] and the given rows.
    fn csv_rows(rows: &[&str]) -> Self {
        Self::csv(format!("{HEADER}\n{}\n", rows.join("\n")))
    }

    fn lines(&self) -> Vec<u64> {
        self.rows.iter().map(|(line, _)| *line).collect()
    }

    fn ids(&self) -> Vec<&str> {
        self.rows.iter().map(|(_, r)| r.external_id.as_str()).collect()
    }

    /// Errors as `(line, field)`.
    fn error_places(&self) -> Vec<(u64, &str)> {
        self.errors.iter().map(|e| (e.line, e.field.as_str())).collect()
    }

    /// The only error, which must be on `line` and `field`; returns its reason.
    fn single_error(&self, line: u64, field: &str) -> &str {
        assert_eq!(self.error_places(), [(line, field)], "errors: {:#?}", self.errors);
        &self.errors[0].reason
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn message(author: AuthorRole, text: &str, at: Option<i64>) -> Message {
    Message { author, text: text.to_string(), at }
}

// ---------------------------------------------------------------------------------------
// Good files

#[test]
fn csv_fixture_gives_every_field_with_the_line_each_row_starts_on() {
    let outcome = Outcome::csv(fixture("conversations.csv"));
    assert_eq!(outcome.errors, []);
    // T-1001 spans lines 2-4 (a quoted multi-line transcript); line 5 is blank.
    assert_eq!(outcome.lines(), [2, 6, 7, 8]);
    assert_eq!(outcome.ids(), ["T-1001", "T-1002", "T-1003", "T-1004"]);

    let first = &outcome.rows[0].1;
    assert_eq!(first.channel, Channel::Email);
    assert_eq!(first.agent.as_deref(), Some("Ana Lima"));
    assert_eq!(first.team.as_deref(), Some("Billing"));
    assert_eq!(first.vendor.as_deref(), Some("Acme BPO"));
    assert_eq!(first.started_at, MARCH_1_1015);
    assert_eq!(first.subject, "Refund request");
    assert_eq!(
        first.transcript,
        [
            message(AuthorRole::Customer, "I was charged twice\nfor order 88.", None),
            message(AuthorRole::Agent, "Sorry about that, refunding now.", None),
        ]
    );
    assert_eq!(first.tags, ["billing", "refund"]);
    assert_eq!(first.metrics.csat, Some(5));
    assert_eq!(first.metrics.nps, Some(9));
    assert_eq!(first.metrics.fcr, Some(true));
    assert_eq!(first.metrics.handle_time_seconds, Some(420));

    let second = &outcome.rows[1].1;
    assert_eq!(second.channel, Channel::Chat);
    assert_eq!((second.team.as_deref(), second.vendor.as_deref()), (None, None));
    assert_eq!(second.started_at, MARCH_1_1015 + 45 * 60_000);
    assert_eq!(
        second.transcript,
        [
            message(AuthorRole::Customer, "Locked out", Some(MARCH_1_1015 + 45 * 60_000 + 5_000)),
            message(AuthorRole::Agent, "Reset link sent", Some(1_772_362_810_000)),
        ]
    );
    assert_eq!(second.tags, ["account", "login"]);
    assert_eq!((second.metrics.nps, second.metrics.fcr), (None, Some(false)));

    let third = &outcome.rows[2].1;
    assert_eq!(third.started_at, MARCH_1_1015 - (10 * 60 + 15) * 60_000 + 86_400_000);
    assert_eq!(third.agent, None);
    assert_eq!(third.transcript, []);
    assert_eq!(third.tags, Vec::<String>::new());
    assert_eq!(third.metrics, Default::default());

    let fourth = &outcome.rows[3].1;
    assert_eq!(fourth.subject, "Complaint, public");
    assert_eq!(fourth.started_at, MARCH_1_1015 + 86_400_000 - (45 + 120) * 60_000);
    assert_eq!(fourth.transcript, [message(AuthorRole::Agent, "We are looking into it", None)]);
    assert_eq!((fourth.metrics.csat, fourth.metrics.nps, fourth.metrics.fcr), (Some(1), Some(0), Some(false)));
}

#[test]
fn jsonl_fixture_gives_every_field_and_skips_blank_lines() {
    let outcome = Outcome::jsonl(fixture("conversations.jsonl"));
    assert_eq!(outcome.errors, []);
    assert_eq!(outcome.lines(), [1, 3, 4]);
    assert_eq!(outcome.ids(), ["J-1", "1002", "J-3"]);

    let first = &outcome.rows[0].1;
    assert_eq!(first.started_at, MARCH_1_1015);
    assert_eq!(
        first.transcript,
        [
            message(AuthorRole::Customer, "I was charged twice", Some(MARCH_1_1015)),
            message(AuthorRole::Agent, "Refunding now", None),
        ]
    );
    assert_eq!(first.tags, ["billing", "refund"]);
    assert_eq!(first.metrics.fcr, Some(true));

    let second = &outcome.rows[1].1;
    assert_eq!(second.channel, Channel::Chat);
    assert_eq!(second.started_at, 1_772_362_800_000);
    assert_eq!(second.transcript.len(), 2);
    assert_eq!(second.tags, ["account", "login"]);
    assert_eq!(second.metrics.csat, Some(4));
    assert_eq!(second.metrics.fcr, Some(false));
    assert_eq!(second.metrics.handle_time_seconds, Some(95));

    let third = &outcome.rows[2].1;
    assert_eq!((third.agent.as_deref(), third.subject.as_str(), third.metrics.csat), (None, "", None));
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let csv = Outcome::csv(format!("\u{feff}{HEADER}\nA,chat,2026-03-01,,,,,,,\n"));
    assert_eq!((csv.errors.len(), csv.lines()), (0, vec![2]));
    let jsonl = Outcome::jsonl("\u{feff}{\"external_id\":\"A\",\"channel\":\"chat\",\"started_at\":\"2026-03-01\"}\n");
    assert_eq!((jsonl.errors.len(), jsonl.lines()), (0, vec![1]));
}

#[test]
fn semicolon_and_tab_separated_files_are_read_by_their_header() {
    let semicolons = Outcome::csv("\n\nexternal_id;channel;started_at;subject\nA;chat;2026-03-01;\"Hi, there\"\n");
    assert_eq!(semicolons.errors, []);
    assert_eq!((semicolons.lines(), semicolons.rows[0].1.subject.as_str()), (vec![4], "Hi, there"));

    let tabs = Outcome::csv("external_id\tchannel\tstarted_at\ttags\nA\tchat\t2026-03-01\tx;y\n");
    assert_eq!(tabs.errors, []);
    assert_eq!(tabs.rows[0].1.tags, ["x", "y"]);

    // A comma in the header means commas separate, even if cells hold semicolons.
    let commas = Outcome::csv("external_id,channel,started_at,tags\nA,chat,2026-03-01,x;y\n");
    assert_eq!(commas.rows[0].1.tags, ["x", "y"]);
}

#[test]
fn formats_are_named_by_extension_or_content_type() {
    assert_eq!(Format::from_name("export.CSV"), Some(Format::Csv));
    assert_eq!(Format::from_name("text/csv; charset=utf-8"), Some(Format::Csv));
    assert_eq!(Format::from_name("export.jsonl"), Some(Format::JsonLines));
    assert_eq!(Format::from_name("2026-03.ndjson"), Some(Format::JsonLines));
    assert_eq!(Format::from_name("application/x-ndjson"), Some(Format::JsonLines));
    assert_eq!(Format::from_name("application/jsonl"), Some(Format::JsonLines));
    assert_eq!(Format::from_name("export.json"), None);
    assert_eq!(Format::from_name("application/json"), None);
    assert_eq!(Format::from_name("csv"), None);
}

#[test]
fn errors_display_line_and_field() {
    let error = RowError { line: 12, field: "csat".into(), reason: "must be from 1 to 5".into() };
    assert_eq!(error.to_string(), "line 12, field csat: must be from 1 to 5");
    let whole_row = RowError { line: 3, field: String::new(), reason: "is not valid JSON".into() };
    assert_eq!(whole_row.to_string(), "line 3: is not valid JSON");
}

// ---------------------------------------------------------------------------------------
// Line numbers

#[test]
fn csv_lines_stay_right_across_multi_line_cells_blank_lines_and_crlf() {
    let input = "external_id,channel,started_at,subject\r\n\
                 A,chat,2026-03-01,\"one\r\ntwo\r\n\r\nthree\"\r\n\
                 \r\n\
                 \r\n\
                 B,chat,2026-03-01,plain\r\n\
                 \"C\",chat,2026-03-01,\"x\ny\"\n\
                 D,chat,2026-03-01,last without newline";
    let outcome = Outcome::csv(input);
    assert_eq!(outcome.errors, []);
    assert_eq!(outcome.ids(), ["A", "B", "C", "D"]);
    assert_eq!(outcome.lines(), [2, 8, 9, 11]);
    assert_eq!(outcome.rows[0].1.subject, "one\r\ntwo\r\n\r\nthree");
}

#[test]
fn csv_error_names_the_line_where_a_multi_line_row_starts() {
    let outcome = Outcome::csv_rows(&[
        "A,chat,2026-03-01,,,,,,,\"customer: hi\nagent: hello\nagent: anything else?\"",
        "B,chat,2026-03-01,,7,,,,,\"customer: one\ntwo\"",
    ]);
    assert_eq!(outcome.lines(), [2]);
    assert_eq!(outcome.single_error(5, "csat"), "must be from 1 to 5");
}

#[test]
fn rows_of_empty_cells_are_skipped() {
    let outcome = Outcome::csv_rows(&[",,,,,,,,,", "A,chat,2026-03-01,,,,,,,", " , ,,,,,,,,"]);
    assert_eq!((outcome.errors.len(), outcome.lines()), (0, vec![3]));
}

// ---------------------------------------------------------------------------------------
// Header problems (CSV)

#[test]
fn an_unknown_column_is_an_error_on_line_1_with_the_known_columns() {
    let outcome = Outcome::csv("external_id,channel,started_at,Score\nA,chat,2026-03-01,5\n");
    let reason = outcome.single_error(1, "Score");
    assert!(reason.starts_with("unknown column; the known columns are external_id, channel,"), "{reason}");
    assert!(reason.contains("handle_time_seconds"), "{reason}");
    assert!(outcome.rows.is_empty(), "rows are not read under a bad header");
}

#[test]
fn a_missing_required_column_is_an_error_on_line_1() {
    let outcome = Outcome::csv("external_id,started_at\nA,2026-03-01\n");
    assert_eq!(outcome.single_error(1, "channel"), "required column is missing from the header");
}

#[test]
fn header_names_forgive_case_and_spaces_but_not_repeats() {
    let ok = Outcome::csv("External ID,Channel,Started At,CSAT,Handle Time\nA,chat,2026-03-01,4,30\n");
    assert_eq!(ok.errors, []);
    assert_eq!(ok.rows[0].1.metrics.handle_time_seconds, Some(30));

    let repeated = Outcome::csv("external_id,channel,started_at,handle_time,handle_time_seconds\n");
    assert_eq!(repeated.single_error(1, "handle_time_seconds"), "appears twice in the header (columns 4 and 5)");
}

#[test]
fn an_empty_file_is_an_error_and_a_header_alone_is_no_rows() {
    let empty = Outcome::csv("");
    assert_eq!(empty.error_places(), [(1, "")]);
    assert!(empty.errors[0].reason.contains("empty"));
    let header_only = Outcome::csv(format!("{HEADER}\n"));
    assert_eq!((header_only.rows.len(), header_only.errors.len()), (0, 0));
    assert_eq!(Outcome::jsonl("").errors, []);
}

#[test]
fn a_nameless_column_is_ignored_unless_it_holds_a_value() {
    let outcome = Outcome::csv("external_id,channel,started_at,\nA,chat,2026-03-01,\nB,chat,2026-03-01,oops\n");
    assert_eq!(outcome.ids(), ["A"]);
    assert_eq!(outcome.error_places(), [(3, "")]);
    assert!(outcome.errors[0].reason.contains("column 4 has a value but no name"));
}

// ---------------------------------------------------------------------------------------
// Field errors, each with its line and field; the next row is still read

#[test]
fn csat_must_be_a_whole_number_from_1_to_5() {
    let outcome = Outcome::csv_rows(&[
        "A,chat,2026-03-01,,abc,,,,,",
        "B,chat,2026-03-01,,3.5,,,,,",
        "C,chat,2026-03-01,,6,,,,,",
        "D,chat,2026-03-01,,1e400,,,,,",
        "E,chat,2026-03-01,,99999999999999999999999,,,,,",
        "F,chat,2026-03-01,,4.0,,,,,",
    ]);
    assert_eq!(outcome.error_places(), [(2, "csat"), (3, "csat"), (4, "csat"), (5, "csat"), (6, "csat")]);
    let reasons: Vec<&str> = outcome.errors.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons[0], "must be a whole number from 1 to 5, not \"abc\"");
    assert_eq!(reasons[1], "must be a whole number from 1 to 5, not \"3.5\"");
    assert_eq!(reasons[2], "must be from 1 to 5");
    assert_eq!(reasons[3], "must be a whole number from 1 to 5, not \"1e400\"");
    assert!(reasons[4].contains("too large"), "{}", reasons[4]);
    assert_eq!(outcome.ids(), ["F"]);
    assert_eq!(outcome.rows[0].1.metrics.csat, Some(4));
}

#[test]
fn nps_handle_time_and_fcr_are_checked() {
    let outcome = Outcome::csv_rows(&[
        "A,chat,2026-03-01,,,11,,,,",
        "B,chat,2026-03-01,,,,,-5,,",
        "C,chat,2026-03-01,,,,maybe,,,",
        "D,chat,2026-03-01,,,,Y,,,",
    ]);
    assert_eq!(outcome.error_places(), [(2, "nps"), (3, "handle_time_seconds"), (4, "fcr")]);
    assert_eq!(outcome.errors[0].reason, "must be from 0 to 10");
    assert_eq!(outcome.errors[1].reason, "must be from 0 to 31536000 seconds");
    assert_eq!(outcome.errors[2].reason, "must be yes or no (true/false, y/n, 1/0), not \"maybe\"");
    assert_eq!(outcome.rows[0].1.metrics.fcr, Some(true));
}

#[test]
fn channel_must_be_known_and_is_case_insensitive() {
    let outcome = Outcome::csv_rows(&["A,fax,2026-03-01,,,,,,,", "B,PHONE,2026-03-01,,,,,,,", "C,,2026-03-01,,,,,,,"]);
    assert_eq!(outcome.error_places(), [(2, "channel"), (4, "channel")]);
    assert_eq!(outcome.errors[0].reason, "must be one of email, chat, phone, social or other, not \"fax\"");
    assert_eq!(outcome.errors[1].reason, "is required");
    assert_eq!(outcome.rows[0].1.channel, Channel::Phone);
}

#[test]
fn started_at_rejects_impossible_and_ambiguous_times() {
    let outcome = Outcome::csv_rows(&[
        "A,chat,2026-02-30,,,,,,,",
        "B,chat,01/03/2026,,,,,,,",
        "C,chat,1772360100,,,,,,,",
        "D,chat,,,,,,,,",
        "E,chat,2026-03-01T25:00:00Z,,,,,,,",
        "F,chat,1772360100000,,,,,,,",
    ]);
    assert_eq!(
        outcome.error_places(),
        [(2, "started_at"), (3, "started_at"), (4, "started_at"), (5, "started_at"), (6, "started_at")]
    );
    assert_eq!(outcome.errors[0].reason, "2026-02-30 is not a real date (February 2026 has 28 days)");
    assert!(outcome.errors[1].reason.starts_with("must be a date and time like 2026-03-01T10:15:00Z"));
    assert!(outcome.errors[2].reason.contains("looks like Unix seconds"));
    assert_eq!(outcome.errors[3].reason, "is required");
    assert_eq!(outcome.rows[0].1.started_at, MARCH_1_1015);
}

#[test]
fn a_missing_external_id_is_required() {
    let outcome = Outcome::csv_rows(&["  ,chat,2026-03-01,,,,,,,"]);
    assert_eq!(outcome.single_error(2, "external_id"), "is required");
}

#[test]
fn a_repeated_external_id_is_an_error_on_the_later_line() {
    let outcome = Outcome::csv_rows(&[
        "A,chat,2026-03-01,,,,,,,",
        "B,chat,2026-03-01,,,,,,,",
        "A,email,2026-03-02,,,,,,,",
        " B ,chat,2026-03-01,,9,,,,,",
        "a,chat,2026-03-01,,,,,,,",
    ]);
    assert_eq!(outcome.ids(), ["A", "B", "a"]);
    assert_eq!(outcome.error_places(), [(4, "external_id"), (5, "external_id"), (5, "csat")]);
    assert_eq!(outcome.errors[0].to_string(), "line 4, field external_id: \"A\" already appears on line 2");
    assert_eq!(outcome.errors[1].reason, "\"B\" already appears on line 3");

    let jsonl = Outcome::jsonl(
        "{\"external_id\":\"X\",\"channel\":\"chat\",\"started_at\":\"2026-03-01\"}\n\n\
         {\"external_id\":\"X\",\"channel\":\"chat\",\"started_at\":\"2026-03-01\"}\n",
    );
    assert_eq!(jsonl.single_error(3, "external_id"), "\"X\" already appears on line 1");
}

#[test]
fn every_bad_field_of_a_row_is_reported() {
    let outcome = Outcome::csv_rows(&["A,fax,someday,,0,-1,perhaps,x,,"]);
    let fields: Vec<&str> = outcome.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["channel", "started_at", "handle_time_seconds", "fcr", "csat", "nps"]);
    assert!(outcome.errors.iter().all(|e| e.line == 2));
}

#[test]
fn domain_limits_become_row_errors() {
    let long_name = "n".repeat(201);
    let many_tags: Vec<String> = (0..150).map(|i| format!("t{i}")).collect();
    let outcome = Outcome::csv_rows(&[
        &format!("A,chat,2026-03-01,{long_name},,,,,,"),
        &format!("B,chat,2026-03-01,,,,,,{},", many_tags.join(";")),
    ]);
    assert_eq!(outcome.error_places(), [(2, "agent"), (3, "tags")]);
    assert_eq!(outcome.errors[0].reason, "must be at most 200 characters");
    assert_eq!(outcome.errors[1].reason, "must have at most 100 tags");
}

#[test]
fn a_row_with_the_wrong_number_of_cells_is_an_error() {
    let outcome = Outcome::csv_rows(&["A,chat,2026-03-01", "B,chat,2026-03-01,,,,,,,"]);
    assert_eq!(outcome.error_places(), [(2, "")]);
    assert!(outcome.errors[0].reason.starts_with("has 3 cells but the header has 10 columns"));
    assert_eq!(outcome.ids(), ["B"]);
}

#[test]
fn transcript_problems_name_the_message() {
    let outcome = Outcome::csv_rows(&[
        "A,chat,2026-03-01,,,,,,,hello there",
        r#"B,chat,2026-03-01,,,,,,,"[{""author"":""customer"",""text"":""hi""},{""author"":""robot"",""text"":""beep""}]""#,
        r#"C,chat,2026-03-01,,,,,,,"[{""author"":""agent"",""text"":""hi"",""at"":""2026-02-30""}]""#,
        r#"D,chat,2026-03-01,,,,,,,"[{""author"":""agent""}, 5]""#,
        r#"E,chat,2026-03-01,,,,,,,"[{""author"":""agent"",""text"":""x""}"#,
    ]);
    assert_eq!(
        outcome.error_places(),
        [
            (2, "transcript"),
            (3, "transcript[1].author"),
            (4, "transcript[0].at"),
            (5, "transcript[0].text"),
            (5, "transcript[1]"),
            (6, "transcript"),
        ]
    );
    assert_eq!(
        outcome.errors[0].reason,
        "line 1 of the transcript must start with customer:, agent: or system:, not \"hello there\""
    );
    assert_eq!(outcome.errors[1].reason, "must be customer, agent or system, not \"robot\"");
    assert!(outcome.errors[5].reason.starts_with("is not a valid JSON list"));
}

#[test]
fn tags_split_on_semicolons_or_bars_and_json_lists_must_hold_text() {
    let outcome = Outcome::csv_rows(&[
        "A,chat,2026-03-01,,,,,, vip ; refund|vip ;; ,",
        r#"B,chat,2026-03-01,,,,,,"[""x"", 3]","#,
    ]);
    assert_eq!(outcome.rows[0].1.tags, ["vip", "refund"]);
    assert_eq!(outcome.single_error(3, "tags[1]"), "must be text");
}

#[test]
fn invalid_utf8_is_an_error_on_its_line() {
    let mut csv = format!("{HEADER}\nA,chat,2026-03-01,").into_bytes();
    csv.extend_from_slice(b"Ana \xff,,,,,,\nB,chat,2026-03-01,,,,,,,\n");
    let outcome = Outcome::csv(csv);
    assert_eq!(outcome.single_error(2, "agent"), "is not valid UTF-8 text (byte 5); save the file as UTF-8");
    assert_eq!(outcome.ids(), ["B"]);

    let mut jsonl =
        b"{\"external_id\":\"A\",\"channel\":\"chat\",\"started_at\":\"2026-03-01\",\"agent\":\"\xc3\"}\n".to_vec();
    jsonl.extend_from_slice(b"{\"external_id\":\"B\",\"channel\":\"chat\",\"started_at\":\"2026-03-01\"}\n");
    let outcome = Outcome::jsonl(jsonl);
    assert!(outcome.single_error(1, "").starts_with("is not valid UTF-8 text"));
    assert_eq!(outcome.ids(), ["B"]);
}

// ---------------------------------------------------------------------------------------
// JSON Lines specifics

const GOOD_JSON: &str = r#"{"external_id":"OK","channel":"chat","started_at":"2026-03-01"}"#;

#[test]
fn jsonl_lines_that_are_not_objects_or_not_json_are_errors() {
    let input = format!("[1, 2]\n\"text\"\n{{\"external_id\": \"A\",\n{{\"external_id\":\"B\"}} {{}}\n{GOOD_JSON}\n");
    let outcome = Outcome::jsonl(input);
    assert_eq!(outcome.error_places(), [(1, ""), (2, ""), (3, ""), (4, "")]);
    assert!(outcome.errors[0].reason.contains("JSON Lines needs one conversation object"));
    assert_eq!(outcome.errors[1].reason, "must be a JSON object ({...}) holding one conversation");
    assert!(
        outcome.errors[2].reason.starts_with("is not valid JSON: EOF while parsing"),
        "{}",
        outcome.errors[2].reason
    );
    assert!(outcome.errors[3].reason.contains("trailing characters"), "{}", outcome.errors[3].reason);
    assert_eq!(outcome.lines(), [5]);
}

#[test]
fn jsonl_unknown_and_repeated_keys_are_errors() {
    let outcome = Outcome::jsonl(concat!(
        r#"{"external_id":"A","channel":"chat","started_at":"2026-03-01","score":5}"#,
        "\n",
        r#"{"external_id":"B","channel":"chat","started_at":"2026-03-01","csat":4,"CSAT":5}"#,
        "\n",
        r#"{"external_id":"C","channel":"chat","started_at":"2026-03-01","handle_time":5,"handle_time_seconds":5}"#,
    ));
    assert_eq!(outcome.error_places(), [(1, "score"), (2, "csat"), (3, "handle_time_seconds")]);
    assert!(outcome.errors[0].reason.starts_with("unknown key; the known keys are external_id"));
    assert_eq!(outcome.errors[1].reason, "is given more than once");
}

#[test]
fn jsonl_values_of_the_wrong_type_name_their_field() {
    let outcome = Outcome::jsonl(concat!(
        r#"{"external_id":"A","channel":"chat","started_at":"2026-03-01","csat":1e400}"#,
        "\n",
        r#"{"external_id":"B","channel":"chat","started_at":"2026-03-01","csat":3.5,"nps":true}"#,
        "\n",
        r#"{"external_id":"C","channel":["chat"],"started_at":{"at":1},"agent":5,"fcr":"maybe"}"#,
        "\n",
        r#"{"external_id":true,"channel":"chat","started_at":"2026-03-01","tags":5,"transcript":{}}"#,
    ));
    assert_eq!(
        outcome.error_places(),
        [
            (1, "csat"),
            (2, "csat"),
            (2, "nps"),
            (3, "channel"),
            (3, "started_at"),
            (3, "agent"),
            (3, "fcr"),
            (4, "external_id"),
            (4, "transcript"),
            (4, "tags"),
        ]
    );
    assert_eq!(outcome.errors[0].reason, "must be a whole number from 1 to 5, not \"1e400\"");
    assert_eq!(outcome.errors[1].reason, "must be a whole number from 1 to 5, not \"3.5\"");
    assert_eq!(outcome.errors[2].reason, "must be a whole number from 0 to 10, not true");
    assert_eq!(outcome.errors[5].reason, "must be text, not the number \"5\"");
}

#[test]
fn an_over_long_line_is_an_error_and_reading_goes_on() {
    let mut input = format!("{{\"external_id\":\"A\",\"subject\":\"{}\"}}\n", "x".repeat(MAX_ROW_BYTES));
    input.push_str(GOOD_JSON);
    let outcome = Outcome::jsonl(input);
    assert_eq!(outcome.single_error(1, ""), "the line is longer than 8 MiB");
    assert_eq!(outcome.lines(), [2]);
}

#[test]
fn an_unclosed_csv_quote_is_bounded_and_reported_where_the_row_starts() {
    let mut input = format!("{HEADER}\nA,chat,2026-03-01,,,,,,,\nB,chat,2026-03-01,\"Ana,,,,,,,\n");
    let filler = "C,chat,2026-03-01,,,,,,,\n";
    while input.len() < MAX_ROW_BYTES + 1024 {
        input.push_str(filler);
    }
    let outcome = Outcome::csv(input);
    assert_eq!(outcome.ids(), ["A"]);
    assert_eq!(outcome.single_error(3, ""), "the row is longer than 8 MiB; is a quote (\") left unclosed?");
}

#[test]
fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let line = format!(
        "{{\"external_id\":\"A\",\"channel\":\"chat\",\"started_at\":\"2026-03-01\",\"transcript\":{deep},\"tags\":{deep}}}"
    );
    let outcome = Outcome::jsonl(&line);
    assert_eq!(outcome.error_places(), [(1, "transcript[0]"), (1, "tags[0]")]);

    let csv = Outcome::csv(format!("external_id,channel,started_at,transcript\nA,chat,2026-03-01,{deep}\n"));
    assert_eq!(csv.error_places(), [(2, "transcript[0]")]);
}

// ---------------------------------------------------------------------------------------
// Streaming

#[test]
fn records_can_move_to_a_worker_thread() {
    fn assert_send<T: Send>(_: &T) {}
    let rows = records(Format::Csv, std::io::empty());
    assert_send(&rows);
    let handle = std::thread::spawn(move || rows.count());
    assert_eq!(handle.join().ok(), Some(1), "an empty CSV is one error");
}

/// Generates a CSV of `total` rows as it is read, so the whole input never exists at once.
struct GeneratedCsv {
    next_row: u64,
    total: u64,
    chunk: Vec<u8>,
    at: usize,
}

impl GeneratedCsv {
    fn new(total: u64) -> Self {
        let header = "external_id,channel,agent,team,started_at,subject,transcript,tags,csat,nps,fcr,handle_time\n";
        Self { next_row: 0, total, chunk: header.as_bytes().to_vec(), at: 0 }
    }
}

impl Read for GeneratedCsv {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.chunk.len() {
            if self.next_row == self.total {
                return Ok(0);
            }
            let i = self.next_row;
            self.next_row += 1;
            self.chunk = format!(
                "T-{i},chat,Agent {},Team {},{},Order {i},\"customer: where is order {i}?\nagent: on its way\",a;b,{},{},{},{}\n",
                i % 50,
                i % 7,
                MARCH_1_1015 + i as i64 * 1000,
                i % 5 + 1,
                i % 11,
                i.is_multiple_of(2),
                i % 3600
            )
            .into_bytes();
            self.at = 0;
        }
        let count = out.len().min(self.chunk.len() - self.at);
        out[..count].copy_from_slice(&self.chunk[self.at..self.at + count]);
        self.at += count;
        Ok(count)
    }
}

#[test]
fn two_hundred_thousand_generated_rows_stream_through() {
    let total = 200_000;
    let mut rows = 0u64;
    let mut last_line = 0;
    for item in records(Format::Csv, GeneratedCsv::new(total)) {
        let (line, record) = item.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(record.transcript.len(), 2);
        rows += 1;
        last_line = line;
    }
    assert_eq!(rows, total);
    assert_eq!(last_line, 2 * total, "each row spans two lines, after the header");
}

// ---------------------------------------------------------------------------------------
// No panics, whatever the input

/// Hands over at most `step` bytes per read, to exercise every buffer boundary.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let count = self.step.min(out.len()).min(self.data.len());
        out[..count].copy_from_slice(&self.data[..count]);
        self.data = &self.data[count..];
        Ok(count)
    }
}

fn everything(format: Format, reader: impl Read) -> Vec<Result<(u64, ConversationRecord), RowError>> {
    records(format, reader).collect()
}

fn csv_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[A-Za-z0-9 ]{0,8}",
        "[0-9]{1,25}(\\.[0-9]{1,3})?",
        Just("2026-03-01T10:15:00Z".to_string()),
        "20[0-9]{2}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}(:[0-9]{2})?)?([+-][0-9]{2}:[0-9]{2}|Z)?",
        prop_oneof![Just("chat"), Just("EMAIL"), Just("phone")].prop_map(str::to_string),
        "(customer|agent|system|bot): [a-z \n]{0,12}",
        "\\[[\\[\\]{}\",:a-z0-9 ]{0,30}\\]?",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        everything(Format::Csv, bytes.as_slice());
        everything(Format::JsonLines, bytes.as_slice());
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        everything(Format::Csv, text.as_bytes());
        everything(Format::JsonLines, text.as_bytes());
        let with_header = format!("{HEADER}\n{text}");
        everything(Format::Csv, with_header.as_bytes());
        let in_json = format!("{{\"external_id\":{text:?},\"channel\":{text:?},\"started_at\":{text:?},\"transcript\":{text:?},\"tags\":{text:?}}}\n{text}");
        everything(Format::JsonLines, in_json.as_bytes());
    }

    #[test]
    fn arbitrary_json_values_never_panic(value in "[\\[\\]{}\",:0-9a-z.eE+\\- \\\\]{0,40}") {
        for key in ["external_id", "channel", "started_at", "transcript", "tags", "csat", "fcr", "agent"] {
            let line = format!("{{\"{key}\":{value}}}\n{{\"transcript\":[{{\"author\":\"agent\",\"text\":\"x\",\"at\":{value}}}]}}");
            everything(Format::JsonLines, line.as_bytes());
        }
    }

    #[test]
    fn generated_csv_rows_never_panic_and_chunking_does_not_matter(
        rows in proptest::collection::vec(proptest::collection::vec(csv_cell(), 10), 0..6),
        step in 1usize..8,
    ) {
        let mut writer = String::from(HEADER);
        for row in &rows {
            writer.push('\n');
            let cells: Vec<String> = row.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
            writer.push_str(&cells.join(","));
        }
        let whole = everything(Format::Csv, writer.as_bytes());
        let trickled = everything(Format::Csv, Trickle { data: writer.as_bytes(), step });
        prop_assert_eq!(whole, trickled);
    }

    #[test]
    fn jsonl_chunking_does_not_matter(
        lines in proptest::collection::vec(
            prop_oneof![
                Just(GOOD_JSON.to_string()),
                Just(String::new()),
                Just("\u{feff}".to_string()),
                "[ {}\\[\\]\",:a-z0-9\r]{0,30}",
            ],
            0..8,
        ),
        step in 1usize..8,
    ) {
        let input = lines.join("\n");
        let whole = everything(Format::JsonLines, input.as_bytes());
        let trickled = everything(Format::JsonLines, Trickle { data: input.as_bytes(), step });
        prop_assert_eq!(whole, trickled);
    }
}
