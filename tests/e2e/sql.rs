//! `ferry sql` over extracted data: exact decimals and output formats.

use crate::util::*;

#[test]
fn decimal_sums_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    write(&src, "payments.csv", "id,amount\n1,0.10\n2,0.20\n");
    let out = dir.path().join("out");
    ferry_ok(&[
        "extract",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let res = ferry_ok(&[
        "sql",
        "--data",
        out.to_str().unwrap(),
        "SELECT SUM(amount) AS total FROM payments",
        "--format",
        "csv",
    ]);
    assert_eq!(stdout(&res), "total\n0.30\n");

    let res = ferry_ok(&[
        "sql",
        "--data",
        out.to_str().unwrap(),
        "SELECT id, amount FROM payments ORDER BY id",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&res)).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);

    let file = dir.path().join("r.parquet");
    ferry_ok(&[
        "sql",
        "--data",
        out.to_str().unwrap(),
        "SELECT * FROM payments",
        "--format",
        "parquet",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert!(std::fs::metadata(&file).unwrap().len() > 0);
}

#[test]
fn sql_errors_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = ferry()
        .args(["sql", "--data", dir.path().to_str().unwrap(), "SELECT 1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("holds no stream folder"),
        "{}",
        stderr(&out)
    );
}
