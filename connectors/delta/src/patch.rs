//! Small merges without rewrites. delta-rs merges copy-on-write: every data file
//! holding a changed row is rewritten whole, so an incremental run whose changes are
//! scattered over the table re-encodes all of it. Here the replaced rows are instead
//! marked deleted in a deletion vector of their file ([`crate::dv`]) and their new
//! versions appended in a new file, so a run costs one read of the key and cursor
//! columns plus work in proportion to what changed.
//!
//! It takes an incremental run (rows read after the cursor) of a keyed stream whose
//! table allows deletion vectors, when the changes are at most a tenth of the table
//! and the columns match the table's. Anything else (full reads, key scans, new or
//! wider columns, large change sets) goes through delta-rs's merge, which also
//! folds the deletion vectors of the files it rewrites back into them.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, new_null_array};
use arrow::compute::{cast, concat_batches, filter_record_batch};
use arrow::datatypes::SchemaRef;
use arrow::row::{RowConverter, Rows, SortField};
use deltalake_core::DeltaTable;
use deltalake_core::kernel::transaction::CommitBuilder;
use deltalake_core::kernel::{Action, LogicalFileView};
use deltalake_core::protocol::{DeltaOperation, MergePredicate};
use deltalake_core::writer::{DeltaWriter as _, RecordBatchWriter};
use ferry_core::sink::Changes;
use ferry_core::{Error, Result, StreamSpec};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, RowSelection};
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use roaring::RoaringTreemap;
use url::Url;

use crate::dv;

/// Above this much staged data a run merges the usual way. The staged files are
/// uncompressed Parquet; the merge holds their rows in memory with the rows' key and
/// whole-row encodings, two to three times this at most.
const MAX_STAGED_BYTES: u64 = 128 << 20;

/// A run changing more than one row in this many merges the usual way: the new
/// versions would be most of a file anyway, and reads skip fewer deleted rows.
const MAX_SHARE: u64 = 10;

/// Whether `table` may carry deletion vectors (new tables are created so).
pub fn enabled(table: &DeltaTable) -> bool {
    let Ok(state) = table.snapshot() else {
        return false;
    };
    let protocol = state.protocol();
    let has = |features: Option<&[delta_kernel::table_features::TableFeature]>| {
        features.is_some_and(|f| {
            f.contains(&delta_kernel::table_features::TableFeature::DeletionVectors)
        })
    };
    state.table_config().enable_deletion_vectors == Some(true)
        && has(protocol.reader_features())
        && has(protocol.writer_features())
}

fn delta_err(what: String) -> impl FnOnce(deltalake_core::DeltaTableError) -> Error {
    move |e| Error::external(what, e)
}

fn arrow_err(what: String) -> impl FnOnce(arrow::error::ArrowError) -> Error {
    move |e| Error::external(what, e)
}

/// One data file of the table, as the probes need it.
#[derive(Clone)]
struct Target {
    path: StorePath,
    size: u64,
    dv: Option<deltalake_core::kernel::DeletionVectorDescriptor>,
}

/// What the probes of the data files share: the incoming rows by key.
struct Incoming {
    stream: String,
    objects: Arc<dyn ObjectStore>,
    table_url: Url,
    schema: SchemaRef,
    keys: Vec<String>,
    key_rows: RowConverter,
    /// Encoded key → the position of its row in the incoming batch (the last row
    /// read with that key: a later read of a row is the newer).
    by_key: HashMap<Box<[u8]>, u32>,
    whole_rows: RowConverter,
    /// Every incoming row, encoded whole, to compare with the row it replaces.
    rows: Rows,
    /// The stream's cursor column, when the table has it.
    cursor: Option<Cursor>,
}

/// The cursor column of the incoming rows: a stored row whose cursor value differs
/// has changed, without comparing the rest.
struct Cursor {
    name: String,
    rows_of: RowConverter,
    rows: Rows,
}

/// A data file of the table, read in ranges (the footer, the pages a read needs).
#[derive(Clone)]
struct DataFile {
    objects: Arc<dyn ObjectStore>,
    path: StorePath,
    size: u64,
}

impl AsyncFileReader for DataFile {
    fn get_bytes(
        &mut self,
        range: std::ops::Range<u64>,
    ) -> futures::future::BoxFuture<'_, parquet::errors::Result<bytes::Bytes>> {
        Box::pin(async move {
            self.objects
                .get_range(&self.path, range)
                .await
                .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
        })
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<std::ops::Range<u64>>,
    ) -> futures::future::BoxFuture<'_, parquet::errors::Result<Vec<bytes::Bytes>>> {
        Box::pin(async move {
            self.objects
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
        })
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a parquet::arrow::arrow_reader::ArrowReaderOptions>,
    ) -> futures::future::BoxFuture<
        'a,
        parquet::errors::Result<Arc<parquet::file::metadata::ParquetMetaData>>,
    > {
        Box::pin(async move {
            let size = self.size;
            let metadata = parquet::file::metadata::ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        })
    }
}

/// The rows of one data file that incoming rows carry a key of.
struct Hits {
    /// Index of the file in the table's file list.
    file: usize,
    /// Rows its deletion vector deletes already.
    deleted: RoaringTreemap,
    /// (row position in the file, incoming row, whether the two are equal).
    rows: Vec<(u64, u32, bool)>,
}

/// What became of an incoming row, in rising precedence: a live row with its key
/// that differs makes it an update, an equal one leaves the table alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fate {
    /// No live row has its key: an insert.
    New,
    /// Replaces a live row that differs.
    Updated,
    /// A live row equals it: nothing to write.
    Same,
}

/// Merges the staged rows of an incremental run into `table` with deletion vectors.
/// `None` when the run does not qualify (see the module doc); then nothing was
/// written.
///
/// # Errors
/// Reading the table or the staged files, writing the new files, or the commit.
pub async fn merge(
    table: &DeltaTable,
    spec: &StreamSpec,
    staged: &[PathBuf],
    staged_rows: u64,
    target_file_bytes: u64,
) -> Result<Option<Changes>> {
    let stream = &spec.name;
    if !enabled(table) || spec.primary_key.is_empty() {
        return Ok(None);
    }
    let state = table
        .snapshot()
        .map_err(delta_err(format!("reading the Delta table of {stream}")))?;
    if !state.metadata().partition_columns().is_empty() {
        return Ok(None);
    }
    let schema = state.snapshot().arrow_schema();
    let in_table: BTreeSet<&String> = schema.fields().iter().map(|f| f.name()).collect();
    let read: BTreeSet<&String> = spec.schema.fields().iter().map(|f| f.name()).collect();
    if in_table != read {
        return Ok(None);
    }
    let mut staged_bytes = 0u64;
    for p in staged {
        staged_bytes += std::fs::metadata(p).map_err(|e| Error::io(p, e))?.len();
    }
    if staged_bytes > MAX_STAGED_BYTES {
        return Ok(None);
    }
    let views: Vec<LogicalFileView> = state
        .snapshot()
        .file_views(table.log_store().as_ref(), None)
        .try_collect()
        .await
        .map_err(delta_err(format!("{stream}: listing the data files")))?;
    let live_rows: u64 = views.iter().map(dv::live_rows).sum();
    if staged_rows * MAX_SHARE > live_rows {
        return Ok(None);
    }
    let Some(incoming) = read_staged(staged, &schema, stream)? else {
        return Ok(None);
    };
    if incoming.num_rows() == 0 {
        return Ok(Some(Changes::default()));
    }
    let Some(incoming_index) = index(table, spec, &schema, &incoming)? else {
        return Ok(None);
    };
    let incoming_index = Arc::new(incoming_index);
    tracing::debug!(
        stream,
        rows = incoming.num_rows(),
        files = views.len(),
        "Merging with deletion vectors."
    );

    let targets: Vec<Target> = views
        .iter()
        .map(|v| Target {
            path: v.object_store_path(),
            size: v.size().max(0) as u64,
            dv: v.deletion_vector_descriptor(),
        })
        .collect();
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get().min(8));
    let hits: Vec<Hits> = futures::stream::iter(targets.into_iter().enumerate())
        .map(|(n, target)| {
            let probe = incoming_index.clone();
            tokio::spawn(async move { probe_file(&probe, n, target).await })
        })
        .buffer_unordered(parallel)
        .map(|joined| match joined {
            Ok(probed) => probed,
            Err(e) => Err(Error::external(format!("{stream}: probing a data file"), e)),
        })
        .try_filter_map(|hit| async move { Ok(hit) })
        .try_collect()
        .await?;

    let mut fate = vec![Fate::New; incoming.num_rows()];
    let mut vectors = Vec::new();
    let mut touched = Vec::new();
    let mut replaced = 0u64;
    for hit in hits {
        let mut marks = hit.deleted;
        let before = marks.len();
        for (position, row, same) in hit.rows {
            let f = &mut fate[row as usize];
            if same {
                *f = Fate::Same;
            } else {
                *f = (*f).max(Fate::Updated);
                marks.insert(position);
            }
        }
        if marks.len() > before {
            replaced += marks.len() - before;
            touched.push(hit.file);
            vectors.push(marks);
        }
    }
    let last: Vec<bool> = {
        let mut last = vec![false; incoming.num_rows()];
        for &i in incoming_index.by_key.values() {
            last[i as usize] = true;
        }
        last
    };
    let keep: BooleanArray = (0..incoming.num_rows())
        .map(|i| Some(last[i] && fate[i] != Fate::Same))
        .collect();
    let inserted = (0..incoming.num_rows())
        .filter(|&i| last[i] && fate[i] == Fate::New)
        .count() as u64;
    let updated = (0..incoming.num_rows())
        .filter(|&i| last[i] && fate[i] == Fate::Updated)
        .count() as u64;
    if inserted + updated == 0 && touched.is_empty() {
        return Ok(Some(Changes::default()));
    }

    let mut actions: Vec<Action> = Vec::new();
    let new_rows = filter_record_batch(&incoming, &keep)
        .map_err(arrow_err(format!("{stream}: selecting the new rows")))?;
    if new_rows.num_rows() > 0 {
        let mut writer = RecordBatchWriter::for_table(table)
            .map_err(delta_err(format!("{stream}: writing the new rows")))?
            .with_target_file_size(target_file_bytes);
        writer
            .write(new_rows)
            .await
            .map_err(delta_err(format!("{stream}: writing the new rows")))?;
        let adds = writer
            .flush()
            .await
            .map_err(delta_err(format!("{stream}: writing the new rows")))?;
        actions.extend(adds.into_iter().map(Action::Add));
    }
    if !vectors.is_empty() {
        let objects = table.object_store();
        let descriptors = dv::write(&objects, vectors)
            .await
            .map_err(|e| Error::external(format!("{stream}: writing deletion vectors"), e))?;
        for (n, descriptor) in touched.into_iter().zip(descriptors) {
            let view = &views[n];
            #[allow(deprecated)] // the one way to carry a file's add action over whole
            let mut add = view.add_action();
            add.deletion_vector = Some(descriptor);
            add.stats = add.stats.map(|s| wide_bounds(&s));
            actions.push(Action::Remove(view.remove_action(true)));
            actions.push(Action::Add(add));
        }
    }
    let on = spec
        .primary_key
        .iter()
        .map(|k| format!("t.{k} = s.{k}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let operation = DeltaOperation::Merge {
        predicate: None,
        merge_predicate: Some(on),
        matched_predicates: vec![MergePredicate {
            action_type: "update".into(),
            predicate: None,
        }],
        not_matched_predicates: vec![MergePredicate {
            action_type: "insert".into(),
            predicate: None,
        }],
        not_matched_by_source_predicates: Vec::new(),
    };
    let metrics = serde_json::json!({
        "numTargetRowsInserted": inserted,
        "numTargetRowsUpdated": updated,
        "numTargetRowsDeleted": 0,
        "numTargetRowsRemoved": replaced,
        "numDeletionVectorsAdded": actions.iter().filter(|a| matches!(a, Action::Add(a) if a.deletion_vector.is_some())).count(),
    });
    let committed = CommitBuilder::default()
        .with_actions(actions)
        .with_app_metadata(HashMap::from([("operationMetrics".to_owned(), metrics)]))
        .build(Some(state), table.log_store(), operation)
        .await
        .map_err(delta_err(format!(
            "committing to the Delta table of {stream}"
        )))?;
    tracing::info!(
        stream,
        inserted,
        updated,
        rows_marked_deleted = replaced,
        "Merged with deletion vectors."
    );
    Ok(Some(Changes {
        inserted,
        updated,
        deleted: 0,
        version: Some(committed.version() as i64),
    }))
}

/// A file's statistics once a deletion vector hides some of its rows: still true of
/// the rows left, but perhaps no longer reached by any (Delta's `tightBounds`).
fn wide_bounds(stats: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(stats) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.insert("tightBounds".into(), serde_json::Value::Bool(false));
            serde_json::Value::Object(map).to_string()
        }
        _ => stats.to_owned(),
    }
}

/// The staged rows as one batch at the table's column types; `None` when a column
/// does not convert exactly.
fn read_staged(
    staged: &[PathBuf],
    schema: &SchemaRef,
    stream: &str,
) -> Result<Option<RecordBatch>> {
    let mut batches = Vec::new();
    for path in staged {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.with_batch_size(64 * 1024).build())
            .map_err(|e| Error::external(format!("reading {}", path.display()), e))?;
        for batch in reader {
            let batch = batch.map_err(arrow_err(format!("reading {}", path.display())))?;
            match conform(&batch, schema) {
                Some(b) => batches.push(b),
                None => return Ok(None),
            }
        }
    }
    concat_batches(schema, &batches)
        .map(Some)
        .map_err(arrow_err(format!("{stream}: gathering the staged rows")))
}

/// `batch` with the columns and types of `schema` (columns it lacks are NULL), or
/// `None` when a value would not convert exactly.
fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Option<RecordBatch> {
    let options = arrow::compute::CastOptions {
        safe: false,
        ..Default::default()
    };
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            None => Some(new_null_array(f.data_type(), batch.num_rows())),
            Some(c) if c.data_type() == f.data_type() => Some(c.clone()),
            Some(c) => arrow::compute::cast_with_options(c, f.data_type(), &options).ok(),
        })
        .collect::<Option<_>>()?;
    RecordBatch::try_new(schema.clone(), columns).ok()
}

/// The incoming rows indexed by key; `None` when a column type has no row encoding.
fn index(
    table: &DeltaTable,
    spec: &StreamSpec,
    schema: &SchemaRef,
    incoming: &RecordBatch,
) -> Result<Option<Incoming>> {
    let stream = &spec.name;
    let fields = |names: &[String]| -> Option<Vec<SortField>> {
        names
            .iter()
            .map(|n| {
                schema
                    .field_with_name(n)
                    .ok()
                    .map(|f| SortField::new(f.data_type().clone()))
            })
            .collect()
    };
    let keys = spec.primary_key.clone();
    let all: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let (Some(key_fields), Some(all_fields)) = (fields(&keys), fields(&all)) else {
        return Ok(None);
    };
    let (Ok(key_rows), Ok(whole_rows)) =
        (RowConverter::new(key_fields), RowConverter::new(all_fields))
    else {
        return Ok(None);
    };
    let key_columns: Vec<ArrayRef> = keys
        .iter()
        .filter_map(|k| incoming.column_by_name(k).cloned())
        .collect();
    let encoded = key_rows
        .convert_columns(&key_columns)
        .map_err(arrow_err(format!("{stream}: encoding the keys")))?;
    let mut by_key = HashMap::with_capacity(incoming.num_rows());
    for (i, row) in encoded.iter().enumerate() {
        by_key.insert(Box::<[u8]>::from(row.as_ref()), i as u32);
    }
    let rows = whole_rows
        .convert_columns(incoming.columns())
        .map_err(arrow_err(format!("{stream}: encoding the rows")))?;
    let cursor = match spec.cursor_field.as_ref().and_then(|c| {
        let field = schema.field_with_name(c).ok()?;
        let converter = RowConverter::new(vec![SortField::new(field.data_type().clone())]).ok()?;
        Some((c, converter, incoming.column_by_name(c)?.clone()))
    }) {
        Some((name, rows_of, values)) => {
            let rows = rows_of
                .convert_columns(&[values])
                .map_err(arrow_err(format!("{stream}: encoding the cursor")))?;
            Some(Cursor {
                name: name.clone(),
                rows_of,
                rows,
            })
        }
        None => None,
    };
    Ok(Some(Incoming {
        stream: stream.clone(),
        objects: table.object_store(),
        table_url: table.table_url().clone(),
        schema: schema.clone(),
        keys,
        key_rows,
        by_key,
        whole_rows,
        rows,
        cursor,
    }))
}

/// Finds the live rows of one data file that share a key with an incoming row, and
/// whether each equals it. The first read takes the key columns and the cursor
/// column of every row: a row whose cursor value moved has changed. Only rows whose
/// cursor value did not move (read again at the mark, or no cursor) are compared
/// whole, in a second read of just those rows.
async fn probe_file(incoming: &Incoming, file: usize, target: Target) -> Result<Option<Hits>> {
    let stream = &incoming.stream;
    let what = format!("{stream}: data file {}", target.path);
    let deleted = match &target.dv {
        Some(d) => dv::read(&*incoming.objects, &incoming.table_url, d)
            .await
            .map_err(|e| Error::external(format!("{stream}: reading a deletion vector"), e))?,
        None => RoaringTreemap::new(),
    };
    let parquet_err = |e: parquet::errors::ParquetError| Error::external(what.clone(), e);
    let mut reader = DataFile {
        objects: incoming.objects.clone(),
        path: target.path.clone(),
        size: target.size,
    };
    let metadata = ArrowReaderMetadata::load_async(&mut reader, Default::default())
        .await
        .map_err(parquet_err)?;
    let file_schema = metadata.schema().clone();
    let mut roots: Vec<usize> = incoming
        .keys
        .iter()
        .map(|k| {
            file_schema
                .index_of(k)
                .map_err(|_| Error::external(what.clone(), format!("no key column {k}")))
        })
        .collect::<Result<_>>()?;
    // A file written before the cursor column was added: its rows are compared whole.
    let cursor = incoming
        .cursor
        .as_ref()
        .and_then(|c| Some((c, file_schema.index_of(&c.name).ok()?)));
    if let Some((_, at)) = cursor {
        roots.push(at);
    }
    let cursor = cursor.map(|(c, _)| c);
    let column = |batch: &RecordBatch, name: &str| -> Result<ArrayRef> {
        let found = batch
            .column_by_name(name)
            .ok_or_else(|| Error::external(what.clone(), format!("no column {name}")))?;
        let field = incoming
            .schema
            .field_with_name(name)
            .map_err(arrow_err(what.clone()))?;
        cast(found, field.data_type()).map_err(arrow_err(what.clone()))
    };
    let mask = ProjectionMask::roots(metadata.parquet_schema(), roots);
    let mut keys =
        ParquetRecordBatchStreamBuilder::new_with_metadata(reader.clone(), metadata.clone())
            .with_projection(mask)
            .with_batch_size(64 * 1024)
            .build()
            .map_err(parquet_err)?;
    // (row position in the file, incoming row, equal: Some when the cursor decides).
    let mut found: Vec<(u64, u32, Option<bool>)> = Vec::new();
    let mut position = 0u64;
    while let Some(batch) = keys.try_next().await.map_err(parquet_err)? {
        let columns: Vec<ArrayRef> = incoming
            .keys
            .iter()
            .map(|k| column(&batch, k))
            .collect::<Result<_>>()?;
        let encoded = incoming
            .key_rows
            .convert_columns(&columns)
            .map_err(arrow_err(what.clone()))?;
        let marks = match cursor {
            Some(c) => Some(
                c.rows_of
                    .convert_columns(&[column(&batch, &c.name)?])
                    .map_err(arrow_err(what.clone()))?,
            ),
            None => None,
        };
        for (j, key) in encoded.iter().enumerate() {
            let at = position + j as u64;
            if let Some(&row) = incoming.by_key.get(key.as_ref())
                && !deleted.contains(at)
            {
                let moved = match (cursor, &marks) {
                    (Some(c), Some(m)) => m.row(j) != c.rows.row(row as usize),
                    _ => false,
                };
                found.push((at, row, moved.then_some(false)));
            }
        }
        position += batch.num_rows() as u64;
    }
    if found.is_empty() {
        return Ok(None);
    }

    let undecided: Vec<usize> = (0..found.len()).filter(|&k| found[k].2.is_none()).collect();
    if !undecided.is_empty() {
        let total = metadata.metadata().file_metadata().num_rows().max(0) as usize;
        let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
        for &k in &undecided {
            let at = found[k].0 as usize;
            match ranges.last_mut() {
                Some(r) if r.end == at => r.end += 1,
                _ => ranges.push(at..at + 1),
            }
        }
        let selection = RowSelection::from_consecutive_ranges(ranges.into_iter(), total);
        let mut rows = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, metadata)
            .with_row_selection(selection)
            .with_batch_size(64 * 1024)
            .build()
            .map_err(parquet_err)?;
        let mut batches = Vec::new();
        while let Some(batch) = rows.try_next().await.map_err(parquet_err)? {
            let batch = conform(&batch, &incoming.schema).ok_or_else(|| {
                Error::external(
                    what.clone(),
                    "a column does not convert to the table's type",
                )
            })?;
            batches.push(batch);
        }
        let current =
            concat_batches(&incoming.schema, &batches).map_err(arrow_err(what.clone()))?;
        if current.num_rows() != undecided.len() {
            return Err(Error::external(
                what,
                format!(
                    "{} rows selected, {} read",
                    undecided.len(),
                    current.num_rows()
                ),
            ));
        }
        let encoded = incoming
            .whole_rows
            .convert_columns(current.columns())
            .map_err(arrow_err(what.clone()))?;
        for (n, &k) in undecided.iter().enumerate() {
            let row = found[k].1 as usize;
            found[k].2 = Some(encoded.row(n) == incoming.rows.row(row));
        }
    }
    Ok(Some(Hits {
        file,
        deleted,
        rows: found
            .into_iter()
            .map(|(at, row, same)| (at, row, same == Some(true)))
            .collect(),
    }))
}
