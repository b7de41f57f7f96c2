//! What a source says about one of its streams before reading it.

use arrow_schema::SchemaRef;
use serde::Serialize;

/// One stream of a source: a table, a file, an API model.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    /// Unique name within the source, e.g. `public.sale_order`, `customers`, `res.partner`.
    /// It names the output folder, so it never contains a path separator.
    pub name: String,
    /// Arrow schema of the batches [`crate::Source::read`] yields.
    pub schema: SchemaRef,
    /// Columns that identify a row; empty when the source has no key.
    pub primary_key: Vec<String>,
    /// Column whose value only grows with changes (e.g. `write_date`), for incremental reads.
    pub cursor_field: Option<String>,
    /// Row count the source reports or estimates, for progress bars and `discover`.
    pub row_estimate: Option<u64>,
    /// Whether `row_estimate` is exact.
    pub row_count_exact: bool,
}

impl StreamSpec {
    /// A stream with a name and schema and nothing else known.
    pub fn new(name: impl Into<String>, schema: SchemaRef) -> Self {
        StreamSpec {
            name: name.into(),
            schema,
            primary_key: Vec::new(),
            cursor_field: None,
            row_estimate: None,
            row_count_exact: false,
        }
    }

    /// A JSON description used by `ferry discover --json` and manifests.
    pub fn describe(&self) -> StreamDescription {
        StreamDescription {
            name: self.name.clone(),
            columns: describe_columns(&self.schema),
            primary_key: self.primary_key.clone(),
            cursor_field: self.cursor_field.clone(),
            row_estimate: self.row_estimate,
            row_count_exact: self.row_count_exact,
        }
    }
}

/// Serializable summary of a stream.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct StreamDescription {
    /// Stream name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<ColumnDescription>,
    /// Primary key columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub primary_key: Vec<String>,
    /// Incremental cursor column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_field: Option<String>,
    /// Known or estimated rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_estimate: Option<u64>,
    /// Whether `row_estimate` is exact.
    #[serde(default)]
    pub row_count_exact: bool,
}

/// Serializable summary of a column.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ColumnDescription {
    /// Column name.
    pub name: String,
    /// Arrow data type, as Arrow displays it (e.g. `Decimal128(18, 2)`).
    #[serde(rename = "type")]
    pub data_type: String,
    /// Whether NULL may occur.
    pub nullable: bool,
}

/// Describes every column of a schema.
pub fn describe_columns(schema: &arrow_schema::Schema) -> Vec<ColumnDescription> {
    schema
        .fields()
        .iter()
        .map(|f| ColumnDescription {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
            nullable: f.is_nullable(),
        })
        .collect()
}
