//! Checks a mapping's result against its canonical entity and brings it to the exact
//! canonical Arrow types.
//!
//! Names must match exactly (a missing or an extra column is an error naming the file
//! and the column). Types must be the canonical ones up to lossless representation
//! changes, which are made here: any string type to `Utf8`; any integer to `Int64`;
//! integers and decimals to `Decimal128(28, 8)`, checked value by value (a value with
//! a digit beyond the 8th decimal or more than 20 integer digits is an error naming the
//! record, never rounded); any timestamp to `Timestamp(µs, "UTC")` (a timestamp without a
//! zone is taken as UTC, which is what ERPs store); `Date64` to `Date32`; `NULL`
//! literals to anything. Everything else — floats to decimals above all — needs an
//! explicit `CAST` in the SQL, so a mapping never loses precision silently.

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Schema, SchemaRef};

use crate::ModelError;
use crate::model::{ColumnType, DECIMAL_SCALE, EntityDef};

/// A checked plan to turn a mapping's batches into canonical batches.
#[derive(Debug, Clone)]
pub struct Conformer {
    origin: String,
    schema: SchemaRef,
    /// For each canonical column, the index of the produced column.
    sources: Vec<usize>,
    required: Vec<usize>,
    source_id: Option<usize>,
}

fn integer(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
    )
}

/// Whether `from` converts to `to` without loss.
pub fn converts(from: &DataType, to: ColumnType) -> bool {
    if from == &DataType::Null {
        return true;
    }
    match to {
        ColumnType::String => matches!(
            from,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ),
        ColumnType::Int64 => integer(from),
        ColumnType::Bool => from == &DataType::Boolean,
        ColumnType::Date => matches!(from, DataType::Date32 | DataType::Date64),
        ColumnType::Timestamp => matches!(from, DataType::Timestamp(_, _)),
        ColumnType::Decimal => match from {
            DataType::Decimal128(_, s) => *s >= 0,
            t => integer(t) || t == &DataType::UInt64,
        },
    }
}

impl Conformer {
    /// Checks `produced` (the mapping's output schema) against `def`.
    ///
    /// # Errors
    /// A missing, extra or wrongly typed column, naming `origin` and the column.
    pub fn new(def: &EntityDef, origin: &str, produced: &Schema) -> Result<Conformer, ModelError> {
        let mut sources = Vec::with_capacity(def.columns.len());
        for c in &def.columns {
            let matches: Vec<usize> = produced
                .fields()
                .iter()
                .enumerate()
                .filter(|(_, f)| f.name() == &c.name)
                .map(|(i, _)| i)
                .collect();
            let index = match matches.as_slice() {
                [i] => *i,
                [] => {
                    return Err(ModelError::file(
                        origin,
                        format!(
                            "column {:?} of entity {} is missing from the query's result",
                            c.name, def.entity
                        ),
                    ));
                }
                _ => {
                    return Err(ModelError::file(
                        origin,
                        format!("column {:?} appears more than once", c.name),
                    ));
                }
            };
            let from = produced.field(index).data_type();
            if !converts(from, c.kind) {
                return Err(ModelError::file(
                    origin,
                    format!(
                        "column {:?} is {from}, entity {} wants {:?} ({}); CAST it in the query",
                        c.name,
                        def.entity,
                        c.kind,
                        c.kind.data_type()
                    ),
                ));
            }
            sources.push(index);
        }
        if let Some(extra) = produced
            .fields()
            .iter()
            .find(|f| def.column(f.name()).is_none())
        {
            return Err(ModelError::file(
                origin,
                format!(
                    "column {:?} is not a column of entity {} (see canonical/{}.toml)",
                    extra.name(),
                    def.entity,
                    def.entity
                ),
            ));
        }
        let required = def
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.required)
            .map(|(i, _)| i)
            .collect();
        Ok(Conformer {
            origin: origin.to_owned(),
            schema: def.schema(),
            sources,
            required,
            source_id: def.columns.iter().position(|c| c.name == "source_id"),
        })
    }

    /// The canonical schema.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Fails when a decimal has a non-zero digit beyond the canonical scale.
    fn check_no_digit_lost(
        &self,
        col: &arrow::array::ArrayRef,
        scale: i8,
        name: &str,
        done: &[arrow::array::ArrayRef],
        batch: &RecordBatch,
    ) -> Result<(), ModelError> {
        let Some(values) = col.as_any().downcast_ref::<arrow::array::Decimal128Array>() else {
            return Ok(());
        };
        let unit = 10i128.pow(u32::try_from(scale - DECIMAL_SCALE).unwrap_or(0));
        let Some(row) =
            (0..values.len()).find(|&i| values.is_valid(i) && values.value(i) % unit != 0)
        else {
            return Ok(());
        };
        // source_id may not be converted yet: read it from the batch.
        let who = self
            .source_id
            .and_then(|s| {
                done.get(s)
                    .cloned()
                    .or_else(|| Some(batch.column(self.sources[s]).clone()))
            })
            .and_then(|a| cast_with_options(&a, &DataType::Utf8, &CastOptions::default()).ok())
            .and_then(|a| {
                let a = a.as_any().downcast_ref::<StringArray>()?;
                a.is_valid(row)
                    .then(|| format!("source_id {:?}", a.value(row)))
            })
            .unwrap_or_else(|| format!("row {row} of a batch"));
        Err(ModelError::file(
            &self.origin,
            format!(
                "column {name:?}: {} has more than {DECIMAL_SCALE} decimals ({who}); ROUND it in the query if that is intended",
                values.value_as_string(row)
            ),
        ))
    }

    /// Converts one batch.
    ///
    /// # Errors
    /// A value does not fit (decimal overflow) or a required column is NULL; the
    /// message names the file, the column and the row's `source_id`.
    pub fn apply(&self, batch: &RecordBatch) -> Result<RecordBatch, ModelError> {
        let options = CastOptions {
            safe: false,
            ..Default::default()
        };
        let mut columns = Vec::with_capacity(self.sources.len());
        for (field, &i) in self.schema.fields().iter().zip(&self.sources) {
            let col = batch.column(i);
            if let DataType::Decimal128(_, scale) = col.data_type()
                && *scale > DECIMAL_SCALE
            {
                self.check_no_digit_lost(col, *scale, field.name(), &columns, batch)?;
            }
            let out = if col.data_type() == field.data_type() {
                col.clone()
            } else {
                cast_with_options(col, field.data_type(), &options).map_err(|e| {
                    ModelError::file(&self.origin, format!("column {:?}: {e}", field.name()))
                })?
            };
            columns.push(out);
        }
        for &r in &self.required {
            let col = &columns[r];
            if col.null_count() > 0 {
                let row = (0..col.len()).find(|&i| col.is_null(i)).unwrap_or(0);
                let who = self
                    .source_id
                    .and_then(|s| columns[s].as_any().downcast_ref::<StringArray>())
                    .filter(|a| a.is_valid(row))
                    .map(|a| format!("source_id {:?}", a.value(row)))
                    .unwrap_or_else(|| format!("row {row} of a batch"));
                return Err(ModelError::file(
                    &self.origin,
                    format!(
                        "column {:?} is required but NULL ({who}, {} such rows in this batch)",
                        self.schema.field(r).name(),
                        col.null_count()
                    ),
                ));
            }
        }
        RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| ModelError::file(&self.origin, e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Decimal128Array, Float64Array, Int32Array, StringViewArray};
    use arrow::datatypes::Field;

    use super::*;
    use crate::Library;

    fn currency() -> EntityDef {
        Library::built_in().model().unwrap().entities["currency"].clone()
    }

    fn produced(decimals: DataType) -> (Schema, RecordBatch) {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Utf8View, true),
            Field::new("source_system", DataType::Utf8, true),
            Field::new("source_id", DataType::Utf8, true),
            Field::new("code", DataType::Utf8, true),
            Field::new("name", DataType::Null, true),
            Field::new("symbol", DataType::Utf8, true),
            Field::new("decimals", decimals.clone(), true),
            Field::new("active", DataType::Boolean, true),
        ]);
        let decimals: arrow::array::ArrayRef = match decimals {
            DataType::Int32 => Arc::new(Int32Array::from(vec![2])),
            _ => Arc::new(Float64Array::from(vec![2.0])),
        };
        let batch = RecordBatch::try_new(
            Arc::new(schema.clone()),
            vec![
                Arc::new(StringViewArray::from(vec!["t:1"])),
                Arc::new(StringArray::from(vec!["t"])),
                Arc::new(StringArray::from(vec!["1"])),
                Arc::new(StringArray::from(vec![Some("EUR")])),
                Arc::new(arrow::array::NullArray::new(1)),
                Arc::new(StringArray::from(vec!["€"])),
                decimals,
                Arc::new(arrow::array::BooleanArray::from(vec![true])),
            ],
        )
        .unwrap();
        (schema, batch)
    }

    #[test]
    fn lossless_representations_are_converted() {
        let (schema, batch) = produced(DataType::Int32);
        let c = Conformer::new(&currency(), "m/currency.sql", &schema).unwrap();
        let out = c.apply(&batch).unwrap();
        assert_eq!(out.schema(), currency().schema());
        assert!(out.column(4).is_null(0));
    }

    #[test]
    fn a_float_is_refused_with_file_and_column() {
        let (schema, _) = produced(DataType::Float64);
        let err = Conformer::new(&currency(), "m/currency.sql", &schema)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("m/currency.sql:"), "{err}");
        assert!(
            err.contains("\"decimals\"") && err.contains("CAST"),
            "{err}"
        );
    }

    #[test]
    fn decimals_convert_exactly() {
        assert!(converts(&DataType::Decimal128(18, 4), ColumnType::Decimal));
        assert!(converts(&DataType::Int64, ColumnType::Decimal));
        assert!(converts(&DataType::Decimal128(38, 10), ColumnType::Decimal));
        assert!(!converts(&DataType::Float64, ColumnType::Decimal));
        let d = Decimal128Array::from(vec![12345i128])
            .with_precision_and_scale(10, 2)
            .unwrap();
        let out = cast_with_options(
            &d,
            &ColumnType::Decimal.data_type(),
            &CastOptions {
                safe: false,
                ..Default::default()
            },
        )
        .unwrap();
        let out = out.as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(out.value_as_string(0), "123.45000000");
    }

    #[test]
    fn a_null_in_a_required_column_names_the_record() {
        let (schema, batch) = produced(DataType::Int32);
        let c = Conformer::new(&currency(), "m/currency.sql", &schema).unwrap();
        let mut cols = batch.columns().to_vec();
        cols[3] = Arc::new(StringArray::from(vec![None::<&str>]));
        let batch = RecordBatch::try_new(batch.schema(), cols).unwrap();
        let err = c.apply(&batch).unwrap_err().to_string();
        assert!(
            err.contains("\"code\"") && err.contains("source_id \"1\""),
            "{err}"
        );
    }
}
