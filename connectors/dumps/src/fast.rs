//! Byte-level fast paths for the values a dump holds most: integers, decimals,
//! dates and timestamps as PostgreSQL prints them.
//!
//! Each function accepts only the plain form it knows and returns `None` for
//! anything else, in which case the caller takes the general (slower) path, which
//! parses the remaining forms or explains the error. A fast path never gives a
//! value the general path would not: the tests compare both on many inputs.

/// `10^k` for `k` in `0..=38`.
const POW10: [i128; 39] = {
    let mut t = [1i128; 39];
    let mut k = 1;
    while k < 39 {
        t[k] = t[k - 1] * 10;
        k += 1;
    }
    t
};

/// `[+-]digits` as an `i64`; `None` for anything else or on overflow.
#[inline]
pub fn int(v: &[u8]) -> Option<i64> {
    let (neg, digits) = match v.first()? {
        b'-' => (true, &v[1..]),
        b'+' => (false, &v[1..]),
        _ => (false, v),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    if neg {
        if n > 1 << 63 {
            return None;
        }
        Some((n as i64).wrapping_neg())
    } else {
        i64::try_from(n).ok()
    }
}

/// `[-]digits[.digits]` (at most 18 digits in all) as the mantissa of a decimal of
/// precision `p` and scale `s`; `None` when the text has another form, more digits
/// after the point than `s` that are not all zeros, or more than `p` digits.
#[inline]
pub fn decimal(v: &[u8], p: u8, s: u8) -> Option<i128> {
    let (neg, rest) = match v.first()? {
        b'-' => (true, &v[1..]),
        _ => (false, v),
    };
    if rest.is_empty() || rest.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    let mut frac: Option<usize> = None;
    let mut int_len = rest.len();
    for (k, &c) in rest.iter().enumerate() {
        let d = c.wrapping_sub(b'0');
        if d <= 9 {
            n = n * 10 + u64::from(d);
        } else if c == b'.' && frac.is_none() && k > 0 && k + 1 < rest.len() {
            frac = Some(rest.len() - k - 1);
            int_len = k;
        } else {
            return None;
        }
    }
    if int_len + frac.unwrap_or(0) > 18 {
        return None;
    }
    let frac = frac.unwrap_or(0) as u8;
    let m = if frac <= s {
        let up = usize::from(s - frac);
        if int_len + usize::from(frac) + up > 38 {
            return None;
        }
        i128::from(n) * POW10[up]
    } else {
        let f = POW10[usize::from(frac - s)] as u64;
        if !n.is_multiple_of(f) {
            return None;
        }
        i128::from(n / f)
    };
    if usize::from(p) < POW10.len() && m >= POW10[usize::from(p)] {
        return None;
    }
    Some(if neg { -m } else { m })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (any year).
#[inline]
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[inline]
fn two(b: &[u8], at: usize) -> Option<u32> {
    let h = b[at].wrapping_sub(b'0');
    let l = b[at + 1].wrapping_sub(b'0');
    (h <= 9 && l <= 9).then(|| u32::from(h) * 10 + u32::from(l))
}

/// `YYYY-MM-DD` at the start of `b` (which has at least 10 bytes) as days since
/// 1970-01-01; `None` unless it is a real date.
#[inline]
fn ymd(b: &[u8]) -> Option<i64> {
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = two(b, 0)? * 100 + two(b, 2)?;
    let (m, d) = (two(b, 5)?, two(b, 8)?);
    if !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let last = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if d > last {
        return None;
    }
    Some(days_from_civil(i64::from(y), m, d))
}

/// `YYYY-MM-DD` as days since 1970-01-01.
#[inline]
pub fn date(v: &[u8]) -> Option<i32> {
    if v.len() != 10 {
        return None;
    }
    i32::try_from(ymd(v)?).ok()
}

/// `YYYY-MM-DD HH:MM:SS[.f{1,6}][±HH[:MM[:SS]]]` as microseconds since the epoch,
/// UTC (the offset, when there is one, is applied).
#[inline]
pub fn timestamp(v: &[u8]) -> Option<i64> {
    if v.len() < 19 || (v[10] != b' ' && v[10] != b'T') || v[13] != b':' || v[16] != b':' {
        return None;
    }
    let days = ymd(v)?;
    let (h, mi, s) = (two(v, 11)?, two(v, 14)?, two(v, 17)?);
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let mut i = 19;
    let mut micros: i64 = 0;
    if v.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < v.len() && v[i].is_ascii_digit() {
            micros = micros * 10 + i64::from(v[i] - b'0');
            i += 1;
        }
        let n = i - start;
        if n == 0 || n > 6 {
            return None;
        }
        micros *= [100_000, 10_000, 1_000, 100, 10, 1][n - 1];
    }
    let offset: i64 = match &v[i..] {
        [] => 0,
        [sign @ (b'+' | b'-'), zone @ ..] => {
            let secs = match zone.len() {
                2 => i64::from(two(zone, 0)?) * 3600,
                5 if zone[2] == b':' => {
                    i64::from(two(zone, 0)?) * 3600 + i64::from(two(zone, 3)?) * 60
                }
                8 if zone[2] == b':' && zone[5] == b':' => {
                    i64::from(two(zone, 0)?) * 3600
                        + i64::from(two(zone, 3)?) * 60
                        + i64::from(two(zone, 6)?)
                }
                _ => return None,
            };
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + s) - offset;
    Some(secs * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::timestamp_micros;
    use ferry_core::values::{digits, parse_date, parse_decimal, rescale};

    /// The general path for a decimal, as `Builder::append` takes it.
    fn slow_decimal(t: &str, p: u8, s: u8) -> Option<i128> {
        let d = parse_decimal(t, b'.')?;
        let m = rescale(d.mantissa, d.scale, s)?;
        (digits(m) <= p).then_some(m)
    }

    /// A small deterministic generator (xorshift) for the comparisons below.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn digits(&mut self, n: usize) -> String {
            (0..n)
                .map(|_| char::from(b'0' + self.below(10) as u8))
                .collect()
        }
    }

    #[test]
    fn integers_match_the_standard_parser() {
        for t in [
            "0",
            "-0",
            "+7",
            "42",
            "-42",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
            "",
            "-",
            "+",
            "1a",
            " 1",
            "1.0",
            "0001",
        ] {
            assert_eq!(int(t.as_bytes()), t.parse::<i64>().ok(), "{t:?}");
        }
        let mut r = Rng(7);
        for _ in 0..20_000 {
            let n = r.next() as i64 >> r.below(64);
            let t = n.to_string();
            assert_eq!(int(t.as_bytes()), Some(n), "{t:?}");
        }
    }

    #[test]
    fn decimals_match_the_general_path() {
        let fixed = [
            "0",
            "-0",
            "1.5",
            "12.50",
            "-12.345",
            "0.001",
            ".5",
            "5.",
            "+5",
            "-",
            "",
            "1.2.3",
            "1e5",
            "1.230",
            "1.2300",
            "99999999999999.99",
            "-99999999999999.99",
            "1000000000000000.00",
            "123456789012345678",
            "1234567890123456789",
            "0.000000000000000001",
            "00012.50",
            "NaN",
        ];
        for t in fixed {
            for (p, s) in [
                (16, 2),
                (16, 4),
                (5, 2),
                (38, 0),
                (38, 10),
                (38, 37),
                (12, 3),
            ] {
                if let Some(m) = decimal(t.as_bytes(), p, s) {
                    assert_eq!(Some(m), slow_decimal(t, p, s), "{t:?} ({p},{s})");
                }
            }
        }
        let mut r = Rng(11);
        for _ in 0..50_000 {
            let i = r.below(12) as usize;
            let f = r.below(8) as usize;
            let mut t = String::new();
            if r.below(3) == 0 {
                t.push('-');
            }
            t.push_str(&r.digits(i.max(1)));
            if f > 0 {
                t.push('.');
                t.push_str(&r.digits(f));
            }
            let (p, s) = ((r.below(38) + 1) as u8, r.below(8) as u8);
            let s = s.min(p);
            let fast = decimal(t.as_bytes(), p, s);
            let slow = slow_decimal(&t, p, s);
            match fast {
                Some(m) => assert_eq!(Some(m), slow, "{t:?} ({p},{s})"),
                // Declining is allowed only where the general path declines too,
                // for the forms this generator makes.
                None => assert_eq!(slow, None, "{t:?} ({p},{s})"),
            }
        }
    }

    #[test]
    fn dates_and_timestamps_match_the_general_path() {
        let mut r = Rng(3);
        for _ in 0..50_000 {
            let y = r.below(10_000);
            let (m, d) = (r.below(14), r.below(33));
            let date_text = format!("{y:04}-{m:02}-{d:02}");
            let fast = date(date_text.as_bytes());
            assert_eq!(fast, parse_date(&date_text), "{date_text:?}");
            let (h, mi, s) = (r.below(25), r.below(61), r.below(61));
            let mut t = format!("{date_text} {h:02}:{mi:02}:{s:02}");
            let frac = r.below(8) as usize;
            if frac > 0 {
                t.push('.');
                t.push_str(&r.digits(frac));
            }
            match r.below(5) {
                0 => {}
                1 => t.push_str(&format!("+{:02}", r.below(15))),
                2 => t.push_str(&format!("-{:02}:{:02}", r.below(15), r.below(60))),
                3 => t.push_str(&format!(
                    "+{:02}:{:02}:{:02}",
                    r.below(15),
                    r.below(60),
                    r.below(60)
                )),
                _ => t.push_str("+0"),
            }
            let fast = timestamp(t.as_bytes());
            let slow = timestamp_micros(&t).ok();
            match fast {
                Some(v) => assert_eq!(Some(v), slow, "{t:?}"),
                None => {
                    // The fast path leaves 7+ fraction digits (maybe zeros) to the
                    // general path; everything else it declines is invalid.
                    if frac <= 6 {
                        assert_eq!(slow, None, "{t:?}");
                    }
                }
            }
        }
        assert_eq!(timestamp(b"1970-01-01 00:00:00+00"), Some(0), "the epoch");
        assert_eq!(
            timestamp(b"2000-02-29 12:00:00.5-01"),
            timestamp_micros("2000-02-29 12:00:00.5-01").ok()
        );
        assert_eq!(timestamp(b"1900-02-29 00:00:00"), None);
        assert_eq!(timestamp(b"infinity"), None);
        assert_eq!(timestamp(b"2024-01-01 00:00:00 BC"), None);
        assert_eq!(timestamp(b"12024-01-01 00:00:00"), None);
    }
}
