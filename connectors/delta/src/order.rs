//! Key order for a new table's files, so a later merge rewrites few of them.
//!
//! delta-rs merges copy-on-write: every file holding a changed row is rewritten, and
//! a merge skips the files whose key range (min/max statistics) misses the changed
//! keys. Files cut from rows in key order cover narrow, disjoint key ranges, so the
//! recent records an ERP changes most touch one or two files; files cut from
//! interleaved batches (a source that reads key ranges in parallel) all cover the
//! whole table, and every merge rewrites everything.
//!
//! Sources read in key order within each of their partitions, so no sort is needed:
//! the writer stages batches into *chains*, each a run of files in non-decreasing key
//! order ([`Chains::route`] puts a batch after the chain that ends just before it),
//! and the first write of a table merges the chains back into one key-ordered stream
//! ([`ordered_scan`], DataFusion's sort-preserving merge over one partition per
//! chain, run as a single partition). A batch that is not itself in key order, or one chain too many, makes the
//! stream unordered: it is then written as it comes, as before.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::row::{OwnedRow, RowConverter, SortField};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::datasource::TableProvider;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::physical_plan::{ExecutionPlan, SendableRecordBatchStream, execute_stream};
use datafusion::prelude::{DataFrame, SessionContext, ident};
use ferry_core::{Error, Result};

/// Chains a stream may open before it counts as unordered: a source's parallel
/// partitions each make one.
pub const MAX_CHAINS: usize = 16;

/// Where [`Chains::route`] sends a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Append to this chain.
    Chain(usize),
    /// Not in key order: write it unordered.
    Unordered,
}

/// The key order of a stream's staged batches.
pub struct Chains {
    converter: RowConverter,
    keys: Vec<usize>,
    /// The last key of each chain.
    ends: Vec<OwnedRow>,
    ordered: bool,
}

impl Chains {
    /// Chains over the `keys` columns of `schema`; `None` without a key (or a key
    /// type rows cannot compare).
    pub fn new(schema: &SchemaRef, keys: &[String]) -> Option<Chains> {
        if keys.is_empty() {
            return None;
        }
        let indices: Vec<usize> = keys
            .iter()
            .map(|k| schema.index_of(k).ok())
            .collect::<Option<_>>()?;
        let fields = indices
            .iter()
            .map(|&i| SortField::new(schema.field(i).data_type().clone()))
            .collect();
        let converter = RowConverter::new(fields).ok()?;
        Some(Chains {
            converter,
            keys: indices,
            ends: Vec::new(),
            ordered: true,
        })
    }

    /// Whether every batch so far went to a chain.
    pub fn ordered(&self) -> bool {
        self.ordered
    }

    /// The chain `batch` continues, opening one if none ends at or before its first
    /// key; [`Route::Unordered`] (for this and every later batch) if the batch is not
    /// sorted by key or the chains are all used.
    pub fn route(&mut self, batch: &RecordBatch) -> Route {
        if !self.ordered || batch.num_rows() == 0 {
            return Route::Unordered;
        }
        let columns: Vec<_> = self.keys.iter().map(|&i| batch.column(i).clone()).collect();
        let Ok(rows) = self.converter.convert_columns(&columns) else {
            self.ordered = false;
            return Route::Unordered;
        };
        let sorted = (1..rows.num_rows()).all(|i| rows.row(i - 1) <= rows.row(i));
        let first = rows.row(0);
        let last = rows.row(rows.num_rows() - 1).owned();
        if !sorted {
            self.ordered = false;
            return Route::Unordered;
        }
        // The chain whose end is the greatest key not after this batch's first.
        let best = self
            .ends
            .iter()
            .enumerate()
            .filter(|(_, end)| end.row() <= first)
            .max_by(|(_, a), (_, b)| a.row().cmp(&b.row()))
            .map(|(i, _)| i);
        match best {
            Some(i) => {
                self.ends[i] = last;
                Route::Chain(i)
            }
            None if self.ends.len() < MAX_CHAINS => {
                self.ends.push(last);
                Route::Chain(self.ends.len() - 1)
            }
            None => {
                self.ordered = false;
                Route::Unordered
            }
        }
    }
}

/// A staged file's name: `{prefix}-c{chain}-{seq}.parquet` for a chain's file,
/// `{prefix}-u-{seq}.parquet` for an unordered one. The prefix (without `-`) names
/// the writer, so chains of different writers never mix.
pub fn file_name(prefix: &str, route: Route, seq: usize) -> String {
    match route {
        Route::Chain(c) => format!("{prefix}-c{c:02}-{seq:05}.parquet"),
        Route::Unordered => format!("{prefix}-u-{seq:05}.parquet"),
    }
}

/// The staged files grouped by chain, each chain's files in order; `None` if any
/// file is unordered (or not named by [`file_name`]). Files kept from an
/// interrupted run form chains of their own run.
pub fn group_chains(files: &[PathBuf]) -> Option<Vec<Vec<PathBuf>>> {
    let mut chains: BTreeMap<String, Vec<(usize, PathBuf)>> = BTreeMap::new();
    for f in files {
        let name = f.file_name()?.to_str()?.strip_suffix(".parquet")?;
        let (chain, seq) = name.rsplit_once('-')?;
        let seq: usize = seq.parse().ok()?;
        let (_, c) = chain.rsplit_once('-')?;
        let digits = c.strip_prefix('c')?;
        if digits.len() != 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        chains
            .entry(chain.to_string())
            .or_default()
            .push((seq, f.clone()));
    }
    Some(
        chains
            .into_values()
            .map(|mut files| {
                files.sort_by_key(|(seq, _)| *seq);
                files.into_iter().map(|(_, f)| f).collect()
            })
            .collect(),
    )
}

/// One chain's files, read in order as one partition.
#[derive(Debug)]
struct ChainPartition {
    schema: SchemaRef,
    files: Vec<PathBuf>,
}

impl PartitionStream for ChainPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let files = self.files.clone();
        tokio::task::spawn_blocking(move || {
            for path in files {
                let reader = std::fs::File::open(&path)
                    .map_err(|e| DataFusionError::External(Box::new(Error::io(&path, e))))
                    .and_then(|f| {
                        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
                            .and_then(|b| b.with_batch_size(8192).build())
                            .map_err(DataFusionError::from)
                    });
                let reader = match reader {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                };
                for batch in reader {
                    let batch = batch.map_err(DataFusionError::from);
                    let failed = batch.is_err();
                    if tx.blocking_send(batch).is_err() || failed {
                        return;
                    }
                }
            }
        });
        let batches =
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), batches))
    }
}

/// The rows of `chains` in key order: one partition per chain, merged on `keys`.
///
/// The merge is planned here and handed on as a table of one partition: a sort in the
/// logical plan given to delta-rs would not survive its write planning, which wraps
/// the plan in nodes that do not ask for an order and so lets DataFusion replace the
/// merge with an interleaving of the chains.
///
/// # Errors
/// A key column is missing.
pub async fn ordered_scan(
    ctx: &SessionContext,
    schema: &SchemaRef,
    keys: &[String],
    chains: Vec<Vec<PathBuf>>,
) -> Result<DataFrame> {
    let merge = merge_plan(ctx, schema, keys, chains).await?;
    let merged = StreamingTable::try_new(
        schema.clone(),
        vec![Arc::new(MergedChains {
            schema: schema.clone(),
            plan: merge,
        }) as Arc<dyn PartitionStream>],
    )
    .map_err(plan_err)?;
    ctx.read_table(Arc::new(merged) as Arc<dyn TableProvider>)
        .map_err(plan_err)
}

fn plan_err(e: DataFusionError) -> Error {
    Error::external("planning the key-ordered write", e)
}

/// The sort-preserving merge of the chains, one input partition per chain.
async fn merge_plan(
    ctx: &SessionContext,
    schema: &SchemaRef,
    keys: &[String],
    chains: Vec<Vec<PathBuf>>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let err = plan_err;
    let order: Vec<_> = keys.iter().map(|k| ident(k).sort(true, true)).collect();
    let partitions: Vec<Arc<dyn PartitionStream>> = chains
        .into_iter()
        .map(|files| {
            Arc::new(ChainPartition {
                schema: schema.clone(),
                files,
            }) as Arc<dyn PartitionStream>
        })
        .collect();
    let table = StreamingTable::try_new(schema.clone(), partitions)
        .map_err(err)?
        .with_sort_order(order.clone());
    ctx.read_table(Arc::new(table) as Arc<dyn TableProvider>)
        .and_then(|df| df.sort(order))
        .map_err(err)?
        .create_physical_plan()
        .await
        .map_err(err)
}

/// The planned merge of the chains, run as one partition.
#[derive(Debug)]
struct MergedChains {
    schema: SchemaRef,
    plan: Arc<dyn ExecutionPlan>,
}

impl PartitionStream for MergedChains {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        match execute_stream(self.plan.clone(), ctx) {
            Ok(stream) => stream,
            Err(e) => Box::pin(RecordBatchStreamAdapter::new(
                self.schema.clone(),
                futures::stream::once(async move { Err(e) }),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]))
    }

    fn batch(ids: &[i64]) -> RecordBatch {
        let names: Vec<String> = ids.iter().map(|i| format!("n{i}")).collect();
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from(ids.to_vec())) as ArrayRef,
                Arc::new(StringArray::from(names)),
            ],
        )
        .unwrap()
    }

    #[test]
    fn interleaved_partitions_make_one_chain_each() {
        let mut chains = Chains::new(&schema(), &["id".into()]).unwrap();
        // Two partitions, 1..=6 and 100..=105, arriving interleaved.
        assert_eq!(chains.route(&batch(&[1, 2])), Route::Chain(0));
        assert_eq!(chains.route(&batch(&[100, 101])), Route::Chain(0));
        assert_eq!(chains.route(&batch(&[3, 4])), Route::Chain(1));
        assert_eq!(chains.route(&batch(&[102, 103])), Route::Chain(0));
        assert_eq!(chains.route(&batch(&[5, 6])), Route::Chain(1));
        assert_eq!(chains.route(&batch(&[104, 105])), Route::Chain(0));
        assert!(chains.ordered());
    }

    #[test]
    fn a_batch_out_of_order_makes_the_stream_unordered() {
        let mut chains = Chains::new(&schema(), &["id".into()]).unwrap();
        assert_eq!(chains.route(&batch(&[1, 2])), Route::Chain(0));
        assert_eq!(chains.route(&batch(&[9, 3])), Route::Unordered);
        assert_eq!(chains.route(&batch(&[10, 11])), Route::Unordered);
        assert!(!chains.ordered());
    }

    #[test]
    fn too_many_chains_make_the_stream_unordered() {
        let mut chains = Chains::new(&schema(), &["id".into()]).unwrap();
        for i in 0..MAX_CHAINS as i64 {
            assert_eq!(chains.route(&batch(&[100 - i])), Route::Chain(i as usize));
        }
        assert_eq!(chains.route(&batch(&[0])), Route::Unordered);
    }

    #[test]
    fn no_key_no_chains() {
        assert!(Chains::new(&schema(), &[]).is_none());
        assert!(Chains::new(&schema(), &["missing".into()]).is_none());
    }

    #[test]
    fn files_group_by_chain_in_sequence() {
        let files: Vec<PathBuf> = [
            "r1-c01-00003.parquet",
            "r1-c00-00002.parquet",
            "r1-c00-00000.parquet",
            "r1-c01-00001.parquet",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let chains = group_chains(&files).unwrap();
        assert_eq!(
            chains,
            vec![
                vec![
                    PathBuf::from("r1-c00-00000.parquet"),
                    PathBuf::from("r1-c00-00002.parquet")
                ],
                vec![
                    PathBuf::from("r1-c01-00001.parquet"),
                    PathBuf::from("r1-c01-00003.parquet")
                ],
            ]
        );
        // Two writers of one run (the second resumed the first) keep their own chains.
        let resumed: Vec<PathBuf> = [
            "r1.0-c00-00000.parquet",
            "r1.2-c00-00002.parquet",
            "r1.0-c00-00001.parquet",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(group_chains(&resumed).unwrap().len(), 2);
        assert_eq!(
            file_name("r1.2", Route::Chain(3), 7),
            "r1.2-c03-00007.parquet"
        );
        // Names of an older ferry (`{run}-{seq}`) are not chains.
        assert!(group_chains(&[PathBuf::from("20261207T063451930Z-00003.parquet")]).is_none());
        let with_unordered = [
            PathBuf::from("r1-c00-00000.parquet"),
            PathBuf::from("r1-u-00001.parquet"),
        ];
        assert!(group_chains(&with_unordered).is_none());
    }

    #[tokio::test]
    async fn chains_merge_back_in_key_order_without_a_full_sort() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, batches: &[RecordBatch]| {
            let path = dir.path().join(name);
            let file = std::fs::File::create(&path).unwrap();
            let mut w = parquet::arrow::ArrowWriter::try_new(file, schema(), None).unwrap();
            for b in batches {
                w.write(b).unwrap();
            }
            w.close().unwrap();
            path
        };
        let chains = vec![
            vec![
                write("a0", &[batch(&[1, 2]), batch(&[100, 101])]),
                write("a1", &[batch(&[102])]),
            ],
            vec![write("b0", &[batch(&[3, 4, 50])])],
        ];
        // As the sink plans it: one target partition.
        let ctx = SessionContext::new_with_config(
            datafusion::prelude::SessionConfig::new().with_target_partitions(1),
        );
        let plan = merge_plan(&ctx, &schema(), &["id".into()], chains.clone())
            .await
            .unwrap();
        let shown = datafusion::physical_plan::displayable(plan.as_ref())
            .indent(true)
            .to_string();
        assert!(shown.contains("SortPreservingMergeExec"), "{shown}");
        assert!(
            !shown.contains("SortExec:"),
            "a full sort was planned:\n{shown}"
        );
        // What the sink hands delta-rs: one partition, so no planner can interleave.
        let df = ordered_scan(&ctx, &schema(), &["id".into()], chains)
            .await
            .unwrap();
        let scan = df.clone().create_physical_plan().await.unwrap();
        assert_eq!(scan.properties().output_partitioning().partition_count(), 1);
        let rows = df.collect().await.unwrap();
        let ids: Vec<i64> = rows
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            })
            .collect();
        assert_eq!(ids, vec![1, 2, 3, 4, 50, 100, 101, 102]);
    }
}
