//! Building Arrow columns from JSON records, exactly.
//!
//! API connectors first normalise their system's encodings (Tryton's `__class__`
//! objects, Odoo's `false` for empty values) into plain JSON: `null`, numbers (whose
//! text is kept, `serde_json` runs with `arbitrary_precision`), strings for decimals,
//! dates (`YYYY-MM-DD`), date-times (ISO 8601, no zone = UTC) and base64 bytes. A
//! [`ColumnPlan`] then says which key (and which element of an array value, for
//! Odoo's `[id, "name"]` many2one pairs) feeds which typed column.
//!
//! Decimals are never rounded, except the float noise of a value that reached the
//! API as a binary float: a number with 15 or more significant digits (such as
//! `0.30000000000000004`) is rounded half-even to the column's scale. A shorter value
//! with more decimals than the scale is an error naming the record and column.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder,
    Int64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use base64::Engine as _;
use ferry_core::values::{parse_date, parse_decimal, parse_timestamp, rescale};
use ferry_core::{Error, Location, Result};
use serde_json::Value;

/// The Arrow type of one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Boolean.
    Bool,
    /// 64-bit integer.
    Int64,
    /// Binary float (only for fields the system itself declares as plain floats).
    Float64,
    /// Exact decimal with this scale (precision 38).
    Decimal(u8),
    /// Text; objects and arrays are kept as JSON text.
    Utf8,
    /// Calendar date.
    Date32,
    /// UTC timestamp, microseconds.
    Timestamp,
    /// List of integer ids.
    ListInt64,
    /// List of strings.
    ListUtf8,
    /// Bytes from base64 text.
    Binary,
}

impl Kind {
    /// The kind whose [`Kind::data_type`] is `dt` (for a schema read back from a
    /// catalog); types no kind produces are read as text.
    pub fn of(dt: &DataType) -> Kind {
        match dt {
            DataType::Boolean => Kind::Bool,
            DataType::Int64 => Kind::Int64,
            DataType::Float64 => Kind::Float64,
            DataType::Decimal128(_, s) => Kind::Decimal(u8::try_from(*s).unwrap_or(0)),
            DataType::Date32 => Kind::Date32,
            DataType::Timestamp(_, _) => Kind::Timestamp,
            DataType::Binary => Kind::Binary,
            DataType::List(f) if f.data_type() == &DataType::Int64 => Kind::ListInt64,
            DataType::List(_) => Kind::ListUtf8,
            _ => Kind::Utf8,
        }
    }

    /// The Arrow type.
    pub fn data_type(&self) -> DataType {
        match self {
            Kind::Bool => DataType::Boolean,
            Kind::Int64 => DataType::Int64,
            Kind::Float64 => DataType::Float64,
            Kind::Decimal(s) => DataType::Decimal128(38, *s as i8),
            Kind::Utf8 => DataType::Utf8,
            Kind::Date32 => DataType::Date32,
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Kind::ListInt64 => DataType::List(Arc::new(Field::new("item", DataType::Int64, true))),
            Kind::ListUtf8 => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            Kind::Binary => DataType::Binary,
        }
    }
}

/// Where a column's values come from.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    /// Output column name.
    pub name: String,
    /// Key of the record (a JSON pointer such as `/address/city` when it starts with `/`).
    pub key: String,
    /// Element of an array value to take (`Some(0)` = the id of `[id, "name"]`).
    pub index: Option<usize>,
    /// Arrow type.
    pub kind: Kind,
}

impl ColumnPlan {
    /// A column fed by `key` as a whole.
    pub fn new(name: impl Into<String>, key: impl Into<String>, kind: Kind) -> Self {
        ColumnPlan {
            name: name.into(),
            key: key.into(),
            index: None,
            kind,
        }
    }

    fn value<'a>(&self, record: &'a Value) -> &'a Value {
        let v = if self.key.starts_with('/') {
            record.pointer(&self.key)
        } else {
            record.get(&self.key)
        };
        let v = v.unwrap_or(&Value::Null);
        match (self.index, v) {
            (Some(i), Value::Array(a)) => a.get(i).unwrap_or(&Value::Null),
            _ => v,
        }
    }
}

/// The schema of a plan (every column nullable).
pub fn schema_of(plan: &[ColumnPlan]) -> SchemaRef {
    Arc::new(Schema::new(
        plan.iter()
            .map(|c| Field::new(&c.name, c.kind.data_type(), true))
            .collect::<Vec<_>>(),
    ))
}

/// Builds one batch from `records`. `origin` names the page in errors
/// (`odoo 127.0.0.1 res.partner ids 1-500`); the line is the record's 1-based place.
///
/// # Errors
/// A value does not fit its column.
pub fn build_batch(
    schema: &SchemaRef,
    plan: &[ColumnPlan],
    records: &[Value],
    origin: &str,
) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(plan.len());
    for (ci, col) in plan.iter().enumerate() {
        let err = |row: usize, msg: String| {
            Error::data(
                Location::file(origin)
                    .line(row as u64 + 1)
                    .column(ci as u64 + 1, Some(&col.name)),
                msg,
            )
        };
        let values = records.iter().map(|r| col.value(r));
        let array: ArrayRef = match &col.kind {
            Kind::Bool => {
                let mut b = BooleanBuilder::with_capacity(records.len());
                for (i, v) in values.enumerate() {
                    match v {
                        Value::Null => b.append_null(),
                        Value::Bool(x) => b.append_value(*x),
                        Value::String(s) if s == "1" || s == "true" => b.append_value(true),
                        Value::String(s) if s == "0" || s == "false" => b.append_value(false),
                        Value::Number(n) if n.to_string() == "1" => b.append_value(true),
                        Value::Number(n) if n.to_string() == "0" => b.append_value(false),
                        other => return Err(err(i, format!("not a boolean: {other}"))),
                    }
                }
                Arc::new(b.finish())
            }
            Kind::Int64 => {
                let mut b = Int64Builder::with_capacity(records.len());
                for (i, v) in values.enumerate() {
                    match v {
                        Value::Null => b.append_null(),
                        Value::Number(n) => match n.to_string().parse::<i64>() {
                            Ok(x) => b.append_value(x),
                            Err(_) => return Err(err(i, format!("not an integer: {n}"))),
                        },
                        Value::String(s) if s.is_empty() => b.append_null(),
                        Value::String(s) => match s.parse::<i64>() {
                            Ok(x) => b.append_value(x),
                            Err(_) => return Err(err(i, format!("not an integer: {s:?}"))),
                        },
                        other => return Err(err(i, format!("not an integer: {other}"))),
                    }
                }
                Arc::new(b.finish())
            }
            Kind::Float64 => {
                let mut b = Float64Builder::with_capacity(records.len());
                for (i, v) in values.enumerate() {
                    let parsed = match v {
                        Value::Null => None,
                        Value::Number(n) => Some(n.to_string().parse::<f64>()),
                        Value::String(s) if s.is_empty() => None,
                        Value::String(s) => Some(s.parse::<f64>()),
                        other => return Err(err(i, format!("not a number: {other}"))),
                    };
                    match parsed {
                        None => b.append_null(),
                        Some(Ok(x)) => b.append_value(x),
                        Some(Err(e)) => return Err(err(i, format!("not a number: {e}"))),
                    }
                }
                Arc::new(b.finish())
            }
            Kind::Decimal(scale) => {
                let mut b = Decimal128Builder::with_capacity(records.len());
                for (i, v) in values.enumerate() {
                    let text = match v {
                        Value::Null => None,
                        Value::Number(n) => Some(n.to_string()),
                        Value::String(s) if s.is_empty() => None,
                        Value::String(s) => Some(s.clone()),
                        other => return Err(err(i, format!("not a decimal: {other}"))),
                    };
                    match text {
                        None => b.append_null(),
                        Some(t) => {
                            b.append_value(decimal_at_scale(&t, *scale).map_err(|m| err(i, m))?)
                        }
                    }
                }
                Arc::new(
                    b.finish()
                        .with_precision_and_scale(38, *scale as i8)
                        .map_err(Error::Arrow)?,
                )
            }
            Kind::Utf8 => {
                let mut b = StringBuilder::with_capacity(records.len(), records.len() * 16);
                for v in values {
                    match v {
                        Value::Null => b.append_null(),
                        Value::String(s) => b.append_value(s),
                        other => b.append_value(other.to_string()),
                    }
                }
                Arc::new(b.finish())
            }
            Kind::Date32 => {
                let mut b = Date32Builder::with_capacity(records.len());
                for (i, v) in values.enumerate() {
                    match v {
                        Value::Null => b.append_null(),
                        Value::String(s) if s.is_empty() => b.append_null(),
                        Value::String(s) => {
                            let day = s.get(..10).and_then(parse_date);
                            match day {
                                Some(d) => b.append_value(d),
                                None => return Err(err(i, format!("not a date: {s:?}"))),
                            }
                        }
                        other => return Err(err(i, format!("not a date: {other}"))),
                    }
                }
                Arc::new(b.finish())
            }
            Kind::Timestamp => {
                let mut b = TimestampMicrosecondBuilder::with_capacity(records.len());
                for (i, v) in values.enumerate() {
                    match v {
                        Value::Null => b.append_null(),
                        Value::String(s) if s.is_empty() => b.append_null(),
                        Value::String(s) => match parse_timestamp(s) {
                            Some(t) => b.append_value(t.micros),
                            None => return Err(err(i, format!("not a date-time: {s:?}"))),
                        },
                        Value::Number(n) => match n.to_string().parse::<i64>() {
                            // Unix seconds (Dolibarr).
                            Ok(secs) => b.append_value(secs.saturating_mul(1_000_000)),
                            Err(_) => return Err(err(i, format!("not a Unix time: {n}"))),
                        },
                        other => return Err(err(i, format!("not a date-time: {other}"))),
                    }
                }
                Arc::new(b.finish().with_timezone("UTC"))
            }
            Kind::ListInt64 => {
                let mut b = ListBuilder::new(Int64Builder::new());
                for (i, v) in values.enumerate() {
                    match v {
                        Value::Null => b.append_null(),
                        Value::Array(items) => {
                            for item in items {
                                match item.as_i64() {
                                    Some(x) => b.values().append_value(x),
                                    None => {
                                        return Err(err(i, format!("not an id: {item}")));
                                    }
                                }
                            }
                            b.append(true);
                        }
                        other => return Err(err(i, format!("not a list of ids: {other}"))),
                    }
                }
                Arc::new(b.finish())
            }
            Kind::ListUtf8 => {
                let mut b = ListBuilder::new(StringBuilder::new());
                for (i, v) in values.enumerate() {
                    match v {
                        Value::Null => b.append_null(),
                        Value::Array(items) => {
                            for item in items {
                                match item {
                                    Value::String(s) => b.values().append_value(s),
                                    Value::Null => b.values().append_null(),
                                    other => b.values().append_value(other.to_string()),
                                }
                            }
                            b.append(true);
                        }
                        other => return Err(err(i, format!("not a list: {other}"))),
                    }
                }
                Arc::new(b.finish())
            }
            Kind::Binary => {
                let mut b = BinaryBuilder::new();
                for (i, v) in values.enumerate() {
                    match v {
                        Value::Null => b.append_null(),
                        Value::String(s) => {
                            match base64::engine::general_purpose::STANDARD.decode(s.trim()) {
                                Ok(bytes) => b.append_value(bytes),
                                Err(e) => return Err(err(i, format!("not base64: {e}"))),
                            }
                        }
                        other => return Err(err(i, format!("not base64 text: {other}"))),
                    }
                }
                Arc::new(b.finish())
            }
        };
        columns.push(array);
    }
    RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(records.len())),
    )
    .map_err(Error::Arrow)
}

/// The mantissa of `text` at `scale`; see the module doc for the float-noise rule.
///
/// # Errors
/// Not a number, too large, or more decimals than `scale` without being float noise.
pub fn decimal_at_scale(text: &str, scale: u8) -> std::result::Result<i128, String> {
    let plain = expand_exponent(text).ok_or_else(|| format!("not a decimal: {text:?}"))?;
    let p = parse_decimal(&plain, b'.').ok_or_else(|| format!("not a decimal: {text:?}"))?;
    if let Some(m) = rescale(p.mantissa, p.scale, scale) {
        return Ok(m);
    }
    if p.scale < scale {
        return Err(format!("{text} does not fit Decimal128(38, {scale})"));
    }
    let significant = plain.bytes().filter(u8::is_ascii_digit).count()
        - plain
            .bytes()
            .take_while(|b| matches!(b, b'0' | b'.' | b'-' | b'+'))
            .filter(u8::is_ascii_digit)
            .count();
    if significant < 15 {
        return Err(format!(
            "{text} has more than {scale} decimals; ferry does not round (raise the scale with a schema hint)"
        ));
    }
    let f = 10i128.pow(u32::from(p.scale - scale));
    let (q, r) = (p.mantissa / f, p.mantissa % f);
    let twice = 2 * r.abs();
    let up = twice > f || (twice == f && q % 2 != 0);
    Ok(if up { q + p.mantissa.signum() } else { q })
}

/// `1.5e-3` → `0.0015`; plain numbers unchanged.
fn expand_exponent(text: &str) -> Option<String> {
    let Some(epos) = text.find(['e', 'E']) else {
        return Some(text.to_owned());
    };
    let (mant, exp) = (&text[..epos], &text[epos + 1..]);
    let exp: i32 = exp.parse().ok()?;
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant.strip_prefix('+').unwrap_or(mant)),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let digits = format!("{int}{frac}");
    let point = int.len() as i32 + exp;
    if exp.abs() > 60 {
        return None;
    }
    let body = if point <= 0 {
        format!("0.{}{}", "0".repeat((-point) as usize), digits)
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        format!(
            "{}.{}",
            &digits[..point as usize],
            &digits[point as usize..]
        )
    };
    Some(if neg { format!("-{body}") } else { body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_arrow_types() {
        for k in [
            Kind::Bool,
            Kind::Int64,
            Kind::Float64,
            Kind::Decimal(4),
            Kind::Utf8,
            Kind::Date32,
            Kind::Timestamp,
            Kind::ListInt64,
            Kind::ListUtf8,
            Kind::Binary,
        ] {
            assert_eq!(Kind::of(&k.data_type()), k);
        }
    }
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Date32Type, Decimal128Type, Int64Type, TimestampMicrosecondType};

    #[test]
    fn decimals_keep_their_text_and_never_round_silently() {
        assert_eq!(decimal_at_scale("734.36", 2), Ok(73436));
        assert_eq!(decimal_at_scale("48.9575", 4), Ok(489575));
        assert_eq!(decimal_at_scale("15.0", 4), Ok(150000));
        assert_eq!(decimal_at_scale("-1.5e-3", 4), Ok(-15));
        assert_eq!(decimal_at_scale("2E+2", 2), Ok(20000));
        assert_eq!(decimal_at_scale("0.30000000000000004", 2), Ok(30));
        assert_eq!(decimal_at_scale("2.675000000000000", 2), Ok(268));
        assert!(
            decimal_at_scale("1.234", 2)
                .unwrap_err()
                .contains("does not round")
        );
        assert!(decimal_at_scale("abc", 2).is_err());
    }

    #[test]
    fn a_batch_types_every_kind_and_names_bad_values() {
        let records: Vec<Value> = serde_json::from_str(
            r#"[{"id": 1, "amount": 12.50, "d": "2025-07-06", "t": "2025-01-02 03:04:05",
                 "p": [7, "Acme"], "ids": [1, 2], "ok": true, "bin": "aGk="},
                {"id": 2, "amount": null, "d": null, "t": null, "p": null, "ids": [],
                 "ok": false, "bin": null}]"#,
        )
        .unwrap();
        let plan = vec![
            ColumnPlan::new("id", "id", Kind::Int64),
            ColumnPlan::new("amount", "amount", Kind::Decimal(2)),
            ColumnPlan::new("d", "d", Kind::Date32),
            ColumnPlan::new("t", "t", Kind::Timestamp),
            ColumnPlan {
                index: Some(0),
                ..ColumnPlan::new("p", "p", Kind::Int64)
            },
            ColumnPlan {
                index: Some(1),
                ..ColumnPlan::new("p_name", "p", Kind::Utf8)
            },
            ColumnPlan::new("ids", "ids", Kind::ListInt64),
            ColumnPlan::new("ok", "ok", Kind::Bool),
            ColumnPlan::new("bin", "bin", Kind::Binary),
        ];
        let schema = schema_of(&plan);
        let b = build_batch(&schema, &plan, &records, "test page 1").unwrap();
        assert_eq!(b.column(1).as_primitive::<Decimal128Type>().value(0), 1250);
        assert!(b.column(1).is_null(1));
        assert_eq!(b.column(2).as_primitive::<Date32Type>().value(0), 20275);
        assert_eq!(
            b.column(3)
                .as_primitive::<TimestampMicrosecondType>()
                .value(0),
            1_735_787_045_000_000
        );
        assert_eq!(b.column(4).as_primitive::<Int64Type>().value(0), 7);
        assert_eq!(b.column(5).as_string::<i32>().value(0), "Acme");
        assert!(b.column(5).is_null(1));
        assert_eq!(b.column(6).as_list::<i32>().value(0).len(), 2);
        assert_eq!(b.column(8).as_binary::<i32>().value(0), b"hi");

        let bad: Vec<Value> = serde_json::from_str(r#"[{"id": 1}, {"id": "x"}]"#).unwrap();
        let plan = vec![ColumnPlan::new("id", "id", Kind::Int64)];
        let err = build_batch(&schema_of(&plan), &plan, &bad, "odoo h res.partner ids 1-2")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("odoo h res.partner ids 1-2:2:1 (column \"id\")"),
            "{err}"
        );
    }
}
