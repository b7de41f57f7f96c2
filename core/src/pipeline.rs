//! Moving streams from a source to a sink, with checkpoints and resume.
//!
//! For each selected stream the pipeline opens a writer, reads the source, and on every
//! source checkpoint flushes the writer and saves both positions together in the job
//! state. When the stream ends the writer commits and the checkpoint becomes the
//! stream's high-water mark. A run that stops early (crash, `kill -9`, a failed
//! stream) is resumed by the next run: streams already committed in it are skipped
//! and the others continue from their last saved point.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use serde::Serialize;
use tokio::sync::Mutex;

use crate::drift::{Change, Policies};
use crate::sink::OpenStream;
use crate::source::{Checkpoint, ReadOptions, SourceEvent};
use crate::state::{JobState, ResumePoint, RunState, StateStore};
use crate::{Result, Sink, Source, StreamSpec, WriteMode};

/// Receives progress as the pipeline runs (progress bars, logs). Called per batch,
/// never per row.
pub trait Observer: Send + Sync {
    /// A stream starts; `resumed_rows` were already durable from an earlier run.
    fn stream_started(&self, _spec: &StreamSpec, _resumed_rows: u64) {}
    /// A batch was handed to the sink.
    fn batch_written(&self, _stream: &str, _rows: usize, _bytes: usize) {}
    /// A stream ended, well or not.
    fn stream_finished(&self, _report: &StreamReport) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct NoObserver;
impl Observer for NoObserver {}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Streams read at once.
    pub concurrency: usize,
    /// Ignore an interrupted run and start from scratch.
    pub restart: bool,
    /// Read only what changed since the last committed read, for streams with a cursor.
    pub incremental: bool,
    /// What to do with a stream whose shape changed since its last committed run.
    pub schema_policy: Policies,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            restart: false,
            incremental: true,
            schema_policy: Policies::default(),
        }
    }
}

/// What happened to one stream.
#[derive(Debug, Clone, Serialize)]
pub struct StreamReport {
    /// Stream name.
    pub name: String,
    /// Outcome.
    pub status: StreamStatus,
    /// Rows in the stream's output from this run (including resumed rows).
    pub rows: u64,
    /// Rows that were already durable from the interrupted run this one resumed.
    pub resumed_rows: u64,
    /// Bytes of the files written.
    pub bytes: u64,
    /// Files written.
    pub files: usize,
    /// Replace or append.
    pub mode: WriteMode,
    /// Seconds spent.
    pub seconds: f64,
    /// The error, for a failed stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What a merging sink changed (rows inserted, updated, deleted; the new version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<crate::sink::Changes>,
    /// How the stream's shape changed since its last committed run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schema_changes: Vec<Change>,
    /// What the schema policy did that the user should know.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Outcome of one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamStatus {
    /// Read and committed in this run.
    Written,
    /// Committed earlier in the interrupted run that this run resumed.
    AlreadyWritten,
    /// Failed; what was durable is kept for the next run to resume from.
    Failed,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Run id.
    pub run_id: String,
    /// Whether this run resumed an interrupted one.
    pub resumed: bool,
    /// Source description (no secrets).
    pub source: String,
    /// Sink description.
    pub sink: String,
    /// Start time, RFC 3339 UTC.
    pub started_at: String,
    /// Seconds spent.
    pub seconds: f64,
    /// Per stream, in the order given.
    pub streams: Vec<StreamReport>,
    /// Streams committed by earlier runs that the source no longer has (set by the
    /// caller, which sees the whole catalog; see [`crate::drift::gone_streams`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub streams_gone: Vec<String>,
    /// The source's traffic counters ([`Source::stats`]), e.g. HTTP retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_stats: Option<serde_json::Value>,
}

impl RunReport {
    /// Whether every stream is written.
    pub fn is_success(&self) -> bool {
        self.streams
            .iter()
            .all(|s| s.status != StreamStatus::Failed)
    }

    /// Rows over all streams.
    pub fn total_rows(&self) -> u64 {
        self.streams.iter().map(|s| s.rows).sum()
    }
}

/// Runs `streams` from `source` into `sink`.
///
/// A failing stream does not stop the others; its error is in the report.
///
/// # Errors
/// Only failures of the job state itself (it cannot be read or written).
pub async fn run(
    source: Arc<dyn Source>,
    sink: Arc<dyn Sink>,
    streams: Vec<StreamSpec>,
    store: Arc<dyn StateStore>,
    observer: Arc<dyn Observer>,
    options: RunOptions,
) -> Result<RunReport> {
    let started = Instant::now();
    let started_at = now_rfc3339();
    let mut state = store.load()?;
    let (run_id, resumed) = match &state.run {
        Some(run) if !run.completed && !options.restart => (run.id.clone(), true),
        _ => (new_run_id(), false),
    };
    if !resumed {
        for s in state.streams.values_mut() {
            s.resume = None;
        }
    }
    state.run = Some(RunState {
        id: run_id.clone(),
        started_at: started_at.clone(),
        completed: false,
    });
    store.save(&state)?;
    tracing::info!(run_id, resumed, streams = streams.len(), "Run started.");

    let shared = Arc::new(Shared {
        store,
        state: Mutex::new(state),
        run_id: run_id.clone(),
    });
    let order: Vec<String> = streams.iter().map(|s| s.name.clone()).collect();
    let mut reports: Vec<StreamReport> = futures::stream::iter(streams)
        .map(|spec| {
            let (source, sink, shared, observer) =
                (source.clone(), sink.clone(), shared.clone(), observer.clone());
            let incremental = options.incremental;
            let policy = options.schema_policy.for_stream(&spec.name);
            async move {
                let t = Instant::now();
                let mut report = match run_stream(&*source, &*sink, &spec, &shared, &*observer, resumed, incremental, policy).await {
                    Ok(report) => report,
                    Err((e, mode, resumed_rows, schema_changes)) => {
                        // The report carries the error to the user; the log only traces it.
                        tracing::debug!(stream = spec.name, error = %error_chain(&e), "Stream failed.");
                        StreamReport {
                            name: spec.name.clone(),
                            status: StreamStatus::Failed,
                            rows: 0,
                            resumed_rows,
                            bytes: 0,
                            files: 0,
                            mode,
                            seconds: 0.0,
                            error: Some(error_chain(&e)),
                            changes: None,
                            schema_changes,
                            warnings: Vec::new(),
                        }
                    }
                };
                report.seconds = t.elapsed().as_secs_f64();
                observer.stream_finished(&report);
                report
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    reports.sort_by_key(|r| order.iter().position(|n| *n == r.name));

    let report = RunReport {
        run_id,
        resumed,
        source: source.describe(),
        sink: sink.describe(),
        started_at,
        seconds: started.elapsed().as_secs_f64(),
        streams: reports,
        streams_gone: Vec::new(),
        source_stats: source.stats(),
    };
    let mut state = shared.state.lock().await;
    if let Some(run) = state.run.as_mut() {
        run.completed = report.is_success();
    }
    shared.store.save(&state)?;
    tracing::info!(
        rows = report.total_rows(),
        ok = report.is_success(),
        "Run finished."
    );
    Ok(report)
}

struct Shared {
    store: Arc<dyn StateStore>,
    state: Mutex<JobState>,
    run_id: String,
}

/// A failed stream: the error, the mode it ran in, rows durable from an interrupted
/// run, and the schema changes found (for a stream a schema policy stopped).
type StreamFailure = (crate::Error, WriteMode, u64, Vec<Change>);

#[allow(clippy::too_many_arguments)]
async fn run_stream(
    source: &dyn Source,
    sink: &dyn Sink,
    spec: &StreamSpec,
    shared: &Shared,
    observer: &dyn Observer,
    resumed_run: bool,
    incremental: bool,
    policy: crate::drift::Policy,
) -> std::result::Result<StreamReport, StreamFailure> {
    let prev = shared
        .state
        .lock()
        .await
        .streams
        .get(&spec.name)
        .cloned()
        .unwrap_or_default();
    let run_id = shared.run_id.clone();
    let since = (incremental && spec.cursor_field.is_some())
        .then(|| prev.high_water.clone())
        .flatten();
    let mode = if since.is_some() {
        WriteMode::Append
    } else {
        WriteMode::Replace
    };
    if resumed_run && prev.committed_run.as_deref() == Some(&run_id) {
        return Ok(StreamReport {
            name: spec.name.clone(),
            status: StreamStatus::AlreadyWritten,
            rows: 0,
            resumed_rows: 0,
            bytes: 0,
            files: 0,
            mode,
            seconds: 0.0,
            error: None,
            changes: None,
            schema_changes: Vec::new(),
            warnings: Vec::new(),
        });
    }
    // The shape first: under `fail` a changed stream stops here, before anything is
    // opened or written.
    let resolution = crate::drift::plan(
        &spec.name,
        policy,
        prev.previous(),
        &spec.schema,
        &spec.primary_key,
    )
    .map_err(|e| {
        let found = crate::drift::changes(prev.previous(), &spec.schema, &spec.primary_key);
        (e, mode, 0, found)
    })?;
    for change in &resolution.changes {
        tracing::info!(stream = spec.name, %change, "Schema changed.");
    }
    let adapter = resolution.adapter;
    let written_spec = StreamSpec {
        schema: adapter.schema().clone(),
        ..spec.clone()
    };
    let resume = prev.resume.filter(|r| r.run_id == run_id);
    let resumed_rows = resume.as_ref().map_or(0, |r| r.rows);
    let fail = |e| (e, mode, resumed_rows, Vec::new());
    observer.stream_started(spec, resumed_rows);
    tracing::info!(stream = spec.name, ?mode, resumed_rows, "Stream started.");

    let mut writer = sink
        .open_stream(
            &written_spec,
            OpenStream {
                mode,
                resume: resume.as_ref().map(|r| r.sink.clone()),
                run_id: run_id.clone(),
            },
        )
        .await
        .map_err(fail)?;
    let mut events = source
        .read(
            spec,
            ReadOptions {
                resume: resume.as_ref().map(|r| r.checkpoint.clone()),
                since: since.clone(),
            },
        )
        .await
        .map_err(fail)?;
    let mut rows = resumed_rows;
    let mut last: Option<Checkpoint> = resume.map(|r| r.checkpoint);
    while let Some(event) = events.next().await {
        match event.map_err(fail)? {
            SourceEvent::Batch(batch) => {
                let (n, bytes) = (batch.num_rows(), batch.get_array_memory_size());
                if n == 0 {
                    continue;
                }
                writer
                    .write(adapter.adapt(batch).map_err(fail)?)
                    .await
                    .map_err(fail)?;
                rows += n as u64;
                observer.batch_written(&spec.name, n, bytes);
            }
            SourceEvent::Checkpoint(cp) => {
                let token = writer.flush().await.map_err(fail)?;
                let mut state = shared.state.lock().await;
                state.streams.entry(spec.name.clone()).or_default().resume = Some(ResumePoint {
                    run_id: run_id.clone(),
                    checkpoint: cp.clone(),
                    sink: token,
                    rows,
                });
                shared.store.save(&state).map_err(fail)?;
                last = Some(cp);
            }
        }
    }
    let output = writer.commit().await.map_err(fail)?;
    let mut state = shared.state.lock().await;
    let entry = state.streams.entry(spec.name.clone()).or_default();
    entry.resume = None;
    entry.committed_run = Some(run_id);
    if last.is_some() {
        entry.high_water = last;
    } else if since.is_none() {
        entry.high_water = None;
    }
    entry.columns = crate::stream::describe_columns(adapter.schema());
    entry.source_columns = crate::stream::describe_columns(&spec.schema);
    entry.primary_key = Some(spec.primary_key.clone());
    shared.store.save(&state).map_err(fail)?;
    Ok(StreamReport {
        name: spec.name.clone(),
        status: StreamStatus::Written,
        rows: output.rows,
        resumed_rows,
        bytes: output.files.iter().map(|f| f.bytes).sum(),
        files: output.files.len(),
        mode,
        seconds: 0.0,
        error: None,
        changes: output.changes,
        schema_changes: resolution.changes,
        warnings: resolution.warnings,
    })
}

/// An error and its causes on one line, `a: b: c`, without repeats.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = c.source();
    }
    out
}

/// Current time, RFC 3339 in UTC with milliseconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn new_run_id() -> String {
    chrono::Utc::now().format("%Y%m%dT%H%M%S%3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::{OpenStream, StreamOutput, StreamWriter};
    use crate::source::{Catalog, EventStream};
    use crate::state::MemoryStateStore;
    use arrow_array::{Int64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    use async_trait::async_trait;
    use std::sync::Mutex as StdMutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Yields ids 0..total in batches of 10 with a checkpoint after each batch;
    /// fails once after `fail_after` ids when armed.
    #[derive(Debug)]
    struct Counter {
        total: i64,
        fail_after: i64,
        armed: AtomicBool,
        seen: StdMutex<Vec<ReadOptions>>,
    }

    fn schema() -> Arc<Schema> {
        Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]))
    }

    #[async_trait]
    impl Source for Counter {
        fn describe(&self) -> String {
            "counter".into()
        }
        async fn discover(&self) -> Result<Catalog> {
            let mut s = StreamSpec::new("ids", schema());
            s.cursor_field = Some("id".into());
            Ok(Catalog {
                streams: vec![s],
                metadata: Default::default(),
            })
        }
        async fn read(&self, _s: &StreamSpec, options: ReadOptions) -> Result<EventStream> {
            self.seen.lock().unwrap().push(options.clone());
            let start = options
                .resume
                .as_ref()
                .or(options.since.as_ref())
                .map_or(0, |c| c.0["next"].as_i64().unwrap());
            let fail = self
                .armed
                .swap(false, Ordering::SeqCst)
                .then_some(self.fail_after);
            let mut events = Vec::new();
            let mut i = start;
            while i < self.total {
                let end = (i + 10).min(self.total);
                if fail.is_some_and(|f| end > f) {
                    events.push(Err(crate::Error::config("test", "connection dropped")));
                    break;
                }
                let batch = RecordBatch::try_new(
                    schema(),
                    vec![Arc::new(Int64Array::from_iter_values(i..end))],
                )
                .unwrap();
                events.push(Ok(SourceEvent::Batch(batch)));
                events.push(Ok(SourceEvent::Checkpoint(Checkpoint(
                    serde_json::json!({"next": end}),
                ))));
                i = end;
            }
            Ok(Box::pin(futures::stream::iter(events)))
        }
    }

    /// Keeps durable rows per flush; rows written after the last flush are lost on failure.
    #[derive(Debug, Default)]
    struct Memory {
        durable: Arc<StdMutex<Vec<i64>>>,
        opened: StdMutex<Vec<(WriteMode, Option<serde_json::Value>)>>,
    }

    struct MemoryWriter {
        durable: Arc<StdMutex<Vec<i64>>>,
        pending: Vec<i64>,
    }

    #[async_trait]
    impl Sink for Memory {
        fn describe(&self) -> String {
            "memory".into()
        }
        async fn open_stream(
            &self,
            _s: &StreamSpec,
            open: OpenStream,
        ) -> Result<Box<dyn StreamWriter>> {
            self.opened
                .lock()
                .unwrap()
                .push((open.mode, open.resume.clone()));
            let durable = self.durable.clone();
            if open.resume.is_none() && open.mode == WriteMode::Replace {
                durable.lock().unwrap().clear();
            }
            Ok(Box::new(MemoryWriter {
                durable,
                pending: Vec::new(),
            }))
        }
    }

    #[async_trait]
    impl StreamWriter for MemoryWriter {
        async fn write(&mut self, batch: RecordBatch) -> Result<()> {
            let ids = batch
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            self.pending.extend(ids.values().iter());
            Ok(())
        }
        async fn flush(&mut self) -> Result<serde_json::Value> {
            let mut d = self.durable.lock().unwrap();
            d.append(&mut self.pending);
            Ok(serde_json::json!({"rows": d.len()}))
        }
        async fn commit(mut self: Box<Self>) -> Result<StreamOutput> {
            self.flush().await?;
            Ok(StreamOutput {
                rows: self.durable.lock().unwrap().len() as u64,
                ..Default::default()
            })
        }
    }

    #[tokio::test]
    async fn a_failed_stream_resumes_from_its_checkpoint_then_reads_incrementally() {
        let source = Arc::new(Counter {
            total: 100,
            fail_after: 35,
            armed: AtomicBool::new(true),
            seen: Default::default(),
        });
        let sink = Arc::new(Memory::default());
        let store: Arc<dyn StateStore> = Arc::new(MemoryStateStore::default());
        let streams = source.discover().await.unwrap().streams;
        let run_once =
            || pipeline_run(source.clone(), sink.clone(), streams.clone(), store.clone());

        let first = run_once().await;
        assert!(!first.is_success());
        assert_eq!(*sink.durable.lock().unwrap(), (0..30).collect::<Vec<_>>());

        let second = run_once().await;
        assert!(second.is_success() && second.resumed);
        assert_eq!(second.streams[0].resumed_rows, 30);
        assert_eq!(
            *sink.durable.lock().unwrap(),
            (0..100).collect::<Vec<_>>(),
            "no gap, no duplicate"
        );
        assert_eq!(
            source.seen.lock().unwrap()[1].resume,
            Some(Checkpoint(serde_json::json!({"next": 30})))
        );

        // The next run starts from the high-water mark and appends.
        let third = run_once().await;
        assert!(!third.resumed);
        assert_eq!(
            source.seen.lock().unwrap()[2].since,
            Some(Checkpoint(serde_json::json!({"next": 100})))
        );
        assert_eq!(sink.opened.lock().unwrap()[2].0, WriteMode::Append);
    }

    async fn pipeline_run(
        source: Arc<Counter>,
        sink: Arc<Memory>,
        streams: Vec<StreamSpec>,
        store: Arc<dyn StateStore>,
    ) -> RunReport {
        run(
            source,
            sink,
            streams,
            store,
            Arc::new(NoObserver),
            RunOptions::default(),
        )
        .await
        .unwrap()
    }
}
