//! The SQLite source through the `ferry` binary, on a database made by Python's own
//! `sqlite3` module: every declared type with tricky values round-trips value by value
//! (pyarrow's reading of the Parquet against what `sqlite3` returns, decimals compared
//! exactly as `Decimal`, doubles bit for bit), discovery reports exact row counts and
//! keys, a `kill -9` mid-table is resumed from the checkpoint without duplicates or
//! gaps, and bad files or values give one clear line.
//!
//! The tests need python3 (for `sqlite3` and pyarrow): they skip without it, and fail
//! when `CI` is set.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::postgres::one_clear_line;
use crate::util::*;

const LINES: u64 = 250_000;

/// Builds the test database at `path` with Python's sqlite3; `None` without Python.
const BUILD: &str = r#"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript('''
CREATE TABLE every_type (
  id INTEGER PRIMARY KEY,
  i INTEGER, big BIGINT, flag BOOLEAN, r REAL, d DOUBLE,
  amount DECIMAL(12,2), free NUMERIC, day DATE, at DATETIME, ts TIMESTAMP,
  t TEXT, v VARCHAR(40), untyped, data BLOB
);
CREATE TABLE lines (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, amount NUMERIC(10,2), note TEXT);
CREATE TABLE tags (name TEXT PRIMARY KEY, weight REAL) WITHOUT ROWID;
CREATE VIEW big_lines AS SELECT id, amount FROM lines WHERE amount >= 990;
''')
rows = [
  (1, 0, 9223372036854775807, 1, 0.1, -0.0, '0.10', '12345678901234567890.0123456789',
   '2024-02-29', '2024-03-10 12:34:56', '2024-03-10T12:34:56.123456Z', '', '', '', b''),
  (2, None, -9223372036854775807, 0, 1e308, 5e-324, '-0.01', '0.3',
   '0001-01-01', '2024-03-10 12:34:56+02:00', 1700000000, None, None, None, None),
  (3, -1, -9223372036854775808, None, -1.5, 2.5, '9999999999.99', -7,
   '9999-12-31', '2024-03-10T23:59:59-05:30', '1970-01-01 00:00:00',
   'tab\there\nnew line "double" \'single\' back\\slash', 'emoji 🦀🎉 ünïcödé', 'plain',
   b'\x00\x01\x00\xff'),
  (4, 42, 0, 1, float('inf'), 1.0, 0, '-1e-10', '1970-01-01', '1969-12-31 23:59:59.999999', 0,
   '\r\n', ' leading and trailing ', 17, b'\x00'),
  (5,) + (None,) * 14,
  (1000000, 7, 1, 0, 123456.789, -2.2250738585072014e-308, 1234567890.12, '99999999999999999999',
   '2000-01-01', '2038-01-19T03:14:08+00:00', -1, 'x' * 10000, 'NULL', 'null', bytes(range(256))),
]
c.executemany('INSERT INTO every_type VALUES (' + ','.join('?' * 15) + ')', rows)
c.executemany('INSERT INTO lines VALUES (?, ?, ?, ?)',
              ((i, i // 10, '%d.%02d' % (i % 1000, i % 100), 'line %d' % i)
               for i in range(1, int(sys.argv[2]) + 1)))
c.executemany('INSERT INTO tags VALUES (?, ?)', [('b', 1.5), ('a', None), ('', 0.0)])
c.commit()
"#;

/// Compares every table of the Parquet output with what `sqlite3` returns.
const COMPARE: &str = r#"
import sqlite3, sys, struct, datetime
from decimal import Decimal
import pyarrow.parquet as pq

db, out = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db)
UTC = datetime.timezone.utc

def ts(v):
    if isinstance(v, int):
        return datetime.datetime.fromtimestamp(v, UTC)
    d = datetime.datetime.fromisoformat(v)
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).astimezone(UTC)

def dec(v):
    return Decimal(repr(v)) if isinstance(v, float) else Decimal(v)

def f64(v):
    return struct.pack('<d', v)

def text(v):
    return v if isinstance(v, str) else str(v)

CONVERT = {
    'INTEGER': int, 'BIGINT': int, 'INT': int, 'BOOLEAN': bool, 'REAL': f64, 'DOUBLE': f64,
    'DATE': datetime.date.fromisoformat, 'DATETIME': ts, 'TIMESTAMP': ts,
    'TEXT': text, 'VARCHAR(40)': text, '': text, 'BLOB': bytes,
}

def convert(declared, v):
    if v is None:
        return None
    if declared.startswith(('DECIMAL', 'NUMERIC')):
        return dec(v)
    return CONVERT[declared](v)

def parquet_convert(declared, v):
    if v is None:
        return None
    if declared in ('REAL', 'DOUBLE'):
        return f64(v)
    return v

checked = []
for (name,) in c.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name"):
    cols = [(r[1], r[2]) for r in c.execute('SELECT * FROM pragma_table_info(?)', (name,))]
    t = pq.read_table(f'{out}/{name}')
    assert t.column_names == [n for n, _ in cols], (name, t.column_names)
    key = cols[0][0]
    want = sorted(c.execute(f'SELECT * FROM "{name}"').fetchall(), key=lambda r: r[0])
    got = sorted(zip(*[t.column(n).to_pylist() for n, _ in cols]), key=lambda r: r[0])
    assert len(got) == len(want), (name, len(got), len(want))
    for w, g in zip(want, got):
        for (col, declared), wv, gv in zip(cols, w, g):
            a, b = convert(declared, wv), parquet_convert(declared, gv)
            if a != b or type(a) != type(b):
                raise SystemExit(f'{name}.{col} at {key}={w[0]!r}: sqlite {wv!r} -> {a!r}, parquet {gv!r}')
    checked.append(f'{name}={len(got)}')
print(' '.join(checked))
"#;

/// A temporary folder with the test database; `None` when Python is missing.
fn build_db(lines: u64) -> Option<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("erp.db");
    run_python(BUILD, &[db.to_str().unwrap(), &lines.to_string()])?;
    Some((dir, db))
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr:\n{}", stdout(out), stderr(out)))
}

#[test]
fn every_type_round_trips_value_by_value() {
    let Some((dir, db)) = build_db(LINES) else {
        return;
    };
    let db_s = db.to_str().unwrap();

    let found = json(&ferry_ok(&["discover", db_s, "--json"]));
    let streams = found["streams"].as_array().unwrap();
    let summary: Vec<String> = streams
        .iter()
        .map(|s| {
            format!(
                "{} {} {} {}",
                s["name"].as_str().unwrap(),
                s["row_estimate"],
                s["row_count_exact"],
                s["primary_key"]
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "big_lines 2500 true null",
            "every_type 6 true [\"id\"]",
            &format!("lines {LINES} true [\"id\"]"),
            "tags 3 true [\"name\"]",
        ],
        "{found}"
    );
    let every = &streams[1]["columns"];
    let types: Vec<&str> = every
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "Int64",
            "Int64",
            "Int64",
            "Boolean",
            "Float64",
            "Float64",
            "Decimal128(12, 2)",
            "Decimal128(38, 10)",
            "Date32",
            "Timestamp(µs, \"UTC\")",
            "Timestamp(µs, \"UTC\")",
            "Utf8",
            "Utf8",
            "Utf8",
            "Binary"
        ]
    );
    // The same file through the explicit spec forms.
    for spec in [format!("sqlite:{db_s}"), format!("sqlite://{db_s}")] {
        let again = json(&ferry_ok(&["discover", &spec, "--json"]));
        assert_eq!(again["streams"], found["streams"], "{spec}");
    }

    let out = dir.path().join("out");
    let started = Instant::now();
    let report = json(&ferry_ok(&[
        "extract",
        db_s,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--json",
    ]));
    eprintln!("extract of {LINES} + 2511 rows: {:?}", started.elapsed());
    let rows: Vec<String> = report["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{}={}", s["name"].as_str().unwrap(), s["rows"]))
        .collect();
    let mut rows = rows;
    rows.sort();
    assert_eq!(
        rows,
        [
            "big_lines=2500".to_owned(),
            "every_type=6".into(),
            format!("lines={LINES}"),
            "tags=3".into()
        ]
    );
    let checked = run_python(COMPARE, &[db_s, out.to_str().unwrap()]).unwrap();
    assert_eq!(
        checked.trim(),
        format!("big_lines=2500 every_type=6 lines={LINES} tags=3")
    );
}

fn state_rows(state: &Path, stream: &str) -> u64 {
    std::fs::read(state)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["streams"][stream]["resume"]["rows"].as_u64())
        .unwrap_or(0)
}

#[test]
fn kill_9_mid_table_resumes_from_the_checkpoint() {
    let Some((dir, db)) = build_db(LINES) else {
        return;
    };
    let job = write(
        dir.path(),
        "job.toml",
        format!(
            "streams = [\"lines\"]\n\n[source]\nkind = \"sqlite\"\npath = {:?}\ntables = [\"lines\", \"tags\"]\nbatch_rows = 500\ncheckpoint_rows = 1000\n\n[sink]\nkind = \"parquet\"\npath = \"out\"\n",
            db.to_str().unwrap()
        ),
    );
    let state = dir.path().join("job.state.json");
    let mut child = ferry()
        .current_dir(dir.path())
        .args(["run", job.to_str().unwrap(), "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut killed_at = 0;
    while started.elapsed() < Duration::from_secs(120) {
        let durable = state_rows(&state, "lines");
        if durable > 0 {
            child.kill().unwrap();
            killed_at = durable;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.wait();
    assert!(
        killed_at > 0 && killed_at < LINES,
        "ferry must be killed after a checkpoint and before the end (durable rows {killed_at})"
    );

    let rerun = ferry()
        .current_dir(dir.path())
        .args(["run", job.to_str().unwrap(), "--quiet", "--json"])
        .output()
        .unwrap();
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    let report = json(&rerun);
    assert_eq!(report["resumed"], true, "{report}");
    let stream = &report["streams"][0];
    assert_eq!(stream["name"], "lines", "{report}");
    assert!(stream["resumed_rows"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(stream["rows"].as_u64().unwrap(), LINES, "{report}");

    let ids = run_python(
        "import sys, pyarrow.parquet as pq\n\
         ids = pq.read_table(sys.argv[1]).column('id').to_pylist()\n\
         n = int(sys.argv[2])\n\
         assert sorted(ids) == list(range(1, n + 1)), ('duplicates or gaps', len(ids), len(set(ids)))\n\
         print(len(ids))",
        &[
            dir.path().join("out/lines").to_str().unwrap(),
            &LINES.to_string(),
        ],
    )
    .unwrap();
    assert_eq!(ids.trim(), LINES.to_string());
}

#[test]
fn bad_files_and_values_give_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();

    let missing = dir.path().join("missing.db");
    let spec = format!("sqlite:{}", missing.display());
    one_clear_line(
        &ferry().args(["discover", &spec]).output().unwrap(),
        "missing.db",
    );

    let fake = write(dir.path(), "fake.sqlite", "id,name\n1,a\n");
    let spec = format!("sqlite:{}", fake.display());
    let failed = ferry().args(["discover", &spec]).output().unwrap();
    one_clear_line(&failed, "fake.sqlite");
    assert!(stderr(&failed).contains("not a SQLite database"));

    let mut garbage = b"SQLite format 3\0".to_vec();
    garbage.extend(std::iter::repeat_n(0x5Au8, 8192));
    let broken = write(dir.path(), "broken.db", garbage);
    one_clear_line(
        &ferry()
            .args(["extract", broken.to_str().unwrap(), "--out", out_s])
            .output()
            .unwrap(),
        "broken.db",
    );

    let Some(_) = python() else { return };
    let db = dir.path().join("mixed.db");
    run_python(
        "import sqlite3, sys\n\
         c = sqlite3.connect(sys.argv[1])\n\
         c.execute('CREATE TABLE stock (id INTEGER PRIMARY KEY, qty INTEGER)')\n\
         c.executemany('INSERT INTO stock VALUES (?, ?)', [(1, 5), (7, 'abc'), (9, 3)])\n\
         c.commit()",
        &[db.to_str().unwrap()],
    )
    .unwrap();
    let failed = ferry()
        .args(["extract", db.to_str().unwrap(), "--out", out_s])
        .output()
        .unwrap();
    one_clear_line(
        &failed,
        "mixed.db table \"stock\" (column \"qty\"): rowid 7",
    );
}
