//! Odoo backup zips: `manifest.json` (version, installed modules) and the
//! `filestore/` of attachments, each named by the SHA-1 of its content.
//!
//! The filestore is read as the stream `filestore`: one row per file with its path
//! relative to `filestore/` (the form of `ir_attachment.store_fname`), size, the
//! SHA-1 computed from the content and whether it matches the name. A file that
//! does not match is logged as a warning and flagged `verified = false`. When
//! `with_files_dir` is set, each file is also copied there under the same path.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{BooleanBuilder, RecordBatch, StringBuilder, UInt64Builder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use ferry_core::{Error, Location, Result};
use sha1::{Digest, Sha1};

/// Name of the filestore stream.
pub const FILESTORE: &str = "filestore";
/// Name of the stream of installed modules.
pub const MODULES: &str = "odoo_manifest_modules";

/// Schema of the filestore stream.
pub fn filestore_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("path", DataType::Utf8, false),
        Field::new("size", DataType::UInt64, false),
        Field::new("sha1", DataType::Utf8, false),
        Field::new("verified", DataType::Boolean, false),
    ]))
}

/// Schema of the modules stream.
pub fn modules_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("module", DataType::Utf8, false),
        Field::new("version", DataType::Utf8, true),
    ]))
}

/// What a backup zip holds besides its dump.
#[derive(Debug, Clone, Default)]
pub struct Backup {
    /// The manifest as JSON, if present.
    pub manifest: Option<serde_json::Value>,
    /// Attachment files (zip entry names under `filestore/`, without the checklist).
    pub files: Vec<String>,
}

fn zip_err(path: &Path, e: zip::result::ZipError) -> Error {
    Error::external(format!("reading zip {}", path.display()), e)
}

/// Reads the manifest and lists the filestore of the zip at `path`.
///
/// # Errors
/// The zip cannot be read or its manifest is not JSON.
pub fn inspect(path: &Path) -> Result<Backup> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut z = zip::ZipArchive::new(f).map_err(|e| zip_err(path, e))?;
    let manifest = match z.by_name("manifest.json") {
        Ok(mut m) => {
            let mut text = String::new();
            m.read_to_string(&mut text)
                .map_err(|e| Error::io(path, e))?;
            Some(serde_json::from_str(&text).map_err(|e| {
                Error::data(
                    Location::file(format!("{}:manifest.json", path.display()))
                        .line(e.line() as u64),
                    format!("manifest.json is not JSON: {e}"),
                )
            })?)
        }
        Err(_) => None,
    };
    let files = z
        .file_names()
        .filter(|n| {
            n.starts_with("filestore/")
                && !n.starts_with("filestore/checklist/")
                && !n.ends_with('/')
        })
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let mut files = files;
    files.sort();
    Ok(Backup { manifest, files })
}

/// The catalog facts of a manifest: Odoo version, database, modules.
pub fn manifest_metadata(
    manifest: &serde_json::Value,
) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    for (key, as_key) in [
        ("version", "odoo_version"),
        ("major_version", "odoo_major_version"),
        ("db_name", "odoo_database"),
        ("pg_version", "odoo_pg_version"),
    ] {
        if let Some(v) = manifest.get(key) {
            m.insert(as_key.into(), v.clone());
        }
    }
    if let Some(mods) = manifest.get("modules") {
        m.insert("odoo_modules".into(), mods.clone());
    }
    m
}

/// The manifest's modules as one batch.
///
/// # Errors
/// Arrow rejects the batch (not expected).
pub fn modules_batch(manifest: &serde_json::Value) -> Result<RecordBatch> {
    let mut names = StringBuilder::new();
    let mut versions = StringBuilder::new();
    if let Some(mods) = manifest.get("modules").and_then(|m| m.as_object()) {
        for (name, version) in mods {
            names.append_value(name);
            versions.append_option(version.as_str());
        }
    }
    Ok(RecordBatch::try_new(
        modules_schema(),
        vec![Arc::new(names.finish()), Arc::new(versions.finish())],
    )?)
}

/// Reads every filestore file of the zip at `path`, verifying its SHA-1 and copying
/// it under `copy_to` when given. Calls `send` per batch; returns the files whose
/// content does not match their name.
///
/// # Errors
/// The zip cannot be read or a copy cannot be written.
pub fn read_filestore(
    path: &Path,
    files: &[String],
    copy_to: Option<&Path>,
    batch_rows: usize,
    send: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<Vec<String>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut z = zip::ZipArchive::new(f).map_err(|e| zip_err(path, e))?;
    let mut mismatched = Vec::new();
    let mut b = (
        StringBuilder::new(),
        UInt64Builder::new(),
        StringBuilder::new(),
        BooleanBuilder::new(),
    );
    let mut rows = 0;
    let mut buf = vec![0u8; 256 * 1024];
    for name in files {
        let mut entry = z.by_name(name).map_err(|e| zip_err(path, e))?;
        let rel = name.strip_prefix("filestore/").unwrap_or(name);
        let mut out = match copy_to {
            Some(dir) => {
                let target = dir.join(rel);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                }
                Some((
                    std::io::BufWriter::new(
                        std::fs::File::create(&target).map_err(|e| Error::io(&target, e))?,
                    ),
                    target,
                ))
            }
            None => None,
        };
        let mut hasher = Sha1::new();
        let mut size: u64 = 0;
        loop {
            let n = entry.read(&mut buf).map_err(|e| {
                Error::data(
                    Location::file(format!("{}:{name}", path.display())),
                    format!("cannot read the file from the zip: {e}"),
                )
            })?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
            if let Some((w, t)) = out.as_mut() {
                std::io::Write::write_all(w, &buf[..n]).map_err(|e| Error::io(&*t, e))?;
            }
        }
        if let Some((mut w, t)) = out {
            std::io::Write::flush(&mut w).map_err(|e| Error::io(&t, e))?;
        }
        let sha = hex::encode(hasher.finalize());
        let expected = rel.rsplit('/').next().unwrap_or(rel);
        let verified = sha.eq_ignore_ascii_case(expected);
        if !verified {
            tracing::warn!(
                file = rel,
                sha1 = sha,
                "Filestore file does not match the SHA-1 in its name."
            );
            mismatched.push(rel.to_owned());
        }
        b.0.append_value(rel);
        b.1.append_value(size);
        b.2.append_value(&sha);
        b.3.append_value(verified);
        rows += 1;
        if rows >= batch_rows {
            send(finish(&mut b)?)?;
            rows = 0;
        }
    }
    if rows > 0 {
        send(finish(&mut b)?)?;
    }
    Ok(mismatched)
}

fn finish(
    b: &mut (StringBuilder, UInt64Builder, StringBuilder, BooleanBuilder),
) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        filestore_schema(),
        vec![
            Arc::new(b.0.finish()),
            Arc::new(b.1.finish()),
            Arc::new(b.2.finish()),
            Arc::new(b.3.finish()),
        ],
    )?)
}
