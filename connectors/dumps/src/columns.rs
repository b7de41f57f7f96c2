//! Column types of dumped tables and the Arrow builders that turn dumped text into
//! exact Arrow values.
//!
//! Both dialects map their SQL types to a [`ColType`]; a row parser then hands each
//! value as raw bytes (already unescaped) to a [`Builder`], which parses it exactly:
//! decimals never pass through a float, timestamps land in UTC microseconds, NULL
//! stays NULL and the empty string stays the empty string.

use std::sync::Arc;

use crate::fast;
use crate::scan::Charset;
use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int8Builder, Int16Builder, Int32Builder, Int64Builder, ListArray,
    StringBuilder, Time64MicrosecondBuilder, TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, TimeUnit};
use ferry_core::values::{parse_date, parse_decimal, parse_timestamp, rescale};

/// The type of a dumped column, independent of the dialect.
#[derive(Debug, Clone, PartialEq)]
pub enum ColType {
    /// `boolean`.
    Bool,
    /// 8-bit integer (`tinyint`).
    Int8,
    /// 16-bit integer.
    Int16,
    /// 32-bit integer.
    Int32,
    /// 64-bit integer.
    Int64,
    /// Unsigned 64-bit integer (`bigint unsigned`).
    UInt64,
    /// 32-bit float (`real`, `float`).
    Float32,
    /// 64-bit float (`double precision`).
    Float64,
    /// Exact decimal with precision and scale.
    Decimal(u8, i8),
    /// A PostgreSQL `numeric` without precision: its scale is found from the data
    /// while scanning, then it becomes a [`ColType::Decimal`] (or text when the
    /// values need more than 38 digits or hold `NaN`).
    Numeric,
    /// Text (UTF-8).
    Text,
    /// Bytes.
    Binary {
        /// PostgreSQL `bytea` text form (`\x…` hex or escape format) rather than raw bytes.
        pg_bytea: bool,
    },
    /// A date.
    Date {
        /// MySQL's `0000-00-00` "no date" reads as NULL.
        zero_is_null: bool,
    },
    /// A timestamp in microseconds; `utc` for zoned timestamps (`timestamptz`).
    Timestamp {
        /// Zoned: the value is converted to UTC and the Arrow type carries `UTC`.
        utc: bool,
        /// MySQL's `0000-00-00 00:00:00` reads as NULL.
        zero_is_null: bool,
    },
    /// A time of day in microseconds.
    Time,
    /// A one-dimensional PostgreSQL array.
    List(Box<ColType>),
}

impl ColType {
    /// The Arrow type this column is written as.
    pub fn arrow(&self) -> DataType {
        match self {
            ColType::Bool => DataType::Boolean,
            ColType::Int8 => DataType::Int8,
            ColType::Int16 => DataType::Int16,
            ColType::Int32 => DataType::Int32,
            ColType::Int64 => DataType::Int64,
            ColType::UInt64 => DataType::UInt64,
            ColType::Float32 => DataType::Float32,
            ColType::Float64 => DataType::Float64,
            ColType::Decimal(p, s) => DataType::Decimal128(*p, *s),
            ColType::Numeric => DataType::Decimal128(38, 10),
            ColType::Text => DataType::Utf8,
            ColType::Binary { .. } => DataType::Binary,
            ColType::Date { .. } => DataType::Date32,
            ColType::Timestamp { utc, .. } => {
                DataType::Timestamp(TimeUnit::Microsecond, utc.then(|| Arc::<str>::from("UTC")))
            }
            ColType::Time => DataType::Time64(TimeUnit::Microsecond),
            ColType::List(inner) => {
                DataType::List(Arc::new(Field::new("item", inner.arrow(), true)))
            }
        }
    }
}

/// What is known of an unconstrained `numeric` column after a scan of its values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NumericStats {
    /// Largest number of digits after the point.
    pub scale: u8,
    /// Largest number of digits before the point.
    pub int_digits: u8,
    /// A value that is not a finite decimal of at most 38 digits was seen.
    pub not_decimal: bool,
}

impl NumericStats {
    /// Records one value's text.
    pub fn observe(&mut self, text: &[u8]) {
        match std::str::from_utf8(text)
            .ok()
            .and_then(|s| parse_decimal(s, b'.'))
        {
            Some(d) => {
                self.scale = self.scale.max(d.scale);
                self.int_digits = self.int_digits.max(d.int_digits);
            }
            None => self.not_decimal = true,
        }
    }

    /// The column type these values fit exactly.
    pub fn resolve(&self) -> ColType {
        if self.not_decimal || u32::from(self.scale) + u32::from(self.int_digits) > 38 {
            ColType::Text
        } else {
            ColType::Decimal(38, self.scale as i8)
        }
    }
}

/// Builds one Arrow column from dumped values.
#[derive(Debug)]
pub enum Builder {
    /// Booleans.
    Bool(BooleanBuilder),
    /// Int8.
    I8(Int8Builder),
    /// Int16.
    I16(Int16Builder),
    /// Int32.
    I32(Int32Builder),
    /// Int64.
    I64(Int64Builder),
    /// UInt64.
    U64(UInt64Builder),
    /// Float32.
    F32(Float32Builder),
    /// Float64.
    F64(Float64Builder),
    /// Decimal128 with its precision and scale.
    Dec(Decimal128Builder, u8, u8),
    /// Text, decoded from the dump's encoding.
    Str(StringBuilder, Charset),
    /// Bytes; `true` for PostgreSQL bytea text.
    Bin(BinaryBuilder, bool),
    /// Date32; `true` when a zero date is NULL.
    Date(Date32Builder, bool),
    /// Timestamp µs; `true` when a zero date is NULL.
    Ts(TimestampMicrosecondBuilder, bool),
    /// Time64 µs.
    Time(Time64MicrosecondBuilder),
    /// A list: offsets, validity, element builder, element field.
    List {
        /// Offsets into the child.
        offsets: Vec<i32>,
        /// Which lists are NULL.
        nulls: Vec<bool>,
        /// Elements.
        child: Box<Builder>,
        /// Element field.
        field: Arc<Field>,
    },
}

impl Builder {
    /// A builder for `ty`, reading text in `encoding`.
    pub fn new(ty: &ColType, encoding: Charset) -> Builder {
        match ty {
            ColType::Bool => Builder::Bool(BooleanBuilder::new()),
            ColType::Int8 => Builder::I8(Int8Builder::new()),
            ColType::Int16 => Builder::I16(Int16Builder::new()),
            ColType::Int32 => Builder::I32(Int32Builder::new()),
            ColType::Int64 => Builder::I64(Int64Builder::new()),
            ColType::UInt64 => Builder::U64(UInt64Builder::new()),
            ColType::Float32 => Builder::F32(Float32Builder::new()),
            ColType::Float64 => Builder::F64(Float64Builder::new()),
            ColType::Decimal(p, s) => Builder::Dec(
                Decimal128Builder::new()
                    .with_precision_and_scale(*p, *s)
                    .unwrap_or_default(),
                *p,
                (*s).max(0) as u8,
            ),
            ColType::Numeric => Builder::Dec(
                Decimal128Builder::new()
                    .with_precision_and_scale(38, 10)
                    .unwrap_or_default(),
                38,
                10,
            ),
            ColType::Text => Builder::Str(StringBuilder::new(), encoding),
            ColType::Binary { pg_bytea } => Builder::Bin(BinaryBuilder::new(), *pg_bytea),
            ColType::Date { zero_is_null } => Builder::Date(Date32Builder::new(), *zero_is_null),
            ColType::Timestamp { utc, zero_is_null } => Builder::Ts(
                TimestampMicrosecondBuilder::new()
                    .with_timezone_opt(utc.then(|| Arc::<str>::from("UTC"))),
                *zero_is_null,
            ),
            ColType::Time => Builder::Time(Time64MicrosecondBuilder::new()),
            ColType::List(inner) => Builder::List {
                offsets: vec![0],
                nulls: Vec::new(),
                child: Box::new(Builder::new(inner, encoding)),
                field: Arc::new(Field::new("item", inner.arrow(), true)),
            },
        }
    }

    /// Appends one value (`None` is NULL). The error says why the text does not fit.
    pub fn append(&mut self, value: Option<&[u8]>) -> Result<(), String> {
        let Some(v) = value else {
            self.append_null();
            return Ok(());
        };
        match self {
            Builder::Bool(b) => b.append_value(match v {
                b"t" | b"true" | b"1" | b"TRUE" | b"y" | b"yes" | b"on" => true,
                b"f" | b"false" | b"0" | b"FALSE" | b"n" | b"no" | b"off" => false,
                _ => return Err(format!("{:?} is not a boolean", lossy(v))),
            }),
            Builder::I8(b) => b.append_value(int(v)?),
            Builder::I16(b) => b.append_value(int(v)?),
            Builder::I32(b) => b.append_value(int(v)?),
            Builder::I64(b) => b.append_value(int(v)?),
            Builder::U64(b) => b.append_value(
                ascii(v)?
                    .parse::<u64>()
                    .map_err(|_| format!("{:?} is not an unsigned integer", lossy(v)))?,
            ),
            Builder::F32(b) => b.append_value(float(v)? as f32),
            Builder::F64(b) => b.append_value(float(v)?),
            Builder::Dec(b, p, s) => {
                if let Some(m) = fast::decimal(v, *p, *s) {
                    b.append_value(m);
                    return Ok(());
                }
                let text = ascii(v)?;
                let d = parse_decimal(text, b'.')
                    .ok_or_else(|| format!("{text:?} is not a decimal number"))?;
                let m = rescale(d.mantissa, d.scale, *s)
                    .ok_or_else(|| format!("{text:?} has more than {s} digits after the point"))?;
                if ferry_core::values::digits(m) > *p {
                    return Err(format!("{text:?} has more than {p} digits"));
                }
                b.append_value(m);
            }
            Builder::Str(b, enc) => match enc {
                Charset::Utf8 => {
                    let s = std::str::from_utf8(v).map_err(|e| {
                        format!(
                            "invalid UTF-8 at byte {} of the value (wrong encoding?)",
                            e.valid_up_to()
                        )
                    })?;
                    b.append_value(s);
                }
                Charset::Latin1 => {
                    let s: String = v.iter().map(|&c| char::from(c)).collect();
                    b.append_value(s);
                }
                Charset::Other(e) => {
                    let (s, _) = e.decode_without_bom_handling(v);
                    b.append_value(s);
                }
            },
            Builder::Bin(b, pg) => {
                if *pg {
                    b.append_value(decode_bytea(v)?);
                } else {
                    b.append_value(v);
                }
            }
            Builder::Date(b, zero_null) => {
                if let Some(d) = fast::date(v) {
                    b.append_value(d);
                    return Ok(());
                }
                let t = ascii(v)?;
                if *zero_null && t == "0000-00-00" {
                    b.append_null();
                } else {
                    b.append_value(parse_date(t).ok_or_else(|| format!("{t:?} is not a date"))?);
                }
            }
            Builder::Ts(b, zero_null) => {
                if let Some(t) = fast::timestamp(v) {
                    b.append_value(t);
                    return Ok(());
                }
                let t = ascii(v)?;
                if *zero_null && t.starts_with("0000-00-00") {
                    b.append_null();
                } else {
                    b.append_value(timestamp_micros(t)?);
                }
            }
            Builder::Time(b) => b.append_value(time_micros(ascii(v)?)?),
            Builder::List {
                offsets,
                nulls,
                child,
                ..
            } => {
                let elems = parse_pg_array(v)?;
                for e in &elems {
                    child.append(e.as_deref())?;
                }
                let last = offsets.last().copied().unwrap_or(0);
                let next = i32::try_from(elems.len())
                    .ok()
                    .and_then(|n| last.checked_add(n))
                    .ok_or("array too large")?;
                offsets.push(next);
                nulls.push(true);
            }
        }
        Ok(())
    }

    fn append_null(&mut self) {
        match self {
            Builder::Bool(b) => b.append_null(),
            Builder::I8(b) => b.append_null(),
            Builder::I16(b) => b.append_null(),
            Builder::I32(b) => b.append_null(),
            Builder::I64(b) => b.append_null(),
            Builder::U64(b) => b.append_null(),
            Builder::F32(b) => b.append_null(),
            Builder::F64(b) => b.append_null(),
            Builder::Dec(b, ..) => b.append_null(),
            Builder::Str(b, _) => b.append_null(),
            Builder::Bin(b, _) => b.append_null(),
            Builder::Date(b, _) => b.append_null(),
            Builder::Ts(b, _) => b.append_null(),
            Builder::Time(b) => b.append_null(),
            Builder::List { offsets, nulls, .. } => {
                let last = offsets.last().copied().unwrap_or(0);
                offsets.push(last);
                nulls.push(false);
            }
        }
    }

    /// The column built so far; the builder is left empty.
    pub fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::I8(b) => Arc::new(b.finish()),
            Builder::I16(b) => Arc::new(b.finish()),
            Builder::I32(b) => Arc::new(b.finish()),
            Builder::I64(b) => Arc::new(b.finish()),
            Builder::U64(b) => Arc::new(b.finish()),
            Builder::F32(b) => Arc::new(b.finish()),
            Builder::F64(b) => Arc::new(b.finish()),
            Builder::Dec(b, ..) => Arc::new(b.finish()),
            Builder::Str(b, _) => Arc::new(b.finish()),
            Builder::Bin(b, _) => Arc::new(b.finish()),
            Builder::Date(b, _) => Arc::new(b.finish()),
            Builder::Ts(b, _) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
            Builder::List {
                offsets,
                nulls,
                child,
                field,
            } => {
                let values = child.finish();
                let offs = OffsetBuffer::new(std::mem::replace(offsets, vec![0]).into());
                let valid = std::mem::take(nulls);
                let n = valid.contains(&false).then(|| NullBuffer::from(valid));
                Arc::new(ListArray::new(field.clone(), offs, values, n))
            }
        }
    }
}

fn lossy(v: &[u8]) -> String {
    let s = String::from_utf8_lossy(v);
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s.into_owned()
    }
}

fn ascii(v: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(v).map_err(|_| format!("{:?} is not valid text", lossy(v)))
}

fn int<T: TryFrom<i64>>(v: &[u8]) -> Result<T, String> {
    if let Some(n) = fast::int(v).and_then(|n| T::try_from(n).ok()) {
        return Ok(n);
    }
    let t = ascii(v)?;
    t.parse::<i64>()
        .ok()
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| format!("{t:?} is not an integer of this column's size"))
}

fn float(v: &[u8]) -> Result<f64, String> {
    let t = ascii(v)?;
    t.parse::<f64>()
        .map_err(|_| format!("{t:?} is not a floating-point number"))
}

/// Decodes PostgreSQL bytea text: `\x` hex, or the older escape format.
pub fn decode_bytea(v: &[u8]) -> Result<Vec<u8>, String> {
    if let Some(hexpart) = v.strip_prefix(b"\\x") {
        return hex::decode(hexpart).map_err(|e| format!("bad bytea hex: {e}"));
    }
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'\\' {
            if v.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
            } else {
                let oct = v.get(i + 1..i + 4).ok_or("bad bytea escape")?;
                let mut n: u32 = 0;
                for &c in oct {
                    if !(b'0'..=b'7').contains(&c) {
                        return Err("bad bytea escape".into());
                    }
                    n = n * 8 + u32::from(c - b'0');
                }
                out.push(u8::try_from(n).map_err(|_| "bad bytea escape")?);
                i += 4;
            }
        } else {
            out.push(v[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Parses a timestamp as PostgreSQL and MySQL print it, with an optional zone
/// offset (`+02`, `+05:30`, `-00:09:21`), into microseconds since the epoch, UTC.
pub fn timestamp_micros(t: &str) -> Result<i64, String> {
    let bad = || format!("{t:?} is not a timestamp ferry can keep exactly");
    if t.len() < 19 || !t.is_ascii() {
        return Err(bad());
    }
    // The zone, if any, starts at the last '+' or '-' after the time.
    let (naive, offset_secs) = match t[19..].rfind(['+', '-']) {
        Some(i) => {
            let at = 19 + i;
            let (sign, rest) = (&t[at..at + 1], &t[at + 1..]);
            let mut parts = rest.split(':');
            let mut secs: i64 = 0;
            for (k, mult) in [3600i64, 60, 1].iter().enumerate() {
                match parts.next() {
                    Some(p) if p.len() == 2 && p.bytes().all(|c| c.is_ascii_digit()) => {
                        secs += p.parse::<i64>().map_err(|_| bad())? * mult;
                    }
                    None if k > 0 => break,
                    _ => return Err(bad()),
                }
            }
            if parts.next().is_some() {
                return Err(bad());
            }
            (&t[..at], if sign == "-" { -secs } else { secs })
        }
        None => (t, 0),
    };
    let p = parse_timestamp(naive).ok_or_else(bad)?;
    if p.had_zone {
        return Err(bad());
    }
    Ok(p.micros - offset_secs * 1_000_000)
}

fn time_micros(t: &str) -> Result<i64, String> {
    let bad = || format!("{t:?} is not a time of day");
    let b = t.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return Err(bad());
    }
    let h: i64 = t[0..2].parse().map_err(|_| bad())?;
    let m: i64 = t[3..5].parse().map_err(|_| bad())?;
    let s: i64 = t[6..8].parse().map_err(|_| bad())?;
    let mut micros: i64 = 0;
    if b.len() > 8 {
        if b[8] != b'.' || b.len() > 15 || b.len() == 9 {
            return Err(bad());
        }
        let frac = &t[9..];
        micros = frac.parse::<i64>().map_err(|_| bad())? * 10i64.pow(6 - frac.len() as u32);
    }
    if h > 24 || m > 59 || s > 60 {
        return Err(bad());
    }
    Ok(((h * 60 + m) * 60 + s) * 1_000_000 + micros)
}

/// Splits a one-dimensional PostgreSQL array literal (`{1,"a b",NULL}`) into its
/// elements' text; `None` is NULL.
pub fn parse_pg_array(v: &[u8]) -> Result<Vec<Option<Vec<u8>>>, String> {
    let mut v = v;
    // Optional explicit bounds: `[0:2]={...}`.
    if v.first() == Some(&b'[') {
        let eq = memchr::memchr(b'=', v).ok_or("bad array bounds")?;
        v = &v[eq + 1..];
    }
    let inner = v
        .strip_prefix(b"{")
        .and_then(|r| r.strip_suffix(b"}"))
        .ok_or_else(|| format!("{:?} is not an array literal", lossy(v)))?;
    let mut out = Vec::new();
    if inner.is_empty() {
        return Ok(out);
    }
    let mut i = 0;
    loop {
        if inner.get(i) == Some(&b'{') {
            return Err("multi-dimensional arrays are not supported".into());
        }
        if inner.get(i) == Some(&b'"') {
            i += 1;
            let mut el = Vec::new();
            loop {
                match inner.get(i) {
                    Some(b'\\') => {
                        el.push(*inner.get(i + 1).ok_or("unterminated array element")?);
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(c) => {
                        el.push(*c);
                        i += 1;
                    }
                    None => return Err("unterminated array element".into()),
                }
            }
            out.push(Some(el));
        } else {
            let start = i;
            while i < inner.len() && inner[i] != b',' {
                i += 1;
            }
            let raw = inner[start..i].trim_ascii();
            if raw.eq_ignore_ascii_case(b"NULL") {
                out.push(None);
            } else {
                out.push(Some(raw.to_vec()));
            }
        }
        match inner.get(i) {
            None => break,
            Some(b',') => i += 1,
            Some(_) => return Err("bad array literal".into()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};

    #[test]
    fn timestamps_with_offsets_land_in_utc() {
        let base = timestamp_micros("2025-01-01 00:00:00").unwrap();
        assert_eq!(timestamp_micros("2025-01-01 02:00:00+02").unwrap(), base);
        assert_eq!(
            timestamp_micros("2025-01-01 00:00:00-05:30").unwrap(),
            base + 5 * 3_600_000_000 + 30 * 60_000_000
        );
        assert_eq!(
            timestamp_micros("2025-01-01 00:00:00.5+00").unwrap(),
            base + 500_000
        );
        assert!(timestamp_micros("infinity").is_err());
        assert!(timestamp_micros("2025-01-01 00:00:00+0x").is_err());
    }

    #[test]
    fn arrays_split_with_quotes_and_nulls() {
        let a = parse_pg_array(br#"{1,"a,b",NULL,"x\"y","NULL"}"#).unwrap();
        assert_eq!(
            a,
            vec![
                Some(b"1".to_vec()),
                Some(b"a,b".to_vec()),
                None,
                Some(b"x\"y".to_vec()),
                Some(b"NULL".to_vec())
            ]
        );
        assert!(parse_pg_array(b"{{1},{2}}").is_err());
        assert_eq!(parse_pg_array(b"{}").unwrap(), vec![]);
    }

    #[test]
    fn builders_keep_values_exact() {
        let mut b = Builder::new(&ColType::Decimal(10, 2), Charset::Utf8);
        b.append(Some(b"12.5")).unwrap();
        assert!(b.append(Some(b"1.234")).is_err());
        b.append(None).unwrap();
        let a = b.finish();
        let d = a.as_primitive::<arrow::datatypes::Decimal128Type>();
        assert_eq!(d.value(0), 1250);
        assert!(d.is_null(1));

        let mut l = Builder::new(&ColType::List(Box::new(ColType::Int32)), Charset::Utf8);
        l.append(Some(b"{1,2}")).unwrap();
        l.append(None).unwrap();
        l.append(Some(b"{}")).unwrap();
        let a = l.finish();
        let la = a.as_list::<i32>();
        assert_eq!(la.value_length(0), 2);
        assert!(la.is_null(1));
        assert_eq!(la.value_length(2), 0);

        assert_eq!(decode_bytea(b"\\x00ff").unwrap(), vec![0, 255]);
        assert_eq!(decode_bytea(b"a\\\\\\001").unwrap(), b"a\\\x01".to_vec());
    }

    #[test]
    fn numeric_stats_pick_the_largest_scale() {
        let mut s = NumericStats::default();
        s.observe(b"1.5");
        s.observe(b"-123.125");
        assert_eq!(s.resolve(), ColType::Decimal(38, 3));
        s.observe(b"NaN");
        assert_eq!(s.resolve(), ColType::Text);
    }
}
