//! Exact parsing of the text values that exports, dumps and APIs carry: decimals
//! (never through a float), ISO dates and timestamps (normalised to UTC).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// Largest precision of Arrow's Decimal128.
pub const MAX_DECIMAL_PRECISION: u8 = 38;

/// A decimal read from text: `mantissa × 10^-scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedDecimal {
    /// The digits as an integer, with the sign.
    pub mantissa: i128,
    /// Digits after the separator.
    pub scale: u8,
    /// Digits before the separator (leading zeros not counted, at least 1).
    pub int_digits: u8,
}

/// Parses `[-+]digits[<sep>digits]` exactly. Returns `None` for anything else,
/// including exponents, thousands separators and more than 38 significant digits.
pub fn parse_decimal(s: &str, sep: u8) -> Option<ParsedDecimal> {
    let b = s.as_bytes();
    let (neg, rest) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let mut mantissa: i128 = 0;
    let mut int_digits: u32 = 0;
    let mut scale: u32 = 0;
    let mut seen_sep = false;
    let mut any_digit = false;
    let mut significant: u32 = 0;
    for &c in rest {
        match c {
            b'0'..=b'9' => {
                any_digit = true;
                if mantissa != 0 || c != b'0' {
                    significant += 1;
                }
                if significant > MAX_DECIMAL_PRECISION as u32 {
                    return None;
                }
                mantissa = mantissa * 10 + i128::from(c - b'0');
                if seen_sep {
                    scale += 1;
                } else if mantissa != 0 {
                    int_digits += 1;
                }
            }
            c if c == sep && !seen_sep => seen_sep = true,
            _ => return None,
        }
    }
    if !any_digit || scale > MAX_DECIMAL_PRECISION as u32 {
        return None;
    }
    Some(ParsedDecimal {
        mantissa: if neg { -mantissa } else { mantissa },
        scale: scale as u8,
        int_digits: int_digits.max(1) as u8,
    })
}

/// Changes the scale of a mantissa. Returns `None` when the result would lose a
/// non-zero digit or overflow: ferry never rounds silently.
pub fn rescale(mantissa: i128, from: u8, to: u8) -> Option<i128> {
    if to >= from {
        10i128
            .checked_pow(u32::from(to - from))
            .and_then(|f| mantissa.checked_mul(f))
    } else {
        let f = 10i128.checked_pow(u32::from(from - to))?;
        (mantissa % f == 0).then_some(mantissa / f)
    }
}

/// Number of decimal digits of `|v|` (0 has 1 digit).
pub fn digits(v: i128) -> u8 {
    let mut v = v.unsigned_abs();
    let mut n = 1;
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

/// Formats a mantissa with its scale, e.g. `(1234, 2)` → `12.34`.
pub fn format_decimal(mantissa: i128, scale: u8) -> String {
    let neg = mantissa < 0;
    let digits = mantissa.unsigned_abs().to_string();
    let scale = scale as usize;
    let body = if scale == 0 {
        digits
    } else if digits.len() > scale {
        format!(
            "{}.{}",
            &digits[..digits.len() - scale],
            &digits[digits.len() - scale..]
        )
    } else {
        format!("0.{}{}", "0".repeat(scale - digits.len()), digits)
    };
    if neg { format!("-{body}") } else { body }
}

const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Parses an ISO date `YYYY-MM-DD` into days since 1970-01-01.
pub fn parse_date(s: &str) -> Option<i32> {
    parse_date_bytes(s.as_bytes())
}

fn parse_date_bytes(b: &[u8]) -> Option<i32> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = num(&b[0..4])? as i32;
    let m = num(&b[5..7])?;
    let d = num(&b[8..10])?;
    let date = NaiveDate::from_ymd_opt(y, m, d)?;
    Some(chrono::Datelike::num_days_from_ce(&date) - UNIX_EPOCH_DAYS_FROM_CE)
}

/// A timestamp read from text, in microseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedTimestamp {
    /// Microseconds since 1970-01-01T00:00:00Z.
    pub micros: i64,
    /// Whether the text carried a zone (`Z` or `±HH:MM`). Without one the text was
    /// taken as UTC.
    pub had_zone: bool,
}

/// Parses `YYYY-MM-DD[T ]HH:MM[:SS[.fraction]][Z|±HH[:MM]]`. Text without a zone is
/// taken as UTC; a zone is applied, so the result is always UTC.
pub fn parse_timestamp(s: &str) -> Option<ParsedTimestamp> {
    let b = s.as_bytes();
    if b.len() < 16 || (b[10] != b'T' && b[10] != b' ') {
        return None;
    }
    let days = parse_date_bytes(&b[..10])?;
    let hh = num(&b[11..13])?;
    if b[13] != b':' {
        return None;
    }
    let mi = num(&b[14..16])?;
    let mut i = 16;
    let mut ss = 0;
    let mut micros: u32 = 0;
    if i < b.len() && b[i] == b':' {
        ss = num(b.get(i + 1..i + 3)?)?;
        i += 3;
        if i < b.len() && (b[i] == b'.' || b[i] == b',') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 6 {
                    micros = micros * 10 + u32::from(b[i] - b'0');
                } else if b[i] != b'0' {
                    // Sub-microsecond digits cannot be kept exactly.
                    return None;
                }
                i += 1;
            }
            if i == start {
                return None;
            }
            for _ in (i - start)..6 {
                micros *= 10;
            }
        }
    }
    let time = NaiveTime::from_hms_micro_opt(hh, mi, ss, micros)?;
    let (offset_secs, had_zone) = match &b[i..] {
        [] => (0i64, false),
        [b'Z'] | [b'z'] => (0, true),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [h1, h2] => (num(&[*h1, *h2])?, 0),
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => (num(&[*h1, *h2])?, num(&[*m1, *m2])?),
                _ => return None,
            };
            let secs = i64::from(h * 3600 + m * 60);
            (if *sign == b'+' { secs } else { -secs }, true)
        }
        _ => return None,
    };
    let date = NaiveDate::from_num_days_from_ce_opt(days + UNIX_EPOCH_DAYS_FROM_CE)?;
    let local = NaiveDateTime::new(date, time).and_utc().timestamp_micros();
    Some(ParsedTimestamp {
        micros: local - offset_secs * 1_000_000,
        had_zone,
    })
}

fn num(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimals_parse_exactly() {
        let d = parse_decimal("-0012.50", b'.').unwrap();
        assert_eq!((d.mantissa, d.scale, d.int_digits), (-1250, 2, 2));
        assert_eq!(parse_decimal("0,10", b',').unwrap().mantissa, 10);
        assert!(parse_decimal("1e5", b'.').is_none());
        assert!(parse_decimal("1.2.3", b'.').is_none());
        assert!(parse_decimal("-", b'.').is_none());
        assert!(parse_decimal("", b'.').is_none());
        let big = "9".repeat(38);
        assert_eq!(parse_decimal(&big, b'.').unwrap().int_digits, 38);
        assert!(parse_decimal(&"9".repeat(39), b'.').is_none());
    }

    #[test]
    fn rescale_never_drops_digits() {
        assert_eq!(rescale(125, 1, 3), Some(12500));
        assert_eq!(rescale(12500, 3, 1), Some(125));
        assert_eq!(rescale(12501, 3, 1), None);
    }

    #[test]
    fn timestamps_land_in_utc() {
        let t = parse_timestamp("2025-03-30T02:30:00+02:00").unwrap();
        assert_eq!(
            t.micros,
            parse_timestamp("2025-03-30 00:30:00").unwrap().micros
        );
        assert!(t.had_zone);
        assert_eq!(
            parse_timestamp("1970-01-01T00:00:00.000001Z")
                .unwrap()
                .micros,
            1
        );
        assert!(parse_timestamp("2025-13-01 00:00").is_none());
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("1969-12-31"), Some(-1));
    }

    proptest! {
        #[test]
        fn decimal_text_round_trips(m in -10i128.pow(30)..10i128.pow(30), scale in 0u8..8) {
            let text = format_decimal(m, scale);
            let d = parse_decimal(&text, b'.').unwrap();
            prop_assert_eq!(rescale(d.mantissa, d.scale, scale), Some(m));
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = parse_decimal(&s, b'.');
            let _ = parse_timestamp(&s);
            let _ = parse_date(&s);
        }
    }
}
