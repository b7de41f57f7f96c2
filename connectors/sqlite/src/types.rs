//! From a column's declared type to an Arrow type, and from SQLite values to Arrow
//! arrays, exactly. The type map itself is the table in the crate docs.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder,
    Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, TimeUnit};
use ferry_core::values::{
    MAX_DECIMAL_PRECISION, digits, parse_date, parse_decimal, parse_timestamp, rescale,
};
use rusqlite::types::ValueRef;

/// Precision and scale of `DECIMAL` / `NUMERIC` declared without them.
pub const DEFAULT_DECIMAL: (u8, i8) = (38, 10);

/// How a column is read and which Arrow type it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Integer affinity.
    Int,
    /// `BOOLEAN`, `BOOL`.
    Bool,
    /// Real affinity.
    Float,
    /// `DECIMAL` / `NUMERIC`, with precision and scale.
    Decimal(u8, i8),
    /// `DATE`.
    Date,
    /// `DATETIME`, `TIMESTAMP`.
    Timestamp,
    /// Text affinity, or no declared type.
    Text,
    /// `BLOB`.
    Blob,
    /// A declared type ferry does not know (numeric affinity), read as text.
    Other,
}

impl Kind {
    /// The kind of a column declared as `declared` (e.g. `DECIMAL(12, 2)`, `varchar(40)`).
    pub fn of(declared: &str) -> Kind {
        let upper = declared.trim().to_ascii_uppercase();
        if upper.is_empty() {
            return Kind::Text;
        }
        let (base, args) = match upper.split_once('(') {
            Some((b, rest)) => (b.trim(), rest.split(')').next().unwrap_or("")),
            None => (upper.as_str(), ""),
        };
        let first = base.split_whitespace().next().unwrap_or("");
        match first {
            "BOOLEAN" | "BOOL" => return Kind::Bool,
            "DATE" => return Kind::Date,
            "DATETIME" | "TIMESTAMP" | "TIMESTAMPTZ" => return Kind::Timestamp,
            "DECIMAL" | "NUMERIC" => {
                let nums: Vec<Option<u32>> =
                    args.split(',').map(|a| a.trim().parse().ok()).collect();
                let (p, s) = match nums.as_slice() {
                    [Some(p)] => (*p, 0),
                    [Some(p), Some(s)] => (*p, *s),
                    _ => return Kind::Decimal(DEFAULT_DECIMAL.0, DEFAULT_DECIMAL.1),
                };
                // Arrow's Decimal128 holds 38 digits; wider declarations are read at
                // 38, a value that needs more being an error rather than rounded.
                let p = p.clamp(1, u32::from(MAX_DECIMAL_PRECISION)) as u8;
                let s = s.min(u32::from(p)) as i8;
                return Kind::Decimal(p, s);
            }
            _ => {}
        }
        // SQLite's affinity rules, in SQLite's order.
        if base.contains("INT") {
            Kind::Int
        } else if base.contains("CHAR") || base.contains("CLOB") || base.contains("TEXT") {
            Kind::Text
        } else if base.contains("BLOB") {
            Kind::Blob
        } else if base.contains("REAL") || base.contains("FLOA") || base.contains("DOUB") {
            Kind::Float
        } else {
            Kind::Other
        }
    }

    /// The Arrow type of the column.
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Int => DataType::Int64,
            Kind::Bool => DataType::Boolean,
            Kind::Float => DataType::Float64,
            Kind::Decimal(p, s) => DataType::Decimal128(p, s),
            Kind::Date => DataType::Date32,
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Kind::Text | Kind::Other => DataType::Utf8,
            Kind::Blob => DataType::Binary,
        }
    }

    /// How the column is named in errors, e.g. `INTEGER (Int64)`.
    fn label(self) -> String {
        let sql = match self {
            Kind::Int => "INTEGER",
            Kind::Bool => "BOOLEAN",
            Kind::Float => "REAL",
            Kind::Decimal(..) => "DECIMAL",
            Kind::Date => "DATE",
            Kind::Timestamp => "TIMESTAMP",
            Kind::Text | Kind::Other => "TEXT",
            Kind::Blob => "BLOB",
        };
        format!("{sql} ({})", self.data_type())
    }
}

/// Why a value cannot go into its column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The value's storage class or content does not fit the column's type.
    #[error("{value} does not fit the column type {column}{why}")]
    Mismatch {
        /// The value, described with its storage class.
        value: String,
        /// The column's type.
        column: String,
        /// Details, starting with `: ` when present.
        why: String,
    },
    /// NULL in a column declared `NOT NULL`.
    #[error("NULL in a NOT NULL column")]
    NullInNotNull,
}

/// A short description of a value for error messages: `TEXT 'abc'`, `REAL 1.005`.
pub fn describe(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => format!("INTEGER {i}"),
        ValueRef::Real(f) => format!("REAL {f:?}"),
        ValueRef::Text(t) => {
            let text = String::from_utf8_lossy(t);
            let short: String = text.chars().take(40).collect();
            let more = if short.len() < text.len() { "…" } else { "" };
            format!("TEXT {short:?}{more}")
        }
        ValueRef::Blob(b) => format!("BLOB of {} bytes", b.len()),
    }
}

/// The text form of a REAL: the shortest text that reads back as the same double
/// (`0.1`, `1.0`, `1e300`).
pub fn real_text(f: f64) -> String {
    format!("{f:?}")
}

const TIMESTAMP_FORMS: &str =
    "a timestamp is ISO text (YYYY-MM-DD HH:MM:SS[.ffffff][Z|±HH:MM]) or integer Unix seconds";

/// Builds one Arrow column from SQLite values.
#[derive(Debug)]
pub struct ColumnBuilder {
    kind: Kind,
    nullable: bool,
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Int(Int64Builder),
    Bool(BooleanBuilder),
    Float(Float64Builder),
    Decimal(Decimal128Builder, u8, i8),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
    Text(StringBuilder),
    Blob(BinaryBuilder),
}

impl ColumnBuilder {
    /// A builder for `kind` with room for `capacity` rows.
    pub fn new(kind: Kind, nullable: bool, capacity: usize) -> Self {
        let inner = match kind {
            Kind::Int => Inner::Int(Int64Builder::with_capacity(capacity)),
            Kind::Bool => Inner::Bool(BooleanBuilder::with_capacity(capacity)),
            Kind::Float => Inner::Float(Float64Builder::with_capacity(capacity)),
            Kind::Decimal(p, s) => Inner::Decimal(
                Decimal128Builder::with_capacity(capacity)
                    .with_data_type(DataType::Decimal128(p, s)),
                p,
                s,
            ),
            Kind::Date => Inner::Date(Date32Builder::with_capacity(capacity)),
            Kind::Timestamp => {
                Inner::Ts(TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"))
            }
            Kind::Text | Kind::Other => Inner::Text(StringBuilder::with_capacity(capacity, 0)),
            Kind::Blob => Inner::Blob(BinaryBuilder::with_capacity(capacity, 0)),
        };
        ColumnBuilder {
            kind,
            nullable,
            inner,
        }
    }

    /// Appends one value.
    ///
    /// # Errors
    /// The value does not fit the column; nothing is appended then.
    pub fn push(&mut self, value: ValueRef<'_>) -> Result<(), ValueError> {
        let kind = self.kind;
        let mismatch = |why: &str| ValueError::Mismatch {
            value: describe(value),
            column: kind.label(),
            why: if why.is_empty() {
                String::new()
            } else {
                format!(": {why}")
            },
        };
        if matches!(value, ValueRef::Null) {
            if !self.nullable {
                return Err(ValueError::NullInNotNull);
            }
            match &mut self.inner {
                Inner::Int(b) => b.append_null(),
                Inner::Bool(b) => b.append_null(),
                Inner::Float(b) => b.append_null(),
                Inner::Decimal(b, ..) => b.append_null(),
                Inner::Date(b) => b.append_null(),
                Inner::Ts(b) => b.append_null(),
                Inner::Text(b) => b.append_null(),
                Inner::Blob(b) => b.append_null(),
            }
            return Ok(());
        }
        match &mut self.inner {
            Inner::Int(b) => b.append_value(int_of(value).ok_or_else(|| mismatch(""))?),
            Inner::Bool(b) => b.append_value(match value {
                ValueRef::Integer(0) => false,
                ValueRef::Integer(1) => true,
                ValueRef::Text(t) if t.eq_ignore_ascii_case(b"true") => true,
                ValueRef::Text(t) if t.eq_ignore_ascii_case(b"false") => false,
                _ => return Err(mismatch("a boolean is 0, 1, 'true' or 'false'")),
            }),
            Inner::Float(b) => b.append_value(float_of(value).ok_or_else(|| mismatch(""))?),
            Inner::Decimal(b, p, s) => {
                b.append_value(decimal_of(value, *p, *s).map_err(&mismatch)?);
            }
            Inner::Date(b) => b.append_value(match value {
                ValueRef::Text(t) => std::str::from_utf8(t)
                    .ok()
                    .and_then(parse_date)
                    .ok_or_else(|| mismatch("a date is text YYYY-MM-DD"))?,
                _ => return Err(mismatch("a date is text YYYY-MM-DD")),
            }),
            Inner::Ts(b) => {
                b.append_value(timestamp_of(value).ok_or_else(|| mismatch(TIMESTAMP_FORMS))?);
            }
            Inner::Text(b) => match value {
                ValueRef::Text(t) | ValueRef::Blob(t) => b.append_value(
                    std::str::from_utf8(t).map_err(|_| mismatch("it is not valid UTF-8"))?,
                ),
                ValueRef::Integer(i) => b.append_value(i.to_string()),
                ValueRef::Real(f) => b.append_value(real_text(f)),
                ValueRef::Null => unreachable!("NULL handled above"),
            },
            Inner::Blob(b) => match value {
                ValueRef::Blob(x) | ValueRef::Text(x) => b.append_value(x),
                _ => return Err(mismatch("")),
            },
        }
        Ok(())
    }

    /// The column so far; the builder is then empty.
    pub fn finish(&mut self) -> ArrayRef {
        match &mut self.inner {
            Inner::Int(b) => Arc::new(b.finish()),
            Inner::Bool(b) => Arc::new(b.finish()),
            Inner::Float(b) => Arc::new(b.finish()),
            Inner::Decimal(b, ..) => Arc::new(b.finish()),
            Inner::Date(b) => Arc::new(b.finish()),
            Inner::Ts(b) => Arc::new(b.finish()),
            Inner::Text(b) => Arc::new(b.finish()),
            Inner::Blob(b) => Arc::new(b.finish()),
        }
    }
}

/// An integer, or a REAL / text holding one exactly.
fn int_of(value: ValueRef<'_>) -> Option<i64> {
    match value {
        ValueRef::Integer(i) => Some(i),
        // 2^63 is exactly representable; every double in [-2^63, 2^63) with no
        // fraction converts without loss.
        ValueRef::Real(f)
            if f.fract() == 0.0
                && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) =>
        {
            Some(f as i64)
        }
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.parse().ok(),
        _ => None,
    }
}

/// A REAL, or an integer / decimal text that converts to a double exactly.
fn float_of(value: ValueRef<'_>) -> Option<f64> {
    match value {
        ValueRef::Real(f) => Some(f),
        ValueRef::Integer(i) => {
            let f = i as f64;
            (f as i128 == i128::from(i)).then_some(f)
        }
        ValueRef::Text(t) => {
            let s = std::str::from_utf8(t).ok()?;
            let d = parse_decimal(s, b'.')?;
            let f: f64 = s.parse().ok()?;
            // Exact only when the double reads back as the same decimal.
            let back = parse_decimal(&format!("{f}"), b'.')?;
            let scale = d.scale.max(back.scale);
            (rescale(d.mantissa, d.scale, scale)? == rescale(back.mantissa, back.scale, scale)?)
                .then_some(f)
        }
        _ => None,
    }
}

/// The mantissa at scale `s` of an integer, decimal text or REAL, or why it does not fit.
fn decimal_of(value: ValueRef<'_>, p: u8, s: i8) -> Result<i128, &'static str> {
    let (mantissa, scale) = match value {
        ValueRef::Integer(i) => (i128::from(i), 0),
        ValueRef::Real(f) => {
            if !f.is_finite() {
                return Err("not a finite number");
            }
            // `{f}` is the shortest text that reads back as the same double, without
            // an exponent: the decimal the writer meant, with no float arithmetic.
            let d =
                parse_decimal(&format!("{f}"), b'.').ok_or("more than 38 significant digits")?;
            (d.mantissa, d.scale)
        }
        ValueRef::Text(t) => {
            let d = std::str::from_utf8(t)
                .ok()
                .and_then(|s| parse_decimal(s, b'.'))
                .ok_or("not a decimal number")?;
            (d.mantissa, d.scale)
        }
        _ => return Err("not a number"),
    };
    let target = u8::try_from(s).unwrap_or(0);
    let m = rescale(mantissa, scale, target)
        .ok_or("it has more decimal places than the column's scale, and ferry never rounds")?;
    if digits(m) > p {
        return Err("it has more digits than the column's precision");
    }
    Ok(m)
}

/// Microseconds since the epoch of ISO text (a zone applied, none meaning UTC), a
/// bare date (midnight UTC), or integer Unix seconds.
fn timestamp_of(value: ValueRef<'_>) -> Option<i64> {
    match value {
        ValueRef::Text(t) => {
            let s = std::str::from_utf8(t).ok()?;
            match parse_timestamp(s) {
                Some(ts) => Some(ts.micros),
                None => parse_date(s).map(|d| i64::from(d) * 86_400_000_000),
            }
        }
        ValueRef::Integer(i) => i.checked_mul(1_000_000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Decimal128Type, Float64Type, Int64Type, TimestampMicrosecondType};

    use super::*;

    #[test]
    fn declared_types_map_by_affinity_with_refinements() {
        let cases = [
            ("INTEGER", Kind::Int),
            ("int", Kind::Int),
            ("UNSIGNED BIG INT", Kind::Int),
            ("tinyint(1)", Kind::Int),
            ("BOOLEAN", Kind::Bool),
            ("bool", Kind::Bool),
            ("REAL", Kind::Float),
            ("double precision", Kind::Float),
            ("FLOAT", Kind::Float),
            ("DECIMAL(10,2)", Kind::Decimal(10, 2)),
            ("numeric( 12 , 4 )", Kind::Decimal(12, 4)),
            ("NUMERIC(7)", Kind::Decimal(7, 0)),
            ("NUMERIC", Kind::Decimal(38, 10)),
            ("decimal", Kind::Decimal(38, 10)),
            ("DECIMAL(60,2)", Kind::Decimal(38, 2)),
            ("DATE", Kind::Date),
            ("DATETIME", Kind::Timestamp),
            ("timestamp", Kind::Timestamp),
            ("TIMESTAMP WITH TIME ZONE", Kind::Timestamp),
            ("TEXT", Kind::Text),
            ("VARCHAR(40)", Kind::Text),
            ("NATIVE CHARACTER(70)", Kind::Text),
            ("CLOB", Kind::Text),
            ("", Kind::Text),
            ("BLOB", Kind::Blob),
            ("TIME", Kind::Other),
            ("JSON", Kind::Other),
        ];
        for (declared, kind) in cases {
            assert_eq!(Kind::of(declared), kind, "{declared}");
        }
        assert_eq!(
            Kind::Timestamp.data_type().to_string(),
            "Timestamp(µs, \"UTC\")"
        );
        assert_eq!(Kind::Other.data_type(), DataType::Utf8);
    }

    fn decimals(p: u8, s: i8, values: &[ValueRef<'_>]) -> Vec<Result<String, String>> {
        values
            .iter()
            .map(|v| {
                let mut b = ColumnBuilder::new(Kind::Decimal(p, s), true, 1);
                b.push(*v).map_err(|e| e.to_string())?;
                let arr = b.finish();
                Ok(arr.as_primitive::<Decimal128Type>().value_as_string(0))
            })
            .collect()
    }

    #[test]
    fn decimals_are_exact_and_never_rounded() {
        let got = decimals(
            10,
            2,
            &[
                ValueRef::Real(0.1),
                ValueRef::Integer(-7),
                ValueRef::Text(b"12345678.90"),
                ValueRef::Real(-0.0),
                ValueRef::Real(1.10),
            ],
        );
        let want = ["0.10", "-7.00", "12345678.90", "0.00", "1.10"];
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.as_deref(), Ok(w));
        }
        // 0.1 as a REAL is the mantissa 10 at scale 2, not 0.1000000000000000055…
        let mut b = ColumnBuilder::new(Kind::Decimal(10, 2), true, 1);
        b.push(ValueRef::Real(0.1)).unwrap();
        assert_eq!(b.finish().as_primitive::<Decimal128Type>().value(0), 10);

        for bad in [
            ValueRef::Real(1.005),
            ValueRef::Text(b"1.005"),
            ValueRef::Text(b"123456789.00"),
            ValueRef::Integer(100_000_000),
            ValueRef::Real(f64::INFINITY),
            ValueRef::Real(1e300),
            ValueRef::Text(b"abc"),
            ValueRef::Text(b""),
            ValueRef::Blob(b"1"),
        ] {
            let got = decimals(10, 2, &[bad]);
            assert!(got[0].is_err(), "{} gave {:?}", describe(bad), got[0]);
        }
        let err = decimals(10, 2, &[ValueRef::Real(1.005)])
            .remove(0)
            .unwrap_err();
        assert!(
            err.contains("REAL 1.005") && err.contains("never rounds"),
            "{err}"
        );

        // Without (p,s): 38 digits, 10 of them decimals; text keeps every digit.
        let wide = "1234567890123456789012345678.1234567890";
        let got = decimals(38, 10, &[ValueRef::Text(wide.as_bytes())]);
        assert_eq!(got[0].as_deref(), Ok(wide));
        let got = decimals(38, 10, &[ValueRef::Real(1e-10), ValueRef::Real(1e-11)]);
        assert_eq!(got[0].as_deref(), Ok("0.0000000001"));
        assert!(got[1].is_err());
    }

    #[test]
    fn mismatching_storage_classes_are_errors_not_nulls() {
        let mut b = ColumnBuilder::new(Kind::Int, true, 4);
        b.push(ValueRef::Integer(i64::MAX)).unwrap();
        b.push(ValueRef::Integer(i64::MIN)).unwrap();
        b.push(ValueRef::Real(3.0)).unwrap();
        b.push(ValueRef::Null).unwrap();
        for bad in [
            ValueRef::Text(b"abc"),
            ValueRef::Text(b""),
            ValueRef::Real(3.5),
            ValueRef::Real(9.3e18),
            ValueRef::Blob(b"\x00"),
        ] {
            let err = b.push(bad).unwrap_err().to_string();
            assert!(err.contains("INTEGER (Int64)"), "{err}");
        }
        let arr = b.finish();
        let arr = arr.as_primitive::<Int64Type>();
        assert_eq!(arr.len(), 4);
        assert_eq!(
            (arr.value(0), arr.value(1), arr.value(2)),
            (i64::MAX, i64::MIN, 3)
        );
        assert!(arr.is_null(3));

        let mut f = ColumnBuilder::new(Kind::Float, true, 2);
        f.push(ValueRef::Integer(1 << 53)).unwrap();
        assert!(f.push(ValueRef::Integer(i64::MAX)).is_err());
        f.push(ValueRef::Text(b"0.1")).unwrap();
        assert!(f.push(ValueRef::Text(b"0.10000000000000000001")).is_err());
        let arr = f.finish();
        assert_eq!(arr.as_primitive::<Float64Type>().value(1), 0.1);

        let mut n = ColumnBuilder::new(Kind::Text, false, 1);
        assert_eq!(n.push(ValueRef::Null), Err(ValueError::NullInNotNull));
        let mut bo = ColumnBuilder::new(Kind::Bool, true, 1);
        assert!(bo.push(ValueRef::Integer(2)).is_err());
        let mut d = ColumnBuilder::new(Kind::Date, true, 1);
        assert!(d.push(ValueRef::Text(b"2024-02-30")).is_err());
        assert!(d.push(ValueRef::Integer(20240101)).is_err());
    }

    #[test]
    fn text_and_time_values_convert_exactly() {
        let mut t = ColumnBuilder::new(Kind::Text, true, 5);
        t.push(ValueRef::Text(b"")).unwrap();
        t.push(ValueRef::Null).unwrap();
        t.push(ValueRef::Integer(-42)).unwrap();
        t.push(ValueRef::Real(0.1)).unwrap();
        t.push(ValueRef::Real(1.0)).unwrap();
        assert!(t.push(ValueRef::Blob(b"\xff\x00")).is_err());
        assert!(t.push(ValueRef::Text(b"\xff")).is_err());
        let arr = t.finish();
        let arr = arr.as_string::<i32>();
        assert_eq!((arr.value(0), arr.is_null(1)), ("", true));
        assert_eq!(
            (arr.value(2), arr.value(3), arr.value(4)),
            ("-42", "0.1", "1.0")
        );

        let mut ts = ColumnBuilder::new(Kind::Timestamp, true, 4);
        ts.push(ValueRef::Text(b"2024-03-10 12:34:56+02:00"))
            .unwrap();
        ts.push(ValueRef::Text(b"2024-03-10T10:34:56Z")).unwrap();
        ts.push(ValueRef::Integer(1_710_066_896)).unwrap();
        ts.push(ValueRef::Text(b"1970-01-02")).unwrap();
        assert!(ts.push(ValueRef::Real(2_460_000.5)).is_err());
        assert!(ts.push(ValueRef::Text(b"yesterday")).is_err());
        let arr = ts.finish();
        let arr = arr.as_primitive::<TimestampMicrosecondType>();
        assert_eq!(arr.value(0), 1_710_066_896_000_000);
        assert_eq!(arr.value(1), arr.value(0));
        assert_eq!(arr.value(2), arr.value(0));
        assert_eq!(arr.value(3), 86_400_000_000);
    }
}
