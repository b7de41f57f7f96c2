//! `kill -9` in the middle of `ferry extract` leaves no partial Parquet file where
//! readers look, and a rerun completes with the same output as an uninterrupted run.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::*;

fn published_parquet(out: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(out).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() && !entry.file_name().to_string_lossy().starts_with('_') {
            for f in std::fs::read_dir(&p).unwrap().flatten() {
                found.push(f.path());
            }
        }
    }
    found.sort();
    found
}

fn checksums(out: &Path) -> Vec<(String, u64, String)> {
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("_ferry/manifest.json")).unwrap()).unwrap();
    let mut v: Vec<(String, u64, String)> = m["streams"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(name, s)| {
            s["files"].as_array().unwrap().iter().map(move |f| {
                (
                    name.clone(),
                    f["rows"].as_u64().unwrap(),
                    f["sha256"].as_str().unwrap().to_owned(),
                )
            })
        })
        .collect();
    v.sort();
    v
}

#[test]
fn kill_9_mid_extract_then_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    for name in ["a_small.csv", "z_big.csv"] {
        let rows = if name == "a_small.csv" { 1000 } else { 600_000 };
        let mut f = std::io::BufWriter::new(std::fs::File::create(src.join(name)).unwrap());
        writeln!(f, "id,amount,label,at").unwrap();
        for i in 0..rows {
            writeln!(
                f,
                "{i},{}.{:02},article n°{i} — ok,2025-01-01T00:00:{:02}Z",
                i % 9973,
                i % 100,
                i % 60
            )
            .unwrap();
        }
    }
    let reference = dir.path().join("reference");
    ferry_ok(&[
        "extract",
        src.to_str().unwrap(),
        "--out",
        reference.to_str().unwrap(),
        "--quiet",
        "--concurrency",
        "1",
    ]);

    let out = dir.path().join("out");
    let mut child = ferry()
        .args([
            "extract",
            src.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
            "--concurrency",
            "1",
        ])
        .spawn()
        .unwrap();
    // Wait until the big stream is being written, then kill without warning.
    let staging = out.join("_ferry/staging/z_big");
    let started = Instant::now();
    let mut killed_mid_write = false;
    while started.elapsed() < Duration::from_secs(60) {
        let writing = std::fs::read_dir(&staging)
            .map(|it| {
                it.flatten()
                    .any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
            })
            .unwrap_or(false);
        if writing {
            child.kill().unwrap(); // SIGKILL
            killed_mid_write = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait().unwrap();
    assert!(
        killed_mid_write,
        "the extract finished before it could be killed; make the input bigger"
    );
    // Nothing half-written where readers look: the big stream is not published at all.
    for f in published_parquet(&out) {
        assert!(
            !f.to_string_lossy().ends_with(".partial"),
            "{}",
            f.display()
        );
        assert!(
            !f.starts_with(out.join("z_big")),
            "z_big published before it finished: {}",
            f.display()
        );
    }
    let res = ferry_ok(&[
        "extract",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
        "--concurrency",
        "1",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(report["resumed"], true, "{report}");
    assert_eq!(checksums(&out), checksums(&reference));
    assert!(!staging.exists());
}
