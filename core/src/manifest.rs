//! `_ferry/manifest.json`: what a folder of extracted streams holds.
//!
//! For each stream the manifest lists its columns, key, row count and every data file
//! with its size and SHA-256, so that anyone can check the copy without ferry. It is
//! rewritten atomically each time a stream is committed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::sink::FileEntry;
use crate::stream::ColumnDescription;
use crate::{Error, Result, fsutil};

/// Folder, under an output root, where ferry keeps its own files.
pub const FERRY_DIR: &str = "_ferry";

/// Identifies the manifest format.
pub const MANIFEST_FORMAT: &str = "ferry.manifest.v1";

/// The manifest of an output folder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// Version of ferry that last wrote it.
    pub ferry_version: String,
    /// Description of the source, without secrets.
    pub source: String,
    /// Facts the source reported about itself (version, modules, ...).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub source_metadata: serde_json::Map<String, serde_json::Value>,
    /// File format of the data files: `parquet`, `csv` or `jsonl`.
    pub file_format: String,
    /// Streams by name.
    pub streams: BTreeMap<String, ManifestStream>,
}

/// One stream in the manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManifestStream {
    /// Columns in order.
    pub columns: Vec<ColumnDescription>,
    /// Primary key columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub primary_key: Vec<String>,
    /// Total rows over all files.
    pub rows: u64,
    /// Data files, relative to the output root.
    pub files: Vec<FileEntry>,
    /// Run that last committed the stream.
    pub run_id: String,
    /// When (RFC 3339, UTC).
    pub committed_at: String,
}

/// Path of the manifest under `root`.
pub fn manifest_path(root: &Path) -> PathBuf {
    root.join(FERRY_DIR).join("manifest.json")
}

impl Manifest {
    /// Reads the manifest of `root`, or `None` if there is none.
    ///
    /// # Errors
    /// The file exists but cannot be read or parsed.
    pub fn load(root: &Path) -> Result<Option<Manifest>> {
        let path = manifest_path(root);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Error::data(
                    crate::Location::file(path.display().to_string()).line(e.line() as u64),
                    format!("manifest is not valid: {e}"),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Writes the manifest of `root` atomically.
    ///
    /// # Errors
    /// Any I/O failure.
    pub fn save(&self, root: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::external("serializing manifest", e))?;
        fsutil::write_atomic(&manifest_path(root), &bytes)
    }
}
