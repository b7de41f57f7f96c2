//! Reading one table or view into Arrow batches, with checkpoints.
//!
//! The read runs on a blocking thread inside one read transaction (so it sees one
//! state of the file even while another process writes it in WAL mode) and hands
//! each batch over a channel of capacity 1: at most one batch waits while the sink
//! writes the previous one.
//!
//! - **Rowid tables** are read `WHERE rowid > ? ORDER BY rowid`. Every
//!   `checkpoint_rows` rows a batch ends and a checkpoint records the last rowid:
//!   `{"table": "orders", "after_rowid": 4211, "done": false}`. A resumed read
//!   continues strictly after it. The end of the table is a last checkpoint with
//!   `"done": true`, so a run killed between it and the commit reads nothing more.
//! - **`WITHOUT ROWID` tables** are read in primary-key order, **views** in their own
//!   order; neither checkpoints mid-read, so an interrupted read starts over.
//! - **Incremental** (a cursor column): the checkpoint also holds the window,
//!   `"cursor": {"column": "updated_at", "incremental": true, "from": …, "upto": {"value": …, "keys": [[pk], …]}}`,
//!   `upto` being the largest cursor value when the read was planned and the keys
//!   (primary key, else rowid) of the rows holding it. The next run reads rows with
//!   `from.value <= cursor <= upto.value` and drops those at `from.value` whose key is
//!   in `from.keys` (already read). Rows whose cursor is NULL are read by full reads
//!   only. Values compare as SQLite compares them (numbers before text).

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::RecordBatch;
use ferry_core::source::{Checkpoint, EventStream, ReadOptions, SourceEvent};
use ferry_core::{Error, Location, Result};
use rusqlite::types::{Value, ValueRef};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tokio::sync::mpsc;

use crate::config::Settings;
use crate::error::sqlite_error;
use crate::source::{Order, Table, open, quote_ident};
use crate::types::ColumnBuilder;

/// Where a read of one table stands; the checkpoint's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The table, to refuse a checkpoint of another one.
    pub table: String,
    /// The rowid of the last row emitted, for rowid tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_rowid: Option<i64>,
    /// Whether every row was emitted.
    #[serde(default)]
    pub done: bool,
    /// The incremental window, when a cursor column is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<CursorWindow>,
}

/// Rows read by an incremental read: from `from` (less the rows of its keys) up to `upto`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CursorWindow {
    /// The cursor column.
    pub column: String,
    /// Whether this read is incremental (rows with a NULL cursor are then skipped).
    pub incremental: bool,
    /// The previous read's high-water mark.
    pub from: Option<CursorMark>,
    /// The largest cursor value when this read was planned.
    pub upto: Option<CursorMark>,
}

/// A cursor value and the keys of the rows that hold it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CursorMark {
    /// The cursor value (an integer, a number or a string).
    pub value: Json,
    /// Keys (primary key, else rowid) of the rows whose cursor equals `value`.
    pub keys: Vec<Vec<Json>>,
}

/// Everything the blocking reader needs.
struct Job {
    settings: Arc<Settings>,
    table: Arc<Table>,
    cursor: Option<String>,
    resume: Option<Progress>,
    previous: Option<CursorWindow>,
    since_given: bool,
}

type Sender = mpsc::Sender<Result<SourceEvent>>;

/// Starts reading `table`; see the module docs.
///
/// # Errors
/// A cursor column the table lacks, or a checkpoint that is not this table's.
pub fn read(
    settings: Arc<Settings>,
    table: Arc<Table>,
    cursor: Option<String>,
    options: ReadOptions,
) -> Result<EventStream> {
    if let Some(c) = &cursor
        && !table.columns.iter().any(|col| col.name == *c)
    {
        return Err(Error::config(
            "--cursor",
            format!("table {:?} has no column {c:?}", table.name),
        ));
    }
    let resume = match &options.resume {
        Some(cp) => {
            let here = || Location::file(format!("checkpoint of {}", table.name));
            let p: Progress = serde_json::from_value(cp.0.clone()).map_err(|e| {
                Error::data(
                    here(),
                    format!("not a sqlite checkpoint ({e}); rerun with --restart"),
                )
            })?;
            if p.table != table.name {
                return Err(Error::data(
                    here(),
                    format!(
                        "the checkpoint is for table {:?}; rerun with --restart",
                        p.table
                    ),
                ));
            }
            tracing::info!(
                stream = %table.name,
                after_rowid = ?p.after_rowid,
                "Resuming from a checkpoint."
            );
            Some(p)
        }
        None => None,
    };
    let previous = match (&cursor, &options.since) {
        (Some(column), Some(cp)) => serde_json::from_value::<Progress>(cp.0.clone())
            .ok()
            .and_then(|p| p.cursor)
            .filter(|w| w.column == *column),
        _ => None,
    };
    let job = Job {
        settings,
        table,
        cursor,
        resume,
        previous,
        since_given: options.since.is_some(),
    };
    let (tx, rx) = mpsc::channel::<Result<SourceEvent>>(1);
    let handle = tokio::task::spawn_blocking(move || {
        if let Err(e) = run(&job, &tx) {
            // A closed channel means the read was abandoned: nobody to tell.
            let _ = tx.blocking_send(Err(e));
        }
    });
    Ok(Box::pin(futures::stream::unfold(
        (rx, Some(handle)),
        |(mut rx, handle)| async move {
            if let Some(event) = rx.recv().await {
                return Some((event, (rx, handle)));
            }
            // The reader is gone: make sure it ended normally, so that a crashed
            // thread is never taken for the end of the table.
            match handle?.await {
                Ok(()) => None,
                Err(e) => Some((
                    Err(Error::external("the sqlite reader thread failed", e)),
                    (rx, None),
                )),
            }
        },
    )))
}

/// The blocking part of a read. Returns `Ok` also when the consumer went away.
fn run(job: &Job, tx: &Sender) -> Result<()> {
    let settings = &job.settings;
    let table = &job.table;
    let path = &settings.path;
    let err = |e| sqlite_error(path, Some(&table.name), e);
    let mut conn = open(path)?;
    // One read transaction: planning and reading see the same state of the file.
    let txn = conn.transaction().map_err(err)?;
    let mut progress = match &job.resume {
        Some(p) => p.clone(),
        None => plan(&txn, job)?,
    };
    if progress.done {
        tracing::info!(stream = %table.name, "Already read to the end before the interruption.");
        return Ok(());
    }
    let rowid = match &table.order {
        Order::Rowid(alias) => Some(alias.as_str()),
        _ => None,
    };
    let cursor_index = match &progress.cursor {
        Some(w) => Some(
            table
                .columns
                .iter()
                .position(|c| c.name == w.column)
                .ok_or_else(|| {
                    Error::config(
                        "--cursor",
                        format!("table {:?} has no column {:?}", table.name, w.column),
                    )
                })?,
        ),
        None => None,
    };
    let dedupe: Option<(Json, HashSet<String>)> = progress.cursor.as_ref().and_then(|w| {
        let from = w.from.as_ref()?;
        (!from.keys.is_empty()).then(|| {
            (
                from.value.clone(),
                from.keys
                    .iter()
                    .map(|k| Json::from(k.clone()).to_string())
                    .collect(),
            )
        })
    });
    let (sql, params) = query(table, &progress)?;
    tracing::debug!(stream = %table.name, sql, "Table query.");
    let mut stmt = txn.prepare(&sql).map_err(err)?;
    let mut rows = stmt
        .query(rusqlite::params_from_iter(params))
        .map_err(err)?;

    let first = usize::from(rowid.is_some());
    let checkpoint_rows = settings.checkpoint_rows;
    let capacity = settings
        .batch_rows
        .min(
            usize::try_from(table.rows)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
        )
        .min(usize::try_from(checkpoint_rows).unwrap_or(usize::MAX));
    let mut builders: Vec<ColumnBuilder> = table
        .columns
        .iter()
        .map(|c| ColumnBuilder::new(c.kind, c.nullable, capacity))
        .collect();
    let key_columns: Vec<usize> = if table.primary_key.is_empty() {
        Vec::new()
    } else {
        table.primary_key.iter().map(|&i| i + first).collect()
    };
    let mut in_batch = 0usize;
    let mut since_checkpoint = 0u64;
    let mut total = 0u64;
    let mut skipped = 0u64;
    while let Some(row) = rows.next().map_err(err)? {
        let row_id: Option<i64> = match rowid {
            Some(_) => Some(row.get(0).map_err(err)?),
            None => None,
        };
        let key = |row: &rusqlite::Row<'_>| -> Result<Vec<Json>> {
            if key_columns.is_empty() {
                return Ok(row_id.map(Json::from).into_iter().collect());
            }
            key_columns
                .iter()
                .map(|&i| row.get_ref(i).map(key_json).map_err(err))
                .collect()
        };
        if let (Some((value, keys)), Some(ci)) = (&dedupe, cursor_index)
            && cursor_json(row.get_ref(ci + first).map_err(err)?)
                .ok()
                .as_ref()
                == Some(value)
            && keys.contains(&Json::from(key(row)?).to_string())
        {
            skipped += 1;
            continue;
        }
        for (i, b) in builders.iter_mut().enumerate() {
            let value = row.get_ref(i + first).map_err(err)?;
            if let Err(e) = b.push(value) {
                let which = match row_id {
                    Some(id) => format!("rowid {id}"),
                    None if !table.primary_key.is_empty() => {
                        format!("row with key {}", Json::from(key(row)?))
                    }
                    None => format!("row {}", total + in_batch as u64 + 1),
                };
                return Err(Error::data(
                    Location::file(format!("{} table {:?}", path.display(), table.name))
                        .column(i as u64 + 1, Some(&table.columns[i].name)),
                    format!("{which}: {e}"),
                ));
            }
        }
        in_batch += 1;
        since_checkpoint += 1;
        if row_id.is_some() {
            progress.after_rowid = row_id;
        }
        let checkpoint_due = rowid.is_some() && since_checkpoint >= checkpoint_rows;
        if in_batch >= settings.batch_rows || checkpoint_due {
            total += in_batch as u64;
            in_batch = 0;
            if !send(tx, Ok(SourceEvent::Batch(finish(table, &mut builders)?))) {
                return Ok(());
            }
            if checkpoint_due {
                since_checkpoint = 0;
                if !send(tx, checkpoint(&progress)) {
                    return Ok(());
                }
            }
        }
    }
    if in_batch > 0 {
        total += in_batch as u64;
        if !send(tx, Ok(SourceEvent::Batch(finish(table, &mut builders)?))) {
            return Ok(());
        }
    }
    tracing::info!(stream = %table.name, rows = total, skipped_at_mark = skipped, "Table read.");
    if rowid.is_some() || progress.cursor.is_some() {
        progress.done = true;
        send(tx, checkpoint(&progress));
    }
    Ok(())
}

/// Sends an event; `false` when the consumer is gone.
fn send(tx: &Sender, event: Result<SourceEvent>) -> bool {
    tx.blocking_send(event).is_ok()
}

fn finish(table: &Table, builders: &mut [ColumnBuilder]) -> Result<RecordBatch> {
    let arrays = builders.iter_mut().map(ColumnBuilder::finish).collect();
    Ok(RecordBatch::try_new(table.schema.clone(), arrays)?)
}

fn checkpoint(progress: &Progress) -> Result<SourceEvent> {
    serde_json::to_value(progress)
        .map(|v| SourceEvent::Checkpoint(Checkpoint(v)))
        .map_err(|e| Error::external("serializing a sqlite checkpoint", e))
}

/// Decides the cursor window of a read that does not resume.
fn plan(conn: &rusqlite::Connection, job: &Job) -> Result<Progress> {
    let table = &job.table;
    let path = &job.settings.path;
    let err = |e| sqlite_error(path, Some(&table.name), e);
    let window = match &job.cursor {
        None => None,
        Some(column) => {
            if job.since_given && job.previous.is_none() {
                tracing::warn!(
                    stream = %table.name,
                    column,
                    "The previous high-water mark is for another cursor; reading everything."
                );
            }
            let incremental = job.previous.is_some();
            let from = job.previous.clone().and_then(|w| w.upto.or(w.from));
            let c = quote_ident(column);
            let t = table.quoted();
            let bad = |what: String| {
                Error::config(
                    "--cursor",
                    format!("table {:?}, column {column:?}: {what}", table.name),
                )
            };
            let max = conn
                .query_row(&format!("SELECT MAX({c}) FROM {t}"), [], |r| {
                    Ok(cursor_json(r.get_ref(0)?))
                })
                .map_err(err)?
                .map_err(bad)?;
            let upto = if max.is_null() {
                from.clone()
            } else {
                let key_cols: Vec<String> = match (&table.order, table.primary_key.is_empty()) {
                    (_, false) => table
                        .primary_key
                        .iter()
                        .map(|&i| quote_ident(&table.columns[i].name))
                        .collect(),
                    (Order::Rowid(alias), true) => vec![alias.clone()],
                    _ => Vec::new(),
                };
                let mut keys = Vec::new();
                if !key_cols.is_empty() {
                    let sql = format!(
                        "SELECT {} FROM {t} WHERE {c} = (SELECT MAX({c}) FROM {t})",
                        key_cols.join(", ")
                    );
                    let mut stmt = conn.prepare(&sql).map_err(err)?;
                    let mut rows = stmt.query([]).map_err(err)?;
                    while let Some(row) = rows.next().map_err(err)? {
                        keys.push(
                            (0..key_cols.len())
                                .map(|i| row.get_ref(i).map(key_json))
                                .collect::<rusqlite::Result<Vec<_>>>()
                                .map_err(err)?,
                        );
                    }
                }
                Some(CursorMark { value: max, keys })
            };
            Some(CursorWindow {
                column: column.clone(),
                incremental,
                from,
                upto,
            })
        }
    };
    Ok(Progress {
        table: table.name.clone(),
        after_rowid: None,
        done: false,
        cursor: window,
    })
}

/// The SELECT of a read and its parameters: the rowid first for rowid tables, then
/// every column.
fn query(table: &Table, progress: &Progress) -> Result<(String, Vec<Value>)> {
    let mut select: Vec<String> = Vec::new();
    let mut conds = Vec::new();
    let mut params = Vec::new();
    if let Order::Rowid(alias) = &table.order {
        select.push(alias.clone());
        if let Some(after) = progress.after_rowid {
            conds.push(format!("{alias} > ?"));
            params.push(Value::Integer(after));
        }
    }
    select.extend(table.columns.iter().map(|c| quote_ident(&c.name)));
    if let Some(w) = &progress.cursor {
        let c = quote_ident(&w.column);
        let param = |json: &Json| {
            json_param(json).ok_or_else(|| {
                Error::data(
                    Location::file(format!("checkpoint of {}", table.name)),
                    "a cursor value in the checkpoint is not readable; rerun with --restart",
                )
            })
        };
        match (&w.from, w.incremental) {
            (Some(from), _) => {
                conds.push(format!("{c} >= ?"));
                params.push(param(&from.value)?);
            }
            (None, true) => conds.push(format!("{c} IS NOT NULL")),
            (None, false) => {}
        }
        if let Some(upto) = &w.upto {
            // Rows changed after planning belong to the next run, also when this
            // read is resumed later on a newer state of the file.
            if w.incremental {
                conds.push(format!("{c} <= ?"));
            } else {
                conds.push(format!("({c} <= ? OR {c} IS NULL)"));
            }
            params.push(param(&upto.value)?);
        }
    }
    let mut sql = format!("SELECT {} FROM {}", select.join(", "), table.quoted());
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    match &table.order {
        Order::Rowid(alias) => sql.push_str(&format!(" ORDER BY {alias}")),
        Order::Key => {
            let key: Vec<String> = table
                .primary_key
                .iter()
                .map(|&i| quote_ident(&table.columns[i].name))
                .collect();
            sql.push_str(&format!(" ORDER BY {}", key.join(", ")));
        }
        Order::Natural => {}
    }
    Ok((sql, params))
}

/// A cursor value as JSON: integers, finite REALs and text; NULL as JSON null.
fn cursor_json(v: ValueRef<'_>) -> std::result::Result<Json, String> {
    match v {
        ValueRef::Null => Ok(Json::Null),
        ValueRef::Integer(i) => Ok(Json::from(i)),
        ValueRef::Real(f) => serde_json::Number::from_f64(f)
            .map(Json::Number)
            .ok_or_else(|| format!("the value {f} cannot be a high-water mark")),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map(|s| Json::from(s.to_owned()))
            .map_err(|_| "a value is not valid UTF-8".to_owned()),
        ValueRef::Blob(_) => Err("BLOB values cannot be a cursor".to_owned()),
    }
}

/// A key value as JSON, only ever compared: blobs become `{"blob": "hex"}`.
fn key_json(v: ValueRef<'_>) -> Json {
    match v {
        ValueRef::Blob(b) => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            serde_json::json!({ "blob": hex })
        }
        ValueRef::Text(t) => Json::from(String::from_utf8_lossy(t).into_owned()),
        other => cursor_json(other).unwrap_or(Json::Null),
    }
}

/// A cursor value from a checkpoint, as a statement parameter.
fn json_param(json: &Json) -> Option<Value> {
    match json {
        Json::Number(n) => match n.as_i64() {
            Some(i) => Some(Value::Integer(i)),
            None => n.as_f64().map(Value::Real),
        },
        Json::String(s) => Some(Value::Text(s.clone())),
        _ => None,
    }
}
