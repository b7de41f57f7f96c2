//! Tests against the real MariaDB/MySQL server at 127.0.0.1:3306 (user root, no
//! password). They skip when it is unreachable, and fail then when `CI` is set.
//! Each test makes its own database and drops it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Decimal128Type, Int64Type, TimestampMicrosecondType};
use ferry_core::source::{Checkpoint, ReadOptions, SourceEvent};
use ferry_core::{Error, Source};
use futures::StreamExt;
use mysql_async::prelude::Queryable;

use crate::{MysqlConfig, MysqlSource, Settings};

const SERVER: &str = "mysql://root@127.0.0.1:3306";

fn mandatory() -> bool {
    std::env::var_os("CI").is_some()
}

/// A database made for one test, dropped at the end.
struct TestDb {
    name: String,
    admin: mysql_async::Conn,
}

impl TestDb {
    async fn new(tag: &str) -> Option<TestDb> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let admin = match mysql_async::Conn::from_url(format!("{SERVER}/mysql")).await {
            Ok(c) => c,
            Err(e) => {
                assert!(!mandatory(), "MariaDB is required in CI: {e}");
                eprintln!("MariaDB not reachable ({e}): skipping");
                return None;
            }
        };
        let name = format!(
            "ferry_t_{tag}_{}_{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        let mut db = TestDb { name, admin };
        db.exec(&format!("DROP DATABASE IF EXISTS {}", db.name))
            .await;
        db.exec(&format!(
            "CREATE DATABASE {} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
            db.name
        ))
        .await;
        db.exec(&format!("USE {}", db.name)).await;
        Some(db)
    }

    async fn exec(&mut self, sql: &str) {
        self.admin
            .query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn source(&self, options: &str) -> MysqlSource {
        MysqlSource::new(
            Settings::from_config(
                MysqlConfig {
                    url: format!("{SERVER}/{}{options}", self.name),
                    ..Default::default()
                },
                "test",
            )
            .unwrap(),
        )
    }

    async fn drop_db(mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {}", self.name);
        self.exec(&sql).await;
        let _ = self.admin.disconnect().await;
    }
}

/// Reads a stream to the end, returning batches and checkpoints in order.
async fn read_all(
    source: &MysqlSource,
    stream: &str,
    cursor: Option<&str>,
    options: ReadOptions,
) -> Result<Vec<SourceEvent>, Error> {
    let catalog = source.discover().await?;
    let mut spec = catalog
        .streams
        .into_iter()
        .find(|s| s.name == stream)
        .unwrap_or_else(|| panic!("no stream {stream}"));
    spec.cursor_field = cursor.map(str::to_owned);
    let mut events = source.read(&spec, options).await?;
    let mut out = Vec::new();
    while let Some(ev) = events.next().await {
        out.push(ev?);
    }
    Ok(out)
}

fn ids(events: &[SourceEvent]) -> Vec<i64> {
    let mut v: Vec<i64> = events
        .iter()
        .filter_map(|e| match e {
            SourceEvent::Batch(b) => Some(b),
            _ => None,
        })
        .flat_map(|b: &RecordBatch| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    v.sort_unstable();
    v
}

fn checkpoints(events: &[SourceEvent]) -> Vec<Checkpoint> {
    events
        .iter()
        .filter_map(|e| match e {
            SourceEvent::Checkpoint(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovers_types_keys_and_reads_exact_values() {
    let Some(mut db) = TestDb::new("types").await else {
        return;
    };
    db.exec(
        "CREATE TABLE t (id BIGINT PRIMARY KEY, amount DECIMAL(38,4), wide DECIMAL(65,10), \
         label VARCHAR(50) CHARACTER SET latin1, note TEXT, at DATETIME(6), ts TIMESTAMP(3) NULL, \
         d DATE, f DOUBLE, flag BIT(1), doc JSON, raw VARBINARY(8), kind ENUM('a','b'))",
    )
    .await;
    db.exec("SET time_zone = '+02:00'").await;
    db.exec(
        "SET SESSION sql_mode = ''; INSERT INTO t VALUES \
         (1, '-1234567890123456789012345678901234.5678', CONCAT(REPEAT('9', 55), '.0000000001'), 'café', '', \
          '1000-01-01 00:00:00.000001', '2025-03-30 02:30:00.125', '0000-00-00', -0.0, b'1', '{\"a\": [1, 2.50]}', x'00ff', 'b'), \
         (2, NULL, NULL, NULL, NULL, '9999-12-31 23:59:59.999999', NULL, '2024-02-29', 1e308, b'0', NULL, NULL, NULL)",
    )
    .await;
    let source = db.source("");
    let catalog = source.discover().await.unwrap();
    let spec = &catalog.streams[0];
    assert_eq!(spec.name, format!("{}.t", db.name));
    assert_eq!(spec.primary_key, ["id"]);
    let types: Vec<String> = spec
        .schema
        .fields()
        .iter()
        .map(|f| f.data_type().to_string())
        .collect();
    assert_eq!(
        types,
        [
            "Int64",
            "Decimal128(38, 4)",
            "Decimal256(65, 10)",
            "Utf8",
            "Utf8",
            "Timestamp(µs, \"UTC\")",
            "Timestamp(µs, \"UTC\")",
            "Date32",
            "Float64",
            "Boolean",
            "Utf8",
            "Binary",
            "Utf8"
        ]
    );
    let events = read_all(&source, &spec.name, None, ReadOptions::default())
        .await
        .unwrap();
    let SourceEvent::Batch(b) = &events[0] else {
        panic!("expected a batch first")
    };
    assert_eq!(b.num_rows(), 2);
    assert_eq!(
        b.column(1)
            .as_primitive::<Decimal128Type>()
            .value_as_string(0),
        "-1234567890123456789012345678901234.5678"
    );
    assert!(b.column(1).is_null(1));
    assert_eq!(b.column(3).as_string::<i32>().value(0), "café");
    assert_eq!(b.column(4).as_string::<i32>().value(0), "");
    assert!(b.column(4).is_null(1));
    let at = b.column(5).as_primitive::<TimestampMicrosecondType>();
    assert_eq!(at.value(0), -30_610_224_000_000_000 + 1);
    // Written at +02:00 on the session above, read back in UTC.
    let ts = b.column(6).as_primitive::<TimestampMicrosecondType>();
    assert_eq!(ts.value(0), 1_743_294_600_125_000);
    assert!(b.column(7).is_null(0), "zero date is NULL");
    let f = b.column(8).as_primitive::<arrow::datatypes::Float64Type>();
    let server_zero: String = db
        .admin
        .query_first("SELECT CAST(f AS CHAR) FROM t WHERE id = 1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.value(0), 0.0);
    assert_eq!(
        f.value(0).is_sign_negative(),
        server_zero.starts_with('-'),
        "{server_zero}"
    );
    assert_eq!(f.value(1), 1e308);
    assert_eq!(b.column(11).as_binary::<i32>().value(0), [0u8, 0xff]);
    // The final checkpoint names the table and marks the one partition done.
    let cps = checkpoints(&events);
    assert_eq!(cps.last().unwrap().0["partitions"][0]["done"], true);
    drop(source);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_reads_resume_after_any_checkpoint_without_duplicates() {
    let Some(mut db) = TestDb::new("resume").await else {
        return;
    };
    db.exec("CREATE TABLE big (id BIGINT PRIMARY KEY, v VARCHAR(10))")
        .await;
    db.exec("INSERT INTO big SELECT seq, CONCAT('v', seq) FROM seq_1_to_5000")
        .await;
    db.exec("ANALYZE TABLE big").await;
    let options = "?partitions=3&partition_min_rows=0&batch_rows=100&checkpoint_rows=700";
    let source = db.source(options);
    let stream = format!("{}.big", db.name);
    let events = read_all(&source, &stream, None, ReadOptions::default())
        .await
        .unwrap();
    let expected: Vec<i64> = (1..=5000).collect();
    assert_eq!(ids(&events), expected);
    let cps = checkpoints(&events);
    assert!(cps.len() >= 5, "{} checkpoints", cps.len());
    assert_eq!(cps[0].0["partitions"].as_array().unwrap().len(), 3);
    // Resuming from the k-th checkpoint gives exactly the rows not emitted before it.
    for k in [0, cps.len() / 2, cps.len() - 1] {
        let pos = events
            .iter()
            .position(|e| matches!(e, SourceEvent::Checkpoint(c) if *c == cps[k]))
            .unwrap();
        let before = ids(&events[..pos]);
        let resumed = read_all(
            &db.source(options),
            &stream,
            None,
            ReadOptions {
                resume: Some(cps[k].clone()),
                since: None,
            },
        )
        .await
        .unwrap();
        let mut all = before.clone();
        all.extend(ids(&resumed));
        all.sort_unstable();
        assert_eq!(all, expected, "resume from checkpoint {k}");
        assert!(ids(&resumed).len() < 5000 || before.is_empty());
    }
    drop(source);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_reads_only_new_rows_and_never_drops_ties() {
    let Some(mut db) = TestDb::new("cursor").await else {
        return;
    };
    db.exec("CREATE TABLE o (id BIGINT PRIMARY KEY, write_date DATETIME)")
        .await;
    db.exec(
        "INSERT INTO o VALUES (1, '2025-01-01 10:00:00'), (2, '2025-01-02 10:00:00'), \
         (3, '2025-01-02 10:00:00'), (4, NULL)",
    )
    .await;
    let stream = format!("{}.o", db.name);
    let first = read_all(
        &db.source(""),
        &stream,
        Some("write_date"),
        ReadOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(ids(&first), [1, 2, 3, 4]);
    let high_water = checkpoints(&first).pop().unwrap();
    // A new row with the same timestamp as the mark, an update, a later row.
    db.exec("INSERT INTO o VALUES (5, '2025-01-02 10:00:00'), (6, '2025-01-03 00:00:00')")
        .await;
    db.exec("UPDATE o SET write_date = '2025-01-04 00:00:00' WHERE id = 1")
        .await;
    let second = read_all(
        &db.source(""),
        &stream,
        Some("write_date"),
        ReadOptions {
            resume: None,
            since: Some(high_water),
        },
    )
    .await
    .unwrap();
    assert_eq!(ids(&second), [1, 5, 6]);
    let mark = checkpoints(&second).pop().unwrap();
    let third = read_all(
        &db.source(""),
        &stream,
        Some("write_date"),
        ReadOptions {
            resume: None,
            since: Some(mark),
        },
    )
    .await
    .unwrap();
    assert_eq!(ids(&third), Vec::<i64>::new());
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_writer_cannot_unbalance_the_snapshot() {
    let Some(mut db) = TestDb::new("consistency").await else {
        return;
    };
    for t in ["acc_a", "acc_b"] {
        db.exec(&format!(
            "CREATE TABLE {t} (id BIGINT PRIMARY KEY, amount DECIMAL(18,2) NOT NULL)"
        ))
        .await;
        db.exec(&format!(
            "INSERT INTO {t} SELECT seq, 1000.00 FROM seq_1_to_20000"
        ))
        .await;
    }
    // A writer moves money from A to B, one transaction at a time, while we read.
    let url = format!("{SERVER}/{}", db.name);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut conn = mysql_async::Conn::from_url(url).await.unwrap();
            let mut moves = 0u32;
            while !stop.load(Ordering::SeqCst) && moves < 20_000 {
                let id = 1 + (moves * 7919) % 20_000;
                conn.query_drop(format!(
                    "START TRANSACTION; UPDATE acc_a SET amount = amount - 3.25 WHERE id = {id}; \
                     UPDATE acc_b SET amount = amount + 3.25 WHERE id = {}; COMMIT",
                    20_001 - id
                ))
                .await
                .unwrap();
                moves += 1;
            }
            moves
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let source =
        Arc::new(db.source("?partitions=4&partition_min_rows=0&batch_rows=500&connections=4"));
    let sum = |events: &[SourceEvent]| -> i128 {
        events
            .iter()
            .filter_map(|e| match e {
                SourceEvent::Batch(b) => Some(b),
                _ => None,
            })
            .flat_map(|b| {
                b.column(1)
                    .as_primitive::<Decimal128Type>()
                    .values()
                    .to_vec()
            })
            .sum()
    };
    let (name_a, name_b) = (format!("{}.acc_a", db.name), format!("{}.acc_b", db.name));
    let (a, b) = tokio::join!(
        read_all(&source, &name_a, None, ReadOptions::default()),
        read_all(&source, &name_b, None, ReadOptions::default())
    );
    stop.store(true, Ordering::SeqCst);
    drop(source);
    let moves = writer.await.unwrap();
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(ids(&a).len(), 20_000);
    assert_eq!(ids(&b).len(), 20_000);
    assert!(moves > 0);
    assert_eq!(
        sum(&a) + sum(&b),
        2 * 20_000 * 100_000,
        "totals must balance"
    );
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_connection_fails_clearly_and_the_rerun_resumes() {
    let Some(mut db) = TestDb::new("kill").await else {
        return;
    };
    db.exec("CREATE TABLE big (id BIGINT PRIMARY KEY, pad VARCHAR(200))")
        .await;
    db.exec("INSERT INTO big SELECT seq, REPEAT('x', 200) FROM seq_1_to_200000")
        .await;
    let stream = format!("{}.big", db.name);
    let options = "?batch_rows=1000&checkpoint_rows=5000";
    let source = db.source(options);
    let spec = source
        .discover()
        .await
        .unwrap()
        .streams
        .into_iter()
        .find(|s| s.name == stream)
        .unwrap();
    let mut events = source.read(&spec, ReadOptions::default()).await.unwrap();
    let mut seen = Vec::new();
    let mut last_cp = None;
    let mut rows_at_cp = Vec::new();
    let mut killed = false;
    let mut failure = None;
    while let Some(ev) = events.next().await {
        match ev {
            Ok(SourceEvent::Batch(b)) => {
                seen.extend(
                    b.column(0)
                        .as_primitive::<Int64Type>()
                        .values()
                        .iter()
                        .copied(),
                );
                if seen.len() >= 20_000 && !killed {
                    // Kill the server side of the streaming query.
                    let pattern = format!("%{}%big%", db.name);
                    let ids: Vec<u64> = db
                        .admin
                        .exec(
                            "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND INFO LIKE 'SELECT%'",
                            (pattern,),
                        )
                        .await
                        .unwrap();
                    assert!(!ids.is_empty(), "the reading connection is visible");
                    for id in ids {
                        db.exec(&format!("KILL {id}")).await;
                    }
                    killed = true;
                }
            }
            Ok(SourceEvent::Checkpoint(cp)) => {
                rows_at_cp = seen.clone();
                last_cp = Some(cp);
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    drop(events);
    drop(source);
    let err = failure.expect("the read fails once its connection is killed");
    let text = err.to_string();
    assert!(
        matches!(
            err,
            Error::Remote {
                transient: true,
                ..
            }
        ),
        "{text}"
    );
    assert!(text.contains(&stream), "{text}");
    assert!(text.contains("mysql 127.0.0.1:3306"), "{text}");
    let cp = last_cp.expect("a checkpoint before the kill");
    assert!(!rows_at_cp.is_empty());
    let resumed = read_all(
        &db.source(options),
        &stream,
        None,
        ReadOptions {
            resume: Some(cp),
            since: None,
        },
    )
    .await
    .unwrap();
    let mut all = rows_at_cp.clone();
    all.extend(ids(&resumed));
    all.sort_unstable();
    assert_eq!(all, (1..=200_000).collect::<Vec<i64>>());
    assert!(ids(&resumed).len() < 200_000, "resumed, not restarted");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_single_clear_errors() {
    let Some(db) = TestDb::new("refusal").await else {
        return;
    };
    let bad_db = MysqlSource::new(
        Settings::from_config(
            MysqlConfig {
                url: format!("{SERVER}/{}_missing", db.name),
                ..Default::default()
            },
            "test",
        )
        .unwrap(),
    );
    let err = bad_db.discover().await.unwrap_err().to_string();
    assert!(err.contains("Unknown database"), "{err}");
    assert!(!err.contains('\n'), "{err}");
    let bad_pw = MysqlSource::new(
        Settings::from_config(
            MysqlConfig {
                url: format!("mysql://nobody_ferry:hunter22@127.0.0.1:3306/{}", db.name),
                ..Default::default()
            },
            "test",
        )
        .unwrap(),
    );
    let err = bad_pw.discover().await.unwrap_err().to_string();
    assert!(err.contains("Access denied"), "{err}");
    assert!(!err.contains("hunter22"), "{err}");
    db.drop_db().await;
}
