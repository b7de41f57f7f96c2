//! The PostgreSQL source against the real server at 127.0.0.1:5432: every supported type
//! round-trips value by value (checked with pyarrow against what the server returns), a
//! concurrent writer cannot tear a parallel extraction, killed connections and a
//! `kill -9` of ferry are survived without duplicates or gaps, and bad credentials or
//! names give one clear line. Each test creates its own database and drops it.
//!
//! The tests skip with a message when the server is not reachable, and fail when `CI` is set.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

/// A database of its own, dropped at the end of the test.
pub(crate) struct TestDb {
    name: String,
}

impl TestDb {
    pub(crate) fn new(tag: &str) -> Option<TestDb> {
        if !postgres_reachable() {
            return None;
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("ferry_e2e_{tag}_{}_{nanos}", std::process::id());
        psql_in("postgres", &format!("CREATE DATABASE {name}"));
        Some(TestDb { name })
    }

    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    pub(crate) fn psql(&self, sql: &str) -> String {
        psql_in(&self.name, sql)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-XAtq",
                "-d",
                "postgres",
                "-c",
            ])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .output();
    }
}

fn psql_in(db: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-XAtq",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            db,
            "-c",
            sql,
        ])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql failed: {}\n{sql}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
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

/// Columns of the round-trip table: name, SQL type, the server-side text the value must
/// equal, and how the Python side turns the Parquet value into comparable form.
const COLUMNS: &[(&str, &str, &str, &str)] = &[
    ("id", "int PRIMARY KEY", "id::text", "str"),
    ("i2", "smallint", "i2::text", "str"),
    ("i8", "bigint", "i8::text", "str"),
    ("n38", "numeric(38,0)", "n38::text", "dec"),
    ("n12", "numeric(12,2)", "n12::text", "dec"),
    ("nsmall", "numeric(38,37)", "nsmall::text", "dec"),
    (
        "nfree",
        "numeric",
        "CASE WHEN nfree IN ('NaN', 'Infinity', '-Infinity') THEN NULL ELSE nfree::text END",
        "decnum",
    ),
    ("f4", "real", "f4::text", "f4"),
    ("f8", "double precision", "f8::text", "f8"),
    ("t", "text", "t", "str"),
    ("vc", "varchar(20)", "vc", "str"),
    ("ch", "char(5)", "ch", "str"),
    ("b", "boolean", "b::text", "bool"),
    (
        "d",
        "date",
        "CASE WHEN isfinite(d) THEN (d - DATE '1970-01-01')::text END",
        "int",
    ),
    (
        "tm",
        "time",
        "(extract(epoch FROM tm) * 1000000)::bigint::text",
        "int",
    ),
    (
        "ts",
        "timestamp",
        "CASE WHEN isfinite(ts) THEN (extract(epoch FROM ts) * 1000000)::bigint::text END",
        "int",
    ),
    (
        "tz",
        "timestamptz",
        "CASE WHEN isfinite(tz) THEN (extract(epoch FROM tz) * 1000000)::bigint::text END",
        "int",
    ),
    ("iv", "interval", "iv::text", "str"),
    ("u", "uuid", "u::text", "str"),
    ("j", "json", "j::text", "str"),
    ("jb", "jsonb", "jb::text", "str"),
    ("by", "bytea", "encode(by, 'hex')", "hex"),
    ("e", "mood", "e::text", "str"),
    ("dm", "amount", "dm::text", "dec"),
    ("ai", "int[]", "to_jsonb(ai)", "json"),
    ("at", "text[]", "to_jsonb(at)", "json"),
    ("mo", "money", "mo::text", "str"),
    ("ip", "inet", "ip::text", "str"),
];

const ROWS: &str = r#"
INSERT INTO alltypes (id) VALUES (1);
INSERT INTO alltypes VALUES (2, -32768, 9223372036854775807,
  99999999999999999999999999999999999999, -0.00, 0.1234567890123456789012345678901234567, 3.14159,
  '-0', '-0', '', '', '', false,
  '4713-01-01 BC', '00:00', '0001-01-01 00:00:00', '1901-12-13 20:45:52+00', '0',
  '00000000-0000-0000-0000-000000000000', '{}', '{}', '\x', 'sad', 0,
  '{}', '{}', 0, '0.0.0.0');
INSERT INTO alltypes VALUES (3, 32767, -9223372036854775808,
  -99999999999999999999999999999999999999, 1234567890.12, -0.0000000000000000000000000000000000001, 'NaN',
  3.4028235e38, 'NaN', E'tab\there\nnew line\\back "double" ''single''', 'émoji 🦀', 'ab', true,
  '9999-12-31', '23:59:59.999999', '9999-12-31 23:59:59.999999', '2025-03-30 02:30:00+02',
  '1 year 2 mons 3 days 04:05:06.789',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2.50,   "x"]}',
  '{"en_US": "Desk", "fr_FR": "Bureau 🦀"}', '\x00ff5c0a', 'happy 😀', -12.34,
  '{1,NULL,3}', '{"a,b","quo\"te",NULL,""}', 12.34, '192.168.0.1/24');
INSERT INTO alltypes VALUES (4, 0, 0,
  1, 0.01, 0, 'Infinity',
  '-Infinity', 'Infinity', E'\r\n', E'\\N', ' ', NULL,
  'infinity', '12:00', '-infinity', 'infinity', '-1 days -00:00:01',
  NULL, 'null', '[1, "two", {"3": null}]', '\x5c4e', NULL, 99.99,
  NULL, '{"🦀"}', -0.01, '::1');
INSERT INTO alltypes VALUES (5, 1, 1,
  12345678901234567890123456789012345678, 99.5, 1e-37, 12345678901234567890.0123456789,
  1.5, 1e308, 'NULL', 'x', 'abcde', true,
  '1970-01-01', '00:00:00.000001', '2000-01-01 00:00:00', '1970-01-01 00:00:00+00', '1 mon',
  'ffffffff-ffff-ffff-ffff-ffffffffffff', '"s"', '"\u00e9"', '\xff', 'ok', 12.5,
  '{-2147483648,2147483647}', '{"tab\there","new\nline","back\\slash"}', 1000000, '10.0.0.0/8');
"#;

const CHECK_SCRIPT: &str = r#"
import sys, json, math, struct
from decimal import Decimal
import pyarrow as pa, pyarrow.parquet as pq
path, expected_path, kinds_json = sys.argv[1], sys.argv[2], sys.argv[3]
kinds = json.loads(kinds_json)
table = pq.read_table(path).sort_by('id')
expected = json.load(open(expected_path), parse_float=Decimal)
cols = {}
for name, kind in kinds:
    col = table.column(name)
    if kind == 'int':
        col = col.cast(pa.int32() if pa.types.is_date32(col.type) else pa.int64())
    cols[name] = col.to_pylist()
def same(kind, want, got):
    if want is None or got is None:
        return want is None and got is None
    if kind == 'str' or kind == 'int':
        return (got if isinstance(got, str) else str(got)) == want
    if kind == 'bool':
        return ('true' if got else 'false') == want
    if kind == 'dec':
        # Fixed-point text keeps the scale (str() would print 1E-37).
        return format(got, 'f') == want
    if kind == 'decnum':
        return Decimal(want) == got
    if kind in ('f4', 'f8'):
        w = float(want)
        if kind == 'f4':
            w = struct.unpack('>f', struct.pack('>f', w))[0]
        if math.isnan(w):
            return math.isnan(got)
        return w == got and math.copysign(1, w) == math.copysign(1, got)
    if kind == 'hex':
        return got.hex() == want
    if kind == 'json':
        return got == want
    raise ValueError(kind)
bad = []
if len(expected) != table.num_rows:
    bad.append(f'rows: expected {len(expected)}, parquet has {table.num_rows}')
compared = 0
for r, row in enumerate(expected):
    for c, (name, kind) in enumerate(kinds):
        got = cols[name][r] if r < table.num_rows else '<missing>'
        compared += 1
        if not same(kind, row[c], got):
            bad.append(f'row {r} column {name}: server {row[c]!r}, parquet {got!r}')
for name, kind in kinds:
    print(f'type {name} {table.schema.field(name).type}')
print('\n'.join(bad) if bad else f'OK {compared}')
"#;

#[test]
fn every_type_round_trips_value_by_value() {
    let Some(db) = TestDb::new("types") else {
        return;
    };
    let ddl: Vec<String> = COLUMNS
        .iter()
        .map(|(name, ty, _, _)| format!("{name} {ty}"))
        .collect();
    db.psql(&format!(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy 😀'); \
         CREATE DOMAIN amount AS numeric(12,2); \
         CREATE TABLE alltypes ({}); {ROWS}",
        ddl.join(", ")
    ));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    ferry_ok(&[
        "extract",
        &db.url(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);

    // What the server says, row by row, in one JSON document.
    let exprs: Vec<&str> = COLUMNS.iter().map(|c| c.2).collect();
    let expected = db.psql(&format!(
        "SET intervalstyle = 'iso_8601'; \
         SELECT json_agg(json_build_array({}) ORDER BY id) FROM alltypes",
        exprs.join(", ")
    ));
    let expected_path = dir.path().join("expected.json");
    std::fs::write(&expected_path, expected).unwrap();
    let kinds: Vec<(&str, &str)> = COLUMNS.iter().map(|c| (c.0, c.3)).collect();
    let Some(report) = run_python(
        CHECK_SCRIPT,
        &[
            out.join("public.alltypes").to_str().unwrap(),
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
    for want in [
        "type n38 decimal128(38, 0)",
        "type n12 decimal128(12, 2)",
        "type nfree decimal128(38, 10)",
        "type dm decimal128(12, 2)",
        "type tz timestamp[us, tz=UTC]",
        "type ts timestamp[us]",
        "type d date32[day]",
        "type tm time64[us]",
        "type ai list<item: int32>",
        "type at list<item: string>",
        "type by binary",
        "type jb string",
    ] {
        assert!(report.contains(want), "missing {want:?} in\n{report}");
    }
}

#[test]
fn discover_lists_tables_keys_and_estimates() {
    let Some(db) = TestDb::new("discover") else {
        return;
    };
    db.psql(
        "CREATE SCHEMA sales; \
         CREATE TABLE sales.sale_order (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(14,2)); \
         CREATE TABLE sales.sale_order_line (order_id bigint, seq int, qty numeric(12,3), PRIMARY KEY (order_id, seq)); \
         CREATE TABLE public.res_partner (id serial PRIMARY KEY, name jsonb); \
         INSERT INTO sales.sale_order SELECT g, 'SO' || g, g FROM generate_series(1, 1000) g; \
         ANALYZE sales.sale_order;",
    );
    let out = ferry_ok(&["discover", &db.url(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v.to_string();
    for name in [
        "sales.sale_order",
        "sales.sale_order_line",
        "public.res_partner",
    ] {
        assert!(
            text.contains(&format!("\"{name}\"")),
            "{name} missing: {text}"
        );
    }
    let streams = v["streams"]
        .as_array()
        .or_else(|| v.as_array())
        .expect("streams");
    let order = streams
        .iter()
        .find(|s| s["name"] == "sales.sale_order")
        .unwrap();
    assert_eq!(order["primary_key"], serde_json::json!(["id"]));
    assert_eq!(order["row_estimate"], 1000);
    assert_eq!(order["columns"][2]["type"], "Decimal128(14, 2)");
    assert_eq!(order["columns"][1]["nullable"], false);
    let lines = streams
        .iter()
        .find(|s| s["name"] == "sales.sale_order_line")
        .unwrap();
    assert_eq!(lines["primary_key"], serde_json::json!(["order_id", "seq"]));

    // `--streams` takes schema.table and globs.
    let out = ferry_ok(&["discover", &db.url(), "--streams", "sales.*", "--json"]);
    let text = stdout(&out);
    assert!(text.contains("sales.sale_order_line") && !text.contains("res_partner"));
}

/// Counts, distinct keys and the key sum of an extracted stream, by pyarrow.
fn parquet_summary(folder: &Path) -> Option<String> {
    run_python(
        "import sys, pyarrow.parquet as pq, pyarrow.compute as pc\n\
         t = pq.read_table(sys.argv[1])\n\
         ids = t.column('id')\n\
         print(t.num_rows, len(pc.unique(ids)), pc.sum(ids).as_py())",
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
    let rows: u64 = 1_500_000;
    db.psql(&format!(
        "CREATE TABLE big (id bigint PRIMARY KEY, amount numeric(12,2), note text); \
         INSERT INTO big SELECT g, (g % 100000) / 100.0, 'line ' || g FROM generate_series(1, {rows}) g; \
         ANALYZE big;"
    ));
    let url = format!(
        "{}?partitions=2&partition_min_rows=1&batch_rows=5000&checkpoint_rows=50000",
        db.url()
    );
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
        let durable = state_rows(&out, "public.big");
        if durable > 0 {
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
    let stream = &report["streams"][0];
    let resumed_rows = stream["resumed_rows"].as_u64().unwrap();
    assert!(resumed_rows > 0, "did not resume: {report}");
    assert_eq!(stream["rows"].as_u64().unwrap(), rows, "{report}");

    if let Some(summary) = parquet_summary(&out.join("public.big")) {
        let sum = rows * (rows + 1) / 2;
        assert_eq!(
            summary,
            format!("{rows} {rows} {sum}"),
            "duplicates or gaps"
        );
    }
}

/// Waits until a `COPY` of this database is running; returns whether one was seen.
fn wait_for_copy(db: &TestDb, child: &mut std::process::Child) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let n = psql_in(
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND query LIKE 'COPY%' AND state = 'active'",
                db.name
            ),
        );
        if n != "0" {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn killed_connections_are_retried_or_fail_clearly_and_a_rerun_is_exact() {
    let Some(db) = TestDb::new("fault") else {
        return;
    };
    let rows: u64 = 1_000_000;
    db.psql(&format!(
        "CREATE TABLE big (id bigint PRIMARY KEY, note text); \
         INSERT INTO big SELECT g, repeat('x', 40) || g FROM generate_series(1, {rows}) g; \
         ANALYZE big;"
    ));
    let url = format!(
        "{}?partitions=2&partition_min_rows=1&batch_rows=5000&checkpoint_rows=50000",
        db.url()
    );
    let sum = rows * (rows + 1) / 2;
    let dir = tempfile::tempdir().unwrap();

    // 1. The COPY connections die: the workers reconnect into the same snapshot.
    let out = dir.path().join("retried");
    let mut child = ferry()
        .args(["extract", &url, "--out", out.to_str().unwrap(), "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for_copy(&db, &mut child), "no COPY was seen running");
    let killed = psql_in(
        "postgres",
        &format!(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{}' AND query LIKE 'COPY%') k",
            db.name
        ),
    );
    assert_ne!(killed, "0");
    let done = child.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "a lost COPY connection must be retried: {}",
        stderr(&done)
    );
    if let Some(summary) = parquet_summary(&out.join("public.big")) {
        assert_eq!(summary, format!("{rows} {rows} {sum}"));
    }

    // 2. Every connection dies, the snapshot's too: one clear line, then a rerun is exact.
    let out = dir.path().join("failed");
    let mut child = ferry()
        .args(["extract", &url, "--out", out.to_str().unwrap(), "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for_copy(&db, &mut child), "no COPY was seen running");
    psql_in(
        "postgres",
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
            db.name
        ),
    );
    let failed = child.wait_with_output().unwrap();
    let err = stderr(&failed);
    assert!(!failed.status.success(), "the run must fail: {err}");
    assert!(
        err.contains("postgres 127.0.0.1:5432") && !err.contains("panicked"),
        "unclear error: {err}"
    );
    ferry_ok(&["extract", &url, "--out", out.to_str().unwrap(), "--quiet"]);
    if let Some(summary) = parquet_summary(&out.join("public.big")) {
        assert_eq!(summary, format!("{rows} {rows} {sum}"));
    }
}

#[test]
fn a_concurrent_writer_cannot_tear_a_parallel_extraction() {
    let Some(db) = TestDb::new("snapshot") else {
        return;
    };
    let rows = 300_000;
    db.psql(&format!(
        "CREATE TABLE acct_a (id int PRIMARY KEY, amount numeric(14,2) NOT NULL); \
         CREATE TABLE acct_b (id int PRIMARY KEY, amount numeric(14,2) NOT NULL); \
         CREATE TABLE transfers (n bigint NOT NULL); INSERT INTO transfers VALUES (0); \
         INSERT INTO acct_a SELECT g, 100 FROM generate_series(1, {rows}) g; \
         INSERT INTO acct_b SELECT g, 100 FROM generate_series(1, {rows}) g; \
         ANALYZE;"
    ));
    // Moves money from a row of one table to a row of the other, one transaction each.
    let mut writer = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-XAtq",
            "-d",
            &db.name,
            "-c",
        ])
        .arg(format!(
            "DO $$ DECLARE k int; amt numeric; BEGIN \
             FOR i IN 1..10000000 LOOP \
               k := 1 + (random() * ({rows} - 1))::int; amt := (random() * 50)::numeric(14,2); \
               UPDATE acct_a SET amount = amount - amt WHERE id = k; \
               UPDATE acct_b SET amount = amount + amt WHERE id = {rows} + 1 - k; \
               UPDATE transfers SET n = n + 1; \
               COMMIT; \
             END LOOP; END $$"
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let transfers = || {
        psql_in(&db.name, "SELECT n FROM transfers")
            .parse::<u64>()
            .unwrap()
    };
    let wait_started = Instant::now();
    while transfers() < 100 && wait_started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = transfers();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let url = format!(
        "{}?partitions=2&partition_min_rows=1&batch_rows=4096",
        db.url()
    );
    ferry_ok(&[
        "extract",
        &url,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--concurrency",
        "2",
        "--streams",
        "acct_*",
    ]);
    let after = transfers();
    let _ = writer.kill();
    let _ = writer.wait();
    assert!(
        after > before,
        "the writer must be moving money during the extraction ({before} → {after})"
    );
    let Some(totals) = run_python(
        "import sys, pyarrow.parquet as pq, pyarrow.compute as pc\n\
         a = pq.read_table(sys.argv[1]); b = pq.read_table(sys.argv[2])\n\
         print(a.num_rows, b.num_rows, pc.sum(a.column('amount')).as_py() + pc.sum(b.column('amount')).as_py())",
        &[
            out.join("public.acct_a").to_str().unwrap(),
            out.join("public.acct_b").to_str().unwrap(),
        ],
    ) else {
        return;
    };
    assert_eq!(
        totals.trim(),
        format!("{rows} {rows} {}.00", 2 * rows * 100),
        "the extracted totals do not balance"
    );
}

#[test]
fn incremental_reads_take_rows_at_or_after_the_high_water_mark() {
    let Some(db) = TestDb::new("cursor") else {
        return;
    };
    db.psql(
        "CREATE TABLE sale_order (id int PRIMARY KEY, write_date timestamp NOT NULL, state text); \
         INSERT INTO sale_order SELECT g, TIMESTAMP '2025-01-01' + g * INTERVAL '1 minute', 'draft' \
         FROM generate_series(1, 1000) g; \
         INSERT INTO sale_order VALUES (1001, TIMESTAMP '2025-01-01' + 1000 * INTERVAL '1 minute', 'tie');",
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let url = db.url();
    let run = |quiet: bool| {
        let mut args = vec![
            "extract",
            &url,
            "--out",
            out.to_str().unwrap(),
            "--cursor",
            "public.sale_order=write_date",
            "--json",
        ];
        if quiet {
            args.push("--quiet");
        }
        ferry_ok(&args)
    };
    let extract = || json_report(&run(true));
    let first = extract();
    assert_eq!(first["streams"][0]["rows"], 1001, "{first}");
    // A row written at the same instant as the high-water mark, one after it, one updated.
    db.psql(
        "INSERT INTO sale_order VALUES (1002, TIMESTAMP '2025-01-01' + 1000 * INTERVAL '1 minute', 'same instant'); \
         INSERT INTO sale_order VALUES (1003, TIMESTAMP '2025-02-01', 'later'); \
         UPDATE sale_order SET state = 'sale', write_date = TIMESTAMP '2025-02-02' WHERE id = 5;",
    );
    let second = extract();
    assert_eq!(second["streams"][0]["mode"], "append", "{second}");
    assert_eq!(
        second["streams"][0]["rows"], 3,
        "rows 1002, 1003 and 5, not the two already seen at the mark: {second}"
    );
    let third = extract();
    assert_eq!(third["streams"][0]["rows"], 0, "{third}");
    // No index leads with write_date: an incremental read says it scans the table,
    // and stops saying so once the index exists.
    let unindexed = stderr(&run(false));
    assert!(
        unindexed.contains("No index leads with the cursor column")
            && unindexed.contains("CREATE INDEX ON"),
        "{unindexed}"
    );
    db.psql("CREATE INDEX ON sale_order (state, id); CREATE INDEX ON sale_order (write_date);");
    let indexed = stderr(&run(false));
    assert!(!indexed.contains("No index leads"), "{indexed}");
    if let Some(ids) = run_python(
        "import sys, pyarrow.parquet as pq\n\
         t = pq.read_table(sys.argv[1])\n\
         print(t.num_rows, sorted(t.column('id').to_pylist())[-3:])",
        &[out.join("public.sale_order").to_str().unwrap()],
    ) {
        assert_eq!(ids.trim(), "1004 [1001, 1002, 1003]");
    }
}

#[track_caller]
pub(crate) fn one_clear_line(out: &std::process::Output, needle: &str) {
    let err = stderr(out);
    assert!(!out.status.success(), "must fail: {err}");
    assert!(
        err.contains(needle),
        "expected {needle:?} in the error:\n{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "no stack trace: {err}"
    );
    let lines = err.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(lines <= 3, "one clear line, not {lines}:\n{err}");
}

#[test]
fn bad_names_and_permissions_give_one_clear_line() {
    let Some(db) = TestDb::new("errors") else {
        return;
    };
    db.psql("CREATE TABLE secret (id int PRIMARY KEY); INSERT INTO secret VALUES (1);");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();

    let unknown = format!("{}_missing", db.url());
    let o = ferry()
        .args(["extract", &unknown, "--out", out_s])
        .output()
        .unwrap();
    one_clear_line(&o, "does not exist");

    let o = ferry()
        .args([
            "extract",
            &db.url(),
            "--out",
            out_s,
            "--streams",
            "public.nope",
        ])
        .output()
        .unwrap();
    one_clear_line(&o, "public.nope");

    let role = format!("{}_reader", db.name);
    db.psql(&format!("CREATE ROLE {role} LOGIN"));
    let url = format!("postgres://{role}@127.0.0.1:5432/{}", db.name);
    let o = ferry()
        .args(["extract", &url, "--out", out_s])
        .output()
        .unwrap();
    one_clear_line(&o, "permission denied");
    db.psql(&format!("DROP OWNED BY {role}; DROP ROLE {role}"));

    let o = ferry()
        .args([
            "extract",
            "postgres://postgres@127.0.0.1:1/x",
            "--out",
            out_s,
        ])
        .output()
        .unwrap();
    one_clear_line(&o, "127.0.0.1:1");
}

/// A private PostgreSQL cluster with password authentication (the shared server at
/// 5432 trusts everybody): `initdb --auth=scram-sha-256` into a temporary folder,
/// started on a free port, stopped and removed when dropped.
struct PasswordCluster {
    bin: std::path::PathBuf,
    dir: tempfile::TempDir,
    as_postgres: bool,
    port: u16,
}

impl PasswordCluster {
    /// `None` (with a message) when the PostgreSQL binaries are not installed, outside CI.
    fn start(password: &str) -> Option<PasswordCluster> {
        let mut candidates: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin"))
            .collect();
        // Highest version first, then whatever is on PATH.
        candidates.sort_by_key(|p| {
            std::cmp::Reverse(
                p.parent()
                    .and_then(|v| v.file_name())
                    .and_then(|v| v.to_str())
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(0),
            )
        });
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path));
        }
        let Some(bin) = candidates
            .into_iter()
            .find(|b| b.join("initdb").is_file() && b.join("pg_ctl").is_file())
        else {
            assert!(
                !mandatory(),
                "initdb and pg_ctl are required when CI is set"
            );
            eprintln!("initdb/pg_ctl not found: skipping the password-authentication test");
            return None;
        };
        // The server refuses to run as root: as root, run it as the postgres user.
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if as_postgres
            && !Command::new("id")
                .arg("postgres")
                .output()
                .is_ok_and(|o| o.status.success())
        {
            assert!(!mandatory(), "a postgres user is required when CI is set");
            eprintln!("running as root without a postgres user: skipping");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("ferry-pgauth-")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::write(dir.path().join("pwfile"), format!("{password}\n")).unwrap();
        if as_postgres {
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(chown.success(), "chown to postgres failed");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = PasswordCluster {
            bin,
            dir,
            as_postgres,
            port,
        };
        let data = cluster.dir.path().join("data");
        let pwfile = cluster.dir.path().join("pwfile");
        cluster.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--auth=scram-sha-256".as_ref(),
                format!("--pwfile={}", pwfile.display()).as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-sync".as_ref(),
            ],
        );
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            cluster.port,
            cluster.dir.path().display()
        );
        let log = cluster.dir.path().join("log");
        cluster.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "start".as_ref(),
            ],
        );
        Some(cluster)
    }

    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) {
        let out = self.command(program).args(args).output().unwrap();
        let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
        assert!(
            out.status.success(),
            "{program} failed: {}{}\n{log}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self, password: &str) -> String {
        format!(
            "postgres://postgres:{password}@127.0.0.1:{}/postgres",
            self.port
        )
    }
}

impl Drop for PasswordCluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // The TempDir removes the folder after this.
    }
}

#[test]
fn a_wrong_password_gives_one_clear_line_without_the_password() {
    let right = "Right-pw-e2e-4711";
    let wrong = "Wrong-pw-e2e-0815";
    let Some(cluster) = PasswordCluster::start(right) else {
        return;
    };
    // The cluster really asks for the password: psql gets in with it.
    let made = Command::new(cluster.bin.join("psql"))
        .args(["-h", "127.0.0.1", "-p", &cluster.port.to_string()])
        .args([
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-XAtq",
            "-v",
            "ON_ERROR_STOP=1",
        ])
        .args([
            "-c",
            "CREATE TABLE guarded (id int PRIMARY KEY); INSERT INTO guarded VALUES (1);",
        ])
        .env("PGPASSWORD", right)
        .env_remove("PGPASSFILE")
        .output()
        .expect("psql runs");
    assert!(
        made.status.success(),
        "psql with the right password: {}",
        stderr(&made)
    );

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = ferry()
        .args([
            "extract",
            &cluster.url(wrong),
            "--out",
            out.to_str().unwrap(),
        ])
        .env_remove("PGPASSWORD")
        .output()
        .unwrap();
    one_clear_line(&o, "password authentication failed");
    let err = stderr(&o);
    assert!(
        !err.contains(wrong) && !err.contains(right),
        "a password leaked: {err}"
    );
    assert!(
        !out.join("public.guarded").exists(),
        "nothing is written when the login is refused"
    );

    // The right password works.
    let found = ferry_ok(&["discover", &cluster.url(right)]);
    assert!(
        stdout(&found).contains("public.guarded"),
        "{}",
        stdout(&found)
    );
    assert!(!stdout(&found).contains(right), "{}", stdout(&found));
}
