//! The Tryton migration target: `create` and `write` over JSON-RPC.
//!
//! - A document is created with its lines in one `create` call
//!   (`{"lines": [["create", [...]]]}`), which Tryton runs in one transaction: after a
//!   crash it is there whole or not at all.
//! - Tryton has no external-id store for business records, so a mapping names a field
//!   that carries a record's key (a party's `code`, an order's `reference`); `find`
//!   searches it before anything is created.
//! - Decimals, dates and datetimes are sent as Tryton's typed JSON
//!   (`{"__class__": "Decimal", "decimal": "12.50"}`), never as floats.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::registry::parse_config;
use ferry_core::target::{ChildSet, FieldValue, LoadRecord, ReadRecord, Target, TargetFactory};
use ferry_core::{Error, Result};
use serde_json::{Map, Value, json};

use crate::source::{TrytonConfig, TrytonSource};
use crate::types::datetime_object;

/// A Tryton database to load into (`[target]` with `kind = "tryton"`; same keys as
/// the source: `url`, `user`, `password_env`, `password_file`, `http`).
#[derive(Debug)]
pub struct TrytonTarget {
    server: TrytonSource,
}

impl TrytonTarget {
    /// Checks the configuration (no request is sent).
    ///
    /// # Errors
    /// As [`TrytonSource::new`].
    pub fn new(config: TrytonConfig) -> Result<Self> {
        Ok(TrytonTarget {
            server: TrytonSource::new(config)?,
        })
    }

    async fn context(&self) -> Result<Value> {
        Ok(self.server.session().await?.context.clone())
    }

    async fn call(&self, model: &str, method: &str, params: Vec<Value>) -> Result<Value> {
        let mut params = params;
        params.push(self.context().await?);
        self.server
            .call(
                &format!("model.{model}.{method}"),
                Value::Array(params),
                "load",
            )
            .await
    }
}

/// Tryton's JSON for a value.
pub fn encode(value: &FieldValue) -> Value {
    match value {
        FieldValue::Null => Value::Null,
        FieldValue::Bool(b) => json!(b),
        FieldValue::Int(i) | FieldValue::Ref(i) => json!(i),
        FieldValue::Decimal(d) => json!({"__class__": "Decimal", "decimal": d}),
        FieldValue::Text(t) => json!(t),
        FieldValue::Date(d) => {
            let mut parts = d.splitn(3, '-').map(|p| p.parse::<i64>().unwrap_or(0));
            let (y, m, day) = (
                parts.next().unwrap_or(0),
                parts.next().unwrap_or(0),
                parts.next().unwrap_or(0),
            );
            json!({"__class__": "date", "year": y, "month": m, "day": day})
        }
        FieldValue::Timestamp(t) => datetime_object(t).unwrap_or_else(|| json!(t)),
        FieldValue::Json(v) => v.clone(),
    }
}

fn encode_record(record: &LoadRecord) -> Value {
    let mut map: Map<String, Value> = record
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), encode(v)))
        .collect();
    for set in &record.children {
        map.insert(set.field.clone(), create_children(set));
    }
    Value::Object(map)
}

fn create_children(set: &ChildSet) -> Value {
    json!([[
        "create",
        set.records.iter().map(encode_record).collect::<Vec<_>>()
    ]])
}

/// A value read from Tryton, with its typed JSON decoded.
pub fn decode(value: &Value) -> FieldValue {
    match value {
        Value::Null => FieldValue::Null,
        Value::Bool(b) => FieldValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => FieldValue::Int(i),
            None => FieldValue::Decimal(n.to_string()),
        },
        Value::String(s) => FieldValue::Text(s.clone()),
        Value::Object(m) => match m.get("__class__").and_then(Value::as_str) {
            Some("Decimal") => FieldValue::Decimal(
                m.get("decimal")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            ),
            Some("date" | "datetime") => {
                let mut v = value.clone();
                crate::types::normalise(&mut v);
                match (m.get("__class__").and_then(Value::as_str), v) {
                    (Some("date"), Value::String(s)) => FieldValue::Date(s),
                    (_, Value::String(s)) => FieldValue::Timestamp(s),
                    (_, other) => FieldValue::Json(other),
                }
            }
            _ => FieldValue::Json(value.clone()),
        },
        Value::Array(_) => FieldValue::Json(value.clone()),
    }
}

fn ids_of(v: &Value, what: &str, display: &str) -> Result<Vec<i64>> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .ok_or_else(|| Error::Remote {
            system: display.to_owned(),
            endpoint: what.to_owned(),
            message: format!("expected a list of ids, got {v}"),
            transient: false,
        })
}

#[async_trait]
impl Target for TrytonTarget {
    fn describe(&self) -> String {
        self.server.display().to_owned()
    }

    async fn find(
        &self,
        model: &str,
        lookup_field: Option<&str>,
        keys: &[String],
    ) -> Result<HashMap<String, i64>> {
        let Some(field) = lookup_field else {
            return Ok(HashMap::new());
        };
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = self
            .call(
                model,
                "search_read",
                vec![
                    json!([[field, "in", keys]]),
                    json!(0),
                    Value::Null,
                    json!([["id", "ASC"]]),
                    json!([field]),
                ],
            )
            .await?;
        let mut out = HashMap::new();
        for row in rows.as_array().into_iter().flatten() {
            if let (Some(id), Some(k)) = (
                row.get("id").and_then(Value::as_i64),
                row.get(field).and_then(Value::as_str),
            ) {
                out.entry(k.to_owned()).or_insert(id);
            }
        }
        Ok(out)
    }

    async fn lookup(&self, model: &str, field: &str, value: &FieldValue) -> Result<Option<i64>> {
        let ids = self
            .call(
                model,
                "search",
                vec![
                    json!([[field, "=", encode(value)]]),
                    json!(0),
                    json!(2),
                    Value::Null,
                ],
            )
            .await?;
        let ids = ids_of(&ids, &format!("{model}.search"), &self.describe())?;
        Ok(if ids.len() == 1 { Some(ids[0]) } else { None })
    }

    async fn create(
        &self,
        model: &str,
        records: &[LoadRecord],
        _external_ids: bool,
    ) -> Result<Vec<i64>> {
        let values: Vec<Value> = records.iter().map(encode_record).collect();
        let ids = self
            .call(model, "create", vec![Value::Array(values)])
            .await?;
        let ids = ids_of(&ids, &format!("{model}.create"), &self.describe())?;
        if ids.len() != records.len() {
            return Err(Error::Remote {
                system: self.describe(),
                endpoint: format!("{model}.create"),
                message: format!("{} records sent, {} ids returned", records.len(), ids.len()),
                transient: false,
            });
        }
        Ok(ids)
    }

    async fn write(&self, model: &str, id: i64, record: &LoadRecord) -> Result<()> {
        let values: Map<String, Value> = record
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), encode(v)))
            .collect();
        self.call(model, "write", vec![json!([id]), Value::Object(values)])
            .await?;
        Ok(())
    }

    async fn add_children(&self, model: &str, id: i64, children: &ChildSet) -> Result<()> {
        let mut values = Map::new();
        values.insert(children.field.clone(), create_children(children));
        self.call(model, "write", vec![json!([id]), Value::Object(values)])
            .await?;
        Ok(())
    }

    async fn children(
        &self,
        model: &str,
        ids: &[i64],
        field: &str,
    ) -> Result<HashMap<i64, Vec<i64>>> {
        let rows = self
            .call(model, "read", vec![json!(ids), json!([field])])
            .await?;
        let mut out = HashMap::new();
        for row in rows.as_array().into_iter().flatten() {
            let Some(id) = row.get("id").and_then(Value::as_i64) else {
                continue;
            };
            let mut kids = ids_of(
                row.get(field).unwrap_or(&Value::Null),
                &format!("{model}.{field}"),
                &self.describe(),
            )?;
            kids.sort_unstable();
            out.insert(id, kids);
        }
        Ok(out)
    }

    async fn read(
        &self,
        model: &str,
        ids: &[i64],
        fields: &[String],
    ) -> Result<HashMap<i64, ReadRecord>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        // `read` fails on a deleted id: search first, read what exists.
        let existing = self
            .call(
                model,
                "search",
                vec![
                    json!([["id", "in", ids]]),
                    json!(0),
                    Value::Null,
                    Value::Null,
                ],
            )
            .await?;
        let existing = ids_of(&existing, &format!("{model}.search"), &self.describe())?;
        if existing.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = self
            .call(model, "read", vec![json!(existing), json!(fields)])
            .await?;
        let mut out = HashMap::new();
        for row in rows.as_array().into_iter().flatten() {
            let Some(id) = row.get("id").and_then(Value::as_i64) else {
                continue;
            };
            let rec: ReadRecord = fields
                .iter()
                .map(|f| (f.clone(), decode(row.get(f).unwrap_or(&Value::Null))))
                .collect();
            out.insert(id, rec);
        }
        Ok(out)
    }
}

/// Builds [`TrytonTarget`]s from `[target]` tables.
pub struct TrytonTargetFactory;

impl TargetFactory for TrytonTargetFactory {
    fn kind(&self) -> &'static str {
        "tryton"
    }

    fn build(&self, table: toml::Table, origin: &str) -> Result<Arc<dyn Target>> {
        Ok(Arc::new(TrytonTarget::new(parse_config::<TrytonConfig>(
            table, origin,
        )?)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_sent_as_typed_json_and_read_back_the_same() {
        for v in [
            FieldValue::Decimal("12.3456".into()),
            FieldValue::Date("2025-03-01".into()),
            FieldValue::Text("Café Crème".into()),
            FieldValue::Int(7),
            FieldValue::Null,
            FieldValue::Bool(true),
        ] {
            assert_eq!(decode(&encode(&v)), v, "{v:?}");
        }
        assert_eq!(
            encode(&FieldValue::Decimal("0.10".into())),
            json!({"__class__": "Decimal", "decimal": "0.10"})
        );
    }

    #[test]
    fn children_are_created_with_their_parent() {
        let mut line = LoadRecord::default();
        line.fields
            .insert("quantity".into(), FieldValue::Decimal("2".into()));
        let mut order = LoadRecord::default();
        order
            .fields
            .insert("reference".into(), FieldValue::Text("t:1".into()));
        order.children.push(ChildSet {
            field: "lines".into(),
            records: vec![line],
        });
        assert_eq!(
            encode_record(&order),
            json!({"reference": "t:1", "lines": [["create", [
                {"quantity": {"__class__": "Decimal", "decimal": "2"}}]]]})
        );
    }
}
