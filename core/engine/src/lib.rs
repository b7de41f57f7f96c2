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
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};

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

/// A DataFusion session with every stream of `data` registered.
///
/// # Errors
/// Unreadable folder, no table, or a folder DataFusion cannot read as Parquet.
pub async fn open(data: &Path) -> Result<(SessionContext, Vec<TableEntry>), EngineError> {
    let mut tables = list_tables(data)?;
    if tables.is_empty() {
        return Err(EngineError::NoTables(data.to_owned()));
    }
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
        let path = format!("{}/", t.path.display());
        let options = ParquetReadOptions::default().file_extension(".parquet");
        match t.stream.split_once('.') {
            Some((schema, table)) if !table.contains('.') => {
                if catalog.schema(schema).is_none() {
                    catalog.register_schema(
                        schema,
                        Arc::new(MemorySchemaProvider::new()) as Arc<dyn SchemaProvider>,
                    )?;
                }
                ctx.register_parquet(
                    TableReference::partial(schema, table),
                    &path,
                    options.clone(),
                )
                .await?;
                t.sql_name = format!("{schema}.{table}");
                // Also reachable by its bare name when no other stream shares it.
                if schema != "public"
                    && short_count(table, &snapshot) == 1
                    && !snapshot.iter().any(|o| o.stream == table)
                {
                    ctx.register_parquet(TableReference::bare(table), &path, options)
                        .await?;
                }
            }
            _ => {
                ctx.register_parquet(TableReference::bare(t.stream.as_str()), &path, options)
                    .await?;
                if t.stream.contains('.') {
                    t.sql_name = format!("\"{}\"", t.stream);
                }
            }
        }
    }
    Ok((ctx, tables))
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
