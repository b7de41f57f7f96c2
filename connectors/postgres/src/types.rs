//! The PostgreSQL → Arrow type map, and the decoders of PostgreSQL's binary wire format
//! that fill Arrow builders.
//!
//! One table, [`kind_of_base_type`], says how each PostgreSQL type is read:
//!
//! | PostgreSQL | Arrow | note |
//! | --- | --- | --- |
//! | `smallint`, `integer`, `bigint` | Int16, Int32, Int64 | |
//! | `oid` | Int64 | |
//! | `numeric(p,s)` | Decimal128(p, s) | p > 38: Decimal128(38, s), a value that does not fit is an error |
//! | `numeric` (no typmod) | Decimal128(38, 10) | scale set by `numeric_scale`; a value with more decimals is an error, never rounded |
//! | `numeric` NaN, ±Infinity | NULL | counted and logged as a warning |
//! | `real`, `double precision` | Float32, Float64 | |
//! | `text`, `varchar`, `char(n)`, `name`, `citext`, enums | Utf8 | `char(n)` keeps its padding, as PostgreSQL returns it |
//! | `boolean` | Boolean | |
//! | `date` | Date32 | ±infinity → NULL, counted |
//! | `time` | Time64(µs) | |
//! | `timestamp` | Timestamp(µs) | no zone: the wall-clock value as stored |
//! | `timestamptz` | Timestamp(µs, "UTC") | ±infinity → NULL, counted |
//! | `interval` | Utf8 | ISO 8601 (`P1Y2M3DT4H5M6S`), exact; Parquet has no lossless interval type |
//! | `uuid` | Utf8 | lowercase hyphenated, as PostgreSQL prints it |
//! | `json`, `jsonb` | Utf8 | the JSON text (jsonb as PostgreSQL normalises it) |
//! | `bytea` | Binary | |
//! | one-dimensional arrays of the above | List | a multi-dimensional value is an error |
//! | domains | their base type | |
//! | anything else (`money`, `inet`, `point`, `timetz`, ...) | Utf8 | read as `column::text`, with a warning at discovery |

use std::sync::Arc;

use arrow::array::NullBufferBuilder;
use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, ListArray, StringBuilder,
    Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, TimeUnit};

/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// How one PostgreSQL column is read and what Arrow type it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgKind {
    /// `smallint`.
    Int2,
    /// `integer`.
    Int4,
    /// `bigint`.
    Int8,
    /// `oid` (unsigned 32-bit), widened to Int64.
    Oid,
    /// `real`.
    Float4,
    /// `double precision`.
    Float8,
    /// `numeric` with the Arrow precision and scale it is read into.
    Numeric {
        /// Arrow precision (1..=38).
        precision: u8,
        /// Arrow scale.
        scale: i8,
    },
    /// Text-like types and enums: UTF-8 as sent.
    Text,
    /// `boolean`.
    Bool,
    /// `date`.
    Date,
    /// `time` without zone.
    Time,
    /// `timestamp` without zone.
    Timestamp,
    /// `timestamptz`, in UTC.
    TimestampTz,
    /// `uuid`, as text.
    Uuid,
    /// `jsonb`: a version byte, then the JSON text.
    Jsonb,
    /// `bytea`.
    Bytea,
    /// A one-dimensional array of the element kind.
    Array(Box<PgKind>),
    /// Read as `column::text` (interval, and types with no exact Arrow mapping).
    CastText {
        /// Whether discovery warns that the type is read as text for want of a mapping.
        warn: bool,
    },
}

/// The kind of a PostgreSQL base type by its `pg_type.typname` and the column's
/// `atttypmod`, or `None` when ferry has no mapping for it (it is then read as text).
/// `numeric_scale` is the scale used for `numeric` columns without a declared scale.
pub fn kind_of_base_type(typname: &str, typmod: i32, numeric_scale: i8) -> Option<PgKind> {
    Some(match typname {
        "int2" => PgKind::Int2,
        "int4" => PgKind::Int4,
        "int8" => PgKind::Int8,
        "oid" => PgKind::Oid,
        "float4" => PgKind::Float4,
        "float8" => PgKind::Float8,
        "numeric" => numeric_kind(typmod, numeric_scale),
        "text" | "varchar" | "bpchar" | "name" | "citext" | "json" | "xml" => PgKind::Text,
        "bool" => PgKind::Bool,
        "date" => PgKind::Date,
        "time" => PgKind::Time,
        "timestamp" => PgKind::Timestamp,
        "timestamptz" => PgKind::TimestampTz,
        "uuid" => PgKind::Uuid,
        "jsonb" => PgKind::Jsonb,
        "bytea" => PgKind::Bytea,
        "interval" => PgKind::CastText { warn: false },
        _ => return None,
    })
}

/// `numeric(p,s)` → Decimal128(p, s); unconstrained → Decimal128(38, `numeric_scale`).
fn numeric_kind(typmod: i32, numeric_scale: i8) -> PgKind {
    if typmod < 4 {
        return PgKind::Numeric {
            precision: 38,
            scale: numeric_scale,
        };
    }
    let raw = typmod - 4;
    let precision = (raw >> 16) & 0xffff;
    // The scale is an 11-bit signed field since PostgreSQL 15.
    let mut scale = raw & 0x7ff;
    if scale > 1023 {
        scale -= 2048;
    }
    let (precision, scale) = if scale < 0 {
        (precision - scale, 0)
    } else {
        (precision, scale)
    };
    PgKind::Numeric {
        precision: precision.clamp(1, 38) as u8,
        scale: scale.min(38) as i8,
    }
}

impl PgKind {
    /// The Arrow type of the column.
    pub fn arrow_type(&self) -> DataType {
        match self {
            PgKind::Int2 => DataType::Int16,
            PgKind::Int4 => DataType::Int32,
            PgKind::Int8 | PgKind::Oid => DataType::Int64,
            PgKind::Float4 => DataType::Float32,
            PgKind::Float8 => DataType::Float64,
            PgKind::Numeric { precision, scale } => DataType::Decimal128(*precision, *scale),
            PgKind::Text | PgKind::Uuid | PgKind::Jsonb | PgKind::CastText { .. } => DataType::Utf8,
            PgKind::Bool => DataType::Boolean,
            PgKind::Date => DataType::Date32,
            PgKind::Time => DataType::Time64(TimeUnit::Microsecond),
            PgKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            PgKind::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            PgKind::Bytea => DataType::Binary,
            PgKind::Array(inner) => {
                DataType::List(Arc::new(Field::new("item", inner.arrow_type(), true)))
            }
        }
    }

    /// Whether a value the server sends may become NULL in Arrow even in a NOT NULL
    /// column (NaN, infinities).
    pub fn may_null_values(&self) -> bool {
        matches!(
            self,
            PgKind::Numeric { .. } | PgKind::Date | PgKind::Timestamp | PgKind::TimestampTz
        )
    }

    /// Whether the column is selected as `column::text`.
    pub fn is_cast_text(&self) -> bool {
        matches!(self, PgKind::CastText { .. })
    }
}

/// A decoding failure; the caller adds where it happened.
pub type DecodeError = String;

/// Builds one Arrow column from binary-format values.
#[derive(Debug)]
pub enum ColumnBuilder {
    /// Int16.
    Int16(Int16Builder),
    /// Int32.
    Int32(Int32Builder),
    /// Int64 (also `oid`).
    Int64(Int64Builder, bool),
    /// Float32.
    Float32(Float32Builder),
    /// Float64.
    Float64(Float64Builder),
    /// Decimal128 with its precision and scale.
    Decimal(Decimal128Builder, u8, i8),
    /// Utf8 from text, uuid or jsonb bytes.
    Utf8(StringBuilder, TextForm),
    /// Boolean.
    Bool(BooleanBuilder),
    /// Date32.
    Date(Date32Builder),
    /// Time64(µs).
    Time(Time64MicrosecondBuilder),
    /// Timestamp(µs) with an optional zone.
    Timestamp(TimestampMicrosecondBuilder, bool),
    /// Binary.
    Binary(BinaryBuilder),
    /// List of a child column.
    List(Box<ListColumn>),
}

/// How the bytes of a text-like value are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextForm {
    /// UTF-8 bytes.
    Plain,
    /// 16 bytes of a UUID.
    Uuid,
    /// jsonb: a version byte (1) then UTF-8.
    Jsonb,
}

/// The parts of a List column under construction.
#[derive(Debug)]
pub struct ListColumn {
    offsets: Vec<i32>,
    validity: NullBufferBuilder,
    child: ColumnBuilder,
    field: FieldRef,
}

impl ColumnBuilder {
    /// An empty builder for `kind`, sized for `capacity` rows.
    pub fn new(kind: &PgKind, capacity: usize) -> Self {
        match kind {
            PgKind::Int2 => ColumnBuilder::Int16(Int16Builder::with_capacity(capacity)),
            PgKind::Int4 => ColumnBuilder::Int32(Int32Builder::with_capacity(capacity)),
            PgKind::Int8 => ColumnBuilder::Int64(Int64Builder::with_capacity(capacity), false),
            PgKind::Oid => ColumnBuilder::Int64(Int64Builder::with_capacity(capacity), true),
            PgKind::Float4 => ColumnBuilder::Float32(Float32Builder::with_capacity(capacity)),
            PgKind::Float8 => ColumnBuilder::Float64(Float64Builder::with_capacity(capacity)),
            PgKind::Numeric { precision, scale } => ColumnBuilder::Decimal(
                Decimal128Builder::with_capacity(capacity),
                *precision,
                *scale,
            ),
            PgKind::Text | PgKind::CastText { .. } => {
                ColumnBuilder::Utf8(StringBuilder::new(), TextForm::Plain)
            }
            PgKind::Uuid => ColumnBuilder::Utf8(StringBuilder::new(), TextForm::Uuid),
            PgKind::Jsonb => ColumnBuilder::Utf8(StringBuilder::new(), TextForm::Jsonb),
            PgKind::Bool => ColumnBuilder::Bool(BooleanBuilder::with_capacity(capacity)),
            PgKind::Date => ColumnBuilder::Date(Date32Builder::with_capacity(capacity)),
            PgKind::Time => ColumnBuilder::Time(Time64MicrosecondBuilder::with_capacity(capacity)),
            PgKind::Timestamp => ColumnBuilder::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(capacity),
                false,
            ),
            PgKind::TimestampTz => {
                ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::with_capacity(capacity), true)
            }
            PgKind::Bytea => ColumnBuilder::Binary(BinaryBuilder::new()),
            PgKind::Array(inner) => {
                let mut offsets = Vec::with_capacity(capacity + 1);
                offsets.push(0);
                ColumnBuilder::List(Box::new(ListColumn {
                    offsets,
                    validity: NullBufferBuilder::new(capacity),
                    child: ColumnBuilder::new(inner, capacity),
                    field: Arc::new(Field::new("item", inner.arrow_type(), true)),
                }))
            }
        }
    }

    /// Appends one value (`None` is SQL NULL). Returns whether a value the server sent
    /// became NULL (NaN, infinity), so the caller can count it.
    ///
    /// # Errors
    /// The bytes are not a valid value of the column's type, or do not fit its Arrow type.
    pub fn append(&mut self, value: Option<&[u8]>) -> Result<bool, DecodeError> {
        let Some(v) = value else {
            self.append_null();
            return Ok(false);
        };
        match self {
            ColumnBuilder::Int16(b) => b.append_value(i16::from_be_bytes(fixed(v)?)),
            ColumnBuilder::Int32(b) => b.append_value(i32::from_be_bytes(fixed(v)?)),
            ColumnBuilder::Int64(b, oid) => {
                if *oid {
                    b.append_value(i64::from(u32::from_be_bytes(fixed(v)?)))
                } else {
                    b.append_value(i64::from_be_bytes(fixed(v)?))
                }
            }
            ColumnBuilder::Float32(b) => b.append_value(f32::from_be_bytes(fixed(v)?)),
            ColumnBuilder::Float64(b) => b.append_value(f64::from_be_bytes(fixed(v)?)),
            ColumnBuilder::Decimal(b, precision, scale) => match decode_numeric(v, *scale)? {
                Some(m) => {
                    if ferry_core::values::digits(m) > *precision {
                        return Err(format!(
                            "numeric value {} does not fit Decimal128({precision}, {scale})",
                            ferry_core::values::format_decimal(m, (*scale).max(0) as u8)
                        ));
                    }
                    b.append_value(m)
                }
                None => {
                    b.append_null();
                    return Ok(true);
                }
            },
            ColumnBuilder::Utf8(b, form) => match form {
                TextForm::Plain => b.append_value(utf8(v)?),
                TextForm::Jsonb => match v.split_first() {
                    Some((1, text)) => b.append_value(utf8(text)?),
                    _ => return Err("jsonb value with an unknown format version".into()),
                },
                TextForm::Uuid => b.append_value(format_uuid(fixed(v)?)),
            },
            ColumnBuilder::Bool(b) => b.append_value(fixed::<1>(v)?[0] != 0),
            ColumnBuilder::Date(b) => {
                let days = i32::from_be_bytes(fixed(v)?);
                if days == i32::MAX || days == i32::MIN {
                    b.append_null();
                    return Ok(true);
                }
                let days = days
                    .checked_add(PG_EPOCH_DAYS)
                    .ok_or("date out of the range of Arrow's Date32")?;
                b.append_value(days)
            }
            ColumnBuilder::Time(b) => b.append_value(i64::from_be_bytes(fixed(v)?)),
            ColumnBuilder::Timestamp(b, _) => {
                let micros = i64::from_be_bytes(fixed(v)?);
                if micros == i64::MAX || micros == i64::MIN {
                    b.append_null();
                    return Ok(true);
                }
                let micros = micros
                    .checked_add(PG_EPOCH_MICROS)
                    .ok_or("timestamp out of the range of Arrow's 64-bit microseconds")?;
                b.append_value(micros)
            }
            ColumnBuilder::Binary(b) => b.append_value(v),
            ColumnBuilder::List(list) => return list.append_array(v),
        }
        Ok(false)
    }

    fn append_null(&mut self) {
        match self {
            ColumnBuilder::Int16(b) => b.append_null(),
            ColumnBuilder::Int32(b) => b.append_null(),
            ColumnBuilder::Int64(b, _) => b.append_null(),
            ColumnBuilder::Float32(b) => b.append_null(),
            ColumnBuilder::Float64(b) => b.append_null(),
            ColumnBuilder::Decimal(b, ..) => b.append_null(),
            ColumnBuilder::Utf8(b, _) => b.append_null(),
            ColumnBuilder::Bool(b) => b.append_null(),
            ColumnBuilder::Date(b) => b.append_null(),
            ColumnBuilder::Time(b) => b.append_null(),
            ColumnBuilder::Timestamp(b, _) => b.append_null(),
            ColumnBuilder::Binary(b) => b.append_null(),
            ColumnBuilder::List(list) => {
                let last = list.offsets.last().copied().unwrap_or(0);
                list.offsets.push(last);
                list.validity.append_null();
            }
        }
    }

    /// Takes the built column, leaving the builder empty for the next batch.
    ///
    /// # Errors
    /// Arrow rejects the parts (a decimal precision out of range).
    pub fn finish(&mut self) -> Result<ArrayRef, arrow::error::ArrowError> {
        Ok(match self {
            ColumnBuilder::Int16(b) => Arc::new(b.finish()),
            ColumnBuilder::Int32(b) => Arc::new(b.finish()),
            ColumnBuilder::Int64(b, _) => Arc::new(b.finish()),
            ColumnBuilder::Float32(b) => Arc::new(b.finish()),
            ColumnBuilder::Float64(b) => Arc::new(b.finish()),
            ColumnBuilder::Decimal(b, p, s) => {
                Arc::new(b.finish().with_precision_and_scale(*p, *s)?)
            }
            ColumnBuilder::Utf8(b, _) => Arc::new(b.finish()),
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
            ColumnBuilder::Time(b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b, utc) => {
                let a = b.finish();
                if *utc {
                    Arc::new(a.with_timezone("UTC"))
                } else {
                    Arc::new(a)
                }
            }
            ColumnBuilder::Binary(b) => Arc::new(b.finish()),
            ColumnBuilder::List(list) => {
                let offsets = std::mem::replace(&mut list.offsets, vec![0]);
                let values = list.child.finish()?;
                Arc::new(ListArray::try_new(
                    list.field.clone(),
                    OffsetBuffer::new(offsets.into()),
                    values,
                    list.validity.finish(),
                )?)
            }
        })
    }

    /// Bytes held so far, to bound a batch's memory.
    pub fn bytes(&self) -> usize {
        match self {
            ColumnBuilder::Utf8(b, _) => b.values_slice().len(),
            ColumnBuilder::Binary(b) => b.values_slice().len(),
            ColumnBuilder::List(list) => list.child.bytes() + list.offsets.len() * 4,
            _ => 0,
        }
    }
}

impl ListColumn {
    /// Appends a binary array value: ndim, has-null flag, element oid, then per
    /// dimension its size and lower bound, then the elements.
    fn append_array(&mut self, v: &[u8]) -> Result<bool, DecodeError> {
        let mut r = Reader(v);
        let ndim = r.i32()?;
        let _has_null = r.i32()?;
        let _elem_oid = r.i32()?;
        let count = match ndim {
            0 => 0,
            1 => {
                let n = r.i32()?;
                let _lower_bound = r.i32()?;
                usize::try_from(n).map_err(|_| "negative array size")?
            }
            n => {
                return Err(format!(
                    "a {n}-dimensional array cannot be stored as a list; cast the column to text in a view"
                ));
            }
        };
        let mut nulled = false;
        for _ in 0..count {
            let len = r.i32()?;
            let item = if len < 0 {
                None
            } else {
                Some(r.take(len as usize)?)
            };
            nulled |= self.child.append(item)?;
        }
        if !r.0.is_empty() {
            return Err("trailing bytes after an array value".into());
        }
        let last = self.offsets.last().copied().unwrap_or(0);
        let next = i32::try_from(count)
            .ok()
            .and_then(|c| last.checked_add(c))
            .ok_or("more than 2^31 array elements in one batch")?;
        self.offsets.push(next);
        self.validity.append_non_null();
        Ok(nulled)
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err("value shorter than its type needs".into());
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(fixed(self.take(4)?)?))
    }
    fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(fixed(self.take(2)?)?))
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(fixed(self.take(2)?)?))
    }
}

fn fixed<const N: usize>(v: &[u8]) -> Result<[u8; N], DecodeError> {
    v.try_into()
        .map_err(|_| format!("expected {N} bytes, found {}", v.len()))
}

fn utf8(v: &[u8]) -> Result<&str, DecodeError> {
    std::str::from_utf8(v).map_err(|e| format!("text is not valid UTF-8: {e}"))
}

fn format_uuid(b: [u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        s.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    s
}

/// Decodes a binary `numeric` into a Decimal128 mantissa at `scale`. `None` for NaN
/// and ±Infinity.
///
/// The wire form is base-10000 digits: `ndigits`, `weight` (of the first digit),
/// `sign`, `dscale`, then the digits; the value is `Σ digit[i] × 10000^(weight − i)`.
///
/// # Errors
/// The value has more decimals than `scale` (never rounded) or exceeds 38 digits.
pub fn decode_numeric(v: &[u8], scale: i8) -> Result<Option<i128>, DecodeError> {
    let mut r = Reader(v);
    let ndigits = r.i16()?;
    let weight = i32::from(r.i16()?);
    let sign = r.u16()?;
    let _dscale = r.u16()?;
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 | 0xD000 | 0xF000 => return Ok(None),
        other => return Err(format!("numeric with unknown sign word {other:#x}")),
    }
    let overflow = || "numeric value exceeds 38 digits".to_string();
    let too_precise =
        || format!("numeric value has more than {scale} decimal places; raise `numeric_scale`");
    // Each digit is placed at its own power of ten, so trailing digits padded by
    // the display scale never push the sum past 38 digits on their way in.
    let mut mantissa: i128 = 0;
    for i in 0..i32::from(ndigits) {
        let d = r.i16()?;
        if !(0..10_000).contains(&d) {
            return Err(format!("numeric digit {d} out of range"));
        }
        if d == 0 {
            continue;
        }
        let exp10 = 4 * (weight - i) + i32::from(scale);
        let placed = if exp10 >= 0 {
            u32::try_from(exp10)
                .ok()
                .and_then(|e| 10i128.checked_pow(e))
                .and_then(|f| f.checked_mul(i128::from(d)))
                .ok_or_else(overflow)?
        } else {
            let f = 10i128.pow(exp10.unsigned_abs().min(5));
            if exp10 < -4 || i128::from(d) % f != 0 {
                return Err(too_precise());
            }
            i128::from(d) / f
        };
        mantissa = mantissa.checked_add(placed).ok_or_else(overflow)?;
    }
    if sign == 0x4000 {
        mantissa = -mantissa;
    }
    Ok(Some(mantissa))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        Array, AsArray, BinaryArray, Date32Array, Decimal128Array, Float64Array, Int16Array,
        Int32Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };

    fn one(kind: &PgKind, value: Option<&[u8]>) -> ArrayRef {
        let mut b = ColumnBuilder::new(kind, 1);
        b.append(value).unwrap();
        let a = b.finish().unwrap();
        assert_eq!(a.data_type(), &kind.arrow_type());
        a
    }

    /// Binary numeric from base-10000 digits.
    fn numeric(weight: i16, sign: u16, dscale: u16, digits: &[i16]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend((digits.len() as i16).to_be_bytes());
        v.extend(weight.to_be_bytes());
        v.extend(sign.to_be_bytes());
        v.extend(dscale.to_be_bytes());
        for d in digits {
            v.extend(d.to_be_bytes());
        }
        v
    }

    #[test]
    fn integers() {
        let a = one(&PgKind::Int2, Some(&(-7i16).to_be_bytes()));
        assert_eq!(
            a.as_any().downcast_ref::<Int16Array>().unwrap().value(0),
            -7
        );
        let a = one(&PgKind::Int4, Some(&i32::MIN.to_be_bytes()));
        assert_eq!(
            a.as_any().downcast_ref::<Int32Array>().unwrap().value(0),
            i32::MIN
        );
        let a = one(&PgKind::Int8, Some(&i64::MAX.to_be_bytes()));
        assert_eq!(
            a.as_any().downcast_ref::<Int64Array>().unwrap().value(0),
            i64::MAX
        );
        let a = one(&PgKind::Oid, Some(&u32::MAX.to_be_bytes()));
        assert_eq!(
            a.as_any().downcast_ref::<Int64Array>().unwrap().value(0),
            i64::from(u32::MAX)
        );
        let mut b = ColumnBuilder::new(&PgKind::Int4, 1);
        assert!(
            b.append(Some(&[1, 2])).is_err(),
            "a short value is an error"
        );
    }

    #[test]
    fn floats_keep_negative_zero_and_nan() {
        let a = one(&PgKind::Float8, Some(&(-0.0f64).to_be_bytes()));
        let v = a.as_any().downcast_ref::<Float64Array>().unwrap().value(0);
        assert!(v == 0.0 && v.is_sign_negative());
        let a = one(&PgKind::Float4, Some(&f32::NAN.to_be_bytes()));
        assert!(
            a.as_primitive::<arrow::datatypes::Float32Type>()
                .value(0)
                .is_nan()
        );
    }

    #[test]
    fn numeric_typmods_become_decimal_types() {
        // numeric(12,2): typmod = (12 << 16 | 2) + 4
        assert_eq!(
            kind_of_base_type("numeric", (12 << 16 | 2) + 4, 10),
            Some(PgKind::Numeric {
                precision: 12,
                scale: 2
            })
        );
        assert_eq!(
            kind_of_base_type("numeric", -1, 10),
            Some(PgKind::Numeric {
                precision: 38,
                scale: 10
            })
        );
        assert_eq!(
            kind_of_base_type("numeric", (1000 << 16 | 3) + 4, 10),
            Some(PgKind::Numeric {
                precision: 38,
                scale: 3
            })
        );
    }

    #[test]
    fn numerics_decode_exactly() {
        // 12345.67 = digits [1, 2345, 6700], weight 1
        let v = numeric(1, 0, 2, &[1, 2345, 6700]);
        assert_eq!(decode_numeric(&v, 2).unwrap(), Some(1_234_567));
        assert_eq!(decode_numeric(&v, 4).unwrap(), Some(123_456_700));
        assert!(decode_numeric(&v, 1).is_err(), "never rounds");
        // -0.0001 = digits [1], weight -1
        let v = numeric(-1, 0x4000, 4, &[1]);
        assert_eq!(decode_numeric(&v, 4).unwrap(), Some(-1));
        // zero has no digits
        assert_eq!(decode_numeric(&numeric(0, 0, 2, &[]), 2).unwrap(), Some(0));
        // 38 nines: 99 then nine groups of 9999
        let mut digits = vec![99i16];
        digits.extend([9999i16; 9]);
        let v = numeric(9, 0, 0, &digits);
        assert_eq!(decode_numeric(&v, 0).unwrap(), Some(10i128.pow(38) - 1));
        assert!(decode_numeric(&v, 1).is_err(), "39 digits do not fit");
        // numeric(38,37): 9.999…9 (37 nines after the point) is sent padded to 40
        // decimals (ten base-10000 groups, the last 9000).
        let mut digits = vec![9i16];
        digits.extend([9999i16; 9]);
        digits.push(9000);
        let v = numeric(0, 0, 37, &digits);
        assert_eq!(decode_numeric(&v, 37).unwrap(), Some(10i128.pow(38) - 1));
        assert!(decode_numeric(&v, 36).is_err(), "37 decimals never rounded");
        // NaN, +Infinity, -Infinity
        for sign in [0xC000u16, 0xD000, 0xF000] {
            assert_eq!(decode_numeric(&numeric(0, sign, 0, &[]), 2).unwrap(), None);
        }
    }

    #[test]
    fn numeric_nan_becomes_null_and_is_reported() {
        let kind = PgKind::Numeric {
            precision: 10,
            scale: 2,
        };
        let mut b = ColumnBuilder::new(&kind, 2);
        assert!(b.append(Some(&numeric(0, 0xC000, 0, &[]))).unwrap());
        assert!(!b.append(Some(&numeric(0, 0, 2, &[5]))).unwrap());
        let a = b.finish().unwrap();
        let d = a.as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert!(d.is_null(0));
        assert_eq!(d.value(1), 500);
        let mut b = ColumnBuilder::new(
            &PgKind::Numeric {
                precision: 3,
                scale: 0,
            },
            1,
        );
        assert!(
            b.append(Some(&numeric(0, 0, 0, &[1234]))).is_err(),
            "precision is enforced"
        );
    }

    #[test]
    fn text_json_and_uuid() {
        let a = one(&PgKind::Text, Some("tab\t\\ \"é\" 🚀\n".as_bytes()));
        assert_eq!(
            a.as_any().downcast_ref::<StringArray>().unwrap().value(0),
            "tab\t\\ \"é\" 🚀\n"
        );
        let a = one(&PgKind::Text, Some(b""));
        assert!(a.is_valid(0), "'' is not NULL");
        let a = one(&PgKind::Text, None);
        assert!(a.is_null(0));
        let a = one(&PgKind::Jsonb, Some(b"\x01{\"en_US\": \"Desk\"}"));
        assert_eq!(
            a.as_any().downcast_ref::<StringArray>().unwrap().value(0),
            r#"{"en_US": "Desk"}"#
        );
        let bytes: Vec<u8> = (0u8..16).map(|i| i * 17).collect();
        let a = one(&PgKind::Uuid, Some(&bytes));
        assert_eq!(
            a.as_any().downcast_ref::<StringArray>().unwrap().value(0),
            "00112233-4455-6677-8899-aabbccddeeff"
        );
        let mut b = ColumnBuilder::new(&PgKind::Text, 1);
        assert!(
            b.append(Some(&[0xff, 0xfe])).is_err(),
            "invalid UTF-8 is an error"
        );
    }

    #[test]
    fn bool_and_bytea() {
        let a = one(&PgKind::Bool, Some(&[1]));
        assert!(a.as_boolean().value(0));
        let a = one(&PgKind::Bytea, Some(&[0, 0xff, b'\\']));
        assert_eq!(
            a.as_any().downcast_ref::<BinaryArray>().unwrap().value(0),
            &[0, 0xff, b'\\']
        );
    }

    #[test]
    fn dates_and_times_shift_to_the_unix_epoch() {
        let a = one(&PgKind::Date, Some(&0i32.to_be_bytes()));
        assert_eq!(
            a.as_any().downcast_ref::<Date32Array>().unwrap().value(0),
            10_957
        );
        let a = one(&PgKind::Date, Some(&i32::MAX.to_be_bytes()));
        assert!(a.is_null(0), "infinity becomes NULL");
        let a = one(&PgKind::TimestampTz, Some(&1i64.to_be_bytes()));
        let t = a
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .unwrap();
        assert_eq!(t.value(0), PG_EPOCH_MICROS + 1);
        assert_eq!(t.timezone(), Some("UTC"));
        let a = one(&PgKind::Timestamp, Some(&(-PG_EPOCH_MICROS).to_be_bytes()));
        assert_eq!(
            a.as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                .value(0),
            0
        );
        let a = one(&PgKind::Time, Some(&86_399_999_999i64.to_be_bytes()));
        assert_eq!(
            a.as_primitive::<arrow::datatypes::Time64MicrosecondType>()
                .value(0),
            86_399_999_999
        );
        let mut b = ColumnBuilder::new(&PgKind::Timestamp, 1);
        assert!(b.append(Some(&(i64::MAX - 1).to_be_bytes())).is_err());
    }

    #[test]
    fn arrays_become_lists() {
        let kind = PgKind::Array(Box::new(PgKind::Int4));
        let mut v = Vec::new();
        for x in [1i32, 1, 23, 3, 1] {
            v.extend(x.to_be_bytes()); // ndim, has_null, oid, size, lbound
        }
        v.extend(4i32.to_be_bytes());
        v.extend(7i32.to_be_bytes());
        v.extend((-1i32).to_be_bytes());
        v.extend(4i32.to_be_bytes());
        v.extend(9i32.to_be_bytes());
        let mut empty = Vec::new();
        for x in [0i32, 0, 23] {
            empty.extend(x.to_be_bytes());
        }
        let mut b = ColumnBuilder::new(&kind, 3);
        b.append(Some(&v)).unwrap();
        b.append(None).unwrap();
        b.append(Some(&empty)).unwrap();
        let a = b.finish().unwrap();
        assert_eq!(a.data_type(), &kind.arrow_type());
        let l = a.as_list::<i32>();
        let first = l.value(0);
        let ints = first.as_primitive::<arrow::datatypes::Int32Type>();
        assert_eq!(ints.len(), 3);
        assert_eq!(
            (ints.value(0), ints.is_null(1), ints.value(2)),
            (7, true, 9)
        );
        assert!(l.is_null(1));
        assert!(l.is_valid(2) && l.value(2).is_empty());
        let mut two_d = Vec::new();
        for x in [2i32, 0, 23] {
            two_d.extend(x.to_be_bytes());
        }
        let mut b = ColumnBuilder::new(&kind, 1);
        assert!(
            b.append(Some(&two_d))
                .unwrap_err()
                .contains("2-dimensional")
        );
    }

    #[test]
    fn interval_and_unknown_types_are_read_as_text() {
        assert_eq!(
            kind_of_base_type("interval", -1, 10),
            Some(PgKind::CastText { warn: false })
        );
        assert_eq!(kind_of_base_type("money", -1, 10), None);
        assert_eq!(PgKind::CastText { warn: true }.arrow_type(), DataType::Utf8);
    }
}
