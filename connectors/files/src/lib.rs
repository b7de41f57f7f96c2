//! File connectors of ferry.
//!
//! - Sources: CSV ([`csv`]), spreadsheets ([`xlsx`]) and JSON lines ([`jsonl`]); a
//!   folder of exports is one source with one stream per file ([`source`]).
//! - Sinks: Parquet, CSV and JSON lines, one folder per stream, published atomically,
//!   with a manifest of rows and checksums ([`sink`]).
//!
//! Call [`register`] to make them available by name.

pub mod csv;
pub mod jsonl;
pub mod sink;
pub mod source;
pub mod typing;
pub mod xlsx;

use std::path::Path;
use std::sync::Arc;

use ferry_core::registry::{Registry, SinkFactory, SourceFactory, parse_config};
use ferry_core::{Result, Sink, Source};

pub use sink::{FileFormat, FolderSink};
pub use source::{FilesConfig, FilesSource};

/// Adds the `files` source and the `parquet`, `csv` and `jsonl` sinks.
pub fn register(registry: &mut Registry) {
    registry.add_source(FilesFactory);
    for format in [FileFormat::Parquet, FileFormat::Csv, FileFormat::Jsonl] {
        registry.add_sink(FolderFactory(format));
    }
}

struct FilesFactory;

impl SourceFactory for FilesFactory {
    fn kind(&self) -> &'static str {
        "files"
    }

    fn accepts(&self, spec: &str) -> bool {
        // Anything without a URL scheme is a path.
        !spec.contains("://") && !spec.starts_with("sqlite:")
    }

    fn build_from_spec(&self, spec: &str) -> Result<Arc<dyn Source>> {
        let path = spec.strip_prefix("file://").unwrap_or(spec);
        Ok(Arc::new(FilesSource::new(FilesConfig {
            path: path.into(),
            ..Default::default()
        })?))
    }

    fn build_from_config(&self, table: toml::Table, origin: &str) -> Result<Arc<dyn Source>> {
        Ok(Arc::new(FilesSource::new(parse_config::<FilesConfig>(
            table, origin,
        )?)?))
    }
}

struct FolderFactory(FileFormat);

impl SinkFactory for FolderFactory {
    fn kind(&self) -> &'static str {
        self.0.name()
    }

    fn build_at_path(&self, root: &Path) -> Result<Arc<dyn Sink>> {
        Ok(Arc::new(FolderSink::new(root, self.0)?))
    }

    fn build_from_config(&self, table: toml::Table, origin: &str) -> Result<Arc<dyn Sink>> {
        Ok(Arc::new(FolderSink::from_config(
            parse_config(table, origin)?,
            self.0,
        )?))
    }
}
