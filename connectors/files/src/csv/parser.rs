//! A strict, streaming CSV tokenizer that knows where every field came from.
//!
//! It follows RFC 4180 (fields quoted with `"`, quotes doubled inside) with the
//! leniencies real exports need: any one-byte delimiter, `\n`, `\r\n` or `\r` line
//! ends, a stray quote inside an unquoted field kept as data. It is strict where
//! leniency would lose data silently: a quoted field left open at the end of the input
//! and text after a closing quote are errors naming the line and byte offset.
//!
//! Each field records whether it was quoted, so that `""` (an empty string) and an
//! empty unquoted field (NULL) stay different.

use std::io::Read;

/// Size of the read buffer.
const BLOCK: usize = 1 << 20;

/// Where a field is in the record's buffer and in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Start in [`Record::data`].
    pub start: usize,
    /// End (exclusive) in [`Record::data`].
    pub end: usize,
    /// Whether the field was enclosed in quotes.
    pub quoted: bool,
    /// 1-based line where the field starts.
    pub line: u64,
    /// Byte offset in the input where the field starts.
    pub byte: u64,
}

/// One record: the unescaped bytes of its fields, back to back.
#[derive(Debug, Default, Clone)]
pub struct Record {
    /// Field contents, unescaped, concatenated.
    pub data: Vec<u8>,
    /// The fields, in order.
    pub fields: Vec<Field>,
}

impl Record {
    /// Bytes of field `i`.
    pub fn get(&self, i: usize) -> &[u8] {
        let f = &self.fields[i];
        &self.data[f.start..f.end]
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the record has no field.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Line where the record starts.
    pub fn line(&self) -> u64 {
        self.fields.first().map_or(0, |f| f.line)
    }

    /// Byte offset where the record starts.
    pub fn byte(&self) -> u64 {
        self.fields.first().map_or(0, |f| f.byte)
    }

    fn clear(&mut self) {
        self.data.clear();
        self.fields.clear();
    }
}

/// What can go wrong while tokenizing.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Reading the input failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A quoted field is still open at the end of the input.
    #[error("quoted field starting here is never closed (end of input reached)")]
    UnterminatedQuote {
        /// Line where the field starts.
        line: u64,
        /// Byte offset where the field starts.
        byte: u64,
    },
    /// Something other than a delimiter or line end follows a closing quote.
    #[error("unexpected {found:?} after a closing quote (expected the delimiter or a line end)")]
    AfterQuote {
        /// Line of the offending byte.
        line: u64,
        /// Byte offset of the offending byte.
        byte: u64,
        /// The offending byte, as a character when printable.
        found: char,
    },
}

/// Streaming tokenizer over any reader.
pub struct CsvParser<R> {
    reader: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
    /// Absolute offset of `buf[0]`.
    base: u64,
    line: u64,
    skip_lf: bool,
    delimiter: u8,
    quote: u8,
}

impl<R: Read> CsvParser<R> {
    /// A tokenizer with the given delimiter and `"` as quote.
    pub fn new(reader: R, delimiter: u8) -> Self {
        CsvParser {
            reader,
            buf: vec![0; BLOCK],
            pos: 0,
            len: 0,
            eof: false,
            base: 0,
            line: 1,
            skip_lf: false,
            delimiter,
            quote: b'"',
        }
    }

    /// Skips `n` bytes at the start (a byte-order mark) without counting lines.
    pub fn skip_prefix(&mut self, n: usize) -> std::io::Result<()> {
        for _ in 0..n {
            if self.peek()?.is_some() {
                self.pos += 1;
            }
        }
        Ok(())
    }

    /// Offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn peek(&mut self) -> std::io::Result<Option<u8>> {
        if self.pos >= self.len {
            if self.eof {
                return Ok(None);
            }
            self.base += self.len as u64;
            self.pos = 0;
            self.len = loop {
                match self.reader.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            if self.len == 0 {
                self.eof = true;
                return Ok(None);
            }
        }
        Ok(Some(self.buf[self.pos]))
    }

    /// Reads the next non-blank record into `rec`. Returns `false` at the end of input.
    ///
    /// # Errors
    /// I/O failures and malformed quoting, with the line and byte offset.
    pub fn next_record(&mut self, rec: &mut Record) -> Result<bool, ParseError> {
        loop {
            rec.clear();
            if !self.read_record(rec)? {
                return Ok(false);
            }
            // A line with nothing on it is not a record.
            let blank = rec.fields.len() == 1 && !rec.fields[0].quoted && rec.data.is_empty();
            if !blank {
                return Ok(true);
            }
        }
    }

    fn read_record(&mut self, rec: &mut Record) -> Result<bool, ParseError> {
        if self.skip_lf {
            self.skip_lf = false;
            if self.peek()? == Some(b'\n') {
                self.pos += 1;
            }
        }
        if self.peek()?.is_none() {
            return Ok(false);
        }
        loop {
            let line = self.line;
            let byte = self.offset();
            let start = rec.data.len();
            let first = self.peek()?;
            if first == Some(self.quote) {
                self.pos += 1;
                self.read_quoted(rec, line, byte)?;
                rec.fields.push(Field {
                    start,
                    end: rec.data.len(),
                    quoted: true,
                    line,
                    byte,
                });
                match self.peek()? {
                    None => return Ok(true),
                    Some(c) if c == self.delimiter => self.pos += 1,
                    Some(b'\n') => {
                        self.pos += 1;
                        self.line += 1;
                        return Ok(true);
                    }
                    Some(b'\r') => {
                        self.pos += 1;
                        self.line += 1;
                        self.skip_lf = true;
                        return Ok(true);
                    }
                    Some(c) => {
                        return Err(ParseError::AfterQuote {
                            line: self.line,
                            byte: self.offset(),
                            found: if c.is_ascii_graphic() || c == b' ' {
                                c as char
                            } else {
                                char::REPLACEMENT_CHARACTER
                            },
                        });
                    }
                }
            } else {
                // Unquoted: copy up to the next delimiter or line end.
                let end_of_record = loop {
                    if self.peek()?.is_none() {
                        break true;
                    }
                    let hay = &self.buf[self.pos..self.len];
                    match memchr::memchr3(self.delimiter, b'\n', b'\r', hay) {
                        Some(i) => {
                            let c = hay[i];
                            rec.data.extend_from_slice(&hay[..i]);
                            self.pos += i + 1;
                            if c == self.delimiter {
                                break false;
                            }
                            self.line += 1;
                            if c == b'\r' {
                                self.skip_lf = true;
                            }
                            break true;
                        }
                        None => {
                            rec.data.extend_from_slice(hay);
                            self.pos = self.len;
                        }
                    }
                };
                rec.fields.push(Field {
                    start,
                    end: rec.data.len(),
                    quoted: false,
                    line,
                    byte,
                });
                if end_of_record {
                    return Ok(true);
                }
                // A delimiter at the very end of the input ends with one more empty field.
                if self.peek()?.is_none() {
                    let byte = self.offset();
                    let at = rec.data.len();
                    rec.fields.push(Field {
                        start: at,
                        end: at,
                        quoted: false,
                        line: self.line,
                        byte,
                    });
                    return Ok(true);
                }
            }
        }
    }

    fn read_quoted(&mut self, rec: &mut Record, line: u64, byte: u64) -> Result<(), ParseError> {
        loop {
            if self.peek()?.is_none() {
                return Err(ParseError::UnterminatedQuote { line, byte });
            }
            let hay = &self.buf[self.pos..self.len];
            match memchr::memchr(self.quote, hay) {
                Some(i) => {
                    self.line += memchr::memchr_iter(b'\n', &hay[..i]).count() as u64;
                    rec.data.extend_from_slice(&hay[..i]);
                    self.pos += i + 1;
                    if self.peek()? == Some(self.quote) {
                        rec.data.push(self.quote);
                        self.pos += 1;
                    } else {
                        return Ok(());
                    }
                }
                None => {
                    self.line += memchr::memchr_iter(b'\n', hay).count() as u64;
                    rec.data.extend_from_slice(hay);
                    self.pos = self.len;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(input: &[u8], delim: u8) -> Result<Vec<Vec<(String, bool)>>, ParseError> {
        let mut p = CsvParser::new(input, delim);
        let mut rec = Record::default();
        let mut out = Vec::new();
        while p.next_record(&mut rec)? {
            out.push(
                (0..rec.len())
                    .map(|i| {
                        (
                            String::from_utf8_lossy(rec.get(i)).into_owned(),
                            rec.fields[i].quoted,
                        )
                    })
                    .collect(),
            );
        }
        Ok(out)
    }

    fn texts(rows: Vec<Vec<(String, bool)>>) -> Vec<Vec<String>> {
        rows.into_iter()
            .map(|r| r.into_iter().map(|(s, _)| s).collect())
            .collect()
    }

    #[test]
    fn quoting_escapes_and_line_ends() {
        let rows = parse(
            b"a,b,c\r\n\"x,1\",\"he said \"\"hi\"\"\",\r\n\n\"multi\nline\",,\"\"\r",
            b',',
        )
        .unwrap();
        assert_eq!(
            texts(rows.clone()),
            vec![
                vec!["a", "b", "c"],
                vec!["x,1", "he said \"hi\"", ""],
                vec!["multi\nline", "", ""],
            ]
        );
        // The empty quoted field is marked quoted; the empty unquoted one is not.
        assert_eq!(rows[2][1], ("".into(), false));
        assert_eq!(rows[2][2], ("".into(), true));
    }

    #[test]
    fn trailing_delimiter_at_eof_gives_an_empty_field() {
        assert_eq!(
            texts(parse(b"a;b;", b';').unwrap()),
            vec![vec!["a", "b", ""]]
        );
    }

    #[test]
    fn lines_and_offsets_are_tracked() {
        let mut p = CsvParser::new(&b"h1,h2\n\"a\nb\",c\nd,e\n"[..], b',');
        let mut rec = Record::default();
        p.next_record(&mut rec).unwrap();
        p.next_record(&mut rec).unwrap();
        assert_eq!((rec.line(), rec.fields[1].line), (2, 3));
        p.next_record(&mut rec).unwrap();
        assert_eq!((rec.line(), rec.byte()), (4, 14));
    }

    #[test]
    fn unterminated_quote_is_an_error_with_its_place() {
        match parse(b"a,b\n1,\"open\n2,3\n", b',') {
            Err(ParseError::UnterminatedQuote { line, byte }) => assert_eq!((line, byte), (2, 6)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(b"\"a\"x,b\n", b','),
            Err(ParseError::AfterQuote {
                line: 1,
                byte: 3,
                ..
            })
        ));
    }

    #[test]
    fn records_spanning_buffer_blocks() {
        let mut input = Vec::new();
        for i in 0..200_000 {
            input.extend_from_slice(format!("{i},\"q{i}\"\"x\",tail\n").as_bytes());
        }
        let rows = parse(&input, b',').unwrap();
        assert_eq!(rows.len(), 200_000);
        assert_eq!(rows[123_456][1].0, "q123456\"x");
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&input, b',');
        }

        #[test]
        fn written_fields_read_back(rows in proptest::collection::vec(
            proptest::collection::vec("[a-z,\"\n\r é]{0,6}", 3), 1..20)) {
            let mut text = String::new();
            for r in &rows {
                let quoted: Vec<String> = r.iter().map(|f| format!("\"{}\"", f.replace('"', "\"\""))).collect();
                text.push_str(&quoted.join(","));
                text.push('\n');
            }
            let back = texts(parse(text.as_bytes(), b',').unwrap());
            prop_assert_eq!(back, rows);
        }
    }
}
