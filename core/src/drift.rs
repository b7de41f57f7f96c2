//! Schema drift: how a stream's shape changed since its last successful run, and what
//! a policy makes of it.
//!
//! SaaS ERPs change under their users: fields appear (`x_studio_*`), vanish or are
//! renamed by a release, numbers widen. [`diff`] compares the columns a stream had at
//! its last committed run (kept in the job state) with what `discover` finds now;
//! [`plan`] decides, under a [`Policy`], the schema written from now on and how each
//! batch read is adapted to it ([`Adapter`]). Nothing is ever cast silently: a type
//! change that loses values either fails or, under `evolve`, goes to a new column.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow_array::{RecordBatch, new_null_array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use crate::stream::ColumnDescription;
use crate::{Error, Result};

/// The suffix of the column that takes a column's values after an incompatible type
/// change under [`Policy::Evolve`], e.g. `qty` (text) → `qty__int64`.
pub fn changed_type_column(column: &str, to: &DataType) -> String {
    let ty = to
        .to_string()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>();
    let ty = ty.trim_matches('_').replace("__", "_");
    format!("{column}__{ty}")
}

/// What a run does with a stream whose shape changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Add new columns, keep removed ones (NULL from now on), widen types; an
    /// incompatible type change goes to a new column (see [`changed_type_column`]).
    #[default]
    Evolve,
    /// Keep the old schema: new columns are dropped with a warning, removed ones are
    /// NULL, widened values are kept only when they fit; an incompatible change fails.
    Freeze,
    /// Stop before writing anything for a stream that changed.
    Fail,
}

impl FromStr for Policy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Policy> {
        match s {
            "evolve" => Ok(Policy::Evolve),
            "freeze" => Ok(Policy::Freeze),
            "fail" => Ok(Policy::Fail),
            other => Err(Error::config(
                "schema policy",
                format!("{other}: expected evolve, freeze or fail"),
            )),
        }
    }
}

/// One change of a stream's shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A column the stream did not have.
    ColumnAdded {
        /// Column name.
        column: String,
        /// Its Arrow type.
        data_type: String,
    },
    /// A column the stream no longer has.
    ColumnRemoved {
        /// Column name.
        column: String,
        /// Its former Arrow type.
        data_type: String,
    },
    /// One column removed and one added with the same type: perhaps a rename.
    /// Reported as such; handled as a removal and an addition.
    LooksRenamed {
        /// The removed column.
        from: String,
        /// The added column.
        to: String,
        /// The type both have.
        data_type: String,
    },
    /// A type that holds every former value (int → bigint, numeric(10,2) → (12,2)).
    TypeWidened {
        /// Column name.
        column: String,
        /// Former type.
        from: String,
        /// New type.
        to: String,
    },
    /// A type that does not hold every former value (text → integer, scale reduced).
    TypeChanged {
        /// Column name.
        column: String,
        /// Former type.
        from: String,
        /// New type.
        to: String,
    },
    /// The primary key is different.
    PrimaryKeyChanged {
        /// Former key columns.
        from: Vec<String>,
        /// New key columns.
        to: Vec<String>,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::ColumnAdded { column, data_type } => {
                write!(f, "column {column} added ({data_type})")
            }
            Change::ColumnRemoved { column, data_type } => {
                write!(f, "column {column} removed (was {data_type})")
            }
            Change::LooksRenamed {
                from,
                to,
                data_type,
            } => {
                write!(f, "column {from} looks renamed to {to} ({data_type})")
            }
            Change::TypeWidened { column, from, to } => {
                write!(f, "column {column} widened from {from} to {to}")
            }
            Change::TypeChanged { column, from, to } => {
                write!(f, "column {column} changed type from {from} to {to}")
            }
            Change::PrimaryKeyChanged { from, to } => write!(
                f,
                "primary key changed from ({}) to ({})",
                from.join(", "),
                to.join(", ")
            ),
        }
    }
}

/// Whether every value of `from` is a value of `to`.
pub fn widens(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    let int_rank = |t: &DataType| match t {
        Int8 => Some((true, 8)),
        Int16 => Some((true, 16)),
        Int32 => Some((true, 32)),
        Int64 => Some((true, 64)),
        UInt8 => Some((false, 8)),
        UInt16 => Some((false, 16)),
        UInt32 => Some((false, 32)),
        UInt64 => Some((false, 64)),
        _ => None,
    };
    if from == to {
        return true;
    }
    match (from, to) {
        (Decimal128(p1, s1), Decimal128(p2, s2)) => {
            s2 >= s1 && i16::from(*p2) - i16::from(*s2) >= i16::from(*p1) - i16::from(*s1)
        }
        (Float16, Float32 | Float64) | (Float32, Float64) => true,
        (Utf8, LargeUtf8 | Utf8View) | (Utf8View, Utf8 | LargeUtf8) => true,
        (Binary, LargeBinary | BinaryView) => true,
        (a, Decimal128(p, s)) if int_rank(a).is_some() => {
            let (_, bits) = int_rank(a).expect("checked");
            let digits = match bits {
                8 => 3,
                16 => 5,
                32 => 10,
                _ => 20,
            };
            i16::from(*p) - i16::from(*s) >= digits
        }
        (a, b) => match (int_rank(a), int_rank(b)) {
            (Some((sa, ba)), Some((sb, bb))) => (sa == sb && bb > ba) || (!sa && sb && bb > ba),
            _ => false,
        },
    }
}

/// The changes from the columns a stream had (`old`, `old_key`) to `new`.
/// Columns are matched by name; order changes are not changes.
pub fn diff(
    old: &[ColumnDescription],
    old_key: &[String],
    new: &Schema,
    new_key: &[String],
) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for f in new.fields() {
        match old.iter().find(|c| &c.name == f.name()) {
            None => added.push((f.name().clone(), f.data_type().to_string())),
            Some(c) => {
                let new_type = f.data_type().to_string();
                if c.data_type != new_type {
                    let widened = DataType::from_str(&c.data_type)
                        .is_ok_and(|from| widens(&from, f.data_type()));
                    let (column, from, to) = (f.name().clone(), c.data_type.clone(), new_type);
                    changes.push(if widened {
                        Change::TypeWidened { column, from, to }
                    } else {
                        Change::TypeChanged { column, from, to }
                    });
                }
            }
        }
    }
    for c in old {
        if new.field_with_name(&c.name).is_err() {
            removed.push((c.name.clone(), c.data_type.clone()));
        }
    }
    // One removed and one added of the same type: a rename, perhaps.
    let mut renamed = Vec::new();
    for (r, rt) in &removed {
        let same: Vec<&(String, String)> = added.iter().filter(|(_, t)| t == rt).collect();
        let same_removed = removed.iter().filter(|(_, t)| t == rt).count();
        if same.len() == 1 && same_removed == 1 {
            renamed.push((r.clone(), same[0].0.clone(), rt.clone()));
        }
    }
    for (from, to, data_type) in &renamed {
        changes.push(Change::LooksRenamed {
            from: from.clone(),
            to: to.clone(),
            data_type: data_type.clone(),
        });
    }
    for (column, data_type) in added {
        if !renamed.iter().any(|(_, to, _)| *to == column) {
            changes.push(Change::ColumnAdded { column, data_type });
        }
    }
    for (column, data_type) in removed {
        if !renamed.iter().any(|(from, _, _)| *from == column) {
            changes.push(Change::ColumnRemoved { column, data_type });
        }
    }
    if !old.is_empty() && old_key != new_key {
        changes.push(Change::PrimaryKeyChanged {
            from: old_key.to_vec(),
            to: new_key.to_vec(),
        });
    }
    changes
}

/// Where a written column's values come from.
#[derive(Debug, Clone, PartialEq)]
enum Origin {
    /// Column `i` of the batch read.
    Read(usize),
    /// Column `i` of the batch read, cast to the written type (a widening).
    Widen(usize),
    /// Nothing: NULL (a column the source no longer has).
    Null,
}

/// Turns batches read in the source's current schema into the schema written.
#[derive(Debug, Clone)]
pub struct Adapter {
    schema: SchemaRef,
    origins: Vec<Origin>,
    identity: bool,
}

impl Adapter {
    /// The schema written.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// `batch` (in the schema read) in the schema written.
    ///
    /// # Errors
    /// A value that does not fit a frozen column's type.
    pub fn adapt(&self, batch: RecordBatch) -> Result<RecordBatch> {
        if self.identity {
            return Ok(batch);
        }
        let rows = batch.num_rows();
        let columns = self
            .origins
            .iter()
            .zip(self.schema.fields())
            .map(|(origin, field)| match origin {
                Origin::Read(i) => Ok(batch.column(*i).clone()),
                Origin::Widen(i) => {
                    let options = arrow::compute::CastOptions {
                        safe: false,
                        ..Default::default()
                    };
                    arrow::compute::cast_with_options(batch.column(*i), field.data_type(), &options)
                        .map_err(|e| {
                            Error::external(
                                format!("column {}: a value does not fit", field.name()),
                                e,
                            )
                        })
                }
                Origin::Null => Ok(new_null_array(field.data_type(), rows)),
            })
            .collect::<Result<Vec<_>>>()?;
        RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| Error::external("adapting a batch to the stream's schema", e))
    }
}

/// What a policy decided for one stream.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// The changes found.
    pub changes: Vec<Change>,
    /// How batches read become batches written.
    pub adapter: Adapter,
    /// What the user should know (columns dropped under `freeze`, values moved…).
    pub warnings: Vec<String>,
}

/// Decides, under `policy`, the schema written for a stream whose columns were `old`
/// (key `old_key`) at its last committed run and are `read` now.
///
/// # Errors
/// Under [`Policy::Fail`], any change; under [`Policy::Freeze`], an incompatible type
/// change. The message names the stream, the column and the change.
pub fn plan(
    stream: &str,
    policy: Policy,
    old: &[ColumnDescription],
    old_key: &[String],
    read: &Schema,
    key: &[String],
) -> Result<Resolution> {
    let changes = if old.is_empty() {
        Vec::new()
    } else {
        diff(old, old_key, read, key)
    };
    let identity_adapter = || Adapter {
        schema: Arc::new(read.clone()),
        origins: (0..read.fields().len()).map(Origin::Read).collect(),
        identity: true,
    };
    if changes.is_empty() {
        return Ok(Resolution {
            changes,
            adapter: identity_adapter(),
            warnings: Vec::new(),
        });
    }
    let listed = || {
        changes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    };
    if policy == Policy::Fail {
        return Err(Error::config(
            stream,
            format!("the source's schema changed (policy fail): {}", listed()),
        ));
    }
    let mut fields: Vec<Field> = Vec::new();
    let mut origins = Vec::new();
    let mut warnings = Vec::new();
    let position = |name: &str| read.index_of(name).ok();
    // The old columns first, in their order.
    for c in old {
        let old_type = DataType::from_str(&c.data_type).map_err(|e| {
            Error::external(format!("{stream}: the stored type of column {}", c.name), e)
        })?;
        match position(&c.name) {
            None => {
                fields.push(Field::new(&c.name, old_type, true));
                origins.push(Origin::Null);
            }
            Some(i) => {
                let now = read.field(i);
                if now.data_type() == &old_type {
                    fields.push(now.clone());
                    origins.push(Origin::Read(i));
                } else if widens(&old_type, now.data_type()) {
                    match policy {
                        Policy::Evolve => {
                            fields.push(now.clone());
                            origins.push(Origin::Read(i));
                        }
                        _ => {
                            warnings.push(format!(
                                "{stream}: column {} stays {old_type} (frozen); a wider value fails the run",
                                c.name
                            ));
                            fields.push(Field::new(&c.name, old_type, now.is_nullable()));
                            origins.push(Origin::Widen(i));
                        }
                    }
                } else if policy == Policy::Evolve {
                    // The old column stays with its type, NULL from now on; the values
                    // go to a new column named after their type.
                    let moved = changed_type_column(&c.name, now.data_type());
                    warnings.push(format!(
                        "{stream}: column {} changed type from {old_type} to {}; its values are in {moved} from now on, {} is NULL",
                        c.name,
                        now.data_type(),
                        c.name
                    ));
                    fields.push(Field::new(&c.name, old_type, true));
                    origins.push(Origin::Null);
                    fields.push(Field::new(&moved, now.data_type().clone(), true));
                    origins.push(Origin::Read(i));
                } else {
                    return Err(Error::config(
                        stream,
                        format!(
                            "column {} changed type from {old_type} to {} (policy freeze: not cast)",
                            c.name,
                            now.data_type()
                        ),
                    ));
                }
            }
        }
    }
    // Then the new columns.
    for (i, f) in read.fields().iter().enumerate() {
        if old.iter().any(|c| &c.name == f.name()) {
            continue;
        }
        match policy {
            Policy::Evolve => {
                fields.push(f.as_ref().clone().with_nullable(true));
                origins.push(Origin::Read(i));
            }
            _ => warnings.push(format!(
                "{stream}: new column {} ({}) is not kept (policy freeze)",
                f.name(),
                f.data_type()
            )),
        }
    }
    // Columns that became NULL-only must accept NULL; so must those written widened.
    let fields: Vec<Field> = fields
        .into_iter()
        .zip(&origins)
        .map(|(f, o)| match o {
            Origin::Null => f.with_nullable(true),
            _ => f,
        })
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(fields, read.metadata().clone()));
    Ok(Resolution {
        changes,
        adapter: Adapter {
            schema,
            origins,
            identity: false,
        },
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::describe_columns;
    use arrow_array::{Int32Array, Int64Array, StringArray};

    fn schema(cols: &[(&str, DataType)]) -> Schema {
        Schema::new(
            cols.iter()
                .map(|(n, t)| Field::new(*n, t.clone(), true))
                .collect::<Vec<_>>(),
        )
    }

    fn old() -> Vec<ColumnDescription> {
        describe_columns(&schema(&[
            ("id", DataType::Int32),
            ("amount", DataType::Decimal128(10, 2)),
            ("note", DataType::Utf8),
            ("qty", DataType::Utf8),
        ]))
    }

    fn now() -> Schema {
        schema(&[
            ("id", DataType::Int64),
            ("amount", DataType::Decimal128(12, 2)),
            ("qty", DataType::Int64),
            ("x_studio_colour", DataType::Utf8),
        ])
    }

    #[test]
    fn the_four_changes_are_named() {
        let key = vec!["id".to_owned()];
        let changes = diff(&old(), &key, &now(), &key);
        let text: Vec<String> = changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "column id widened from Int32 to Int64",
                "column amount widened from Decimal128(10, 2) to Decimal128(12, 2)",
                "column qty changed type from Utf8 to Int64",
                "column note looks renamed to x_studio_colour (Utf8)",
            ]
        );
    }

    #[test]
    fn widening_holds_every_old_value() {
        use DataType::*;
        assert!(widens(&Int32, &Int64));
        assert!(widens(&UInt32, &Int64));
        assert!(!widens(&Int64, &Int32));
        assert!(!widens(&Int32, &UInt64));
        assert!(widens(&Decimal128(10, 2), &Decimal128(12, 2)));
        assert!(widens(&Decimal128(10, 2), &Decimal128(12, 4)));
        assert!(!widens(&Decimal128(10, 2), &Decimal128(12, 1)));
        assert!(!widens(&Decimal128(10, 2), &Decimal128(10, 4)));
        assert!(widens(&Int32, &Decimal128(12, 2)));
        assert!(!widens(&Int64, &Decimal128(12, 2)));
        assert!(!widens(&Utf8, &Int64));
    }

    fn batch(s: &Schema) -> RecordBatch {
        RecordBatch::try_new(
            Arc::new(s.clone()),
            vec![
                Arc::new(Int64Array::from(vec![1, 2])),
                Arc::new(
                    arrow_array::Decimal128Array::from(vec![Some(12_345), None])
                        .with_precision_and_scale(12, 2)
                        .unwrap(),
                ),
                Arc::new(Int64Array::from(vec![Some(7), None])),
                Arc::new(StringArray::from(vec![Some("rouge"), None])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn evolve_adds_widens_keeps_removed_as_null_and_moves_a_changed_type() {
        let key = vec!["id".to_owned()];
        let r = plan("s", Policy::Evolve, &old(), &key, &now(), &key).unwrap();
        let names: Vec<String> = r
            .adapter
            .schema()
            .fields()
            .iter()
            .map(|f| format!("{}:{}", f.name(), f.data_type()))
            .collect();
        assert_eq!(
            names,
            [
                "id:Int64",
                "amount:Decimal128(12, 2)",
                "note:Utf8",
                "qty:Utf8",
                "qty__int64:Int64",
                "x_studio_colour:Utf8"
            ]
        );
        let out = r.adapter.adapt(batch(&now())).unwrap();
        assert_eq!(out.column(2).null_count(), 2, "note is NULL from now on");
        assert_eq!(out.column(3).null_count(), 2, "qty (text) is NULL");
        let moved = out.column(4).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(moved.value(0), 7);
        assert!(r.warnings.iter().any(|w| w.contains("qty__int64")));
    }

    #[test]
    fn freeze_keeps_the_old_schema_and_refuses_an_incompatible_change() {
        let key = vec!["id".to_owned()];
        let err = plan("s", Policy::Freeze, &old(), &key, &now(), &key)
            .unwrap_err()
            .to_string();
        assert!(err.contains("qty changed type from Utf8 to Int64"), "{err}");
        // Without the incompatible change: the old schema, new columns dropped.
        let mut cols = old();
        cols.retain(|c| c.name != "qty");
        let read = schema(&[
            ("id", DataType::Int64),
            ("amount", DataType::Decimal128(12, 2)),
            ("x_studio_colour", DataType::Utf8),
        ]);
        let r = plan("s", Policy::Freeze, &cols, &key, &read, &key).unwrap();
        let names: Vec<String> = r
            .adapter
            .schema()
            .fields()
            .iter()
            .map(|f| format!("{}:{}", f.name(), f.data_type()))
            .collect();
        assert_eq!(names, ["id:Int32", "amount:Decimal128(10, 2)", "note:Utf8"]);
        assert!(r.warnings.iter().any(|w| w.contains("x_studio_colour")));
        let b = RecordBatch::try_new(
            Arc::new(read.clone()),
            vec![
                Arc::new(Int64Array::from(vec![1, i64::from(i32::MAX) + 1])),
                Arc::new(
                    arrow_array::Decimal128Array::from(vec![Some(100), None])
                        .with_precision_and_scale(12, 2)
                        .unwrap(),
                ),
                Arc::new(StringArray::from(vec![Some("a"), None])),
            ],
        )
        .unwrap();
        let err = r.adapter.adapt(b).unwrap_err().to_string();
        assert!(err.contains("column id"), "{err}");
        let fits = RecordBatch::try_new(
            Arc::new(read.clone()),
            vec![
                Arc::new(Int64Array::from(vec![1])),
                Arc::new(
                    arrow_array::Decimal128Array::from(vec![Some(100)])
                        .with_precision_and_scale(12, 2)
                        .unwrap(),
                ),
                Arc::new(StringArray::from(vec![Some("a")])),
            ],
        )
        .unwrap();
        let out = r.adapter.adapt(fits).unwrap();
        let id = out.column(0).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(id.value(0), 1);
    }

    #[test]
    fn fail_names_stream_column_and_change() {
        let key = vec!["id".to_owned()];
        let err = plan("public.items", Policy::Fail, &old(), &key, &now(), &key)
            .unwrap_err()
            .to_string();
        assert!(err.contains("public.items"), "{err}");
        assert!(err.contains("column qty changed type"), "{err}");
        // An unchanged stream passes under every policy.
        let same = schema(&[
            ("id", DataType::Int32),
            ("amount", DataType::Decimal128(10, 2)),
            ("note", DataType::Utf8),
            ("qty", DataType::Utf8),
        ]);
        for p in [Policy::Fail, Policy::Freeze, Policy::Evolve] {
            let r = plan("s", p, &old(), &key, &same, &key).unwrap();
            assert!(r.changes.is_empty());
        }
    }
}
