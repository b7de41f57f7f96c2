//! Schema drift against the real PostgreSQL: an incremental extraction, then
//! `ALTER TABLE` adding a column, widening a numeric, dropping a column and turning a
//! text column into integers, then another run under each policy. The output is read
//! back with pyarrow (and DuckDB) and compared with the server; the reports and
//! `ferry discover --diff` name the four changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::postgres::TestDb;
use crate::util::*;

const STREAM: &str = "public.items";

fn seed(db: &TestDb) {
    db.psql(
        "CREATE TABLE items (id int PRIMARY KEY, amount numeric(10,2), note text, qty text,
                             changed_at timestamptz NOT NULL);
         INSERT INTO items
           SELECT g, g * 1.5, CASE WHEN g % 5 = 0 THEN NULL WHEN g % 7 = 0 THEN '' ELSE 'note n°' || g END,
                  (g * 2)::text, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute'
           FROM generate_series(1, 50) g;",
    );
}

/// Adds `weight`, widens `amount`, drops `note`; then changes 5 rows and adds one
/// (whose amount needs the wider type when `big`).
fn alter_three(db: &TestDb, big: bool) {
    db.psql(&format!(
        "ALTER TABLE items ADD COLUMN weight numeric(8,3);
         ALTER TABLE items ALTER COLUMN amount TYPE numeric(12,2);
         ALTER TABLE items DROP COLUMN note;
         UPDATE items SET weight = id * 0.125, amount = amount + 1,
                          changed_at = timestamptz '2026-02-01 00:00:00+00' + id * interval '1 second'
           WHERE id <= 5;
         INSERT INTO items (id, amount, qty, weight, changed_at)
           VALUES (51, {}, '7', 2.5, timestamptz '2026-02-02 00:00:00+00');",
        if big { "1234567890.12" } else { "12345678.12" }
    ));
}

/// Turns `qty` (text) into integers and touches one row.
fn alter_qty(db: &TestDb) {
    db.psql(
        "ALTER TABLE items ALTER COLUMN qty TYPE integer USING qty::integer;
         UPDATE items SET qty = 99, changed_at = timestamptz '2026-03-01 00:00:00+00' WHERE id = 6;",
    );
}

fn job(dir: &Path, db: &TestDb, policy: &str) -> (PathBuf, PathBuf) {
    let out = dir.join("out");
    let job = write(
        dir,
        "items.toml",
        format!(
            "streams = [\"{STREAM}\"]\ncursors = {{ \"{STREAM}\" = \"changed_at\" }}\nschema_policy = \"{policy}\"\n\n\
             [source]\nspec = \"{}\"\n\n[sink]\nkind = \"parquet\"\npath = {:?}\n",
            db.url(),
            out.display()
        ),
    );
    (job, out)
}

/// A seeded database and a job under `policy` writing to `out`: `(db, dir, job, out)`;
/// `None` (skip) without PostgreSQL outside CI.
fn seeded(tag: &str, policy: &str) -> Option<(TestDb, tempfile::TempDir, PathBuf, PathBuf)> {
    let db = TestDb::new(tag)?;
    seed(&db);
    let dir = tempfile::tempdir().unwrap();
    let (job, out) = job(dir.path(), &db, policy);
    Some((db, dir, job, out))
}

/// `ferry run JOB --json EXTRA`: the stream's report line, the exit code and stderr.
fn run(job: &Path, extra: &[&str]) -> (Value, Option<i32>, String) {
    let out = ferry()
        .args(["run", job.to_str().unwrap(), "--json"])
        .args(extra)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let line = report["streams"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == json!(STREAM)).cloned())
        .unwrap_or(Value::Null);
    (line, out.status.code(), stderr(&out))
}

fn run_ok(job: &Path) -> Value {
    let (line, code, err) = run(job, &[]);
    assert_eq!(code, Some(0), "ferry run failed: {err}\n{line:#}");
    line
}

/// The `change` tags of a report's schema changes, with their column.
fn change_tags(changes: &Value) -> Vec<String> {
    let mut out: Vec<String> = changes
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    format!(
                        "{} {}",
                        c["change"].as_str().unwrap_or_default(),
                        c["column"].as_str().unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

const FOUR: [&str; 4] = [
    "column_added weight",
    "column_removed note",
    "type_changed qty",
    "type_widened amount",
];

/// The stream folder read by pyarrow as one table: `(schema, rows)`, values as text.
const READ: &str = r#"
import json, sys
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
print(json.dumps([[f.name, str(f.type)] for f in t.schema]))
for r in t.to_pylist():
    print(json.dumps({k: (v if v is None or isinstance(v, (int, str)) else str(v)) for k, v in r.items()}))
"#;

/// A table as pyarrow reads it: `(name, type)` per column, then the rows.
type Table = (Vec<(String, String)>, Vec<Value>);

fn pyarrow(folder: &Path) -> Option<Table> {
    let text = run_python(READ, &[folder.to_str().unwrap()])?;
    let mut lines = text.lines();
    let schema: Vec<(String, String)> = serde_json::from_str(lines.next().unwrap()).unwrap();
    let rows = lines.map(|l| serde_json::from_str(l).unwrap()).collect();
    Some((schema, rows))
}

/// The newest row of each id (the output of an incremental extraction appends).
fn latest(rows: &[Value]) -> BTreeMap<i64, Value> {
    let mut out: BTreeMap<i64, Value> = BTreeMap::new();
    for r in rows {
        let id = r["id"].as_i64().unwrap();
        let newer = out
            .get(&id)
            .is_none_or(|o| o["changed_at"].as_str() < r["changed_at"].as_str());
        if newer {
            out.insert(id, r.clone());
        }
    }
    out
}

fn server(db: &TestDb, sql: &str) -> BTreeMap<i64, Value> {
    let text = db.psql(&format!(
        "SELECT coalesce(json_agg(t), '[]') FROM ({sql}) t"
    ));
    serde_json::from_str::<Vec<Value>>(&text)
        .unwrap()
        .into_iter()
        .map(|r| (r["id"].as_i64().unwrap(), r))
        .collect()
}

/// Data files and manifest of an output folder, to show nothing was written.
fn snapshot(out: &Path) -> (Vec<String>, Vec<u8>) {
    let mut files: Vec<String> = std::fs::read_dir(out.join(STREAM))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let manifest = std::fs::read(out.join("_ferry/manifest.json")).unwrap();
    (files, manifest)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(norm(s)),
        other => Some(norm(&other.to_string())),
    }
}

#[test]
fn evolve_adds_widens_keeps_and_moves_and_the_folder_stays_one_table() {
    let Some((db, _dir, job, out)) = seeded("drift_evolve", "evolve") else {
        return;
    };
    let first = run_ok(&job);
    assert_eq!(first["rows"], json!(50));
    assert!(first.get("schema_changes").is_none(), "{first:#}");

    alter_three(&db, true);
    alter_qty(&db);

    // discover --diff names the four changes before any run.
    let diff = ferry_ok(&[
        "discover",
        &db.url(),
        "--streams",
        STREAM,
        "--diff",
        job.to_str().unwrap(),
        "--json",
    ]);
    let diff: Value = serde_json::from_slice(&diff.stdout).unwrap();
    assert_eq!(diff["changed"], json!(true), "{diff:#}");
    assert_eq!(diff["streams"][0]["status"], json!("changed"));
    assert_eq!(change_tags(&diff["streams"][0]["changes"]), FOUR);
    let human = stdout(&ferry_ok(&[
        "discover",
        &db.url(),
        "--streams",
        STREAM,
        "--diff",
        job.to_str().unwrap(),
    ]));
    assert!(
        human.contains("public.items: column qty changed type from Utf8 to Int32"),
        "{human}"
    );

    let second = run_ok(&job);
    assert_eq!(change_tags(&second["schema_changes"]), FOUR, "{second:#}");
    assert_eq!(second["rows"], json!(7), "5 updated, 1 new, 1 retyped");
    let warnings = second["warnings"].to_string();
    assert!(warnings.contains("qty__int32"), "{warnings}");

    // A third run with nothing new reports no change and keeps the columns.
    let third = run_ok(&job);
    assert!(third.get("schema_changes").is_none(), "{third:#}");

    let Some((schema, rows)) = pyarrow(&out.join(STREAM)) else {
        return;
    };
    let schema: Vec<String> = schema.iter().map(|(n, t)| format!("{n} {t}")).collect();
    assert_eq!(
        schema,
        [
            "id int32",
            "amount decimal128(12, 2)",
            "note string",
            "qty string",
            "changed_at timestamp[us, tz=UTC]",
            "qty__int32 int32",
            "weight decimal128(8, 3)",
        ]
    );
    assert_eq!(rows.len(), 57, "50 first, then 7 changed rows");
    // Every id's newest row holds what the server holds now.
    let now = server(
        &db,
        "SELECT id, amount::text AS amount, qty, weight::text AS weight FROM items",
    );
    let ours = latest(&rows);
    assert_eq!(ours.len(), now.len());
    for (id, want) in &now {
        let got = &ours[id];
        assert_eq!(
            text(&got["amount"]),
            text(&want["amount"]),
            "amount of {id}"
        );
        assert_eq!(
            text(&got["weight"]),
            text(&want["weight"]),
            "weight of {id}"
        );
        let changed = *id <= 6 || *id == 51;
        if changed {
            assert_eq!(got["qty__int32"], want["qty"], "qty of {id}");
            assert_eq!(
                got["qty"],
                Value::Null,
                "old qty of {id} is NULL from now on"
            );
            assert_eq!(got["note"], Value::Null, "note of {id} is NULL from now on");
        } else {
            // Rows not read again keep what was extracted: nothing is lost.
            assert_eq!(got["qty"], json!(format!("{}", id * 2)), "qty of {id}");
            assert_eq!(got["qty__int32"], Value::Null);
        }
    }
    assert_eq!(text(&ours[&51]["amount"]).as_deref(), Some("1234567890.12"));
    // The first rows of the changed ids are still there, with their note.
    let old_7: Vec<&Value> = rows.iter().filter(|r| r["id"] == json!(7)).collect();
    assert_eq!(old_7.len(), 1);
    assert_eq!(old_7[0]["note"], json!(""), "'' stays '', not NULL");
    let old_1: Vec<&Value> = rows
        .iter()
        .filter(|r| r["id"] == json!(1) && r["note"].is_string())
        .collect();
    assert_eq!(old_1[0]["note"], json!("note n°1"));

    // DuckDB reads the folder as one table without options, ferry sql too.
    let Some(duck) = run_python(
        "import duckdb, sys; print(duckdb.sql(f\"SELECT count(*), count(DISTINCT id), sum(qty__int32) FROM read_parquet('{sys.argv[1]}/*.parquet')\").fetchall()[0])",
        &[out.join(STREAM).to_str().unwrap()],
    ) else {
        return;
    };
    let qty_sum: i64 = now
        .iter()
        .filter(|(id, _)| **id <= 6 || **id == 51)
        .map(|(_, r)| r["qty"].as_i64().unwrap())
        .sum();
    assert_eq!(duck.trim(), format!("(57, 51, {qty_sum})"));
    let sql = stdout(&ferry_ok(&[
        "sql",
        "--data",
        out.to_str().unwrap(),
        "--format",
        "csv",
        "SELECT count(*) AS n, sum(qty__int32) AS s FROM public.items",
    ]));
    assert_eq!(
        sql.lines().nth(1),
        Some(format!("57,{qty_sum}").as_str()),
        "{sql}"
    );
}

#[test]
fn freeze_keeps_the_old_columns_and_refuses_a_type_it_would_have_to_cast() {
    let Some((db, _dir, job, out)) = seeded("drift_freeze", "freeze") else {
        return;
    };
    run_ok(&job);
    let before_schema = pyarrow(&out.join(STREAM)).map(|(s, _)| s);

    alter_three(&db, false);
    let second = run_ok(&job);
    let tags = change_tags(&second["schema_changes"]);
    assert_eq!(
        tags,
        [
            "column_added weight",
            "column_removed note",
            "type_widened amount"
        ]
    );
    let warnings = second["warnings"].to_string();
    assert!(warnings.contains("weight"), "{warnings}");
    assert!(
        warnings.contains("amount stays Decimal128(10, 2)"),
        "{warnings}"
    );
    assert_eq!(second["rows"], json!(6));

    if let Some((schema, rows)) = pyarrow(&out.join(STREAM)) {
        assert_eq!(Some(schema), before_schema, "the old columns, no weight");
        let now = server(&db, "SELECT id, amount::text AS amount FROM items");
        let ours = latest(&rows);
        for (id, want) in &now {
            assert_eq!(
                text(&ours[id]["amount"]),
                text(&want["amount"]),
                "amount of {id}"
            );
        }
        assert_eq!(ours[&1]["note"], Value::Null, "note is NULL from now on");
        assert_eq!(
            ours[&8]["note"],
            json!("note n°8"),
            "unread rows keep theirs"
        );
    }

    // text → integer cannot be kept frozen without a cast: the stream stops, unwritten.
    alter_qty(&db);
    let before = snapshot(&out);
    let (line, code, err) = run(&job, &[]);
    assert_eq!(code, Some(1), "{err}\n{line:#}");
    let error = line["error"].as_str().unwrap_or_default();
    assert!(error.contains("public.items"), "{error}");
    assert!(
        error.contains("column qty changed type from Utf8 to Int32"),
        "{error}"
    );
    assert!(err.contains("column qty changed type"), "{err}");
    assert_eq!(snapshot(&out), before, "nothing written");
}

/// A job stopped by its policy: the database, folder and paths stay for more runs.
struct Stopped {
    _db: TestDb,
    _dir: tempfile::TempDir,
    job: PathBuf,
    out: PathBuf,
    /// The stream's line of the stopped run's report.
    line: Value,
}

/// A first run under `policy`, the four changes, then a run that must stop: exit 1,
/// the four changes in the report, nothing written. `None` (skip) without PostgreSQL
/// outside CI.
fn stopped_by_all_four(tag: &str, policy: &str) -> Option<Stopped> {
    let (db, dir, job, out) = seeded(tag, policy)?;
    run_ok(&job);
    alter_three(&db, true);
    alter_qty(&db);
    let before = snapshot(&out);
    let (line, code, err) = run(&job, &[]);
    assert_eq!(code, Some(1), "{err}\n{line:#}");
    assert_eq!(change_tags(&line["schema_changes"]), FOUR, "{line:#}");
    assert_eq!(snapshot(&out), before, "nothing written");
    Some(Stopped {
        _db: db,
        _dir: dir,
        job,
        out,
        line,
    })
}

#[test]
fn fail_stops_before_writing_and_names_every_change() {
    let Some(stopped) = stopped_by_all_four("drift_fail", "fail") else {
        return;
    };
    let (job, out, line) = (&stopped.job, &stopped.out, &stopped.line);
    assert_eq!(line["status"], json!("failed"));
    let error = line["error"].as_str().unwrap_or_default();
    for want in [
        "public.items",
        "schema policy fail",
        "column weight added (Decimal128(8, 3))",
        "column amount widened from Decimal128(10, 2) to Decimal128(12, 2)",
        "column note removed (was Utf8)",
        "column qty changed type from Utf8 to Int32",
    ] {
        assert!(error.contains(want), "{want} not in {error}");
    }
    assert!(
        !out.join("_ferry/staging").join(STREAM).exists(),
        "nothing staged either"
    );

    // Nothing is lost: the flag overrides the job, and the next run takes every change.
    let (line, code, err) = run(job, &["--schema-policy", "evolve"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(line["rows"], json!(7));
    assert_eq!(change_tags(&line["schema_changes"]), FOUR);
}

// ---------------------------------------------------------------------------
// Odoo: a Studio field appears and another field vanishes between two backups.

fn odoo_port() -> u16 {
    std::env::var("FERRY_ODOO_DRIFT_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8776)
}

#[test]
fn an_odoo_field_appears_and_another_vanishes_the_backup_evolves_and_the_migration_stops() {
    use crate::backup::{backup_ok, py_venv, read_delta_py, rows, s3_harness, stream};
    use crate::migrate_odoo::{available, harness, psql, start_with};
    const DB: &str = "ferry_odoo_drift";
    const PARTNER: &str = "res.partner";
    if !available() {
        return;
    }
    let port = odoo_port();
    let Some(url) = start_with(port, &["--copy", DB]) else {
        return;
    };
    let spec = url.replacen("http://", "odoo+http://", 1);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("backup");
    let data_s = data.to_str().unwrap().to_owned();
    let source = format!(
        "[source]\nkind = \"odoo\"\nurl = \"{spec}\"\nuser = \"admin\"\npassword_env = \"FERRY_E2E_ODOO_PW\"\n"
    );
    let env = [("FERRY_E2E_ODOO_PW", "admin".to_owned())];
    let job = write(
        dir.path(),
        "odoo.toml",
        format!("streams = [\"{PARTNER}\"]\n\n{source}\n[backup]\npath = \"backup\"\n"),
    );
    let migration = write(
        dir.path(),
        "mig.toml",
        format!(
            "{source}\n[migrate]\nfrom = \"odoo\"\nstreams = [\"{PARTNER}\"]\n\n\
             [target]\nkind = \"odoo\"\nurl = \"{spec}\"\nuser = \"admin\"\npassword_env = \"FERRY_E2E_ODOO_PW\"\n"
        ),
    );
    let migrate = || {
        ferry()
            .args(["migrate", "--dry-run"])
            .arg(&migration)
            .env("FERRY_E2E_ODOO_PW", "admin")
            .output()
            .unwrap()
    };
    let first = backup_ok(&job, &[], &env);
    assert!(stream(&first, PARTNER)["inserted"].as_u64().unwrap() > 0);
    let dry = migrate();
    assert!(dry.status.success(), "{}", stderr(&dry));

    // The partners the change touches, and how many VAT numbers the backup holds.
    let changed: Vec<i64> = rows(
        &data_s,
        &[],
        "SELECT id FROM res.partner WHERE vat IS NOT NULL ORDER BY id LIMIT 3",
        &[],
    )
    .iter()
    .map(|r| r["id"].as_i64().unwrap())
    .collect();
    assert_eq!(changed.len(), 3, "the demo has partners with a VAT number");
    let ids = changed
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let count = |extra: &[&str], sql: &str| -> u64 {
        rows(&data_s, extra, sql, &[])[0]["n"].as_u64().unwrap()
    };
    let vats_before = count(
        &[],
        "SELECT count(*) AS n FROM res.partner WHERE vat IS NOT NULL",
    );

    // What Odoo Studio does for a new field, and what removing a field leaves.
    psql(
        DB,
        &format!(
            "ALTER TABLE res_partner ADD COLUMN x_studio_rating integer;
             INSERT INTO ir_model_fields (name, model, model_id, ttype, state, field_description, store)
               SELECT 'x_studio_rating', 'res.partner', id, 'integer', 'manual', '{{\"en_US\": \"Rating\"}}', true
               FROM ir_model WHERE model = 'res.partner';
             SET session_replication_role = replica;
             DELETE FROM ir_model_fields WHERE model = 'res.partner' AND name = 'vat';
             ALTER TABLE res_partner DROP COLUMN vat CASCADE;
             UPDATE res_partner SET x_studio_rating = id % 5 + 1, write_date = now() + interval '1 minute'
               WHERE id IN ({ids});"
        ),
    );
    // The server reads its model catalogue at start.
    let Some(_) = start_with(port, &["--serve", DB]) else {
        return;
    };
    let second = backup_ok(&job, &[], &env);
    let line = stream(&second, PARTNER);
    assert_eq!(
        change_tags(&line["schema_changes"]),
        ["column_added x_studio_rating", "column_removed vat"],
        "{line:#}"
    );
    assert_eq!(line["updated"], json!(3), "{line:#}");
    let latest_version = line["version"].as_u64().unwrap();

    // The latest state: the new field for the changed partners; the vanished one NULL
    // from now on for them and kept for the others.
    let ours = rows(
        &data_s,
        &[],
        "SELECT id, x_studio_rating FROM res.partner WHERE x_studio_rating IS NOT NULL ORDER BY id",
        &[],
    );
    let server: Vec<Value> = serde_json::from_str(&psql(
        DB,
        "SELECT json_agg(json_build_object('id', id, 'x_studio_rating', x_studio_rating) ORDER BY id)
           FROM res_partner WHERE x_studio_rating IS NOT NULL",
    ))
    .unwrap();
    assert_eq!(ours, server);
    assert_eq!(
        count(
            &[],
            "SELECT count(*) AS n FROM res.partner WHERE vat IS NOT NULL"
        ),
        vats_before - 3
    );
    assert_eq!(
        count(
            &[],
            &format!("SELECT count(*) AS n FROM res.partner WHERE vat IS NULL AND id IN ({ids})")
        ),
        3
    );

    // Each version reads with its own columns, in ferry and in delta-rs's Python reader.
    assert_eq!(
        count(
            &["--version", "0"],
            "SELECT count(*) AS n FROM res.partner WHERE vat IS NOT NULL"
        ),
        vats_before
    );
    let err = ferry()
        .args(["sql", "--data", &data_s, "--version", "0"])
        .arg("SELECT x_studio_rating FROM res.partner")
        .output()
        .unwrap();
    assert!(!err.status.success(), "version 0 has no x_studio_rating");
    assert!(stderr(&err).contains("x_studio_rating"), "{}", stderr(&err));
    let table = data.join(PARTNER);
    let columns = |version: u64| -> Vec<String> {
        let out = std::process::Command::new(py_venv())
            .arg(s3_harness().join("read_delta.py"))
            .arg(&table)
            .args(["--version", &version.to_string()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let first: Value =
            serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap())
                .unwrap();
        first["schema"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c[0].as_str().unwrap().to_owned())
            .collect()
    };
    if read_delta_py(table.to_str().unwrap(), Some(0), &[]).is_some() {
        let v0 = columns(0);
        assert!(v0.contains(&"vat".to_owned()), "{v0:?}");
        assert!(!v0.contains(&"x_studio_rating".to_owned()), "{v0:?}");
        let latest = columns(latest_version);
        assert!(latest.contains(&"vat".to_owned()), "{latest:?}");
        assert!(latest.contains(&"x_studio_rating".to_owned()), "{latest:?}");
    }

    // The party mapping reads the vanished `vat`: the migration stops before loading,
    // naming the mapping file, the column and the change.
    let stopped = migrate();
    let err = stderr(&stopped);
    assert_eq!(stopped.status.code(), Some(1), "{err}");
    assert!(err.contains("party.sql"), "{err}");
    assert!(err.contains("res.partner.vat"), "{err}");
    assert!(err.contains("column vat removed"), "{err}");
    assert!(err.contains("nothing was loaded"), "{err}");

    let _ = std::process::Command::new(harness().join("stop.sh"))
        .arg(port.to_string())
        .status();
}

#[test]
fn a_stream_that_appears_or_goes_is_named_by_discover_diff_and_the_run() {
    let Some(db) = TestDb::new("drift_streams") else {
        return;
    };
    db.psql(
        "CREATE TABLE kept (id int PRIMARY KEY, name text);
         INSERT INTO kept VALUES (1, 'a');
         CREATE TABLE dropped (id int PRIMARY KEY);
         INSERT INTO dropped VALUES (1);",
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    ferry_ok(&["extract", &db.url(), "--out", out_s, "--quiet"]);
    db.psql("DROP TABLE dropped; CREATE TABLE fresh (id int PRIMARY KEY);");

    let diff = ferry_ok(&["discover", &db.url(), "--diff", out_s, "--json"]);
    let diff: Value = serde_json::from_slice(&diff.stdout).unwrap();
    let status: BTreeMap<String, String> = diff["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(status["public.kept"], "unchanged");
    assert_eq!(status["public.fresh"], "added");
    assert_eq!(status["public.dropped"], "gone");
    let human = stdout(&ferry_ok(&["discover", &db.url(), "--diff", out_s]));
    assert!(human.contains("public.dropped: gone"), "{human}");
    assert!(human.contains("public.fresh: new stream"), "{human}");

    let run = ferry_ok(&["extract", &db.url(), "--out", out_s, "--json"]);
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["streams_gone"], json!(["public.dropped"]));
    assert!(out.join("public.dropped").is_dir(), "its output is kept");
}

#[test]
fn freeze_meeting_all_four_changes_at_once_stops_and_lists_them() {
    let Some(stopped) = stopped_by_all_four("drift_freeze4", "freeze") else {
        return;
    };
    let error = stopped.line["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("column qty changed type from Utf8 to Int32 (schema policy freeze"),
        "{error}"
    );
}
