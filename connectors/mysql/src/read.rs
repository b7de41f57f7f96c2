//! Reading one table: plan partitions, stream each through a snapshot connection
//! into Arrow batches, merge them into one event stream with checkpoints.
//!
//! - **Partitions.** A table with a single integer primary key and at least
//!   `partition_min_rows` estimated rows is split into `partitions` key ranges
//!   (`MIN`/`MAX` in the snapshot, equal widths), read at once on separate
//!   connections of the same snapshot. Other tables are one partition.
//! - **Order and checkpoints.** When the primary key is orderable, each partition is
//!   read `ORDER BY` the key (InnoDB's clustered order, so no sort) and the checkpoint
//!   records, per partition, the last key emitted:
//!   `{"table": …, "keyset": true, "partitions": [{"lo": 1, "hi": 500, "after": [412], "done": false}, …]}`.
//!   A checkpoint is emitted every `checkpoint_rows` rows or `checkpoint_interval`,
//!   and once at the end. A resumed read continues strictly after each `after`.
//!   Tables without an orderable key are read in one pass and cannot resume mid-table.
//! - **Incremental.** With a cursor column the checkpoint also records the window:
//!   `"cursor": {"column": "write_date", "from": …, "upto": {"value": …, "keys": [[pk], …]}}`,
//!   where `upto` is the largest cursor value in the snapshot and the keys of the rows
//!   holding it. The next run reads rows with `cursor >= upto.value` and drops those
//!   whose key is in `upto.keys` (already read). Rows whose cursor is NULL are read
//!   by full reads only.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;
use ferry_core::source::{Checkpoint, EventStream, ReadOptions, SourceEvent};
use ferry_core::{Error, Location, Result};
use mysql_async::prelude::Queryable;
use mysql_async::{Params, Row, Value};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::config::Settings;
use crate::error::remote;
use crate::snapshot::{Lease, Snapshot};
use crate::source::Table;
use crate::types::{ColumnBuilder, Kind, json_to_value, quote_ident, select_expr, value_to_json};

/// Where a read of one table stands; the checkpoint's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// `database.table`, to refuse a checkpoint of another table.
    pub table: String,
    /// Whether partitions are read in key order (so `after` is meaningful).
    pub keyset: bool,
    /// The key ranges.
    pub partitions: Vec<Partition>,
    /// The incremental window, when a cursor column is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<CursorWindow>,
}

/// One key range of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partition {
    /// Exclusive lower bound of the (single, integer) key; `None` for the first.
    pub lo: Option<Json>,
    /// Inclusive upper bound; `None` for the last.
    pub hi: Option<Json>,
    /// The key of the last row emitted, when any.
    pub after: Option<Vec<Json>>,
    /// Whether every row of the range was emitted.
    pub done: bool,
}

/// Rows read by an incremental read: `from` (exclusive of its keys) up to `upto`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CursorWindow {
    /// The cursor column.
    pub column: String,
    /// Whether this read is incremental (rows with a NULL cursor are then skipped).
    pub incremental: bool,
    /// The previous read's high-water mark.
    pub from: Option<CursorMark>,
    /// The largest cursor value in this read's snapshot.
    pub upto: Option<CursorMark>,
}

/// A cursor value and the primary keys of the rows that hold it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CursorMark {
    /// The cursor value.
    pub value: Json,
    /// Keys of the rows whose cursor equals `value`.
    pub keys: Vec<Vec<Json>>,
}

/// What a partition task tells the merger.
enum Message {
    Batch {
        part: usize,
        batch: RecordBatch,
        last_key: Option<Vec<Json>>,
        zero_dates: u64,
    },
    Done(usize),
}

/// Everything partition tasks share.
struct Context {
    settings: Arc<Settings>,
    snapshot: Arc<Snapshot>,
    table: Arc<Table>,
    progress_template: Progress,
    cursor_index: Option<usize>,
    dedupe: Option<(Json, HashSet<String>)>,
}

/// Starts reading `table`; see the module docs.
///
/// # Errors
/// A bad cursor column or checkpoint, or the server fails while planning.
pub async fn read(
    settings: Arc<Settings>,
    snapshot: Arc<Snapshot>,
    table: Arc<Table>,
    cursor_field: Option<String>,
    options: ReadOptions,
) -> Result<EventStream> {
    let stream = table.stream_name();
    let cursor_index = match &cursor_field {
        Some(c) => Some(
            table
                .columns
                .iter()
                .position(|col| col.name == *c)
                .ok_or_else(|| {
                    Error::config("--cursor", format!("table {stream} has no column {c:?}"))
                })?,
        ),
        None => None,
    };
    let progress = match &options.resume {
        Some(cp) => {
            let p: Progress = serde_json::from_value(cp.0.clone()).map_err(|e| {
                Error::data(
                    Location::file(format!("checkpoint of {stream}")),
                    format!("not a mysql checkpoint ({e}); rerun with --restart"),
                )
            })?;
            if p.table != stream {
                return Err(Error::data(
                    Location::file(format!("checkpoint of {stream}")),
                    format!(
                        "the checkpoint is for table {}; rerun with --restart",
                        p.table
                    ),
                ));
            }
            tracing::info!(stream, "Resuming from a checkpoint with a new snapshot.");
            p
        }
        None => {
            plan(
                &settings,
                &snapshot,
                &table,
                cursor_field.as_deref(),
                &options,
            )
            .await?
        }
    };
    let dedupe = progress.cursor.as_ref().and_then(|w| {
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
    let ctx = Arc::new(Context {
        settings,
        snapshot,
        table,
        progress_template: progress.clone(),
        cursor_index,
        dedupe,
    });
    let (out, rx) = mpsc::channel::<Result<SourceEvent>>(1);
    tokio::spawn(merge(ctx, progress, out));
    Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|ev| (ev, rx))
    })))
}

/// Decides partitions and the cursor window, inside the snapshot. Queries use the
/// binary protocol, like the row reads, so that cursor values compare equal.
async fn plan(
    settings: &Settings,
    snapshot: &Arc<Snapshot>,
    table: &Table,
    cursor: Option<&str>,
    options: &ReadOptions,
) -> Result<Progress> {
    let stream = table.stream_name();
    let keyset = !table.primary_key.is_empty()
        && table
            .primary_key
            .iter()
            .all(|&i| table.kinds[i].is_orderable_key());
    let int_key = table.primary_key.len() == 1
        && matches!(
            table.kinds[table.primary_key[0]],
            Kind::Int(_) | Kind::UInt(_)
        );
    let mut lease = snapshot.lease().await?;
    let mut partitions = vec![Partition {
        lo: None,
        hi: None,
        after: None,
        done: false,
    }];
    if int_key
        && settings.partitions > 1
        && table.row_estimate.unwrap_or(0) >= settings.partition_min_rows
    {
        let key = quote_ident(&table.columns[table.primary_key[0]].name);
        let sql = format!("SELECT MIN({key}), MAX({key}) FROM {}", table.quoted());
        let bounds: Option<(Value, Value)> = lease
            .conn()?
            .exec_first(sql, ())
            .await
            .map_err(|e| remote(settings, &stream, e))?;
        if let Some((Some(min), Some(max))) = bounds.map(|(a, b)| (as_i128(&a), as_i128(&b))) {
            partitions = split(min, max, settings.partitions);
        }
    }
    let window = match cursor {
        None => None,
        Some(column) => {
            let previous = options
                .since
                .as_ref()
                .and_then(|cp| serde_json::from_value::<Progress>(cp.0.clone()).ok())
                .and_then(|p| p.cursor)
                .filter(|w| w.column == column);
            if options.since.is_some() && previous.is_none() {
                tracing::warn!(
                    stream,
                    column,
                    "The previous high-water mark is for another cursor; reading everything."
                );
            }
            let incremental = previous.is_some();
            let from = previous.and_then(|w| w.upto.or(w.from));
            let c = quote_ident(column);
            let sql = format!("SELECT MAX({c}) FROM {}", table.quoted());
            let max: Option<Value> = lease
                .conn()?
                .exec_first(sql, ())
                .await
                .map_err(|e| remote(settings, &stream, e))?;
            let upto = match max {
                None | Some(Value::NULL) => from.clone(),
                Some(value) => {
                    let mut keys = Vec::new();
                    if !table.primary_key.is_empty() {
                        let key_cols: Vec<String> = table
                            .primary_key
                            .iter()
                            .map(|&i| quote_ident(&table.columns[i].name))
                            .collect();
                        let sql = format!(
                            "SELECT {} FROM {t} WHERE {c} = (SELECT MAX({c}) FROM {t})",
                            key_cols.join(", "),
                            t = table.quoted()
                        );
                        let rows: Vec<Row> = lease
                            .conn()?
                            .exec(sql, ())
                            .await
                            .map_err(|e| remote(settings, &stream, e))?;
                        keys = rows
                            .iter()
                            .map(|r| row_values(r, 0..key_cols.len()))
                            .collect();
                    }
                    Some(CursorMark {
                        value: value_to_json(&value),
                        keys,
                    })
                }
            };
            Some(CursorWindow {
                column: column.to_owned(),
                incremental,
                from,
                upto,
            })
        }
    };
    tracing::info!(
        stream,
        partitions = partitions.len(),
        keyset,
        "Read planned."
    );
    Ok(Progress {
        table: stream,
        keyset,
        partitions,
        cursor: window,
    })
}

fn as_i128(v: &Value) -> Option<i128> {
    match v {
        Value::Int(i) => Some(i128::from(*i)),
        Value::UInt(u) => Some(i128::from(*u)),
        Value::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

fn int_json(v: i128) -> Json {
    match i64::try_from(v) {
        Ok(i) => Json::from(i),
        Err(_) => u64::try_from(v).map_or(Json::Null, Json::from),
    }
}

/// Splits `[min, max]` into `n` ranges of equal width: `(-∞, b1], (b1, b2], …, (bn-1, ∞)`.
fn split(min: i128, max: i128, n: usize) -> Vec<Partition> {
    let width = max - min + 1;
    let n = (n as i128).min(width.max(1));
    let step = (width + n - 1) / n;
    let bounds: Vec<i128> = (1..n).map(|j| min + step * j - 1).collect();
    (0..n as usize)
        .map(|j| Partition {
            lo: (j > 0).then(|| int_json(bounds[j - 1])),
            hi: bounds.get(j).map(|&b| int_json(b)),
            after: None,
            done: false,
        })
        .collect()
}

fn row_values(row: &Row, columns: impl Iterator<Item = usize>) -> Vec<Json> {
    columns
        .map(|i| row.as_ref(i).map_or(Json::Null, value_to_json))
        .collect()
}

/// `(a, b) > (x, y)` written so that any server version uses the key index:
/// `a > x OR (a = x AND b > y)`.
fn after_condition(table: &Table, after: &[Json], params: &mut Vec<Value>) -> Result<String> {
    let mut parts = Vec::new();
    for depth in 0..table.primary_key.len() {
        let mut terms = Vec::new();
        for (pos, &col) in table.primary_key.iter().enumerate().take(depth + 1) {
            let kind = table.kinds[col];
            let op = if pos == depth { ">" } else { "=" };
            terms.push(format!(
                "{} {op} {}",
                quote_ident(&table.columns[col].name),
                kind.placeholder()
            ));
            params.push(param(table, after.get(pos))?);
        }
        parts.push(format!("({})", terms.join(" AND ")));
    }
    Ok(format!("({})", parts.join(" OR ")))
}

fn param(table: &Table, json: Option<&Json>) -> Result<Value> {
    json.and_then(json_to_value).ok_or_else(|| {
        Error::data(
            Location::file(format!("checkpoint of {}", table.stream_name())),
            "a key value in the checkpoint is not readable; rerun with --restart",
        )
    })
}

fn partition_query(ctx: &Context, part: &Partition) -> Result<(String, Vec<Value>)> {
    let table = &ctx.table;
    let mut conds = Vec::new();
    let mut params = Vec::new();
    if part.lo.is_some() || part.hi.is_some() {
        let key = quote_ident(&table.columns[table.primary_key[0]].name);
        if let Some(lo) = &part.lo {
            conds.push(format!("{key} > ?"));
            params.push(param(table, Some(lo))?);
        }
        if let Some(hi) = &part.hi {
            conds.push(format!("{key} <= ?"));
            params.push(param(table, Some(hi))?);
        }
    }
    if let Some(after) = &part.after {
        conds.push(after_condition(table, after, &mut params)?);
    }
    if let (Some(w), Some(ci)) = (&ctx.progress_template.cursor, ctx.cursor_index) {
        let c = quote_ident(&w.column);
        let ph = table.kinds[ci].placeholder();
        match (&w.from, w.incremental) {
            (Some(from), _) => {
                conds.push(format!("{c} >= {ph}"));
                params.push(param(table, Some(&from.value))?);
            }
            (None, true) => conds.push(format!("{c} IS NOT NULL")),
            (None, false) => {}
        }
        if let Some(upto) = &w.upto {
            // Rows changed after the planning snapshot belong to the next run, also
            // when this read is resumed with a newer snapshot.
            if w.incremental {
                conds.push(format!("{c} <= {ph}"));
            } else {
                conds.push(format!("({c} <= {ph} OR {c} IS NULL)"));
            }
            params.push(param(table, Some(&upto.value))?);
        }
    }
    let select: Vec<String> = table
        .columns
        .iter()
        .zip(&table.kinds)
        .map(|(c, k)| select_expr(c, *k))
        .collect();
    let mut sql = format!("SELECT {} FROM {}", select.join(", "), table.quoted());
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    if ctx.progress_template.keyset {
        let order: Vec<String> = table
            .primary_key
            .iter()
            .map(|&i| quote_ident(&table.columns[i].name))
            .collect();
        sql.push_str(" ORDER BY ");
        sql.push_str(&order.join(", "));
    }
    Ok((sql, params))
}

/// Reads one partition on a snapshot connection, sending full batches to the merger.
async fn read_partition(
    ctx: Arc<Context>,
    part_no: usize,
    part: Partition,
    tx: mpsc::Sender<Result<Message>>,
) {
    let result = async {
        let mut lease = ctx.snapshot.lease().await?;
        let outcome = stream_rows(&ctx, &mut lease, part_no, &part, &tx).await;
        if let Err(Error::Remote { .. }) = &outcome {
            // The transaction of this connection is gone with it.
            lease.lost();
        }
        outcome
    }
    .await;
    let message = match result {
        Ok(()) => Ok(Message::Done(part_no)),
        Err(e) => Err(e),
    };
    // The merger is gone only when the read was abandoned: nothing to tell.
    let _ = tx.send(message).await;
}

async fn stream_rows(
    ctx: &Context,
    lease: &mut Lease,
    part_no: usize,
    part: &Partition,
    tx: &mpsc::Sender<Result<Message>>,
) -> Result<()> {
    let settings = &ctx.settings;
    let table = &ctx.table;
    let stream = table.stream_name();
    let parts = ctx.progress_template.partitions.len();
    let where_ = if parts > 1 {
        format!("{stream} (partition {} of {parts})", part_no + 1)
    } else {
        stream.clone()
    };
    let (sql, params) = partition_query(ctx, part)?;
    tracing::debug!(stream, partition = part_no, sql, "Partition query.");
    let params = if params.is_empty() {
        Params::Empty
    } else {
        Params::Positional(params)
    };
    let conn = lease.conn()?;
    let mut result = conn
        .exec_iter(sql, params)
        .await
        .map_err(|e| remote(settings, &where_, e))?;
    let batch_rows = settings.batch_rows;
    let mut builders: Vec<ColumnBuilder> = table
        .kinds
        .iter()
        .map(|k| ColumnBuilder::new(*k, batch_rows))
        .collect();
    let mut rows = 0usize;
    let mut zero_dates = 0u64;
    let mut last_row: Option<Row> = None;
    let key_of = |row: &Row| row_values(row, table.primary_key.iter().copied());
    loop {
        let row = match result.next().await {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => {
                let mut err = remote(settings, &where_, e);
                if let (Error::Remote { message, .. }, Some(row)) = (&mut err, &last_row)
                    && ctx.progress_template.keyset
                {
                    message.push_str(&format!(" (after key {})", Json::from(key_of(row))));
                }
                return Err(err);
            }
        };
        if let (Some((value, keys)), Some(ci)) = (&ctx.dedupe, ctx.cursor_index)
            && row.as_ref(ci).map(value_to_json).as_ref() == Some(value)
            && keys.contains(&Json::from(key_of(&row)).to_string())
        {
            continue;
        }
        for (i, b) in builders.iter_mut().enumerate() {
            match b.push(row.as_ref(i).unwrap_or(&Value::NULL)) {
                Ok(true) => zero_dates += 1,
                Ok(false) => {}
                Err(e) => {
                    let key = if table.primary_key.is_empty() {
                        format!("row {}", rows + 1)
                    } else {
                        format!("row with key {}", Json::from(key_of(&row)))
                    };
                    return Err(Error::data(
                        Location::file(stream.clone())
                            .column(i as u64 + 1, Some(&table.columns[i].name)),
                        format!("{key}: {}", e.0),
                    ));
                }
            }
        }
        rows += 1;
        last_row = Some(row);
        if rows == batch_rows {
            let batch = finish(table, &mut builders)?;
            let last_key = last_row.as_ref().map(key_of);
            let msg = Message::Batch {
                part: part_no,
                batch,
                last_key,
                zero_dates,
            };
            if tx.send(Ok(msg)).await.is_err() {
                return Ok(());
            }
            rows = 0;
            zero_dates = 0;
        }
    }
    if rows > 0 {
        let batch = finish(table, &mut builders)?;
        let msg = Message::Batch {
            part: part_no,
            batch,
            last_key: last_row.as_ref().map(key_of),
            zero_dates,
        };
        // A closed channel means the read was abandoned.
        let _ = tx.send(Ok(msg)).await;
    }
    Ok(())
}

fn finish(table: &Table, builders: &mut [ColumnBuilder]) -> Result<RecordBatch> {
    let arrays = builders.iter_mut().map(ColumnBuilder::finish).collect();
    Ok(RecordBatch::try_new(table.schema.clone(), arrays)?)
}

fn checkpoint(progress: &Progress) -> Result<SourceEvent> {
    serde_json::to_value(progress)
        .map(|v| SourceEvent::Checkpoint(Checkpoint(v)))
        .map_err(|e| Error::external("serializing a mysql checkpoint", e))
}

/// Runs the partitions and forwards their batches in arrival order, with checkpoints
/// that cover everything forwarded before them.
async fn merge(ctx: Arc<Context>, mut progress: Progress, out: mpsc::Sender<Result<SourceEvent>>) {
    let stream = ctx.table.stream_name();
    let (tx, mut rx) = mpsc::channel::<Result<Message>>(progress.partitions.len() + 1);
    let mut tasks = JoinSet::new();
    for (i, part) in progress.partitions.iter().enumerate() {
        if !part.done {
            tasks.spawn(read_partition(ctx.clone(), i, part.clone(), tx.clone()));
        }
    }
    drop(tx);
    let mut rows_since = 0u64;
    let mut last_checkpoint = Instant::now();
    let mut zero_dates = 0u64;
    let mut total = 0u64;
    while let Some(message) = rx.recv().await {
        match message {
            Err(e) => {
                tasks.abort_all();
                let _ = out.send(Err(e)).await;
                return;
            }
            Ok(Message::Done(part)) => progress.partitions[part].done = true,
            Ok(Message::Batch {
                part,
                batch,
                last_key,
                zero_dates: z,
            }) => {
                let n = batch.num_rows() as u64;
                if out.send(Ok(SourceEvent::Batch(batch))).await.is_err() {
                    tasks.abort_all();
                    return;
                }
                zero_dates += z;
                total += n;
                if progress.keyset {
                    progress.partitions[part].after = last_key;
                    rows_since += n;
                    if rows_since >= ctx.settings.checkpoint_rows
                        || last_checkpoint.elapsed() >= ctx.settings.checkpoint_interval
                    {
                        if out.send(checkpoint(&progress)).await.is_err() {
                            tasks.abort_all();
                            return;
                        }
                        rows_since = 0;
                        last_checkpoint = Instant::now();
                    }
                }
            }
        }
    }
    if zero_dates > 0 {
        tracing::warn!(
            stream,
            zero_dates,
            "Zero dates (0000-00-00) were read as NULL."
        );
    }
    tracing::info!(stream, rows = total, "Table read.");
    if progress.keyset || progress.cursor.is_some() {
        let _ = out.send(checkpoint(&progress)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_keys_without_overlap() {
        let parts = split(1, 100, 4);
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0].lo, None);
        assert_eq!(parts[0].hi, Some(Json::from(25)));
        assert_eq!(parts[1].lo, Some(Json::from(25)));
        assert_eq!(parts[3].hi, None);
        // Fewer keys than partitions: one partition per key value.
        assert_eq!(split(5, 6, 8).len(), 2);
        assert_eq!(split(7, 7, 3).len(), 1);
        let huge = split(i128::from(i64::MIN), i128::from(u64::MAX), 2);
        assert_eq!(huge.len(), 2);
    }

    #[test]
    fn progress_survives_json() {
        let p = Progress {
            table: "db.t".into(),
            keyset: true,
            partitions: split(1, 10, 2),
            cursor: Some(CursorWindow {
                column: "write_date".into(),
                incremental: true,
                from: None,
                upto: Some(CursorMark {
                    value: Json::from("2025-01-01 00:00:00"),
                    keys: vec![vec![Json::from(3)]],
                }),
            }),
        };
        let back: Progress = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}
