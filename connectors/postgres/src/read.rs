//! Reading tables: one consistent snapshot, parallel key-range partitions, checkpoints
//! within a table, and incremental reads on a cursor column.
//!
//! **Snapshot.** The first read of a source opens a connection that starts a
//! `REPEATABLE READ` transaction and exports its snapshot (`pg_export_snapshot()`); it stays
//! open as long as the source. Every worker of every stream imports it
//! (`SET TRANSACTION SNAPSHOT`), so all tables are read as of one instant and a live ERP's
//! orders and their lines never disagree. A snapshot cannot outlive the process: a run
//! resumed after a crash reads the remaining key ranges from a newer snapshot.
//!
//! **Partitions.** A table whose primary key is one integer column and whose estimate is
//! at least `partition_min_rows` is split into `partitions` equal key ranges between
//! `MIN` and `MAX` (as of the snapshot); each is read by its own connection with
//! `COPY (SELECT … WHERE key range ORDER BY key) TO STDOUT (FORMAT binary)`. Batches of all
//! partitions are merged into the stream; the sink writes them as part files of it.
//!
//! **Checkpoints.** Rows come in key order within each partition, so a checkpoint records,
//! per partition, the last key emitted (`{"partitions":[{"lo":1,"hi":5000,"after":[4211],
//! "done":false}]}`). One is emitted every `checkpoint_rows` rows or `checkpoint_secs`
//! seconds and at the end. A resumed read continues strictly after each partition's key.
//! Tables without a primary key of integer, text or uuid columns are read in one piece and
//! restart from the beginning when interrupted.
//!
//! **Incremental.** With a cursor column (`--cursor public.sale_order=write_date`) the last
//! checkpoint also holds the highest cursor value seen and the keys of the rows that had
//! it (`"cursor":{"column":"write_date","max":…,"seen":[[17]]}`). The next run reads rows
//! whose cursor is at or after that value and drops those already seen by primary key.
//! Rows whose cursor is NULL are only read by full reads.
//!
//! **Faults.** A worker whose connection is lost (server restart, `pg_terminate_backend`)
//! reconnects, imports the snapshot again and continues after its last key, up to three
//! times. If the snapshot's own connection is lost the read fails with a transient error;
//! rerunning resumes from the last checkpoint.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type, TimeUnit};
use async_trait::async_trait;
use ferry_core::source::{Catalog, Checkpoint, EventStream, ReadOptions, SourceEvent};
use ferry_core::{Error, Location, Result, Source, StreamSpec};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_postgres::{Client, NoTls};

use crate::catalog::{self, Table, quote_ident};
use crate::config::{PostgresConfig, Settings};
use crate::types::{ColumnBuilder, PgKind};

/// Reads a PostgreSQL database.
#[derive(Debug)]
pub struct PostgresSource {
    settings: Arc<Settings>,
    tables: std::sync::Mutex<Vec<Table>>,
    snapshot: tokio::sync::Mutex<Option<Arc<Snapshot>>>,
}

/// The open transaction whose snapshot every worker imports.
#[derive(Debug)]
struct Snapshot {
    client: Client,
    id: String,
}

impl PostgresSource {
    /// A source for `config`. Does not connect yet.
    ///
    /// # Errors
    /// The URL or an option is invalid, or the password file cannot be read.
    pub fn new(config: PostgresConfig) -> Result<Self> {
        Ok(PostgresSource {
            settings: Arc::new(Settings::resolve(&config)?),
            tables: std::sync::Mutex::new(Vec::new()),
            snapshot: tokio::sync::Mutex::new(None),
        })
    }

    async fn table(&self, name: &str) -> Result<Table> {
        let cached = self
            .tables
            .lock()
            .ok()
            .and_then(|t| t.iter().find(|t| t.spec.name == name).cloned());
        if let Some(t) = cached {
            return Ok(t);
        }
        self.discover().await?;
        let tables = self.tables.lock().map(|t| t.clone()).unwrap_or_default();
        tables
            .iter()
            .find(|t| t.spec.name == name)
            .cloned()
            .ok_or_else(|| Error::StreamNotFound {
                pattern: name.to_owned(),
                available: tables
                    .iter()
                    .take(12)
                    .map(|t| t.spec.name.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The source's snapshot, exported on first use.
    async fn snapshot(&self) -> Result<Arc<Snapshot>> {
        let mut guard = self.snapshot.lock().await;
        if let Some(s) = guard.as_ref() {
            if !s.client.is_closed() {
                return Ok(s.clone());
            }
            return Err(Error::Remote {
                system: self.settings.system(),
                endpoint: "snapshot".into(),
                message: "the connection holding the consistent snapshot was lost; run again to resume with a new snapshot".into(),
                transient: true,
            });
        }
        let client = connect(&self.settings).await?;
        let err = |e: tokio_postgres::Error| self.settings.remote_error("snapshot", &e);
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(err)?;
        let row = client
            .query_one("SELECT pg_export_snapshot()", &[])
            .await
            .map_err(err)?;
        let snapshot = Arc::new(Snapshot {
            client,
            id: row.get(0),
        });
        tracing::info!(snapshot = snapshot.id, "Exported a consistent snapshot.");
        *guard = Some(snapshot.clone());
        Ok(snapshot)
    }
}

/// Connects, naming the server in the error.
async fn connect(settings: &Settings) -> Result<Client> {
    let (client, connection) = settings
        .pg
        .connect(NoTls)
        .await
        .map_err(|e| settings.remote_error("connect", &e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "Connection closed.");
        }
    });
    Ok(client)
}

/// Opens a worker connection inside the shared snapshot.
async fn connect_in_snapshot(
    settings: &Settings,
    snapshot: &Snapshot,
    endpoint: &str,
) -> Result<Client> {
    if snapshot.client.is_closed() {
        return Err(Error::Remote {
            system: settings.system(),
            endpoint: endpoint.to_owned(),
            message: "the connection holding the consistent snapshot was lost; run again to resume with a new snapshot".into(),
            transient: true,
        });
    }
    let client = connect(settings).await?;
    client
        .batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
             SET TRANSACTION SNAPSHOT {}; SET LOCAL intervalstyle = 'iso_8601'",
            quote_literal(&snapshot.id)
        ))
        .await
        .map_err(|e| settings.remote_error(endpoint, &e))?;
    Ok(client)
}

/// Quotes a string as an SQL literal (standard_conforming_strings is on since 9.1).
fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[async_trait]
impl Source for PostgresSource {
    fn describe(&self) -> String {
        format!("postgres {}", self.settings.redacted_url)
    }

    async fn discover(&self) -> Result<Catalog> {
        let client = connect(&self.settings).await?;
        let tables = catalog::discover(&client, &self.settings).await?;
        let version = client
            .query_one("SHOW server_version", &[])
            .await
            .map_err(|e| self.settings.remote_error("catalog", &e))?;
        let mut metadata = serde_json::Map::new();
        metadata.insert(
            "server_version".into(),
            Value::String(version.get::<_, String>(0)),
        );
        let streams = tables.iter().map(|t| t.spec.clone()).collect();
        if let Ok(mut cache) = self.tables.lock() {
            *cache = tables;
        }
        Ok(Catalog { streams, metadata })
    }

    async fn read(&self, stream: &StreamSpec, options: ReadOptions) -> Result<EventStream> {
        let table = self.table(&stream.name).await?;
        let plan = Plan::new(&table, stream, &options, &self.settings)?;
        let snapshot = self.snapshot().await?;
        let partitions = match &options.resume {
            Some(cp) => parse_partitions(cp, &stream.name)?,
            // An incremental read fetches the few rows changed since: one query, which
            // PostgreSQL answers from an index on the cursor column if there is one
            // (each key range would otherwise repeat that index scan).
            None if options.since.is_some() => vec![Partition::whole()],
            None => plan_partitions(&self.settings, &snapshot, &table, &plan, stream).await?,
        };
        let cursor = match (&options.resume, &options.since) {
            (Some(cp), _) => CursorState::from_checkpoint(cp, &plan)?,
            (None, Some(cp)) => CursorState::from_checkpoint(cp, &plan)?,
            _ => plan.cursor.as_ref().map(|c| CursorState {
                column: c.name.clone(),
                max: None,
                seen: Vec::new(),
            }),
        };
        let since = match &options.since {
            Some(cp) => CursorState::from_checkpoint(cp, &plan)?,
            None => None,
        };
        if let (Some(_), Some(c)) = (&since, &plan.cursor) {
            warn_unindexed_cursor(&snapshot.client, &table, &c.name).await;
        }
        let (tx, rx) = mpsc::channel::<Result<SourceEvent>>(1);
        let ctx = Arc::new(ReadContext {
            settings: self.settings.clone(),
            snapshot,
            table,
            plan,
            since_max: since.as_ref().and_then(|s| s.max),
        });
        tokio::spawn(coordinate(ctx, partitions, cursor, since, tx));
        Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|ev| (ev, rx))
        })))
    }
}

/// An incremental read filters on the cursor column. Without an index leading with
/// it, PostgreSQL scans the whole table to find the few changed rows, on every run
/// (Odoo, for one, indexes no `write_date`): say so, once per read.
async fn warn_unindexed_cursor(client: &Client, table: &Table, column: &str) {
    let sql = "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a \
               ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
               WHERE i.indrelid = to_regclass($1) AND a.attname = $2)";
    if let Ok(row) = client.query_one(sql, &[&table.quoted(), &column]).await
        && !row.get::<_, bool>(0)
    {
        tracing::warn!(
            stream = %table.spec.name,
            cursor = column,
            "No index leads with the cursor column: each incremental read scans the \
             whole table. `CREATE INDEX ON {} ({})` makes it read only what changed.",
            table.quoted(),
            quote_ident(column)
        );
    }
}

/// What a read of one table needs, decided before it starts.
#[derive(Debug)]
struct Plan {
    /// Primary-key column positions, when keyset reads (ordering, checkpoints) are possible.
    keyset: Option<Vec<usize>>,
    /// The cursor column, when incremental.
    cursor: Option<CursorColumn>,
    stream: String,
}

#[derive(Debug)]
struct CursorColumn {
    name: String,
    index: usize,
    data_type: DataType,
}

impl Plan {
    fn new(table: &Table, spec: &StreamSpec, options: &ReadOptions, _s: &Settings) -> Result<Plan> {
        let position = |name: &str| table.columns.iter().position(|c| c.name == name);
        let keyset = if table.primary_key.is_empty() {
            None
        } else {
            let idx: Option<Vec<usize>> = table.primary_key.iter().map(|k| position(k)).collect();
            idx.filter(|idx| {
                idx.iter().all(|&i| {
                    matches!(
                        table.columns[i].kind,
                        PgKind::Int2 | PgKind::Int4 | PgKind::Int8 | PgKind::Text | PgKind::Uuid
                    )
                })
            })
        };
        let cursor = match &spec.cursor_field {
            None => None,
            Some(name) => {
                let index = position(name).ok_or_else(|| {
                    Error::config(
                        "--cursor",
                        format!("stream {} has no column {name:?}", spec.name),
                    )
                })?;
                let kind = &table.columns[index].kind;
                if !matches!(
                    kind,
                    PgKind::Int2
                        | PgKind::Int4
                        | PgKind::Int8
                        | PgKind::Date
                        | PgKind::Timestamp
                        | PgKind::TimestampTz
                ) {
                    return Err(Error::config(
                        "--cursor",
                        format!(
                            "column {name:?} of {} is {}; a cursor must be an integer, date or timestamp column",
                            spec.name, table.columns[index].pg_type
                        ),
                    ));
                }
                Some(CursorColumn {
                    name: name.clone(),
                    index,
                    data_type: kind.arrow_type(),
                })
            }
        };
        if options.since.is_some() && cursor.is_none() {
            tracing::debug!(
                stream = spec.name,
                "A high-water mark without a cursor is ignored."
            );
        }
        Ok(Plan {
            keyset,
            cursor,
            stream: spec.name.clone(),
        })
    }
}

/// One key range of a table and how far it has been read.
#[derive(Debug, Clone, PartialEq)]
struct Partition {
    lo: Option<i64>,
    hi: Option<i64>,
    after: Option<Vec<Value>>,
    done: bool,
}

impl Partition {
    /// The whole table, not yet read.
    fn whole() -> Partition {
        Partition {
            lo: None,
            hi: None,
            after: None,
            done: false,
        }
    }
}

fn parse_partitions(cp: &Checkpoint, stream: &str) -> Result<Vec<Partition>> {
    let bad = || {
        Error::data(
            Location::file(stream),
            format!("resume checkpoint {} is not one this source wrote", cp.0),
        )
    };
    let parts =
        cp.0.get("partitions")
            .and_then(Value::as_array)
            .ok_or_else(bad)?;
    parts
        .iter()
        .map(|p| {
            Ok(Partition {
                lo: p.get("lo").and_then(Value::as_i64),
                hi: p.get("hi").and_then(Value::as_i64),
                after: match p.get("after") {
                    None | Some(Value::Null) => None,
                    Some(Value::Array(a)) => Some(a.clone()),
                    Some(_) => return Err(bad()),
                },
                done: p.get("done").and_then(Value::as_bool).ok_or_else(bad)?,
            })
        })
        .collect()
}

/// Splits a table into key ranges, or one range when it is small or not splittable.
async fn plan_partitions(
    settings: &Settings,
    snapshot: &Snapshot,
    table: &Table,
    plan: &Plan,
    spec: &StreamSpec,
) -> Result<Vec<Partition>> {
    let whole = vec![Partition::whole()];
    let Some(keys) = &plan.keyset else {
        return Ok(whole);
    };
    let splittable = keys.len() == 1
        && matches!(
            table.columns[keys[0]].kind,
            PgKind::Int2 | PgKind::Int4 | PgKind::Int8
        );
    let big = spec.row_estimate.unwrap_or(0) >= settings.partition_min_rows;
    if !splittable || !big || settings.partitions < 2 {
        return Ok(whole);
    }
    let client = connect_in_snapshot(settings, snapshot, &table.spec.name).await?;
    let key = quote_ident(&table.columns[keys[0]].name);
    let row = client
        .query_one(
            &format!(
                "SELECT min({key})::int8, max({key})::int8 FROM {}",
                table.quoted()
            ),
            &[],
        )
        .await
        .map_err(|e| settings.remote_error(&table.spec.name, &e))?;
    let (Some(min), Some(max)) = (row.get::<_, Option<i64>>(0), row.get::<_, Option<i64>>(1))
    else {
        return Ok(whole);
    };
    let n = settings.partitions as i128;
    let span = i128::from(max) - i128::from(min) + 1;
    let mut parts = Vec::new();
    for i in 0..n {
        let lo = i128::from(min) + span * i / n;
        let hi = i128::from(min) + span * (i + 1) / n - 1;
        if hi < lo {
            continue;
        }
        parts.push(Partition {
            // The outer ranges are open so rows added after the snapshot are not lost
            // by a resumed run.
            lo: (i > 0).then_some(lo as i64),
            hi: (i < n - 1).then_some(hi as i64),
            after: None,
            done: false,
        });
    }
    if let Some(last) = parts.last_mut() {
        last.hi = None;
    }
    tracing::info!(
        stream = spec.name,
        partitions = parts.len(),
        min,
        max,
        "Partitioned read."
    );
    Ok(parts)
}

/// The highest cursor value seen and the keys of the rows that had it.
#[derive(Debug, Clone)]
struct CursorState {
    column: String,
    max: Option<i64>,
    seen: Vec<Value>,
}

impl CursorState {
    fn from_checkpoint(cp: &Checkpoint, plan: &Plan) -> Result<Option<CursorState>> {
        let Some(column) = &plan.cursor else {
            return Ok(None);
        };
        let Some(c) = cp.0.get("cursor") else {
            return Ok(Some(CursorState {
                column: column.name.clone(),
                max: None,
                seen: Vec::new(),
            }));
        };
        let kept = c.get("column").and_then(Value::as_str).unwrap_or("");
        if kept != column.name {
            return Err(Error::config(
                "--cursor",
                format!(
                    "stream {}: the last run kept a high-water mark on {kept:?}, not {:?}; use --full-refresh to start over",
                    plan.stream, column.name
                ),
            ));
        }
        Ok(Some(CursorState {
            column: column.name.clone(),
            max: c.get("max").and_then(Value::as_i64),
            seen: c
                .get("seen")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        }))
    }

    fn to_json(&self) -> Value {
        json!({"column": self.column, "max": self.max, "seen": self.seen})
    }
}

/// The SQL literal of a cursor value held as Arrow's integer representation.
fn cursor_literal(value: i64, data_type: &DataType) -> Result<String> {
    let out_of_range = || {
        Error::data(
            Location::default(),
            format!("cursor value {value} out of range"),
        )
    };
    Ok(match data_type {
        DataType::Date32 => {
            let d = chrono::DateTime::from_timestamp(i64::from(value as i32) * 86_400, 0)
                .ok_or_else(out_of_range)?;
            format!("'{}'::date", d.format("%Y-%m-%d"))
        }
        DataType::Timestamp(TimeUnit::Microsecond, tz) => {
            let t = chrono::DateTime::from_timestamp_micros(value).ok_or_else(out_of_range)?;
            let text = t.format("%Y-%m-%d %H:%M:%S%.6f");
            if tz.is_some() {
                format!("'{text}+00'::timestamptz")
            } else {
                format!("'{text}'::timestamp")
            }
        }
        _ => value.to_string(),
    })
}

struct ReadContext {
    settings: Arc<Settings>,
    snapshot: Arc<Snapshot>,
    table: Table,
    plan: Plan,
    since_max: Option<i64>,
}

enum WorkerEvent {
    Batch {
        partition: usize,
        batch: RecordBatch,
        last_key: Option<Vec<Value>>,
    },
    Done {
        partition: usize,
        nulled: u64,
    },
}

/// Runs the workers of one table and merges their batches into one stream with
/// checkpoints valid for everything emitted before them.
async fn coordinate(
    ctx: Arc<ReadContext>,
    mut partitions: Vec<Partition>,
    mut cursor: Option<CursorState>,
    since: Option<CursorState>,
    out: mpsc::Sender<Result<SourceEvent>>,
) {
    // One batch in flight per worker: memory stays bounded by the partitions, not the table.
    let (tx, mut rx) = mpsc::channel::<Result<WorkerEvent>>(partitions.len().max(1));
    let mut workers = Vec::new();
    for (i, p) in partitions.iter().enumerate() {
        if p.done {
            continue;
        }
        let (ctx, p, tx) = (ctx.clone(), p.clone(), tx.clone());
        workers.push(tokio::spawn(async move {
            if let Err(e) = read_partition(&ctx, i, p, &tx).await {
                let _ = tx.send(Err(e)).await;
            }
        }));
    }
    drop(tx);
    let since_seen: HashSet<String> = since
        .as_ref()
        .map(|s| s.seen.iter().map(Value::to_string).collect())
        .unwrap_or_default();
    let mut rows_since = 0u64;
    let mut last_checkpoint = Instant::now();
    let mut nulled_total = 0u64;
    let mut failed = false;
    let checkpoint = |partitions: &[Partition], cursor: &Option<CursorState>| {
        let parts: Vec<Value> = partitions
            .iter()
            .map(|p| json!({"lo": p.lo, "hi": p.hi, "after": p.after, "done": p.done}))
            .collect();
        let mut cp = json!({ "partitions": parts });
        if let Some(c) = cursor {
            cp["cursor"] = c.to_json();
        }
        SourceEvent::Checkpoint(Checkpoint(cp))
    };
    while let Some(event) = rx.recv().await {
        match event {
            Err(e) => {
                let _ = out.send(Err(e)).await;
                failed = true;
                break;
            }
            Ok(WorkerEvent::Batch {
                partition,
                batch,
                last_key,
            }) => {
                let batch = match track_cursor(&ctx, batch, cursor.as_mut(), &since_seen) {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = out.send(Err(e)).await;
                        failed = true;
                        break;
                    }
                };
                rows_since += batch.num_rows() as u64;
                if out.send(Ok(SourceEvent::Batch(batch))).await.is_err() {
                    failed = true;
                    break;
                }
                partitions[partition].after = last_key;
                let due = rows_since >= ctx.settings.checkpoint_rows
                    || last_checkpoint.elapsed()
                        >= Duration::from_secs(ctx.settings.checkpoint_secs);
                if due && ctx.plan.keyset.is_some() {
                    if out
                        .send(Ok(checkpoint(&partitions, &cursor)))
                        .await
                        .is_err()
                    {
                        failed = true;
                        break;
                    }
                    rows_since = 0;
                    last_checkpoint = Instant::now();
                }
            }
            Ok(WorkerEvent::Done { partition, nulled }) => {
                partitions[partition].done = true;
                nulled_total += nulled;
            }
        }
    }
    for w in &workers {
        w.abort();
    }
    if failed {
        return;
    }
    if nulled_total > 0 {
        tracing::warn!(
            stream = ctx.plan.stream,
            values = nulled_total,
            "NaN or infinite values were read as NULL."
        );
    }
    if partitions.iter().all(|p| p.done) {
        let _ = out.send(Ok(checkpoint(&partitions, &cursor))).await;
    } else {
        let _ = out
            .send(Err(Error::Remote {
                system: ctx.settings.system(),
                endpoint: ctx.plan.stream.clone(),
                message: "a reader stopped before the end of its key range".into(),
                transient: true,
            }))
            .await;
    }
}

/// Drops rows already read by the previous run (cursor at its high-water mark and key
/// seen) and raises the running high-water mark.
fn track_cursor(
    ctx: &ReadContext,
    batch: RecordBatch,
    cursor: Option<&mut CursorState>,
    since_seen: &HashSet<String>,
) -> Result<RecordBatch> {
    let (Some(state), Some(column)) = (cursor, &ctx.plan.cursor) else {
        return Ok(batch);
    };
    let values = arrow::compute::cast(batch.column(column.index), &DataType::Int64)?;
    let values = values.as_primitive::<Int64Type>();
    let keys = ctx.plan.keyset.as_deref().unwrap_or(&[]);
    let key_at = |row: usize| -> Value {
        Value::Array(
            keys.iter()
                .map(|&k| json_value(batch.column(k), row))
                .collect(),
        )
    };
    let mut keep = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        if values.is_null(row) {
            keep.push(true);
            continue;
        }
        let v = values.value(row);
        let dup = !keys.is_empty()
            && Some(v) == ctx.since_max
            && since_seen.contains(&key_at(row).to_string());
        keep.push(!dup);
        if dup {
            continue;
        }
        match state.max {
            Some(m) if v < m => {}
            Some(m) if v == m => {
                if !keys.is_empty() {
                    state.seen.push(key_at(row));
                }
            }
            _ => {
                state.max = Some(v);
                state.seen.clear();
                if !keys.is_empty() {
                    state.seen.push(key_at(row));
                }
            }
        }
    }
    if keep.iter().all(|k| *k) {
        return Ok(batch);
    }
    Ok(arrow::compute::filter_record_batch(
        &batch,
        &BooleanArray::from(keep),
    )?)
}

/// A key value as JSON: integers as numbers, text and uuids as strings.
fn json_value(array: &ArrayRef, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Int16 => json!(
            array
                .as_primitive::<arrow::datatypes::Int16Type>()
                .value(row)
        ),
        DataType::Int32 => json!(
            array
                .as_primitive::<arrow::datatypes::Int32Type>()
                .value(row)
        ),
        DataType::Int64 => json!(array.as_primitive::<Int64Type>().value(row)),
        DataType::Utf8 => json!(array.as_string::<i32>().value(row)),
        _ => Value::Null,
    }
}

fn key_literal(v: &Value) -> String {
    match v {
        Value::String(s) => quote_literal(s),
        Value::Null => "NULL".into(),
        other => other.to_string(),
    }
}

/// The `COPY` statement for a partition from where it stands.
fn copy_statement(ctx: &ReadContext, p: &Partition) -> Result<String> {
    let table = &ctx.table;
    let select: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let q = quote_ident(&c.name);
            if c.kind.is_cast_text() {
                format!("{q}::text")
            } else {
                q
            }
        })
        .collect();
    let mut conds = Vec::new();
    if let Some(keys) = &ctx.plan.keyset {
        let cols: Vec<String> = keys
            .iter()
            .map(|&k| quote_ident(&table.columns[k].name))
            .collect();
        if let Some(lo) = p.lo {
            conds.push(format!("{} >= {lo}", cols[0]));
        }
        if let Some(hi) = p.hi {
            conds.push(format!("{} <= {hi}", cols[0]));
        }
        if let Some(after) = &p.after {
            let lits: Vec<String> = after.iter().map(key_literal).collect();
            conds.push(format!("({}) > ({})", cols.join(", "), lits.join(", ")));
        }
    }
    if let (Some(column), Some(max)) = (&ctx.plan.cursor, ctx.since_max) {
        // Without a key, rows at the high-water mark cannot be told apart: read after it.
        let op = if ctx.plan.keyset.is_some() { ">=" } else { ">" };
        conds.push(format!(
            "{} {op} {}",
            quote_ident(&column.name),
            cursor_literal(max, &column.data_type)?
        ));
    }
    let mut sql = format!("COPY (SELECT {} FROM {}", select.join(", "), table.quoted());
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    if let Some(keys) = &ctx.plan.keyset {
        let cols: Vec<String> = keys
            .iter()
            .map(|&k| quote_ident(&table.columns[k].name))
            .collect();
        sql.push_str(" ORDER BY ");
        sql.push_str(&cols.join(", "));
    }
    sql.push_str(") TO STDOUT (FORMAT binary)");
    Ok(sql)
}

/// Reads one partition, retrying lost connections from its last key.
async fn read_partition(
    ctx: &ReadContext,
    index: usize,
    mut partition: Partition,
    tx: &mpsc::Sender<Result<WorkerEvent>>,
) -> Result<()> {
    let mut attempt = 0;
    let mut nulled = 0u64;
    loop {
        match copy_partition(ctx, index, &mut partition, tx, &mut nulled).await {
            Ok(()) => {
                let _ = tx
                    .send(Ok(WorkerEvent::Done {
                        partition: index,
                        nulled,
                    }))
                    .await;
                return Ok(());
            }
            Err(e)
                if e.is_transient()
                    && attempt < 3
                    && ctx.plan.keyset.is_some()
                    && !ctx.snapshot.client.is_closed() =>
            {
                attempt += 1;
                tracing::warn!(
                    stream = ctx.plan.stream,
                    partition = index,
                    attempt,
                    error = %e,
                    "Connection lost; reconnecting and continuing after the last key."
                );
                tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// One `COPY` of a partition; updates `partition.after` as batches leave.
async fn copy_partition(
    ctx: &ReadContext,
    index: usize,
    partition: &mut Partition,
    tx: &mpsc::Sender<Result<WorkerEvent>>,
    nulled: &mut u64,
) -> Result<()> {
    let stream_name = &ctx.plan.stream;
    let client = connect_in_snapshot(&ctx.settings, &ctx.snapshot, stream_name).await?;
    let sql = copy_statement(ctx, partition)?;
    tracing::debug!(
        stream = stream_name,
        partition = index,
        sql,
        "Copy started."
    );
    let copy = client
        .copy_out(sql.as_str())
        .await
        .map_err(|e| ctx.settings.remote_error(stream_name, &e))?;
    futures::pin_mut!(copy);
    let schema = ctx.table.spec.schema.clone();
    let capacity = ctx.settings.batch_rows;
    let mut builders: Vec<ColumnBuilder> = ctx
        .table
        .columns
        .iter()
        .map(|c| ColumnBuilder::new(&c.kind, capacity))
        .collect();
    let mut parser = CopyParser::default();
    let mut rows_in_batch = 0usize;
    let mut row_number = 0u64;
    let mut byte_offset = 0u64;
    let send_batch =
        |builders: &mut Vec<ColumnBuilder>| -> Result<(RecordBatch, Option<Vec<Value>>)> {
            let columns = builders
                .iter_mut()
                .map(|b| b.finish())
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let batch = RecordBatch::try_new(schema.clone(), columns)?;
            let last_key = ctx.plan.keyset.as_ref().map(|keys| {
                keys.iter()
                    .map(|&k| json_value(batch.column(k), batch.num_rows() - 1))
                    .collect()
            });
            Ok((batch, last_key))
        };
    let mut finished = false;
    while let Some(chunk) = copy.next().await {
        let chunk = chunk.map_err(|e| ctx.settings.remote_error(stream_name, &e))?;
        let chunk_len = chunk.len() as u64;
        parser.push(&chunk);
        loop {
            let tuple = parser.next_tuple().map_err(|m| {
                Error::data(
                    Location::file(stream_name.clone()).byte(byte_offset),
                    format!("malformed COPY data: {m}"),
                )
            })?;
            let Some(tuple) = tuple else { break };
            let Some(fields) = tuple else {
                finished = true;
                break;
            };
            row_number += 1;
            if fields.len() != builders.len() {
                return Err(Error::data(
                    Location::file(stream_name.clone()).line(row_number),
                    format!(
                        "row has {} fields, expected {}",
                        fields.len(),
                        builders.len()
                    ),
                ));
            }
            for (i, (b, range)) in builders.iter_mut().zip(&fields).enumerate() {
                let value = range.clone().map(|r| &parser.buf[r]);
                match b.append(value) {
                    Ok(true) => *nulled += 1,
                    Ok(false) => {}
                    Err(m) => {
                        return Err(Error::data(
                            Location::file(format!("{} (partition {index})", stream_name))
                                .line(row_number)
                                .column(i as u64 + 1, Some(&ctx.table.columns[i].name)),
                            format!("{m} ({})", ctx.table.columns[i].pg_type),
                        ));
                    }
                }
            }
            parser.consume();
            rows_in_batch += 1;
            let bytes: usize = builders.iter().map(ColumnBuilder::bytes).sum();
            if rows_in_batch >= capacity || bytes >= 64 << 20 {
                let (batch, last_key) = send_batch(&mut builders)?;
                rows_in_batch = 0;
                partition.after = last_key.clone().or(partition.after.take());
                if tx
                    .send(Ok(WorkerEvent::Batch {
                        partition: index,
                        batch,
                        last_key,
                    }))
                    .await
                    .is_err()
                {
                    return Ok(());
                }
            }
        }
        byte_offset += chunk_len;
    }
    if !finished && parser.header_seen {
        return Err(Error::Remote {
            system: ctx.settings.system(),
            endpoint: stream_name.clone(),
            message: "COPY data ended without its trailer".into(),
            transient: true,
        });
    }
    if rows_in_batch > 0 {
        let (batch, last_key) = send_batch(&mut builders)?;
        partition.after = last_key.clone().or(partition.after.take());
        let _ = tx
            .send(Ok(WorkerEvent::Batch {
                partition: index,
                batch,
                last_key,
            }))
            .await;
    }
    Ok(())
}

/// Splits a binary COPY byte stream into tuples, across chunk boundaries.
#[derive(Debug, Default)]
struct CopyParser {
    buf: Vec<u8>,
    pos: usize,
    header_seen: bool,
    /// End of the tuple last returned, consumed by [`CopyParser::consume`].
    pending: usize,
}

const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

type Fields = Vec<Option<std::ops::Range<usize>>>;

impl CopyParser {
    fn push(&mut self, chunk: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pending -= self.pos.min(self.pending);
            self.pos = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    fn consume(&mut self) {
        self.pos = self.pending;
    }

    /// `Ok(None)`: need more bytes. `Ok(Some(None))`: the trailer. `Ok(Some(Some(fields)))`:
    /// a tuple whose field ranges index `buf`; call `consume` when done with it.
    fn next_tuple(&mut self) -> std::result::Result<Option<Option<Fields>>, String> {
        let b = &self.buf[self.pos..];
        if !self.header_seen {
            if b.len() < 19 {
                return Ok(None);
            }
            if &b[..11] != COPY_SIGNATURE {
                return Err("missing binary COPY signature".into());
            }
            let ext = u32::from_be_bytes([b[15], b[16], b[17], b[18]]) as usize;
            if b.len() < 19 + ext {
                return Ok(None);
            }
            self.pos += 19 + ext;
            self.header_seen = true;
            return self.next_tuple();
        }
        if b.len() < 2 {
            return Ok(None);
        }
        let count = i16::from_be_bytes([b[0], b[1]]);
        if count == -1 {
            self.pos += 2;
            self.pending = self.pos;
            return Ok(Some(None));
        }
        if count < 0 {
            return Err(format!("negative field count {count}"));
        }
        let mut at = 2usize;
        let mut fields = Vec::with_capacity(count as usize);
        for _ in 0..count {
            if b.len() < at + 4 {
                return Ok(None);
            }
            let len = i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
            at += 4;
            if len < 0 {
                fields.push(None);
                continue;
            }
            let len = len as usize;
            if b.len() < at + len {
                return Ok(None);
            }
            fields.push(Some(self.pos + at..self.pos + at + len));
            at += len;
        }
        self.pending = self.pos + at;
        Ok(Some(Some(fields)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy_bytes(rows: &[Vec<Option<&[u8]>>]) -> Vec<u8> {
        let mut v = COPY_SIGNATURE.to_vec();
        v.extend(0u32.to_be_bytes());
        v.extend(0u32.to_be_bytes());
        for row in rows {
            v.extend((row.len() as i16).to_be_bytes());
            for f in row {
                match f {
                    None => v.extend((-1i32).to_be_bytes()),
                    Some(b) => {
                        v.extend((b.len() as i32).to_be_bytes());
                        v.extend(*b);
                    }
                }
            }
        }
        v.extend((-1i16).to_be_bytes());
        v
    }

    #[test]
    fn copy_parser_handles_any_chunking() {
        let rows = vec![
            vec![Some(&b"abc"[..]), None],
            vec![Some(&b""[..]), Some(&b"\x00\x01"[..])],
        ];
        let bytes = copy_bytes(&rows);
        for chunk in [1usize, 2, 3, 7, bytes.len()] {
            let mut p = CopyParser::default();
            let mut got: Vec<Vec<Option<Vec<u8>>>> = Vec::new();
            let mut trailer = false;
            for c in bytes.chunks(chunk) {
                p.push(c);
                while let Some(t) = p.next_tuple().unwrap() {
                    match t {
                        None => trailer = true,
                        Some(fields) => {
                            got.push(
                                fields
                                    .into_iter()
                                    .map(|r| r.map(|r| p.buf[r].to_vec()))
                                    .collect(),
                            );
                            p.consume();
                        }
                    }
                    if trailer {
                        break;
                    }
                }
            }
            assert!(trailer, "chunk {chunk}");
            let want: Vec<Vec<Option<Vec<u8>>>> = rows
                .iter()
                .map(|r| r.iter().map(|f| f.map(<[u8]>::to_vec)).collect())
                .collect();
            assert_eq!(got, want, "chunk {chunk}");
        }
        let mut p = CopyParser::default();
        p.push(b"NOTCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0");
        assert!(p.next_tuple().is_err());
    }

    #[test]
    fn checkpoints_parse_back() {
        let cp = Checkpoint(json!({"partitions": [
            {"lo": null, "hi": 99, "after": [42], "done": false},
            {"lo": 100, "hi": null, "after": null, "done": true}
        ]}));
        let parts = parse_partitions(&cp, "public.t").unwrap();
        assert_eq!(
            parts,
            vec![
                Partition {
                    lo: None,
                    hi: Some(99),
                    after: Some(vec![json!(42)]),
                    done: false
                },
                Partition {
                    lo: Some(100),
                    hi: None,
                    after: None,
                    done: true
                },
            ]
        );
        assert!(parse_partitions(&Checkpoint(json!({"x": 1})), "public.t").is_err());
    }

    #[test]
    fn cursor_literals_are_exact() {
        assert_eq!(cursor_literal(5, &DataType::Int64).unwrap(), "5");
        assert_eq!(
            cursor_literal(
                1,
                &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
            )
            .unwrap(),
            "'1970-01-01 00:00:00.000001+00'::timestamptz"
        );
        assert_eq!(
            cursor_literal(1, &DataType::Timestamp(TimeUnit::Microsecond, None)).unwrap(),
            "'1970-01-01 00:00:00.000001'::timestamp"
        );
        assert_eq!(
            cursor_literal(-1, &DataType::Date32).unwrap(),
            "'1969-12-31'::date"
        );
        assert_eq!(quote_literal("o'k"), "'o''k'");
    }
}
