//! The `mysql` source: one stream per base table of the database named in the URL,
//! named `database.table`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use arrow::datatypes::{Field, Schema, SchemaRef};
use async_trait::async_trait;
use ferry_core::source::{Catalog, EventStream, ReadOptions};
use ferry_core::{Error, Result, Source, StreamSpec};
use mysql_async::prelude::Queryable;
use tokio::sync::OnceCell;

use crate::config::Settings;
use crate::error::remote;
use crate::snapshot::{Snapshot, connect};
use crate::types::{ColumnInfo, Kind};

/// What discovery learnt about one table.
#[derive(Debug, Clone)]
pub struct Table {
    /// The database.
    pub database: String,
    /// The table.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<ColumnInfo>,
    /// How each column is read.
    pub kinds: Vec<Kind>,
    /// Positions of the primary-key columns, in key order.
    pub primary_key: Vec<usize>,
    /// The Arrow schema.
    pub schema: SchemaRef,
    /// `information_schema.TABLES.TABLE_ROWS` (an estimate for InnoDB).
    pub row_estimate: Option<u64>,
}

impl Table {
    /// The stream name, `database.table`.
    pub fn stream_name(&self) -> String {
        format!("{}.{}", self.database, self.name)
    }

    /// `` `database`.`table` `` for SQL.
    pub fn quoted(&self) -> String {
        format!(
            "{}.{}",
            crate::types::quote_ident(&self.database),
            crate::types::quote_ident(&self.name)
        )
    }

    fn spec(&self) -> StreamSpec {
        let mut spec = StreamSpec::new(self.stream_name(), self.schema.clone());
        spec.primary_key = self
            .primary_key
            .iter()
            .map(|&i| self.columns[i].name.clone())
            .collect();
        spec.row_estimate = self.row_estimate;
        spec.row_count_exact = false;
        spec
    }
}

/// Reads the tables of a MySQL or MariaDB database.
#[derive(Debug)]
pub struct MysqlSource {
    pub(crate) settings: Arc<Settings>,
    tables: Mutex<BTreeMap<String, Arc<Table>>>,
    snapshot: OnceCell<Arc<Snapshot>>,
}

impl MysqlSource {
    /// A source for `settings`; nothing is contacted until `discover` or `read`.
    pub fn new(settings: Settings) -> Self {
        MysqlSource {
            settings: Arc::new(settings),
            tables: Mutex::new(BTreeMap::new()),
            snapshot: OnceCell::new(),
        }
    }

    /// The snapshot shared by every read of this source, opened on first use.
    pub(crate) async fn snapshot(&self) -> Result<Arc<Snapshot>> {
        self.snapshot
            .get_or_try_init(|| Snapshot::open(&self.settings))
            .await
            .cloned()
    }

    async fn discover_tables(&self) -> Result<(Vec<Table>, String)> {
        let s = &self.settings;
        let mut conn = connect(s, "connect").await?;
        let db = s.database.clone();
        let err = |e| remote(s, "information_schema", e);
        let version: Option<String> = conn.query_first("SELECT VERSION()").await.map_err(err)?;
        let tables: Vec<(String, Option<u64>)> = conn
            .exec(
                "SELECT TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') \
                 ORDER BY TABLE_NAME",
                (db.clone(),),
            )
            .await
            .map_err(err)?;
        type ColumnRow = (
            String,
            String,
            String,
            String,
            Option<u64>,
            Option<u64>,
            String,
        );
        let columns: Vec<ColumnRow> = conn
            .exec(
                "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, NUMERIC_PRECISION, \
                 NUMERIC_SCALE, IS_NULLABLE FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION",
                (db.clone(),),
            )
            .await
            .map_err(err)?;
        let keys: Vec<(String, String)> = conn
            .exec(
                "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.STATISTICS \
                 WHERE TABLE_SCHEMA = ? AND INDEX_NAME = 'PRIMARY' \
                 ORDER BY TABLE_NAME, SEQ_IN_INDEX",
                (db.clone(),),
            )
            .await
            .map_err(err)?;
        // Closing is best effort: discovery already has what it needs.
        let _ = conn.disconnect().await;

        let mut by_table: BTreeMap<String, Vec<ColumnInfo>> = BTreeMap::new();
        for (table, name, data_type, column_type, precision, scale, nullable) in columns {
            by_table.entry(table).or_default().push(ColumnInfo {
                name,
                data_type,
                column_type,
                precision,
                scale,
                nullable: nullable == "YES",
            });
        }
        let mut out = Vec::new();
        for (name, rows) in tables {
            let columns = by_table.remove(&name).unwrap_or_default();
            let kinds: Vec<Kind> = columns.iter().map(Kind::of).collect();
            for (c, k) in columns.iter().zip(&kinds) {
                if *k == Kind::Other {
                    tracing::warn!(
                        table = %name,
                        column = %c.name,
                        r#type = %c.column_type,
                        "Column type has no exact Arrow equivalent; reading it as text."
                    );
                }
            }
            let primary_key = keys
                .iter()
                .filter(|(t, _)| *t == name)
                .filter_map(|(_, col)| columns.iter().position(|c| c.name == *col))
                .collect();
            let schema = Arc::new(Schema::new(
                columns
                    .iter()
                    .zip(&kinds)
                    .map(|(c, k)| {
                        Field::new(&c.name, k.data_type(), c.nullable || k.may_null_anyway())
                    })
                    .collect::<Vec<_>>(),
            ));
            out.push(Table {
                database: db.clone(),
                name,
                columns,
                kinds,
                primary_key,
                schema,
                row_estimate: rows,
            });
        }
        Ok((out, version.unwrap_or_default()))
    }

    /// The table behind a stream, discovering again when it is not known yet.
    pub(crate) async fn table(&self, stream: &str) -> Result<Arc<Table>> {
        let known = self.tables.lock().ok().and_then(|t| t.get(stream).cloned());
        if let Some(t) = known {
            return Ok(t);
        }
        self.discover().await?;
        let tables = self
            .tables
            .lock()
            .map_err(|_| Error::config(&self.settings.display, "table list poisoned"))?;
        tables
            .get(stream)
            .cloned()
            .ok_or_else(|| Error::StreamNotFound {
                pattern: stream.to_owned(),
                available: tables
                    .keys()
                    .take(12)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

#[async_trait]
impl Source for MysqlSource {
    fn describe(&self) -> String {
        self.settings.display.clone()
    }

    async fn discover(&self) -> Result<Catalog> {
        let (tables, version) = self.discover_tables().await?;
        let streams = tables.iter().map(Table::spec).collect();
        if let Ok(mut known) = self.tables.lock() {
            known.clear();
            known.extend(tables.into_iter().map(|t| (t.stream_name(), Arc::new(t))));
        }
        let mut metadata = serde_json::Map::new();
        metadata.insert("server_version".into(), version.into());
        metadata.insert("database".into(), self.settings.database.clone().into());
        Ok(Catalog { streams, metadata })
    }

    async fn read(&self, stream: &StreamSpec, options: ReadOptions) -> Result<EventStream> {
        let table = self.table(&stream.name).await?;
        let snapshot = self.snapshot().await?;
        crate::read::read(
            self.settings.clone(),
            snapshot,
            table,
            stream.cursor_field.clone(),
            options,
        )
        .await
    }
}
