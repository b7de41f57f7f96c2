//! The Delta sink: staged Parquet per stream, published as one Delta commit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use async_trait::async_trait;
use datafusion::common::{JoinType, ScalarValue};
use datafusion::datasource::TableProvider;
use datafusion::prelude::{DataFrame, Expr, ParquetReadOptions, SessionContext, ident, lit};
use deltalake_core::operations::write::SchemaMode;
use deltalake_core::protocol::SaveMode;
use ferry_core::manifest::FERRY_DIR;
use ferry_core::sink::{Changes, OpenStream};
use ferry_core::source::{EventStream, SourceEvent};
use ferry_core::{Error, Result, Sink, StreamOutput, StreamSpec, StreamWriter, WriteMode, fsutil};
use futures::StreamExt;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use serde::Deserialize;

use crate::order::{self, Chains, Route};
use crate::patch;
use crate::store::Store;

/// Job-file options of the `delta` sink.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeltaConfig {
    /// The backup: a local folder or an object-storage URL (`s3://bucket/prefix`).
    pub path: String,
    /// Object-storage options (`endpoint`, `region`, `allow_http`…), over the
    /// environment's `AWS_*` / `GOOGLE_*` / `AZURE_*` variables.
    #[serde(default)]
    pub storage: BTreeMap<String, String>,
    /// Local folder for batches staged before a commit (default: `_ferry/` inside a
    /// local backup; required for object storage).
    #[serde(default)]
    pub staging: Option<PathBuf>,
    /// Data files of a new table are cut at about this many MiB (default 32): a
    /// copy-on-write merge (large changes, key scans) rewrites every file holding a
    /// changed row, so smaller files make smaller merges.
    #[serde(default)]
    pub target_file_mb: Option<u64>,
}

/// Default size of a new table's data files, in MiB.
pub const DEFAULT_TARGET_FILE_MB: u64 = 32;

/// A folder or object-storage prefix of Delta tables.
#[derive(Debug)]
pub struct DeltaSink {
    store: Store,
    work: PathBuf,
    target_file_bytes: u64,
}

fn delta_err(context: impl Into<String>) -> impl FnOnce(deltalake_core::DeltaTableError) -> Error {
    let context = context.into();
    move |e| Error::external(context, e)
}

fn df_err(context: impl Into<String>) -> impl FnOnce(datafusion::error::DataFusionError) -> Error {
    let context = context.into();
    move |e| Error::external(context, e)
}

/// The table of `stream` in `store` as a DataFusion table, at a version or time.
///
/// # Errors
/// No such table or version.
pub async fn open_provider(
    store: &Store,
    stream: &str,
    version: Option<i64>,
    as_of: Option<&str>,
) -> Result<Arc<dyn TableProvider>> {
    let table = store.open(stream, version, as_of).await?;
    table
        .table_provider()
        .await
        .map_err(df_err(format!("reading the Delta table of {stream}")))
}

impl DeltaSink {
    /// A sink writing under `config.path`.
    ///
    /// # Errors
    /// The folder cannot be created, or object storage without a staging folder.
    pub fn new(config: DeltaConfig) -> Result<Self> {
        let store = Store::new(&config.path, &config.storage, true)?;
        let work = match (&config.staging, store.local_root()) {
            (Some(dir), _) => dir.clone(),
            (None, Some(root)) => root.join(FERRY_DIR),
            (None, None) => {
                return Err(Error::config(
                    store.describe(),
                    "a backup on object storage needs a local `staging` folder for the batches of a run",
                ));
            }
        };
        fsutil::create_dir_all(&work)?;
        let target_file_bytes = config
            .target_file_mb
            .unwrap_or(DEFAULT_TARGET_FILE_MB)
            .max(1)
            << 20;
        Ok(DeltaSink {
            store,
            work,
            target_file_bytes,
        })
    }

    /// Where the tables are.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn keys_dir(&self, stream: &str) -> PathBuf {
        self.work.join("keys").join(stream)
    }

    /// Forgets key scans staged by an earlier, interrupted run.
    ///
    /// # Errors
    /// The folder cannot be removed.
    pub fn clear_key_scans(&self) -> Result<()> {
        let dir = self.work.join("keys");
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&dir, e)),
        }
    }

    /// Stages the primary keys of a full read of `spec`'s stream. The stream's next
    /// commit deletes the rows whose key the scan did not see (deleted at the source)
    /// in the same table version as its inserts and updates. Returns the keys seen.
    ///
    /// # Errors
    /// The stream has no primary key, the read fails, or the keys cannot be written.
    pub async fn stage_keys(&self, spec: &StreamSpec, mut events: EventStream) -> Result<u64> {
        if spec.primary_key.is_empty() {
            return Err(Error::config(&spec.name, "a key scan needs a primary key"));
        }
        let indices: Vec<usize> = spec
            .primary_key
            .iter()
            .map(|k| {
                spec.schema
                    .index_of(k)
                    .map_err(|_| Error::config(&spec.name, format!("key column {k} missing")))
            })
            .collect::<Result<_>>()?;
        let schema = Arc::new(spec.schema.project(&indices).map_err(|e| {
            Error::external(format!("{}: projecting the key columns", spec.name), e)
        })?);
        let dir = self.keys_dir(&spec.name);
        fsutil::create_dir_all(&dir)?;
        let partial = dir.join("keys.parquet.partial");
        let file = std::fs::File::create(&partial).map_err(|e| Error::io(&partial, e))?;
        let mut writer = ArrowWriter::try_new(file, schema, None)
            .map_err(|e| Error::external(format!("writing {}", partial.display()), e))?;
        let mut seen = 0u64;
        while let Some(event) = events.next().await {
            if let SourceEvent::Batch(batch) = event? {
                let keys = batch.project(&indices).map_err(|e| {
                    Error::external(format!("{}: projecting the key columns", spec.name), e)
                })?;
                seen += keys.num_rows() as u64;
                writer
                    .write(&keys)
                    .map_err(|e| Error::external(format!("writing {}", partial.display()), e))?;
            }
        }
        let file = writer
            .into_inner()
            .map_err(|e| Error::external(format!("writing {}", partial.display()), e))?;
        file.sync_all().map_err(|e| Error::io(&partial, e))?;
        fsutil::rename(&partial, &dir.join("keys.parquet"))?;
        Ok(seen)
    }
}

#[async_trait]
impl Sink for DeltaSink {
    fn describe(&self) -> String {
        format!("delta {}", self.store.describe())
    }

    async fn open_stream(
        &self,
        spec: &StreamSpec,
        open: OpenStream,
    ) -> Result<Box<dyn StreamWriter>> {
        let staging = self.work.join("staging").join(&spec.name);
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
        let keys = self.keys_dir(&spec.name).join("keys.parquet");
        Ok(Box::new(DeltaWriter {
            spec: spec.clone(),
            store: self.store.clone(),
            staging,
            keys: keys.is_file().then_some(keys),
            mode: open.mode,
            // Chains of this writer are its own: files kept from an interrupted run
            // were chained by another writer, perhaps of the same run.
            chain_prefix: format!("{}.{}", open.run_id, kept.len()),
            next_file: kept.len(),
            staged: kept,
            chains: Chains::new(&spec.schema, &spec.primary_key),
            open: Vec::new(),
            rows: 0,
            target_file_bytes: self.target_file_bytes,
        }))
    }
}

struct DeltaWriter {
    spec: StreamSpec,
    store: Store,
    staging: PathBuf,
    keys: Option<PathBuf>,
    mode: WriteMode,
    staged: Vec<PathBuf>,
    /// The key order of the batches (streams with a primary key).
    chains: Option<Chains>,
    /// Names this writer's chains apart from those of an interrupted writer.
    chain_prefix: String,
    /// The staged files being written: one per chain, or one unordered.
    open: Vec<StagedFile>,
    next_file: usize,
    rows: u64,
    target_file_bytes: u64,
}

/// A staged file being written, for one route.
struct StagedFile {
    route: Route,
    path: PathBuf,
    writer: ArrowWriter<std::fs::File>,
}

/// Staged files are read once, by the commit: uncompressed (parquet's default), with
/// row groups small enough that one per chain fits in memory at once.
fn staging_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_max_row_group_row_count(Some(128 * 1024))
        .set_max_row_group_bytes(Some(16 << 20))
        .build()
}

impl DeltaWriter {
    fn close_open(&mut self) -> Result<()> {
        for staged in std::mem::take(&mut self.open) {
            let path = staged.path;
            let file = staged
                .writer
                .into_inner()
                .map_err(|e| Error::external(format!("writing {}", path.display()), e))?;
            file.sync_all().map_err(|e| Error::io(&path, e))?;
            let done = path.with_extension("");
            fsutil::rename(&path, &done)?;
            self.staged.push(done);
        }
        Ok(())
    }

    /// The open staged file of `route`, opened if needed.
    fn file_for(&mut self, route: Route) -> Result<&mut StagedFile> {
        let index = match self.open.iter().position(|f| f.route == route) {
            Some(i) => i,
            None => {
                let name = order::file_name(&self.chain_prefix, route, self.next_file);
                self.next_file += 1;
                let path = self.staging.join(format!("{name}.partial"));
                let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
                let writer = ArrowWriter::try_new(
                    file,
                    self.spec.schema.clone(),
                    Some(staging_properties()),
                )
                .map_err(|e| Error::external(format!("writing {}", path.display()), e))?;
                self.open.push(StagedFile {
                    route,
                    path,
                    writer,
                });
                self.open.len() - 1
            }
        };
        Ok(&mut self.open[index])
    }
}

/// What a commit needs, without the writer (which is not `Sync`).
struct Publish {
    spec: StreamSpec,
    store: Store,
    mode: WriteMode,
    staged: Vec<PathBuf>,
    keys: Option<PathBuf>,
    /// Every staged file is in a key-ordered chain.
    ordered: bool,
    target_file_bytes: u64,
}

/// Marks the merge source's rows read from the stream, as opposed to keys of a key
/// scan (which only decide deletions).
const ROW_FLAG: &str = "__ferry_row";

fn quote(c: &str) -> String {
    format!("\"{}\"", c.replace('"', "\"\""))
}

impl Publish {
    /// Publishes the staged files as one commit; what it changed.
    async fn run(&self) -> Result<Changes> {
        let stream = &self.spec.name;
        let table = self.store.table_for_write(stream).await?;
        let before = table.version();
        let exists = before.is_some();
        let table = if exists {
            self.widen(table).await?
        } else {
            table
        };
        let keys = &self.spec.primary_key;
        let key_scan = self.keys.as_ref().filter(|_| exists && !keys.is_empty());
        if self.staged.is_empty() && key_scan.is_none() && self.mode == WriteMode::Append {
            // An incremental read found nothing new: no new version. (An empty full
            // read still commits: the source lost every row.)
            return Ok(Changes::default());
        }
        if exists
            && key_scan.is_none()
            && self.mode == WriteMode::Append
            && let Some(changes) = patch::merge(
                &table,
                &self.spec,
                &self.staged,
                self.rows_staged(),
                self.target_file_bytes,
            )
            .await?
        {
            return Ok(changes);
        }
        // Delta's own planner must be in the session that runs its writes and merges.
        // One partition: the rows reach the (single) file writer in the order they are
        // read, so a key-ordered table stays key-ordered through writes and merges.
        let overrides = std::collections::HashMap::from([(
            "datafusion.execution.target_partitions".to_string(),
            "1".to_string(),
        )]);
        let ctx: SessionContext =
            deltalake_core::delta_datafusion::DeltaSessionContext::new_with_session_overrides(
                &overrides,
            )
            .map_err(delta_err(format!("{stream}: configuring the session")))?
            .into_inner();
        let chains = (!exists && self.ordered && !keys.is_empty())
            .then(|| order::group_chains(&self.staged))
            .flatten()
            .filter(|chains| !chains.is_empty());
        let rows = if let Some(chains) = chains {
            tracing::debug!(
                stream,
                chains = chains.len(),
                "Writing the new table in key order."
            );
            order::ordered_scan(&ctx, &self.spec.schema, keys, chains).await?
        } else if self.staged.is_empty() {
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
        if !exists || keys.is_empty() {
            let mode = match (exists, self.mode) {
                (true, WriteMode::Append) => SaveMode::Append,
                (true, WriteMode::Replace) => SaveMode::Overwrite,
                (false, _) => SaveMode::ErrorIfExists,
            };
            let plan = rows.into_unoptimized_plan();
            let mut write = table
                .write(Vec::new())
                .with_input_plan(plan)
                .with_session_state(state)
                .with_save_mode(mode);
            if exists {
                // Columns the table lacks are added (older versions read without them).
                write = write.with_schema_mode(SchemaMode::Merge);
            } else {
                // A table property, so merges and rewrites cut their files alike.
                let mut properties = vec![(
                    "delta.targetFileSize",
                    Some(self.target_file_bytes.to_string()),
                )];
                if !keys.is_empty() {
                    // Small merges leave files in place and mark rows deleted
                    // ([`patch`]); tables without a key are only appended to.
                    properties.push(("delta.enableDeletionVectors", Some("true".to_owned())));
                }
                write = write.with_configuration(properties);
            }
            let table = write
                .with_table_name(stream.clone())
                .await
                .map_err(delta_err(format!("writing the Delta table of {stream}")))?;
            return Ok(Changes {
                inserted: self.rows_staged(),
                updated: 0,
                deleted: 0,
                version: table.version().map(|v| v as i64),
            });
        }
        let columns: Vec<String> = self
            .spec
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let (source, row_guard) = match key_scan {
            None => (rows, None),
            Some(keys_file) => (
                self.with_scanned_keys(&ctx, rows, keys_file).await?,
                Some(format!("s.{}", quote(ROW_FLAG))),
            ),
        };
        let on = keys
            .iter()
            .map(|k| format!("t.{} = s.{}", quote(k), quote(k)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let in_table: Vec<String> = table
            .snapshot()
            .map_err(delta_err(format!("reading the Delta table of {stream}")))?
            .snapshot()
            .arrow_schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let changed = columns
            .iter()
            .filter(|c| !keys.contains(c))
            .map(|c| {
                if in_table.contains(c) {
                    format!("(t.{} IS DISTINCT FROM s.{})", quote(c), quote(c))
                } else {
                    // A column the table does not have yet: NULL there until now.
                    format!("(s.{} IS NOT NULL)", quote(c))
                }
            })
            .collect::<Vec<_>>()
            .join(" OR ");
        let mut merge = table
            .merge(source, on)
            .with_source_alias("s")
            .with_target_alias("t")
            .with_session_state(state)
            .with_streaming(true)
            // New columns join the table's schema; older versions read without them.
            .with_merge_schema(true);
        if !changed.is_empty() {
            let predicate = match &row_guard {
                Some(g) => format!("{g} AND ({changed})"),
                None => changed,
            };
            let cols = columns.clone();
            merge = merge
                .when_matched_update(|u| {
                    let mut u = u.predicate(predicate);
                    for c in &cols {
                        u = u.update(quote(c), format!("s.{}", quote(c)));
                    }
                    u
                })
                .map_err(delta_err(format!("{stream}: planning the merge")))?;
        }
        let cols = columns.clone();
        let guard = row_guard.clone();
        merge = merge
            .when_not_matched_insert(|i| {
                let mut i = match guard {
                    Some(g) => i.predicate(g),
                    None => i,
                };
                for c in &cols {
                    i = i.set(quote(c), format!("s.{}", quote(c)));
                }
                i
            })
            .map_err(delta_err(format!("{stream}: planning the merge")))?;
        if self.mode == WriteMode::Replace || row_guard.is_some() {
            // A full read, or a key scan: what the source no longer has was deleted there.
            merge = merge
                .when_not_matched_by_source_delete(|d| d)
                .map_err(delta_err(format!("{stream}: planning the merge")))?;
        }
        let (table, metrics) = merge.await.map_err(delta_err(format!(
            "merging into the Delta table of {stream}"
        )))?;
        tracing::info!(
            stream,
            inserted = metrics.num_target_rows_inserted,
            updated = metrics.num_target_rows_updated,
            deleted = metrics.num_target_rows_deleted,
            "Merged."
        );
        Ok(Changes {
            inserted: metrics.num_target_rows_inserted as u64,
            updated: metrics.num_target_rows_updated as u64,
            deleted: metrics.num_target_rows_deleted as u64,
            // A merge that changed nothing commits nothing.
            version: table
                .version()
                .filter(|v| Some(*v) != before)
                .map(|v| v as i64),
        })
    }

    /// When a column of the stream is wider now than in the table (int → bigint,
    /// numeric(10,2) → (12,2)), rewrites the table at the wider types in a version of
    /// its own: Delta's schema merge adds columns but never changes a type. Earlier
    /// versions keep their files and read at their own types.
    async fn widen(&self, table: deltalake_core::DeltaTable) -> Result<deltalake_core::DeltaTable> {
        let stream = &self.spec.name;
        let current = table
            .snapshot()
            .map_err(delta_err(format!("reading the Delta table of {stream}")))?
            .snapshot()
            .arrow_schema();
        let wider: Vec<(String, arrow::datatypes::DataType)> = current
            .fields()
            .iter()
            .filter_map(|c| {
                let now = self.spec.schema.field_with_name(c.name()).ok()?;
                (now.data_type() != c.data_type())
                    .then(|| (c.name().clone(), now.data_type().clone()))
            })
            .collect();
        if wider.is_empty() {
            return Ok(table);
        }
        tracing::info!(stream, columns = ?wider, "Rewriting the Delta table at wider types.");
        let ctx: SessionContext =
            deltalake_core::delta_datafusion::DeltaSessionContext::new().into_inner();
        let provider = table
            .table_provider()
            .await
            .map_err(df_err(format!("reading the Delta table of {stream}")))?;
        let columns: Vec<Expr> = current
            .fields()
            .iter()
            .map(|c| match wider.iter().find(|(n, _)| n == c.name()) {
                Some((_, ty)) => {
                    datafusion::prelude::cast(ident(c.name()), ty.clone()).alias(c.name())
                }
                None => ident(c.name()),
            })
            .collect();
        let rows = ctx
            .read_table(provider)
            .and_then(|df| df.select(columns))
            .map_err(df_err(format!(
                "{stream}: planning the rewrite at wider types"
            )))?;
        table
            .write(Vec::new())
            .with_input_plan(rows.into_unoptimized_plan())
            .with_session_state(Arc::new(ctx.state()))
            .with_save_mode(SaveMode::Overwrite)
            .with_schema_mode(SchemaMode::Overwrite)
            .await
            .map_err(delta_err(format!(
                "rewriting the Delta table of {stream} at wider types"
            )))
    }

    fn rows_staged(&self) -> u64 {
        self.staged
            .iter()
            .filter_map(|p| {
                let file = std::fs::File::open(p).ok()?;
                let reader =
                    parquet::file::serialized_reader::SerializedFileReader::new(file).ok()?;
                use parquet::file::reader::FileReader;
                Some(reader.metadata().file_metadata().num_rows() as u64)
            })
            .sum()
    }

    /// The merge source of a key-scan run: the rows read, flagged, then the scanned
    /// keys the read did not return, with NULL elsewhere.
    async fn with_scanned_keys(
        &self,
        ctx: &SessionContext,
        rows: DataFrame,
        keys_file: &Path,
    ) -> Result<DataFrame> {
        let stream = &self.spec.name;
        let keys = &self.spec.primary_key;
        let err = |what: &str| df_err(format!("{stream}: {what}"));
        let scanned = ctx
            .read_parquet(
                keys_file.display().to_string(),
                ParquetReadOptions::default(),
            )
            .await
            .map_err(err("reading the key scan"))?;
        let read_keys = rows
            .clone()
            .select(
                keys.iter()
                    .map(|k| ident(k).alias(format!("{ROW_FLAG}_{k}")))
                    .collect::<Vec<Expr>>(),
            )
            .map_err(err("planning the key scan"))?;
        let right: Vec<String> = keys.iter().map(|k| format!("{ROW_FLAG}_{k}")).collect();
        let left: Vec<&str> = keys.iter().map(String::as_str).collect();
        let right: Vec<&str> = right.iter().map(String::as_str).collect();
        let only_scanned = scanned
            .join(read_keys, JoinType::LeftAnti, &left, &right, None)
            .map_err(err("planning the key scan"))?;
        let mut padded: Vec<Expr> = Vec::new();
        for f in self.spec.schema.fields() {
            if keys.contains(f.name()) {
                padded.push(ident(f.name()));
            } else {
                let null =
                    ScalarValue::try_from(f.data_type()).map_err(err("planning the key scan"))?;
                padded.push(lit(null).alias(f.name()));
            }
        }
        padded.push(lit(false).alias(ROW_FLAG));
        let only_scanned = only_scanned
            .select(padded)
            .map_err(err("planning the key scan"))?;
        let mut flagged: Vec<Expr> = self
            .spec
            .schema
            .fields()
            .iter()
            .map(|f| ident(f.name()))
            .collect();
        flagged.push(lit(true).alias(ROW_FLAG));
        rows.select(flagged)
            .and_then(|r| r.union(only_scanned))
            .map_err(err("planning the key scan"))
    }
}

#[async_trait]
impl StreamWriter for DeltaWriter {
    async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let route = match self.chains.as_mut() {
            Some(chains) => chains.route(&batch),
            None => Route::Unordered,
        };
        let staged = self.file_for(route)?;
        staged
            .writer
            .write(&batch)
            .map_err(|e| Error::external(format!("writing {}", staged.path.display()), e))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    async fn flush(&mut self) -> Result<serde_json::Value> {
        self.close_open()?;
        let names: Vec<String> = self
            .staged
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        Ok(serde_json::json!({ "staged": names }))
    }

    async fn commit(mut self: Box<Self>) -> Result<StreamOutput> {
        self.close_open()?;
        let rows = self.rows;
        let publish = Publish {
            spec: self.spec.clone(),
            store: self.store.clone(),
            mode: self.mode,
            ordered: self.chains.as_ref().is_some_and(Chains::ordered),
            staged: std::mem::take(&mut self.staged),
            keys: self.keys.take(),
            target_file_bytes: self.target_file_bytes,
        };
        drop(self);
        let changes = publish.run().await?;
        for f in publish.staged.iter().chain(&publish.keys) {
            let _ = std::fs::remove_file(f);
        }
        Ok(StreamOutput {
            rows,
            files: Vec::new(),
            changes: Some(changes),
        })
    }
}
