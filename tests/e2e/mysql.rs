//! The MySQL/MariaDB source against the real server at 127.0.0.1:3306 (user root, no
//! password), through the `ferry` binary: every supported type round-trips value by
//! value (checked with pyarrow against what the server itself returns), a `kill -9`
//! mid-table is resumed from the checkpoint without duplicates or gaps, and bad
//! credentials, names and permissions give one clear line without the password.
//! Each test creates its own database (and users) and drops them.
//!
//! The tests skip with a message when the server is not reachable, and fail when `CI` is set.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::postgres::one_clear_line;
use crate::util::*;

const HOST: &str = "127.0.0.1";
const PORT: &str = "3306";

/// The command-line client: `mariadb`, or `mysql` where only that name exists.
fn client() -> Option<&'static str> {
    static CLIENT: OnceLock<Option<&'static str>> = OnceLock::new();
    *CLIENT.get_or_init(|| {
        ["mariadb", "mysql"].into_iter().find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    })
}

fn mysql_reachable() -> bool {
    let ok = client().is_some_and(|c| {
        Command::new(c)
            .args(["-h", HOST, "-P", PORT, "-u", "root", "-e", "SELECT 1"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        assert!(
            !mandatory(),
            "MariaDB/MySQL at {HOST}:{PORT} (user root, no password) and its client are required when CI is set"
        );
        eprintln!("MariaDB/MySQL at {HOST}:{PORT} is not reachable: skipping");
    }
    ok
}

/// Runs SQL (given on stdin) as root, in `db` when given; returns stdout, tab-separated,
/// raw (no escaping) and without column names. Panics with the server's error.
fn sql_in(db: Option<&str>, sql: &str) -> String {
    let mut cmd = Command::new(client().expect("a mariadb/mysql client"));
    cmd.args([
        "-h",
        HOST,
        "-P",
        PORT,
        "-u",
        "root",
        "--default-character-set=utf8mb4",
        "--batch",
        "--raw",
        "--skip-column-names",
    ]);
    if let Some(db) = db {
        cmd.args(["-D", db]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the mariadb client runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "mariadb failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        if sql.len() > 2000 { &sql[..2000] } else { sql }
    );
    String::from_utf8(out.stdout)
        .expect("the client prints UTF-8")
        .trim_end_matches('\n')
        .to_owned()
}

/// A database of its own (and the users made for it), dropped at the end of the test.
struct TestDb {
    name: String,
    users: Vec<String>,
}

impl TestDb {
    fn new(tag: &str) -> Option<TestDb> {
        if !mysql_reachable() {
            return None;
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("ferry_e2e_{tag}_{}_{nanos}", std::process::id());
        sql_in(
            None,
            &format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
        );
        Some(TestDb {
            name,
            users: Vec::new(),
        })
    }

    fn url(&self) -> String {
        format!("mysql://root@{HOST}:{PORT}/{}", self.name)
    }

    fn sql(&self, sql: &str) -> String {
        sql_in(Some(&self.name), sql)
    }

    /// Creates `'ferry_e2e_TAG_PID'@'%'` with `password`; dropped with the database.
    fn user(&mut self, tag: &str, password: &str) -> String {
        let user = format!("ferry_e2e_{tag}_{}", std::process::id());
        sql_in(
            None,
            &format!(
                "DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY '{password}';"
            ),
        );
        self.users.push(user.clone());
        user
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let mut sql = format!("DROP DATABASE IF EXISTS `{}`;", self.name);
        for user in &self.users {
            sql.push_str(&format!(" DROP USER IF EXISTS '{user}'@'%';"));
        }
        if let Some(c) = client()
            && let Ok(mut child) = Command::new(c)
                .args(["-h", HOST, "-P", PORT, "-u", "root"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
        {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(sql.as_bytes());
            }
            let _ = child.wait();
        }
    }
}

fn json_report(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "report is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(out),
            stderr(out)
        )
    })
}

/// `CASE` that turns a zero date (zero month or day) into NULL, as ferry documents.
macro_rules! unless_zero {
    ($col:literal, $expr:literal) => {
        concat!(
            "CASE WHEN MONTH(",
            $col,
            ") = 0 OR DAYOFMONTH(",
            $col,
            ") = 0 THEN NULL ELSE CAST(",
            $expr,
            " AS CHAR) END"
        )
    };
}

/// The exact value of a FLOAT/DOUBLE as text, with the sign of a zero (the server
/// prints `-0` as `0`; `ATAN2(-0, -1)` is -π).
macro_rules! exact_float {
    ($col:literal) => {
        concat!(
            "CASE WHEN ",
            $col,
            " = 0 AND ATAN2(",
            $col,
            ", -1) < 0 THEN '-0' ELSE CAST(CAST(",
            $col,
            " AS DOUBLE) AS CHAR) END"
        )
    };
}

/// Columns of the round-trip table: name, SQL type, the server-side expression whose
/// text the Parquet value must equal, how Python compares, and the Arrow type.
const COLUMNS: &[(&str, &str, &str, &str, &str)] = &[
    ("id", "INT PRIMARY KEY", "CAST(id AS CHAR)", "int", "int32"),
    ("ti", "TINYINT", "CAST(ti AS CHAR)", "int", "int8"),
    (
        "tiu",
        "TINYINT UNSIGNED",
        "CAST(tiu AS CHAR)",
        "int",
        "uint8",
    ),
    ("tb", "TINYINT(1)", "CAST(tb AS CHAR)", "int", "int8"),
    ("si", "SMALLINT", "CAST(si AS CHAR)", "int", "int16"),
    (
        "siu",
        "SMALLINT UNSIGNED",
        "CAST(siu AS CHAR)",
        "int",
        "uint16",
    ),
    ("mi", "MEDIUMINT", "CAST(mi AS CHAR)", "int", "int32"),
    (
        "miu",
        "MEDIUMINT UNSIGNED",
        "CAST(miu AS CHAR)",
        "int",
        "uint32",
    ),
    ("ii", "INT", "CAST(ii AS CHAR)", "int", "int32"),
    ("iiu", "INT UNSIGNED", "CAST(iiu AS CHAR)", "int", "uint32"),
    ("bi", "BIGINT", "CAST(bi AS CHAR)", "int", "int64"),
    (
        "biu",
        "BIGINT UNSIGNED",
        "CAST(biu AS CHAR)",
        "int",
        "uint64",
    ),
    (
        "d38",
        "DECIMAL(38,0)",
        "CAST(d38 AS CHAR)",
        "dec",
        "decimal128(38, 0)",
    ),
    (
        "d38s",
        "DECIMAL(38,30)",
        "CAST(d38s AS CHAR)",
        "dec",
        "decimal128(38, 30)",
    ),
    (
        "d12",
        "DECIMAL(12,2)",
        "CAST(d12 AS CHAR)",
        "dec",
        "decimal128(12, 2)",
    ),
    (
        "d65",
        "DECIMAL(65,30)",
        "CAST(d65 AS CHAR)",
        "dec",
        "decimal256(65, 30)",
    ),
    (
        "d650",
        "DECIMAL(65,0)",
        "CAST(d650 AS CHAR)",
        "dec",
        "decimal256(65, 0)",
    ),
    ("f", "FLOAT", exact_float!("f"), "float", "float"),
    ("dbl", "DOUBLE", exact_float!("dbl"), "float", "double"),
    ("b1", "BIT(1)", "CAST(b1 + 0 AS CHAR)", "int", "bool"),
    ("b64", "BIT(64)", "CAST(b64 + 0 AS CHAR)", "int", "uint64"),
    (
        "dd",
        "DATE",
        unless_zero!("dd", "DATEDIFF(dd, '1970-01-01')"),
        "int",
        "date32[day]",
    ),
    (
        "dnn",
        "DATE NOT NULL",
        unless_zero!("dnn", "DATEDIFF(dnn, '1970-01-01')"),
        "int",
        "date32[day]",
    ),
    (
        "dt",
        "DATETIME(6)",
        unless_zero!(
            "dt",
            "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', dt)"
        ),
        "int",
        "timestamp[us, tz=UTC]",
    ),
    (
        "ts",
        "TIMESTAMP(6) NULL DEFAULT NULL",
        // UNIX_TIMESTAMP of a TIMESTAMP column is its stored UTC instant, whatever
        // the session's time zone.
        unless_zero!("ts", "CAST(UNIX_TIMESTAMP(ts) * 1000000 AS SIGNED)"),
        "int",
        "timestamp[us, tz=UTC]",
    ),
    (
        "tm",
        "TIME(6)",
        "CAST(HOUR(tm) * 3600000000 + MINUTE(tm) * 60000000 + SECOND(tm) * 1000000 + MICROSECOND(tm) AS CHAR)",
        "int",
        "time64[us]",
    ),
    ("yr", "YEAR", "CAST(yr + 0 AS CHAR)", "int", "int16"),
    ("ch", "CHAR(10)", "ch", "str", "string"),
    ("vc", "VARCHAR(200)", "vc", "str", "string"),
    ("tx", "TEXT", "tx", "str", "string"),
    ("mt", "MEDIUMTEXT", "mt", "str", "string"),
    (
        "l1",
        "VARCHAR(60) CHARACTER SET latin1",
        "l1",
        "str",
        "string",
    ),
    ("bn", "BINARY(4)", "HEX(bn)", "hex", "binary"),
    ("vb", "VARBINARY(16)", "HEX(vb)", "hex", "binary"),
    ("bl", "BLOB", "HEX(bl)", "hex", "binary"),
    ("en", "ENUM('a', 'b', '😀 émoji')", "en", "str", "string"),
    ("st", "SET('x', 'y', 'z')", "st", "str", "string"),
    ("js", "JSON", "CAST(js AS CHAR)", "str", "string"),
];

/// Row 1 is all NULL, 2 holds minimums, 3 maximums, 4 zero dates (and other oddities
/// allowed with `sql_mode = ''`), 5 ordinary values. Written at `time_zone = '+05:30'`,
/// so that TIMESTAMP values must be converted to UTC.
const ROWS: &str = r#"
SET time_zone = '+05:30';
INSERT INTO alltypes (id, dnn) VALUES (1, '2000-01-01');
INSERT INTO alltypes VALUES (2,
  -128, 0, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
  -99999999999999999999999999999999999999, -99999999.999999999999999999999999999999, -0.00,
  -99999999999999999999999999999999999.999999999999999999999999999999,
  -99999999999999999999999999999999999999999999999999999999999999999,
  -0e0, -0e0, b'0', 0,
  '1000-01-01', '1000-01-01', '1000-01-01 00:00:00.000000', '1970-01-01 05:30:01.000000', '00:00:00', 1901,
  '', '', '', '', '', x'', x'', x'', 'a', '', '{}');
INSERT INTO alltypes VALUES (3,
  127, 255, 2, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
  9223372036854775807, 18446744073709551615,
  99999999999999999999999999999999999999, 99999999.999999999999999999999999999999, 9999999999.99,
  99999999999999999999999999999999999.999999999999999999999999999999,
  99999999999999999999999999999999999999999999999999999999999999999,
  3.40282e38, 1.7976931348623157e308, b'1', x'FFFFFFFFFFFFFFFF',
  '9999-12-31', '9999-12-31', '9999-12-31 23:59:59.999999', '2038-01-19 08:44:07.999999',
  '23:59:59.999999', 2155,
  'émoji 🦀', 'tab\there\nnew line\\back "double" ''single'' 漢字', '漢字かな한국어 🦀😀 \0 nul',
  REPEAT('ab🦀\n', 50000), 'Ça été déjà vu, Noël à Zürich: ñ ÿ ß ø',
  x'00ff5c0a', x'5c4e00', x'00', '😀 émoji', 'x,z', '{"a":  [1, 2.50, "x"], "🦀": null}');
SET SESSION sql_mode = '';
INSERT INTO alltypes VALUES (4,
  0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1,
  0, -0.000000000000000000000000000001, -0.0, 0.000000000000000000000000000001, 0,
  1.17549435e-38, 2.2250738585072014e-308, NULL, 1,
  '0000-00-00', '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '12:00:00', 0,
  ' lead', '\r\n', '\\N', 'NULL', ' trailing  ', x'5c', x'0d0a', x'ffd8ffe0', 'not a member', 'x,y,z', 'null');
INSERT INTO alltypes VALUES (5,
  -1, 128, -1, -1, 32768, -1, 8388608, -1, 2147483648, -1, 9223372036854775808,
  12345678901234567890123456789012345678, 0.000000000000000000000000000001, -12.34,
  -0.000000000000000000000000000001, 12345678901234567890123456789012345678901234567890123456789012345,
  0.1, 4.9e-324, b'1', 258,
  '2024-02-00', '1970-01-01', '1970-01-01 00:00:00.000001', '2025-03-30 02:30:00.125',
  '12:34:56.789012', 1999,
  'CJK 漢字', 'a\tb', 'x', 'y', 'naïve café', x'01020304', x'', NULL, 'b', 'y', '"\\u00e9"');
"#;

const CHECK_SCRIPT: &str = r#"
import sys, json, math
from decimal import Decimal
import pyarrow as pa, pyarrow.parquet as pq
path, expected_path, kinds_json = sys.argv[1], sys.argv[2], sys.argv[3]
kinds = json.loads(kinds_json)
table = pq.read_table(path).sort_by('id')
expected = [json.loads(line, parse_float=Decimal)
            for line in open(expected_path, encoding='utf-8').read().splitlines()]
cols = {}
for name, kind in kinds:
    col = table.column(name)
    if kind == 'int':
        t = col.type
        if pa.types.is_date32(t):
            col = col.cast(pa.int32())
        elif pa.types.is_timestamp(t) or pa.types.is_time(t):
            col = col.cast(pa.int64())
    cols[name] = col.to_pylist()
def same(kind, want, got):
    if want is None or got is None:
        return want is None and got is None
    if kind == 'int':
        return str(int(got)) == want
    if kind == 'dec':
        # Exact: fixed-point text keeps the scale (str() would print 1E-30).
        return isinstance(got, Decimal) and format(got, 'f') == want
    if kind == 'float':
        w = float(want)
        return w == got and math.copysign(1, w) == math.copysign(1, got)
    if kind == 'str':
        return got == want
    if kind == 'hex':
        return got.hex().upper() == want
    raise ValueError(kind)
bad = []
if len(expected) != table.num_rows:
    bad.append(f'rows: expected {len(expected)}, parquet has {table.num_rows}')
compared = 0
for r, row in enumerate(expected):
    if len(row) != len(kinds):
        bad.append(f'row {r}: the server gave {len(row)} values for {len(kinds)} columns')
        continue
    for c, (name, kind) in enumerate(kinds):
        got = cols[name][r] if r < table.num_rows else '<missing>'
        compared += 1
        if not same(kind, row[c], got):
            w, g = repr(row[c]), repr(got)
            bad.append(f'row {r} column {name}: server {w[:200]}, parquet {g[:200]}')
for name, kind in kinds:
    print(f'type {name} {table.schema.field(name).type}')
ids = cols['id']
zero = ids.index(4) if 4 in ids else None
print('zero-date row', None if zero is None else [cols[c][zero] for c in ('dd', 'dnn', 'dt', 'ts')])
print('\n'.join(bad) if bad else f'OK {compared}')
"#;

#[test]
fn every_type_round_trips_value_by_value() {
    let Some(db) = TestDb::new("types") else {
        return;
    };
    let ddl: Vec<String> = COLUMNS
        .iter()
        .map(|(name, ty, ..)| format!("`{name}` {ty}"))
        .collect();
    db.sql(&format!(
        "CREATE TABLE alltypes ({}) ENGINE=InnoDB; {ROWS}",
        ddl.join(", ")
    ));
    // The fixture is what it claims: zero dates are stored as such, the latin1 column
    // really is latin1, and a DOUBLE -0 became whatever the server keeps.
    assert_eq!(
        db.sql(
            "SELECT CONCAT_WS('|', CAST(dd AS CHAR), CAST(dnn AS CHAR), CAST(dt AS CHAR), CAST(ts AS CHAR), \
             CAST(d12 AS CHAR)) FROM alltypes WHERE id = 4"
        ),
        "0000-00-00|0000-00-00|0000-00-00 00:00:00.000000|0000-00-00 00:00:00.000000|0.00"
    );
    assert_eq!(
        db.sql(
            "SELECT CONCAT(CHARACTER_SET_NAME, ' ', OCTET_LENGTH(l1)) FROM information_schema.COLUMNS, alltypes \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'alltypes' AND COLUMN_NAME = 'l1' AND id = 3"
        ),
        // One byte per character in latin1.
        format!(
            "latin1 {}",
            "Ça été déjà vu, Noël à Zürich: ñ ÿ ß ø".chars().count()
        )
    );

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    ferry_ok(&[
        "extract",
        &db.url(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);

    // What the server says, one JSON array per row, in key order.
    let exprs: Vec<&str> = COLUMNS.iter().map(|c| c.2).collect();
    let expected = db.sql(&format!(
        "SET time_zone = '+00:00'; SELECT JSON_ARRAY({}) FROM alltypes ORDER BY id",
        exprs.join(", ")
    ));
    assert_eq!(expected.lines().count(), 5, "five rows on the server");
    let expected_path = dir.path().join("expected.jsonl");
    std::fs::write(&expected_path, expected).unwrap();
    let kinds: Vec<(&str, &str)> = COLUMNS.iter().map(|c| (c.0, c.3)).collect();
    let folder = out.join(format!("{}.alltypes", db.name));
    let Some(report) = run_python(
        CHECK_SCRIPT,
        &[
            folder.to_str().unwrap(),
            expected_path.to_str().unwrap(),
            &serde_json::to_string(&kinds).unwrap(),
        ],
    ) else {
        return;
    };
    let last = report.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        format!("OK {}", 5 * COLUMNS.len()),
        "values differ:\n{report}"
    );
    assert!(
        report.contains("zero-date row [None, None, None, None]"),
        "zero dates must be NULL:\n{report}"
    );
    for (name, _, _, _, arrow) in COLUMNS {
        let want = format!("type {name} {arrow}\n");
        assert!(report.contains(&want), "missing {want:?} in\n{report}");
    }
}

/// Counts, distinct keys, key sum, min and max of an extracted stream, by pyarrow.
fn parquet_summary(folder: &Path) -> Option<String> {
    run_python(
        "import sys, pyarrow.parquet as pq, pyarrow.compute as pc\n\
         t = pq.read_table(sys.argv[1])\n\
         ids = t.column('id')\n\
         print(t.num_rows, len(pc.unique(ids)), pc.sum(ids).as_py(), pc.min(ids).as_py(), pc.max(ids).as_py())",
        &[folder.to_str().unwrap()],
    )
    .map(|s| s.trim().to_owned())
}

fn state_rows(out: &Path, stream: &str) -> u64 {
    std::fs::read(out.join("_ferry/state.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["streams"][stream]["resume"]["rows"].as_u64())
        .unwrap_or(0)
}

#[test]
fn kill_9_mid_table_resumes_from_the_checkpoint() {
    let Some(db) = TestDb::new("resume") else {
        return;
    };
    db.sql(
        "CREATE TABLE big (id BIGINT PRIMARY KEY, amount DECIMAL(12,2), note VARCHAR(40)) ENGINE=InnoDB; \
         INSERT INTO big SELECT seq, (seq % 100000) / 100, CONCAT('line ', seq) FROM seq_1_to_600000; \
         ANALYZE TABLE big;",
    );
    // What the server holds: count, distinct ids, sum, min, max.
    let source = db.sql("SELECT COUNT(*), COUNT(DISTINCT id), SUM(id), MIN(id), MAX(id) FROM big");
    let source = source.replace('\t', " ");
    let rows: u64 = source.split(' ').next().unwrap().parse().unwrap();
    assert!(rows >= 600_000, "{source}");

    let url = format!(
        "{}?partitions=2&partition_min_rows=1&batch_rows=5000&checkpoint_rows=50000",
        db.url()
    );
    let stream = format!("{}.big", db.name);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut child = ferry()
        .args(["extract", &url, "--out", out.to_str().unwrap(), "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut killed_at = 0;
    while started.elapsed() < Duration::from_secs(120) {
        let durable = state_rows(&out, &stream);
        if durable > 0 {
            // SIGKILL: no chance to clean up or to save anything more.
            child.kill().unwrap();
            killed_at = durable;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.wait();
    assert!(
        killed_at > 0 && killed_at < rows,
        "ferry must be killed after a checkpoint and before the end (durable rows {killed_at})"
    );

    let rerun = ferry_ok(&[
        "extract",
        &url,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--json",
    ]);
    let report = json_report(&rerun);
    assert_eq!(report["resumed"], true, "{report}");
    let s = &report["streams"][0];
    assert_eq!(s["name"], stream.as_str(), "{report}");
    let resumed_rows = s["resumed_rows"].as_u64().unwrap();
    assert!(
        resumed_rows > 0 && resumed_rows < rows,
        "did not resume from the checkpoint: {report}"
    );
    assert_eq!(s["rows"].as_u64().unwrap(), rows, "{report}");
    eprintln!("killed after {killed_at} durable rows; the rerun resumed after {resumed_rows}");

    if let Some(summary) = parquet_summary(&out.join(&stream)) {
        assert_eq!(summary, source, "duplicates or gaps (parquet vs server)");
    }
}

#[test]
fn bad_credentials_names_and_permissions_give_one_clear_line() {
    let Some(mut db) = TestDb::new("errors") else {
        return;
    };
    db.sql(
        "CREATE TABLE secret (id INT PRIMARY KEY); INSERT INTO secret VALUES (1); \
         CREATE TABLE open_t (id INT PRIMARY KEY); INSERT INTO open_t VALUES (1);",
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    let extract = |url: &str, extra: &[&str]| {
        ferry()
            .args(["extract", url, "--out", out_s])
            .args(extra)
            .output()
            .unwrap()
    };

    // Wrong password: refused, and neither password shows.
    let right = "right-Pass-e2e";
    let wrong = "wrong-Pass-e2e";
    let user = db.user("pw", right);
    db.sql(&format!("GRANT SELECT ON `{}`.* TO '{user}'@'%'", db.name));
    let url = |password: &str| format!("mysql://{user}:{password}@{HOST}:{PORT}/{}", db.name);
    let o = extract(&url(wrong), &[]);
    one_clear_line(&o, "Access denied");
    let err = stderr(&o);
    assert!(err.contains(&user), "names the user: {err}");
    assert!(
        !err.contains(wrong) && !err.contains(right),
        "a password leaked: {err}"
    );
    // The same from MYSQL_PWD.
    let no_pw_url = format!("mysql://{user}@{HOST}:{PORT}/{}", db.name);
    let o = ferry()
        .args(["extract", &no_pw_url, "--out", out_s])
        .env("MYSQL_PWD", wrong)
        .output()
        .unwrap();
    one_clear_line(&o, "Access denied");
    assert!(!stderr(&o).contains(wrong), "{}", stderr(&o));
    // The right password works (so the refusals above were about the password).
    let found = ferry_ok(&["discover", &url(right)]);
    assert!(
        stdout(&found).contains(&format!("{}.secret", db.name)),
        "{}",
        stdout(&found)
    );

    // Unknown database.
    let missing = format!("{}_missing", db.name);
    let o = extract(&format!("mysql://root@{HOST}:{PORT}/{missing}"), &[]);
    one_clear_line(&o, "Unknown database");
    assert!(stderr(&o).contains(&missing), "{}", stderr(&o));

    // Missing table (streams are `database.table`).
    let nope = format!("{}.nope", db.name);
    let o = extract(&db.url(), &["--streams", &nope]);
    one_clear_line(&o, &nope);

    // No privilege at all on the database: refused at connection.
    let nobody = db.user("none", "pw-none-e2e");
    let o = extract(
        &format!("mysql://{nobody}:pw-none-e2e@{HOST}:{PORT}/{}", db.name),
        &[],
    );
    one_clear_line(&o, "Access denied");
    assert!(stderr(&o).contains("lacks a privilege"), "{}", stderr(&o));

    // A table the user sees (it may INSERT) but may not SELECT. Without RELOAD ferry
    // also warns that it reads through one connection, so `--quiet` (errors only) is
    // what must be a single line here.
    let writer = db.user("noselect", "pw-noselect-e2e");
    db.sql(&format!(
        "GRANT INSERT ON `{0}`.`secret` TO '{writer}'@'%'; GRANT SELECT ON `{0}`.`open_t` TO '{writer}'@'%'",
        db.name
    ));
    let o = extract(
        &format!("mysql://{writer}:pw-noselect-e2e@{HOST}:{PORT}/{}", db.name),
        &["--quiet", "--streams", &format!("{}.secret", db.name)],
    );
    one_clear_line(&o, "SELECT command denied");
    let err = stderr(&o);
    assert!(
        err.contains("secret") && err.contains("lacks a privilege"),
        "{err}"
    );
    assert!(!err.contains("pw-noselect-e2e"), "{err}");

    // Nothing listening.
    let o = extract(&format!("mysql://root@{HOST}:1/x"), &[]);
    one_clear_line(&o, "127.0.0.1:1");
}
