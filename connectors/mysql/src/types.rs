//! The MySQL/MariaDB → Arrow type map, in one table, and the builders that turn
//! binary-protocol values into Arrow arrays exactly.
//!
//! | MySQL / MariaDB type | Arrow type | notes |
//! | --- | --- | --- |
//! | `tinyint`, `smallint`, `mediumint`, `int`, `bigint` | `Int8/16/32/64` | `unsigned` → `UInt8/16/32/64`; `tinyint(1)` stays `Int8` (ERPs store 0/1/2 flags in it) |
//! | `year` | `Int16` | |
//! | `bit(1)` / `bit(n)` | `Boolean` / `UInt64` | |
//! | `decimal(p,s)`, p ≤ 38 | `Decimal128(p,s)` | exact, from the server's text |
//! | `decimal(p,s)`, 39 ≤ p ≤ 65 | `Decimal256(p,s)` | exact; Arrow's Decimal128 stops at 38 digits, so wider columns widen rather than round |
//! | `float` / `double` | `Float32` / `Float64` | bit-exact (binary protocol), `-0` kept |
//! | `char`, `varchar`, `*text`, `enum`, `set`, `json` | `Utf8` | sent as utf8mb4 whatever the table's charset (latin1 is converted by the server) |
//! | `binary`, `varbinary`, `*blob` | `Binary` | |
//! | `date` | `Date32` | zero dates (`0000-00-00`, or a zero month/day) → NULL, counted in a warning |
//! | `datetime(n)` | `Timestamp(µs, "UTC")` | DATETIME has no zone: its wall-clock value is taken as UTC, unchanged |
//! | `timestamp(n)` | `Timestamp(µs, "UTC")` | stored in UTC by the server; read with session `time_zone = '+00:00'` |
//! | `time(n)` | `Time64(µs)` | values outside 00:00:00–23:59:59.999999 (MySQL allows ±838 h) are an error naming the row |
//! | anything else (`geometry`, `uuid`, `inet6`, …) | `Utf8` | read as `CAST(col AS CHAR)` (`ST_AsText` for geometry), with a warning at discovery |

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Decimal256Builder,
    Float32Builder, Float64Builder, Int8Builder, Int16Builder, Int32Builder, Int64Builder,
    StringBuilder, Time64MicrosecondBuilder, TimestampMicrosecondBuilder, UInt8Builder,
    UInt16Builder, UInt32Builder, UInt64Builder,
};
use arrow::datatypes::{DataType, TimeUnit};
use arrow_buffer::i256;
use ferry_core::values::{MAX_DECIMAL_PRECISION, parse_decimal, rescale};
use mysql_async::Value;

/// Widest DECIMAL MySQL and MariaDB allow.
pub const MAX_MYSQL_DECIMAL_PRECISION: u8 = 65;

/// How a column is read and which Arrow type it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Signed integer of 8, 16, 32 or 64 bits.
    Int(u8),
    /// Unsigned integer of 8, 16, 32 or 64 bits.
    UInt(u8),
    /// `bit(1)`.
    Bool,
    /// `bit(n)`, n > 1, as an unsigned number.
    Bits,
    /// `decimal(p,s)` with p ≤ 38.
    Decimal128(u8, i8),
    /// `decimal(p,s)` with 38 < p ≤ 65.
    Decimal256(u8, i8),
    /// `float`.
    Float32,
    /// `double`.
    Float64,
    /// Character data (text, enum, set, json, and the fallback).
    Text,
    /// Binary strings and blobs.
    Binary,
    /// `date`.
    Date,
    /// `datetime`, taken as UTC.
    DateTime,
    /// `timestamp`, UTC.
    Timestamp,
    /// `time`.
    Time,
    /// A type ferry does not know, read as text.
    Other,
}

/// What `information_schema.COLUMNS` says about a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// `DATA_TYPE`, e.g. `decimal`.
    pub data_type: String,
    /// `COLUMN_TYPE`, e.g. `decimal(12,2) unsigned`.
    pub column_type: String,
    /// `NUMERIC_PRECISION`.
    pub precision: Option<u64>,
    /// `NUMERIC_SCALE`.
    pub scale: Option<u64>,
    /// `IS_NULLABLE = 'YES'`.
    pub nullable: bool,
}

impl Kind {
    /// The kind of a column, from its `DATA_TYPE` and `COLUMN_TYPE`.
    pub fn of(col: &ColumnInfo) -> Kind {
        let unsigned = col.column_type.to_ascii_lowercase().contains("unsigned");
        let int = |bits| {
            if unsigned {
                Kind::UInt(bits)
            } else {
                Kind::Int(bits)
            }
        };
        match col.data_type.to_ascii_lowercase().as_str() {
            "tinyint" => int(8),
            "smallint" => int(16),
            "mediumint" | "int" | "integer" => int(32),
            "bigint" => int(64),
            "year" => Kind::Int(16),
            "bit" => {
                if col.precision == Some(1) {
                    Kind::Bool
                } else {
                    Kind::Bits
                }
            }
            "decimal" | "numeric" => {
                let p = col.precision.unwrap_or(10).min(255) as u8;
                let s = col.scale.unwrap_or(0).min(127) as i8;
                if p <= MAX_DECIMAL_PRECISION {
                    Kind::Decimal128(p.max(1), s)
                } else {
                    Kind::Decimal256(p.min(MAX_MYSQL_DECIMAL_PRECISION), s)
                }
            }
            "float" => Kind::Float32,
            "double" | "real" | "double precision" => Kind::Float64,
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum"
            | "set" | "json" => Kind::Text,
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
                Kind::Binary
            }
            "date" => Kind::Date,
            "datetime" => Kind::DateTime,
            "timestamp" => Kind::Timestamp,
            "time" => Kind::Time,
            _ => Kind::Other,
        }
    }

    /// The Arrow type of the column.
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Int(8) => DataType::Int8,
            Kind::Int(16) => DataType::Int16,
            Kind::Int(32) => DataType::Int32,
            Kind::Int(_) => DataType::Int64,
            Kind::UInt(8) => DataType::UInt8,
            Kind::UInt(16) => DataType::UInt16,
            Kind::UInt(32) => DataType::UInt32,
            Kind::UInt(_) => DataType::UInt64,
            Kind::Bool => DataType::Boolean,
            Kind::Bits => DataType::UInt64,
            Kind::Decimal128(p, s) => DataType::Decimal128(p, s),
            Kind::Decimal256(p, s) => DataType::Decimal256(p, s),
            Kind::Float32 => DataType::Float32,
            Kind::Float64 => DataType::Float64,
            Kind::Text | Kind::Other => DataType::Utf8,
            Kind::Binary => DataType::Binary,
            Kind::Date => DataType::Date32,
            Kind::DateTime | Kind::Timestamp => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
            }
            Kind::Time => DataType::Time64(TimeUnit::Microsecond),
        }
    }

    /// Whether NULL can come out of a column even when it is declared NOT NULL
    /// (zero dates become NULL).
    pub fn may_null_anyway(self) -> bool {
        matches!(self, Kind::Date | Kind::DateTime | Kind::Timestamp)
    }

    /// Whether rows can be ordered and resumed by a key of this kind.
    pub fn is_orderable_key(self) -> bool {
        !matches!(
            self,
            Kind::Float32 | Kind::Float64 | Kind::Other | Kind::Bool | Kind::Bits
        )
    }

    /// The SQL placeholder used to compare this column with a key value, so that a
    /// decimal is compared as a decimal and not as a string or a double.
    pub fn placeholder(self) -> String {
        match self {
            Kind::Decimal128(p, s) | Kind::Decimal256(p, s) => {
                format!("CAST(? AS DECIMAL({p},{s}))")
            }
            Kind::DateTime | Kind::Timestamp => "CAST(? AS DATETIME(6))".into(),
            Kind::Date => "CAST(? AS DATE)".into(),
            Kind::Time => "CAST(? AS TIME(6))".into(),
            _ => "?".into(),
        }
    }
}

/// The expression that selects a column, quoted.
pub fn select_expr(col: &ColumnInfo, kind: Kind) -> String {
    let q = quote_ident(&col.name);
    match kind {
        Kind::Other if is_geometry(&col.data_type) => format!("ST_AsText({q})"),
        Kind::Other => format!("CAST({q} AS CHAR CHARACTER SET utf8mb4)"),
        _ => q,
    }
}

fn is_geometry(data_type: &str) -> bool {
    matches!(
        data_type.to_ascii_lowercase().as_str(),
        "geometry"
            | "point"
            | "linestring"
            | "polygon"
            | "multipoint"
            | "multilinestring"
            | "multipolygon"
            | "geometrycollection"
    )
}

/// Quotes an identifier with backticks.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Why a value could not be put into its column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError(pub String);

/// An Arrow builder for one column.
#[derive(Debug)]
pub enum ColumnBuilder {
    /// Int8.
    I8(Int8Builder),
    /// Int16.
    I16(Int16Builder),
    /// Int32.
    I32(Int32Builder),
    /// Int64.
    I64(Int64Builder),
    /// UInt8.
    U8(UInt8Builder),
    /// UInt16.
    U16(UInt16Builder),
    /// UInt32.
    U32(UInt32Builder),
    /// UInt64.
    U64(UInt64Builder),
    /// Boolean.
    Bool(BooleanBuilder),
    /// Decimal128 with its scale.
    D128(Decimal128Builder, i8),
    /// Decimal256 with its scale.
    D256(Decimal256Builder, i8),
    /// Float32.
    F32(Float32Builder),
    /// Float64.
    F64(Float64Builder),
    /// Utf8.
    Text(StringBuilder),
    /// Binary.
    Bin(BinaryBuilder),
    /// Date32.
    Date(Date32Builder),
    /// Timestamp µs UTC.
    Ts(TimestampMicrosecondBuilder),
    /// Time64 µs.
    Time(Time64MicrosecondBuilder),
}

const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

impl ColumnBuilder {
    /// A builder for `kind` with room for `capacity` rows.
    pub fn new(kind: Kind, capacity: usize) -> Self {
        match kind {
            Kind::Int(8) => Self::I8(Int8Builder::with_capacity(capacity)),
            Kind::Int(16) => Self::I16(Int16Builder::with_capacity(capacity)),
            Kind::Int(32) => Self::I32(Int32Builder::with_capacity(capacity)),
            Kind::Int(_) => Self::I64(Int64Builder::with_capacity(capacity)),
            Kind::UInt(8) => Self::U8(UInt8Builder::with_capacity(capacity)),
            Kind::UInt(16) => Self::U16(UInt16Builder::with_capacity(capacity)),
            Kind::UInt(32) => Self::U32(UInt32Builder::with_capacity(capacity)),
            Kind::UInt(_) | Kind::Bits => Self::U64(UInt64Builder::with_capacity(capacity)),
            Kind::Bool => Self::Bool(BooleanBuilder::with_capacity(capacity)),
            Kind::Decimal128(p, s) => Self::D128(
                Decimal128Builder::with_capacity(capacity)
                    .with_data_type(DataType::Decimal128(p, s)),
                s,
            ),
            Kind::Decimal256(p, s) => Self::D256(
                Decimal256Builder::with_capacity(capacity)
                    .with_data_type(DataType::Decimal256(p, s)),
                s,
            ),
            Kind::Float32 => Self::F32(Float32Builder::with_capacity(capacity)),
            Kind::Float64 => Self::F64(Float64Builder::with_capacity(capacity)),
            Kind::Text | Kind::Other => Self::Text(StringBuilder::with_capacity(capacity, 0)),
            Kind::Binary => Self::Bin(BinaryBuilder::with_capacity(capacity, 0)),
            Kind::Date => Self::Date(Date32Builder::with_capacity(capacity)),
            Kind::DateTime | Kind::Timestamp => {
                Self::Ts(TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"))
            }
            Kind::Time => Self::Time(Time64MicrosecondBuilder::with_capacity(capacity)),
        }
    }

    /// Appends one value. Returns `Ok(true)` when a zero date was turned into NULL.
    ///
    /// # Errors
    /// The value does not fit the column (never rounded or truncated silently).
    pub fn push(&mut self, value: &Value) -> Result<bool, ValueError> {
        if matches!(value, Value::NULL) {
            self.push_null();
            return Ok(false);
        }
        match self {
            Self::I8(b) => b.append_value(int_in(value)?),
            Self::I16(b) => b.append_value(int_in(value)?),
            Self::I32(b) => b.append_value(int_in(value)?),
            Self::I64(b) => b.append_value(int_in(value)?),
            Self::U8(b) => b.append_value(uint_in(value)?),
            Self::U16(b) => b.append_value(uint_in(value)?),
            Self::U32(b) => b.append_value(uint_in(value)?),
            Self::U64(b) => b.append_value(uint_in(value)?),
            Self::Bool(b) => b.append_value(uint_in::<u64>(value)? != 0),
            Self::D128(b, scale) => b.append_value(decimal128(value, *scale)?),
            Self::D256(b, scale) => b.append_value(decimal256(value, *scale)?),
            Self::F32(b) => b.append_value(match value {
                Value::Float(f) => *f,
                other => return Err(unexpected("FLOAT", other)),
            }),
            Self::F64(b) => b.append_value(match value {
                Value::Double(f) => *f,
                Value::Float(f) => f64::from(*f),
                other => return Err(unexpected("DOUBLE", other)),
            }),
            Self::Text(b) => match value {
                Value::Bytes(bytes) => b.append_value(std::str::from_utf8(bytes).map_err(|e| {
                    ValueError(format!(
                        "text is not valid UTF-8 at byte {}",
                        e.valid_up_to()
                    ))
                })?),
                other => b.append_value(text_of(other)),
            },
            Self::Bin(b) => match value {
                Value::Bytes(bytes) => b.append_value(bytes),
                other => return Err(unexpected("binary", other)),
            },
            Self::Date(b) => match date_days(value)? {
                Some(days) => b.append_value(days),
                None => {
                    b.append_null();
                    return Ok(true);
                }
            },
            Self::Ts(b) => match timestamp_micros(value)? {
                Some(us) => b.append_value(us),
                None => {
                    b.append_null();
                    return Ok(true);
                }
            },
            Self::Time(b) => b.append_value(time_micros(value)?),
        }
        Ok(false)
    }

    fn push_null(&mut self) {
        match self {
            Self::I8(b) => b.append_null(),
            Self::I16(b) => b.append_null(),
            Self::I32(b) => b.append_null(),
            Self::I64(b) => b.append_null(),
            Self::U8(b) => b.append_null(),
            Self::U16(b) => b.append_null(),
            Self::U32(b) => b.append_null(),
            Self::U64(b) => b.append_null(),
            Self::Bool(b) => b.append_null(),
            Self::D128(b, _) => b.append_null(),
            Self::D256(b, _) => b.append_null(),
            Self::F32(b) => b.append_null(),
            Self::F64(b) => b.append_null(),
            Self::Text(b) => b.append_null(),
            Self::Bin(b) => b.append_null(),
            Self::Date(b) => b.append_null(),
            Self::Ts(b) => b.append_null(),
            Self::Time(b) => b.append_null(),
        }
    }

    /// The array built so far; the builder is left empty for the next batch.
    pub fn finish(&mut self) -> ArrayRef {
        match self {
            Self::I8(b) => Arc::new(b.finish()),
            Self::I16(b) => Arc::new(b.finish()),
            Self::I32(b) => Arc::new(b.finish()),
            Self::I64(b) => Arc::new(b.finish()),
            Self::U8(b) => Arc::new(b.finish()),
            Self::U16(b) => Arc::new(b.finish()),
            Self::U32(b) => Arc::new(b.finish()),
            Self::U64(b) => Arc::new(b.finish()),
            Self::Bool(b) => Arc::new(b.finish()),
            Self::D128(b, _) => Arc::new(b.finish()),
            Self::D256(b, _) => Arc::new(b.finish()),
            Self::F32(b) => Arc::new(b.finish()),
            Self::F64(b) => Arc::new(b.finish()),
            Self::Text(b) => Arc::new(b.finish()),
            Self::Bin(b) => Arc::new(b.finish()),
            Self::Date(b) => Arc::new(b.finish()),
            Self::Ts(b) => Arc::new(b.finish()),
            Self::Time(b) => Arc::new(b.finish()),
        }
    }
}

fn unexpected(what: &str, value: &Value) -> ValueError {
    ValueError(format!(
        "expected a {what} value, the server sent {value:?}"
    ))
}

fn text_of(value: &Value) -> String {
    match value {
        Value::NULL => String::new(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(f) => f.to_string(),
        Value::Date(..) | Value::Time(..) => value.as_sql(true).trim_matches('\'').to_owned(),
    }
}

fn int_in<T: TryFrom<i64> + TryFrom<u64>>(value: &Value) -> Result<T, ValueError> {
    let fits = match value {
        Value::Int(i) => T::try_from(*i).ok(),
        Value::UInt(u) => T::try_from(*u).ok(),
        Value::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .and_then(|i| T::try_from(i).ok()),
        _ => None,
    };
    fits.ok_or_else(|| ValueError(format!("integer {value:?} does not fit the column")))
}

fn uint_in<T: TryFrom<u64>>(value: &Value) -> Result<T, ValueError> {
    let fits = match value {
        Value::UInt(u) => T::try_from(*u).ok(),
        Value::Int(i) => u64::try_from(*i).ok().and_then(|u| T::try_from(u).ok()),
        // BIT(n) comes as big-endian bytes.
        Value::Bytes(b) if b.len() <= 8 => {
            T::try_from(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x))).ok()
        }
        _ => None,
    };
    fits.ok_or_else(|| ValueError(format!("integer {value:?} does not fit the column")))
}

fn decimal_text(value: &Value) -> Result<&str, ValueError> {
    match value {
        Value::Bytes(b) => {
            std::str::from_utf8(b).map_err(|_| ValueError("decimal is not ASCII text".into()))
        }
        other => Err(unexpected("DECIMAL", other)),
    }
}

fn decimal128(value: &Value, scale: i8) -> Result<i128, ValueError> {
    let text = decimal_text(value)?;
    let d = parse_decimal(text, b'.')
        .ok_or_else(|| ValueError(format!("decimal {text:?} is not exact within 38 digits")))?;
    rescale(d.mantissa, d.scale, scale.max(0) as u8)
        .ok_or_else(|| ValueError(format!("decimal {text:?} does not fit scale {scale}")))
}

fn decimal256(value: &Value, scale: i8) -> Result<i256, ValueError> {
    let text = decimal_text(value)?;
    let bad = || ValueError(format!("decimal {text:?} does not fit DECIMAL(65,{scale})"));
    let (int_part, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > scale.max(0) as usize || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let padded = format!(
        "{int_part}{frac}{}",
        "0".repeat(scale.max(0) as usize - frac.len())
    );
    i256::from_string(&padded).ok_or_else(bad)
}

/// Days since 1970-01-01 of a DATE/DATETIME value; `None` for a zero date.
fn date_days(value: &Value) -> Result<Option<i32>, ValueError> {
    match value {
        Value::Date(y, m, d, ..) => {
            if *m == 0 || *d == 0 {
                return Ok(None);
            }
            let date = chrono::NaiveDate::from_ymd_opt(i32::from(*y), u32::from(*m), u32::from(*d))
                .ok_or_else(|| ValueError(format!("invalid date {y:04}-{m:02}-{d:02}")))?;
            Ok(Some(
                chrono::Datelike::num_days_from_ce(&date) - UNIX_EPOCH_DAYS_FROM_CE,
            ))
        }
        other => Err(unexpected("DATE", other)),
    }
}

fn timestamp_micros(value: &Value) -> Result<Option<i64>, ValueError> {
    let Some(days) = date_days(value)? else {
        return Ok(None);
    };
    match value {
        Value::Date(_, _, _, h, mi, s, us) => Ok(Some(
            i64::from(days) * 86_400_000_000
                + (i64::from(*h) * 3600 + i64::from(*mi) * 60 + i64::from(*s)) * 1_000_000
                + i64::from(*us),
        )),
        other => Err(unexpected("DATETIME", other)),
    }
}

fn time_micros(value: &Value) -> Result<i64, ValueError> {
    match value {
        Value::Time(neg, days, h, mi, s, us) => {
            if *neg || *days > 0 {
                let sign = if *neg { "-" } else { "" };
                return Err(ValueError(format!(
                    "TIME {sign}{}:{mi:02}:{s:02} is outside a time of day; Arrow's Time64 cannot hold it",
                    u64::from(*days) * 24 + u64::from(*h)
                )));
            }
            Ok(
                (i64::from(*h) * 3600 + i64::from(*mi) * 60 + i64::from(*s)) * 1_000_000
                    + i64::from(*us),
            )
        }
        other => Err(unexpected("TIME", other)),
    }
}

/// A key value as JSON for checkpoints: numbers stay numbers, text stays text,
/// bytes that are not UTF-8 become `{"hex": "…"}`, dates their SQL text.
pub fn value_to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::NULL => serde_json::Value::Null,
        Value::Int(i) => serde_json::Value::from(*i),
        Value::UInt(u) => serde_json::Value::from(*u),
        Value::Float(f) => serde_json::Value::from(f64::from(*f)),
        Value::Double(f) => serde_json::Value::from(*f),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => serde_json::Value::from(s),
            Err(_) => serde_json::json!({ "hex": to_hex(b) }),
        },
        Value::Date(..) | Value::Time(..) => {
            serde_json::Value::from(value.as_sql(true).trim_matches('\'').to_owned())
        }
    }
}

/// The inverse of [`value_to_json`], for query parameters.
pub fn json_to_value(json: &serde_json::Value) -> Option<Value> {
    Some(match json {
        serde_json::Value::Null => Value::NULL,
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::UInt(u)
            } else {
                Value::Double(n.as_f64()?)
            }
        }
        serde_json::Value::String(s) => Value::Bytes(s.as_bytes().to_vec()),
        serde_json::Value::Object(o) => Value::Bytes(from_hex(o.get("hex")?.as_str()?)?),
        _ => return None,
    })
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Decimal128Type, Decimal256Type, TimestampMicrosecondType};

    fn col(data_type: &str, column_type: &str, p: Option<u64>, s: Option<u64>) -> ColumnInfo {
        ColumnInfo {
            name: "c".into(),
            data_type: data_type.into(),
            column_type: column_type.into(),
            precision: p,
            scale: s,
            nullable: true,
        }
    }

    #[test]
    fn the_type_table_maps_every_family() {
        let cases = [
            (col("tinyint", "tinyint(1)", None, None), DataType::Int8),
            (col("int", "int(10) unsigned", None, None), DataType::UInt32),
            (
                col("mediumint", "mediumint(9)", None, None),
                DataType::Int32,
            ),
            (col("bigint", "bigint(20)", None, None), DataType::Int64),
            (col("year", "year(4)", None, None), DataType::Int16),
            (col("bit", "bit(1)", Some(1), None), DataType::Boolean),
            (col("bit", "bit(12)", Some(12), None), DataType::UInt64),
            (
                col("decimal", "decimal(12,2)", Some(12), Some(2)),
                DataType::Decimal128(12, 2),
            ),
            (
                col("decimal", "decimal(38,0)", Some(38), Some(0)),
                DataType::Decimal128(38, 0),
            ),
            (
                col("decimal", "decimal(65,10)", Some(65), Some(10)),
                DataType::Decimal256(65, 10),
            ),
            (col("float", "float", None, None), DataType::Float32),
            (col("double", "double", None, None), DataType::Float64),
            (col("varchar", "varchar(20)", None, None), DataType::Utf8),
            (col("longtext", "longtext", None, None), DataType::Utf8),
            (col("enum", "enum('a','b')", None, None), DataType::Utf8),
            (col("json", "json", None, None), DataType::Utf8),
            (col("blob", "blob", None, None), DataType::Binary),
            (
                col("varbinary", "varbinary(4)", None, None),
                DataType::Binary,
            ),
            (col("date", "date", None, None), DataType::Date32),
            (
                col("datetime", "datetime(6)", None, None),
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ),
            (
                col("timestamp", "timestamp", None, None),
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ),
            (
                col("time", "time(3)", None, None),
                DataType::Time64(TimeUnit::Microsecond),
            ),
            (col("geometry", "geometry", None, None), DataType::Utf8),
            (col("uuid", "uuid", None, None), DataType::Utf8),
        ];
        for (c, want) in cases {
            assert_eq!(Kind::of(&c).data_type(), want, "{c:?}");
        }
        assert_eq!(
            select_expr(&col("geometry", "geometry", None, None), Kind::Other),
            "ST_AsText(`c`)"
        );
        assert_eq!(quote_ident("a`b"), "`a``b`");
    }

    #[test]
    fn decimals_are_exact_and_never_rounded() {
        let mut b = ColumnBuilder::new(Kind::Decimal128(38, 2), 4);
        let big = format!("{}.99", "9".repeat(36));
        b.push(&Value::Bytes(big.clone().into_bytes())).unwrap();
        b.push(&Value::Bytes(b"-0.00".to_vec())).unwrap();
        b.push(&Value::NULL).unwrap();
        assert!(b.push(&Value::Bytes(b"1.234".to_vec())).is_err());
        let arr = b.finish();
        let arr = arr.as_primitive::<Decimal128Type>();
        assert_eq!(arr.value_as_string(0), big);
        assert_eq!(arr.value(1), 0);
        assert!(arr.is_null(2));

        let mut b = ColumnBuilder::new(Kind::Decimal256(65, 10), 1);
        let wide = format!("-{}.{}", "1".repeat(55), "2".repeat(10));
        b.push(&Value::Bytes(wide.clone().into_bytes())).unwrap();
        assert!(b.push(&Value::Bytes(b"1.00000000001".to_vec())).is_err());
        let arr = b.finish();
        assert_eq!(
            arr.as_primitive::<Decimal256Type>().value_as_string(0),
            wide
        );
    }

    #[test]
    fn zero_dates_become_null_and_are_reported() {
        let mut b = ColumnBuilder::new(Kind::DateTime, 3);
        assert!(b.push(&Value::Date(0, 0, 0, 0, 0, 0, 0)).unwrap());
        assert!(!b.push(&Value::Date(1970, 1, 1, 0, 0, 1, 5)).unwrap());
        assert!(
            !b.push(&Value::Date(9999, 12, 31, 23, 59, 59, 999_999))
                .unwrap()
        );
        let arr = b.finish();
        let arr = arr.as_primitive::<TimestampMicrosecondType>();
        assert!(arr.is_null(0));
        assert_eq!(arr.value(1), 1_000_005);
        assert_eq!(arr.value(2), 253_402_300_799_999_999);
        let mut d = ColumnBuilder::new(Kind::Date, 1);
        assert!(d.push(&Value::Date(2024, 0, 15, 0, 0, 0, 0)).unwrap());
        assert!(!d.push(&Value::Date(1000, 1, 1, 0, 0, 0, 0)).unwrap());
    }

    #[test]
    fn out_of_range_values_are_errors() {
        let mut t = ColumnBuilder::new(Kind::Time, 1);
        assert!(t.push(&Value::Time(false, 0, 23, 59, 59, 1)).is_ok());
        let err = t.push(&Value::Time(true, 0, 1, 0, 0, 0)).unwrap_err();
        assert!(err.0.contains("-1:00:00"), "{err:?}");
        let mut i = ColumnBuilder::new(Kind::Int(8), 1);
        assert!(i.push(&Value::Int(300)).is_err());
        let mut u = ColumnBuilder::new(Kind::UInt(64), 1);
        u.push(&Value::UInt(u64::MAX)).unwrap();
        let mut bits = ColumnBuilder::new(Kind::Bits, 1);
        bits.push(&Value::Bytes(vec![0x01, 0x02])).unwrap();
        assert_eq!(
            bits.finish()
                .as_primitive::<arrow::datatypes::UInt64Type>()
                .value(0),
            258
        );
        let mut s = ColumnBuilder::new(Kind::Text, 1);
        assert!(s.push(&Value::Bytes(vec![0xff])).is_err());
    }

    #[test]
    fn key_values_round_trip_through_json() {
        for v in [
            Value::Int(-5),
            Value::UInt(u64::MAX),
            Value::Bytes(b"caf\xc3\xa9".to_vec()),
            Value::Bytes(vec![0, 0xff]),
        ] {
            assert_eq!(json_to_value(&value_to_json(&v)), Some(v));
        }
        assert_eq!(
            value_to_json(&Value::Date(2025, 3, 1, 10, 0, 0, 5)),
            serde_json::json!("2025-03-01 10:00:00.000005")
        );
    }
}
