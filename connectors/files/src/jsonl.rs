//! JSON-lines files (`.jsonl`, `.ndjson`): one JSON object per line, one stream per file.
//!
//! Keys become columns in the order first seen. Numbers keep their exact text (so
//! `12.30` becomes a decimal with scale 2); strings are typed like CSV text (dates,
//! timestamps, decimals sent as strings); nested objects and arrays are kept as JSON
//! text. A key that appears only after the inference sample is an error naming the
//! line, never a silently dropped value.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use ferry_core::{Error, Location, Result};
use serde_json::Value;

use crate::typing::{ColumnBuilder, ColumnKind, Inference};

/// What discovery learnt about a JSON-lines file.
#[derive(Debug, Clone)]
pub struct JsonlTable {
    /// The file.
    pub path: PathBuf,
    /// Name shown in errors.
    pub display: String,
    /// Column names.
    pub names: Vec<String>,
    /// Column kinds.
    pub kinds: Vec<ColumnKind>,
    /// Lines seen by inference, and whether that was all of them.
    pub complete_scan: bool,
    /// Rows per batch.
    pub batch_rows: usize,
}

impl JsonlTable {
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

enum Text<'a> {
    Null,
    Plain(std::borrow::Cow<'a, str>),
    Nested(String),
}

fn value_text(v: &Value) -> Text<'_> {
    match v {
        Value::Null => Text::Null,
        Value::Bool(b) => Text::Plain(if *b { "true".into() } else { "false".into() }),
        Value::Number(n) => Text::Plain(n.to_string().into()),
        Value::String(s) => Text::Plain(s.as_str().into()),
        Value::Array(_) | Value::Object(_) => Text::Nested(v.to_string()),
    }
}

fn lines(path: &Path) -> Result<impl Iterator<Item = std::io::Result<String>>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(BufReader::with_capacity(1 << 16, f).lines())
}

fn parse_line(
    display: &str,
    no: u64,
    line: &str,
) -> Result<Option<serde_json::Map<String, Value>>> {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        Ok(other) => Err(Error::data(
            Location::file(display).line(no),
            format!("expected a JSON object, found {}", kind_name(&other)),
        )),
        Err(e) => Err(Error::data(
            Location::file(display)
                .line(no)
                .column(e.column() as u64, None),
            e.to_string(),
        )),
    }
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Infers the columns of a JSON-lines file from up to `infer_rows` lines.
///
/// # Errors
/// Unreadable file, invalid JSON, a line that is not an object.
pub fn discover(
    path: &Path,
    display: &str,
    infer_rows: usize,
    batch_rows: usize,
) -> Result<JsonlTable> {
    let mut names: Vec<String> = Vec::new();
    let mut index = std::collections::HashMap::new();
    let mut inf: Vec<Inference> = Vec::new();
    let mut complete = true;
    let mut rows = 0usize;
    for (i, line) in lines(path)?.enumerate() {
        if rows >= infer_rows {
            complete = false;
            break;
        }
        let line = line.map_err(|e| Error::io(path, e))?;
        let Some(obj) = parse_line(display, i as u64 + 1, &line)? else {
            continue;
        };
        rows += 1;
        for (k, v) in &obj {
            let col = *index.entry(k.clone()).or_insert_with(|| {
                names.push(k.clone());
                inf.push(Inference::new(false, true));
                names.len() - 1
            });
            match value_text(v) {
                Text::Null => {}
                Text::Plain(s) if s.is_empty() => {}
                Text::Plain(s) => inf[col].observe(&s),
                Text::Nested(_) => inf[col].force_text(),
            }
        }
    }
    if names.is_empty() {
        return Err(Error::data(Location::file(display), "no JSON object found"));
    }
    Ok(JsonlTable {
        path: path.to_owned(),
        display: display.to_owned(),
        kinds: inf.iter().map(Inference::kind).collect(),
        names,
        complete_scan: complete,
        batch_rows,
    })
}

/// Reads a discovered file, calling `emit` per batch. Runs synchronously.
///
/// # Errors
/// Invalid JSON, unknown keys, values that do not fit; each names the line.
pub fn read(t: &JsonlTable, mut emit: impl FnMut(RecordBatch) -> Result<()>) -> Result<u64> {
    let schema = t.schema();
    let index: std::collections::HashMap<&str, usize> = t
        .names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut builders: Vec<ColumnBuilder> = t
        .kinds
        .iter()
        .map(|k| ColumnBuilder::new(*k, t.batch_rows))
        .collect();
    let mut row: Vec<Option<String>> = vec![None; t.names.len()];
    let (mut in_batch, mut total) = (0usize, 0u64);
    for (i, line) in lines(&t.path)?.enumerate() {
        let no = i as u64 + 1;
        let line = line.map_err(|e| Error::io(&t.path, e))?;
        let Some(obj) = parse_line(&t.display, no, &line)? else {
            continue;
        };
        row.iter_mut().for_each(|v| *v = None);
        for (k, v) in &obj {
            let Some(&col) = index.get(k.as_str()) else {
                return Err(Error::data(
                    Location::file(&t.display).line(no),
                    format!(
                        "key {k:?} is not among the columns inferred from the first lines; it would be lost"
                    ),
                ));
            };
            row[col] = match value_text(v) {
                Text::Null => None,
                Text::Plain(s) => Some(s.into_owned()),
                Text::Nested(s) => Some(s),
            };
        }
        for (c, b) in builders.iter_mut().enumerate() {
            b.append(row[c].as_deref()).map_err(|why| {
                Error::data(
                    Location::file(&t.display)
                        .line(no)
                        .column(c as u64 + 1, Some(&t.names[c])),
                    format!("{why} (column type {})", t.kinds[c]),
                )
            })?;
        }
        in_batch += 1;
        total += 1;
        if in_batch == t.batch_rows {
            emit(crate::csv::finish(&schema, &mut builders)?)?;
            in_batch = 0;
        }
    }
    if in_batch > 0 {
        emit(crate::csv::finish(&schema, &mut builders)?)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;
    use arrow::datatypes::{DataType, Decimal128Type};

    #[test]
    fn numbers_stay_exact_and_nested_values_stay_json() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("o.jsonl");
        std::fs::write(&p, "{\"id\":1,\"total\":12.30,\"tags\":[\"a\"],\"d\":\"2025-01-02\"}\n\n{\"id\":2,\"total\":0.1,\"tags\":null}\n").unwrap();
        let t = discover(&p, "o.jsonl", 1000, 100).unwrap();
        assert_eq!(t.kinds[1].data_type(), DataType::Decimal128(18, 2));
        let mut batches = Vec::new();
        read(&t, |b| {
            batches.push(b);
            Ok(())
        })
        .unwrap();
        let b = &batches[0];
        assert_eq!(b.column(1).as_primitive::<Decimal128Type>().value(1), 10);
        assert_eq!(b.column(2).as_string::<i32>().value(0), "[\"a\"]");
        assert_eq!(b.schema().field(3).data_type(), &DataType::Date32);
    }

    #[test]
    fn late_keys_and_bad_lines_are_located() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.jsonl");
        std::fs::write(&p, "{\"a\":1}\n{\"a\":2,\"b\":3}\n").unwrap();
        let t = discover(&p, "x.jsonl", 1, 100).unwrap();
        let err = read(&t, |_| Ok(())).unwrap_err().to_string();
        assert!(err.starts_with("x.jsonl:2"), "{err}");
        std::fs::write(&p, "{\"a\":1}\n[1]\n").unwrap();
        assert!(
            discover(&p, "x.jsonl", 10, 10)
                .unwrap_err()
                .to_string()
                .contains("x.jsonl:2")
        );
    }
}
