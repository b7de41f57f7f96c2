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

#[test]
fn interactive_prompt_reads_statements_and_dot_commands() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "payments.csv", "id,amount\n1,0.10\n2,0.20\n");
    let out = dir.path().join("out");
    ferry_ok(&[
        "extract",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let mut child = ferry()
        .args(["sql", "--data", out.to_str().unwrap()])
        .env("XDG_DATA_HOME", dir.path().join("xdg"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b".tables\n.schema payments\nSELECT SUM(amount)\n  AS total FROM payments;\n.format csv\nSELECT COUNT(*) AS n FROM payments;\n.quit\n")
        .unwrap();
    let res = child.wait_with_output().unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    let text = stdout(&res);
    assert!(text.contains("payments\n"), "{text}");
    assert!(text.contains("Decimal128(18, 2)"), "{text}");
    assert!(text.contains("| 0.30  |"), "{text}");
    assert!(text.contains("n\n2\n"), "{text}");
}
