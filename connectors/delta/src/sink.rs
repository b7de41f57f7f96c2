//! The Delta sink: staged Parquet per stream, published as one Delta commit.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use async_trait::async_trait;
use datafusion::datasource::TableProvider;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use deltalake_core::DeltaTable;
use deltalake_core::protocol::SaveMode;
use ferry_core::manifest::FERRY_DIR;
use ferry_core::sink::OpenStream;
use ferry_core::{Error, Result, Sink, StreamOutput, StreamSpec, StreamWriter, WriteMode, fsutil};
use parquet::arrow::ArrowWriter;
use serde::Deserialize;

/// Job-file options of the `delta` sink.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeltaConfig {
    /// The backup folder (one Delta table per stream).
    pub path: PathBuf,
}

/// A folder of Delta tables.
#[derive(Debug)]
pub struct DeltaSink {
    root: PathBuf,
}

fn delta_err(context: impl Into<String>) -> impl FnOnce(deltalake_core::DeltaTableError) -> Error {
    let context = context.into();
    move |e| Error::external(context, e)
}

fn df_err(context: impl Into<String>) -> impl FnOnce(datafusion::error::DataFusionError) -> Error {
    let context = context.into();
    move |e| Error::external(context, e)
}

/// The URL of a local folder (created if missing), as Delta wants it.
fn folder_url(path: &Path) -> Result<url::Url> {
    std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
    let abs = path.canonicalize().map_err(|e| Error::io(path, e))?;
    url::Url::from_directory_path(&abs)
        .map_err(|()| Error::config(abs.display().to_string(), "not an absolute folder path"))
}

/// Opens the Delta table at `path`: the latest version, version `version`, or the
/// version current at `as_of` (RFC 3339), as a DataFusion table.
///
/// # Errors
/// No Delta table there, or no such version.
pub async fn open_table(
    path: &Path,
    version: Option<i64>,
    as_of: Option<&str>,
) -> Result<Arc<dyn TableProvider>> {
    let abs = path.canonicalize().map_err(|e| Error::io(path, e))?;
    let url = url::Url::from_directory_path(&abs)
        .map_err(|()| Error::config(abs.display().to_string(), "not a folder"))?;
    let what = format!("opening the Delta table {}", abs.display());
    let table = match (version, as_of) {
        (Some(v), _) => deltalake_core::open_table_with_version(
            url,
            u64::try_from(v)
                .map_err(|_| Error::config("--version", format!("{v}: versions start at 0")))?,
        )
        .await
        .map_err(delta_err(format!("{what} at version {v}")))?,
        (None, Some(ts)) => deltalake_core::open_table_with_ds(url, ts)
            .await
            .map_err(delta_err(format!("{what} as of {ts}")))?,
        (None, None) => deltalake_core::open_table(url)
            .await
            .map_err(delta_err(what.clone()))?,
    };
    table.table_provider().await.map_err(df_err(what))
}

/// Whether `dir` holds a Delta table.
pub fn is_delta_table(dir: &Path) -> bool {
    dir.join("_delta_log").is_dir()
}

impl DeltaSink {
    /// A sink writing under `config.path`.
    ///
    /// # Errors
    /// The folder cannot be created.
    pub fn new(config: DeltaConfig) -> Result<Self> {
        fsutil::create_dir_all(&config.path)?;
        Ok(DeltaSink { root: config.path })
    }
}

#[async_trait]
impl Sink for DeltaSink {
    fn describe(&self) -> String {
        format!("delta {}", self.root.display())
    }

    async fn open_stream(
        &self,
        spec: &StreamSpec,
        open: OpenStream,
    ) -> Result<Box<dyn StreamWriter>> {
        let staging = self.root.join(FERRY_DIR).join("staging").join(&spec.name);
        // Files staged by an interrupted run of this job are kept when its token names
        // them (the source resumes after them); anything else there is debris.
        let kept: Vec<PathBuf> = open
            .resume
            .as_ref()
            .and_then(|t| t.get("staged"))
            .and_then(|s| s.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .map(|n| staging.join(n))
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default();
        if let Ok(entries) = std::fs::read_dir(&staging) {
            for e in entries.flatten() {
                if !kept.contains(&e.path()) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        fsutil::create_dir_all(&staging)?;
        Ok(Box::new(DeltaWriter {
            spec: spec.clone(),
            table: self.root.join(&spec.name),
            staging,
            mode: open.mode,
            run_id: open.run_id,
            staged: kept,
            current: None,
            rows: 0,
        }))
    }
}

struct DeltaWriter {
    spec: StreamSpec,
    table: PathBuf,
    staging: PathBuf,
    mode: WriteMode,
    run_id: String,
    staged: Vec<PathBuf>,
    current: Option<(PathBuf, ArrowWriter<std::fs::File>)>,
    rows: u64,
}

impl DeltaWriter {
    fn close_current(&mut self) -> Result<()> {
        if let Some((path, writer)) = self.current.take() {
            let file = writer
                .into_inner()
                .map_err(|e| Error::external(format!("writing {}", path.display()), e))?;
            file.sync_all().map_err(|e| Error::io(&path, e))?;
            let done = path.with_extension("parquet");
            fsutil::rename(&path, &done)?;
            self.staged.push(done);
        }
        Ok(())
    }
}

/// What a commit needs, without the writer (which is not `Sync`).
struct Publish {
    spec: StreamSpec,
    table: PathBuf,
    mode: WriteMode,
    staged: Vec<PathBuf>,
}

impl Publish {
    /// Publishes the staged files as one commit.
    async fn run(&self) -> Result<()> {
        let stream = &self.spec.name;
        let url = folder_url(&self.table)?;
        let table = DeltaTable::try_from_url(url.clone())
            .await
            .map_err(delta_err(format!("opening the Delta table of {stream}")))?;
        let exists = table.version().is_some();
        if self.staged.is_empty() && (exists || self.mode == WriteMode::Append) {
            // Nothing read: no new version.
            if !(exists && self.mode == WriteMode::Replace && !self.spec.primary_key.is_empty()) {
                return Ok(());
            }
        }
        // Delta's own planner must be in the session that runs its writes and merges.
        let ctx: SessionContext =
            deltalake_core::delta_datafusion::DeltaSessionContext::new().into_inner();
        let source = if self.staged.is_empty() {
            ctx.read_batch(RecordBatch::new_empty(self.spec.schema.clone()))
                .map_err(df_err(format!("{stream}: an empty read")))?
        } else {
            let files: Vec<String> = self
                .staged
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            ctx.read_parquet(files, ParquetReadOptions::default())
                .await
                .map_err(df_err(format!("{stream}: reading the staged files")))?
        };
        let state = Arc::new(ctx.state());
        let keys = &self.spec.primary_key;
        if !exists || keys.is_empty() {
            let mode = match (exists, self.mode) {
                (true, WriteMode::Append) => SaveMode::Append,
                (true, WriteMode::Replace) => SaveMode::Overwrite,
                (false, _) => SaveMode::ErrorIfExists,
            };
            let plan = source.into_unoptimized_plan();
            table
                .write(Vec::new())
                .with_input_plan(plan)
                .with_session_state(state)
                .with_save_mode(mode)
                .with_table_name(stream.clone())
                .await
                .map_err(delta_err(format!("writing the Delta table of {stream}")))?;
            return Ok(());
        }
        let quote = |c: &str| format!("\"{}\"", c.replace('"', "\"\""));
        let on = keys
            .iter()
            .map(|k| format!("t.{} = s.{}", quote(k), quote(k)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let columns: Vec<String> = self
            .spec
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let changed = columns
            .iter()
            .filter(|c| !keys.contains(c))
            .map(|c| format!("(t.{} IS DISTINCT FROM s.{})", quote(c), quote(c)))
            .collect::<Vec<_>>()
            .join(" OR ");
        let mut merge = table
            .merge(source, on)
            .with_source_alias("s")
            .with_target_alias("t")
            .with_session_state(state)
            .with_streaming(true);
        if !changed.is_empty() {
            let cols = columns.clone();
            merge = merge
                .when_matched_update(|u| {
                    let mut u = u.predicate(changed.clone());
                    for c in &cols {
                        u = u.update(quote(c), format!("s.{}", quote(c)));
                    }
                    u
                })
                .map_err(delta_err(format!("{stream}: planning the merge")))?;
        }
        let cols = columns.clone();
        merge = merge
            .when_not_matched_insert(|i| {
                let mut i = i;
                for c in &cols {
                    i = i.set(quote(c), format!("s.{}", quote(c)));
                }
                i
            })
            .map_err(delta_err(format!("{stream}: planning the merge")))?;
        if self.mode == WriteMode::Replace {
            // A full read: what the source no longer has was deleted there.
            merge = merge
                .when_not_matched_by_source_delete(|d| d)
                .map_err(delta_err(format!("{stream}: planning the merge")))?;
        }
        let (_, metrics) = merge.await.map_err(delta_err(format!(
            "merging into the Delta table of {stream}"
        )))?;
        tracing::info!(
            stream,
            inserted = metrics.num_target_rows_inserted,
            updated = metrics.num_target_rows_updated,
            deleted = metrics.num_target_rows_deleted,
            "Merged."
        );
        Ok(())
    }
}

#[async_trait]
impl StreamWriter for DeltaWriter {
    async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if self.current.is_none() {
            let path = self.staging.join(format!(
                "{}-{:05}.parquet.partial",
                self.run_id,
                self.staged.len()
            ));
            let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
            let writer = ArrowWriter::try_new(file, self.spec.schema.clone(), None)
                .map_err(|e| Error::external(format!("writing {}", path.display()), e))?;
            self.current = Some((path, writer));
        }
        let (path, writer) = self.current.as_mut().expect("opened above");
        writer
            .write(&batch)
            .map_err(|e| Error::external(format!("writing {}", path.display()), e))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    async fn flush(&mut self) -> Result<serde_json::Value> {
        self.close_current()?;
        let names: Vec<String> = self
            .staged
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        Ok(serde_json::json!({ "staged": names }))
    }

    async fn commit(mut self: Box<Self>) -> Result<StreamOutput> {
        self.close_current()?;
        let rows = self.rows;
        let publish = Publish {
            spec: self.spec.clone(),
            table: self.table.clone(),
            mode: self.mode,
            staged: std::mem::take(&mut self.staged),
        };
        drop(self);
        publish.run().await?;
        for f in &publish.staged {
            let _ = std::fs::remove_file(f);
        }
        Ok(StreamOutput {
            rows,
            files: Vec::new(),
        })
    }
}
