//! Bridges a byte stream (an upload, a file) to the store's streaming import: the parser runs
//! on a blocking thread and hands rows over a bounded channel, so memory stays bounded however
//! large the file is.

use plumbline_ingest::Format;
use plumbline_store::{ImportItem, RowProblem};
use std::io::Read;
use tokio::sync::mpsc::Receiver;

/// How many parsed rows may wait for the database.
const IN_FLIGHT_ROWS: usize = 1024;

pub fn spawn_parser<R: Read + Send + 'static>(format: Format, reader: R) -> Receiver<ImportItem> {
    let (tx, rx) = tokio::sync::mpsc::channel(IN_FLIGHT_ROWS);
    tokio::task::spawn_blocking(move || {
        for item in plumbline_ingest::records(format, reader) {
            let item = item.map_err(|e| RowProblem { line: e.line, field: e.field, reason: e.reason });
            if tx.blocking_send(item).is_err() {
                break;
            }
        }
    });
    rx
}
