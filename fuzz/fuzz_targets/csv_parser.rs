//! The CSV tokenizer must never panic, whatever the bytes and the delimiter.
#![no_main]
use ferry_files::csv::parser::{CsvParser, Record};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&delim, body)) = data.split_first() else { return };
    let mut p = CsvParser::new(body, delim);
    let mut rec = Record::default();
    while let Ok(true) = p.next_record(&mut rec) {
        for i in 0..rec.len() {
            let _ = rec.get(i);
        }
    }
});
