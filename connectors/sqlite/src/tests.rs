//! Reads of real database files made with rusqlite: discovery, exact values, errors
//! naming the row, resume from a checkpoint, incremental reads, and a file being
//! written by another connection in WAL mode.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Decimal128Type, Int64Type};
use ferry_core::registry::Registry;
use ferry_core::source::{Checkpoint, ReadOptions, SourceEvent};
use ferry_core::{Source, StreamSpec};
use futures::StreamExt;
use rusqlite::Connection;

use crate::config::SqliteConfig;
use crate::{Settings, SqliteSource};

fn db(dir: &Path, sql: &str) -> PathBuf {
    let path = dir.join("test.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(sql).unwrap();
    path
}

fn source(path: &Path, batch_rows: usize, checkpoint_rows: u64) -> SqliteSource {
    SqliteSource::new(
        Settings::from_config(
            SqliteConfig {
                path: path.into(),
                batch_rows: Some(batch_rows),
                checkpoint_rows: Some(checkpoint_rows),
                ..Default::default()
            },
            "test",
        )
        .unwrap(),
    )
}

async fn spec(source: &SqliteSource, name: &str) -> StreamSpec {
    let catalog = source.discover().await.unwrap();
    catalog
        .streams
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no stream {name}"))
}

/// What a read yields: the batches, and each checkpoint with the rows before it.
struct Read {
    batches: Vec<RecordBatch>,
    checkpoints: Vec<(u64, Checkpoint)>,
}

impl Read {
    fn ids(&self, column: &str) -> Vec<i64> {
        self.batches
            .iter()
            .flat_map(|b| {
                let col = b
                    .column_by_name(column)
                    .unwrap()
                    .as_primitive::<Int64Type>();
                (0..col.len()).map(|i| col.value(i)).collect::<Vec<_>>()
            })
            .collect()
    }
}

async fn read_all(
    source: &SqliteSource,
    spec: &StreamSpec,
    options: ReadOptions,
) -> ferry_core::Result<Read> {
    let mut events = source.read(spec, options).await?;
    let mut out = Read {
        batches: Vec::new(),
        checkpoints: Vec::new(),
    };
    let mut rows = 0u64;
    while let Some(event) = events.next().await {
        match event? {
            SourceEvent::Batch(b) => {
                rows += b.num_rows() as u64;
                out.batches.push(b);
            }
            SourceEvent::Checkpoint(cp) => out.checkpoints.push((rows, cp)),
        }
    }
    Ok(out)
}

#[tokio::test]
async fn discovery_lists_tables_views_keys_and_exact_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(
        dir.path(),
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, total DECIMAL(10,2) NOT NULL, placed DATE, note);
         CREATE TABLE lines (order_id INT, line INT, qty REAL, PRIMARY KEY (order_id, line)) WITHOUT ROWID;
         CREATE TABLE odd (rowid TEXT, x BLOB);
         CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 5;
         CREATE INDEX orders_placed ON orders (placed);
         INSERT INTO orders VALUES (1, 10.5, '2025-01-02', NULL), (2, 3, '2025-01-03', 'x');
         INSERT INTO lines VALUES (1, 2, 1.5), (1, 1, 2.0), (2, 1, 1);
         INSERT INTO odd VALUES ('a', x'00');",
    );
    let src = source(&path, 10, 10);
    let catalog = src.discover().await.unwrap();
    let names: Vec<&str> = catalog.streams.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["big_orders", "lines", "odd", "orders"]);
    let by = |n: &str| catalog.streams.iter().find(|s| s.name == n).unwrap();
    let orders = by("orders");
    assert_eq!(orders.primary_key, ["id"]);
    assert_eq!(
        (orders.row_estimate, orders.row_count_exact),
        (Some(2), true)
    );
    let types: Vec<String> = orders
        .schema
        .fields()
        .iter()
        .map(|f| format!("{} {} {}", f.name(), f.data_type(), f.is_nullable()))
        .collect();
    assert_eq!(
        types,
        [
            "id Int64 true",
            "total Decimal128(10, 2) false",
            "placed Date32 true",
            "note Utf8 true"
        ]
    );
    assert_eq!(by("lines").primary_key, ["order_id", "line"]);
    assert_eq!(by("big_orders").primary_key, Vec::<String>::new());
    assert_eq!(by("big_orders").row_estimate, Some(1));
    assert!(
        catalog.metadata["sqlite_version"]
            .as_str()
            .unwrap()
            .starts_with('3')
    );

    // WITHOUT ROWID: key order, no checkpoint. A table hiding `rowid` behind a column
    // is still read by rowid, through another alias.
    let lines = read_all(&src, by("lines"), ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(lines.ids("line"), [1, 2, 1]);
    assert!(lines.checkpoints.is_empty());
    let odd = read_all(&src, by("odd"), ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(odd.checkpoints.len(), 1);
    assert_eq!(odd.checkpoints[0].1.0["after_rowid"], 1);
    let view = read_all(&src, by("big_orders"), ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(view.ids("id"), [1]);

    // `tables` keeps only matching tables; a pattern matching nothing is an error.
    let some = SqliteSource::new(
        Settings::from_config(
            SqliteConfig {
                path: path.clone(),
                tables: vec!["o*".into()],
                ..Default::default()
            },
            "test",
        )
        .unwrap(),
    );
    let names: Vec<String> = some
        .discover()
        .await
        .unwrap()
        .streams
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["odd", "orders"]);
}

#[tokio::test]
async fn values_round_trip_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(
        dir.path(),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, amount DECIMAL(10,2), free NUMERIC, flag BOOLEAN,
                         at TIMESTAMP, note TEXT, data BLOB);
         INSERT INTO t VALUES (1, 0.1, '-1e-10', 1,
                               '2024-03-10 12:34:56+02:00', '', x'00ff00');
         INSERT INTO t VALUES (2, NULL, 7, 0, 1710066896, 'tab\there', x'');
         INSERT INTO t VALUES (3, '12345678.90', -0.5, NULL, NULL, NULL, NULL);",
    );
    let src = source(&path, 2, 100);
    let s = spec(&src, "t").await;
    let read = read_all(&src, &s, ReadOptions::default()).await.unwrap();
    assert_eq!(read.batches.len(), 2, "batch_rows = 2");
    let b = arrow::compute::concat_batches(&s.schema, &read.batches).unwrap();
    let amount = b.column(1).as_primitive::<Decimal128Type>();
    assert_eq!(amount.value(0), 10, "0.1 stored as REAL is 10 at scale 2");
    assert!(amount.is_null(1));
    assert_eq!(amount.value_as_string(2), "12345678.90");
    let free = b.column(2).as_primitive::<Decimal128Type>();
    assert_eq!(free.value_as_string(0), "-0.0000000001");
    assert_eq!(free.value_as_string(1), "7.0000000000");
    assert_eq!(free.value_as_string(2), "-0.5000000000");
    let at = b
        .column(4)
        .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
    assert_eq!(at.value(0), 1_710_066_896_000_000);
    assert_eq!(at.value(1), at.value(0));
    let note = b.column(5).as_string::<i32>();
    assert_eq!(
        (note.value(0), note.is_null(0), note.is_null(2)),
        ("", false, true)
    );
    assert_eq!(note.value(1), "tab\there");
    let data = b.column(6).as_binary::<i32>();
    assert_eq!(data.value(0), b"\x00\xff\x00");
    assert_eq!(
        (data.value(1), data.is_null(1), data.is_null(2)),
        (&b""[..], false, true)
    );
}

#[tokio::test]
async fn a_mismatching_value_names_file_table_column_and_rowid() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(
        dir.path(),
        "CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER, price DECIMAL(10,2));
         INSERT INTO items VALUES (1, 5, 1.5), (41, 'abc', 2), (50, 1, 1.005);",
    );
    let src = source(&path, 100, 100);
    let s = spec(&src, "items").await;
    let err = read_all(&src, &s, ReadOptions::default())
        .await
        .err()
        .expect("text in an INTEGER column is an error")
        .to_string();
    assert!(
        err.contains("test.db")
            && err.contains("\"items\"")
            && err.contains("column \"qty\"")
            && err.contains("rowid 41")
            && err.contains("TEXT \"abc\""),
        "{err}"
    );
    let conn = Connection::open(&path).unwrap();
    conn.execute("UPDATE items SET qty = 2 WHERE id = 41", [])
        .unwrap();
    let err = read_all(&src, &s, ReadOptions::default())
        .await
        .err()
        .expect("1.005 does not fit scale 2")
        .to_string();
    assert!(
        err.contains("column \"price\"") && err.contains("rowid 50") && err.contains("1.005"),
        "{err}"
    );
}

#[tokio::test]
async fn a_resumed_read_gives_exactly_the_remaining_rows() {
    let dir = tempfile::tempdir().unwrap();
    // Rowids with gaps and negatives: the checkpoint is a rowid, not a row count.
    let path = db(
        dir.path(),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
         INSERT INTO t SELECT i * 3 - 1500, 'row ' || i FROM n;",
    );
    let src = source(&path, 64, 100);
    let s = spec(&src, "t").await;
    let full = read_all(&src, &s, ReadOptions::default()).await.unwrap();
    let all = full.ids("id");
    assert_eq!(all.len(), 1000);
    assert!(all.windows(2).all(|w| w[0] < w[1]), "rowid order");
    // A checkpoint every 100 rows exactly, then the final one.
    let at: Vec<u64> = full.checkpoints.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        at,
        (1..=10).map(|i| i * 100).chain([1000]).collect::<Vec<_>>()
    );
    assert!(full.batches.iter().all(|b| b.num_rows() <= 64));
    assert_eq!(full.checkpoints.last().unwrap().1.0["done"], true);

    let (before, cp) = full.checkpoints[2].clone();
    assert_eq!(cp.0["after_rowid"], all[before as usize - 1]);
    let rest = read_all(
        &src,
        &s,
        ReadOptions {
            resume: Some(cp),
            since: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(rest.ids("id"), all[before as usize..]);

    // Resuming from the final checkpoint reads nothing more.
    let none = read_all(
        &src,
        &s,
        ReadOptions {
            resume: Some(full.checkpoints.last().unwrap().1.clone()),
            since: None,
        },
    )
    .await
    .unwrap();
    assert!(none.batches.is_empty());

    // Another table's checkpoint is refused.
    let mut other = full.checkpoints[0].1.clone();
    other.0["table"] = "u".into();
    let err = read_all(
        &src,
        &s,
        ReadOptions {
            resume: Some(other),
            since: None,
        },
    )
    .await
    .err()
    .unwrap();
    assert!(err.to_string().contains("--restart"), "{err}");
}

#[tokio::test]
async fn incremental_reads_take_rows_at_or_after_the_mark_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(
        dir.path(),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, changed TEXT, v INT);
         INSERT INTO t VALUES (1, '2025-01-01', 1), (2, '2025-01-02', 2), (3, '2025-01-02', 3),
                              (4, NULL, 4);",
    );
    let src = source(&path, 100, 100);
    let mut s = spec(&src, "t").await;
    s.cursor_field = Some("changed".into());
    let first = read_all(&src, &s, ReadOptions::default()).await.unwrap();
    assert_eq!(
        first.ids("id"),
        [1, 2, 3, 4],
        "a first read takes everything"
    );
    let mark = first.checkpoints.last().unwrap().1.clone();
    assert_eq!(mark.0["cursor"]["upto"]["value"], "2025-01-02");

    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "UPDATE t SET changed = '2025-01-03', v = 10 WHERE id = 1;
         INSERT INTO t VALUES (5, '2025-01-02', 5), (6, NULL, 6);",
    )
    .unwrap();
    let second = read_all(
        &src,
        &s,
        ReadOptions {
            resume: None,
            since: Some(mark),
        },
    )
    .await
    .unwrap();
    // Row 5 shares the old mark's value but is new; 2 and 3 were read already.
    assert_eq!(second.ids("id"), [1, 5]);

    s.cursor_field = Some("nope".into());
    let err = src.read(&s, ReadOptions::default()).await.err().unwrap();
    assert!(err.is_usage(), "{err}");
}

#[tokio::test]
async fn a_database_written_in_wal_mode_is_read_consistently() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(
        dir.path(),
        "PRAGMA journal_mode = WAL;
         CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
         INSERT INTO t VALUES (1, 'a'), (2, 'b');",
    );
    // Another writer holds an open write transaction, its rows not yet committed.
    let writer = Connection::open(&path).unwrap();
    writer
        .execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (3, 'c');")
        .unwrap();
    let src = source(&path, 100, 100);
    let s = spec(&src, "t").await;
    assert_eq!(s.row_estimate, Some(2));
    let read = read_all(&src, &s, ReadOptions::default()).await.unwrap();
    assert_eq!(read.ids("id"), [1, 2]);
    writer.execute_batch("COMMIT").unwrap();
    let read = read_all(&src, &s, ReadOptions::default()).await.unwrap();
    assert_eq!(read.ids("id"), [1, 2, 3]);
}

#[test]
fn specs_are_accepted_by_prefix_or_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let real = db(dir.path(), "CREATE TABLE t (x);");
    let fake = dir.path().join("fake.db");
    std::fs::write(&fake, "not a database at all, just text").unwrap();
    let mut registry = Registry::new();
    crate::register(&mut registry);
    let real_s = real.to_str().unwrap();
    assert!(registry.source_from_spec(real_s).is_ok());
    assert!(
        registry
            .source_from_spec(&format!("sqlite:{real_s}"))
            .is_ok()
    );
    assert!(
        registry
            .source_from_spec(&format!("sqlite://{real_s}"))
            .is_ok()
    );
    // A `.db` file that is not SQLite is left to other connectors.
    assert!(
        registry
            .source_from_spec(fake.to_str().unwrap())
            .is_err_and(|e| matches!(e, ferry_core::Error::UnknownSpec { .. }))
    );
    let err = registry
        .source_from_spec(&format!("sqlite:{}", fake.display()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("fake.db") && err.contains("not a SQLite database"),
        "{err}"
    );
    let err = registry
        .source_from_spec("sqlite:/nonexistent/x.sqlite")
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/x.sqlite"), "{err}");
    let mut table = toml::Table::new();
    table.insert("kind".into(), "sqlite".into());
    table.insert("path".into(), real_s.into());
    table.insert("checkpoint_rows".into(), 10.into());
    assert!(
        registry
            .source_from_config(table, "job.toml [source]")
            .is_ok()
    );
}

#[tokio::test]
async fn a_corrupt_database_is_one_clear_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(
        dir.path(),
        "PRAGMA page_size = 1024;
         CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
         INSERT INTO t SELECT i, printf('%050d', i) FROM n;",
    );
    // Keep the header page, overwrite the table's pages with garbage.
    let mut bytes = std::fs::read(&path).unwrap();
    for b in bytes[2048..].iter_mut() {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let src = source(&path, 100, 100);
    let err = match src.discover().await {
        Err(e) => e,
        Ok(catalog) => {
            let s = catalog.streams.into_iter().next().unwrap();
            read_all(&src, &s, ReadOptions::default())
                .await
                .err()
                .unwrap()
        }
    };
    let text = err.to_string();
    assert!(text.contains("test.db") && !text.contains('\n'), "{text}");

    // The header alone is not enough: garbage after it is not a database either.
    let fake = dir.path().join("fake.sqlite");
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend(std::iter::repeat_n(0x5Au8, 4000));
    std::fs::write(&fake, &bytes).unwrap();
    let err = source(&fake, 10, 10)
        .discover()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("fake.sqlite"), "{err}");
}

#[test]
fn the_sqlite_source_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SqliteSource>();
    let _: Arc<dyn Source> = Arc::new(source(
        &db(tempfile::tempdir().unwrap().path(), "CREATE TABLE t (x);"),
        1,
        1,
    ));
}
