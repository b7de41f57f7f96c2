//! A long `COPY` block cut into parts read by several threads: every row exactly once,
//! and a bad value in a late part still named by its line in the dump.

use std::collections::BTreeSet;

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use ferry_core::{ReadOptions, Source, SourceEvent};
use ferry_dumps::{DumpConfig, DumpSource};
use futures::StreamExt;

fn dump(rows: u64, bad_row: Option<u64>) -> String {
    let mut d = String::from(
        "SET client_encoding = 'UTF8';\nCREATE TABLE public.lines (id bigint NOT NULL, qty numeric(10,3), note text);\n\
COPY public.lines (id, qty, note) FROM stdin;\n",
    );
    for i in 1..=rows {
        if Some(i) == bad_row {
            d.push_str(&format!("{i}\t1.2345\tbad\n"));
        } else {
            d.push_str(&format!(
                "{i}\t{}.{:03}\tline {i} \\t tab\n",
                i % 97,
                i % 1000
            ));
        }
    }
    d.push_str("\\.\n");
    d
}

async fn read(path: &std::path::Path) -> (Vec<i64>, Option<String>) {
    let src = DumpSource::new(DumpConfig {
        path: path.to_owned(),
        part_bytes: Some(4096),
        batch_rows: Some(500),
        ..Default::default()
    })
    .unwrap();
    let catalog = src.discover().await.unwrap();
    let mut events = src
        .read(&catalog.streams[0], ReadOptions::default())
        .await
        .unwrap();
    let mut ids = Vec::new();
    let mut error = None;
    while let Some(e) = events.next().await {
        match e {
            Ok(SourceEvent::Batch(b)) => ids.extend(
                b.column(0)
                    .as_primitive::<Int64Type>()
                    .values()
                    .iter()
                    .copied(),
            ),
            Ok(_) => {}
            Err(e) => error = Some(e.to_string()),
        }
    }
    (ids, error)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_of_one_table_are_read_in_parallel_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lines.sql");
    std::fs::write(&path, dump(20_000, None)).unwrap();
    let (ids, error) = read(&path).await;
    assert_eq!(error, None);
    assert_eq!(ids.len(), 20_000, "no row twice");
    let set: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(set, (1..=20_000).collect(), "no row missing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_value_in_a_late_part_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lines.sql");
    std::fs::write(&path, dump(20_000, Some(15_000))).unwrap();
    let (_, error) = read(&path).await;
    let error = error.expect("the bad value fails the table");
    // Row i is on line i + 3.
    assert!(error.contains("lines.sql:15003"), "{error}");
    assert!(error.contains("digits after the point"), "{error}");
}
