//! The discovery pass: one sequential read of a plain SQL dump that records every
//! table's columns, primary key and row count, and where its data blocks are.
//!
//! Data is not converted here. `COPY` blocks are only counted line by line (and,
//! for PostgreSQL `numeric` columns without a declared scale, their values are
//! measured to pick an exact Decimal128 scale); `INSERT` statements are lexed to
//! count their rows. [`crate::read`] later seeks straight to a table's blocks.
//!
//! A fault in the dump (a truncated file, text that is not SQL between statements)
//! is recorded against every table whose definition or data comes after it, so the
//! tables completed before it can still be extracted.

use std::collections::HashMap;
use std::io::BufRead;

use ferry_core::Location;

use crate::columns::{ColType, NumericStats};
use crate::sql::{self, Dialect, Next, Splitter, Tok};

/// The character set of dumped text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8 (validated).
    Utf8,
    /// ISO-8859-1: each byte is the code point.
    Latin1,
    /// Any other encoding `encoding_rs` knows (e.g. MySQL's `latin1`, which is cp1252).
    Other(&'static encoding_rs::Encoding),
}

/// One column of a dumped table.
#[derive(Debug, Clone)]
pub struct Column {
    /// Name as in the dump.
    pub name: String,
    /// Type.
    pub ty: ColType,
    /// Whether NULL is allowed.
    pub nullable: bool,
}

/// How a data block is written.
#[derive(Debug, Clone)]
pub enum BlockKind {
    /// PostgreSQL `COPY … FROM stdin` text lines; field `i` goes to column `map[i]`.
    Copy {
        /// Target column of each field.
        map: Vec<usize>,
    },
    /// `INSERT` statements.
    Insert {
        /// PostgreSQL with `standard_conforming_strings = off`.
        pg_backslash_strings: bool,
    },
}

/// A run of a table's data in the dump: bytes `[start, end)`.
#[derive(Debug, Clone)]
pub struct Block {
    /// First byte.
    pub start: u64,
    /// Byte after the last.
    pub end: u64,
    /// Line number of `start`.
    pub line: u64,
    /// Format.
    pub kind: BlockKind,
    /// Text encoding in force.
    pub charset: Charset,
}

/// A table found in a dump.
#[derive(Debug, Clone)]
pub struct Table {
    /// Stream name (`schema.table` or `table`).
    pub stream: String,
    /// Name parts as in the dump, for matching `COPY` / `INSERT` targets.
    pub key: String,
    /// Columns in table order.
    pub columns: Vec<Column>,
    /// Primary key columns.
    pub primary_key: Vec<String>,
    /// Data blocks in dump order.
    pub blocks: Vec<Block>,
    /// Rows in the dump.
    pub rows: u64,
    /// Why this table cannot be read, with where.
    pub error: Option<(Location, String)>,
    /// Measures of unconstrained numeric columns, by column index.
    numeric: HashMap<usize, NumericStats>,
}

/// What the scan of a dump found.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Tables in dump order.
    pub tables: Vec<Table>,
    /// Facts about the dump (server version, …).
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

struct Scanner<'a> {
    dialect: Dialect,
    file: &'a str,
    tables: Vec<Table>,
    by_key: HashMap<String, usize>,
    enums: std::collections::HashSet<String>,
    domains: HashMap<String, ColType>,
    charset: Charset,
    database: Option<String>,
    multi_db: bool,
    fault: Option<(Location, String)>,
    skip: &'a dyn Fn(&str) -> bool,
    metadata: serde_json::Map<String, serde_json::Value>,
    current_insert: Option<(usize, u64)>,
    split_bytes: Option<u64>,
}

/// Scans a plain dump read from `reader`. `file` names it in errors; `skip` says
/// which streams to leave out (their blocks are passed over without parsing).
///
/// # Errors
/// Reading fails. Faults in the dump's content are recorded on the tables instead.
pub fn scan<R: BufRead>(
    reader: R,
    dialect: Dialect,
    file: &str,
    skip: &dyn Fn(&str) -> bool,
) -> std::io::Result<Scan> {
    scan_split(reader, dialect, file, skip, None)
}

/// [`scan`], cutting `COPY` blocks longer than `split_bytes` into consecutive blocks
/// at row boundaries, so that the parts of one big table can be read in parallel
/// (each part knows its first line, for errors).
///
/// # Errors
/// Reading fails.
pub fn scan_split<R: BufRead>(
    reader: R,
    dialect: Dialect,
    file: &str,
    skip: &dyn Fn(&str) -> bool,
    split_bytes: Option<u64>,
) -> std::io::Result<Scan> {
    let mut sc = Scanner {
        split_bytes,
        dialect,
        file,
        tables: Vec::new(),
        by_key: HashMap::new(),
        enums: Default::default(),
        domains: HashMap::new(),
        charset: Charset::Utf8,
        database: None,
        multi_db: false,
        fault: None,
        skip,
        metadata: Default::default(),
        current_insert: None,
    };
    let mut sp = Splitter::new(reader, dialect, 0, 1);
    loop {
        match sp.next_statement() {
            Ok(Next::Statement(st)) => sc.statement(&mut sp, st)?,
            Ok(Next::Meta { text, line }) => {
                sc.current_insert = None;
                if !(text.starts_with(b"\\restrict")
                    || text.starts_with(b"\\unrestrict")
                    || text.starts_with(b"\\connect"))
                {
                    tracing::debug!(line, "Skipping a psql meta-command.");
                }
            }
            Ok(Next::End(rest)) => {
                if let Some(st) = rest
                    && !sql::strip_leading(&st.text).is_empty()
                {
                    sc.set_fault(
                        Location::file(file)
                            .line(st.first_line.max(st.line))
                            .byte(st.start),
                        "the dump ends inside a statement (truncated file?)",
                    );
                }
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                sc.set_fault(
                    Location::file(file).line(sp.line_no()).byte(sp.offset()),
                    e.to_string(),
                );
                break;
            }
            Err(e) => return Err(e),
        }
    }
    sc.finish();
    if let Some(db) = &sc.database {
        sc.metadata
            .insert("database".into(), serde_json::Value::String(db.clone()));
    }
    Ok(Scan {
        tables: sc.tables,
        metadata: sc.metadata,
    })
}

impl Scanner<'_> {
    fn set_fault(&mut self, loc: Location, msg: impl Into<String>) {
        let msg = msg.into();
        tracing::warn!(location = %loc, message = msg, "Fault in the dump.");
        if self.fault.is_none() {
            self.fault = Some((loc.clone(), msg.clone()));
        }
        // The table being written when the fault happened is broken too.
        if let Some((t, _)) = self.current_insert.take()
            && let Some(t) = self.tables.get_mut(t)
            && t.error.is_none()
        {
            t.error = Some((loc, msg));
        }
    }

    fn loc(&self, line: u64, byte: u64) -> Location {
        Location::file(self.file).line(line).byte(byte)
    }

    fn statement<R: BufRead>(
        &mut self,
        sp: &mut Splitter<R>,
        st: sql::Statement,
    ) -> std::io::Result<()> {
        let body = sql::strip_leading(&st.text);
        if body.is_empty() {
            return Ok(());
        }
        let first = first_word(body);
        let line = st.first_line.max(st.line);
        let offset = st.start + (body.as_ptr() as usize - st.text.as_ptr() as usize) as u64;
        match first.as_str() {
            "INSERT" | "REPLACE" => {
                self.insert(&st, body, line, offset);
                return Ok(());
            }
            "COPY" => {
                self.current_insert = None;
                return self.copy(sp, body, line, offset);
            }
            _ => {}
        }
        self.current_insert = None;
        match first.as_str() {
            "CREATE" => self.create(body, line, offset),
            "ALTER" => self.alter(body),
            "SET" => self.set(body),
            "USE" => {
                let toks = sql::tokenize(body, self.dialect);
                if let Some(db) = toks.get(1).and_then(Tok::name) {
                    if self.database.as_deref().is_some_and(|d| d != db) {
                        self.multi_db = true;
                    }
                    self.database = Some(db.to_owned());
                }
            }
            "SELECT" | "COMMENT" | "GRANT" | "REVOKE" | "DROP" | "LOCK" | "UNLOCK" | "BEGIN"
            | "COMMIT" | "START" | "END" | "REFRESH" | "SECURITY" | "TRUNCATE" | "UPDATE"
            | "DELETE" | "DO" | "WITH" | "ANALYZE" | "VACUUM" | "RESET" | "DELIMITER" | "FLUSH"
            | "SAVEPOINT" | "RELEASE" | "ROLLBACK" | "REINDEX" | "CLUSTER" | "NOTIFY"
            | "IMPORT" | "DECLARE" | "PREPARE" | "EXECUTE" | "DEALLOCATE" | "CALL" | "SHOW" => {}
            _ => {
                let shown: String =
                    String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
                self.set_fault(
                    self.loc(line, offset),
                    format!("not an SQL statement: {shown:?} (corrupt dump?)"),
                );
            }
        }
        Ok(())
    }

    fn stream_name(&self, parts: &[String]) -> String {
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let name = match (self.dialect, parts.as_slice()) {
            (Dialect::Postgres, [t]) => format!("public.{t}"),
            (Dialect::Postgres, [.., s, t]) => format!("{s}.{t}"),
            (Dialect::MySql, [d, t]) => format!("{d}.{t}"),
            (Dialect::MySql, [t]) => match (&self.database, self.multi_db) {
                (Some(d), true) => format!("{d}.{t}"),
                _ => (*t).to_owned(),
            },
            _ => parts.join("."),
        };
        name.replace(['/', '\\'], "_")
    }

    fn table_index(&mut self, parts: &[String]) -> usize {
        let key = self.stream_name(parts);
        if let Some(&i) = self.by_key.get(&key) {
            return i;
        }
        let i = self.tables.len();
        self.tables.push(Table {
            stream: key.clone(),
            key: key.clone(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            blocks: Vec::new(),
            rows: 0,
            error: self.fault.clone(),
            numeric: HashMap::new(),
        });
        self.by_key.insert(key, i);
        i
    }

    fn create(&mut self, body: &[u8], line: u64, offset: u64) {
        let toks = sql::tokenize(body, self.dialect);
        let mut i = 1;
        // CREATE [UNLOGGED|TEMPORARY|OR REPLACE ...] TABLE [IF NOT EXISTS] name (
        while i < toks.len()
            && i < 5
            && !toks[i].is("TABLE")
            && !toks[i].is("TYPE")
            && !toks[i].is("DOMAIN")
        {
            i += 1;
        }
        let Some(what) = toks.get(i) else { return };
        if what.is("TYPE") {
            // CREATE TYPE name AS ENUM (...)
            if let Some((parts, j)) = sql::dotted_name(&toks, i + 1)
                && toks.get(j).is_some_and(|t| t.is("AS"))
                && toks.get(j + 1).is_some_and(|t| t.is("ENUM"))
            {
                self.enums.insert(parts.join("."));
                if let Some(last) = parts.last() {
                    self.enums.insert(last.clone());
                }
            }
            return;
        }
        if what.is("DOMAIN") {
            if let Some((parts, j)) = sql::dotted_name(&toks, i + 1) {
                let k = if toks.get(j).is_some_and(|t| t.is("AS")) {
                    j + 1
                } else {
                    j
                };
                let (ty_toks, _) = type_tokens(&toks[k..]);
                if let Ok(ty) = self.pg_type(&ty_toks) {
                    self.domains.insert(parts.join("."), ty.clone());
                    if let Some(last) = parts.last() {
                        self.domains.insert(last.clone(), ty);
                    }
                }
            }
            return;
        }
        if !what.is("TABLE") {
            return;
        }
        i += 1;
        if toks.get(i).is_some_and(|t| t.is("IF")) {
            i += 3;
        }
        let Some((parts, mut j)) = sql::dotted_name(&toks, i) else {
            return;
        };
        if toks.get(j) != Some(&Tok::Punct(b'(')) {
            return; // CREATE TABLE … AS / PARTITION OF: no column list to read.
        }
        j += 1;
        let stream = self.stream_name(&parts);
        if (self.skip)(&stream) {
            // Still registered, to find its blocks; dropped from the catalog later.
        }
        let idx = self.table_index(&parts);
        let mut columns = Vec::new();
        let mut pk = Vec::new();
        let mut error = None;
        // Split the column list at top-level commas.
        let mut depth = 0;
        let mut item: Vec<Tok> = Vec::new();
        let mut items = Vec::new();
        while let Some(t) = toks.get(j) {
            match t {
                Tok::Punct(b'(') => depth += 1,
                Tok::Punct(b')') if depth == 0 => break,
                Tok::Punct(b')') => depth -= 1,
                Tok::Punct(b',') if depth == 0 => {
                    items.push(std::mem::take(&mut item));
                    j += 1;
                    continue;
                }
                _ => {}
            }
            item.push(t.clone());
            j += 1;
        }
        if !item.is_empty() {
            items.push(item);
        }
        // MySQL table default charset.
        for it in items {
            let Some(first) = it.first() else { continue };
            if first.is("CONSTRAINT") || first.is("PRIMARY") {
                let p = it.iter().position(|t| t.is("PRIMARY"));
                if let Some(p) = p
                    && it.get(p + 1).is_some_and(|t| t.is("KEY"))
                {
                    pk = paren_names(&it[p + 2..]);
                }
                continue;
            }
            if matches!(first, Tok::Word(_))
                && [
                    "UNIQUE", "KEY", "INDEX", "FULLTEXT", "SPATIAL", "CHECK", "FOREIGN", "EXCLUDE",
                    "LIKE", "PERIOD",
                ]
                .iter()
                .any(|k| first.is(k))
                // In PostgreSQL `key` or `index` may be a column name: a table
                // constraint is followed by `(` or `KEY`, a column by its type.
                && (self.dialect == Dialect::MySql
                    || matches!(it.get(1), Some(Tok::Punct(b'(')))
                    || it.get(1).is_some_and(|t| t.is("KEY")))
            {
                continue;
            }
            let Some(name) = first.name() else { continue };
            let (ty_toks, rest) = type_tokens(&it[1..]);
            let ty = match self.dialect {
                Dialect::Postgres => self.pg_type(&ty_toks),
                Dialect::MySql => mysql_type(&ty_toks),
            };
            let ty = match ty {
                Ok(t) => t,
                Err(m) => {
                    if error.is_none() {
                        error = Some((self.loc(line, offset), format!("column {name:?}: {m}")));
                    }
                    ColType::Text
                }
            };
            let mut nullable = true;
            let mut generated = false;
            for (k, t) in rest.iter().enumerate() {
                if t.is("NOT") && rest.get(k + 1).is_some_and(|n| n.is("NULL")) {
                    nullable = false;
                }
                if t.is("GENERATED")
                    && rest.iter().any(|x| x.is("STORED"))
                    && self.dialect == Dialect::Postgres
                {
                    generated = true;
                }
                if t.is("PRIMARY") && rest.get(k + 1).is_some_and(|n| n.is("KEY")) {
                    pk = vec![name.to_owned()];
                }
            }
            if generated {
                // pg_dump leaves stored generated columns out of the data.
                continue;
            }
            columns.push(Column {
                name: name.to_owned(),
                ty,
                nullable,
            });
        }
        // `INHERITS (parent, …)`: the parents' columns come first, in order; a
        // local column of the same name merges into the inherited one.
        if toks.get(j + 1).is_some_and(|t| t.is("INHERITS"))
            && toks.get(j + 2) == Some(&Tok::Punct(b'('))
        {
            let mut inherited: Vec<Column> = Vec::new();
            let mut k = j + 3;
            while let Some((parent, next)) = sql::dotted_name(&toks, k) {
                let parent_key = self.stream_name(&parent);
                if let Some(&p) = self.by_key.get(&parent_key) {
                    for c in &self.tables[p].columns {
                        if !inherited.iter().any(|x| x.name == c.name) {
                            inherited.push(c.clone());
                        }
                    }
                } else if error.is_none() {
                    error = Some((
                        self.loc(line, offset),
                        format!(
                            "inherits from {parent_key:?}, which the dump does not define before it"
                        ),
                    ));
                }
                if toks.get(next) == Some(&Tok::Punct(b',')) {
                    k = next + 1;
                } else {
                    break;
                }
            }
            for c in columns {
                if let Some(x) = inherited.iter_mut().find(|x| x.name == c.name) {
                    x.nullable &= c.nullable;
                } else {
                    inherited.push(c);
                }
            }
            columns = inherited;
        }
        let t = &mut self.tables[idx];
        t.numeric = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.ty == ColType::Numeric)
            .map(|(k, _)| (k, NumericStats::default()))
            .collect();
        t.columns = columns;
        if !pk.is_empty() {
            t.primary_key = pk;
        }
        if t.error.is_none() {
            t.error = error;
        }
    }

    fn alter(&mut self, body: &[u8]) {
        // ALTER TABLE [ONLY] name ADD CONSTRAINT c PRIMARY KEY (cols)
        let toks = sql::tokenize(body, self.dialect);
        if !toks.get(1).is_some_and(|t| t.is("TABLE")) {
            return;
        }
        let mut i = 2;
        while toks
            .get(i)
            .is_some_and(|t| t.is("ONLY") || t.is("IF") || t.is("EXISTS"))
        {
            i += 1;
        }
        let Some((parts, _)) = sql::dotted_name(&toks, i) else {
            return;
        };
        let Some(p) = toks.iter().position(|t| t.is("PRIMARY")) else {
            return;
        };
        if !toks.get(p + 1).is_some_and(|t| t.is("KEY")) {
            return;
        }
        let key = self.stream_name(&parts);
        if let Some(&idx) = self.by_key.get(&key) {
            self.tables[idx].primary_key = paren_names(&toks[p + 2..]);
        }
    }

    fn set(&mut self, body: &[u8]) {
        let toks = sql::tokenize(body, self.dialect);
        let name = toks
            .get(1)
            .and_then(Tok::name)
            .unwrap_or("")
            .to_ascii_lowercase();
        let value = || -> String {
            toks.iter()
                .skip(2)
                .find_map(|t| match t {
                    Tok::Str(s) => Some(String::from_utf8_lossy(s).into_owned()),
                    Tok::Word(w) if !w.eq_ignore_ascii_case("TO") => Some(w.clone()),
                    Tok::Ident(w) => Some(w.clone()),
                    _ => None,
                })
                .unwrap_or_default()
        };
        match name.as_str() {
            "client_encoding" => {
                let v = value().to_ascii_uppercase().replace(['-', '_'], "");
                self.charset = match v.as_str() {
                    "UTF8" | "UNICODE" | "SQLASCII" => Charset::Utf8,
                    "LATIN1" | "ISO88591" => Charset::Latin1,
                    other => encoding_rs::Encoding::for_label(other.as_bytes())
                        .or_else(|| {
                            let w = other.strip_prefix("WIN").map(|n| format!("windows-{n}"))?;
                            encoding_rs::Encoding::for_label(w.as_bytes())
                        })
                        .map_or(Charset::Utf8, Charset::Other),
                };
            }
            "standard_conforming_strings" => {
                // Read by the splitter only through `Block`; recorded here.
                self.metadata.insert(
                    "standard_conforming_strings".into(),
                    serde_json::Value::String(value().to_ascii_lowercase()),
                );
            }
            "names" | "character_set_client" if self.dialect == Dialect::MySql => {
                let v = value().to_ascii_lowercase();
                if v.starts_with('@') {
                    return;
                }
                self.charset = match v.as_str() {
                    "utf8" | "utf8mb4" | "utf8mb3" | "binary" | "ascii" => Charset::Utf8,
                    "latin1" | "cp1252" => Charset::Other(encoding_rs::WINDOWS_1252),
                    other => encoding_rs::Encoding::for_label(other.as_bytes())
                        .map_or(Charset::Utf8, Charset::Other),
                };
            }
            _ => {}
        }
    }

    fn pg_backslash(&self) -> bool {
        self.metadata
            .get("standard_conforming_strings")
            .and_then(|v| v.as_str())
            == Some("off")
    }

    fn insert(&mut self, st: &sql::Statement, body: &[u8], line: u64, offset: u64) {
        let head = match sql::insert_head(body, self.dialect) {
            Ok(h) => h,
            Err(e) => {
                self.set_fault(self.loc(line, offset), e.message);
                return;
            }
        };
        let idx = self.table_index(&head.table);
        let skipped = (self.skip)(&self.tables[idx].stream);
        let backslash = self.pg_backslash();
        let dialect = self.dialect;
        let table = &mut self.tables[idx];
        // Which table columns the tuple values go to (for numeric measures).
        let map: Vec<Option<usize>> = match &head.columns {
            Some(cols) => cols
                .iter()
                .map(|c| table.columns.iter().position(|tc| &tc.name == c))
                .collect(),
            None => (0..table.columns.len()).map(Some).collect(),
        };
        let numeric = &mut table.numeric;
        let result = if skipped {
            sql::insert_tuples(body, head.values_at, dialect, backslash, |_, _| Ok(()))
        } else {
            sql::insert_tuples(body, head.values_at, dialect, backslash, |vals, _| {
                if !numeric.is_empty() {
                    for (k, v) in vals.iter().enumerate() {
                        if let (Some(Some(c)), Some(v)) = (map.get(k), v)
                            && let Some(s) = numeric.get_mut(c)
                        {
                            s.observe(v);
                        }
                    }
                }
                Ok(())
            })
        };
        match result {
            Ok(n) => {
                let table = &mut self.tables[idx];
                table.rows += n;
                let block = Block {
                    start: offset,
                    end: st.end,
                    line,
                    kind: BlockKind::Insert {
                        pg_backslash_strings: backslash,
                    },
                    charset: self.charset,
                };
                match (self.current_insert, table.blocks.last_mut()) {
                    (Some((t, _)), Some(last))
                        if t == idx && matches!(last.kind, BlockKind::Insert { .. }) =>
                    {
                        last.end = st.end;
                    }
                    _ => table.blocks.push(block),
                }
                self.current_insert = Some((idx, st.end));
            }
            Err(e) => {
                let at = offset + e.at as u64;
                let line =
                    line + memchr::memchr_iter(b'\n', &body[..e.at.min(body.len())]).count() as u64;
                let table = &mut self.tables[idx];
                if table.error.is_none() {
                    table.error = Some((Location::file(self.file).line(line).byte(at), e.message));
                }
                self.current_insert = None;
            }
        }
    }

    fn copy<R: BufRead>(
        &mut self,
        sp: &mut Splitter<R>,
        body: &[u8],
        line: u64,
        offset: u64,
    ) -> std::io::Result<()> {
        let toks = sql::tokenize(body, self.dialect);
        let Some((parts, mut j)) = sql::dotted_name(&toks, 1) else {
            self.set_fault(self.loc(line, offset), "COPY without a table name");
            return Ok(());
        };
        let mut names = None;
        if toks.get(j) == Some(&Tok::Punct(b'(')) {
            names = Some(paren_names(&toks[j..]));
            while toks.get(j).is_some_and(|t| t != &Tok::Punct(b')')) {
                j += 1;
            }
        }
        if !toks.iter().any(|t| t.is("stdin")) {
            return Ok(()); // COPY … TO / FROM a file: no data in the dump.
        }
        sp.finish_line();
        let idx = self.table_index(&parts);
        let skipped = (self.skip)(&self.tables[idx].stream);
        let ncols = self.tables[idx].columns.len();
        let mut bad_map = None;
        let map: Vec<usize> = match names {
            Some(names) => {
                if self.tables[idx].columns.is_empty() {
                    // No CREATE TABLE seen: every field is text.
                    self.tables[idx].columns = names
                        .iter()
                        .map(|n| Column {
                            name: n.clone(),
                            ty: ColType::Text,
                            nullable: true,
                        })
                        .collect();
                }
                names
                    .iter()
                    .map(|n| {
                        self.tables[idx]
                            .columns
                            .iter()
                            .position(|c| &c.name == n)
                            .unwrap_or_else(|| {
                                bad_map = Some(format!(
                                    "COPY names column {n:?}, which CREATE TABLE does not"
                                ));
                                usize::MAX
                            })
                    })
                    .collect()
            }
            None => (0..ncols).collect(),
        };
        let numeric: Vec<(usize, usize)> = if skipped {
            Vec::new()
        } else {
            map.iter()
                .enumerate()
                .filter(|(_, c)| self.tables[idx].numeric.contains_key(c))
                .map(|(f, c)| (f, *c))
                .collect()
        };
        let mut rows = 0u64;
        let mut start = None;
        let mut first_line = line + 1;
        let mut field = Vec::new();
        let split = self.split_bytes.filter(|_| !skipped);
        let charset = self.charset;
        let t = &mut self.tables[idx];
        let ended = sp.copy_rows(|content, at, no| {
            if start.is_none() {
                start = Some(at);
                first_line = no;
            }
            if let (Some(limit), Some(s)) = (split, start)
                && at - s >= limit
            {
                // Close this part at the row boundary; the next row starts the next.
                t.blocks.push(Block {
                    start: s,
                    end: at,
                    line: first_line,
                    kind: BlockKind::Copy { map: map.clone() },
                    charset,
                });
                start = Some(at);
                first_line = no;
            }
            rows += 1;
            if !numeric.is_empty() {
                for (f, raw) in content.split(|&b| b == b'\t').enumerate() {
                    if let Some(&(_, c)) = numeric.iter().find(|(nf, _)| *nf == f)
                        && raw != b"\\N"
                        && let Some(s) = t.numeric.get_mut(&c)
                    {
                        sql::copy_unescape(raw, &mut field);
                        s.observe(&field);
                    }
                }
            }
        })?;
        let Some((end, end_line)) = ended else {
            let loc = self.loc(first_line, start.unwrap_or(sp.offset()));
            self.tables[idx].error.get_or_insert((
                loc.clone(),
                format!("unterminated COPY block (no `\\.` line) started at line {line}; the dump ends at byte {}", sp.offset()),
            ));
            self.set_fault(loc, "the dump ends inside a COPY block (truncated file?)");
            return Ok(());
        };
        if start.is_none() {
            first_line = end_line;
        }
        let t = &mut self.tables[idx];
        t.rows += rows;
        if let Some(m) = bad_map
            && t.error.is_none()
        {
            t.error = Some((Location::file(self.file).line(line).byte(offset), m));
        }
        t.blocks.push(Block {
            start: start.unwrap_or(end),
            end,
            line: first_line,
            kind: BlockKind::Copy { map },
            charset: self.charset,
        });
        Ok(())
    }

    fn pg_type(&self, toks: &[Tok]) -> Result<ColType, String> {
        pg_type(toks, &self.enums, &self.domains)
    }

    fn finish(&mut self) {
        for t in &mut self.tables {
            for (c, stats) in &t.numeric {
                if let Some(col) = t.columns.get_mut(*c) {
                    col.ty = stats.resolve();
                }
            }
            t.numeric.clear();
            for col in &mut t.columns {
                if let ColType::List(inner) = &col.ty
                    && **inner == ColType::Numeric
                {
                    col.ty = ColType::List(Box::new(ColType::Text));
                }
            }
        }
        let skip = self.skip;
        self.tables.retain(|t| !skip(&t.stream));
    }
}

fn first_word(body: &[u8]) -> String {
    let end = body
        .iter()
        .position(|c| !c.is_ascii_alphabetic())
        .unwrap_or(body.len());
    String::from_utf8_lossy(&body[..end]).to_ascii_uppercase()
}

/// Names inside the first parenthesised list of `toks`.
fn paren_names(toks: &[Tok]) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for t in toks {
        match t {
            Tok::Punct(b'(') => inside = true,
            Tok::Punct(b')') if inside => break,
            t if inside => {
                if let Some(n) = t.name() {
                    out.push(n.to_owned());
                }
            }
            _ => {}
        }
    }
    out
}

const CONSTRAINT_WORDS: &[&str] = &[
    "NOT",
    "NULL",
    "DEFAULT",
    "CONSTRAINT",
    "PRIMARY",
    "UNIQUE",
    "CHECK",
    "REFERENCES",
    "GENERATED",
    "COLLATE",
    "AUTO_INCREMENT",
    "COMMENT",
    "CHARACTER",
    "CHARSET",
    "ON",
    "INVISIBLE",
    "VISIBLE",
    "STORAGE",
    "COMPRESSION",
    "KEY",
];

/// Splits a column definition into its type tokens and the rest.
fn type_tokens(toks: &[Tok]) -> (Vec<Tok>, &[Tok]) {
    let mut depth = 0;
    let mut k = 0;
    while k < toks.len() {
        let t = &toks[k];
        match t {
            Tok::Punct(b'(') | Tok::Punct(b'[') => depth += 1,
            Tok::Punct(b')') | Tok::Punct(b']') => depth -= 1,
            Tok::Word(w)
                if depth == 0 && CONSTRAINT_WORDS.iter().any(|c| w.eq_ignore_ascii_case(c)) =>
            {
                // `character varying` / `character(3)` is a type, not `CHARACTER SET`.
                let charset = w.eq_ignore_ascii_case("CHARACTER")
                    && toks.get(k + 1).is_some_and(|n| n.is("SET"));
                if !w.eq_ignore_ascii_case("CHARACTER") || charset || k > 0 {
                    break;
                }
            }
            _ => {}
        }
        k += 1;
    }
    (toks[..k].to_vec(), &toks[k..])
}

fn mods(toks: &[Tok]) -> Vec<i64> {
    let mut out = Vec::new();
    let mut inside = false;
    for t in toks {
        match t {
            Tok::Punct(b'(') => inside = true,
            Tok::Punct(b')') => break,
            Tok::Num(n) if inside => out.push(n.parse().unwrap_or(-1)),
            Tok::Punct(b'-') => {}
            _ => {}
        }
    }
    out
}

fn decimal_type(m: &[i64]) -> ColType {
    match m {
        [p, s] if (1..=38).contains(p) && (0..=*p).contains(s) => {
            ColType::Decimal(*p as u8, *s as i8)
        }
        [p] if (1..=38).contains(p) => ColType::Decimal(*p as u8, 0),
        [] => ColType::Numeric,
        _ => ColType::Text,
    }
}

/// Maps a PostgreSQL type, as pg_dump writes it, to a column type.
///
/// # Errors
/// The type is neither built in nor an enum or domain defined in the dump.
pub fn pg_type(
    toks: &[Tok],
    enums: &std::collections::HashSet<String>,
    domains: &HashMap<String, ColType>,
) -> Result<ColType, String> {
    let array =
        toks.iter().any(|t| t == &Tok::Punct(b'[')) || toks.last().is_some_and(|t| t.is("ARRAY"));
    let words: Vec<String> = {
        let mut w = Vec::new();
        let mut depth = 0;
        let mut k = 0;
        while k < toks.len() {
            match &toks[k] {
                Tok::Punct(b'(') | Tok::Punct(b'[') => depth += 1,
                Tok::Punct(b')') | Tok::Punct(b']') => depth -= 1,
                Tok::Punct(b'.') if depth == 0 => {
                    // schema-qualified: keep the full name for user types
                    if let Some(last) = w.pop() {
                        if let Some(next) = toks.get(k + 1).and_then(Tok::name) {
                            w.push(format!("{last}.{next}"));
                            k += 1;
                        } else {
                            w.push(last);
                        }
                    }
                }
                Tok::Word(s) if depth == 0 && !s.eq_ignore_ascii_case("ARRAY") => {
                    w.push(s.to_ascii_lowercase())
                }
                Tok::Ident(s) if depth == 0 => w.push(s.clone()),
                _ => {}
            }
            k += 1;
        }
        w
    };
    let joined = words.join(" ");
    let name = joined.strip_prefix("pg_catalog.").unwrap_or(&joined);
    let m = mods(toks);
    let base = match name {
        "smallint" | "int2" => ColType::Int16,
        "integer" | "int" | "int4" => ColType::Int32,
        "bigint" | "int8" | "oid" => ColType::Int64,
        "real" | "float4" => ColType::Float32,
        "double precision" | "float8" => ColType::Float64,
        "float" => {
            if m.first().is_some_and(|&p| p <= 24) {
                ColType::Float32
            } else {
                ColType::Float64
            }
        }
        "numeric" | "decimal" => decimal_type(&m),
        "boolean" | "bool" => ColType::Bool,
        "bytea" => ColType::Binary { pg_bytea: true },
        "date" => ColType::Date {
            zero_is_null: false,
        },
        "timestamp" | "timestamp without time zone" => ColType::Timestamp {
            utc: false,
            zero_is_null: false,
        },
        "timestamp with time zone" | "timestamptz" => ColType::Timestamp {
            utc: true,
            zero_is_null: false,
        },
        "time" | "time without time zone" => ColType::Time,
        "text"
        | "character varying"
        | "varchar"
        | "character"
        | "char"
        | "bpchar"
        | "name"
        | "citext"
        | "uuid"
        | "json"
        | "jsonb"
        | "xml"
        | "inet"
        | "cidr"
        | "macaddr"
        | "macaddr8"
        | "interval"
        | "money"
        | "tsvector"
        | "tsquery"
        | "bit"
        | "bit varying"
        | "varbit"
        | "time with time zone"
        | "timetz"
        | "point"
        | "line"
        | "lseg"
        | "box"
        | "path"
        | "polygon"
        | "circle"
        | "regclass"
        | "regproc"
        | "regtype"
        | "int4range"
        | "int8range"
        | "numrange"
        | "tsrange"
        | "tstzrange"
        | "daterange"
        | "pg_lsn"
        | "txid_snapshot"
        | "hstore"
        | "ltree"
        | "geometry"
        | "geography" => ColType::Text,
        other => {
            let short = other.rsplit('.').next().unwrap_or(other);
            if enums.contains(other) || enums.contains(short) {
                ColType::Text
            } else if let Some(t) = domains.get(other).or_else(|| domains.get(short)) {
                t.clone()
            } else {
                return Err(format!("unknown type {other:?}"));
            }
        }
    };
    Ok(if array {
        ColType::List(Box::new(base))
    } else {
        base
    })
}

/// Maps a MySQL / MariaDB column type to a column type.
///
/// # Errors
/// The type is unknown.
pub fn mysql_type(toks: &[Tok]) -> Result<ColType, String> {
    let name = toks
        .first()
        .and_then(Tok::name)
        .unwrap_or("")
        .to_ascii_lowercase();
    let unsigned = toks.iter().any(|t| t.is("unsigned"));
    let m = mods(toks);
    Ok(match name.as_str() {
        "tinyint" | "bool" | "boolean" => {
            if unsigned {
                ColType::Int16
            } else {
                ColType::Int8
            }
        }
        "smallint" => {
            if unsigned {
                ColType::Int32
            } else {
                ColType::Int16
            }
        }
        "mediumint" => ColType::Int32,
        "int" | "integer" => {
            if unsigned {
                ColType::Int64
            } else {
                ColType::Int32
            }
        }
        "bigint" => {
            if unsigned {
                ColType::UInt64
            } else {
                ColType::Int64
            }
        }
        "bit" => ColType::Int64,
        "year" => ColType::Int16,
        "decimal" | "numeric" | "dec" | "fixed" => match m.as_slice() {
            [] => ColType::Decimal(10, 0),
            m => decimal_type(m),
        },
        "float" => ColType::Float32,
        "double" | "real" => ColType::Float64,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set"
        | "json" | "time" | "uuid" | "inet4" | "inet6" | "nchar" | "nvarchar" => ColType::Text,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "geometry"
        | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
        | "multipolygon" | "geometrycollection" => ColType::Binary { pg_bytea: false },
        "date" => ColType::Date { zero_is_null: true },
        "datetime" => ColType::Timestamp {
            utc: false,
            zero_is_null: true,
        },
        "timestamp" => ColType::Timestamp {
            utc: true,
            zero_is_null: true,
        },
        other => return Err(format!("unknown type {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_str(s: &str, d: Dialect) -> Scan {
        scan(s.as_bytes(), d, "t.sql", &|_| false).unwrap()
    }

    #[test]
    fn pg_tables_types_keys_and_blocks() {
        let dump = "SET client_encoding = 'UTF8';\n\\restrict abc\nCREATE TYPE public.mood AS ENUM ('a');\n\
CREATE TABLE public.\"Odd Name\" (\n    id integer NOT NULL,\n    key character varying,\n    amount numeric(12,2),\n    free numeric,\n    at timestamp with time zone,\n    tags text[],\n    m public.mood,\n    name character varying(64) DEFAULT 'x'::character varying NOT NULL\n);\n\
COPY public.\"Odd Name\" (id, key, amount, free, at, tags, m, name) FROM stdin;\n1\tk\t1.50\t3.14159\t\\N\t{a}\ta\tx\n2\tk\t\\N\t-2\t2025-01-01 00:00:00+00\t{}\ta\ty\n\\.\n\
ALTER TABLE ONLY public.\"Odd Name\"\n    ADD CONSTRAINT odd_pkey PRIMARY KEY (id);\n";
        let s = scan_str(dump, Dialect::Postgres);
        assert_eq!(s.tables.len(), 1);
        let t = &s.tables[0];
        assert_eq!(t.stream, "public.Odd Name");
        assert_eq!(t.rows, 2);
        assert_eq!(t.primary_key, vec!["id"]);
        assert!(t.error.is_none(), "{:?}", t.error);
        let tys: Vec<_> = t.columns.iter().map(|c| c.ty.clone()).collect();
        assert_eq!(tys[0], ColType::Int32);
        assert_eq!(tys[1], ColType::Text);
        assert_eq!(tys[2], ColType::Decimal(12, 2));
        assert_eq!(tys[3], ColType::Decimal(38, 5));
        assert_eq!(tys[5], ColType::List(Box::new(ColType::Text)));
        assert_eq!(tys[6], ColType::Text);
        assert!(!t.columns[7].nullable);
        let b = &t.blocks[0];
        assert!(dump[b.start as usize..b.end as usize].starts_with("1\tk\t1.50"));
    }

    #[test]
    fn long_copy_blocks_split_at_row_boundaries_with_their_lines() {
        let mut dump = String::from(
            "CREATE TABLE public.t (id integer, s text);\nCOPY public.t (id, s) FROM stdin;\n",
        );
        for i in 1..=100 {
            dump.push_str(&format!("{i}\trow {i}\n"));
        }
        dump.push_str("\\.\n");
        let s = scan_split(
            dump.as_bytes(),
            Dialect::Postgres,
            "t.sql",
            &|_| false,
            Some(100),
        )
        .unwrap();
        let t = &s.tables[0];
        assert_eq!(t.rows, 100);
        assert!(t.blocks.len() > 5, "{} blocks", t.blocks.len());
        let mut next_row = 1;
        for b in &t.blocks {
            let text = &dump[b.start as usize..b.end as usize];
            if text.is_empty() {
                continue;
            }
            // Row i is on line i + 2; every part starts on a whole row.
            assert!(text.starts_with(&format!("{next_row}\t")), "{text:?}");
            assert_eq!(b.line, next_row + 2);
            next_row += text.lines().count() as u64;
        }
        assert_eq!(next_row, 101, "the parts cover every row once");
    }

    #[test]
    fn copy_rows_across_buffer_ends_scan_alike() {
        // Lines cut by the reader's buffer at every possible place, `\.` included,
        // an empty COPY block, and CRLF line ends.
        let mut dump = String::from(
            "CREATE TABLE public.t (id integer, s text, n numeric);\n\
             COPY public.t (id, s, n) FROM stdin;\n",
        );
        for i in 1..=60 {
            let pad = "x".repeat(i % 13);
            dump.push_str(&format!("{i}\t{pad}\t{i}.{}\n", i % 7));
        }
        dump.push_str("\\.\r\nCOPY public.t (id, s, n) FROM stdin;\n\\.\nSELECT 1;\n");
        dump.push_str("COPY public.t (id, s, n) FROM stdin;\n61\ta\t-0.125\r\n\\.\n");
        let whole = scan_split(
            dump.as_bytes(),
            Dialect::Postgres,
            "t.sql",
            &|_| false,
            Some(90),
        )
        .unwrap();
        let t = &whole.tables[0];
        assert_eq!(t.rows, 61);
        assert_eq!(t.columns[2].ty, ColType::Decimal(38, 3));
        assert!(whole.tables.iter().all(|t| t.error.is_none()));
        for cap in 1..24 {
            let r = std::io::BufReader::with_capacity(cap, dump.as_bytes());
            let s = scan_split(r, Dialect::Postgres, "t.sql", &|_| false, Some(90)).unwrap();
            assert_eq!(
                format!("{:?}", s.tables),
                format!("{:?}", whole.tables),
                "{cap}"
            );
        }
        // Truncated inside the block: the table is broken, at the first row's line.
        let cut = &dump[..dump.find("\\.\r\n").unwrap() - 3];
        for cap in [1, 5, 1 << 20] {
            let r = std::io::BufReader::with_capacity(cap, cut.as_bytes());
            let s = scan_split(r, Dialect::Postgres, "t.sql", &|_| false, None).unwrap();
            let (loc, msg) = s.tables[0].error.as_ref().unwrap();
            assert!(msg.contains("unterminated COPY block"), "{msg}");
            assert!(loc.to_string().starts_with("t.sql:3 "), "{loc}");
        }
    }

    #[test]
    fn inherited_columns_come_first() {
        let dump = "CREATE TABLE public.base (\n    id integer NOT NULL,\n    name jsonb\n);\n\
CREATE TABLE public.child (\n    tag text NOT NULL,\n    name jsonb NOT NULL\n)\nINHERITS (public.base);\n\
COPY public.child (id, name, tag) FROM stdin;\n1\t{}\tt\n\\.\n";
        let s = scan_str(dump, Dialect::Postgres);
        let child = &s.tables[1];
        assert!(child.error.is_none(), "{:?}", child.error);
        let names: Vec<_> = child.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "name", "tag"]);
        assert!(!child.columns[1].nullable);
        assert_eq!(child.rows, 1);
    }

    #[test]
    fn faults_spare_earlier_tables() {
        let dump = "CREATE TABLE public.a (id integer);\nCOPY public.a (id) FROM stdin;\n1\n\\.\n\
garbage here;\nCREATE TABLE public.b (id integer);\nCOPY public.b (id) FROM stdin;\n1\n";
        let s = scan_str(dump, Dialect::Postgres);
        assert!(s.tables[0].error.is_none());
        let e = s.tables[1].error.as_ref().unwrap();
        assert_eq!(e.0.line, Some(5), "{e:?}");
        let unknown = scan_str("CREATE TABLE public.c (x frobnicator);", Dialect::Postgres);
        assert!(
            unknown.tables[0]
                .error
                .as_ref()
                .unwrap()
                .1
                .contains("frobnicator")
        );
    }

    #[test]
    fn mysql_tables_and_inserts() {
        let dump = "/*!40101 SET NAMES latin1 */;\nCREATE TABLE `t` (\n  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,\n  `p` decimal(24,8) DEFAULT NULL,\n  `d` datetime DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n\
LOCK TABLES `t` WRITE;\nINSERT INTO `t` VALUES (1,1.5,NULL),(2,NULL,'2020-01-01 00:00:00');\nINSERT INTO `t` VALUES (3,0,NULL);\nUNLOCK TABLES;\n";
        let s = scan_str(dump, Dialect::MySql);
        let t = &s.tables[0];
        assert_eq!(t.stream, "t");
        assert_eq!(t.rows, 3);
        assert_eq!(t.primary_key, vec!["id"]);
        assert_eq!(t.columns[0].ty, ColType::Int64);
        assert_eq!(t.columns[1].ty, ColType::Decimal(24, 8));
        assert_eq!(t.blocks.len(), 1);
        assert_eq!(
            t.blocks[0].charset,
            Charset::Other(encoding_rs::WINDOWS_1252)
        );
    }
}
