//! Discovery and reading of a CSV file (sniffing, decoding, typing, building Arrow
//! arrays) must return Ok or a located error for any file content, never panic.
#![no_main]
use ferry_files::csv::{CsvOptions, discover, read};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("f.csv");
    std::fs::write(&path, data).expect("write");
    if let Ok(table) = discover(&path, "f.csv", &CsvOptions::default()) {
        let _ = read(&table, |_| Ok(()));
    }
});
