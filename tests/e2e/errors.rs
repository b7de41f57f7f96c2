//! Bad input gets an error naming where it is, and a non-zero exit; never a panic.

use crate::util::*;

#[test]
fn malformed_rows_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "bad.csv",
        "id,name\n1,ok\n2,\"never closed\n3,x\n",
    );
    let out = ferry()
        .args([
            "extract",
            f.to_str().unwrap(),
            "--out",
            dir.path().join("o").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("bad.csv:3"), "{err}");
    assert!(err.contains("never closed"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let f = write(
        dir.path(),
        "enc.csv",
        b"id,name\n1,caf\xc3\xa9\n".as_slice(),
    );
    let opts = dir.path().join("job.toml");
    std::fs::write(
        &opts,
        format!(
            "[source]\nkind = \"files\"\npath = {:?}\ncsv = {{ encoding = \"utf-8\" }}\n\n[sink]\nkind = \"parquet\"\npath = {:?}\n",
            f.to_str().unwrap(),
            dir.path().join("o2").to_str().unwrap()
        ),
    )
    .unwrap();
    // The sample decides UTF-8 from the first MiB; make the bad byte come later.
    let mut big = b"id,name\n".to_vec();
    for i in 0..70_000 {
        big.extend_from_slice(format!("{i},café au lait\n").as_bytes());
    }
    big.extend_from_slice(b"70000,na\xefve\n");
    std::fs::write(&f, &big).unwrap();
    let out = ferry()
        .args(["run", opts.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("enc.csv:70002:2 (column \"name\""), "{err}");
    assert!(err.contains("0xEF"), "{err}");
}

#[test]
fn unknown_job_keys_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let job = write(
        dir.path(),
        "j.toml",
        "[source]\nkind = \"files\"\npath = \".\"\ncolour = \"red\"\n[sink]\nkind = \"parquet\"\npath = \"o\"\n",
    );
    let out = ferry()
        .args(["run", job.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("colour"), "{}", stderr(&out));
    let out = ferry()
        .args(["extract", "nope://x", "--out", "o"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no connector understands"),
        "{}",
        stderr(&out)
    );
}
