//! `ferry discover` and `ferry extract` on folders of exports.

use crate::util::*;

fn sample_folder(dir: &std::path::Path) -> std::path::PathBuf {
    let src = dir.join("exports");
    std::fs::create_dir(&src).unwrap();
    write(
        &src,
        "orders.csv",
        "id;total;placed\n1;10,50;2025-01-02\n2;7,25;2025-01-03\n",
    );
    write(
        &src,
        "lines.jsonl",
        "{\"id\":1,\"order_id\":1,\"qty\":2.500}\n{\"id\":2,\"order_id\":2,\"qty\":1}\n",
    );
    write(&src, "notes.txt", "a\tb\n1\tx\n");
    write(&src, "README.md", "not data");
    src
}

#[test]
fn discover_lists_streams_and_types() {
    let dir = tempfile::tempdir().unwrap();
    let src = sample_folder(dir.path());
    let out = ferry_ok(&["discover", src.to_str().unwrap(), "--json"]);
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["source"] = "files <dir>".into();
    // Compared as text: serde_json's exact numbers do not pass through insta's serializer.
    insta::assert_snapshot!(serde_json::to_string_pretty(&v).unwrap());
    let text = stdout(&ferry_ok(&[
        "discover",
        src.to_str().unwrap(),
        "--streams",
        "ord*",
    ]));
    assert!(
        text.contains("orders (2 rows)") && text.contains("Decimal128(18, 2)"),
        "{text}"
    );
}

#[test]
fn extract_writes_a_manifest_with_checksums_and_selects_streams() {
    let dir = tempfile::tempdir().unwrap();
    let src = sample_folder(dir.path());
    let out = dir.path().join("out");
    let res = ferry_ok(&[
        "extract",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--streams",
        "orders,lines",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(report["streams"].as_array().unwrap().len(), 2);
    assert!(!out.join("notes").exists());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("_ferry/manifest.json")).unwrap()).unwrap();
    for (stream, rows) in [("orders", 2), ("lines", 2)] {
        let m = &manifest["streams"][stream];
        assert_eq!(m["rows"], rows);
        for f in m["files"].as_array().unwrap() {
            let bytes = std::fs::read(out.join(f["path"].as_str().unwrap())).unwrap();
            assert_eq!(f["bytes"], bytes.len());
            use sha2::Digest;
            assert_eq!(
                f["sha256"].as_str().unwrap(),
                hex::encode(sha2::Sha256::digest(&bytes))
            );
        }
    }
    let bad = ferry()
        .args([
            "extract",
            src.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--streams",
            "nope",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("no stream matches \"nope\""),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn plain_csv_and_jsonl_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let src = sample_folder(dir.path());
    for format in ["csv", "jsonl"] {
        let out = dir.path().join(format);
        ferry_ok(&[
            "extract",
            src.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--format",
            format,
            "--streams",
            "orders",
            "--quiet",
        ]);
        let file = std::fs::read_dir(out.join("orders"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let text = std::fs::read_to_string(file).unwrap();
        match format {
            "csv" => assert_eq!(
                text,
                "id,total,placed\n1,10.50,2025-01-02\n2,7.25,2025-01-03\n"
            ),
            _ => assert!(text.starts_with("{\"id\":1,\"total\":"), "{text}"),
        }
    }
}

#[test]
fn job_files_run_and_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let src = sample_folder(dir.path());
    let job = write(
        dir.path(),
        "nightly.toml",
        format!(
            "streams = [\"orders\"]\n\n[source]\nkind = \"files\"\npath = {:?}\n\n[sink]\nkind = \"parquet\"\npath = \"backup\"\n",
            src.to_str().unwrap()
        ),
    );
    // Relative sink paths are relative to where ferry runs.
    let out = ferry()
        .current_dir(dir.path())
        .args(["run", job.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("backup/orders").is_dir());
    assert!(dir.path().join("nightly.state.json").is_file());
    let again = ferry()
        .current_dir(dir.path())
        .args(["run", job.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(report["resumed"], false);
    assert_eq!(report["streams"][0]["rows"], 2);
}
