//! Exact value parsers (decimals, dates, timestamps) must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = ferry_core::values::parse_decimal(s, b'.');
        let _ = ferry_core::values::parse_decimal(s, b',');
        let _ = ferry_core::values::parse_date(s);
        let _ = ferry_core::values::parse_timestamp(s);
    }
});
