//! Fuzzes the pg_dump archive reader (custom format: header, table of contents, data
//! blocks, zlib): any bytes after the `PGDMP` magic, no panic.
#![no_main]

use ferry_dumps::archive::{Archive, read_table, scan_archive};
use ferry_dumps::input::Container;
use ferry_dumps::read::BatchLimits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ferry_dumps::archive::parse_toc(data);
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("fuzz.dump");
    let mut bytes = b"PGDMP".to_vec();
    bytes.extend_from_slice(data);
    if std::fs::write(&path, &bytes).is_err() {
        return;
    }
    let Ok(archive) = Archive::open(&path, Container::PgCustom) else {
        return;
    };
    let Ok((scan, sources)) = scan_archive(&archive, &|_| false) else {
        return;
    };
    for i in 0..scan.tables.len() {
        let limits = BatchLimits {
            rows: 7,
            bytes: 1 << 20,
        };
        let _ = read_table(&archive, &scan, &sources, i, limits, &mut |_| Ok(()));
    }
});
