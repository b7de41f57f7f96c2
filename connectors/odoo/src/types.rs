//! Odoo field types to Arrow columns.

use ferry_http::columns::{ColumnPlan, Kind};
use serde_json::Value;

/// The columns of one stored Odoo field (`None` entries are skipped fields).
pub fn columns_of(
    name: &str,
    def: &Value,
    include_binary: bool,
    monetary_scale: u8,
) -> Vec<ColumnPlan> {
    let ttype = def.get("type").and_then(Value::as_str).unwrap_or("");
    let kind = match ttype {
        "boolean" => Kind::Bool,
        "integer" | "many2one_reference" => Kind::Int64,
        "monetary" => Kind::Decimal(monetary_scale),
        "float" => match def
            .get("digits")
            .and_then(Value::as_array)
            .and_then(|d| d.get(1))
            .and_then(Value::as_u64)
        {
            Some(s) if s <= 30 => Kind::Decimal(s as u8),
            _ => Kind::Float64,
        },
        "char" | "text" | "html" | "selection" | "reference" | "json" | "properties" => Kind::Utf8,
        "date" => Kind::Date32,
        "datetime" => Kind::Timestamp,
        "one2many" | "many2many" => Kind::ListInt64,
        "binary" if include_binary => Kind::Binary,
        "many2one" => {
            return vec![
                ColumnPlan {
                    index: Some(0),
                    ..ColumnPlan::new(name, name, Kind::Int64)
                },
                ColumnPlan {
                    index: Some(1),
                    ..ColumnPlan::new(format!("{name}_name"), name, Kind::Utf8)
                },
            ];
        }
        _ => return Vec::new(),
    };
    vec![ColumnPlan::new(name, name, kind)]
}

/// Odoo's `false` for an empty value becomes `null` in every non-boolean column.
pub fn nulls_for_false(record: &mut Value, bool_fields: &[String]) {
    if let Value::Object(map) = record {
        for (k, v) in map.iter_mut() {
            if matches!(v, Value::Bool(false)) && !bool_fields.iter().any(|b| b == k) {
                *v = Value::Null;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn odoo_types_map_exactly() {
        let one = |d: Value| columns_of("f", &d, false, 4);
        assert_eq!(one(json!({"type": "monetary"}))[0].kind, Kind::Decimal(4));
        assert_eq!(
            one(json!({"type": "float", "digits": [16, 3]}))[0].kind,
            Kind::Decimal(3)
        );
        assert_eq!(one(json!({"type": "float"}))[0].kind, Kind::Float64);
        let m2o = one(json!({"type": "many2one"}));
        assert_eq!(m2o.len(), 2);
        assert_eq!((m2o[1].name.as_str(), m2o[1].index), ("f_name", Some(1)));
        assert!(one(json!({"type": "binary"})).is_empty());
        assert_eq!(
            columns_of("f", &json!({"type": "binary"}), true, 4)[0].kind,
            Kind::Binary
        );
        let mut r = json!({"a": false, "b": false, "c": [1, "x"]});
        nulls_for_false(&mut r, &["b".to_owned()]);
        assert_eq!(r, json!({"a": null, "b": false, "c": [1, "x"]}));
    }
}
