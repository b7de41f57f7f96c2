//! Spreadsheets (XLSX, XLSM, XLS, ODS) through calamine: one stream per sheet.
//!
//! Cells become text first and are then typed like CSV values, so a column of
//! amounts becomes an exact decimal. Excel keeps numbers as binary doubles; ferry
//! takes the shortest text that reads back as the same double (what Excel shows),
//! so `0.1` stays `0.1`. Date cells become dates, or UTC timestamps when they carry a
//! time. Error cells (`#DIV/0!`, `#N/A`) are NULL and counted in a warning.

use std::path::Path;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use calamine::{Data, Reader, open_workbook_auto};
use ferry_core::{Error, Location, Result};

use crate::typing::{ColumnBuilder, ColumnKind, column_names, infer_kinds, looks_like_header};

/// One sheet, read into memory (spreadsheets are bounded by Excel's own limits).
#[derive(Debug, Clone)]
pub struct Sheet {
    /// Sheet name.
    pub name: String,
    /// `file.xlsx!Sheet1` for errors.
    pub display: String,
    /// Column names.
    pub names: Vec<String>,
    /// Column kinds.
    pub kinds: Vec<ColumnKind>,
    /// Data rows as text, with the 1-based sheet row of each.
    pub rows: Vec<(u32, Vec<Option<String>>)>,
    /// Error cells turned to NULL.
    pub error_cells: u64,
}

impl Sheet {
    /// The Arrow schema.
    pub fn schema(&self) -> SchemaRef {
        std::sync::Arc::new(Schema::new(
            self.names
                .iter()
                .zip(&self.kinds)
                .map(|(n, k)| Field::new(n, k.data_type(), true))
                .collect::<Vec<_>>(),
        ))
    }

    /// Builds the sheet's batches.
    ///
    /// # Errors
    /// A cell that does not fit its column's type (only possible with type hints).
    pub fn batches(&self, batch_rows: usize) -> Result<Vec<RecordBatch>> {
        let schema = self.schema();
        let mut out = Vec::new();
        for chunk in self.rows.chunks(batch_rows.max(1)) {
            let mut builders: Vec<ColumnBuilder> = self
                .kinds
                .iter()
                .map(|k| ColumnBuilder::new(*k, chunk.len()))
                .collect();
            for (row_no, row) in chunk {
                for (i, b) in builders.iter_mut().enumerate() {
                    let v = row.get(i).and_then(|v| v.as_deref());
                    b.append(v).map_err(|why| {
                        Error::data(
                            Location::file(&self.display)
                                .line(u64::from(*row_no))
                                .column(i as u64 + 1, Some(&self.names[i])),
                            format!("{why} (column type {})", self.kinds[i]),
                        )
                    })?;
                }
            }
            let cols = builders.iter_mut().map(ColumnBuilder::finish).collect();
            out.push(RecordBatch::try_new(schema.clone(), cols)?);
        }
        Ok(out)
    }
}

/// Reads every sheet of a workbook.
///
/// # Errors
/// The file is not a readable spreadsheet.
pub fn read_workbook(path: &Path, display: &str, header: Option<bool>) -> Result<Vec<Sheet>> {
    let mut wb = open_workbook_auto(path).map_err(|e| {
        Error::data(
            Location::file(display),
            format!("not a readable spreadsheet: {e}"),
        )
    })?;
    let mut sheets = Vec::new();
    for name in wb.sheet_names() {
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| Error::data(Location::file(format!("{display}!{name}")), e.to_string()))?;
        let first_row = range.start().map_or(0, |(r, _)| r) + 1;
        let mut error_cells = 0u64;
        let mut rows: Vec<(u32, Vec<Option<String>>)> = range
            .rows()
            .enumerate()
            .map(|(i, cells)| {
                let texts = cells
                    .iter()
                    .map(|c| cell_text(c, &mut error_cells))
                    .collect::<Vec<_>>();
                (first_row + i as u32, texts)
            })
            .filter(|(_, r)| r.iter().any(Option::is_some))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let width = rows.iter().map(|(_, r)| r.len()).max().unwrap_or(0);
        let body_kinds = infer_kinds(rows.iter().skip(1).map(|(_, r)| r.as_slice()), width, false);
        let has_header =
            header.unwrap_or_else(|| rows.len() == 1 || looks_like_header(&rows[0].1, &body_kinds));
        let (names, kinds) = if has_header {
            let header_row = rows.remove(0).1;
            (column_names(&header_row, width), body_kinds)
        } else {
            let all = infer_kinds(rows.iter().map(|(_, r)| r.as_slice()), width, false);
            (column_names(&[], width), all)
        };
        if error_cells > 0 {
            let file = display.to_owned();
            tracing::warn!(sheet = %name, %file, error_cells, "Spreadsheet error cells read as NULL.");
        }
        sheets.push(Sheet {
            display: format!("{display}!{name}"),
            name,
            names,
            kinds,
            rows,
            error_cells,
        });
    }
    Ok(sheets)
}

fn cell_text(c: &Data, error_cells: &mut u64) -> Option<String> {
    match c {
        Data::Empty => None,
        Data::String(s) => Some(s.clone()),
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) => Some(float_text(*f)),
        Data::Bool(b) => Some(b.to_string()),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN && !dt.is_duration() => {
                Some(t.format("%Y-%m-%d").to_string())
            }
            Some(t) => Some(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
            None => Some(dt.as_f64().to_string()),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => Some(s.clone()),
        Data::Error(_) => {
            *error_cells += 1;
            None
        }
    }
}

/// Shortest decimal text that reads back as the same double (Rust's `Display` for
/// f64 never uses an exponent).
fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_keep_their_shown_digits() {
        assert_eq!(float_text(0.1), "0.1");
        assert_eq!(float_text(1234.5), "1234.5");
        assert_eq!(float_text(42.0), "42");
        assert_eq!(float_text(0.1 + 0.2), "0.30000000000000004");
    }
}
