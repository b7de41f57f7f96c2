//! Reading one table's rows from a plain dump: seek to each of its data blocks
//! (found by [`crate::scan`]) and convert `COPY` lines or `INSERT` tuples into Arrow
//! batches of bounded size. [`TableReader`] does the conversion for blocks read
//! from elsewhere (the members of a pg_dump archive, see [`crate::archive`]).

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use ferry_core::{Error, Location, Result};

use crate::columns::Builder;
use crate::scan::{Block, BlockKind, Charset, Table};
use crate::sql::{self, Dialect, Next, Splitter};

/// The Arrow schema of a dumped table.
pub fn schema_of(table: &Table) -> SchemaRef {
    Arc::new(Schema::new(
        table
            .columns
            .iter()
            .map(|c| Field::new(&c.name, c.ty.arrow(), c.nullable))
            .collect::<Vec<_>>(),
    ))
}

/// Rows per batch, and the byte budget after which a batch is cut early.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Rows per batch.
    pub rows: usize,
    /// Bytes of input per batch.
    pub bytes: usize,
}

struct Batcher<'a> {
    table: &'a Table,
    schema: SchemaRef,
    builders: Vec<Builder>,
    charset: Charset,
    rows: usize,
    bytes: usize,
    limits: BatchLimits,
    total: u64,
}

impl<'a> Batcher<'a> {
    fn new(table: &'a Table, limits: BatchLimits) -> Self {
        Batcher {
            table,
            schema: schema_of(table),
            builders: Vec::new(),
            charset: Charset::Utf8,
            rows: 0,
            bytes: 0,
            limits,
            total: 0,
        }
    }

    fn set_charset(
        &mut self,
        charset: Charset,
        send: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        if charset != self.charset || self.builders.is_empty() {
            self.flush(send)?;
            self.charset = charset;
            self.builders = self
                .table
                .columns
                .iter()
                .map(|c| Builder::new(&c.ty, charset))
                .collect();
        }
        Ok(())
    }

    /// Appends a value to column `c`; the error is the reason only.
    fn put(&mut self, c: usize, v: Option<&[u8]>) -> std::result::Result<(), String> {
        let col = &self.table.columns[c];
        if v.is_none() && !col.nullable {
            return Err("NULL in a NOT NULL column".into());
        }
        self.bytes += v.map_or(1, <[u8]>::len);
        self.builders[c].append(v)
    }

    fn end_row(&mut self, send: &mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<()> {
        self.rows += 1;
        if self.rows >= self.limits.rows || self.bytes >= self.limits.bytes {
            self.flush(send)?;
        }
        Ok(())
    }

    fn flush(&mut self, send: &mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let arrays = self.builders.iter_mut().map(Builder::finish).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)?;
        self.total += self.rows as u64;
        self.rows = 0;
        self.bytes = 0;
        send(batch)
    }
}

/// Reads every block of `table` from the plain dump at `path`, handing batches to
/// `send`. Returns the number of rows.
///
/// # Errors
/// The file cannot be read, or a value does not fit its column (the error names
/// the line, column and byte offset).
pub fn read_table(
    path: &Path,
    file: &str,
    table: &Table,
    dialect: Dialect,
    limits: BatchLimits,
    send: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<u64> {
    if let Some((loc, msg)) = &table.error {
        return Err(Error::data(loc.clone(), msg.clone()));
    }
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut r = TableReader::new(table, dialect, limits);
    for block in &table.blocks {
        f.seek(SeekFrom::Start(block.start))
            .map_err(|e| Error::io(path, e))?;
        let reader = BufReader::with_capacity(1 << 20, (&mut f).take(block.end - block.start));
        r.block(reader, file, block, send)?;
    }
    r.finish(send)
}

/// Converts one table's data blocks, each given as a reader of its bytes, into
/// batches: the part of [`read_table`] that does not know where the bytes come
/// from (a plain file, or a decompressed archive member).
pub struct TableReader<'a> {
    b: Batcher<'a>,
    dialect: Dialect,
}

impl<'a> TableReader<'a> {
    /// A reader of `table`'s rows.
    pub fn new(table: &'a Table, dialect: Dialect, limits: BatchLimits) -> Self {
        TableReader {
            b: Batcher::new(table, limits),
            dialect,
        }
    }

    /// Converts one block: `reader` holds exactly the bytes `[block.start,
    /// block.end)`; `file`, `block.start` and `block.line` locate errors.
    ///
    /// # Errors
    /// Reading fails, or a value does not fit its column.
    pub fn block(
        &mut self,
        reader: impl BufRead,
        file: &str,
        block: &Block,
        send: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        let b = &mut self.b;
        b.set_charset(block.charset, send)?;
        match &block.kind {
            BlockKind::Copy { map } => copy_block(reader, file, block, map, b, send),
            BlockKind::Insert {
                pg_backslash_strings,
            } => insert_block(
                reader,
                file,
                block,
                self.dialect,
                *pg_backslash_strings,
                b,
                send,
            ),
        }
    }

    /// Sends the last batch; returns the number of rows read.
    ///
    /// # Errors
    /// `send` fails.
    pub fn finish(mut self, send: &mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<u64> {
        self.b.flush(send)?;
        Ok(self.b.total)
    }
}

fn copy_block(
    mut reader: impl BufRead,
    file: &str,
    block: &Block,
    map: &[usize],
    b: &mut Batcher<'_>,
    send: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let ncols = b.table.columns.len();
    let mut present = vec![false; ncols];
    for &c in map {
        if let Some(p) = present.get_mut(c) {
            *p = true;
        }
    }
    let absent: Vec<usize> = (0..ncols).filter(|&c| !present[c]).collect();
    let mut line = Vec::with_capacity(4096);
    let mut scratch = Vec::new();
    let mut tabs: Vec<usize> = Vec::with_capacity(map.len());
    let mut offset = block.start;
    let mut line_no = block.line;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io(file, e))?;
        if n == 0 {
            break;
        }
        let content = line.strip_suffix(b"\n").unwrap_or(&line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        // Find the fields first: a line of garbage is a broken row, not a bad
        // value of its first column, and no column gets a value of a half row.
        tabs.clear();
        tabs.extend(memchr::memchr_iter(b'\t', content));
        let count = tabs.len() + 1;
        if count != map.len() {
            return Err(Error::data(
                Location::file(file).line(line_no).byte(offset),
                format!(
                    "COPY row has {count} fields, {} expects {}",
                    b.table.stream,
                    map.len()
                ),
            ));
        }
        // Most rows have no backslash at all: no `\N` and nothing to unescape.
        let plain = memchr::memchr(b'\\', content).is_none();
        let mut at = 0usize;
        for (field, &c) in map.iter().enumerate() {
            let end = tabs.get(field).copied().unwrap_or(content.len());
            let raw = &content[at..end];
            let v = if plain {
                Some(raw)
            } else if raw == b"\\N" {
                None
            } else if memchr::memchr(b'\\', raw).is_some() {
                sql::copy_unescape(raw, &mut scratch);
                Some(scratch.as_slice())
            } else {
                Some(raw)
            };
            if let Err(m) = b.put(c, v) {
                let col = &b.table.columns[c];
                return Err(Error::data(
                    Location::file(file)
                        .line(line_no)
                        .column(field as u64 + 1, Some(&col.name))
                        .byte(offset + at as u64),
                    m,
                ));
            }
            at = end + 1;
        }
        for &c in &absent {
            b.put(c, None)
                .map_err(|m| Error::data(Location::file(file).line(line_no).byte(offset), m))?;
        }
        b.end_row(send)?;
        offset += n as u64;
        line_no += 1;
    }
    Ok(())
}

fn insert_block(
    reader: impl BufRead,
    file: &str,
    block: &Block,
    dialect: Dialect,
    pg_backslash_strings: bool,
    b: &mut Batcher<'_>,
    send: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let mut sp = Splitter::new(reader, dialect, block.start, block.line);
    sp.pg_backslash_strings = pg_backslash_strings;
    let ncols = b.table.columns.len();
    loop {
        let st = match sp.next_statement().map_err(|e| Error::io(file, e))? {
            Next::Statement(st) => st,
            Next::Meta { .. } => continue,
            Next::End(None) => break,
            Next::End(Some(st)) => {
                if sql::strip_leading(&st.text).is_empty() {
                    break;
                }
                return Err(Error::data(
                    Location::file(file).line(st.line).byte(st.start),
                    "unterminated INSERT statement",
                ));
            }
        };
        let body = sql::strip_leading(&st.text);
        let body_off = st.start + (body.as_ptr() as usize - st.text.as_ptr() as usize) as u64;
        let upper: Vec<u8> = body.iter().take(7).map(u8::to_ascii_uppercase).collect();
        if !(upper.starts_with(b"INSERT") || upper.starts_with(b"REPLACE")) {
            continue;
        }
        let line0 = st.first_line.max(st.line);
        let loc_at = |at: usize| {
            let line =
                line0 + memchr::memchr_iter(b'\n', &body[..at.min(body.len())]).count() as u64;
            Location::file(file).line(line).byte(body_off + at as u64)
        };
        let head =
            sql::insert_head(body, dialect).map_err(|e| Error::data(loc_at(e.at), e.message))?;
        let map: Vec<usize> = match &head.columns {
            Some(cols) => cols
                .iter()
                .map(|c| {
                    b.table
                        .columns
                        .iter()
                        .position(|tc| &tc.name == c)
                        .ok_or_else(|| {
                            Error::data(loc_at(0), format!("INSERT names unknown column {c:?}"))
                        })
                })
                .collect::<Result<_>>()?,
            None => (0..ncols).collect(),
        };
        let mut present = vec![false; ncols];
        for &c in &map {
            present[c] = true;
        }
        let absent: Vec<usize> = (0..ncols).filter(|&c| !present[c]).collect();
        let mut pending: Option<Error> = None;
        let result = sql::insert_tuples(
            body,
            head.values_at,
            dialect,
            pg_backslash_strings,
            |vals, at| {
                if vals.len() != map.len() {
                    return Err(sql::InsertError {
                        message: format!(
                            "row has {} values, {} expects {}",
                            vals.len(),
                            b.table.stream,
                            map.len()
                        ),
                        at,
                    });
                }
                for (k, v) in vals.iter().enumerate() {
                    let c = map[k];
                    if let Err(m) = b.put(c, v.as_deref()) {
                        return Err(sql::InsertError {
                            message: format!("column {:?}: {m}", b.table.columns[c].name),
                            at,
                        });
                    }
                }
                for &c in &absent {
                    b.put(c, None)
                        .map_err(|message| sql::InsertError { message, at })?;
                }
                if let Err(e) = b.end_row(send) {
                    pending = Some(e);
                    return Err(sql::InsertError {
                        message: String::new(),
                        at,
                    });
                }
                Ok(())
            },
        );
        if let Some(e) = pending {
            return Err(e);
        }
        result.map_err(|e| Error::data(loc_at(e.at), e.message))?;
    }
    Ok(())
}
