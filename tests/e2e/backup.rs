//! Backups to Delta Lake tables against the real PostgreSQL, the real Tryton and a
//! local S3 server (moto): each run is a table version; `ferry sql --version` /
//! `--as-of` read an earlier one, compared with what the source itself returned at
//! each moment; another Delta reader (the `deltalake` Python package) reads the same
//! rows; `kill -9` mid-run loses nothing; verify finds damage; restore writes plain
//! files; retention expires old versions.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::postgres::TestDb;
use crate::util::*;

const STATE: &str = "SELECT coalesce(string_agg(id || '|' || name || '|' || coalesce(price::text, 'NULL'), ',' ORDER BY id), '') FROM items";

/// The backup's rows in the server query's form.
fn ours(backup: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "sql",
        "--data",
        backup.to_str().unwrap(),
        "--format",
        "jsonl",
    ];
    args.extend_from_slice(extra);
    args.push("SELECT id, name, CAST(price AS VARCHAR) AS price FROM public.items ORDER BY id");
    let out = ferry_ok(&args);
    stdout(&out)
        .lines()
        .map(|l| {
            let r: Value = serde_json::from_str(l).unwrap();
            let price = match &r["price"] {
                Value::Null => "NULL".to_owned(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{}|{}|{price}", r["id"], r["name"].as_str().unwrap())
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn each_backup_is_a_version_and_earlier_ones_stay_readable() {
    let Some(db) = TestDb::new("delta") else {
        return;
    };
    db.psql(
        "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(12,2));
         INSERT INTO items VALUES (1, 'Écrou M6', 1.10), (2, 'Vis à bois', 0.25),
                                  (3, 'Boulon', NULL), (5, 'Clé 13', 12.00);",
    );
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup");
    let job = write(
        dir.path(),
        "backup.toml",
        format!(
            "streams = [\"public.items\"]\n\n[source]\nspec = \"{}\"\n\n[sink]\nkind = \"delta\"\npath = {:?}\n",
            db.url(),
            backup.display().to_string()
        ),
    );
    ferry_ok(&["run", job.to_str().unwrap(), "--quiet"]);
    let first = db.psql(STATE);
    assert!(backup.join("public.items/_delta_log").is_dir());

    // Insert, update, delete at the source; back up again.
    std::thread::sleep(std::time::Duration::from_millis(250));
    db.psql(
        "UPDATE items SET price = 1.20 WHERE id = 1;
         DELETE FROM items WHERE id = 2;
         UPDATE items SET price = 0.50 WHERE id = 3;
         INSERT INTO items VALUES (4, 'Rondelle ø8', 0.05);",
    );
    ferry_ok(&["run", job.to_str().unwrap(), "--quiet"]);
    let second = db.psql(STATE);
    assert_ne!(first, second);

    assert_eq!(ours(&backup, &[]), second, "the latest state");
    assert_eq!(
        ours(&backup, &["--version", "0"]),
        first,
        "the first backup"
    );
    assert_eq!(
        ours(&backup, &["--version", "1"]),
        second,
        "the second backup"
    );
    // A time between the two backups reads the first.
    let between = between_commits(&backup.join("public.items"));
    assert_eq!(
        ours(&backup, &["--as-of", &between]),
        first,
        "as of {between}"
    );

    // An unchanged source: the latest state stays the same.
    ferry_ok(&["run", job.to_str().unwrap(), "--quiet"]);
    assert_eq!(ours(&backup, &[]), second);

    let err = ferry()
        .args([
            "sql",
            "--data",
            dir.path().to_str().unwrap(),
            "--version",
            "0",
            "SELECT 1",
        ])
        .output()
        .unwrap();
    assert!(!err.status.success());
}

/// Milliseconds since the epoch as RFC 3339 (UTC), without a date crate.
fn chrono_like(ms: i64) -> String {
    let out = std::process::Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("@{}.{:03}", ms / 1000, ms % 1000),
            "+%Y-%m-%dT%H:%M:%S.%3NZ",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

// ---------------------------------------------------------------------------
// `ferry backup JOB.toml`

/// Rows of `sql` over `data` (a backup folder or URL) as sorted JSON lines.
pub(crate) fn rows(data: &str, extra: &[&str], sql: &str, env: &[(&str, String)]) -> Vec<Value> {
    let mut cmd = ferry();
    cmd.args(["sql", "--data", data, "--format", "jsonl"])
        .args(extra)
        .arg(sql);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "ferry sql {extra:?} {sql}: {}",
        stderr(&out)
    );
    stdout(&out)
        .lines()
        .map(|l| without_nulls(serde_json::from_str(l).unwrap()))
        .collect()
}

/// A row with its NULL columns left out (ferry's JSON lines omit them).
fn without_nulls(mut row: Value) -> Value {
    if let Value::Object(m) = &mut row {
        m.retain(|_, v| !v.is_null());
    }
    row
}

/// The server's rows of `sql` (which must select `row_to_json`-able columns) as JSON.
fn server_rows(db: &TestDb, sql: &str) -> Vec<Value> {
    let text = db.psql(&format!(
        "SELECT coalesce(json_agg(t), '[]') FROM ({sql}) t"
    ));
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .cloned()
        .unwrap()
        .into_iter()
        .map(without_nulls)
        .collect()
}

/// Runs `ferry backup JOB --json ARGS`; the report and the exit code.
fn backup(job: &Path, args: &[&str], env: &[(&str, String)]) -> (Value, Option<i32>, String) {
    let mut cmd = ferry();
    cmd.args(["backup", job.to_str().unwrap(), "--json"])
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (report, out.status.code(), stderr(&out))
}

pub(crate) fn backup_ok(job: &Path, args: &[&str], env: &[(&str, String)]) -> Value {
    let (report, code, err) = backup(job, args, env);
    assert_eq!(code, Some(0), "ferry backup failed: {err}\n{report:#}");
    assert_eq!(report["ok"], json!(true), "{report:#}");
    report
}

pub(crate) fn stream<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == json!(name))
        .unwrap_or_else(|| panic!("{name} not in {report:#}"))
}

/// (inserted, updated, deleted) of a stream in a report.
fn changes(report: &Value, name: &str) -> (u64, u64, u64) {
    let s = stream(report, name);
    (
        s["inserted"].as_u64().unwrap(),
        s["updated"].as_u64().unwrap(),
        s["deleted"].as_u64().unwrap(),
    )
}

const ITEMS: &str = "SELECT id, name, CAST(price AS VARCHAR) AS price, CAST(changed_at AS VARCHAR) AS changed_at FROM public.items ORDER BY id";
const SERVER_ITEMS: &str = "SELECT id, name, price::text AS price, to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS changed_at FROM items ORDER BY id";
const TAGS: &str = "SELECT code, label FROM public.tags ORDER BY code";
const SERVER_TAGS: &str = "SELECT code, label FROM tags ORDER BY code";

/// ferry's text of a timestamp (`2026-01-02T03:04:05.000006Z` or with a space) in the
/// server query's form.
fn same_instants(mut rows: Vec<Value>) -> Vec<Value> {
    for r in &mut rows {
        if let Some(Value::String(t)) = r.get_mut("changed_at") {
            let mut s = t.replace(' ', "T");
            if let Some(stripped) = s.strip_suffix("+00:00") {
                s = format!("{stripped}Z");
            }
            if !s.ends_with('Z') {
                s.push('Z');
            }
            // Always six fraction digits.
            if let Some((head, frac)) = s.trim_end_matches('Z').split_once('.') {
                s = format!("{head}.{:0<6}Z", frac);
            } else {
                s = format!("{}.000000Z", s.trim_end_matches('Z'));
            }
            *t = s;
        }
    }
    rows
}

fn pg_job(dir: &Path, db: &TestDb, backup_path: &str, extra: &str) -> PathBuf {
    write(
        dir,
        "nightly.toml",
        format!(
            "streams = [\"public.items\", \"public.tags\"]\ncursors = {{ \"public.items\" = \"changed_at\" }}\n\n\
             [source]\nspec = \"{}\"\n\n[backup]\npath = {backup_path:?}\n{extra}\n",
            db.url()
        ),
    )
}

fn seed_items(db: &TestDb) {
    db.psql(
        "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(12,2),
                             changed_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO items (id, name, price, changed_at)
           SELECT g, 'Article n°' || g || CASE WHEN g % 3 = 0 THEN ' — ø' ELSE '' END,
                  CASE WHEN g % 7 = 0 THEN NULL ELSE g * 1.25 END,
                  timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute'
           FROM generate_series(1, 200) g;
         CREATE TABLE tags (code text PRIMARY KEY, label text);
         INSERT INTO tags VALUES ('A', 'Achat'), ('B', NULL), ('C', '');",
    );
}

/// Inserts 1, updates 2 and deletes 1 item; deletes and updates a tag.
fn change_items(db: &TestDb) {
    db.psql(
        "INSERT INTO items (id, name, price) VALUES (201, 'Nouveau — €', 9.99);
         UPDATE items SET price = 1000.01, changed_at = now() WHERE id IN (10, 20);
         DELETE FROM items WHERE id = 30;
         DELETE FROM tags WHERE code = 'A';
         UPDATE tags SET label = 'Bureau' WHERE code = 'B';",
    );
}

#[test]
fn backups_record_inserts_updates_and_deletions_and_keep_each_state_readable() {
    let Some(db) = TestDb::new("bk_hist") else {
        return;
    };
    seed_items(&db);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("backup");
    let data_s = data.to_str().unwrap().to_owned();
    let job = pg_job(dir.path(), &db, "backup", "key_scan_every = 2");

    let first = backup_ok(&job, &[], &[]);
    assert_eq!(changes(&first, "public.items"), (200, 0, 0));
    assert_eq!(stream(&first, "public.items")["version"], json!(0));
    assert_eq!(changes(&first, "public.tags"), (3, 0, 0));
    let state1 = (
        server_rows(&db, SERVER_ITEMS),
        server_rows(&db, SERVER_TAGS),
    );

    change_items(&db);
    // Run 2 sees the changes but not the deletion of item 30 (no key scan yet).
    let mut items_v1 = server_rows(&db, SERVER_ITEMS);
    items_v1.push(
        state1
            .0
            .iter()
            .find(|r| r["id"] == json!(30))
            .unwrap()
            .clone(),
    );
    items_v1.sort_by_key(|r| r["id"].as_i64());
    std::thread::sleep(Duration::from_millis(250));
    // Run 2: incremental, no key scan yet: the deleted item is still there.
    let second = backup_ok(&job, &[], &[]);
    assert_eq!(stream(&second, "public.items")["mode"], json!("append"));
    assert_eq!(stream(&second, "public.items")["key_scan"], json!(false));
    assert_eq!(changes(&second, "public.items"), (1, 2, 0));
    // The table without a cursor is read in full: its deletion is seen at once.
    assert_eq!(changes(&second, "public.tags"), (0, 1, 1));
    // Run 3: the key scan finds the deletion, in the same commit as any change.
    let third = backup_ok(&job, &[], &[]);
    assert_eq!(stream(&third, "public.items")["key_scan"], json!(true));
    assert_eq!(stream(&third, "public.items")["keys_scanned"], json!(200));
    assert_eq!(changes(&third, "public.items"), (0, 0, 1));
    assert_eq!(stream(&third, "public.items")["version"], json!(2));
    let state2 = (
        server_rows(&db, SERVER_ITEMS),
        server_rows(&db, SERVER_TAGS),
    );
    assert_ne!(state1, state2);

    // A fourth run with nothing changed creates no version.
    let fourth = backup_ok(&job, &[], &[]);
    assert_eq!(stream(&fourth, "public.items")["version"], Value::Null);
    assert_eq!(changes(&fourth, "public.items"), (0, 0, 0));

    let at = |extra: &[&str]| {
        (
            same_instants(rows(&data_s, extra, ITEMS, &[])),
            rows(&data_s, extra, TAGS, &[]),
        )
    };
    assert_eq!(at(&[]), state2, "the latest backup is the source now");
    assert_eq!(
        at(&["--version", "0"]),
        state1,
        "version 0 is the first state"
    );
    let between = between_commits(&data.join("public.items"));
    assert_eq!(
        at(&["--as-of", &between]),
        state1,
        "between the first and the second commit"
    );

    // Another Delta reader sees the same rows.
    if let Some(rows) = read_delta_py(&data.join("public.items").display().to_string(), None, &[]) {
        let ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
        let expected: Vec<i64> = state2.0.iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, expected);
        let r10 = rows.iter().find(|r| r["id"] == json!(10)).unwrap();
        assert_eq!(r10["price"], json!("1000.01"));
        let r7 = rows.iter().find(|r| r["id"] == json!(7)).unwrap();
        assert_eq!(r7["price"], Value::Null);
        let r3 = rows.iter().find(|r| r["id"] == json!(3)).unwrap();
        assert_eq!(r3["name"], json!("Article n°3 — ø"));
    }

    // Version 1 came from a small merge: its updated rows are hidden by deletion
    // vectors, not rewritten. Both readers apply them.
    let v1 = same_instants(rows(&data_s, &["--version", "1"], ITEMS, &[]));
    assert_eq!(v1, items_v1, "version 1 is the state the second run saw");
    let items = data.join("public.items");
    let log1 = std::fs::read_to_string(items.join("_delta_log/00000000000000000001.json")).unwrap();
    assert!(log1.contains("\"deletionVector\":{"), "{log1}");
    if let Some(py) = read_delta_py(&items.display().to_string(), Some(1), &[]) {
        let key = |r: &Value| {
            (
                r["id"].as_i64(),
                r["name"].clone(),
                r["price"].as_str().map(str::to_owned),
            )
        };
        let theirs: Vec<_> = py.iter().map(key).collect();
        let ours: Vec<_> = v1.iter().map(key).collect();
        assert_eq!(theirs, ours);
    }

    // Verify: sound; restore writes the first state as CSV and the latest as Parquet.
    let out = ferry_ok(&["verify", &data_s, "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], json!(true), "{v:#}");
    assert_eq!(v["tables"].as_array().unwrap().len(), 2);
    let items_check = v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["stream"] == json!("public.items"))
        .unwrap();
    assert_eq!(items_check["live_rows"], json!(state2.0.len()), "{v:#}");
    assert!(
        items_check["deletion_vectors"].as_u64().unwrap() >= 1,
        "{v:#}"
    );
    let restored = dir.path().join("restored-v0");
    ferry_ok(&[
        "restore",
        &data_s,
        "--version",
        "0",
        "--out",
        restored.to_str().unwrap(),
        "--format",
        "csv",
        "--quiet",
    ]);
    let csv: String = std::fs::read_dir(restored.join("public.items"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".csv"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert_eq!(csv.lines().count(), 201, "header and 200 rows");
    assert!(csv.contains("Article n°30"), "version 0 still has item 30");
    let latest = dir.path().join("restored");
    ferry_ok(&[
        "restore",
        &data_s,
        "--out",
        latest.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(
        same_instants(rows(latest.to_str().unwrap(), &[], ITEMS, &[])),
        state2.0
    );

    // Damage is found and named.
    let damaged = dir.path().join("damaged");
    copy_dir(&data, &damaged);
    let victim = std::fs::read_dir(damaged.join("public.items"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    let len = std::fs::metadata(&victim).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&victim)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let out = ferry()
        .args(["verify", damaged.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let name = victim.file_name().unwrap().to_string_lossy().into_owned();
    assert!(stderr(&out).contains(&name), "{}", stderr(&out));
}

#[test]
fn two_runs_of_one_job_never_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let job = write(
        dir.path(),
        "job.toml",
        "[source]\nkind = \"files\"\npath = \"nowhere\"\n\n[backup]\npath = \"backup\"\n",
    );
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.path().join("job.lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let out = ferry()
        .args(["backup", job.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("holds"), "{}", stderr(&out));
    drop(lock);
    // Unknown keys are a configuration error naming the place.
    let bad = write(
        dir.path(),
        "bad.toml",
        "[source]\nkind = \"files\"\npath = \".\"\n\n[backup]\npath = \"b\"\nkeep_version = 3\n",
    );
    let out = ferry()
        .args(["backup", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("bad.toml:7"), "{}", stderr(&out));
}

#[test]
fn retention_keeps_the_last_versions_and_vacuums_the_rest() {
    let Some(db) = TestDb::new("bk_keep") else {
        return;
    };
    seed_items(&db);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("backup");
    let data_s = data.to_str().unwrap().to_owned();
    let job = pg_job(dir.path(), &db, "backup", "keep_versions = 2");
    let first = backup_ok(&job, &[], &[]);
    let mut states = vec![server_rows(&db, SERVER_ITEMS)];
    let mut versions = vec![stream(&first, "public.items")["version"].as_i64().unwrap()];
    let mut expired = Vec::new();
    for round in 1..=3 {
        db.psql(&format!(
            "UPDATE items SET price = price + {round}, changed_at = now() WHERE id % 4 = 0"
        ));
        let report = backup_ok(&job, &[], &[]);
        assert_eq!(changes(&report, "public.items").1, 50);
        states.push(server_rows(&db, SERVER_ITEMS));
        versions.push(stream(&report, "public.items")["version"].as_i64().unwrap());
        expired.extend(
            report["retention"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["stream"] == json!("public.items"))
                .cloned(),
        );
    }
    // From the third version on, each run expires the one before the last two.
    let files_deleted: u64 = expired
        .iter()
        .map(|p| p["files_deleted"].as_u64().unwrap())
        .sum();
    assert!(
        expired
            .iter()
            .filter(|p| p["expired_before"].is_string())
            .count()
            >= 2,
        "{expired:#?}"
    );
    assert!(files_deleted > 0, "{expired:#?}");
    // The last two data versions read as they were; the oldest is gone.
    assert_eq!(same_instants(rows(&data_s, &[], ITEMS, &[])), states[3]);
    let v2 = versions[2].to_string();
    assert_eq!(
        same_instants(rows(&data_s, &["--version", &v2], ITEMS, &[])),
        states[2]
    );
    let v1 = versions[1].to_string();
    let out = ferry()
        .args([
            "sql",
            "--data",
            &data_s,
            "--version",
            &v1,
            "SELECT COUNT(*) FROM public.items",
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "version {v1} was expired: {versions:?}"
    );
    // Their files are gone: what is left is the files of the last two versions.
    let files = std::fs::read_dir(data.join("public.items"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".parquet"))
        .count();
    assert!(files <= 4, "{files} data files left");
    let out = ferry_ok(&["verify", &data_s, "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], json!(true), "{v:#}");
}

#[test]
fn a_backup_killed_mid_run_keeps_the_previous_version_and_the_rerun_has_no_duplicates() {
    let Some(db) = TestDb::new("bk_kill") else {
        return;
    };
    db.psql(
        "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(12,2),
                             changed_at timestamptz NOT NULL);
         INSERT INTO items SELECT g, repeat('x', 40) || g, g * 0.01,
                timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second'
           FROM generate_series(1, 300000) g;
         CREATE TABLE tags (code text PRIMARY KEY, label text);",
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("backup");
    let data_s = data.to_str().unwrap().to_owned();
    let job = pg_job(dir.path(), &db, "backup", "");
    backup_ok(&job, &[], &[]);
    let count_sum = "SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d, CAST(SUM(price) AS VARCHAR) AS s FROM public.items";
    let first = rows(&data_s, &[], count_sum, &[]);

    // Every row changes; the second run is killed while it stages them.
    db.psql("UPDATE items SET price = price + 1, changed_at = now();
             INSERT INTO items SELECT g, 'new ' || g, 1, now() FROM generate_series(300001, 300500) g;");
    let staging = data.join("_ferry/staging/public.items");
    let mut child = ferry()
        .args(["backup", job.to_str().unwrap(), "--quiet"])
        .spawn()
        .unwrap();
    let t = Instant::now();
    let mut killed_while_staging = false;
    while t.elapsed() < Duration::from_secs(60) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let staged = std::fs::read_dir(&staging)
            .map(|d| d.flatten().count())
            .unwrap_or(0);
        if staged > 0 {
            child.kill().unwrap();
            killed_while_staging = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.wait();
    assert!(
        killed_while_staging,
        "the run ended before it could be killed"
    );

    // The previous version is whole and readable; verify agrees.
    assert_eq!(rows(&data_s, &[], count_sum, &[]), first);
    let v: Value =
        serde_json::from_slice(&ferry_ok(&["verify", &data_s, "--json"]).stdout).unwrap();
    assert_eq!(v["ok"], json!(true), "{v:#}");

    // The rerun completes: every row once, the server's sum.
    let report = backup_ok(&job, &[], &[]);
    let after = rows(&data_s, &[], count_sum, &[]);
    let server = server_rows(
        &db,
        "SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d, SUM(price)::text AS s FROM items",
    );
    assert_eq!(after[0]["n"], server[0]["n"], "{report:#}");
    assert_eq!(after[0]["d"], server[0]["n"], "no duplicates");
    assert_eq!(after[0]["s"], server[0]["s"], "every change is in");
}

/// A time (RFC 3339) halfway between the commits of versions 0 and 1 of `table`.
/// Delta resolves `--as-of` by the log files' modification times, which the file
/// system keeps at a coarse (jiffy) grain: a time 1 ms before a commit may fall on
/// either side, so the tests keep the two commits at least 200 ms apart.
fn between_commits(table: &Path) -> String {
    let (t0, t1) = (commit_time(table, 0), commit_time(table, 1));
    assert!(t1 - t0 >= 200, "commits {t0} and {t1} too close");
    chrono_like((t0 + t1) / 2)
}

/// The commit timestamp (ms) of `version` of the table at `table`.
fn commit_time(table: &Path, version: u64) -> i64 {
    let log =
        std::fs::read_to_string(table.join(format!("_delta_log/{version:020}.json"))).unwrap();
    log.lines()
        .find_map(|l| {
            let v: Value = serde_json::from_str(l).ok()?;
            v["commitInfo"]["timestamp"].as_i64()
        })
        .expect("the commit has a timestamp")
}

fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-r")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

// ---------------------------------------------------------------------------
// The second reader and the S3 server (tests/harness/s3: moto, deltalake, pyarrow)

pub(crate) fn s3_harness() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/harness/s3")
}

pub(crate) fn py_venv() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    home.join(".cache/ferry-h8-py/venv/bin/python")
}

fn s3_port() -> u16 {
    std::env::var("FERRY_S3_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8790)
}

/// Starts the local S3 server (and with it the venv holding `deltalake`); `false`
/// (skip) outside CI when it cannot.
pub(crate) fn s3_server() -> bool {
    static UP: OnceLock<bool> = OnceLock::new();
    *UP.get_or_init(|| {
        let out = Command::new(s3_harness().join("start.sh"))
            .arg(s3_port().to_string())
            .output();
        match out {
            Ok(o) if o.status.success() => true,
            Ok(o) => {
                let err = String::from_utf8_lossy(&o.stderr).into_owned();
                assert!(
                    !mandatory(),
                    "the S3 test server could not be started:\n{err}"
                );
                eprintln!("S3 test server unavailable, skipping:\n{err}");
                false
            }
            Err(e) => {
                assert!(!mandatory(), "tests/harness/s3/start.sh: {e}");
                false
            }
        }
    })
}

/// Rows of a Delta table read by the `deltalake` Python package, or `None` (skip)
/// when its venv cannot be made outside CI.
pub(crate) fn read_delta_py(
    uri: &str,
    version: Option<u64>,
    env: &[(&str, String)],
) -> Option<Vec<Value>> {
    if !s3_server() {
        return None;
    }
    let mut cmd = Command::new(py_venv());
    cmd.arg(s3_harness().join("read_delta.py")).arg(uri);
    if let Some(v) = version {
        cmd.args(["--version", &v.to_string()]);
    }
    if uri.starts_with("s3://") {
        cmd.args(["--endpoint", &format!("http://127.0.0.1:{}", s3_port())]);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "read_delta.py {uri}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect::<Vec<_>>();
    lines.retain(|l| l.get("schema").is_none());
    lines.sort_by_key(|r| r["id"].as_i64().unwrap_or_default());
    Some(lines)
}

fn s3_env() -> Vec<(&'static str, String)> {
    vec![
        (
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", s3_port()),
        ),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_ACCESS_KEY_ID", "ferry-e2e".into()),
        ("AWS_SECRET_ACCESS_KEY", "ferry-e2e-Secret-77".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

#[test]
fn a_backup_on_s3_has_the_same_history_and_reads_back_everywhere() {
    let Some(db) = TestDb::new("bk_s3") else {
        return;
    };
    if !s3_server() {
        return;
    }
    let bucket = format!("ferry-e2e-{}", std::process::id());
    let made = Command::new("curl")
        .args(["-sf", "-X", "PUT"])
        .arg(format!("http://127.0.0.1:{}/{bucket}", s3_port()))
        .status()
        .unwrap();
    assert!(made.success(), "creating bucket {bucket}");
    seed_items(&db);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("s3://{bucket}/erp/nightly");
    // Endpoint in the job file, keys in the environment.
    let job = pg_job(
        dir.path(),
        &db,
        &url,
        &format!(
            "key_scan_every = 1\n[backup.storage]\nendpoint = \"http://127.0.0.1:{}\"\nallow_http = \"true\"\nregion = \"us-east-1\"",
            s3_port()
        ),
    );
    let keys: Vec<(&str, String)> = s3_env()
        .into_iter()
        .filter(|(k, _)| k.contains("KEY"))
        .collect();
    let first = backup_ok(&job, &[], &keys);
    assert_eq!(changes(&first, "public.items"), (200, 0, 0));
    let state1 = server_rows(&db, SERVER_ITEMS);
    change_items(&db);
    let second = backup_ok(&job, &[], &keys);
    assert_eq!(changes(&second, "public.items"), (1, 2, 1));
    let state2 = server_rows(&db, SERVER_ITEMS);
    // Nothing staged is left behind, and the secrets are not in the report.
    let text = second.to_string();
    assert!(!text.contains("ferry-e2e-Secret-77"), "{text}");

    let env = s3_env();
    assert_eq!(same_instants(rows(&url, &[], ITEMS, &env)), state2);
    assert_eq!(
        same_instants(rows(&url, &["--version", "0"], ITEMS, &env)),
        state1
    );
    let py = read_delta_py(&format!("{url}/public.items"), Some(0), &env).unwrap();
    assert_eq!(py.len(), 200);
    let py = read_delta_py(&format!("{url}/public.items"), None, &env).unwrap();
    let ids: Vec<i64> = py.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    let expected: Vec<i64> = state2.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, expected);

    let mut verify = ferry();
    verify
        .args(["verify", &url, "--json"])
        .envs(env.iter().map(|(k, v)| (k, v)));
    let out = verify.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let restored = dir.path().join("restored");
    let mut restore = ferry();
    restore
        .args(["restore", &url, "--version", "0", "--quiet", "--out"])
        .arg(&restored)
        .envs(env.iter().map(|(k, v)| (k, v)));
    let out = restore.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        same_instants(rows(restored.to_str().unwrap(), &[], ITEMS, &[])),
        state1
    );
}

// ---------------------------------------------------------------------------
// Tryton

#[test]
fn a_tryton_backup_follows_creates_writes_and_deletes_at_the_server() {
    let Some(base) = crate::migrate::targets() else {
        return;
    };
    let url = format!("{base}/bk_tryton");
    let rpc = |method: &str, params: Value| crate::tryton::rpc(&url, method, params);
    let ctx = json!({"active_test": false});
    let created = rpc(
        "model.party.party.create",
        json!([
            (1..=6)
                .map(|i| json!({"name": format!("BK Partner {i} — Zürich")}))
                .collect::<Vec<_>>(),
            ctx
        ]),
    );
    let ids: Vec<i64> = created
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let state = || {
        let mut rows: Vec<Value> = rpc(
            "model.party.party.search_read",
            json!([
                [["name", "like", "BK %"]],
                0,
                null,
                [["id", "ASC"]],
                ["id", "name"],
                ctx
            ]),
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!({"id": r["id"], "name": r["name"]}))
        .collect();
        rows.sort_by_key(|r| r["id"].as_i64());
        rows
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("backup");
    let data_s = data.to_str().unwrap().to_owned();
    let job = write(
        dir.path(),
        "tryton.toml",
        format!(
            "streams = [\"party.party\"]\n\n[source]\nkind = \"tryton\"\nurl = \"{}\"\nuser = \"admin\"\npassword_env = \"FERRY_E2E_TRYTON_PW\"\n\n[backup]\npath = \"backup\"\nkey_scan_every = 1\n",
            url.replacen("http://", "tryton+http://", 1)
        ),
    );
    let env = [("FERRY_E2E_TRYTON_PW", crate::tryton::PASSWORD.to_owned())];
    let first = backup_ok(&job, &[], &env);
    assert!(changes(&first, "party.party").0 >= 6, "{first:#}");
    let state1 = state();

    // Step past the high-water mark (and keep the commits apart, see between_commits).
    std::thread::sleep(Duration::from_millis(1100));
    rpc(
        "model.party.party.write",
        json!([[ids[0], ids[1]], {"name": "BK Partner renamed — Genève"}, ctx]),
    );
    rpc("model.party.party.delete", json!([[ids[2]], ctx]));
    rpc(
        "model.party.party.create",
        json!([[{"name": "BK Partner 7 — 東京"}], ctx]),
    );
    let second = backup_ok(&job, &[], &env);
    assert_eq!(stream(&second, "party.party")["mode"], json!("append"));
    assert_eq!(changes(&second, "party.party"), (1, 2, 1), "{second:#}");
    let state2 = state();

    let ours = |extra: &[&str]| -> Vec<Value> {
        rows(
            &data_s,
            extra,
            "SELECT id, name FROM party.party WHERE name LIKE 'BK %' ORDER BY id",
            &[],
        )
    };
    assert_eq!(ours(&[]), state2);
    assert_eq!(ours(&["--version", "0"]), state1);
    let between = between_commits(&data.join("party.party"));
    assert_eq!(ours(&["--as-of", &between]), state1);
}
