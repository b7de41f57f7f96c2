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

use crate::select::Selection;
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

impl Policy {
    /// The policy's name as written in job files and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Evolve => "evolve",
            Policy::Freeze => "freeze",
            Policy::Fail => "fail",
        }
    }
}

/// `schema_policy` in a job file: one policy for every stream (`"freeze"`), or one per
/// stream name or glob (`{ "*" = "evolve", "public.sale_order" = "fail" }`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "toml::Value")]
pub enum PolicySetting {
    /// Every stream.
    One(Policy),
    /// By stream name or glob; `*` for the rest.
    PerStream(std::collections::BTreeMap<String, Policy>),
}

impl TryFrom<toml::Value> for PolicySetting {
    type Error = String;
    fn try_from(value: toml::Value) -> std::result::Result<Self, String> {
        let parse = |v: &toml::Value| -> std::result::Result<Policy, String> {
            match v.as_str() {
                Some(s) => s
                    .parse()
                    .map_err(|_| format!("{s:?}: expected evolve, freeze or fail")),
                None => Err(format!("{v}: expected \"evolve\", \"freeze\" or \"fail\"")),
            }
        };
        match &value {
            toml::Value::Table(t) => t
                .iter()
                .map(|(k, v)| Ok((k.clone(), parse(v).map_err(|e| format!("{k}: {e}"))?)))
                .collect::<std::result::Result<_, String>>()
                .map(PolicySetting::PerStream),
            other => parse(other).map(PolicySetting::One),
        }
    }
}

impl PolicySetting {
    /// As `(pattern, policy)` pairs for [`Policies::new`], `*` first.
    pub fn overrides(&self) -> Vec<(String, Policy)> {
        match self {
            PolicySetting::One(p) => vec![("*".to_owned(), *p)],
            PolicySetting::PerStream(map) => {
                let mut out: Vec<(String, Policy)> =
                    map.iter().map(|(k, v)| (k.clone(), *v)).collect();
                out.sort_by_key(|(k, _)| k != "*");
                out
            }
        }
    }
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
                format!("{other:?}: expected evolve, freeze or fail"),
            )),
        }
    }
}

/// The policy of each stream: a default, and overrides by stream name or glob.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    default: Policy,
    overrides: Vec<(Selection, Policy)>,
}

impl Policies {
    /// One policy for every stream.
    pub fn uniform(policy: Policy) -> Self {
        Policies {
            default: policy,
            overrides: Vec::new(),
        }
    }

    /// `default` for every stream, then each `(pattern, policy)` in order for the
    /// streams it matches (a later match wins; `*` sets the default).
    ///
    /// # Errors
    /// A pattern that is not a valid glob.
    pub fn new(default: Policy, overrides: &[(String, Policy)]) -> Result<Self> {
        let mut out = Policies::uniform(default);
        for (pattern, policy) in overrides {
            if pattern == "*" {
                out.default = *policy;
                out.overrides.clear();
            } else {
                out.overrides
                    .push((Selection::new([pattern.as_str()])?, *policy));
            }
        }
        Ok(out)
    }

    /// The policy of stream `name`.
    pub fn for_stream(&self, name: &str) -> Policy {
        self.overrides
            .iter()
            .rev()
            .find(|(sel, _)| sel.matches(name))
            .map_or(self.default, |(_, p)| *p)
    }
}

/// Streams the job's state knows (committed at least once) that match `selection` but
/// that the source no longer has.
pub fn gone_streams(
    state: &crate::state::JobState,
    found: &[crate::StreamSpec],
    selection: &Selection,
) -> Vec<String> {
    state
        .streams
        .iter()
        .filter(|(name, s)| {
            !s.columns.is_empty()
                && selection.matches(name)
                && !found.iter().any(|f| &f.name == *name)
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Parses `--schema-policy` values: `POLICY` for every stream, or `STREAM=POLICY`.
///
/// # Errors
/// An unknown policy name.
pub fn parse_policy_flags(values: &[String]) -> Result<Vec<(String, Policy)>> {
    values
        .iter()
        .map(|v| match v.rsplit_once('=') {
            Some((stream, policy)) => Ok((stream.trim().to_owned(), policy.trim().parse()?)),
            None => Ok(("*".to_owned(), v.trim().parse()?)),
        })
        .collect()
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
    old_key: Option<&[String]>,
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
    if let Some(old_key) = old_key.filter(|k| !old.is_empty() && *k != new_key) {
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

/// What is known about a stream from its last committed run (kept in the job state).
#[derive(Debug, Clone, Copy, Default)]
pub struct Previous<'a> {
    /// The columns the source had then (what changes are measured against).
    pub source: &'a [ColumnDescription],
    /// The columns written then: the source's, plus what a policy kept or added.
    pub written: &'a [ColumnDescription],
    /// The source's key then; `None` when not recorded.
    pub key: Option<&'a [String]>,
}

/// How a stream that was `previous` at its last committed run changed, reading as
/// `read` (key `key`) now; nothing for a stream never committed.
pub fn changes(previous: Previous<'_>, read: &Schema, key: &[String]) -> Vec<Change> {
    let source = if previous.source.is_empty() {
        previous.written
    } else {
        previous.source
    };
    if source.is_empty() {
        Vec::new()
    } else {
        diff(source, previous.key, read, key)
    }
}

/// Decides, under `policy`, the schema written for a stream that was `previous` at its
/// last committed run and reads as `read` (key `key`) now.
///
/// Changes are measured against the source's previous columns, so a change is
/// reported once, in the run that meets it; the adapter is built against the columns
/// written, so a column kept under `evolve` stays kept (NULL) in every later run.
///
/// # Errors
/// Under [`Policy::Fail`], any change; under [`Policy::Freeze`], an incompatible type
/// change. The message names the stream, the column and the change.
pub fn plan(
    stream: &str,
    policy: Policy,
    previous: Previous<'_>,
    read: &Schema,
    key: &[String],
) -> Result<Resolution> {
    let changes = changes(previous, read, key);
    if policy == Policy::Fail && !changes.is_empty() {
        let listed = changes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        return Err(Error::Schema {
            stream: stream.to_owned(),
            message: format!(
                "the source's schema changed (schema policy fail; nothing written): {listed}"
            ),
        });
    }
    let identity = || Adapter {
        schema: Arc::new(read.clone()),
        origins: (0..read.fields().len()).map(Origin::Read).collect(),
        identity: true,
    };
    let written = previous.written;
    let same_as_written = written.len() == read.fields().len()
        && written
            .iter()
            .zip(read.fields())
            .all(|(c, f)| &c.name == f.name() && c.data_type == f.data_type().to_string());
    if written.is_empty() || same_as_written {
        return Ok(Resolution {
            changes,
            adapter: identity(),
            warnings: Vec::new(),
        });
    }
    let mut warnings = Vec::new();
    let mut old_types = Vec::with_capacity(written.len());
    for c in written {
        old_types.push(DataType::from_str(&c.data_type).map_err(|e| {
            Error::external(format!("{stream}: the stored type of column {}", c.name), e)
        })?);
    }
    // Where each column read goes: its own column, the same column at a wider (or
    // frozen) type, or a column named after a new incompatible type.
    let mut targets: Vec<(String, DataType, Origin)> = Vec::new();
    for (i, f) in read.fields().iter().enumerate() {
        let Some(w) = written.iter().position(|c| &c.name == f.name()) else {
            targets.push((f.name().clone(), f.data_type().clone(), Origin::Read(i)));
            continue;
        };
        let old_type = &old_types[w];
        if f.data_type() == old_type {
            targets.push((f.name().clone(), old_type.clone(), Origin::Read(i)));
        } else if widens(old_type, f.data_type()) {
            if policy == Policy::Evolve {
                targets.push((f.name().clone(), f.data_type().clone(), Origin::Read(i)));
            } else {
                warnings.push(format!(
                    "{stream}: column {} stays {old_type} (schema policy {}); a value that does not fit fails the run",
                    f.name(),
                    policy.as_str()
                ));
                targets.push((f.name().clone(), old_type.clone(), Origin::Widen(i)));
            }
        } else if policy == Policy::Evolve
            || written
                .iter()
                .any(|c| c.name == changed_type_column(f.name(), f.data_type()))
        {
            // Under evolve; or under any policy once an earlier run made the column.
            let moved = changed_type_column(f.name(), f.data_type());
            if !written.iter().any(|c| c.name == moved) {
                warnings.push(format!(
                    "{stream}: column {} changed type from {old_type} to {}; from now on its values are in {moved} and {} is NULL",
                    f.name(),
                    f.data_type(),
                    f.name()
                ));
            }
            targets.push((moved, f.data_type().clone(), Origin::Read(i)));
        } else {
            return Err(Error::Schema {
                stream: stream.to_owned(),
                message: format!(
                    "column {} changed type from {old_type} to {} (schema policy {}: never cast; nothing written)",
                    f.name(),
                    f.data_type(),
                    policy.as_str()
                ),
            });
        }
    }
    let mut fields: Vec<Field> = Vec::new();
    let mut origins = Vec::new();
    // The columns written so far keep their places: filled from what is read, or NULL.
    for (c, old_type) in written.iter().zip(&old_types) {
        match targets.iter().position(|(name, _, _)| *name == c.name) {
            Some(t) => {
                let (name, ty, origin) = targets.remove(t);
                let nullable = c.nullable
                    || match origin {
                        Origin::Read(i) | Origin::Widen(i) => read.field(i).is_nullable(),
                        Origin::Null => true,
                    };
                fields.push(Field::new(name, ty, nullable));
                origins.push(origin);
            }
            None => {
                fields.push(Field::new(&c.name, old_type.clone(), true));
                origins.push(Origin::Null);
            }
        }
    }
    // Then what was never written: new columns, and columns of a changed type.
    for (name, ty, origin) in targets {
        if policy == Policy::Evolve {
            fields.push(Field::new(name, ty, true));
            origins.push(origin);
        } else {
            warnings.push(format!(
                "{stream}: column {name} ({ty}) is not kept (schema policy {})",
                policy.as_str()
            ));
        }
    }
    let schema = Arc::new(Schema::new_with_metadata(fields, read.metadata().clone()));
    let identity = schema.as_ref() == read;
    Ok(Resolution {
        changes,
        adapter: Adapter {
            schema,
            origins,
            identity,
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

    /// A stream whose source columns and written columns were both `cols`.
    fn same<'a>(cols: &'a [ColumnDescription], key: &'a [String]) -> Previous<'a> {
        Previous {
            source: cols,
            written: cols,
            key: Some(key),
        }
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
        let changes = diff(&old(), Some(&key), &now(), &key);
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
        let r = plan("s", Policy::Evolve, same(&old(), &key), &now(), &key).unwrap();
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
        let err = plan("s", Policy::Freeze, same(&old(), &key), &now(), &key)
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
        let r = plan("s", Policy::Freeze, same(&cols, &key), &read, &key).unwrap();
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
        let err = plan(
            "public.items",
            Policy::Fail,
            same(&old(), &key),
            &now(),
            &key,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("public.items"), "{err}");
        assert!(err.contains("column qty changed type"), "{err}");
        // An unchanged stream passes under every policy.
        let unchanged = schema(&[
            ("id", DataType::Int32),
            ("amount", DataType::Decimal128(10, 2)),
            ("note", DataType::Utf8),
            ("qty", DataType::Utf8),
        ]);
        for p in [Policy::Fail, Policy::Freeze, Policy::Evolve] {
            let r = plan("s", p, same(&old(), &key), &unchanged, &key).unwrap();
            assert!(r.changes.is_empty());
        }
    }

    #[test]
    fn a_later_run_keeps_the_evolved_columns_and_reports_nothing_new() {
        let key = vec!["id".to_owned()];
        let first = plan("s", Policy::Evolve, same(&old(), &key), &now(), &key).unwrap();
        let written = describe_columns(first.adapter.schema());
        let source = describe_columns(&now());
        let previous = Previous {
            source: &source,
            written: &written,
            key: Some(&key),
        };
        let again = plan("s", Policy::Evolve, previous, &now(), &key).unwrap();
        assert!(again.changes.is_empty(), "{:?}", again.changes);
        assert!(again.warnings.is_empty(), "{:?}", again.warnings);
        assert_eq!(describe_columns(again.adapter.schema()), written);
        let out = again.adapter.adapt(batch(&now())).unwrap();
        let moved = out.column(4).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(moved.value(0), 7, "qty__int64 still takes the values");
        // Under fail, the same unchanged source passes and keeps the written layout.
        let r = plan("s", Policy::Fail, previous, &now(), &key).unwrap();
        assert_eq!(describe_columns(r.adapter.schema()), written);
    }

    #[test]
    fn policies_come_from_the_job_file_then_the_flags() {
        #[derive(Deserialize)]
        struct Job {
            schema_policy: PolicySetting,
        }
        let job: Job =
            toml::from_str("schema_policy = { \"*\" = \"freeze\", \"public.sale_*\" = \"fail\" }")
                .unwrap();
        let mut overrides = job.schema_policy.overrides();
        overrides.extend(parse_policy_flags(&["public.sale_order=evolve".into()]).unwrap());
        let p = Policies::new(Policy::Evolve, &overrides).unwrap();
        assert_eq!(p.for_stream("public.items"), Policy::Freeze);
        assert_eq!(p.for_stream("public.sale_order_line"), Policy::Fail);
        assert_eq!(p.for_stream("public.sale_order"), Policy::Evolve);
        let all = Policies::new(
            Policy::Evolve,
            &parse_policy_flags(&["fail".into()]).unwrap(),
        )
        .unwrap();
        assert_eq!(all.for_stream("anything"), Policy::Fail);
        let err = toml::from_str::<Job>("schema_policy = \"evolv\"")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("\"evolv\": expected evolve, freeze or fail"),
            "{err}"
        );
        assert!(parse_policy_flags(&["x=sometimes".into()]).is_err());
    }
}
