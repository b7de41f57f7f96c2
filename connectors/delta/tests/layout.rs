//! File layout of the Delta sink: a new table written from batches of two key ranges
//! arriving interleaved (as a source reading ranges in parallel sends them) has files
//! with disjoint key ranges, and a copy-on-write merge of recent keys (too many for
//! deletion vectors) rewrites only their files.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use ferry_core::StreamSpec;
use ferry_delta::DeltaSink;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

mod common;

const ROWS: i64 = 240_000;
const BATCH: i64 = 6_000;

fn spec() -> StreamSpec {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("note", DataType::Utf8, true),
    ]));
    let mut s = StreamSpec::new("lines", schema);
    s.primary_key = vec!["id".into()];
    s
}

fn batch(ids: std::ops::Range<i64>, tag: &str) -> RecordBatch {
    // Notes that compress poorly, so that a few MiB of files hold the rows.
    let notes: Vec<String> = ids
        .clone()
        .map(|i| {
            format!(
                "{tag} {:016x}",
                (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            )
        })
        .collect();
    RecordBatch::try_new(
        spec().schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(ids)),
            Arc::new(StringArray::from(notes)),
        ],
    )
    .unwrap()
}

async fn run(sink: &DeltaSink, run_id: &str, batches: Vec<RecordBatch>) {
    common::run(sink, &spec(), run_id, batches).await;
}

/// The table's data files and each one's (min id, max id, rows).
async fn files(sink: &DeltaSink) -> BTreeMap<String, (i64, i64, usize)> {
    let table = sink.store().open("lines", None, None).await.unwrap();
    let mut out = BTreeMap::new();
    for uri in table.get_file_uris().unwrap() {
        let path = uri.strip_prefix("file://").unwrap_or(&uri).to_string();
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
            .unwrap()
            .build()
            .unwrap();
        let (mut lo, mut hi, mut rows) = (i64::MAX, i64::MIN, 0);
        for b in reader {
            let b = b.unwrap();
            let ids = b
                .column_by_name("id")
                .unwrap()
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            rows += ids.len();
            lo = lo.min(arrow::compute::min(ids).unwrap());
            hi = hi.max(arrow::compute::max(ids).unwrap());
        }
        out.insert(path, (lo, hi, rows));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_ranges_make_key_ordered_files_and_a_large_recent_change_rewrites_only_its_files()
 {
    let dir = tempfile::tempdir().unwrap();
    let sink = common::local_sink(&dir.path().join("b"), Some(1));

    // Two key ranges, their batches interleaved.
    let half = ROWS / 2;
    let mut first = Vec::new();
    for start in (0..half).step_by(BATCH as usize) {
        first.push(batch(start..start + BATCH, "a"));
        first.push(batch(half + start..half + start + BATCH, "a"));
    }
    run(&sink, "r1", first).await;

    let before = files(&sink).await;
    assert!(before.len() >= 3, "expected several files: {before:?}");
    assert_eq!(before.values().map(|f| f.2).sum::<usize>(), ROWS as usize);
    let mut ranges: Vec<(i64, i64)> = before.values().map(|f| (f.0, f.1)).collect();
    ranges.sort();
    for pair in ranges.windows(2) {
        assert!(pair[0].1 < pair[1].0, "file key ranges overlap: {ranges:?}");
    }

    // The newest 15 % change, more than a deletion-vector merge takes: the files
    // whose key range holds those keys are rewritten, the others stay as they were.
    let changed = ROWS - ROWS * 15 / 100..ROWS;
    let touched: BTreeSet<&String> = before
        .iter()
        .filter(|(_, r)| r.1 >= changed.start && r.0 < changed.end)
        .map(|(f, _)| f)
        .collect();
    assert!(touched.len() < before.len(), "{before:?}");
    run(&sink, "r2", vec![batch(changed.clone(), "b")]).await;
    let after = files(&sink).await;
    let gone: BTreeSet<&String> = before.keys().filter(|f| !after.contains_key(*f)).collect();
    assert_eq!(gone, touched, "before {before:?}, after {after:?}");
    assert_eq!(after.values().map(|f| f.2).sum::<usize>(), ROWS as usize);
    let new: Vec<_> = after
        .iter()
        .filter(|(f, _)| !before.contains_key(*f))
        .collect();
    let lowest_touched = touched.iter().map(|f| before[*f].0).min().unwrap();
    assert!(
        new.iter().all(|(_, r)| r.0 >= lowest_touched),
        "the rewritten files hold only the touched keys: {new:?}"
    );
}
