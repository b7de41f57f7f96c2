//! The Odoo migration target: `create`, `write` and reads over `execute_kw`.
//!
//! - A document is created with its lines in one `create` call (`{"order_line": [[0, 0,
//!   {...}], ...]}`), which Odoo runs in one transaction; a batch of records is one call
//!   with a list of value dicts.
//! - External ids: after a batch is created, one more call writes an `ir.model.data`
//!   row per record (module `__ferry__`, name from the model and the canonical key), so
//!   `find(model, None, keys)` finds what an earlier, interrupted run created. A crash
//!   between the two calls leaves records without an external id (Odoo offers no
//!   public call doing both in one transaction); the ID map beside the job still has
//!   them only if ferry committed it, so that window is the one documented for the
//!   engine.
//! - Values are Odoo's plain JSON: decimals as JSON numbers built from their exact text
//!   (serde_json's `arbitrary_precision`, never through a float), dates `YYYY-MM-DD`,
//!   datetimes `YYYY-MM-DD HH:MM:SS`, references as ids, empty as `false`.
//! - Read back: many2one `[id, name]` → the id, `false` → NULL for non-boolean fields,
//!   floats and monetary → exact decimal text, by the field types of `fields_get`.
//! - Company: without `company_ids` in the configuration the context names no
//!   companies, so Odoo uses the user's own (the source reads every company instead).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ferry_core::registry::parse_config;
use ferry_core::target::{ChildSet, FieldValue, LoadRecord, ReadRecord, Target, TargetFactory};
use ferry_core::{Error, Result, Source};
use serde_json::{Map, Number, Value, json};

use crate::source::{Call, OdooConfig, OdooSource, Protocol};

/// The `ir.model.data` module of the records ferry creates.
pub const MODULE: &str = "__ferry__";

/// Records per `search_read` when reading back.
const READ_CHUNK: usize = 200;

/// An Odoo database to load into (`[target]` with `kind = "odoo"`; the same keys as
/// the source: `url`, `user`, `password_env`, `api_key_env`, `protocol`, `company_ids`,
/// `http`…).
#[derive(Debug)]
pub struct OdooTarget {
    server: OdooSource,
    /// Field types per model (`fields_get`), for decoding reads.
    types: Mutex<HashMap<String, HashMap<String, String>>>,
}

impl OdooTarget {
    /// Checks the configuration (no request is sent).
    ///
    /// # Errors
    /// As [`OdooSource::new`].
    pub fn new(config: OdooConfig) -> Result<Self> {
        Ok(OdooTarget {
            server: OdooSource::new(config)?,
            types: Mutex::new(HashMap::new()),
        })
    }

    /// One model method. `ids` are the records a record method runs on (positional on
    /// JSON-RPC and XML-RPC, `ids` on JSON-2); `first` is the first positional argument
    /// of a model method (a domain, a list of values) with its JSON-2 name.
    async fn call(
        &self,
        model: &str,
        method: &str,
        ids: Option<&[i64]>,
        first: Option<(&str, Value)>,
        mut kwargs: Map<String, Value>,
        active_test: bool,
    ) -> Result<Value> {
        let session = self.server.session().await?;
        let json2 = session.protocol == Protocol::Json2;
        let mut domain = None;
        if let Some(ids) = ids {
            if json2 {
                kwargs.insert("ids".into(), json!(ids));
            } else {
                domain = Some(json!(ids));
            }
        }
        if let Some((name, value)) = first {
            if json2 && name != "domain" {
                kwargs.insert(name.into(), value);
            } else {
                domain = Some(value);
            }
        }
        // The source's context names every company; writes go to the user's company
        // unless the configuration names companies (the first is the current one).
        let mut context = session.context.clone();
        if let (true, Some(c)) = (
            self.server.config().company_ids.is_empty(),
            context.as_object_mut(),
        ) {
            c.remove("allowed_company_ids");
        }
        context["active_test"] = json!(active_test);
        self.server
            .call_in(
                session,
                &context,
                Call {
                    model,
                    method,
                    domain,
                    kwargs,
                    page: "load".into(),
                },
            )
            .await
    }

    async fn search_read(
        &self,
        model: &str,
        domain: Value,
        fields: &[&str],
        active_test: bool,
    ) -> Result<Vec<Map<String, Value>>> {
        let mut kwargs = Map::new();
        kwargs.insert("fields".into(), json!(fields));
        let rows = self
            .call(
                model,
                "search_read",
                None,
                Some(("domain", domain)),
                kwargs,
                active_test,
            )
            .await?;
        match rows {
            Value::Array(rows) => Ok(rows
                .into_iter()
                .filter_map(|r| match r {
                    Value::Object(m) => Some(m),
                    _ => None,
                })
                .collect()),
            other => {
                Err(self.unexpected(&format!("{model}.search_read"), "a list of records", &other))
            }
        }
    }

    /// Field name → Odoo type of `model` (fetched once).
    async fn types(&self, model: &str) -> Result<HashMap<String, String>> {
        if let Some(t) = self.types.lock().expect("not poisoned").get(model) {
            return Ok(t.clone());
        }
        let mut kwargs = Map::new();
        kwargs.insert("attributes".into(), json!(["type"]));
        let answer = self
            .call(model, "fields_get", None, None, kwargs, false)
            .await?;
        let types: HashMap<String, String> = answer
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, d)| Some((k.clone(), d.get("type")?.as_str()?.to_owned())))
            .collect();
        self.types
            .lock()
            .expect("not poisoned")
            .insert(model.to_owned(), types.clone());
        Ok(types)
    }

    fn unexpected(&self, endpoint: &str, expected: &str, got: &Value) -> Error {
        let mut text = got.to_string();
        text.truncate(200);
        Error::Remote {
            system: self.describe(),
            endpoint: endpoint.to_owned(),
            message: format!("expected {expected}, got {text}"),
            transient: false,
        }
    }
}

/// Odoo's JSON for a value.
pub fn encode(value: &FieldValue) -> Value {
    match value {
        // Odoo writes `false` for an empty value of any type.
        FieldValue::Null => Value::Bool(false),
        FieldValue::Bool(b) => json!(b),
        FieldValue::Int(i) | FieldValue::Ref(i) => json!(i),
        // The exact text as a JSON number (arbitrary_precision keeps it as written).
        FieldValue::Decimal(d) => Number::from_str(d.trim())
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(d.clone())),
        FieldValue::Text(t) | FieldValue::Date(t) => json!(t),
        FieldValue::Timestamp(t) => {
            // Odoo takes `YYYY-MM-DD HH:MM:SS`, UTC, without fractions.
            let t = t.replace('T', " ");
            let t = t.trim_end_matches('Z');
            json!(t.split('.').next().unwrap_or(t))
        }
        FieldValue::Json(v) => v.clone(),
    }
}

/// A record's values for `create`, with its children as `[0, 0, values]` commands.
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
    Value::Array(
        set.records
            .iter()
            .map(|r| json!([0, 0, encode_record(r)]))
            .collect(),
    )
}

/// A value read from Odoo, given the field's type.
pub fn decode(value: &Value, ttype: &str) -> FieldValue {
    match (value, ttype) {
        (Value::Bool(b), "boolean") => FieldValue::Bool(*b),
        // Odoo reads an empty value of any other type as `false`.
        (Value::Bool(false) | Value::Null, _) => FieldValue::Null,
        (Value::Array(a), "many2one") => a
            .first()
            .and_then(Value::as_i64)
            .map_or(FieldValue::Null, FieldValue::Int),
        (Value::Number(n), "float" | "monetary") => FieldValue::Decimal(n.to_string()),
        (Value::Number(n), _) => match n.as_i64() {
            Some(i) => FieldValue::Int(i),
            None => FieldValue::Decimal(n.to_string()),
        },
        (Value::String(s), "date") => FieldValue::Date(s.clone()),
        // In the engine's form (`%Y-%m-%d %H:%M:%S%.6f`): Odoo datetimes have no fraction.
        (Value::String(s), "datetime") if s.len() == 19 => {
            FieldValue::Timestamp(format!("{s}.000000"))
        }
        (Value::String(s), "datetime") => FieldValue::Timestamp(s.clone()),
        (Value::String(s), _) => FieldValue::Text(s.clone()),
        (Value::Bool(b), _) => FieldValue::Bool(*b),
        (other, _) => FieldValue::Json(other.clone()),
    }
}

/// The `ir.model.data` name of a record of `model` with canonical key `key`:
/// `res_partner__tryton_12`. Characters other than letters, digits and `_` become `_`;
/// when the key had any but `:` (which could then collide), a hash of it is appended.
pub fn external_name(model: &str, key: &str) -> String {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let mut name = format!("{}__{}", safe(model), safe(key));
    if key
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || c == ':'))
    {
        // FNV-1a: stable across runs and builds, unlike the std hasher.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in key.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        name.push_str(&format!("_{h:016x}"));
    }
    name
}

fn ids_of(v: &Value) -> Option<Vec<i64>> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
}

#[async_trait]
impl Target for OdooTarget {
    fn describe(&self) -> String {
        Source::describe(&self.server)
    }

    async fn find(
        &self,
        model: &str,
        lookup_field: Option<&str>,
        keys: &[String],
    ) -> Result<HashMap<String, i64>> {
        let mut out = HashMap::new();
        if keys.is_empty() {
            return Ok(out);
        }
        if let Some(field) = lookup_field {
            let rows = self
                .search_read(model, json!([[field, "in", keys]]), &["id", field], false)
                .await?;
            for row in rows {
                if let (Some(id), Some(k)) = (
                    row.get("id").and_then(Value::as_i64),
                    row.get(field).and_then(Value::as_str),
                ) {
                    out.entry(k.to_owned()).or_insert(id);
                }
            }
            return Ok(out);
        }
        let by_name: HashMap<String, &String> =
            keys.iter().map(|k| (external_name(model, k), k)).collect();
        let names: Vec<&String> = by_name.keys().collect();
        let rows = self
            .search_read(
                "ir.model.data",
                json!([
                    ["module", "=", MODULE],
                    ["model", "=", model],
                    ["name", "in", names]
                ]),
                &["name", "res_id"],
                false,
            )
            .await?;
        for row in rows {
            if let (Some(name), Some(id)) = (
                row.get("name").and_then(Value::as_str),
                row.get("res_id").and_then(Value::as_i64),
            ) && let Some(k) = by_name.get(name)
            {
                out.insert((*k).clone(), id);
            }
        }
        Ok(out)
    }

    async fn lookup(&self, model: &str, field: &str, value: &FieldValue) -> Result<Option<i64>> {
        // Reference data is looked up among active records first, as Odoo's UI does;
        // an archived one (a unit no longer offered) is still a valid reference.
        for active_test in [true, false] {
            let mut kwargs = Map::new();
            kwargs.insert("limit".into(), json!(2));
            let ids = self
                .call(
                    model,
                    "search",
                    None,
                    Some(("domain", json!([[field, "=", encode(value)]]))),
                    kwargs,
                    active_test,
                )
                .await?;
            let ids = ids_of(&ids).ok_or_else(|| {
                self.unexpected(&format!("{model}.search"), "a list of ids", &ids)
            })?;
            match ids.len() {
                0 => {}
                1 => return Ok(Some(ids[0])),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    async fn create(
        &self,
        model: &str,
        records: &[LoadRecord],
        external_ids: bool,
    ) -> Result<Vec<i64>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<Value> = records.iter().map(encode_record).collect();
        let answer = self
            .call(
                model,
                "create",
                None,
                Some(("vals_list", Value::Array(values))),
                Map::new(),
                false,
            )
            .await?;
        let endpoint = format!("{model}.create");
        let ids =
            ids_of(&answer).ok_or_else(|| self.unexpected(&endpoint, "a list of ids", &answer))?;
        if ids.len() != records.len() {
            return Err(Error::Remote {
                system: self.describe(),
                endpoint,
                message: format!("{} records sent, {} ids returned", records.len(), ids.len()),
                transient: false,
            });
        }
        if external_ids {
            let rows: Vec<Value> = records
                .iter()
                .zip(&ids)
                .map(|(r, id)| {
                    json!({"module": MODULE, "name": external_name(model, &r.key),
                           "model": model, "res_id": id, "noupdate": true})
                })
                .collect();
            self.call(
                "ir.model.data",
                "create",
                None,
                Some(("vals_list", Value::Array(rows))),
                Map::new(),
                false,
            )
            .await?;
        }
        tracing::debug!(model, records = ids.len(), "Created.");
        Ok(ids)
    }

    async fn write(&self, model: &str, id: i64, record: &LoadRecord) -> Result<()> {
        let values: Map<String, Value> = record
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), encode(v)))
            .collect();
        let mut kwargs = Map::new();
        kwargs.insert("vals".into(), Value::Object(values));
        self.call(model, "write", Some(&[id]), None, kwargs, false)
            .await?;
        Ok(())
    }

    async fn add_children(&self, model: &str, id: i64, children: &ChildSet) -> Result<()> {
        let mut values = Map::new();
        values.insert(children.field.clone(), create_children(children));
        let mut kwargs = Map::new();
        kwargs.insert("vals".into(), Value::Object(values));
        self.call(model, "write", Some(&[id]), None, kwargs, false)
            .await?;
        Ok(())
    }

    async fn children(
        &self,
        model: &str,
        ids: &[i64],
        field: &str,
    ) -> Result<HashMap<i64, Vec<i64>>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(READ_CHUNK) {
            let rows = self
                .search_read(model, json!([["id", "in", chunk]]), &["id", field], false)
                .await?;
            for row in rows {
                let Some(id) = row.get("id").and_then(Value::as_i64) else {
                    continue;
                };
                let v = row.get(field).unwrap_or(&Value::Null);
                let mut kids = ids_of(v).ok_or_else(|| {
                    self.unexpected(&format!("{model}.{field}"), "a list of ids", v)
                })?;
                kids.sort_unstable();
                out.insert(id, kids);
            }
        }
        Ok(out)
    }

    async fn read(
        &self,
        model: &str,
        ids: &[i64],
        fields: &[String],
    ) -> Result<HashMap<i64, ReadRecord>> {
        let mut out = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let types = self.types(model).await?;
        let mut names: Vec<&str> = vec!["id"];
        names.extend(fields.iter().map(String::as_str));
        // `search_read` on the ids, not `read`: a deleted record is absent, not an error.
        for chunk in ids.chunks(READ_CHUNK) {
            let rows = self
                .search_read(model, json!([["id", "in", chunk]]), &names, false)
                .await?;
            for row in rows {
                let Some(id) = row.get("id").and_then(Value::as_i64) else {
                    continue;
                };
                let rec: ReadRecord = fields
                    .iter()
                    .map(|f| {
                        let t = types.get(f).map_or("", String::as_str);
                        (f.clone(), decode(row.get(f).unwrap_or(&Value::Null), t))
                    })
                    .collect();
                out.insert(id, rec);
            }
        }
        Ok(out)
    }
}

/// Builds [`OdooTarget`]s from `[target]` tables.
pub struct OdooTargetFactory;

impl TargetFactory for OdooTargetFactory {
    fn kind(&self) -> &'static str {
        "odoo"
    }

    fn build(&self, table: toml::Table, origin: &str) -> Result<Arc<dyn Target>> {
        Ok(Arc::new(OdooTarget::new(parse_config::<OdooConfig>(
            table, origin,
        )?)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_sent_as_the_exact_json_number() {
        let v = encode(&FieldValue::Decimal("0.10000000000000000001".into()));
        assert_eq!(serde_json::to_string(&v).unwrap(), "0.10000000000000000001");
        assert_eq!(
            serde_json::to_string(&encode(&FieldValue::Decimal("-12.3400".into()))).unwrap(),
            "-12.3400"
        );
        assert_eq!(encode(&FieldValue::Null), json!(false));
        assert_eq!(
            encode(&FieldValue::Date("2025-03-01".into())),
            json!("2025-03-01")
        );
        assert_eq!(
            encode(&FieldValue::Timestamp("2025-03-01T10:20:30.123456".into())),
            json!("2025-03-01 10:20:30")
        );
        assert_eq!(encode(&FieldValue::Ref(7)), json!(7));
    }

    #[test]
    fn reads_are_decoded_by_field_type() {
        let n: Value = serde_json::from_str("12.35").unwrap();
        assert_eq!(decode(&n, "float"), FieldValue::Decimal("12.35".into()));
        assert_eq!(
            decode(&json!(3), "monetary"),
            FieldValue::Decimal("3".into())
        );
        assert_eq!(decode(&json!([5, "Units"]), "many2one"), FieldValue::Int(5));
        assert_eq!(decode(&json!(false), "many2one"), FieldValue::Null);
        assert_eq!(decode(&json!(false), "char"), FieldValue::Null);
        assert_eq!(decode(&json!(false), "boolean"), FieldValue::Bool(false));
        assert_eq!(decode(&json!(4), "integer"), FieldValue::Int(4));
        assert_eq!(
            decode(&json!("2025-03-01"), "date"),
            FieldValue::Date("2025-03-01".into())
        );
        assert_eq!(
            decode(&json!("2025-03-01 00:00:00"), "datetime"),
            FieldValue::Timestamp("2025-03-01 00:00:00.000000".into())
        );
        assert_eq!(
            decode(&json!("Café"), "char"),
            FieldValue::Text("Café".into())
        );
        assert_eq!(
            decode(&json!([1, 2]), "one2many"),
            FieldValue::Json(json!([1, 2]))
        );
    }

    #[test]
    fn children_are_created_with_their_parent_as_commands() {
        let mut line = LoadRecord::default();
        line.fields
            .insert("product_uom_qty".into(), FieldValue::Decimal("2.5".into()));
        line.fields.insert("product_id".into(), FieldValue::Ref(9));
        let mut order = LoadRecord::default();
        order.fields.insert("partner_id".into(), FieldValue::Ref(3));
        order.children.push(ChildSet {
            field: "order_line".into(),
            records: vec![line.clone(), line],
        });
        assert_eq!(
            serde_json::to_string(&encode_record(&order)).unwrap(),
            r#"{"partner_id":3,"order_line":[[0,0,{"product_id":9,"product_uom_qty":2.5}],[0,0,{"product_id":9,"product_uom_qty":2.5}]]}"#
        );
    }

    #[test]
    fn external_names_are_safe_and_distinct() {
        assert_eq!(
            external_name("res.partner", "tryton:12"),
            "res_partner__tryton_12"
        );
        assert_ne!(
            external_name("res.partner", "odoo:7"),
            external_name("product.template", "odoo:7")
        );
        let a = external_name("res.partner", "x:a_b");
        let b = external_name("res.partner", "x:a:b");
        assert_ne!(a, b);
        assert!(a.starts_with("res_partner__x_a_b_"), "{a}");
        assert!(!external_name("m", "a b/c").contains([' ', '/']));
    }
}
