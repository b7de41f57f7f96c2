//! The `dump` source end to end: real dumps made by pg_dump and mysqldump from the
//! local servers, the recorded Odoo 19 backup and Dolibarr dump, and broken input.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;

use crate::util::{ferry, ferry_ok, mandatory, postgres_reachable, stderr};

fn samples() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples");
    if p.is_dir() {
        Some(p)
    } else {
        assert!(!mandatory(), "../shared/samples is required in CI");
        eprintln!("../shared/samples not found: skipping");
        None
    }
}

fn batches(dir: &Path) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    for f in files {
        let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(&f).unwrap(),
        )
        .unwrap()
        .build()
        .unwrap();
        for b in r {
            out.push(b.unwrap());
        }
    }
    out
}

fn rows_of(dir: &Path) -> usize {
    batches(dir).iter().map(RecordBatch::num_rows).sum()
}

/// COPY rows per table of a plain pg_dump, counted independently of ferry.
fn copy_counts(dump: impl BufRead) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in dump.split(b'\n') {
        let line = line.unwrap();
        if let Some(name) = &current {
            if line == b"\\." {
                current = None;
            } else {
                *out.get_mut(name).unwrap() += 1;
            }
        } else if line.starts_with(b"COPY ") && line.ends_with(b"FROM stdin;") {
            let text = String::from_utf8_lossy(&line[5..]).into_owned();
            let name = text.split([' ', '(']).next().unwrap().replace('"', "");
            out.insert(name.clone(), 0);
            current = Some(name);
        }
    }
    out
}

fn report_rows(report: &serde_json::Value) -> BTreeMap<String, (String, u64)> {
    report["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                (
                    s["status"].as_str().unwrap().to_owned(),
                    s["rows"].as_u64().unwrap_or(0),
                ),
            )
        })
        .collect()
}

fn run_job(dir: &Path, source: &str) -> (serde_json::Value, std::process::Output) {
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        format!("[source]\n{source}\n\n[sink]\nkind = \"parquet\"\npath = \"out\"\n"),
    )
    .unwrap();
    let out = ferry()
        .current_dir(dir)
        .args(["run", job.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (report, out)
}

#[test]
fn odoo_backup_zip_extracts_every_table_module_and_attachment() {
    let Some(samples) = samples() else { return };
    let zip = samples.join("odoo19/backup.zip");
    let dir = tempfile::tempdir().unwrap();
    let dump = Command::new("unzip")
        .arg("-p")
        .arg(&zip)
        .arg("dump.sql")
        .output()
        .unwrap();
    assert!(dump.status.success());
    let expected = copy_counts(&dump.stdout[..]);
    assert!(expected.len() > 100, "{} tables", expected.len());
    let manifest: serde_json::Value = serde_json::from_slice(
        &Command::new("unzip")
            .arg("-p")
            .arg(&zip)
            .arg("manifest.json")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();

    let disc = ferry_ok(&["discover", zip.to_str().unwrap(), "--json"]);
    let disc: serde_json::Value = serde_json::from_slice(&disc.stdout).unwrap();
    assert_eq!(disc["metadata"]["odoo_version"], "19.0");
    assert_eq!(disc["metadata"]["odoo_modules"], manifest["modules"]);

    let files = dir.path().join("files");
    let (report, out) = run_job(
        dir.path(),
        &format!(
            "kind = \"dump\"\npath = {:?}\nwith_files_dir = {:?}",
            zip.to_str().unwrap(),
            files.to_str().unwrap()
        ),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let got = report_rows(&report);
    for (table, rows) in &expected {
        assert_eq!(
            got.get(table),
            Some(&("written".to_owned(), *rows)),
            "{table}"
        );
    }
    let modules = manifest["modules"].as_object().unwrap().len() as u64;
    assert_eq!(got["odoo_manifest_modules"].1, modules);

    // Every file ir_attachment names is in the filestore stream, verified, and copied.
    let out_dir = dir.path().join("out");
    let mut store = BTreeMap::new();
    for b in batches(&out_dir.join("filestore")) {
        let (p, v) = (b.column(0).as_string::<i32>(), b.column(3).as_boolean());
        for i in 0..b.num_rows() {
            store.insert(p.value(i).to_owned(), v.value(i));
        }
    }
    let mut named = BTreeSet::new();
    for b in batches(&out_dir.join("public.ir_attachment")) {
        let col = b.column_by_name("store_fname").unwrap().as_string::<i32>();
        for i in 0..b.num_rows() {
            if col.is_valid(i) {
                named.insert(col.value(i).to_owned());
            }
        }
    }
    assert_eq!(named.len(), 686);
    for f in &named {
        assert_eq!(store.get(f), Some(&true), "{f}");
        let sum = Command::new("sha1sum").arg(files.join(f)).output().unwrap();
        let sum = String::from_utf8(sum.stdout).unwrap();
        assert_eq!(
            sum.split(' ').next().unwrap(),
            f.rsplit('/').next().unwrap()
        );
    }
}

#[test]
fn odoo_plain_gzip_dump_extracts_completely() {
    let Some(samples) = samples() else { return };
    let gz = samples.join("odoo19/pg_dump_ferry_demo.sql.gz");
    let dump = Command::new("zcat").arg(&gz).output().unwrap();
    let expected = copy_counts(&dump.stdout[..]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let res = ferry_ok(&[
        "extract",
        gz.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let got = report_rows(&serde_json::from_slice(&res.stdout).unwrap());
    assert_eq!(got.len(), expected.len());
    for (table, rows) in &expected {
        assert_eq!(
            got.get(table),
            Some(&("written".to_owned(), *rows)),
            "{table}"
        );
    }
    // Spot check: a jsonb translated name and a timestamp column read back.
    let partners = batches(&out.join("public.res_partner"));
    let schema = partners[0].schema();
    assert_eq!(
        schema.field_with_name("write_date").unwrap().data_type(),
        &DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None)
    );
}

#[test]
fn dolibarr_mariadb_dump_extracts_completely() {
    let Some(samples) = samples() else { return };
    let gz = samples.join("dolibarr20/mysqldump_ferry_doli.sql.gz");
    let counts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(samples.join("dolibarr20/counts.json")).unwrap())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let res = ferry_ok(&[
        "extract",
        gz.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let got = report_rows(&serde_json::from_slice(&res.stdout).unwrap());
    assert_eq!(
        got.len() as u64,
        counts["tables_in_schema"].as_u64().unwrap()
    );
    assert!(got.values().all(|(s, _)| s == "written"));
    for (table, rows) in counts["sql_row_counts"].as_object().unwrap() {
        assert_eq!(got[table].1, rows.as_u64().unwrap(), "{table}");
        assert_eq!(rows_of(&out.join(table)) as u64, rows.as_u64().unwrap());
    }
}

// ---------------------------------------------------------------------------
// Real dumps made here from the local servers.

fn my_ok() -> bool {
    let ok = Command::new("mariadb")
        .args(["-h", "127.0.0.1", "-u", "root", "-e", "select 1"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!mandatory(), "MariaDB on 127.0.0.1:3306 is required in CI");
        eprintln!("MariaDB not reachable: skipping");
    }
    ok
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000_000
    )
}

fn psql(db: &str, sql: &str) -> String {
    let mut child = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            db,
        ])
        .args(["-At", "-P", "null=@NULL@", "-F", "\u{1f}", "-R", "\u{1e}"])
        .env("PGTZ", "UTC")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct PgDb(String);
impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-c"])
            .arg(format!("DROP DATABASE IF EXISTS {}", self.0))
            .output();
    }
}

/// Canonical text of a value as the test compares it (see the SQL side below).
fn canon(a: &dyn Array, i: usize) -> String {
    if a.is_null(i) {
        return "@NULL@".into();
    }
    match a.data_type() {
        DataType::Int8 => a
            .as_primitive::<arrow::datatypes::Int8Type>()
            .value(i)
            .to_string(),
        DataType::Int16 => a
            .as_primitive::<arrow::datatypes::Int16Type>()
            .value(i)
            .to_string(),
        DataType::Int32 => a
            .as_primitive::<arrow::datatypes::Int32Type>()
            .value(i)
            .to_string(),
        DataType::Int64 => a
            .as_primitive::<arrow::datatypes::Int64Type>()
            .value(i)
            .to_string(),
        DataType::UInt64 => a
            .as_primitive::<arrow::datatypes::UInt64Type>()
            .value(i)
            .to_string(),
        DataType::Float32 => a
            .as_primitive::<arrow::datatypes::Float32Type>()
            .value(i)
            .to_string(),
        DataType::Float64 => format!(
            "{:e}",
            a.as_primitive::<arrow::datatypes::Float64Type>().value(i)
        ),
        DataType::Boolean => if a.as_boolean().value(i) { "t" } else { "f" }.into(),
        DataType::Utf8 => a.as_string::<i32>().value(i).to_owned(),
        DataType::Binary => hex::encode(a.as_binary::<i32>().value(i)),
        DataType::Decimal128(_, s) => norm_num(&ferry_core::values::format_decimal(
            a.as_primitive::<arrow::datatypes::Decimal128Type>()
                .value(i),
            *s as u8,
        )),
        DataType::Date32 => a
            .as_primitive::<arrow::datatypes::Date32Type>()
            .value(i)
            .to_string(),
        DataType::Timestamp(..) => a
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
            .value(i)
            .to_string(),
        DataType::Time64(_) => a
            .as_primitive::<arrow::datatypes::Time64MicrosecondType>()
            .value(i)
            .to_string(),
        DataType::List(_) => {
            let l = a.as_list::<i32>().value(i);
            let items: Vec<serde_json::Value> = (0..l.len())
                .map(|k| {
                    if l.is_null(k) {
                        serde_json::Value::Null
                    } else if matches!(l.data_type(), DataType::Utf8) {
                        serde_json::Value::String(canon(&l, k))
                    } else {
                        serde_json::from_str(&canon(&l, k)).unwrap()
                    }
                })
                .collect();
            serde_json::Value::Array(items).to_string()
        }
        other => panic!("no canonical form for {other}"),
    }
}

fn norm_num(s: &str) -> String {
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    };
    if s == "-0" { "0".into() } else { s.into() }
}

const PG_TABLE: &str = r#"
CREATE SCHEMA "Sales Dept";
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE "Sales Dept"."Order Lines" (
  id integer PRIMARY KEY,
  small smallint, big bigint NOT NULL,
  price numeric(12,2), qty numeric, f8 double precision, ok boolean,
  note text, code varchar(10), pad char(3),
  d date, ts timestamp, tstz timestamptz, tm time,
  meta jsonb, raw bytea, ints integer[], tags text[], uid uuid, m mood
);
INSERT INTO "Sales Dept"."Order Lines" VALUES
 (1, -32768, 9223372036854775807, 9999999999.99, 12345678901234567890.123456789, 1.5e300, true,
  E'tab\there\nnewline \\ backslash ''quote" \u00e9\u4e2d\U0001F600', '', 'ab',
  '2024-02-29', '2024-02-29 23:59:59.999999', '2024-06-01 12:00:00+05:30', '23:59:59.5',
  '{"name": {"en_US": "Chair", "fr_FR": "Chaise \"Louis\""}}', '\x00ff5c0a', '{1,NULL,-3}', '{"a,b","c\"d",NULL,"NULL",""}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'sad'),
 (2, NULL, 0, NULL, -0.000001, NULL, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{}', NULL, NULL),
 (3, 7, -1, -0.01, 0, -0.0, NULL, repeat('huge ✓ ', 200000), 'x', NULL, '0001-01-01', '1900-01-01 00:00:00',
  '1969-12-31 23:59:59.000001+00', '00:00:00', '[]', '\x', NULL, '{"\\\\"}', NULL, 'happy');
CREATE TABLE public.plain (id bigint, label text);
INSERT INTO public.plain SELECT g, 'row ' || g FROM generate_series(1, 2500) g;
"#;

const PG_SELECT: &str = r#"SELECT id::text, small::text, big::text, price::text, qty::text,
 CASE WHEN f8 IS NULL THEN '@NULL@' ELSE f8::text END, left(ok::text, 1), note, code, pad,
 (d - date '1970-01-01')::text, ((extract(epoch from ts)*1000000)::bigint)::text,
 ((extract(epoch from tstz)*1000000)::bigint)::text, ((extract(epoch from tm)*1000000)::bigint)::text,
 meta::text, encode(raw, 'hex'), array_to_json(ints)::text, array_to_json(tags)::text, uid::text, m::text
 FROM "Sales Dept"."Order Lines" ORDER BY id"#;

fn compare_rows(server: &str, out: &Path, stream: &str) {
    let batches = batches(&out.join(stream));
    let mut mine = Vec::new();
    for b in &batches {
        for i in 0..b.num_rows() {
            mine.push(
                (0..b.num_columns())
                    .map(|c| canon(b.column(c).as_ref(), i))
                    .collect::<Vec<_>>(),
            );
        }
    }
    mine.sort_by_key(|r| r[0].parse::<i64>().unwrap());
    // psql ends its output with a newline after the last record separator.
    let theirs: Vec<Vec<String>> = server
        .strip_suffix('\n')
        .unwrap_or(server)
        .split('\u{1e}')
        .filter(|r| !r.is_empty())
        .map(|r| r.split('\u{1f}').map(str::to_owned).collect())
        .collect();
    assert_eq!(mine.len(), theirs.len(), "{stream}: row count");
    let fields = batches[0].schema();
    for (r, (a, b)) in mine.iter().zip(&theirs).enumerate() {
        for (c, (x, y)) in a.iter().zip(b).enumerate() {
            let name = fields.field(c).name();
            let same = match fields.field(c).data_type() {
                DataType::Decimal128(..) => *x == norm_num(y) || (y == "@NULL@" && x == y),
                DataType::Float64 => {
                    y == "@NULL@" && x == y || x.parse::<f64>().ok() == y.parse::<f64>().ok()
                }
                DataType::List(_) => {
                    y == "@NULL@" && x == y
                        || serde_json::from_str::<serde_json::Value>(x).unwrap()
                            == serde_json::from_str::<serde_json::Value>(y).unwrap()
                }
                _ => x == y,
            };
            assert!(
                same,
                "{stream} row {r} column {name}: ferry {x:?} != server {y:?}"
            );
        }
    }
}

#[test]
fn pg_dump_formats_round_trip_every_value() {
    if !postgres_reachable() {
        return;
    }
    let db = PgDb(unique("ferry_dumps"));
    psql("postgres", &format!("CREATE DATABASE {};", db.0));
    psql(&db.0, PG_TABLE);
    let server = psql(&db.0, PG_SELECT);
    let dir = tempfile::tempdir().unwrap();
    for (name, flags) in [
        ("plain.sql", &[][..]),
        ("inserts.sql", &["--inserts"][..]),
        (
            "columns.sql",
            &["--column-inserts", "--rows-per-insert=7"][..],
        ),
        ("gzip.sql.gz", &["-Z", "6"][..]),
        // pg_dump archives, read without pg_restore. Their rows are counted while
        // discovering (the scan decompresses each table's data once), so the
        // row_estimate check below holds for them too.
        ("custom.dump", &["-Fc"][..]),
        ("custom-z0.dump", &["-Fc", "-Z0"][..]),
        ("directory", &["-Fd"][..]),
        ("archive.tar", &["-Ft"][..]),
    ] {
        let file = dir.path().join(name);
        let st = Command::new("pg_dump")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", &db.0, "-f"])
            .arg(&file)
            .args(flags)
            .status()
            .unwrap();
        assert!(st.success(), "pg_dump {flags:?}");
        let out = dir.path().join(format!("out-{name}"));
        let res = ferry_ok(&[
            "extract",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--json",
        ]);
        let got = report_rows(&serde_json::from_slice(&res.stdout).unwrap());
        assert_eq!(
            got["Sales Dept.Order Lines"],
            ("written".to_owned(), 3),
            "{name}"
        );
        assert_eq!(got["public.plain"], ("written".to_owned(), 2500), "{name}");
        compare_rows(&server, &out, "Sales Dept.Order Lines");
        let disc: serde_json::Value = serde_json::from_slice(
            &ferry_ok(&["discover", file.to_str().unwrap(), "--json"]).stdout,
        )
        .unwrap();
        let s = disc["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "Sales Dept.Order Lines")
            .unwrap();
        assert_eq!(s["primary_key"], serde_json::json!(["id"]));
        assert_eq!(s["row_estimate"], 3);
        let format = match name {
            "custom.dump" | "custom-z0.dump" => "pg_dump custom",
            "directory" => "pg_dump directory",
            "archive.tar" => "pg_dump tar",
            _ => "pg_dump plain",
        };
        assert_eq!(disc["metadata"]["dump_format"], format, "{name}");
        let tstz = s["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "tstz")
            .unwrap();
        assert!(tstz["type"].as_str().unwrap().contains("UTC"), "{tstz}");
    }
}

fn mariadb(db: Option<&str>, sql: &str) -> String {
    let mut cmd = Command::new("mariadb");
    cmd.args([
        "-h",
        "127.0.0.1",
        "-u",
        "root",
        "-N",
        "-B",
        "--default-character-set=utf8mb4",
        "--init-command=SET time_zone='+00:00'",
    ]);
    if let Some(db) = db {
        cmd.args(["-D", db]);
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "mariadb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct MyDb(String);
impl Drop for MyDb {
    fn drop(&mut self) {
        let _ = Command::new("mariadb")
            .args(["-h", "127.0.0.1", "-u", "root", "-e"])
            .arg(format!("DROP DATABASE IF EXISTS {}", self.0))
            .output();
    }
}

#[test]
fn mysqldump_round_trips_every_value() {
    if !my_ok() {
        return;
    }
    let db = MyDb(unique("ferry_dumps"));
    mariadb(
        None,
        &format!("CREATE DATABASE {} CHARACTER SET utf8mb4", db.0),
    );
    mariadb(
        Some(&db.0),
        r#"CREATE TABLE llx_t (
  rowid int(11) NOT NULL AUTO_INCREMENT, tiny tinyint(4), uns int unsigned, big bigint unsigned,
  price decimal(24,8), f double, note text, l1 varchar(20) CHARACTER SET latin1,
  d date, dt datetime(6), ts timestamp NULL DEFAULT NULL, bin varbinary(16), blb mediumblob,
  PRIMARY KEY (rowid)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO llx_t VALUES
 (1, -128, 4294967295, 18446744073709551615, 9999999999999999.99999999, 1.5e300,
  'tab\there\nnl \\ bs ''q'' \"dq\" \0 nul \Z ctrl é中😀', 'café', '2024-02-29', '2024-02-29 23:59:59.999999',
  '2024-06-01 12:00:00', 0x00FF5C27, _binary 'a\0b'),
 (2, NULL, 0, 0, -0.00000001, NULL, '', '', NULL, NULL, NULL, '', NULL),
 (3, 0, NULL, NULL, 0, -2.5, NULL, NULL, '1000-01-01', '1970-01-01 00:00:00', NULL, NULL, REPEAT('x', 70000));
CREATE TABLE other (id int PRIMARY KEY, v varchar(5));
INSERT INTO other SELECT seq, CONCAT('v', seq) FROM seq_1_to_3000;"#,
    );
    let select = "SELECT rowid, IFNULL(tiny,'@NULL@'), IFNULL(uns,'@NULL@'), IFNULL(big,'@NULL@'), IFNULL(price,'@NULL@'), IFNULL(CAST(f AS CHAR),'@NULL@'), IFNULL(HEX(note),'@NULL@'), IFNULL(HEX(CONVERT(l1 USING utf8mb4)),'@NULL@'), IFNULL(DATEDIFF(d,'1970-01-01'),'@NULL@'), IFNULL(TIMESTAMPDIFF(MICROSECOND,'1970-01-01',dt),'@NULL@'), IFNULL(TIMESTAMPDIFF(MICROSECOND,'1970-01-01',ts),'@NULL@'), IFNULL(HEX(bin),'@NULL@'), IFNULL(HEX(blb),'@NULL@') FROM llx_t ORDER BY rowid";
    let server = mariadb(Some(&db.0), select);
    let dir = tempfile::tempdir().unwrap();
    for (name, flags) in [
        ("default.sql", &[][..]),
        (
            "single.sql",
            &["--skip-extended-insert", "--complete-insert"][..],
        ),
        ("hex.sql", &["--hex-blob"][..]),
    ] {
        let file = dir.path().join(name);
        let st = Command::new("mariadb-dump")
            .args(["-h", "127.0.0.1", "-u", "root", "--result-file"])
            .arg(&file)
            .args(flags)
            .arg(&db.0)
            .status()
            .unwrap();
        assert!(st.success());
        let out = dir.path().join(format!("out-{name}"));
        let res = ferry_ok(&[
            "extract",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--json",
        ]);
        let got = report_rows(&serde_json::from_slice(&res.stdout).unwrap());
        assert_eq!(got["llx_t"], ("written".to_owned(), 3), "{name}");
        assert_eq!(got["other"], ("written".to_owned(), 3000), "{name}");
        let bs = batches(&out.join("llx_t"));
        let mut mine = Vec::new();
        for b in &bs {
            for i in 0..b.num_rows() {
                let row: Vec<String> = (0..b.num_columns())
                    .map(|c| {
                        let a = b.column(c);
                        let v = canon(a.as_ref(), i);
                        match a.data_type() {
                            DataType::Utf8 if v != "@NULL@" => hex::encode_upper(v.as_bytes()),
                            DataType::Binary if v != "@NULL@" => v.to_uppercase(),
                            _ => v,
                        }
                    })
                    .collect();
                mine.push(row.join("\t"));
            }
        }
        for (r, (a, b)) in mine.iter().zip(server.lines()).enumerate() {
            let (a, b): (Vec<&str>, Vec<&str>) = (a.split('\t').collect(), b.split('\t').collect());
            for (c, (x, y)) in a.iter().zip(&b).enumerate() {
                let same = x == y
                    || norm_num(x) == norm_num(y)
                    || x.parse::<f64>()
                        .is_ok_and(|v| Some(v) == y.parse::<f64>().ok());
                assert!(
                    same,
                    "{name} row {r} column {c}: ferry {x:?} != server {y:?}"
                );
            }
        }
        assert_eq!(mine.len(), server.lines().count());
    }
}

// ---------------------------------------------------------------------------
// Broken input.

const GOOD: &str = "SET client_encoding = 'UTF8';\nCREATE TABLE public.first (id integer NOT NULL, t text);\n\
COPY public.first (id, t) FROM stdin;\n1\ta\n2\tb\n\\.\n";

fn extract_broken(
    dump: &[u8],
    name: &str,
) -> (serde_json::Value, String, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(name);
    std::fs::write(&file, dump).unwrap();
    let out = dir.path().join("out");
    let res = ferry()
        .args([
            "extract",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(1), "{}", stderr(&res));
    let report = serde_json::from_slice(&res.stdout).unwrap();
    (report, stderr(&res), out, dir)
}

fn check_broken(dump: &[u8], broken: &str, needle: &str, line: u64) {
    let (report, _err, out, _dir) = extract_broken(dump, "broken.sql");
    let got = report_rows(&report);
    assert_eq!(got["public.first"], ("written".to_owned(), 2));
    assert_eq!(rows_of(&out.join("public.first")), 2);
    assert_eq!(got[broken].0, "failed");
    assert!(
        !out.join(broken).exists(),
        "a broken table is not published"
    );
    let s = report["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == broken)
        .unwrap();
    let e = s["error"].as_str().unwrap();
    assert!(e.contains(needle), "{e}");
    assert!(e.contains(&format!("broken.sql:{line}")), "{e}");
    assert!(e.contains("byte "), "{e}");
}

#[test]
fn broken_dumps_fail_only_the_broken_table_with_line_and_byte() {
    let second = "CREATE TABLE public.second (id integer, n numeric(5,2));\nCOPY public.second (id, n) FROM stdin;\n";
    // Truncated: the COPY block never ends.
    let truncated = format!("{GOOD}{second}1\t1.00\n2\t2.0");
    check_broken(
        truncated.as_bytes(),
        "public.second",
        "unterminated COPY",
        9,
    );
    // Garbage in the middle of a COPY block.
    let garbage = format!("{GOOD}{second}1\t1.00\n\u{1}\u{2}garbage\n\\.\n");
    check_broken(garbage.as_bytes(), "public.second", "fields", 10);
    // A value that does not fit.
    let bad = format!("{GOOD}{second}1\t1.00\n2\t1.234\n\\.\n");
    check_broken(
        bad.as_bytes(),
        "public.second",
        "digits after the point",
        10,
    );
    // Garbage between statements.
    let between = format!("{GOOD}\u{7f}ELF binary junk;\n{second}1\t1.00\n\\.\n");
    check_broken(
        between.as_bytes(),
        "public.second",
        "not an SQL statement",
        7,
    );
    // An unknown type.
    let unknown = format!(
        "{GOOD}CREATE TABLE public.second (id integer, n frobnicator);\nCOPY public.second (id, n) FROM stdin;\n1\tx\n\\.\n"
    );
    check_broken(unknown.as_bytes(), "public.second", "unknown type", 7);
    // A wrong encoding: Latin-1 bytes in a UTF-8 dump.
    let mut enc = format!("{GOOD}{second}").into_bytes();
    enc.extend_from_slice(b"1\t1.00\n\\.\nCREATE TABLE public.third (t text);\nCOPY public.third (t) FROM stdin;\ncaf\xe9\n\\.\n");
    let (report, _, out, _d) = extract_broken(&enc, "broken.sql");
    let got = report_rows(&report);
    assert_eq!(got["public.second"], ("written".to_owned(), 1));
    assert_eq!(got["public.third"].0, "failed");
    assert!(!out.join("public.third").exists());
    let e = report["streams"][2]["error"].as_str().unwrap();
    assert!(e.contains("broken.sql:13") && e.contains("UTF-8"), "{e}");
}

#[test]
fn truncated_gzip_keeps_the_tables_before_the_cut() {
    let mut dump = GOOD.to_owned();
    dump.push_str("CREATE TABLE public.second (id integer, t text);\nCOPY public.second (id, t) FROM stdin;\n");
    for i in 0..200_000 {
        dump.push_str(&format!(
            "{i}\tsome text that compresses {}\n",
            i * 7919 % 104_729
        ));
    }
    dump.push_str("\\.\n");
    let mut child = Command::new("gzip")
        .arg("-1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let text = dump.clone();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()).unwrap());
    let gz = child.wait_with_output().unwrap().stdout;
    writer.join().unwrap();
    let cut = &gz[..gz.len() / 2];
    let (report, _, _, _d) = extract_broken(cut, "broken.sql.gz");
    let got = report_rows(&report);
    assert_eq!(got["public.first"], ("written".to_owned(), 2));
    assert_eq!(got["public.second"].0, "failed");
}

/// A pg_dump archive cut short, or missing a data file: the tables whose data is
/// whole are written; the others fail naming the archive and TOC entry.
#[test]
fn damaged_pg_archives_fail_only_the_damaged_tables() {
    if !postgres_reachable() {
        return;
    }
    let db = PgDb(unique("ferry_archive"));
    psql("postgres", &format!("CREATE DATABASE {};", db.0));
    psql(
        &db.0,
        "CREATE TABLE public.a (id integer PRIMARY KEY, t text);
         INSERT INTO a SELECT g, 'row ' || g FROM generate_series(1, 100) g;
         CREATE TABLE public.z (id bigint PRIMARY KEY, payload text);
         INSERT INTO z SELECT g, md5(g::text) FROM generate_series(1, 30000) g;",
    );
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.dump");
    let st = Command::new("pg_dump")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-Fc",
            "-d",
            &db.0,
            "-f",
        ])
        .arg(&full)
        .status()
        .unwrap();
    assert!(st.success());
    let bytes = std::fs::read(&full).unwrap();
    // public.z's data is last and makes up most of the file.
    let (report, _, out, _d) = extract_broken(&bytes[..bytes.len() * 9 / 10], "cut.dump");
    let got = report_rows(&report);
    assert_eq!(got["public.a"], ("written".to_owned(), 100));
    assert_eq!(rows_of(&out.join("public.a")), 100);
    assert_eq!(got["public.z"].0, "failed");
    assert!(!out.join("public.z").exists());
    let err = |report: &serde_json::Value| {
        report["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "public.z")
            .unwrap()["error"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let e = err(&report);
    assert!(e.contains("cut.dump") && e.contains("TOC entry"), "{e}");

    // Directory format without public.z's data file (the largest one).
    let d = dir.path().join("dir");
    let st = Command::new("pg_dump")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-Fd",
            "-d",
            &db.0,
            "-f",
        ])
        .arg(&d)
        .status()
        .unwrap();
    assert!(st.success());
    let biggest = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "toc.dat")
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    std::fs::remove_file(&biggest).unwrap();
    let out = dir.path().join("out-dir");
    let res = ferry()
        .args([
            "extract",
            d.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(1), "{}", stderr(&res));
    let report: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    let got = report_rows(&report);
    assert_eq!(got["public.a"], ("written".to_owned(), 100));
    assert_eq!(got["public.z"].0, "failed");
    let e = err(&report);
    let file = biggest.file_name().unwrap().to_str().unwrap();
    assert!(
        e.contains(file.trim_end_matches(".gz")) && e.contains("TOC entry"),
        "{e}"
    );
}
