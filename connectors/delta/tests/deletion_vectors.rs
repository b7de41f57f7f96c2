//! Small incremental merges with deletion vectors: changed rows scattered over every
//! file leave the files in place (their old versions marked deleted, the new ones
//! appended), the table reads as the source, earlier versions read as they were, a
//! rerun of the same rows changes nothing, and a later copy-on-write merge (a key
//! scan) folds the vectors back without bringing a replaced row back.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::SessionContext;
use ferry_core::StreamSpec;
use ferry_core::sink::Changes;
use ferry_core::source::SourceEvent;
use ferry_delta::{DeltaSink, open_provider};

mod common;

const ROWS: i64 = 100_000;

fn spec(cursor: Option<&str>) -> StreamSpec {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("note", DataType::Utf8, true),
    ]));
    let mut s = StreamSpec::new("lines", schema);
    s.primary_key = vec!["id".into()];
    s.cursor_field = cursor.map(str::to_owned);
    s
}

fn batch(rows: &[(i64, Option<String>)]) -> RecordBatch {
    RecordBatch::try_new(
        spec(None).schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(StringArray::from_iter(rows.iter().map(|r| r.1.clone()))),
        ],
    )
    .unwrap()
}

fn note(i: i64) -> Option<String> {
    // Notes that compress poorly, so that the rows fill several 1 MiB files.
    (i % 11 != 0).then(|| format!("n {:016x}", (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)))
}

async fn run(
    sink: &DeltaSink,
    spec: &StreamSpec,
    run_id: &str,
    rows: &[(i64, Option<String>)],
) -> Changes {
    common::run(sink, spec, run_id, rows.chunks(5_000).map(batch)).await
}

/// Every row of the table at `version` (latest by default), as ferry reads it.
async fn state(sink: &DeltaSink, version: Option<i64>) -> BTreeMap<i64, Option<String>> {
    let provider = open_provider(sink.store(), "lines", version, None)
        .await
        .unwrap();
    let ctx = SessionContext::new();
    let batches = ctx.read_table(provider).unwrap().collect().await.unwrap();
    let mut out = BTreeMap::new();
    for b in batches {
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        // DataFusion may read strings as views.
        let notes = arrow::compute::cast(b.column(1), &DataType::Utf8).unwrap();
        let notes = notes.as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            let previous = out.insert(
                ids.value(i),
                notes.is_valid(i).then(|| notes.value(i).to_owned()),
            );
            assert!(previous.is_none(), "id {} is there twice", ids.value(i));
        }
    }
    out
}

/// The data files of the latest version, and how many carry a deletion vector.
async fn files(sink: &DeltaSink) -> (BTreeSet<String>, usize) {
    let table = sink.store().open("lines", None, None).await.unwrap();
    let log = table.snapshot().unwrap().log_data();
    let paths = log.iter().map(|f| f.path().into_owned()).collect();
    let with_dv = log
        .iter()
        .filter(|f| f.deletion_vector_descriptor().is_some())
        .count();
    (paths, with_dv)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scattered_changes_mark_rows_deleted_instead_of_rewriting_files() {
    scattered_changes(spec(None)).await;
}

/// The same with a cursor column: a row whose cursor value moved is an update
/// without comparing the rest; one whose value stayed is compared whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_cursor_moved_rows_are_updates_and_the_others_are_compared() {
    scattered_changes(spec(Some("note"))).await;
}

async fn scattered_changes(spec: StreamSpec) {
    let dir = tempfile::tempdir().unwrap();
    let sink = common::local_sink(&dir.path().join("b"), Some(1));
    let first: Vec<_> = (0..ROWS).map(|i| (i, note(i))).collect();
    run(&sink, &spec, "r1", &first).await;
    let (before, none) = files(&sink).await;
    assert!(before.len() >= 2, "expected several files: {before:?}");
    assert_eq!(none, 0);
    let mut expected: BTreeMap<i64, Option<String>> = first.into_iter().collect();

    // Every 100th row changes (NULL ↔ text included), every 100th + 1 comes again
    // unchanged (a cursor tie), 50 rows are new, and one key comes twice: the later wins.
    let mut second = Vec::new();
    for i in (0..ROWS).step_by(100) {
        let changed = if i % 200 == 0 {
            None
        } else {
            Some(format!("changed {i} — é"))
        };
        second.push((i, changed));
        second.push((i + 1, note(i + 1)));
    }
    for i in ROWS..ROWS + 50 {
        second.push((i, Some(format!("new {i}"))));
    }
    second.push((300, Some("read twice, older".into())));
    second.push((300, Some("read twice, newer".into())));
    let older = second.len() - 2;
    second.swap(0, older); // the older read of 300 comes first
    let v1_expected = expected.clone();
    for (id, n) in &second {
        if !(*id == 300 && n.as_deref() == Some("read twice, older")) {
            expected.insert(*id, n.clone());
        }
    }
    let updated = expected
        .iter()
        .filter(|(id, n)| v1_expected.get(id).is_some_and(|old| old != *n))
        .count() as u64;
    assert!(updated > 500, "{updated}");
    let changes = run(&sink, &spec, "r2", &second).await;
    assert_eq!(
        (changes.inserted, changes.updated, changes.deleted),
        (50, updated, 0),
        "{changes:?}"
    );
    assert_eq!(changes.version, Some(1));
    let (after, with_dv) = files(&sink).await;
    assert!(after.is_superset(&before), "no data file was rewritten");
    assert_eq!(
        after.len(),
        before.len() + 1,
        "the new versions are in one new file"
    );
    assert_eq!(
        with_dv,
        before.len(),
        "every old file got a deletion vector"
    );
    assert_eq!(state(&sink, None).await, expected, "the latest version");
    assert_eq!(
        state(&sink, Some(0)).await,
        v1_expected,
        "version 0 is as it was"
    );

    // The same rows again: nothing differs, so no version.
    let again: Vec<_> = expected
        .iter()
        .filter(|(id, _)| *id % 100 == 0)
        .map(|(i, n)| (*i, n.clone()))
        .collect();
    let changes = run(&sink, &spec, "r3", &again).await;
    assert_eq!(
        (changes.inserted, changes.updated, changes.version),
        (0, 0, None),
        "{changes:?}"
    );

    // A change to a row already replaced once marks its newer version deleted.
    let changes = run(
        &sink,
        &spec,
        "r4",
        &[(100, Some("third".into())), (ROWS + 1, None)],
    )
    .await;
    assert_eq!((changes.inserted, changes.updated), (0, 2), "{changes:?}");
    expected.insert(100, Some("third".into()));
    expected.insert(ROWS + 1, None);
    assert_eq!(state(&sink, None).await, expected);

    let checks = ferry_delta::maintain::verify(sink.store()).await.unwrap();
    assert_eq!(checks.len(), 1);
    assert!(checks[0].problems.is_empty(), "{:?}", checks[0].problems);
    assert!(
        checks[0].deletion_vectors > before.len() as u64,
        "{checks:?}"
    );

    // A key scan: 7 rows are gone at the source. That merge is delta-rs's own
    // (copy-on-write); it must honour the vectors (no replaced row comes back).
    let gone: Vec<i64> = vec![5, 100, 250, 9_999, 30_000, ROWS - 1, ROWS + 3];
    for id in &gone {
        expected.remove(id);
    }
    // The key scan reads whole rows; only their keys are kept.
    let scanned = batch(&expected.keys().map(|id| (*id, None)).collect::<Vec<_>>());
    let events = futures::stream::iter(vec![Ok(SourceEvent::Batch(scanned))]);
    let seen = sink.stage_keys(&spec, Box::pin(events)).await.unwrap();
    assert_eq!(seen, expected.len() as u64);
    let changes = run(&sink, &spec, "r5", &[]).await;
    assert_eq!(changes.deleted, gone.len() as u64, "{changes:?}");
    assert_eq!(
        state(&sink, None).await,
        expected,
        "after the copy-on-write merge"
    );
    let checks = ferry_delta::maintain::verify(sink.store()).await.unwrap();
    assert!(checks[0].problems.is_empty(), "{:?}", checks[0].problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_a_damaged_or_missing_deletion_vector() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("b");
    let sink = common::local_sink(&root, None);
    let spec = spec(None);
    let first: Vec<_> = (0..1_000).map(|i| (i, note(i))).collect();
    run(&sink, &spec, "r1", &first).await;
    run(&sink, &spec, "r2", &[(7, Some("changed".into()))]).await;
    let checks = ferry_delta::maintain::verify(sink.store()).await.unwrap();
    assert!(checks[0].problems.is_empty(), "{:?}", checks[0].problems);
    assert_eq!(
        (checks[0].deletion_vectors, checks[0].live_rows),
        (1, 1_000)
    );
    assert_eq!(
        checks[0].rows, 1_001,
        "the replaced row is still in its file"
    );

    let vector = std::fs::read_dir(root.join("lines"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("deletion_vector_")
        })
        .expect("a deletion vector file");
    let name = vector.file_name().unwrap().to_string_lossy().into_owned();
    let mut bytes = std::fs::read(&vector).unwrap();
    let at = bytes.len() - 5;
    bytes[at] ^= 0x01;
    std::fs::write(&vector, &bytes).unwrap();
    let checks = ferry_delta::maintain::verify(sink.store()).await.unwrap();
    assert!(
        checks[0]
            .problems
            .iter()
            .any(|p| p.contains(&name) && p.contains("checksum")),
        "{:?}",
        checks[0].problems
    );
    std::fs::remove_file(&vector).unwrap();
    let checks = ferry_delta::maintain::verify(sink.store()).await.unwrap();
    assert!(
        checks[0]
            .problems
            .iter()
            .any(|p| p.contains(&name) && p.ends_with("missing")),
        "{:?}",
        checks[0].problems
    );
}
