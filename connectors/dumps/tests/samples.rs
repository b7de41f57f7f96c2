//! The recorded samples in `../shared/samples` read through the source API: every
//! table of the Odoo 19 backup and of the Dolibarr dump, with the rows the dump holds.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use ferry_core::{ReadOptions, Source, SourceEvent};
use ferry_dumps::{DumpConfig, DumpSource};
use futures::StreamExt;

fn samples() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples");
    if p.is_dir() {
        return Some(p);
    }
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(!ci, "../shared/samples is required in CI");
    eprintln!("../shared/samples not found: skipping");
    None
}

/// COPY rows per table, counted without ferry.
fn copy_counts(text: &[u8]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.split(|&b| b == b'\n') {
        if let Some(name) = &current {
            if line == b"\\." {
                current = None;
            } else if let Some(n) = out.get_mut(name) {
                *n += 1;
            }
        } else if line.starts_with(b"COPY ") && line.ends_with(b"FROM stdin;") {
            let t = String::from_utf8_lossy(&line[5..]).into_owned();
            let name = t.split([' ', '(']).next().unwrap_or("").replace('"', "");
            out.insert(name.clone(), 0);
            current = Some(name);
        }
    }
    out
}

async fn read_all(src: &DumpSource) -> BTreeMap<String, Result<u64, String>> {
    let cat = src.discover().await.unwrap();
    let mut out = BTreeMap::new();
    for s in &cat.streams {
        let mut rows = 0u64;
        let mut err = None;
        let mut ev = src.read(s, ReadOptions::default()).await.unwrap();
        while let Some(e) = ev.next().await {
            match e {
                Ok(SourceEvent::Batch(b)) => {
                    assert_eq!(b.schema(), s.schema);
                    rows += b.num_rows() as u64;
                }
                Ok(_) => {}
                Err(e) => err = Some(e.to_string()),
            }
        }
        out.insert(s.name.clone(), err.map_or(Ok(rows), Err));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn odoo_backup_zip_reads_every_table() {
    let Some(samples) = samples() else { return };
    let zip = samples.join("odoo19/backup.zip");
    let mut dump = Vec::new();
    let mut z = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    z.by_name("dump.sql")
        .unwrap()
        .read_to_end(&mut dump)
        .unwrap();
    let expected = copy_counts(&dump);
    let src = DumpSource::new(DumpConfig {
        path: zip,
        ..Default::default()
    })
    .unwrap();
    let got = read_all(&src).await;
    for (t, n) in &expected {
        assert_eq!(got.get(t), Some(&Ok(*n)), "{t}");
    }
    // 1372 zip members under filestore/: 686 attachments and 686 empty markers
    // under filestore/checklist/, which are not attachments.
    assert_eq!(got["filestore"], Ok(686));
    assert!(got["odoo_manifest_modules"].as_ref().is_ok_and(|n| *n > 70));
}

#[tokio::test(flavor = "multi_thread")]
async fn dolibarr_dump_reads_every_table() {
    let Some(samples) = samples() else { return };
    let src = DumpSource::new(DumpConfig {
        path: samples.join("dolibarr20/mysqldump_ferry_doli.sql.gz"),
        ..Default::default()
    })
    .unwrap();
    let got = read_all(&src).await;
    assert_eq!(got.len(), 288);
    let counts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(samples.join("dolibarr20/counts.json")).unwrap())
            .unwrap();
    for (t, n) in counts["sql_row_counts"].as_object().unwrap() {
        assert_eq!(got[t], Ok(n.as_u64().unwrap()), "{t}");
    }
    let failed: Vec<_> = got.iter().filter(|(_, r)| r.is_err()).collect();
    assert!(failed.is_empty(), "{failed:?}");
}
