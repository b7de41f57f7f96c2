//! Tryton field types to Arrow, and Tryton's typed JSON to plain JSON.
//!
//! | Tryton | Arrow |
//! | --- | --- |
//! | boolean | Boolean |
//! | integer, biginteger, many2one, one2one | Int64 (ids for relations) |
//! | float, numeric with `digits` `[p, s]` | Decimal128(38, s) |
//! | float, numeric with digits from another field | Decimal128(38, 10) |
//! | float without digits | Float64 |
//! | char, text, selection, reference, time | Utf8 |
//! | multiselection | List(Utf8) |
//! | one2many, many2many | List(Int64) |
//! | date | Date32 |
//! | datetime, timestamp | Timestamp(µs, UTC) (Tryton stores naive UTC) |
//! | timedelta | Decimal128(38, 6) seconds |
//! | dict | Utf8 (JSON text) |
//! | binary | Binary, only with `include_binary` |

use ferry_http::columns::Kind;
use serde_json::{Map, Value};

/// Scale used when a field's digits depend on another field (a unit, a currency).
pub const DYNAMIC_SCALE: u8 = 10;

/// The Arrow kind of a field from its `fields_get` definition; `None` = not read.
pub fn kind_of(def: &Value, include_binary: bool) -> Option<Kind> {
    let ttype = def.get("type").and_then(Value::as_str)?;
    Some(match ttype {
        "boolean" => Kind::Bool,
        "integer" | "biginteger" | "many2one" | "one2one" => Kind::Int64,
        "float" | "numeric" => match digits_scale(def.get("digits")) {
            Some(Some(s)) => Kind::Decimal(s),
            Some(None) => Kind::Decimal(DYNAMIC_SCALE),
            None if ttype == "numeric" => Kind::Decimal(DYNAMIC_SCALE),
            None => Kind::Float64,
        },
        "char" | "text" | "selection" | "reference" | "time" | "dict" | "fmany2one" => Kind::Utf8,
        "multiselection" => Kind::ListUtf8,
        "one2many" | "many2many" => Kind::ListInt64,
        "date" => Kind::Date32,
        "datetime" | "timestamp" => Kind::Timestamp,
        "timedelta" => Kind::Decimal(6),
        "binary" if include_binary => Kind::Binary,
        _ => return None,
    })
}

/// `Some(Some(scale))` for fixed digits, `Some(None)` for digits that depend on a
/// record, `None` when the field has no digits.
fn digits_scale(digits: Option<&Value>) -> Option<Option<u8>> {
    let d = digits?;
    let parsed;
    let d = match d {
        Value::Null => return None,
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).ok()?;
            &parsed
        }
        other => other,
    };
    match d {
        Value::Array(a) if a.len() == 2 => Some(match &a[1] {
            Value::Number(n) => n.as_u64().filter(|s| *s <= 30).map(|s| s as u8),
            _ => None,
        }),
        Value::Null => None,
        _ => Some(None),
    }
}

/// Rewrites Tryton's `__class__` objects in place into plain JSON that
/// [`ferry_http::columns`] types exactly.
pub fn normalise(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(plain) = decode_class(map) {
                *value = plain;
            } else {
                for v in map.values_mut() {
                    normalise(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

fn num(map: &Map<String, Value>, k: &str) -> i64 {
    map.get(k).and_then(Value::as_i64).unwrap_or(0)
}

fn decode_class(map: &Map<String, Value>) -> Option<Value> {
    let class = map.get("__class__")?.as_str()?;
    Some(match class {
        "Decimal" => map.get("decimal")?.clone(),
        "date" => Value::String(format!(
            "{:04}-{:02}-{:02}",
            num(map, "year"),
            num(map, "month"),
            num(map, "day")
        )),
        "datetime" => Value::String(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
            num(map, "year"),
            num(map, "month"),
            num(map, "day"),
            num(map, "hour"),
            num(map, "minute"),
            num(map, "second"),
            num(map, "microsecond")
        )),
        "time" => Value::String(format!(
            "{:02}:{:02}:{:02}.{:06}",
            num(map, "hour"),
            num(map, "minute"),
            num(map, "second"),
            num(map, "microsecond")
        )),
        "timedelta" => map.get("seconds")?.clone(),
        "bytes" => map.get("base64")?.clone(),
        _ => return None,
    })
}

/// A Tryton datetime object for a domain value, from `YYYY-MM-DDTHH:MM:SS.ffffff`.
pub fn datetime_object(text: &str) -> Option<Value> {
    let t = ferry_core::values::parse_timestamp(text)?;
    let dt = chrono::DateTime::from_timestamp_micros(t.micros)?.naive_utc();
    use chrono::{Datelike, Timelike};
    Some(serde_json::json!({
        "__class__": "datetime",
        "year": dt.year(), "month": dt.month(), "day": dt.day(),
        "hour": dt.hour(), "minute": dt.minute(), "second": dt.second(),
        "microsecond": dt.nanosecond() / 1000,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_json_becomes_plain() {
        let mut v = json!({
            "a": {"__class__": "Decimal", "decimal": "48.9575"},
            "d": {"__class__": "date", "year": 2025, "month": 7, "day": 6},
            "t": {"__class__": "datetime", "year": 2026, "month": 11, "day": 29, "hour": 2,
                  "minute": 59, "second": 28, "microsecond": 759379},
            "b": {"__class__": "bytes", "base64": "aGk="},
            "l": [{"__class__": "Decimal", "decimal": "1"}],
            "x": {"k": 1}
        });
        normalise(&mut v);
        assert_eq!(
            v,
            json!({"a": "48.9575", "d": "2025-07-06", "t": "2026-11-29T02:59:28.759379",
                   "b": "aGk=", "l": ["1"], "x": {"k": 1}})
        );
        assert_eq!(
            datetime_object("2026-11-29T02:59:28.759379").unwrap()["microsecond"],
            json!(759379)
        );
    }

    #[test]
    fn field_types_map_to_exact_arrow_kinds() {
        let k = |d: Value| kind_of(&d, false);
        assert_eq!(
            k(json!({"type": "numeric", "digits": "[16, 4]"})),
            Some(Kind::Decimal(4))
        );
        assert_eq!(
            k(json!({"type": "numeric", "digits": "[null, 2]"})),
            Some(Kind::Decimal(2))
        );
        assert_eq!(
            k(json!({"type": "float", "digits": "{\"__class__\": \"Get\"}"})),
            Some(Kind::Decimal(DYNAMIC_SCALE))
        );
        assert_eq!(k(json!({"type": "float"})), Some(Kind::Float64));
        assert_eq!(k(json!({"type": "many2one"})), Some(Kind::Int64));
        assert_eq!(k(json!({"type": "one2many"})), Some(Kind::ListInt64));
        assert_eq!(k(json!({"type": "binary"})), None);
        assert_eq!(
            kind_of(&json!({"type": "binary"}), true),
            Some(Kind::Binary)
        );
        assert_eq!(k(json!({"type": "datetime"})), Some(Kind::Timestamp));
    }
}
