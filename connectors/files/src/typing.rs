//! Typing text values: inferring a column's Arrow type from a sample, then building
//! Arrow arrays from text, exactly.
//!
//! Shared by the CSV, XLSX and JSON-lines readers, which all see values as text.
//! The rules, in order of preference for a column's non-empty values:
//!
//! | values | Arrow type |
//! | --- | --- |
//! | `true`/`false` (any case) | Boolean |
//! | integers fitting i64, no leading zero | Int64 |
//! | decimals `-12.50` (or `12,50` in `;`-separated files) | Decimal128(18 or 38, max scale seen) |
//! | numbers with an exponent (JSON only) | Float64 |
//! | `YYYY-MM-DD` | Date32 |
//! | ISO 8601 date-times | Timestamp(µs, UTC); a zone is applied, none means UTC |
//! | anything else, codes with leading zeros (`00123`) | Utf8 |
//!
//! A value met after the sample that does not fit the inferred type is an error
//! that names the row and column: ferry never rounds, truncates or drops silently.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, TimeUnit};
use ferry_core::values::{parse_date, parse_decimal, parse_timestamp, rescale};

/// The type of a column of text values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Text.
    Utf8,
    /// `true` / `false`.
    Boolean,
    /// 64-bit integers.
    Int64,
    /// Floating point (only for numbers written with an exponent in JSON).
    Float64,
    /// Exact decimals; `sep` is the decimal separator in the text.
    Decimal {
        /// Total digits.
        precision: u8,
        /// Digits after the separator.
        scale: u8,
        /// Separator in the source text.
        sep: u8,
    },
    /// Calendar dates.
    Date,
    /// Instants, UTC.
    Timestamp,
}

impl ColumnKind {
    /// The Arrow type values are built as.
    pub fn data_type(&self) -> DataType {
        match self {
            ColumnKind::Utf8 => DataType::Utf8,
            ColumnKind::Boolean => DataType::Boolean,
            ColumnKind::Int64 => DataType::Int64,
            ColumnKind::Float64 => DataType::Float64,
            ColumnKind::Decimal {
                precision, scale, ..
            } => DataType::Decimal128(*precision, *scale as i8),
            ColumnKind::Date => DataType::Date32,
            ColumnKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        }
    }

    /// Parses a type hint: `text`, `bool`, `int`, `float`, `decimal(P,S)`, `date`, `timestamp`.
    pub fn from_hint(hint: &str) -> Option<ColumnKind> {
        let h = hint.trim().to_ascii_lowercase();
        Some(match h.as_str() {
            "text" | "string" | "utf8" => ColumnKind::Utf8,
            "bool" | "boolean" => ColumnKind::Boolean,
            "int" | "integer" | "int64" | "bigint" => ColumnKind::Int64,
            "float" | "double" | "float64" => ColumnKind::Float64,
            "date" => ColumnKind::Date,
            "timestamp" | "datetime" => ColumnKind::Timestamp,
            _ => {
                let inner = h
                    .strip_prefix("decimal(")
                    .or_else(|| h.strip_prefix("numeric("))?
                    .strip_suffix(')')?;
                let (p, s) = inner.split_once(',')?;
                let (precision, scale) =
                    (p.trim().parse::<u8>().ok()?, s.trim().parse::<u8>().ok()?);
                if precision == 0 || precision > 38 || scale > precision {
                    return None;
                }
                ColumnKind::Decimal {
                    precision,
                    scale,
                    sep: b'.',
                }
            }
        })
    }

    /// Whether a value fits this kind (used to tell a header row from data).
    pub fn accepts(&self, v: &str) -> bool {
        ColumnBuilder::new(*self, 1).append(Some(v)).is_ok()
    }
}

impl std::fmt::Display for ColumnKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ColumnKind::Utf8 => f.write_str("text"),
            ColumnKind::Boolean => f.write_str("boolean"),
            ColumnKind::Int64 => f.write_str("integer"),
            ColumnKind::Float64 => f.write_str("float"),
            ColumnKind::Decimal {
                precision, scale, ..
            } => write!(f, "decimal({precision},{scale})"),
            ColumnKind::Date => f.write_str("date"),
            ColumnKind::Timestamp => f.write_str("timestamp"),
        }
    }
}

/// Watches a column's values and proposes a [`ColumnKind`].
#[derive(Debug, Clone)]
pub struct Inference {
    non_null: u64,
    can_bool: bool,
    can_int: bool,
    can_decimal: bool,
    can_decimal_comma: bool,
    can_float: bool,
    can_date: bool,
    can_timestamp: bool,
    int_digits: u8,
    scale: u8,
    comma_int_digits: u8,
    comma_scale: u8,
}

impl Inference {
    /// Starts with every type possible. `decimal_comma` allows `12,50`; `floats`
    /// allows numbers with exponents.
    pub fn new(decimal_comma: bool, floats: bool) -> Self {
        Inference {
            non_null: 0,
            can_bool: true,
            can_int: true,
            can_decimal: true,
            can_decimal_comma: decimal_comma,
            can_float: floats,
            can_date: true,
            can_timestamp: true,
            int_digits: 1,
            scale: 0,
            comma_int_digits: 1,
            comma_scale: 0,
        }
    }

    /// Makes the column text whatever else it holds (nested JSON, say).
    pub fn force_text(&mut self) {
        self.non_null += 1;
        self.can_bool = false;
        self.can_int = false;
        self.can_decimal = false;
        self.can_decimal_comma = false;
        self.can_float = false;
        self.can_date = false;
        self.can_timestamp = false;
    }

    fn is_text(&self) -> bool {
        !(self.can_bool
            || self.can_int
            || self.can_decimal
            || self.can_decimal_comma
            || self.can_float
            || self.can_date
            || self.can_timestamp)
    }

    /// Takes one non-empty value into account.
    pub fn observe(&mut self, v: &str) {
        self.non_null += 1;
        if self.is_text() {
            return;
        }
        if self.can_bool {
            self.can_bool = v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false");
        }
        let leading_zero = {
            let d = v.strip_prefix(['-', '+']).unwrap_or(v).as_bytes();
            d.len() > 1 && d[0] == b'0' && d[1].is_ascii_digit()
        };
        if self.can_int {
            self.can_int = !leading_zero && v.parse::<i64>().is_ok();
        }
        if self.can_decimal {
            match parse_decimal(v, b'.') {
                Some(d) if !leading_zero => {
                    self.int_digits = self.int_digits.max(d.int_digits);
                    self.scale = self.scale.max(d.scale);
                    self.can_decimal = u16::from(self.int_digits) + u16::from(self.scale) <= 38;
                }
                _ => self.can_decimal = false,
            }
        }
        if self.can_decimal_comma {
            match parse_decimal(v, b',') {
                Some(d) if !leading_zero => {
                    self.comma_int_digits = self.comma_int_digits.max(d.int_digits);
                    self.comma_scale = self.comma_scale.max(d.scale);
                    self.can_decimal_comma =
                        u16::from(self.comma_int_digits) + u16::from(self.comma_scale) <= 38;
                }
                _ => self.can_decimal_comma = false,
            }
        }
        if self.can_float {
            self.can_float = v.parse::<f64>().is_ok_and(f64::is_finite);
        }
        if self.can_date {
            self.can_date = parse_date(v).is_some();
        }
        if self.can_timestamp {
            self.can_timestamp = parse_timestamp(v).is_some();
        }
    }

    /// The proposed kind. A column with no value at all is text.
    pub fn kind(&self) -> ColumnKind {
        let decimal = |int_digits: u8, scale: u8, sep: u8| {
            let needed = int_digits + scale;
            // 18 digits fit Parquet's INT64 decimals and leave room past the sample.
            let precision = if needed <= 18 { 18 } else { 38 };
            ColumnKind::Decimal {
                precision,
                scale,
                sep,
            }
        };
        if self.non_null == 0 {
            ColumnKind::Utf8
        } else if self.can_bool {
            ColumnKind::Boolean
        } else if self.can_int {
            ColumnKind::Int64
        } else if self.can_decimal {
            decimal(self.int_digits, self.scale, b'.')
        } else if self.can_decimal_comma {
            decimal(self.comma_int_digits, self.comma_scale, b',')
        } else if self.can_float {
            ColumnKind::Float64
        } else if self.can_date {
            ColumnKind::Date
        } else if self.can_timestamp {
            ColumnKind::Timestamp
        } else {
            ColumnKind::Utf8
        }
    }
}

/// Decides whether the first row of a table is a header, given the kinds inferred
/// from the rows after it.
///
/// It is one when it has no empty or repeated value and either some typed column's
/// first value does not fit the type, or every column is text (exports nearly always
/// carry a header; a header of text over text cannot be told from data).
pub fn looks_like_header(first: &[Option<String>], kinds: &[ColumnKind]) -> bool {
    let mut seen = std::collections::HashSet::new();
    for v in first {
        match v {
            Some(s) if !s.trim().is_empty() && seen.insert(s.trim()) => {}
            _ => return false,
        }
    }
    let typed: Vec<(usize, &ColumnKind)> = kinds
        .iter()
        .enumerate()
        .filter(|(_, k)| **k != ColumnKind::Utf8)
        .collect();
    if typed.is_empty() {
        return true;
    }
    typed.iter().any(|(i, k)| {
        first
            .get(*i)
            .and_then(|v| v.as_deref())
            .is_some_and(|v| !k.accepts(v))
    })
}

/// Column names from a header row: trimmed, empty ones named `column_N`, repeats
/// suffixed `_2`, `_3`.
pub fn column_names(header: &[Option<String>], width: usize) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(width);
    for i in 0..width {
        let base = header
            .get(i)
            .and_then(|v| v.as_deref())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map_or_else(|| format!("column_{}", i + 1), str::to_owned);
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        names.push(name);
    }
    names
}

/// Builds one Arrow array from text values.
#[derive(Debug)]
pub enum ColumnBuilder {
    /// Text.
    Utf8(StringBuilder),
    /// Booleans.
    Boolean(BooleanBuilder),
    /// Integers.
    Int64(Int64Builder),
    /// Floats.
    Float64(Float64Builder),
    /// Decimals with their precision, scale and text separator.
    Decimal(Decimal128Builder, u8, u8, u8),
    /// Dates.
    Date(Date32Builder),
    /// Timestamps (UTC).
    Timestamp(TimestampMicrosecondBuilder),
}

impl ColumnBuilder {
    /// A builder for `kind` with room for `capacity` values.
    pub fn new(kind: ColumnKind, capacity: usize) -> Self {
        match kind {
            ColumnKind::Utf8 => {
                ColumnBuilder::Utf8(StringBuilder::with_capacity(capacity, capacity * 8))
            }
            ColumnKind::Boolean => ColumnBuilder::Boolean(BooleanBuilder::with_capacity(capacity)),
            ColumnKind::Int64 => ColumnBuilder::Int64(Int64Builder::with_capacity(capacity)),
            ColumnKind::Float64 => ColumnBuilder::Float64(Float64Builder::with_capacity(capacity)),
            ColumnKind::Decimal {
                precision,
                scale,
                sep,
            } => ColumnBuilder::Decimal(
                Decimal128Builder::with_capacity(capacity)
                    .with_precision_and_scale(precision, scale as i8)
                    .unwrap_or_else(|_| Decimal128Builder::with_capacity(capacity)),
                precision,
                scale,
                sep,
            ),
            ColumnKind::Date => ColumnBuilder::Date(Date32Builder::with_capacity(capacity)),
            ColumnKind::Timestamp => ColumnBuilder::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"),
            ),
        }
    }

    /// Appends a value; `None` is NULL. For typed columns an empty string is NULL too.
    ///
    /// # Errors
    /// The value does not fit the column's type; the message says why.
    pub fn append(&mut self, v: Option<&str>) -> Result<(), String> {
        if let ColumnBuilder::Utf8(b) = self {
            b.append_option(v);
            return Ok(());
        }
        let Some(v) = v.filter(|s| !s.is_empty()) else {
            self.append_null();
            return Ok(());
        };
        match self {
            ColumnBuilder::Utf8(_) => {}
            ColumnBuilder::Boolean(b) => {
                if v.eq_ignore_ascii_case("true") {
                    b.append_value(true)
                } else if v.eq_ignore_ascii_case("false") {
                    b.append_value(false)
                } else {
                    return Err(format!("{v:?} is not a boolean"));
                }
            }
            ColumnBuilder::Int64(b) => b.append_value(
                v.parse::<i64>()
                    .map_err(|_| format!("{v:?} is not an integer"))?,
            ),
            ColumnBuilder::Float64(b) => b.append_value(
                v.parse::<f64>()
                    .map_err(|_| format!("{v:?} is not a number"))?,
            ),
            ColumnBuilder::Decimal(b, precision, scale, sep) => {
                let d = parse_decimal(v, *sep).ok_or_else(|| format!("{v:?} is not a decimal"))?;
                let m = rescale(d.mantissa, d.scale, *scale).ok_or_else(|| {
                    format!("{v:?} has more than {scale} decimal places; ferry does not round")
                })?;
                if m.unsigned_abs() >= 10u128.pow(u32::from(*precision)) {
                    return Err(format!("{v:?} has more than {precision} digits"));
                }
                b.append_value(m);
            }
            ColumnBuilder::Date(b) => b.append_value(
                parse_date(v).ok_or_else(|| format!("{v:?} is not a date (YYYY-MM-DD)"))?,
            ),
            ColumnBuilder::Timestamp(b) => b.append_value(
                parse_timestamp(v)
                    .ok_or_else(|| format!("{v:?} is not an ISO 8601 timestamp"))?
                    .micros,
            ),
        }
        Ok(())
    }

    /// Appends NULL.
    pub fn append_null(&mut self) {
        match self {
            ColumnBuilder::Utf8(b) => b.append_null(),
            ColumnBuilder::Boolean(b) => b.append_null(),
            ColumnBuilder::Int64(b) => b.append_null(),
            ColumnBuilder::Float64(b) => b.append_null(),
            ColumnBuilder::Decimal(b, ..) => b.append_null(),
            ColumnBuilder::Date(b) => b.append_null(),
            ColumnBuilder::Timestamp(b) => b.append_null(),
        }
    }

    /// The array built so far; the builder is left empty for the next batch.
    pub fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Utf8(b) => Arc::new(b.finish()),
            ColumnBuilder::Boolean(b) => Arc::new(b.finish()),
            ColumnBuilder::Int64(b) => Arc::new(b.finish()),
            ColumnBuilder::Float64(b) => Arc::new(b.finish()),
            ColumnBuilder::Decimal(b, ..) => Arc::new(b.finish()),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b) => Arc::new(b.finish()),
        }
    }
}

/// Infers one kind per column over rows of optional text.
pub fn infer_kinds<'a>(
    rows: impl Iterator<Item = &'a [Option<String>]>,
    width: usize,
    decimal_comma: bool,
) -> Vec<ColumnKind> {
    let mut inf = vec![Inference::new(decimal_comma, false); width];
    for row in rows {
        for (i, v) in row.iter().enumerate().take(width) {
            if let Some(v) = v.as_deref().filter(|s| !s.is_empty()) {
                inf[i].observe(v);
            }
        }
    }
    inf.iter().map(Inference::kind).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(values: &[&str]) -> ColumnKind {
        let mut inf = Inference::new(true, false);
        for v in values {
            inf.observe(v);
        }
        inf.kind()
    }

    #[test]
    fn inference_prefers_exact_types() {
        assert_eq!(kind_of(&["1", "-2"]), ColumnKind::Int64);
        assert_eq!(
            kind_of(&["1", "2.50"]),
            ColumnKind::Decimal {
                precision: 18,
                scale: 2,
                sep: b'.'
            }
        );
        assert_eq!(
            kind_of(&["1,5"]),
            ColumnKind::Decimal {
                precision: 18,
                scale: 1,
                sep: b','
            }
        );
        assert_eq!(kind_of(&["00123", "5"]), ColumnKind::Utf8);
        assert_eq!(
            kind_of(&["0.5"]),
            ColumnKind::Decimal {
                precision: 18,
                scale: 1,
                sep: b'.'
            }
        );
        assert_eq!(kind_of(&["2025-01-31"]), ColumnKind::Date);
        assert_eq!(
            kind_of(&["2025-01-31 10:00:00", "2025-01-31T10:00:00Z"]),
            ColumnKind::Timestamp
        );
        assert_eq!(kind_of(&["TRUE", "false"]), ColumnKind::Boolean);
        assert_eq!(
            kind_of(&["12345678901234567890123"]),
            ColumnKind::Decimal {
                precision: 38,
                scale: 0,
                sep: b'.'
            }
        );
        assert_eq!(kind_of(&[]), ColumnKind::Utf8);
    }

    #[test]
    fn builders_refuse_to_round() {
        let mut b = ColumnBuilder::new(
            ColumnKind::Decimal {
                precision: 18,
                scale: 2,
                sep: b'.',
            },
            4,
        );
        b.append(Some("0.10")).unwrap();
        b.append(Some("3")).unwrap();
        b.append(None).unwrap();
        assert!(
            b.append(Some("0.125"))
                .unwrap_err()
                .contains("does not round")
        );
        let arr = b.finish();
        assert_eq!(arr.len(), 3);
        assert_eq!(arr.null_count(), 1);
    }

    #[test]
    fn header_detection() {
        let s = |v: &[&str]| v.iter().map(|x| Some((*x).to_owned())).collect::<Vec<_>>();
        let kinds = [ColumnKind::Int64, ColumnKind::Utf8];
        assert!(looks_like_header(&s(&["id", "name"]), &kinds));
        assert!(!looks_like_header(&s(&["1", "name"]), &kinds));
        assert!(looks_like_header(
            &s(&["a", "b"]),
            &[ColumnKind::Utf8, ColumnKind::Utf8]
        ));
        assert!(!looks_like_header(
            &s(&["a", "a"]),
            &[ColumnKind::Utf8, ColumnKind::Utf8]
        ));
        assert_eq!(
            column_names(&s(&["a", "", "a"]), 4),
            ["a", "column_2", "a_2", "column_4"]
        );
        assert_eq!(
            ColumnKind::from_hint("decimal(12, 3)"),
            Some(ColumnKind::Decimal {
                precision: 12,
                scale: 3,
                sep: b'.'
            })
        );
    }
}
