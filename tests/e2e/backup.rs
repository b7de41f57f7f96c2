//! Backups to Delta Lake tables (`[sink] kind = "delta"`) against the real PostgreSQL:
//! each run is a table version; `ferry sql --version` / `--as-of` read an earlier one,
//! compared with what the server itself returned at each moment.

use std::path::Path;

use serde_json::Value;

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
    // A time before the second backup reads the first.
    let log =
        std::fs::read_to_string(backup.join("public.items/_delta_log/00000000000000000001.json"))
            .unwrap();
    let ts: i64 = log
        .lines()
        .find_map(|l| {
            let v: Value = serde_json::from_str(l).ok()?;
            v["commitInfo"]["timestamp"].as_i64()
        })
        .expect("the commit has a timestamp");
    let before = chrono_like(ts - 1);
    assert_eq!(
        ours(&backup, &["--as-of", &before]),
        first,
        "as of {before}"
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
