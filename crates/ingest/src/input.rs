//! A small read buffer that, unlike `BufReader`, can look a few bytes ahead (for the BOM)
//! and never trusts a reader's byte count beyond the space it offered.

use std::io::{self, Read};

const BUFFER_BYTES: usize = 64 * 1024;
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

pub(crate) struct Input<R> {
    reader: R,
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    at_eof: bool,
}

impl<R: Read> Input<R> {
    pub(crate) fn new(reader: R) -> Self {
        Self { reader, buffer: vec![0; BUFFER_BYTES].into_boxed_slice(), start: 0, end: 0, at_eof: false }
    }

    /// The buffered bytes, reading more first if none are left; empty only at the end.
    pub(crate) fn fill(&mut self) -> io::Result<&[u8]> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            self.read_more()?;
        }
        Ok(&self.buffer[self.start..self.end])
    }

    pub(crate) fn consume(&mut self, count: usize) {
        self.start = (self.start + count).min(self.end);
    }

    /// Drops a UTF-8 byte order mark at the current position (call at the very start).
    pub(crate) fn skip_bom(&mut self) -> io::Result<()> {
        while self.end - self.start < UTF8_BOM.len() && !self.at_eof {
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            self.read_more()?;
        }
        if self.buffer[self.start..self.end].starts_with(UTF8_BOM) {
            self.consume(UTF8_BOM.len());
        }
        Ok(())
    }

    /// The buffered bytes, read on until they hold the first line that is not blank (up to
    /// its `\n`), the buffer is full, or the input ends. Nothing is consumed.
    pub(crate) fn peek_first_line(&mut self) -> io::Result<&[u8]> {
        loop {
            let buffered = &self.buffer[self.start..self.end];
            let content = buffered.iter().position(|&b| b != b'\n' && b != b'\r');
            let has_line = content.is_some_and(|at| buffered[at..].contains(&b'\n'));
            if has_line || self.at_eof || (self.start == 0 && self.end == self.buffer.len()) {
                break;
            }
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            self.read_more()?;
        }
        Ok(&self.buffer[self.start..self.end])
    }

    /// Appends at least one byte after `end`, or notes the end of input.
    fn read_more(&mut self) -> io::Result<()> {
        if self.at_eof {
            return Ok(());
        }
        loop {
            let space = &mut self.buffer[self.end..];
            match self.reader.read(space) {
                Ok(0) => {
                    self.at_eof = true;
                    return Ok(());
                }
                Ok(count) => {
                    self.end += count.min(space.len());
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

pub(crate) fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}
