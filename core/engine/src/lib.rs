//! ferry's SQL layer: DataFusion over folders of extracted streams.
//!
//! Every stream folder under a data folder becomes a table. A stream named
//! `schema.table` (as database sources name them) is registered as `table` in the
//! SQL schema `schema`, so `SELECT … FROM public.sale_order` and, when the name is
//! unique, `FROM sale_order` both work. ferry writes no query engine of its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::common::TableReference;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::{SessionConfig, SessionContext};

/// Errors of the SQL layer.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The data folder cannot be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The data folder holds no stream.
    #[error("{} holds no stream folder with Parquet files (run `ferry extract` first)", .0.display())]
    NoTables(PathBuf),
    /// DataFusion refused or failed the query.
    #[error("{0}")]
    Query(#[from] datafusion::error::DataFusionError),
}

/// A table found in a data folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableEntry {
    /// The stream name (folder name).
    pub stream: String,
    /// How to name it in SQL.
    pub sql_name: String,
    /// The folder.
    pub path: PathBuf,
}

/// Lists the stream folders of `data` that hold Parquet files, sorted by name.
///
/// # Errors
/// The folder cannot be read.
pub fn list_tables(data: &Path) -> Result<Vec<TableEntry>, EngineError> {
    let io = |e| EngineError::Io {
        path: data.to_owned(),
        source: e,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(data).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(['.', '_']) || !entry.path().is_dir() {
            continue;
        }
        let has_parquet = std::fs::read_dir(entry.path())
            .map(|it| {
                it.flatten()
                    .any(|f| f.file_name().to_string_lossy().ends_with(".parquet"))
            })
            .unwrap_or(false);
        if has_parquet {
            out.push(TableEntry {
                sql_name: name.clone(),
                stream: name,
                path: entry.path(),
            });
        }
    }
    out.sort_by(|a, b| a.stream.cmp(&b.stream));
    Ok(out)
}

/// Whether a `--data` entry is a URL (`s3://bucket/prefix`) rather than a folder.
pub fn is_url(data: &Path) -> bool {
    data.to_str().is_some_and(|s| s.contains("://"))
}

/// A DataFusion session with every stream of `data` registered.
///
/// # Errors
/// Unreadable folder, no table, or a folder DataFusion cannot read as Parquet.
pub async fn open(data: &Path) -> Result<(SessionContext, Vec<TableEntry>), EngineError> {
    open_many(&[data.to_owned()]).await
}

/// A DataFusion session over several data folders: a stream present in more than one
/// folder is one table holding the rows of all of them (e.g. the canonical folders of
/// a Tryton and an Odoo extraction, queried together). Their schemas must merge.
///
/// # Errors
/// Unreadable folder, no table at all, or schemas that do not merge.
pub async fn open_many(data: &[PathBuf]) -> Result<(SessionContext, Vec<TableEntry>), EngineError> {
    open_many_with(data, &std::collections::HashMap::new(), &[]).await
}

/// As [`open_many`], with tables already opened by the caller for some stream folders
/// (a Delta table at a chosen version, say): those folders are not read as plain
/// Parquet. Such a folder must be its stream's only one. A `data` entry that is a URL
/// ([`is_url`]) is not listed: its streams are the providers keyed `URL/stream`.
/// Stream folders in `skip` are left out.
///
/// # Errors
/// As [`open_many`], or a provided folder whose stream also exists in another folder.
pub async fn open_many_with(
    data: &[PathBuf],
    providers: &std::collections::HashMap<PathBuf, Arc<dyn datafusion::catalog::TableProvider>>,
    skip: &[PathBuf],
) -> Result<(SessionContext, Vec<TableEntry>), EngineError> {
    let mut by_stream: std::collections::BTreeMap<String, Vec<PathBuf>> =
        std::collections::BTreeMap::new();
    for dir in data {
        if is_url(dir) {
            // Remote data (object storage) comes only as tables the caller opened,
            // keyed `URL/stream`.
            for key in providers
                .keys()
                .filter(|k| k.parent() == Some(dir.as_path()))
            {
                if let Some(stream) = key.file_name() {
                    let stream = stream.to_string_lossy().into_owned();
                    by_stream.entry(stream).or_default().push(key.clone());
                }
            }
            continue;
        }
        for t in list_tables(dir)? {
            if !skip.contains(&t.path) {
                by_stream.entry(t.stream).or_default().push(t.path);
            }
        }
    }
    if by_stream.is_empty() {
        return Err(EngineError::NoTables(
            data.first().cloned().unwrap_or_default(),
        ));
    }
    let mut tables: Vec<TableEntry> = by_stream
        .iter()
        .map(|(stream, paths)| TableEntry {
            stream: stream.clone(),
            sql_name: stream.clone(),
            path: paths[0].clone(),
        })
        .collect();
    let config = SessionConfig::new().with_information_schema(true);
    let ctx = SessionContext::new_with_config(config);
    let catalog = ctx.catalog("datafusion").ok_or_else(|| {
        datafusion::error::DataFusionError::Internal("default catalog missing".into())
    })?;
    let short_count = |short: &str, tables: &[TableEntry]| {
        tables
            .iter()
            .filter(|t| {
                t.stream
                    .rsplit_once('.')
                    .map_or(t.stream.as_str(), |(_, s)| s)
                    == short
            })
            .count()
    };
    let snapshot = tables.clone();
    for t in &mut tables {
        let folders = &by_stream[&t.stream];
        let table = match folders.iter().find_map(|f| providers.get(f)) {
            Some(p) if folders.len() == 1 => p.clone(),
            Some(_) => {
                return Err(EngineError::Query(
                    datafusion::error::DataFusionError::Plan(format!(
                        "{} is a versioned table in one folder and plain files in another; query them separately",
                        t.stream
                    )),
                ));
            }
            None => listing_table(&ctx, folders).await?,
        };
        match t.stream.split_once('.') {
            Some((schema, name)) if !name.contains('.') => {
                if catalog.schema(schema).is_none() {
                    catalog.register_schema(
                        schema,
                        Arc::new(MemorySchemaProvider::new()) as Arc<dyn SchemaProvider>,
                    )?;
                }
                ctx.register_table(TableReference::partial(schema, name), table.clone())?;
                t.sql_name = format!("{schema}.{name}");
                // Also reachable by its bare name when no other stream shares it.
                if schema != "public"
                    && short_count(name, &snapshot) == 1
                    && !snapshot.iter().any(|o| o.stream == name)
                {
                    ctx.register_table(TableReference::bare(name), table)?;
                }
            }
            _ => {
                ctx.register_table(TableReference::bare(t.stream.as_str()), table)?;
                if t.stream.contains('.') {
                    t.sql_name = format!("\"{}\"", t.stream);
                }
            }
        }
    }
    Ok((ctx, tables))
}

/// One table over the Parquet files of one or more stream folders.
async fn listing_table(
    ctx: &SessionContext,
    folders: &[PathBuf],
) -> Result<Arc<dyn datafusion::catalog::TableProvider>, EngineError> {
    use datafusion::datasource::file_format::parquet::ParquetFormat;
    use datafusion::datasource::listing::{
        ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
    };
    let state = ctx.state();
    let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
    let options = ListingOptions::new(Arc::new(format)).with_file_extension(".parquet");
    let mut urls = Vec::with_capacity(folders.len());
    let mut schemas = Vec::with_capacity(folders.len());
    for folder in folders {
        let url = ListingTableUrl::parse(format!("{}/", folder.display()))?;
        schemas.push(options.infer_schema(&state, &url).await?.as_ref().clone());
        urls.push(url);
    }
    let schema = datafusion::arrow::datatypes::Schema::try_merge(schemas).map_err(|e| {
        let names: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
        datafusion::error::DataFusionError::Plan(format!(
            "{} do not share a schema: {e}",
            names.join(" and ")
        ))
    })?;
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(Arc::new(schema));
    Ok(Arc::new(ListingTable::try_new(config)?))
}

/// Runs one SQL statement and streams its result.
///
/// # Errors
/// The query does not plan or fails to start.
pub async fn query(
    ctx: &SessionContext,
    sql: &str,
) -> Result<SendableRecordBatchStream, EngineError> {
    let df = ctx.sql(sql).await?;
    Ok(df.execute_stream().await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Decimal128Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use futures::TryStreamExt;

    fn write_stream(root: &Path, name: &str) {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new(
            "amount",
            DataType::Decimal128(18, 2),
            true,
        )]));
        let arr = Decimal128Array::from(vec![10i128, 20])
            .with_precision_and_scale(18, 2)
            .unwrap();
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(arr)]).unwrap();
        let f = std::fs::File::create(dir.join("part-0.parquet")).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f, schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    #[tokio::test]
    async fn a_stream_in_several_folders_is_one_table_of_all_their_rows() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write_stream(a.path(), "invoices");
        write_stream(b.path(), "invoices");
        write_stream(b.path(), "sales.orders");
        let (ctx, tables) = open_many(&[a.path().to_owned(), b.path().to_owned()])
            .await
            .unwrap();
        assert_eq!(tables.len(), 2);
        let batches: Vec<RecordBatch> =
            query(&ctx, "SELECT SUM(amount) AS s, COUNT(*) AS n FROM invoices")
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        assert!(text.contains("0.60") && text.contains("| 4 "), "{text}");
    }

    #[tokio::test]
    async fn schema_qualified_and_bare_names_resolve() {
        let dir = tempfile::tempdir().unwrap();
        write_stream(dir.path(), "sales.orders");
        write_stream(dir.path(), "invoices");
        std::fs::create_dir_all(dir.path().join("_ferry")).unwrap();
        let (ctx, tables) = open(dir.path()).await.unwrap();
        assert_eq!(tables.len(), 2);
        for sql in [
            "SELECT SUM(amount) AS s FROM sales.orders",
            "SELECT SUM(amount) AS s FROM orders",
            "SELECT SUM(amount) AS s FROM invoices",
        ] {
            let batches: Vec<RecordBatch> =
                query(&ctx, sql).await.unwrap().try_collect().await.unwrap();
            let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                .unwrap()
                .to_string();
            assert!(text.contains("0.30"), "{sql}: {text}");
        }
    }
}
