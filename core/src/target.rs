//! Loading into an ERP: what a migration target (Tryton, Odoo…) must do.
//!
//! The migration engine decides what to create or update and in which order; a
//! [`Target`] only speaks its system's API: find records an earlier run created,
//! create documents in batches (a header with its lines in one call, so a document is
//! never half there), write changes, and read records back for reconciliation.
//! Values travel as [`FieldValue`]s so each target encodes decimals and dates its own
//! way (Tryton's typed JSON, Odoo's plain JSON).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;

use crate::Result;

/// One value to send to, or read back from, a target.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// No value (NULL); never the empty string.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// An exact decimal, as text (`-12.3400`).
    Decimal(String),
    /// Text.
    Text(String),
    /// A date, `YYYY-MM-DD`.
    Date(String),
    /// A UTC instant, `YYYY-MM-DD HH:MM:SS[.ffffff]`.
    Timestamp(String),
    /// The target id of another record (many-to-one).
    Ref(i64),
    /// A value the mapping gave as JSON, passed through as is.
    Json(serde_json::Value),
}

/// A record to create or write: its canonical key, its fields and nested children
/// (lines of a document, addresses of a party) created in the same call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadRecord {
    /// The canonical key (`<system>:<source id>`), for messages and the ID map.
    pub key: String,
    /// Target field name → value.
    pub fields: BTreeMap<String, FieldValue>,
    /// Nested records, by the target's one-to-many field.
    pub children: Vec<ChildSet>,
}

/// Children of a record created with it (`sale.sale.lines`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChildSet {
    /// The parent's one-to-many field.
    pub field: String,
    /// The records, in order; the target creates them in this order.
    pub records: Vec<LoadRecord>,
}

/// A record read back from a target: field → value (many-to-one as [`FieldValue::Ref`]).
pub type ReadRecord = BTreeMap<String, FieldValue>;

/// A system ferry loads into.
#[async_trait]
pub trait Target: Send + Sync + std::fmt::Debug {
    /// The target for messages (`tryton 127.0.0.1:8000/db`), without secrets.
    fn describe(&self) -> String;

    /// Target ids of the records of `model` that carry one of `keys` in
    /// `lookup_field` (records created by an earlier, interrupted run), or in the
    /// target's own external-id store when `lookup_field` is `None` and it has one.
    async fn find(
        &self,
        model: &str,
        lookup_field: Option<&str>,
        keys: &[String],
    ) -> Result<HashMap<String, i64>>;

    /// The id of the record of `model` whose `field` equals `value` (reference data
    /// the target already has: currencies, units, accounts), if exactly one does.
    async fn lookup(&self, model: &str, field: &str, value: &FieldValue) -> Result<Option<i64>>;

    /// Creates `records` (with their children) in one call, all or none; returns their
    /// ids in order. `external_ids` names each record in the target's external-id
    /// store when it has one.
    async fn create(
        &self,
        model: &str,
        records: &[LoadRecord],
        external_ids: bool,
    ) -> Result<Vec<i64>>;

    /// Writes `record`'s fields (not its children) to record `id`.
    async fn write(&self, model: &str, id: i64, record: &LoadRecord) -> Result<()>;

    /// Adds children to an existing record.
    async fn add_children(&self, model: &str, id: i64, children: &ChildSet) -> Result<()>;

    /// The ids in one-to-many `field` of each record, ascending.
    async fn children(
        &self,
        model: &str,
        ids: &[i64],
        field: &str,
    ) -> Result<HashMap<i64, Vec<i64>>>;

    /// Reads `fields` of records `ids`; missing records are absent from the answer.
    async fn read(
        &self,
        model: &str,
        ids: &[i64],
        fields: &[String],
    ) -> Result<HashMap<i64, ReadRecord>>;
}

/// Builds targets from a job file's `[target]` table.
pub trait TargetFactory: Send + Sync {
    /// The `kind` it builds.
    fn kind(&self) -> &'static str;
    /// Builds a target from its table (without `kind`).
    ///
    /// # Errors
    /// Unknown keys, missing values, bad URLs.
    fn build(&self, table: toml::Table, origin: &str) -> Result<Arc<dyn Target>>;
}
