//! Fuzzes the Postgres dump scanner and table reader: any bytes, no panic.
#![no_main]

use ferry_dumps::read::{BatchLimits, read_table};
use ferry_dumps::sql::Dialect;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(scan) = ferry_dumps::scan::scan(data, Dialect::Postgres, "fuzz.sql", &|_| false) else {
        return;
    };
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("fuzz.sql");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    for t in &scan.tables {
        let _ = read_table(
            &path,
            "fuzz.sql",
            t,
            Dialect::Postgres,
            BatchLimits {
                rows: 7,
                bytes: 1 << 20,
            },
            &mut |_| Ok(()),
        );
    }
});
