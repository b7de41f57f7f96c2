//! Arrow cells to [`FieldValue`]s, and exact decimal sums for reconciliation.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type, TimeUnit, TimestampMicrosecondType};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use ferry_core::FieldValue;

/// A column of a batch as values, or a message naming what cannot be sent.
pub fn column_values(batch: &RecordBatch, index: usize) -> Result<Vec<FieldValue>, String> {
    let array = batch.column(index);
    let name = batch.schema().field(index).name().clone();
    let n = array.len();
    let null_or = |i: usize, v: FieldValue| {
        if array.is_null(i) {
            FieldValue::Null
        } else {
            v
        }
    };
    Ok(match array.data_type() {
        DataType::Null => vec![FieldValue::Null; n],
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let a = cast(array, &DataType::Utf8).map_err(|e| e.to_string())?;
            let s = a.as_string::<i32>();
            (0..n)
                .map(|i| null_or(i, FieldValue::Text(s.value(i).to_owned())))
                .collect()
        }
        DataType::Boolean => {
            let b = array.as_boolean();
            (0..n)
                .map(|i| null_or(i, FieldValue::Bool(b.value(i))))
                .collect()
        }
        t if t.is_integer() => {
            let a = cast(array, &DataType::Int64).map_err(|e| e.to_string())?;
            let v = a.as_primitive::<Int64Type>();
            (0..n)
                .map(|i| null_or(i, FieldValue::Int(v.value(i))))
                .collect()
        }
        DataType::Decimal128(..)
        | DataType::Decimal256(..)
        | DataType::Date32
        | DataType::Date64 => {
            let date = matches!(array.data_type(), DataType::Date32 | DataType::Date64);
            let options = FormatOptions::default();
            let f = ArrayFormatter::try_new(array.as_ref(), &options).map_err(|e| e.to_string())?;
            (0..n)
                .map(|i| {
                    let text = f.value(i).to_string();
                    null_or(
                        i,
                        if date {
                            FieldValue::Date(text)
                        } else {
                            FieldValue::Decimal(normalise_decimal(&text))
                        },
                    )
                })
                .collect()
        }
        DataType::Timestamp(..) => {
            let a = cast(
                array,
                &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            )
            .map_err(|e| e.to_string())?;
            let v = a.as_primitive::<TimestampMicrosecondType>();
            (0..n)
                .map(|i| {
                    let text = chrono::DateTime::from_timestamp_micros(v.value(i))
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
                        .unwrap_or_default();
                    null_or(i, FieldValue::Timestamp(text))
                })
                .collect()
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            return Err(format!(
                "column {name:?} is a float: CAST it to DECIMAL (money and quantities are sent exactly)"
            ));
        }
        other => {
            return Err(format!(
                "column {name:?} has type {other}, which cannot be sent"
            ));
        }
    })
}

/// `12.34000000` → `12.34`, `-0.000` → `0`, `5.` → `5`.
pub fn normalise_decimal(text: &str) -> String {
    let t = text.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let mut s = digits.to_owned();
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    let s = s.trim_start_matches('0');
    let s = if s.is_empty() || s.starts_with('.') {
        format!("0{s}")
    } else {
        s.to_owned()
    };
    if neg && s != "0" { format!("-{s}") } else { s }
}

/// Scale of [`Exact`] sums: ten decimal places.
const SCALE: u32 = 10;

/// An exact decimal sum (i128 at ten decimal places).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exact(i128);

impl Exact {
    /// Parses `-12.345`; `None` for text that is not a decimal or has more than ten
    /// decimal places.
    pub fn parse(text: &str) -> Option<Exact> {
        let t = normalise_decimal(text);
        let (neg, t) = match t.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, t.as_str()),
        };
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if frac.len() > SCALE as usize
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let mut v: i128 = int.parse().ok()?;
        v = v.checked_mul(10i128.pow(SCALE))?;
        if !frac.is_empty() {
            let f: i128 = frac.parse().ok()?;
            v = v.checked_add(f * 10i128.pow(SCALE - frac.len() as u32))?;
        }
        Some(Exact(if neg { -v } else { v }))
    }

    /// Adds exactly; `None` on overflow.
    pub fn plus(self, other: Exact) -> Option<Exact> {
        self.0.checked_add(other.0).map(Exact)
    }
}

impl std::fmt::Display for Exact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = 10i128.pow(SCALE);
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        let text = format!("{sign}{}.{:010}", a / p as u128, a % p as u128);
        f.write_str(&normalise_decimal(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_normalised_and_summed_exactly() {
        assert_eq!(normalise_decimal("12.34000000"), "12.34");
        assert_eq!(normalise_decimal("-0.000"), "0");
        assert_eq!(normalise_decimal("007.50"), "7.5");
        assert_eq!(normalise_decimal("100"), "100");
        let mut sum = Exact::default();
        for _ in 0..10 {
            sum = sum.plus(Exact::parse("0.1").unwrap()).unwrap();
        }
        assert_eq!(sum.to_string(), "1");
        assert_eq!(
            Exact::parse("-12.3456")
                .unwrap()
                .plus(Exact::parse("2.0001").unwrap())
                .unwrap()
                .to_string(),
            "-10.3455"
        );
        assert!(Exact::parse("1e5").is_none());
    }
}
