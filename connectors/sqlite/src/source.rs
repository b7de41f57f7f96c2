//! The `sqlite` source: discovery of the tables and views of the file, and the glue
//! between the async [`Source`] trait and the blocking SQLite library.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use arrow::datatypes::{Field, Schema, SchemaRef};
use async_trait::async_trait;
use ferry_core::source::{Catalog, EventStream, ReadOptions};
use ferry_core::{Error, Result, Source, StreamSpec};
use rusqlite::{Connection, OpenFlags};

use crate::config::{Settings, check_file};
use crate::error::sqlite_error;
use crate::types::Kind;

/// How long a read waits for another process's lock (a writer committing in
/// rollback-journal mode) before failing.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// One column of a table or view.
#[derive(Debug, Clone)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// The declared type, as written in the schema (may be empty).
    pub declared: String,
    /// How it is read.
    pub kind: Kind,
    /// Whether NULL may occur (no `NOT NULL` constraint).
    pub nullable: bool,
}

/// How the rows of a relation are ordered, which decides whether it can resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Order {
    /// A rowid table, read by rowid through this alias (`rowid`, `_rowid_` or `oid`,
    /// whichever no column hides).
    Rowid(String),
    /// A `WITHOUT ROWID` table, read in primary-key order.
    Key,
    /// A view (or a table whose rowid is hidden), read in its own order.
    Natural,
}

/// What discovery learnt about one table or view.
#[derive(Debug, Clone)]
pub struct Table {
    /// The name, also the stream name.
    pub name: String,
    /// Whether it is a view.
    pub view: bool,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Positions of the primary-key columns, in key order.
    pub primary_key: Vec<usize>,
    /// How rows are ordered.
    pub order: Order,
    /// The Arrow schema.
    pub schema: SchemaRef,
    /// `SELECT count(*)` at discovery.
    pub rows: u64,
}

impl Table {
    /// `"name"` quoted for SQL.
    pub fn quoted(&self) -> String {
        quote_ident(&self.name)
    }

    fn spec(&self) -> StreamSpec {
        let mut spec = StreamSpec::new(&self.name, self.schema.clone());
        spec.primary_key = self
            .primary_key
            .iter()
            .map(|&i| self.columns[i].name.clone())
            .collect();
        spec.row_estimate = Some(self.rows);
        spec.row_count_exact = true;
        spec
    }
}

/// `"ident"` with inner quotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Opens the database read-only, checking first that it is one.
///
/// # Errors
/// Missing file, not a SQLite file, or SQLite refuses to open it.
pub fn open(path: &Path) -> Result<Connection> {
    check_file(path)?;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| sqlite_error(path, None, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| sqlite_error(path, None, e))?;
    Ok(conn)
}

/// Reads the tables and views of a SQLite database file.
#[derive(Debug)]
pub struct SqliteSource {
    pub(crate) settings: Arc<Settings>,
    tables: Mutex<BTreeMap<String, Arc<Table>>>,
}

impl SqliteSource {
    /// A source for `settings`; the file is opened by `discover` and each `read`.
    pub fn new(settings: Settings) -> Self {
        SqliteSource {
            settings: Arc::new(settings),
            tables: Mutex::new(BTreeMap::new()),
        }
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

/// Lists the tables and views of the file with their columns, keys and row counts.
///
/// # Errors
/// The file cannot be opened or read.
pub fn discover_tables(path: &Path) -> Result<(Vec<Table>, String)> {
    let conn = open(path)?;
    let err = |e| sqlite_error(path, None, e);
    let version: String = conn
        .query_row("SELECT sqlite_version()", [], |r| r.get(0))
        .map_err(err)?;
    let mut stmt = conn
        .prepare(
            "SELECT name, type FROM sqlite_master \
             WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             ORDER BY name",
        )
        .map_err(err)?;
    let relations: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(err)?;
    let mut tables = Vec::new();
    for (name, kind) in relations {
        match describe_table(&conn, &name, kind == "view") {
            Ok(t) => tables.push(t),
            // A virtual table whose module this build lacks cannot be read at all:
            // say so and go on with the others.
            Err(e) if e.to_string().contains("no such module") => {
                tracing::warn!(
                    table = %name,
                    error = %e,
                    "Virtual table skipped: its module is not available."
                );
            }
            Err(e) => return Err(sqlite_error(path, Some(&name), e)),
        }
    }
    Ok((tables, version))
}

fn describe_table(conn: &Connection, name: &str, view: bool) -> rusqlite::Result<Table> {
    // table_xinfo also lists generated columns (hidden 2 and 3); hidden 1 are the
    // hidden columns of virtual tables, not data.
    let mut stmt = conn.prepare(
        "SELECT name, type, \"notnull\", pk FROM pragma_table_xinfo(?1) \
         WHERE hidden IN (0, 2, 3) ORDER BY cid",
    )?;
    let rows: Vec<(String, String, bool, i64)> = stmt
        .query_map([name], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                r.get(2)?,
                r.get(3)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut keyed: Vec<(i64, usize)> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.3 > 0)
        .map(|(i, r)| (r.3, i))
        .collect();
    keyed.sort_unstable();
    let primary_key: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    let columns: Vec<Column> = rows
        .into_iter()
        .map(|(col, declared, notnull, _)| {
            let kind = Kind::of(&declared);
            if kind == Kind::Other {
                tracing::warn!(
                    table = %name,
                    column = %col,
                    r#type = %declared,
                    "Declared type has no exact Arrow equivalent; reading it as text."
                );
            }
            Column {
                name: col,
                declared,
                kind,
                nullable: !notnull || view,
            }
        })
        .collect();
    let order = if view {
        Order::Natural
    } else {
        rowid_alias(conn, name, &columns)?.map_or_else(
            || {
                if primary_key.is_empty() {
                    Order::Natural
                } else {
                    Order::Key
                }
            },
            Order::Rowid,
        )
    };
    let quoted = quote_ident(name);
    let rows: i64 = conn.query_row(&format!("SELECT count(*) FROM {quoted}"), [], |r| r.get(0))?;
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(&c.name, c.kind.data_type(), c.nullable))
            .collect::<Vec<_>>(),
    ));
    Ok(Table {
        name: name.to_owned(),
        view,
        columns,
        primary_key,
        order,
        schema,
        rows: u64::try_from(rows).unwrap_or(0),
    })
}

/// The name by which a table's rowid can be selected, `None` for a `WITHOUT ROWID`
/// table (or one whose columns hide every alias). Asking SQLite to prepare
/// `SELECT alias` is the test: it fails exactly when the table has no rowid.
fn rowid_alias(
    conn: &Connection,
    table: &str,
    columns: &[Column],
) -> rusqlite::Result<Option<String>> {
    for alias in ["rowid", "_rowid_", "oid"] {
        if columns.iter().any(|c| c.name.eq_ignore_ascii_case(alias)) {
            continue;
        }
        let sql = format!("SELECT {alias} FROM {} LIMIT 0", quote_ident(table));
        return match conn.prepare(&sql) {
            Ok(_) => Ok(Some(alias.to_owned())),
            Err(e) if e.to_string().contains("no such column") => Ok(None),
            Err(e) => Err(e),
        };
    }
    Ok(None)
}

#[async_trait]
impl Source for SqliteSource {
    fn describe(&self) -> String {
        self.settings.display.clone()
    }

    async fn discover(&self) -> Result<Catalog> {
        let path = self.settings.path.clone();
        let (tables, version) = tokio::task::spawn_blocking(move || discover_tables(&path))
            .await
            .map_err(|e| Error::external(format!("discovering {}", self.settings.display), e))??;
        let all: Vec<StreamSpec> = tables.iter().map(Table::spec).collect();
        let streams = self.settings.tables.apply(all)?;
        if let Ok(mut known) = self.tables.lock() {
            known.clear();
            known.extend(
                tables
                    .into_iter()
                    .filter(|t| streams.iter().any(|s| s.name == t.name))
                    .map(|t| (t.name.clone(), Arc::new(t))),
            );
        }
        let mut metadata = serde_json::Map::new();
        metadata.insert("sqlite_version".into(), version.into());
        metadata.insert(
            "file".into(),
            self.settings.path.display().to_string().into(),
        );
        Ok(Catalog { streams, metadata })
    }

    async fn read(&self, stream: &StreamSpec, options: ReadOptions) -> Result<EventStream> {
        let table = self.table(&stream.name).await?;
        crate::read::read(
            self.settings.clone(),
            table,
            stream.cursor_field.clone(),
            options,
        )
    }
}
