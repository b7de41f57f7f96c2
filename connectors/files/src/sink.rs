//! Folder sinks: Parquet (default), CSV and JSON lines, one folder per stream.
//!
//! Layout of an output folder:
//!
//! ```text
//! out/
//!   customers/part-<run>-00000.parquet     published streams
//!   _ferry/manifest.json                   columns, rows, files and SHA-256 per stream
//!   _ferry/staging/<stream>/…              streams being written (invisible to readers)
//! ```
//!
//! A part file is written as `*.partial`, fsynced and renamed; a stream is published
//! by swapping its staging folder into place; the manifest is rewritten atomically.
//! So `kill -9` at any moment leaves every published stream complete, and the staged
//! parts named in the job state let a rerun continue where it stopped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use ferry_core::fsutil;
use ferry_core::manifest::{FERRY_DIR, MANIFEST_FORMAT, Manifest, ManifestStream};
use ferry_core::parquet_lanes::LaneWriter;
use ferry_core::sink::{FileEntry, OpenStream};
use ferry_core::{Error, Result, Sink, StreamOutput, StreamSpec, StreamWriter, WriteMode};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// File formats of folder sinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// Apache Parquet, zstd-compressed.
    Parquet,
    /// CSV with a header, UTF-8, `,`-separated.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl FileFormat {
    /// The kind name and file extension.
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Csv => "csv",
            FileFormat::Jsonl => "jsonl",
        }
    }
}

/// Job-file options of the folder sinks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderConfig {
    /// Output folder.
    pub path: PathBuf,
    /// Start a new file in a stream past this many bytes (Parquet only; default 1 GiB).
    #[serde(default)]
    pub max_file_bytes: Option<u64>,
    /// zstd level for Parquet (default 3).
    #[serde(default)]
    pub zstd_level: Option<i32>,
}

/// Writes each stream into its own folder under a root.
#[derive(Debug, Clone)]
pub struct FolderSink {
    root: PathBuf,
    format: FileFormat,
    max_file_bytes: u64,
    zstd_level: i32,
    manifest_lock: Arc<Mutex<()>>,
}

impl FolderSink {
    /// A sink of `format` under `root` (created if missing).
    ///
    /// # Errors
    /// The folder cannot be created.
    pub fn new(root: &Path, format: FileFormat) -> Result<Self> {
        fsutil::create_dir_all(root)?;
        Ok(FolderSink {
            root: root.to_owned(),
            format,
            max_file_bytes: 1 << 30,
            zstd_level: 3,
            manifest_lock: Arc::new(Mutex::new(())),
        })
    }

    /// A sink from job-file options.
    ///
    /// # Errors
    /// Bad options or an unusable folder.
    pub fn from_config(config: FolderConfig, format: FileFormat) -> Result<Self> {
        let mut sink = Self::new(&config.path, format)?;
        if let Some(b) = config.max_file_bytes {
            sink.max_file_bytes = b.max(1 << 20);
        }
        if let Some(l) = config.zstd_level {
            ZstdLevel::try_new(l).map_err(|e| Error::config("sink.zstd_level", e.to_string()))?;
            sink.zstd_level = l;
        }
        Ok(sink)
    }

    fn properties(&self) -> WriterProperties {
        WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(self.zstd_level).unwrap_or_default(),
            ))
            // A row group is buffered until it closes, once per open writer (streams ×
            // partitions at once): 32 MB keeps a parallel extraction under 200 MB
            // while row groups stay large enough for fast scans.
            .set_max_row_group_row_count(Some(1 << 20))
            .set_max_row_group_bytes(Some(32 << 20))
            .set_created_by(format!("ferry {}", env!("CARGO_PKG_VERSION")))
            .build()
    }
}

#[async_trait]
impl Sink for FolderSink {
    fn describe(&self) -> String {
        format!("{} {}", self.format.name(), self.root.display())
    }

    async fn open_stream(
        &self,
        spec: &StreamSpec,
        open: OpenStream,
    ) -> Result<Box<dyn StreamWriter>> {
        if spec.name.contains(['/', '\\'])
            || spec.name.starts_with(['.', '_'])
            || spec.name.is_empty()
        {
            return Err(Error::config(
                "stream",
                format!("{:?} cannot name an output folder", spec.name),
            ));
        }
        let staging = self.root.join(FERRY_DIR).join("staging").join(&spec.name);
        let mut parts: Vec<FileEntry> = Vec::new();
        match open.resume {
            Some(token) => {
                parts = serde_json::from_value::<Token>(token)
                    .map_err(|e| Error::external("reading the sink's resume token", e))?
                    .parts;
                // Keep the parts the job state vouches for; anything else was written after
                // the last checkpoint and will be written again.
                if let Ok(entries) = std::fs::read_dir(&staging) {
                    for entry in entries.flatten() {
                        let name = entry.file_name().to_string_lossy().into_owned();
                        if !parts.iter().any(|p| p.path.ends_with(&format!("/{name}"))) {
                            let _ = std::fs::remove_file(entry.path());
                        }
                    }
                }
                for p in &parts {
                    let file = staging.join(p.path.rsplit('/').next().unwrap_or_default());
                    if !file.exists() {
                        return Err(Error::config(
                            "resume",
                            format!(
                                "{} was checkpointed but is gone; rerun with --restart",
                                file.display()
                            ),
                        ));
                    }
                }
            }
            None => fsutil::remove_dir_all(&staging)?,
        }
        fsutil::create_dir_all(&staging)?;
        Ok(Box::new(FolderWriter {
            sink: self.clone(),
            name: spec.name.clone(),
            schema: spec.schema.clone(),
            primary_key: spec.primary_key.clone(),
            staging,
            mode: open.mode,
            run_id: open.run_id,
            next_index: parts.len(),
            parts,
            current: None,
        }))
    }
}

#[derive(serde::Serialize, Deserialize)]
struct Token {
    parts: Vec<FileEntry>,
}

/// Counts and hashes bytes on their way to a file.
struct HashingFile {
    file: std::fs::File,
    hasher: Sha256,
    bytes: u64,
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

enum Encoder {
    Parquet(LaneWriter<std::io::BufWriter<HashingFile>>),
    Csv(arrow::csv::Writer<std::io::BufWriter<HashingFile>>),
    Jsonl(arrow::json::LineDelimitedWriter<std::io::BufWriter<HashingFile>>),
}

struct Part {
    encoder: Encoder,
    partial: PathBuf,
    final_path: PathBuf,
    rows: u64,
}

struct FolderWriter {
    sink: FolderSink,
    name: String,
    schema: SchemaRef,
    primary_key: Vec<String>,
    staging: PathBuf,
    mode: WriteMode,
    run_id: String,
    parts: Vec<FileEntry>,
    next_index: usize,
    current: Option<Part>,
}

fn parquet_error(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::external(format!("writing {}", path.display()), e)
}

impl FolderWriter {
    fn start_part(&mut self) -> Result<Part> {
        let ext = self.sink.format.name();
        let final_path = self
            .staging
            .join(format!("part-{}-{:05}.{ext}", self.run_id, self.next_index));
        self.next_index += 1;
        let partial = fsutil::partial_path(&final_path);
        let file = std::fs::File::create(&partial).map_err(|e| Error::io(&partial, e))?;
        let out = std::io::BufWriter::with_capacity(
            1 << 20,
            HashingFile {
                file,
                hasher: Sha256::new(),
                bytes: 0,
            },
        );
        let encoder = match self.sink.format {
            FileFormat::Parquet => Encoder::Parquet(
                LaneWriter::try_new(out, self.schema.clone(), Some(self.sink.properties()), None)
                    .map_err(|e| parquet_error(&partial, e))?,
            ),
            FileFormat::Csv => Encoder::Csv(
                arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(out),
            ),
            FileFormat::Jsonl => Encoder::Jsonl(arrow::json::LineDelimitedWriter::new(out)),
        };
        Ok(Part {
            encoder,
            partial,
            final_path,
            rows: 0,
        })
    }

    fn finish_part(&mut self) -> Result<()> {
        let Some(part) = self.current.take() else {
            return Ok(());
        };
        let out = match part.encoder {
            Encoder::Parquet(w) => w
                .into_inner()
                .map_err(|e| parquet_error(&part.partial, e))?,
            Encoder::Csv(w) => w.into_inner(),
            Encoder::Jsonl(mut w) => {
                w.finish().map_err(|e| parquet_error(&part.partial, e))?;
                w.into_inner()
            }
        };
        let hashing = out
            .into_inner()
            .map_err(|e| Error::io(&part.partial, e.into_error()))?;
        hashing
            .file
            .sync_all()
            .map_err(|e| Error::io(&part.partial, e))?;
        let sha256 = hex::encode(hashing.hasher.finalize());
        fsutil::rename(&part.partial, &part.final_path)?;
        let file_name = part
            .final_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.parts.push(FileEntry {
            path: format!("{}/{file_name}", self.name),
            rows: part.rows,
            bytes: hashing.bytes,
            sha256,
        });
        Ok(())
    }

    fn write_blocking(&mut self, batch: &RecordBatch) -> Result<()> {
        if self.current.is_none() {
            self.current = Some(self.start_part()?);
        }
        let Some(part) = self.current.as_mut() else {
            return Ok(());
        };
        let roll = match &mut part.encoder {
            Encoder::Parquet(w) => {
                w.write(batch)
                    .map_err(|e| parquet_error(&part.partial, e))?;
                (w.bytes_written() + w.in_progress_size()) as u64 >= self.sink.max_file_bytes
            }
            Encoder::Csv(w) => {
                w.write(batch)
                    .map_err(|e| parquet_error(&part.partial, e))?;
                false
            }
            Encoder::Jsonl(w) => {
                w.write(batch)
                    .map_err(|e| parquet_error(&part.partial, e))?;
                false
            }
        };
        part.rows += batch.num_rows() as u64;
        if roll {
            self.finish_part()?;
        }
        Ok(())
    }

    /// Rewrites the stream's published Parquet files into the schema of this run, when
    /// the columns changed since they were written (a schema policy added, kept or
    /// widened columns), so that the folder stays one table for every reader. Returns
    /// the rewritten files, staged beside this run's parts; `None` when nothing changed.
    fn conform_published(&mut self, published: &ManifestStream) -> Result<Option<Vec<FileEntry>>> {
        // Names and types decide; nullability alone (a CSV column that met its first
        // empty cell) leaves the files readable together and is not worth a rewrite.
        let columns = ferry_core::stream::describe_columns(&self.schema);
        let same = published.columns.len() == columns.len()
            && published
                .columns
                .iter()
                .zip(&columns)
                .all(|(a, b)| a.name == b.name && a.data_type == b.data_type);
        if self.sink.format != FileFormat::Parquet || published.files.is_empty() || same {
            return Ok(None);
        }
        tracing::info!(
            stream = self.name,
            files = published.files.len(),
            "Rewriting the published files in the stream's new schema."
        );
        let mine = std::mem::take(&mut self.parts);
        let result = (|| {
            for f in &published.files {
                let path = self.sink.root.join(&f.path);
                let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
                let reader =
                    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                        .and_then(|b| b.with_batch_size(64 * 1024).build())
                        .map_err(|e| Error::external(format!("reading {}", path.display()), e))?;
                for batch in reader {
                    let batch = batch
                        .map_err(|e| Error::external(format!("reading {}", path.display()), e))?;
                    let batch = conform(&batch, &self.schema).map_err(|e| {
                        Error::external(
                            format!("rewriting {} in the new schema", path.display()),
                            e,
                        )
                    })?;
                    self.write_blocking(&batch)?;
                }
                self.finish_part()?;
            }
            Ok(())
        })();
        let conformed = std::mem::replace(&mut self.parts, mine);
        result.map(|()| Some(conformed))
    }

    fn publish(&mut self) -> Result<StreamOutput> {
        self.finish_part()?;
        if self.parts.is_empty() && self.mode == WriteMode::Replace {
            // An empty stream still gets a file, so readers see its columns.
            self.current = Some(self.start_part()?);
            self.finish_part()?;
        }
        let root = self.sink.root.clone();
        let target = root.join(&self.name);
        let lock = self.sink.manifest_lock.clone();
        let _guard = lock
            .lock()
            .map_err(|_| Error::config("manifest", "lock poisoned"))?;
        let mut manifest = Manifest::load(&root)?.unwrap_or_default();
        let conformed = match (self.mode, manifest.streams.get(&self.name)) {
            (WriteMode::Append, Some(published)) => {
                let published = published.clone();
                self.conform_published(&published)?
            }
            _ => None,
        };
        if self.mode == WriteMode::Replace || conformed.is_some() {
            // The staging folder holds the whole stream: swap it into place.
            let trash = root
                .join(FERRY_DIR)
                .join("trash")
                .join(format!("{}-{}", self.name, self.run_id));
            if target.exists() {
                fsutil::create_dir_all(trash.parent().unwrap_or(&root))?;
                fsutil::remove_dir_all(&trash)?;
                fsutil::rename(&target, &trash)?;
            }
            fsutil::rename(&self.staging, &target)?;
            fsutil::remove_dir_all(&trash)?;
        } else {
            fsutil::create_dir_all(&target)?;
            for p in &self.parts {
                let name = p.path.rsplit('/').next().unwrap_or_default();
                fsutil::rename(&self.staging.join(name), &target.join(name))?;
            }
            fsutil::remove_dir_all(&self.staging)?;
        }
        let rows = self.parts.iter().map(|p| p.rows).sum();
        manifest.format = MANIFEST_FORMAT.into();
        manifest.ferry_version = env!("CARGO_PKG_VERSION").into();
        manifest.file_format = self.sink.format.name().into();
        let entry = manifest
            .streams
            .entry(self.name.clone())
            .or_insert_with(ManifestStream::default);
        if self.mode == WriteMode::Replace {
            entry.files.clear();
        }
        if let Some(files) = conformed {
            entry.files = files;
        }
        entry.files.extend(self.parts.iter().cloned());
        entry.rows = entry.files.iter().map(|f| f.rows).sum();
        entry.columns = ferry_core::stream::describe_columns(&self.schema);
        entry.primary_key = self.primary_key.clone();
        entry.run_id = self.run_id.clone();
        entry.committed_at = ferry_core::pipeline::now_rfc3339();
        manifest.save(&root)?;
        Ok(StreamOutput {
            rows,
            files: self.parts.clone(),
            changes: None,
        })
    }
}

/// `batch` in `schema`: columns by name, cast where the type widened (never lossy:
/// a value that does not fit is an error), NULL where the batch has no such column.
fn conform(
    batch: &RecordBatch,
    schema: &SchemaRef,
) -> std::result::Result<RecordBatch, arrow::error::ArrowError> {
    let options = arrow::compute::CastOptions {
        safe: false,
        ..Default::default()
    };
    let columns = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) if c.data_type() == f.data_type() => Ok(c.clone()),
            Some(c) => arrow::compute::cast_with_options(c, f.data_type(), &options),
            None => Ok(arrow::array::new_null_array(
                f.data_type(),
                batch.num_rows(),
            )),
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}

impl Drop for FolderWriter {
    fn drop(&mut self) {
        // An abandoned part is not durable: remove its partial file. Parts already
        // renamed stay for a resumed run.
        if let Some(part) = self.current.take() {
            drop(part.encoder);
            let _ = std::fs::remove_file(&part.partial);
        }
    }
}

#[async_trait]
impl StreamWriter for FolderWriter {
    async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        // Encoding is CPU work; keep it off the async workers.
        cpu_bound(|| self.write_blocking(&batch))
    }

    async fn flush(&mut self) -> Result<serde_json::Value> {
        cpu_bound(|| {
            self.finish_part()?;
            fsutil::sync_dir(&self.staging)?;
            serde_json::to_value(Token {
                parts: self.parts.clone(),
            })
            .map_err(|e| Error::external("writing the sink's resume token", e))
        })
    }

    async fn commit(mut self: Box<Self>) -> Result<StreamOutput> {
        cpu_bound(|| self.publish())
    }
}

/// Runs blocking work (encoding, fsync) without stalling other tasks: on a
/// multi-threaded runtime the worker hands its other tasks off first; elsewhere
/// (single-threaded test runtimes) it simply runs.
fn cpu_bound<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}
