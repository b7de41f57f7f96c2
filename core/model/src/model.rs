//! Canonical entity definitions: `mappings/canonical/<entity>.toml`.
//!
//! ```toml
//! entity = "sale_order_line"
//! version = 1
//! description = "A line of a sale order."
//! primary_key = "id"
//!
//! [[columns]]
//! name = "order_id"
//! type = "string"          # string | int64 | bool | date | timestamp | decimal
//! required = true          # never NULL
//! references = "sale_order" # holds that entity's `id`
//! description = "The order."
//! ```
//!
//! Optional per column: `values` (the allowed values of a normalised code) and `min`
//! (lowest allowed value of a number). `[[totals]]` says that a header amount equals
//! the sum of its lines' amounts within a tolerance. Types are fixed Arrow types:
//! `decimal` is `Decimal128(28, 8)`, `timestamp` is `Timestamp(µs, "UTC")`, `date` is
//! `Date32`, `string` is `Utf8`.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::Deserialize;

use crate::ModelError;

/// Version of the canonical model these definitions describe.
pub const MODEL_VERSION: u32 = 1;
/// Precision of every canonical decimal.
pub const DECIMAL_PRECISION: u8 = 28;
/// Scale of every canonical decimal: enough for every ERP price and quantity seen.
pub const DECIMAL_SCALE: i8 = 8;

/// The type of a canonical column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// Text (`Utf8`).
    String,
    /// 64-bit integer.
    Int64,
    /// Boolean.
    Bool,
    /// Calendar date (`Date32`).
    Date,
    /// Instant in UTC, microseconds.
    Timestamp,
    /// Exact decimal, `Decimal128(28, 8)`.
    Decimal,
}

impl ColumnType {
    /// The Arrow type.
    pub fn data_type(self) -> DataType {
        match self {
            ColumnType::String => DataType::Utf8,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Date => DataType::Date32,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColumnType::Decimal => DataType::Decimal128(DECIMAL_PRECISION, DECIMAL_SCALE),
        }
    }
}

/// One column of an entity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnDef {
    /// Column name.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: ColumnType,
    /// Never NULL.
    #[serde(default)]
    pub required: bool,
    /// The entity whose `id` this column holds.
    #[serde(default)]
    pub references: Option<String>,
    /// Allowed values (normalised codes).
    #[serde(default)]
    pub values: Vec<String>,
    /// Lowest allowed value, as decimal text.
    #[serde(default)]
    pub min: Option<String>,
    /// What the column means.
    pub description: String,
}

/// A header amount that must equal the sum of its lines.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotalRule {
    /// The line entity.
    pub lines: String,
    /// The line column holding the header's `id`.
    pub key: String,
    /// The header's amount column.
    pub header: String,
    /// The line amount column summed.
    pub line: String,
    /// Largest accepted difference, as decimal text.
    pub tolerance: String,
}

/// One canonical entity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityDef {
    /// Entity name, equal to the file name.
    pub entity: String,
    /// Model version the file belongs to.
    pub version: u32,
    /// What a row is.
    pub description: String,
    /// The key column.
    pub primary_key: String,
    /// Columns in order.
    pub columns: Vec<ColumnDef>,
    /// Header/line total rules.
    #[serde(default)]
    pub totals: Vec<TotalRule>,
}

impl EntityDef {
    /// Parses an entity file; `origin` names it in errors.
    ///
    /// # Errors
    /// Invalid TOML, unknown keys, or an inconsistent definition.
    pub fn parse(text: &str, origin: &str) -> Result<EntityDef, ModelError> {
        let def: EntityDef =
            toml::from_str(text).map_err(|e| ModelError::file(origin, e.to_string()))?;
        if def.version != MODEL_VERSION {
            return Err(ModelError::file(
                origin,
                format!(
                    "version {} (this ferry knows version {MODEL_VERSION})",
                    def.version
                ),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for c in &def.columns {
            if !seen.insert(c.name.as_str()) {
                return Err(ModelError::file(
                    origin,
                    format!("column {:?} twice", c.name),
                ));
            }
            if !c.values.is_empty() && c.kind != ColumnType::String {
                return Err(ModelError::file(
                    origin,
                    format!("column {:?}: `values` applies to string columns", c.name),
                ));
            }
            if let Some(min) = &c.min
                && (!matches!(c.kind, ColumnType::Decimal | ColumnType::Int64)
                    || min.parse::<f64>().is_err()
                    || min.contains(['e', 'E']))
            {
                return Err(ModelError::file(
                    origin,
                    format!(
                        "column {:?}: `min` needs a number column and a number",
                        c.name
                    ),
                ));
            }
        }
        for t in &def.totals {
            if t.tolerance.parse::<f64>().is_err() || t.tolerance.contains(['e', 'E']) {
                return Err(ModelError::file(
                    origin,
                    format!(
                        "totals: tolerance {:?} is not a decimal number",
                        t.tolerance
                    ),
                ));
            }
        }
        for required in ["id", "source_system", "source_id"] {
            if !def.columns.iter().any(|c| c.name == required && c.required) {
                return Err(ModelError::file(
                    origin,
                    format!("every entity has a required column {required:?}"),
                ));
            }
        }
        if !seen.contains(def.primary_key.as_str()) {
            return Err(ModelError::file(
                origin,
                format!("primary key {:?} is not a column", def.primary_key),
            ));
        }
        Ok(def)
    }

    /// The entity's Arrow schema: required columns are non-nullable.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(&c.name, c.kind.data_type(), !c.required))
                .collect::<Vec<_>>(),
        ))
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Every canonical entity, by name.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Entities by name.
    pub entities: BTreeMap<String, EntityDef>,
}

impl Model {
    /// Checks that references and total rules name existing entities and columns.
    ///
    /// # Errors
    /// The first inconsistency, naming the entity file.
    pub fn validate(&self) -> Result<(), ModelError> {
        for e in self.entities.values() {
            let origin = format!("canonical/{}.toml", e.entity);
            for c in &e.columns {
                if let Some(r) = &c.references
                    && !self.entities.contains_key(r)
                {
                    return Err(ModelError::file(
                        &origin,
                        format!("column {:?} references unknown entity {r:?}", c.name),
                    ));
                }
            }
            for t in &e.totals {
                let lines = self.entities.get(&t.lines).ok_or_else(|| {
                    ModelError::file(&origin, format!("totals: unknown entity {:?}", t.lines))
                })?;
                for (ent, col) in [(e, &t.header), (lines, &t.line), (lines, &t.key)] {
                    if ent.column(col).is_none() {
                        return Err(ModelError::file(
                            &origin,
                            format!("totals: {}.{col} does not exist", ent.entity),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Entities in an order where every referenced entity comes before the entities
    /// referring to it (self-references aside), ties by name.
    pub fn dependency_order(&self) -> Vec<&EntityDef> {
        let mut done: Vec<&str> = Vec::new();
        let mut out = Vec::new();
        while out.len() < self.entities.len() {
            let before = out.len();
            for e in self.entities.values() {
                if done.contains(&e.entity.as_str()) {
                    continue;
                }
                let ready = e
                    .columns
                    .iter()
                    .filter_map(|c| c.references.as_deref())
                    .all(|r| r == e.entity || done.contains(&r));
                if ready {
                    done.push(&e.entity);
                    out.push(e);
                }
            }
            if out.len() == before {
                // A cycle: take the rest by name.
                for e in self.entities.values() {
                    if !done.contains(&e.entity.as_str()) {
                        done.push(&e.entity);
                        out.push(e);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_definition_without_its_key_columns_is_refused() {
        let err = EntityDef::parse(
            "entity='x'\nversion=1\ndescription='d'\nprimary_key='id'\n[[columns]]\nname='id'\ntype='string'\nrequired=true\ndescription='k'\n",
            "canonical/x.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("canonical/x.toml") && err.contains("source_system"),
            "{err}"
        );
    }

    #[test]
    fn unknown_types_and_keys_are_named() {
        let err = EntityDef::parse(
            "entity='x'\nversion=1\ndescription='d'\nprimary_key='id'\n[[columns]]\nname='id'\ntype='money'\ndescription='k'\n",
            "canonical/x.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("money"), "{err}");
    }
}
