//! CSV (and TSV, `;`-separated, `|`-separated) files as streams.
//!
//! Discovery sniffs the delimiter, the encoding (UTF-8, or Windows-1252 when the text
//! is not valid UTF-8, as many SaaS exports are) and whether the first row is a
//! header, then infers each column's type with [`crate::typing`]. Files up to
//! [`FULL_SCAN_BYTES`] are typed from every row; larger ones from the first
//! `infer_rows` rows, and a later value that does not fit is an error naming the line.
//!
//! An empty unquoted field is NULL; a quoted empty field (`""`) is the empty string.

pub mod parser;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use ferry_core::{Error, Location, Result};
use serde::Deserialize;

use crate::typing::{ColumnBuilder, ColumnKind, Inference, column_names, looks_like_header};
use parser::{CsvParser, ParseError, Record};

/// Files up to this size are typed from all their rows.
pub const FULL_SCAN_BYTES: u64 = 64 << 20;

/// Options for reading CSV files. Every option defaults to automatic detection.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvOptions {
    /// Field delimiter, one character (default: sniffed among `,` `;` tab `|`).
    #[serde(default)]
    pub delimiter: Option<char>,
    /// `utf-8`, `windows-1252`, `latin-1` or `auto` (default).
    #[serde(default)]
    pub encoding: Option<String>,
    /// Whether the first row holds column names (default: detected).
    #[serde(default)]
    pub header: Option<bool>,
    /// Accept `12,50` as a decimal (default: only in files not separated by commas).
    #[serde(default)]
    pub decimal_comma: Option<bool>,
    /// Rows used to infer types in files larger than 64 MiB (default 100000).
    #[serde(default)]
    pub infer_rows: Option<usize>,
    /// Texts that mean NULL besides the empty unquoted field, e.g. `["NULL", "\\N"]`.
    #[serde(default)]
    pub null_values: Vec<String>,
    /// Column types that override inference: `{ amount = "decimal(12,2)", code = "text" }`.
    #[serde(default)]
    pub column_types: BTreeMap<String, String>,
    /// Rows per Arrow batch (default 65536).
    #[serde(default)]
    pub batch_rows: Option<usize>,
}

/// Text encodings ferry reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 (a leading byte-order mark is skipped).
    Utf8,
    /// Windows-1252, the usual "ANSI" of Western European exports.
    Windows1252,
    /// ISO-8859-1: every byte is the code point of the same value.
    Latin1,
}

impl Encoding {
    fn from_option(v: Option<&str>) -> Result<Option<Encoding>> {
        Ok(match v.map(|s| s.to_ascii_lowercase().replace('_', "-")) {
            None => None,
            Some(s) if s == "auto" => None,
            Some(s) if s == "utf-8" || s == "utf8" => Some(Encoding::Utf8),
            Some(s) if s == "windows-1252" || s == "cp1252" || s == "ansi" => {
                Some(Encoding::Windows1252)
            }
            Some(s) if s == "latin-1" || s == "latin1" || s == "iso-8859-1" => {
                Some(Encoding::Latin1)
            }
            Some(s) => {
                return Err(Error::config(
                    "csv.encoding",
                    format!("unknown encoding {s:?}; use utf-8, windows-1252, latin-1 or auto"),
                ));
            }
        })
    }

    /// Name as written in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Windows1252 => "windows-1252",
            Encoding::Latin1 => "latin-1",
        }
    }
}

/// What discovery found out about one CSV file.
#[derive(Debug, Clone)]
pub struct CsvTable {
    /// The file.
    pub path: PathBuf,
    /// Name shown in errors (the path as given).
    pub display: String,
    /// Delimiter byte.
    pub delimiter: u8,
    /// Encoding.
    pub encoding: Encoding,
    /// Byte-order-mark length to skip.
    pub bom: usize,
    /// Whether the first record is a header.
    pub header: bool,
    /// Column names.
    pub names: Vec<String>,
    /// Column kinds.
    pub kinds: Vec<ColumnKind>,
    /// Rows seen while inferring, and whether that was every row.
    pub rows_seen: u64,
    /// Whether `rows_seen` covers the whole file.
    pub complete_scan: bool,
    /// Texts meaning NULL.
    pub null_values: Vec<String>,
    /// Rows per batch.
    pub batch_rows: usize,
}

impl CsvTable {
    /// The Arrow schema.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.names
                .iter()
                .zip(&self.kinds)
                .map(|(n, k)| Field::new(n, k.data_type(), true))
                .collect::<Vec<_>>(),
        ))
    }
}

fn open(path: &Path) -> Result<BufReader<File>> {
    File::open(path)
        .map(|f| BufReader::with_capacity(1 << 16, f))
        .map_err(|e| Error::io(path, e))
}

fn parse_error(display: &str, e: ParseError) -> Error {
    match e {
        ParseError::Io(io) => Error::io(display, io),
        ParseError::UnterminatedQuote { line, byte }
        | ParseError::AfterQuote { line, byte, .. } => {
            Error::data(Location::file(display).line(line).byte(byte), e.to_string())
        }
    }
}

/// Sniffs the delimiter from a sample: the candidate that splits the first records
/// into the same number (> 1) of fields, preferring more fields.
fn sniff_delimiter(sample: &[u8]) -> u8 {
    // Drop the last, possibly cut, line.
    let cut = memchr::memrchr(b'\n', sample).map_or(sample.len(), |i| i + 1);
    let sample = &sample[..cut];
    let mut best = (0usize, b',');
    for &d in b",;\t|" {
        let mut p = CsvParser::new(sample, d);
        let mut rec = Record::default();
        let mut counts = Vec::new();
        while counts.len() < 50 {
            match p.next_record(&mut rec) {
                Ok(true) => counts.push(rec.len()),
                _ => break,
            }
        }
        if let Some(&first) = counts.first()
            && first > 1
            && counts.iter().all(|&c| c == first)
        {
            let score = first * 1000 + counts.len();
            if score > best.0 {
                best = (score, d);
            }
        }
    }
    best.1
}

/// Decodes one field's bytes.
pub(crate) fn decode<'a>(
    bytes: &'a [u8],
    encoding: Encoding,
    scratch: &'a mut String,
) -> std::result::Result<&'a str, usize> {
    match encoding {
        Encoding::Utf8 => std::str::from_utf8(bytes).map_err(|e| e.valid_up_to()),
        Encoding::Latin1 => {
            scratch.clear();
            scratch.extend(bytes.iter().map(|&b| b as char));
            Ok(scratch.as_str())
        }
        Encoding::Windows1252 => {
            // These five bytes have no character in Windows-1252: a sign the encoding is wrong.
            if let Some(i) = bytes
                .iter()
                .position(|b| matches!(b, 0x81 | 0x8D | 0x8F | 0x90 | 0x9D))
            {
                return Err(i);
            }
            scratch.clear();
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            scratch.push_str(&text);
            Ok(scratch.as_str())
        }
    }
}

fn decode_error(t: &CsvTable, rec: &Record, i: usize, at: usize) -> Error {
    let f = rec.fields[i];
    let name = t.names.get(i).map(String::as_str);
    Error::data(
        Location::file(&t.display)
            .line(f.line)
            .column(i as u64 + 1, name)
            .byte(f.byte + u64::from(f.quoted) + at as u64),
        format!(
            "byte 0x{:02X} is not valid {}; set the source's csv encoding (utf-8, windows-1252, latin-1)",
            rec.get(i).get(at).copied().unwrap_or(0),
            t.encoding.name()
        ),
    )
}

/// Discovers delimiter, encoding, header and column types of a CSV file.
///
/// # Errors
/// Unreadable file, malformed quoting, undecodable bytes, bad options.
pub fn discover(path: &Path, display: &str, options: &CsvOptions) -> Result<CsvTable> {
    let mut sample = Vec::with_capacity(1 << 20);
    open(path)?
        .take(1 << 20)
        .read_to_end(&mut sample)
        .map_err(|e| Error::io(path, e))?;
    let bom = if sample.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    let delimiter = match options.delimiter {
        Some(c) if c.is_ascii() => c as u8,
        Some(c) => {
            return Err(Error::config(
                "csv.delimiter",
                format!("{c:?} is not a one-byte character"),
            ));
        }
        None => sniff_delimiter(&sample[bom..]),
    };
    let encoding = match Encoding::from_option(options.encoding.as_deref())? {
        Some(e) => e,
        None => {
            let body = &sample[bom..];
            match std::str::from_utf8(body) {
                Ok(_) => Encoding::Utf8,
                // A multi-byte character cut by the end of the sample is still UTF-8.
                Err(e) if e.error_len().is_none() => Encoding::Utf8,
                Err(_) => Encoding::Windows1252,
            }
        }
    };
    let decimal_comma = options.decimal_comma.unwrap_or(delimiter != b',');
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    let limit = if size <= FULL_SCAN_BYTES {
        usize::MAX
    } else {
        options.infer_rows.unwrap_or(100_000).max(1)
    };

    let mut table = CsvTable {
        path: path.to_owned(),
        display: display.to_owned(),
        delimiter,
        encoding,
        bom,
        header: false,
        names: Vec::new(),
        kinds: Vec::new(),
        rows_seen: 0,
        complete_scan: false,
        null_values: options.null_values.clone(),
        batch_rows: options.batch_rows.unwrap_or(65_536).max(1),
    };
    let mut p = CsvParser::new(open(path)?, delimiter);
    p.skip_prefix(bom).map_err(|e| Error::io(path, e))?;
    let mut rec = Record::default();
    if !p
        .next_record(&mut rec)
        .map_err(|e| parse_error(display, e))?
    {
        return Err(Error::data(
            Location::file(display),
            "the file is empty: no header and no rows",
        ));
    }
    let width = rec.len();
    let mut scratch = String::new();
    let mut first: Vec<Option<String>> = Vec::with_capacity(width);
    table.names = (0..width).map(|i| format!("column_{}", i + 1)).collect();
    for i in 0..width {
        let text = decode(rec.get(i), encoding, &mut scratch)
            .map_err(|at| decode_error(&table, &rec, i, at))?;
        first.push(if text.is_empty() && !rec.fields[i].quoted {
            None
        } else {
            Some(text.to_owned())
        });
    }
    // Until the header question is settled, errors name columns after the first row.
    table.names = column_names(&first, width);
    let mut inf = vec![Inference::new(decimal_comma, false); width];
    let mut seen = 0u64;
    let mut complete = true;
    loop {
        if seen as usize >= limit {
            complete = false;
            break;
        }
        if !p
            .next_record(&mut rec)
            .map_err(|e| parse_error(display, e))?
        {
            break;
        }
        check_width(&table, &rec, width)?;
        for (i, inf) in inf.iter_mut().enumerate() {
            let f = rec.fields[i];
            if f.start == f.end {
                continue;
            }
            let text = decode(rec.get(i), encoding, &mut scratch)
                .map_err(|at| decode_error(&table, &rec, i, at))?;
            if !table.null_values.iter().any(|n| n == text) {
                inf.observe(text);
            }
        }
        seen += 1;
    }
    let kinds_after_first: Vec<ColumnKind> = inf.iter().map(Inference::kind).collect();
    table.header = options
        .header
        .unwrap_or_else(|| seen == 0 || looks_like_header(&first, &kinds_after_first));
    if table.header {
        table.names = column_names(&first, width);
        table.kinds = kinds_after_first;
    } else {
        table.names = column_names(&[], width);
        for (i, v) in first.iter().enumerate() {
            if let Some(v) = v
                .as_deref()
                .filter(|s| !s.is_empty() && !table.null_values.iter().any(|n| n == s))
            {
                inf[i].observe(v);
            }
        }
        table.kinds = inf.iter().map(Inference::kind).collect();
        seen += 1;
    }
    for (col, hint) in &options.column_types {
        let idx = table.names.iter().position(|n| n == col).ok_or_else(|| {
            Error::config(
                "csv.column_types",
                format!("{display} has no column {col:?}"),
            )
        })?;
        let mut kind = ColumnKind::from_hint(hint).ok_or_else(|| {
            Error::config("csv.column_types", format!("unknown type {hint:?} for {col:?}; use text, bool, int, float, decimal(P,S), date or timestamp"))
        })?;
        if let ColumnKind::Decimal { sep, .. } = &mut kind
            && decimal_comma
            && matches!(table.kinds[idx], ColumnKind::Decimal { sep: b',', .. })
        {
            *sep = b',';
        }
        table.kinds[idx] = kind;
    }
    table.rows_seen = seen;
    table.complete_scan = complete;
    Ok(table)
}

fn check_width(t: &CsvTable, rec: &Record, width: usize) -> Result<()> {
    if rec.len() != width {
        return Err(Error::data(
            Location::file(&t.display).line(rec.line()).byte(rec.byte()),
            format!(
                "expected {width} fields as in the first row, found {}",
                rec.len()
            ),
        ));
    }
    Ok(())
}

/// Reads a discovered CSV file, calling `emit` with each batch. Returns the row count.
/// Runs synchronously: call it from a blocking thread.
///
/// # Errors
/// Malformed rows, undecodable bytes, values that do not fit their column's type;
/// every error names the file, line and column.
pub fn read(t: &CsvTable, mut emit: impl FnMut(RecordBatch) -> Result<()>) -> Result<u64> {
    let schema = t.schema();
    let width = t.names.len();
    let mut p = CsvParser::new(open(&t.path)?, t.delimiter);
    p.skip_prefix(t.bom).map_err(|e| Error::io(&t.path, e))?;
    let mut rec = Record::default();
    if t.header
        && !p
            .next_record(&mut rec)
            .map_err(|e| parse_error(&t.display, e))?
    {
        return Ok(0);
    }
    let mut builders: Vec<ColumnBuilder> = t
        .kinds
        .iter()
        .map(|k| ColumnBuilder::new(*k, t.batch_rows))
        .collect();
    let mut scratch = String::new();
    let mut in_batch = 0usize;
    let mut total = 0u64;
    let utf8 = t.encoding == Encoding::Utf8;
    while p
        .next_record(&mut rec)
        .map_err(|e| parse_error(&t.display, e))?
    {
        check_width(t, &rec, width)?;
        // Validating the record at once is faster than field by field; field
        // boundaries are ASCII delimiters, so slices of valid UTF-8 stay valid.
        let whole = if utf8 {
            std::str::from_utf8(&rec.data).ok()
        } else {
            None
        };
        for (i, b) in builders.iter_mut().enumerate() {
            let f = rec.fields[i];
            let text: &str = match whole {
                Some(s) => &s[f.start..f.end],
                None => decode(rec.get(i), t.encoding, &mut scratch)
                    .map_err(|at| decode_error(t, &rec, i, at))?,
            };
            let value = if (text.is_empty() && !f.quoted) || t.null_values.iter().any(|n| n == text)
            {
                None
            } else {
                Some(text)
            };
            if let Err(why) = b.append(value) {
                let mut msg = format!("{why} (column type {})", t.kinds[i]);
                if !t.complete_scan {
                    msg.push_str(&format!(
                        "; the type was inferred from the first {} rows: raise infer_rows or set column_types",
                        t.rows_seen
                    ));
                }
                return Err(Error::data(
                    Location::file(&t.display)
                        .line(f.line)
                        .column(i as u64 + 1, Some(&t.names[i]))
                        .byte(f.byte),
                    msg,
                ));
            }
        }
        in_batch += 1;
        total += 1;
        if in_batch == t.batch_rows {
            emit(finish(&schema, &mut builders)?)?;
            in_batch = 0;
        }
    }
    if in_batch > 0 {
        emit(finish(&schema, &mut builders)?)?;
    }
    Ok(total)
}

pub(crate) fn finish(schema: &SchemaRef, builders: &mut [ColumnBuilder]) -> Result<RecordBatch> {
    let columns = builders.iter_mut().map(ColumnBuilder::finish).collect();
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Decimal128Type};

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn read_all(t: &CsvTable) -> Result<Vec<RecordBatch>> {
        let mut out = Vec::new();
        read(t, |b| {
            out.push(b);
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn windows_1252_semicolons_and_decimal_commas() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "c.csv",
            b"nom;montant;code\nSoci\xe9t\xe9 G\xe9n\xe9rale;12,50;007\n\"\";;010\n",
        );
        let t = discover(&p, "c.csv", &CsvOptions::default()).unwrap();
        assert_eq!(
            (t.delimiter, t.encoding, t.header),
            (b';', Encoding::Windows1252, true)
        );
        let b = &read_all(&t).unwrap()[0];
        assert_eq!(
            b.schema().field(1).data_type(),
            &DataType::Decimal128(18, 2)
        );
        assert_eq!(b.schema().field(2).data_type(), &DataType::Utf8);
        let names = b.column(0).as_string::<i32>();
        assert_eq!(names.value(0), "Société Générale");
        assert!(
            !names.is_null(1) && names.value(1).is_empty(),
            "quoted empty is an empty string"
        );
        let amounts = b.column(1).as_primitive::<Decimal128Type>();
        assert_eq!(amounts.value(0), 1250);
        assert!(amounts.is_null(1));
    }

    #[test]
    fn bad_utf8_is_located() {
        let dir = tempfile::tempdir().unwrap();
        let mut body = b"id,name\n".to_vec();
        for i in 0..10 {
            body.extend_from_slice(format!("{i},café\n").as_bytes());
        }
        let p = write(dir.path(), "u.csv", &body);
        let t = discover(&p, "u.csv", &CsvOptions::default()).unwrap();
        assert_eq!(t.encoding, Encoding::Utf8);
        // Corrupt a byte after discovery, as a file changing under us would.
        body.extend_from_slice(b"10,bad\xff\n");
        std::fs::write(&p, &body).unwrap();
        let err = read_all(&t).unwrap_err().to_string();
        assert!(err.starts_with("u.csv:12:2 (column \"name\""), "{err}");
    }

    #[test]
    fn ragged_rows_and_type_misfits_are_errors_with_places() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "r.csv", b"a,b\n1,2\n3\n");
        let err = discover(&p, "r.csv", &CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("r.csv:3"), "{err}");
        assert!(err.contains("expected 2 fields"), "{err}");

        let p = write(dir.path(), "t.csv", b"a\n1\n2\nx\n");
        let opts = CsvOptions {
            column_types: [("a".to_string(), "int".to_string())].into(),
            ..Default::default()
        };
        let t = discover(&p, "t.csv", &opts).unwrap();
        let err = read_all(&t).unwrap_err().to_string();
        assert!(err.starts_with("t.csv:4:1 (column \"a\""), "{err}");
    }

    #[test]
    fn headerless_files_get_generated_names() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "h.csv", b"1,x\n2,y\n");
        let t = discover(&p, "h.csv", &CsvOptions::default()).unwrap();
        assert!(!t.header);
        assert_eq!(t.names, ["column_1", "column_2"]);
        assert_eq!(read_all(&t).unwrap()[0].num_rows(), 2);
    }
}
