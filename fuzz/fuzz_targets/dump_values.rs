//! Fuzzes the value parsers: INSERT tuples, COPY escapes, arrays, bytea, timestamps.
#![no_main]

use ferry_dumps::sql::{self, Dialect};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sql::insert_tuples(data, 0, Dialect::MySql, false, |_, _| Ok(()));
    let _ = sql::insert_tuples(data, 0, Dialect::Postgres, true, |_, _| Ok(()));
    let _ = sql::insert_head(data, Dialect::MySql);
    let mut out = Vec::new();
    sql::copy_unescape(data, &mut out);
    let _ = ferry_dumps::columns::parse_pg_array(data);
    let _ = ferry_dumps::columns::decode_bytea(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = ferry_dumps::columns::timestamp_micros(s);
    }
});
