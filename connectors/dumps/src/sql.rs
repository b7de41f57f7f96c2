//! Lexing SQL dump text: splitting a dump into statements in one sequential pass,
//! tokenizing the short statements (DDL, `COPY`, `SET`), and parsing the value
//! tuples of `INSERT` statements in the PostgreSQL and MySQL dialects.
//!
//! The [`Splitter`] reads a dump line by line with a bounded buffer: memory is the
//! longest statement (a mysqldump extended `INSERT` is at most its
//! `net_buffer_length`, 1 MiB by default) or the longest line, never the dump.

use std::io::BufRead;

/// The SQL dialect of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// pg_dump plain format.
    Postgres,
    /// mysqldump / mariadb-dump.
    MySql,
}

/// One statement of a dump, without its terminating `;`.
#[derive(Debug, Default)]
pub struct Statement {
    /// The statement's bytes, including leading comments and whitespace.
    pub text: Vec<u8>,
    /// Byte offset of the first byte of `text` in the dump.
    pub start: u64,
    /// Byte offset just after the `;`.
    pub end: u64,
    /// 1-based line of the first byte of `text`.
    pub line: u64,
    /// 1-based line of the first non-blank, non-comment byte.
    pub first_line: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Lex {
    Normal,
    Single { backslash: bool },
    Double { backslash: bool },
    Backtick,
    LineComment,
    Block(u32),
    Dollar(Vec<u8>),
}

/// Splits a dump into statements and raw lines (for `COPY` data).
#[derive(Debug)]
pub struct Splitter<R> {
    reader: R,
    dialect: Dialect,
    /// Whether PostgreSQL strings without `E` take backslash escapes
    /// (`standard_conforming_strings = off`).
    pub pg_backslash_strings: bool,
    line: Vec<u8>,
    cursor: usize,
    /// Offset of `line[0]`.
    line_start: u64,
    /// 1-based number of the current line.
    line_no: u64,
    max_statement: usize,
}

/// How a lexing step ended.
pub enum Next {
    /// A complete statement.
    Statement(Statement),
    /// A psql meta-command line (`\restrict KEY`, `\connect db`), without its newline.
    Meta {
        /// The line.
        text: Vec<u8>,
        /// 1-based line number.
        line: u64,
    },
    /// The end of the input. `Some` holds an unterminated statement.
    End(Option<Statement>),
}

impl<R: BufRead> Splitter<R> {
    /// A splitter over `reader`, whose first byte is at `offset` on line `line`.
    pub fn new(reader: R, dialect: Dialect, offset: u64, line: u64) -> Self {
        Splitter {
            reader,
            dialect,
            pg_backslash_strings: false,
            line: Vec::new(),
            cursor: 0,
            line_start: offset,
            line_no: line.saturating_sub(1),
            max_statement: 256 << 20,
        }
    }

    /// Offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.line_start + self.cursor as u64
    }

    /// Number of the line holding the next unread byte (1-based).
    pub fn line_no(&self) -> u64 {
        if self.cursor < self.line.len() || self.line.is_empty() {
            self.line_no.max(1)
        } else {
            self.line_no + 1
        }
    }

    fn fill(&mut self) -> std::io::Result<bool> {
        if self.cursor < self.line.len() {
            return Ok(true);
        }
        self.line_start += self.line.len() as u64;
        self.line.clear();
        self.cursor = 0;
        let n = self.reader.read_until(b'\n', &mut self.line)?;
        if n > 0 {
            self.line_no += 1;
        }
        Ok(n > 0)
    }

    /// Reads the rest of the current line if unread bytes remain on it, else the
    /// next line. Returns the line (with its newline), its offset and number.
    pub fn next_line(&mut self) -> std::io::Result<Option<(&[u8], u64, u64)>> {
        if !self.fill()? {
            return Ok(None);
        }
        let start = self.line_start + self.cursor as u64;
        let c = self.cursor;
        self.cursor = self.line.len();
        Ok(Some((&self.line[c..], start, self.line_no)))
    }

    /// Skips what is left of the current line (after a `COPY … FROM stdin;`).
    pub fn finish_line(&mut self) {
        self.cursor = self.line.len();
    }

    /// Passes over the data lines of a `COPY … FROM stdin` block up to and including
    /// its `\.` line, handing each data line (without its line ending) with its
    /// offset and line number to `row`. Lines lying whole in the reader's buffer are
    /// not copied. Returns the offset and line number of the `\.` line, or `None`
    /// when the input ends first (the block is unterminated).
    ///
    /// Call after [`Splitter::finish_line`] on the `COPY` statement's line; the
    /// splitter then continues after the `\.` line, as if [`Splitter::next_line`]
    /// had read every line.
    ///
    /// # Errors
    /// Reading fails.
    pub fn copy_rows(
        &mut self,
        mut row: impl FnMut(&[u8], u64, u64),
    ) -> std::io::Result<Option<(u64, u64)>> {
        /// The line without `\n` or `\r\n`, and whether it is the end marker.
        fn content(line: &[u8]) -> (&[u8], bool) {
            let c = line.strip_suffix(b"\n").unwrap_or(line);
            let c = c.strip_suffix(b"\r").unwrap_or(c);
            (c, c == b"\\.")
        }
        if self.cursor < self.line.len() {
            // Unread bytes on the current line: take the general path for it.
            let (line, at, no) = match self.next_line()? {
                Some((l, at, no)) => (l.to_vec(), at, no),
                None => return Ok(None),
            };
            match content(&line) {
                (_, true) => return Ok(Some((at, no))),
                (c, false) => row(c, at, no),
            }
        }
        // Everything up to `self.line.len()` has been read.
        let mut pos = self.line_start + self.line.len() as u64;
        let mut no = self.line_no;
        self.line.clear();
        self.cursor = 0;
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                self.line_start = pos;
                self.line_no = no;
                return Ok(None);
            }
            let mut used = 0;
            let mut end = None;
            for nl in memchr::memchr_iter(b'\n', buf) {
                let line = &buf[used..=nl];
                no += 1;
                match content(line) {
                    (_, true) => {
                        end = Some(line.len());
                        break;
                    }
                    (c, false) => row(c, pos, no),
                }
                pos += line.len() as u64;
                used = nl + 1;
            }
            if let Some(len) = end {
                // Leave the `\.` line as the current, fully read line.
                self.line.extend_from_slice(&buf[used..used + len]);
                self.reader.consume(used + len);
                self.line_start = pos;
                self.cursor = self.line.len();
                self.line_no = no;
                return Ok(Some((pos, no)));
            }
            let partial = used < buf.len();
            self.reader.consume(used);
            if partial {
                // A line crossing the end of the buffer: read it whole.
                self.line.clear();
                let n = self.reader.read_until(b'\n', &mut self.line)?;
                no += 1;
                match content(&self.line) {
                    (_, true) => {
                        self.line_start = pos;
                        self.cursor = self.line.len();
                        self.line_no = no;
                        return Ok(Some((pos, no)));
                    }
                    (c, false) => row(c, pos, no),
                }
                pos += n as u64;
                self.line.clear();
            }
        }
    }

    /// Lexes the next statement.
    ///
    /// # Errors
    /// Reading fails, or a statement grows past 256 MiB (a dump without `;`).
    pub fn next_statement(&mut self) -> std::io::Result<Next> {
        let mut st = Statement::default();
        let mut state = Lex::Normal;
        let mut started = false;
        let mut blank = true;
        loop {
            if !self.fill()? {
                return Ok(Next::End((started && !blank).then_some(st).map(|mut s| {
                    s.end = self.offset();
                    s
                })));
            }
            if !started {
                started = true;
                st.start = self.offset();
                st.line = self.line_no;
            }
            // A psql meta-command occupies a line of its own between statements.
            if blank && state == Lex::Normal {
                let rest = &self.line[self.cursor..];
                let trimmed = rest.trim_ascii_start();
                if trimmed.first() == Some(&b'\\') && self.dialect == Dialect::Postgres {
                    let text = trimmed.trim_ascii_end().to_vec();
                    let line = self.line_no;
                    self.cursor = self.line.len();
                    return Ok(Next::Meta { text, line });
                }
            }
            let bytes = &self.line;
            let mut i = self.cursor;
            let n = bytes.len();
            while i < n {
                let c = bytes[i];
                match &mut state {
                    Lex::Normal => match c {
                        b';' => {
                            st.text.extend_from_slice(&bytes[self.cursor..i]);
                            self.cursor = i + 1;
                            st.end = self.offset();
                            return Ok(Next::Statement(st));
                        }
                        b'\'' => {
                            let backslash = match self.dialect {
                                Dialect::MySql => true,
                                Dialect::Postgres => {
                                    self.pg_backslash_strings
                                        || (i > 0
                                            && matches!(bytes[i - 1], b'E' | b'e')
                                            && (i < 2 || !is_ident(bytes[i - 2])))
                                }
                            };
                            state = Lex::Single { backslash };
                        }
                        b'"' => {
                            state = Lex::Double {
                                backslash: self.dialect == Dialect::MySql,
                            }
                        }
                        b'`' if self.dialect == Dialect::MySql => state = Lex::Backtick,
                        b'-' if bytes.get(i + 1) == Some(&b'-') => {
                            state = Lex::LineComment;
                        }
                        b'#' if self.dialect == Dialect::MySql => state = Lex::LineComment,
                        b'/' if bytes.get(i + 1) == Some(&b'*') => {
                            state = Lex::Block(1);
                            i += 1;
                        }
                        b'$' if self.dialect == Dialect::Postgres
                            && (i == 0 || !is_ident(bytes[i - 1])) =>
                        {
                            let mut j = i + 1;
                            while j < n && (is_ident(bytes[j]) && bytes[j] != b'$') {
                                j += 1;
                            }
                            if j < n
                                && bytes[j] == b'$'
                                && !bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
                            {
                                state = Lex::Dollar(bytes[i..=j].to_vec());
                                i = j;
                            }
                        }
                        _ => {}
                    },
                    Lex::Single { backslash } => match c {
                        b'\\' if *backslash => i += 1,
                        b'\'' => {
                            if bytes.get(i + 1) == Some(&b'\'') {
                                i += 1;
                            } else {
                                state = Lex::Normal;
                            }
                        }
                        _ => {}
                    },
                    Lex::Double { backslash } => match c {
                        b'\\' if *backslash => i += 1,
                        b'"' => {
                            if bytes.get(i + 1) == Some(&b'"') {
                                i += 1;
                            } else {
                                state = Lex::Normal;
                            }
                        }
                        _ => {}
                    },
                    Lex::Backtick => {
                        if c == b'`' {
                            if bytes.get(i + 1) == Some(&b'`') {
                                i += 1;
                            } else {
                                state = Lex::Normal;
                            }
                        }
                    }
                    Lex::LineComment => {
                        if c == b'\n' {
                            state = Lex::Normal;
                        }
                    }
                    Lex::Block(depth) => {
                        if c == b'*' && bytes.get(i + 1) == Some(&b'/') {
                            *depth -= 1;
                            i += 1;
                            if *depth == 0 {
                                state = Lex::Normal;
                            }
                        } else if c == b'/'
                            && bytes.get(i + 1) == Some(&b'*')
                            && self.dialect == Dialect::Postgres
                        {
                            *depth += 1;
                            i += 1;
                        }
                    }
                    Lex::Dollar(tag) => {
                        if c == b'$' && bytes[i..].starts_with(tag) {
                            i += tag.len() - 1;
                            state = Lex::Normal;
                        }
                    }
                }
                if blank
                    && !c.is_ascii_whitespace()
                    && !matches!(state, Lex::LineComment)
                    && (!matches!(state, Lex::Block(_))
                        || is_conditional(&bytes[i.saturating_sub(1)..]))
                {
                    blank = false;
                    st.first_line = self.line_no;
                }
                i += 1;
            }
            st.text.extend_from_slice(&bytes[self.cursor..]);
            self.cursor = n;
            if st.text.len() > self.max_statement {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "a statement starting at line {} is longer than {} MiB (no `;`?)",
                        st.line,
                        self.max_statement >> 20
                    ),
                ));
            }
        }
    }
}

fn is_conditional(b: &[u8]) -> bool {
    b.starts_with(b"/*!")
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// Strips leading whitespace and comments from a statement. MySQL conditional
/// comments (`/*!40101 SET NAMES utf8mb4 */`) are unwrapped: their content is SQL.
pub fn strip_leading(mut s: &[u8]) -> &[u8] {
    loop {
        s = s.trim_ascii_start();
        if s.starts_with(b"--") || s.starts_with(b"#") {
            match memchr::memchr(b'\n', s) {
                Some(i) => s = &s[i + 1..],
                None => return &[],
            }
        } else if s.starts_with(b"/*!") {
            let mut j = 3;
            while j < s.len() && s[j].is_ascii_digit() {
                j += 1;
            }
            let inner = &s[j..];
            // A statement wholly inside one conditional comment: its content.
            let t = inner.trim_ascii_end();
            match t.strip_suffix(b"*/") {
                Some(body) if memchr::memmem::find(body, b"*/").is_none() => {
                    return body.trim_ascii();
                }
                _ => return inner,
            }
        } else if s.starts_with(b"/*") {
            match memchr::memmem::find(&s[2..], b"*/") {
                Some(i) => s = &s[i + 4..],
                None => return &[],
            }
        } else {
            return s;
        }
    }
}

/// A token of a short statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// An unquoted word (identifier or keyword), as written.
    Word(String),
    /// A quoted identifier, unquoted.
    Ident(String),
    /// A string literal, unescaped.
    Str(Vec<u8>),
    /// A number.
    Num(String),
    /// Any other character.
    Punct(u8),
}

impl Tok {
    /// Whether this is the keyword `kw` (case-insensitive).
    pub fn is(&self, kw: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    /// The name of an identifier or word.
    pub fn name(&self) -> Option<&str> {
        match self {
            Tok::Word(w) | Tok::Ident(w) => Some(w),
            _ => None,
        }
    }
}

/// Tokenizes a short statement. Comments are dropped.
pub fn tokenize(s: &[u8], dialect: Dialect) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'-' && s.get(i + 1) == Some(&b'-') {
            i = memchr::memchr(b'\n', &s[i..]).map_or(s.len(), |j| i + j + 1);
        } else if c == b'/' && s.get(i + 1) == Some(&b'*') {
            if s.get(i + 2) == Some(&b'!') {
                // A MySQL conditional comment: its content is SQL.
                i += 3;
                while i < s.len() && s[i].is_ascii_digit() {
                    i += 1;
                }
            } else {
                i = memchr::memmem::find(&s[i + 2..], b"*/").map_or(s.len(), |j| i + j + 4);
            }
        } else if c == b'*' && s.get(i + 1) == Some(&b'/') {
            i += 2;
        } else if c == b'"' || (c == b'`' && dialect == Dialect::MySql) {
            let (v, next) = quoted(s, i, c, false);
            out.push(Tok::Ident(String::from_utf8_lossy(&v).into_owned()));
            i = next;
        } else if c == b'\'' {
            let backslash = dialect == Dialect::MySql;
            let (v, next) = quoted(s, i, b'\'', backslash);
            out.push(Tok::Str(v));
            i = next;
        } else if (c == b'E' || c == b'e') && s.get(i + 1) == Some(&b'\'') {
            let (v, next) = quoted(s, i + 1, b'\'', true);
            out.push(Tok::Str(v));
            i = next;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'.') {
                i += 1;
            }
            out.push(Tok::Num(String::from_utf8_lossy(&s[start..i]).into_owned()));
        } else if is_ident(c) {
            let start = i;
            while i < s.len() && is_ident(s[i]) {
                i += 1;
            }
            out.push(Tok::Word(
                String::from_utf8_lossy(&s[start..i]).into_owned(),
            ));
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    out
}

/// Reads a quoted run starting at `s[i] == q`. Returns the unescaped content and
/// the index after the closing quote (or the end).
fn quoted(s: &[u8], i: usize, q: u8, backslash: bool) -> (Vec<u8>, usize) {
    let mut v = Vec::new();
    let mut j = i + 1;
    while j < s.len() {
        let c = s[j];
        if c == q {
            if s.get(j + 1) == Some(&q) {
                v.push(q);
                j += 2;
                continue;
            }
            return (v, j + 1);
        }
        if c == b'\\' && backslash && j + 1 < s.len() {
            v.push(unescape_char(s[j + 1]));
            j += 2;
            continue;
        }
        v.push(c);
        j += 1;
    }
    (v, j)
}

fn unescape_char(c: u8) -> u8 {
    match c {
        b'0' => 0,
        b'b' => 8,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'Z' => 26,
        b'f' => 12,
        other => other,
    }
}

/// Splits a dotted name (`public.sale_order`, `` `db`.`t` ``) from tokens at `i`.
/// Returns the parts and the index after the name.
pub fn dotted_name(toks: &[Tok], mut i: usize) -> Option<(Vec<String>, usize)> {
    let mut parts = vec![toks.get(i)?.name()?.to_owned()];
    i += 1;
    while toks.get(i) == Some(&Tok::Punct(b'.')) {
        parts.push(toks.get(i + 1)?.name()?.to_owned());
        i += 2;
    }
    Some((parts, i))
}

/// An error while parsing an `INSERT` statement: a message and the byte offset in
/// the statement's text.
#[derive(Debug)]
pub struct InsertError {
    /// What is wrong.
    pub message: String,
    /// Offset in the statement text.
    pub at: usize,
}

/// The head of an `INSERT` statement: the table and the listed columns.
#[derive(Debug)]
pub struct InsertHead {
    /// Table name parts.
    pub table: Vec<String>,
    /// Named columns, if listed.
    pub columns: Option<Vec<String>>,
    /// Offset of the first tuple's `(`.
    pub values_at: usize,
}

/// Parses `INSERT [IGNORE] INTO name [(cols)] [OVERRIDING … VALUE] VALUES` (or
/// `REPLACE INTO`) at the start of `s`.
pub fn insert_head(s: &[u8], dialect: Dialect) -> Result<InsertHead, InsertError> {
    let err = |m: &str, at| InsertError {
        message: m.to_owned(),
        at,
    };
    let values_at = find_values_keyword(s, dialect).ok_or_else(|| err("no VALUES in INSERT", 0))?;
    let toks = tokenize(&s[..values_at], dialect);
    let mut i = 0;
    while i < toks.len() && !toks[i].is("INTO") {
        i += 1;
    }
    let (table, mut j) =
        dotted_name(&toks, i + 1).ok_or_else(|| err("no table name in INSERT", 0))?;
    let mut columns = None;
    if toks.get(j) == Some(&Tok::Punct(b'(')) {
        let mut cols = Vec::new();
        j += 1;
        while let Some(t) = toks.get(j) {
            match t {
                Tok::Punct(b')') => break,
                Tok::Punct(b',') => {}
                t => cols.push(
                    t.name()
                        .ok_or_else(|| err("bad column list", 0))?
                        .to_owned(),
                ),
            }
            j += 1;
        }
        columns = Some(cols);
    }
    Ok(InsertHead {
        table,
        columns,
        values_at: values_at + 6,
    })
}

/// Finds the keyword `VALUES` outside quotes.
fn find_values_keyword(s: &[u8], dialect: Dialect) -> Option<usize> {
    let mut i = 0;
    while i + 6 <= s.len() {
        let c = s[i];
        if c == b'"' || (c == b'`' && dialect == Dialect::MySql) {
            i = quoted(s, i, c, false).1;
            continue;
        }
        if c == b'(' && i > 0 {
            // column list: skip to its end
        }
        if (c == b'V' || c == b'v')
            && s[i..i + 6].eq_ignore_ascii_case(b"VALUES")
            && (i == 0 || !is_ident(s[i - 1]))
            && s.get(i + 6).is_none_or(|&n| !is_ident(n))
        {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Parses the tuples of an `INSERT` from `s[at..]`, calling `row` with each
/// tuple's values (`None` is NULL). Values are unescaped bytes; unquoted values
/// (numbers, `true`) are given as written; MySQL hex (`0x…`, `X'…'`) and bit
/// (`b'…'`) literals are decoded. Returns the number of tuples.
pub fn insert_tuples(
    s: &[u8],
    at: usize,
    dialect: Dialect,
    pg_backslash_strings: bool,
    mut row: impl FnMut(&[Option<Vec<u8>>], usize) -> Result<(), InsertError>,
) -> Result<u64, InsertError> {
    let err = |m: String, at| InsertError { message: m, at };
    let mut i = at;
    let mut values: Vec<Option<Vec<u8>>> = Vec::new();
    let mut count = 0u64;
    let skip_ws = |i: &mut usize| {
        while *i < s.len() && s[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if s.get(i) != Some(&b'(') {
            return Err(err("expected `(` starting a row of VALUES".into(), i));
        }
        let tuple_at = i;
        i += 1;
        values.clear();
        loop {
            skip_ws(&mut i);
            let c = *s
                .get(i)
                .ok_or_else(|| err("the row ends early".into(), i))?;
            let v = if c == b'\'' || ((c == b'E' || c == b'e') && s.get(i + 1) == Some(&b'\'')) {
                let e = c != b'\'';
                let start = if e { i + 1 } else { i };
                let backslash = dialect == Dialect::MySql || e || pg_backslash_strings;
                let (v, next) = string_literal(s, start, backslash, dialect)
                    .ok_or_else(|| err("unterminated string".into(), i))?;
                i = next;
                Some(v)
            } else if c == b'_' && dialect == Dialect::MySql {
                // Introducer: _binary '…', _utf8mb4 '…'
                while i < s.len() && is_ident(s[i]) {
                    i += 1;
                }
                skip_ws(&mut i);
                if s.get(i) == Some(&b'\'') {
                    let (v, next) = string_literal(s, i, true, dialect)
                        .ok_or_else(|| err("unterminated string".into(), i))?;
                    i = next;
                    Some(v)
                } else if s.get(i..i + 2) == Some(b"0x") {
                    let (v, next) = hex_literal(s, i + 2).map_err(|m| err(m, i))?;
                    i = next;
                    Some(v)
                } else {
                    return Err(err("bad character set introducer".into(), i));
                }
            } else if dialect == Dialect::MySql
                && (c == b'x' || c == b'X')
                && s.get(i + 1) == Some(&b'\'')
            {
                let end = memchr::memchr(b'\'', &s[i + 2..])
                    .ok_or_else(|| err("unterminated hex literal".into(), i))?;
                let v = hex::decode(&s[i + 2..i + 2 + end])
                    .map_err(|e| err(format!("bad hex literal: {e}"), i))?;
                i += end + 3;
                Some(v)
            } else if dialect == Dialect::MySql && c == b'0' && s.get(i + 1) == Some(&b'x') {
                let (v, next) = hex_literal(s, i + 2).map_err(|m| err(m, i))?;
                i = next;
                Some(v)
            } else if dialect == Dialect::MySql
                && (c == b'b' || c == b'B')
                && s.get(i + 1) == Some(&b'\'')
            {
                let end = memchr::memchr(b'\'', &s[i + 2..])
                    .ok_or_else(|| err("unterminated bit literal".into(), i))?;
                let bits = &s[i + 2..i + 2 + end];
                let mut n: u64 = 0;
                for &b in bits {
                    if b != b'0' && b != b'1' || n >> 63 != 0 {
                        return Err(err("bad bit literal".into(), i));
                    }
                    n = n * 2 + u64::from(b - b'0');
                }
                i += end + 3;
                Some(n.to_string().into_bytes())
            } else {
                let start = i;
                while i < s.len() && s[i] != b',' && s[i] != b')' {
                    if s[i] == b'\'' || s[i] == b'(' {
                        return Err(err("unexpected character in a value".into(), i));
                    }
                    i += 1;
                }
                let raw = s[start..i].trim_ascii();
                if raw.is_empty() {
                    return Err(err("empty value".into(), start));
                }
                if raw.eq_ignore_ascii_case(b"NULL") {
                    None
                } else {
                    Some(raw.to_vec())
                }
            };
            // A PostgreSQL cast after a literal: `'…'::jsonb`.
            skip_ws(&mut i);
            if s.get(i..i + 2) == Some(b"::") {
                i += 2;
                while i < s.len() && s[i] != b',' && s[i] != b')' {
                    i += 1;
                }
            }
            values.push(v);
            skip_ws(&mut i);
            match s.get(i) {
                Some(b',') => i += 1,
                Some(b')') => {
                    i += 1;
                    break;
                }
                _ => return Err(err("expected `,` or `)` after a value".into(), i)),
            }
        }
        row(&values, tuple_at)?;
        count += 1;
        skip_ws(&mut i);
        match s.get(i) {
            Some(b',') => i += 1,
            None => return Ok(count),
            Some(_) => {
                let rest = strip_leading(&s[i..]);
                if rest.is_empty() || rest.to_ascii_uppercase().starts_with(b"ON DUPLICATE") {
                    return Ok(count);
                }
                return Err(err("unexpected text after a row of VALUES".into(), i));
            }
        }
    }
}

fn hex_literal(s: &[u8], mut i: usize) -> Result<(Vec<u8>, usize), String> {
    let start = i;
    while i < s.len() && s[i].is_ascii_hexdigit() {
        i += 1;
    }
    hex::decode(&s[start..i])
        .map(|v| (v, i))
        .map_err(|e| format!("bad hex literal: {e}"))
}

/// Reads a string literal at `s[i] == '\''`; returns its bytes and the next index.
fn string_literal(
    s: &[u8],
    i: usize,
    backslash: bool,
    dialect: Dialect,
) -> Option<(Vec<u8>, usize)> {
    let mut v = Vec::new();
    let mut j = i + 1;
    loop {
        let rest = s.get(j..)?;
        let stop = if backslash {
            memchr::memchr2(b'\'', b'\\', rest)?
        } else {
            memchr::memchr(b'\'', rest)?
        };
        v.extend_from_slice(&rest[..stop]);
        j += stop;
        if s[j] == b'\'' {
            if s.get(j + 1) == Some(&b'\'') {
                v.push(b'\'');
                j += 2;
                continue;
            }
            return Some((v, j + 1));
        }
        // Backslash escape.
        let e = *s.get(j + 1)?;
        match dialect {
            Dialect::MySql => {
                match e {
                    b'%' | b'_' => {
                        v.push(b'\\');
                        v.push(e);
                    }
                    _ => v.push(unescape_char(e)),
                }
                j += 2;
            }
            Dialect::Postgres => {
                j += 2;
                match e {
                    b'b' => v.push(8),
                    b'f' => v.push(12),
                    b'n' => v.push(b'\n'),
                    b'r' => v.push(b'\r'),
                    b't' => v.push(b'\t'),
                    b'0'..=b'7' => {
                        let mut n = u32::from(e - b'0');
                        for _ in 0..2 {
                            match s.get(j) {
                                Some(&d @ b'0'..=b'7') => {
                                    n = n * 8 + u32::from(d - b'0');
                                    j += 1;
                                }
                                _ => break,
                            }
                        }
                        v.push((n & 0xff) as u8);
                    }
                    b'x' => {
                        let mut n = 0u32;
                        let mut k = 0;
                        while k < 2 && s.get(j).is_some_and(u8::is_ascii_hexdigit) {
                            n = n * 16 + (s[j] as char).to_digit(16)?;
                            j += 1;
                            k += 1;
                        }
                        v.push(n as u8);
                    }
                    b'u' | b'U' => {
                        let len = if e == b'u' { 4 } else { 8 };
                        let hexs = std::str::from_utf8(s.get(j..j + len)?).ok()?;
                        let ch = char::from_u32(u32::from_str_radix(hexs, 16).ok()?)?;
                        let mut buf = [0u8; 4];
                        v.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        j += len;
                    }
                    other => v.push(other),
                }
            }
        }
    }
}

/// Decodes one field of a PostgreSQL `COPY … FROM stdin` text-format line
/// (`\N` is NULL; `\t \n \\`, octal `\123` and hex `\x4F` escapes).
pub fn copy_unescape(field: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while i < field.len() {
        let Some(k) = memchr::memchr(b'\\', &field[i..]) else {
            out.extend_from_slice(&field[i..]);
            break;
        };
        out.extend_from_slice(&field[i..i + k]);
        i += k + 1;
        let Some(&e) = field.get(i) else {
            // A lone trailing backslash: kept as written.
            out.push(b'\\');
            break;
        };
        i += 1;
        match e {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut n = u32::from(e - b'0');
                for _ in 0..2 {
                    match field.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            n = n * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((n & 0xff) as u8);
            }
            b'x' if field.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut n = 0u8;
                let mut k = 0;
                while k < 2 && field.get(i).is_some_and(u8::is_ascii_hexdigit) {
                    n = n * 16 + (field[i] as char).to_digit(16).unwrap_or(0) as u8;
                    i += 1;
                    k += 1;
                }
                out.push(n);
            }
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str, d: Dialect) -> Vec<String> {
        let mut sp = Splitter::new(s.as_bytes(), d, 0, 1);
        let mut out = Vec::new();
        loop {
            match sp.next_statement().unwrap() {
                Next::Statement(st) => {
                    out.push(String::from_utf8(st.text).unwrap().trim().to_owned())
                }
                Next::Meta { text, .. } => out.push(String::from_utf8(text).unwrap()),
                Next::End(rest) => {
                    if let Some(r) = rest {
                        out.push(format!(
                            "UNTERMINATED {}",
                            String::from_utf8(r.text).unwrap().trim()
                        ));
                    }
                    return out;
                }
            }
        }
    }

    #[test]
    fn statements_split_outside_quotes_and_comments() {
        let s = "-- a; comment\nSELECT 'a;b';\n\\restrict x\nCREATE FUNCTION f() AS $f$ a; b $f$;\nSELECT \"x;\" /* ; */;";
        assert_eq!(
            split(s, Dialect::Postgres),
            vec![
                "-- a; comment\nSELECT 'a;b'",
                "\\restrict x",
                "CREATE FUNCTION f() AS $f$ a; b $f$",
                "SELECT \"x;\" /* ; */"
            ]
        );
        let m = "INSERT INTO `t` VALUES ('a\\';b'),('c'';');\nLOCK TABLES `t` WRITE;\nx";
        assert_eq!(
            split(m, Dialect::MySql),
            vec![
                "INSERT INTO `t` VALUES ('a\\';b'),('c'';')",
                "LOCK TABLES `t` WRITE",
                "UNTERMINATED x"
            ]
        );
    }

    #[test]
    fn conditional_comments_unwrap() {
        assert_eq!(
            strip_leading(b"/*!40101 SET NAMES utf8mb4 */"),
            b"SET NAMES utf8mb4"
        );
        assert_eq!(strip_leading(b"-- x\n/* y */ INSERT"), b"INSERT");
    }

    #[test]
    fn insert_values_unescape() {
        let s = br"INSERT INTO `t` (`a`,`b`) VALUES (1,'x\'\\\0\n\Z'''),(NULL,_binary '\0'),(0x4142,b'101'),(-1.5,'')";
        let head = insert_head(s, Dialect::MySql).unwrap();
        assert_eq!(head.table, vec!["t"]);
        assert_eq!(
            head.columns.as_deref(),
            Some(&["a".to_owned(), "b".to_owned()][..])
        );
        let mut rows = Vec::new();
        let n = insert_tuples(s, head.values_at, Dialect::MySql, false, |v, _| {
            rows.push(v.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 4);
        assert_eq!(rows[0][1].as_deref(), Some(&b"x'\\\0\n\x1a'"[..]));
        assert_eq!(rows[1], vec![None, Some(vec![0])]);
        assert_eq!(rows[2], vec![Some(b"AB".to_vec()), Some(b"5".to_vec())]);
        assert_eq!(rows[3], vec![Some(b"-1.5".to_vec()), Some(vec![])]);

        let p = br"INSERT INTO public.t OVERRIDING SYSTEM VALUE VALUES (1, 'it''s', E'a\tb\\', NULL, true)";
        let head = insert_head(p, Dialect::Postgres).unwrap();
        assert_eq!(head.table, vec!["public", "t"]);
        let mut got = Vec::new();
        insert_tuples(p, head.values_at, Dialect::Postgres, false, |v, _| {
            got = v.to_vec();
            Ok(())
        })
        .unwrap();
        assert_eq!(got[1].as_deref(), Some(&b"it's"[..]));
        assert_eq!(got[2].as_deref(), Some(&b"a\tb\\"[..]));
        assert_eq!(got[3], None);
        assert!(insert_tuples(b"VALUES (1,'x", 6, Dialect::MySql, false, |_, _| Ok(())).is_err());
    }

    #[test]
    fn copy_fields_unescape() {
        let mut out = Vec::new();
        copy_unescape(br"a\tb\nc\\d\101\x42", &mut out);
        assert_eq!(out, b"a\tb\nc\\dAB");
    }
}
